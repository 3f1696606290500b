"""The ADaM stage as one pure function: SDTM frames + spec -> ADaM frames + findings.

Order ADSL -> ADRS -> ADTTE (each reads the ones before). A dataset is recognised by its
dataset-level derivation rule ("adsl", "adtte"; ADRS: the dataset named ADRS, built by
adam.adrs.derive_adrs). Each result is shaped to its spec: spec order, spec variables only, types.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import numpy as np
import pandas as pd

from adam.adae import STANDARD_OUTPUTS as ADAE_STANDARD
from adam.adae import derive_adae
from adam.adex import STANDARD_OUTPUTS as ADEX_STANDARD
from adam.adex import derive_adex
from adam.adlb import derive_adlb
from adam.adqs import derive_adqs
from adam.adsl import STANDARD_OUTPUTS as ADSL_STANDARD
from adam.adsl import derive_adsl
from adam.adsym import derive_adsym
from adam.adtr import derive_adtr
from adam.adtte import STANDARD_OUTPUTS as ADTTE_STANDARD
from adam.adtte import derive_adtte
from adam.select import locate
from studyforge.dataset_writer import shape_to_spec
from studyforge.findings import Finding, Severity
from studyforge.spec.models import Dataset, Spec

# BDS datasets built from SDTM findings and ADSL (each writes the variables its spec lists)
BDS_BUILDERS = {"adlb": derive_adlb, "adqs": derive_adqs, "adsym": derive_adsym, "adtr": derive_adtr}


def _by_rule(spec: Spec, rule: str) -> Dataset | None:
    hits = [d for d in spec.adam() if d.derivation is not None and d.derivation.rule == rule]
    if len(hits) > 1:
        raise ValueError(f"more than one ADaM dataset with rule {rule!r}: {', '.join(d.name for d in hits)}")
    return hits[0] if hits else None


def _adrs(sdtm: dict[str, pd.DataFrame], adsl: pd.DataFrame, ds: Dataset) -> tuple[pd.DataFrame, list[Finding]]:
    from adam.adrs import derive_adrs

    df, found = derive_adrs(sdtm, adsl, ds)
    return df, list(found)


def derive_adam(sdtm: dict[str, pd.DataFrame], spec: Spec, locations=None,
                timings: dict[str, float] | None = None) -> tuple[dict[str, pd.DataFrame], list[Finding]]:
    """Every ADaM dataset of the spec, shaped to it; problems are findings, never prints.

    `locations` (the loader's SourceMap, optional) gives selection findings their spec file:line;
    `timings` (optional) receives each dataset's wall seconds (the benchmark's breakdown).
    """
    out, findings = _derive_adam(sdtm, spec, _Clock(timings))
    return out, locate(findings, locations)


def plain_text(df: pd.DataFrame) -> pd.DataFrame:
    """The frame with its Categorical text columns (BDS builders keep repeated text as codes) as `str`
    columns, taken through the codes, so the written dataset has the usual text layout."""
    cats = [c for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)]
    if not cats:
        return df
    out = df.copy(deep=False)
    for c in cats:
        cat = df[c].array
        table = pd.array(np.append(np.asarray(cat.categories, dtype=object), ""), dtype="str")
        out[c] = table.take(np.where(cat.codes >= 0, cat.codes, len(table) - 1))
    return out


class _Clock:
    """Wall seconds per dataset into a dict (or nowhere): `with clock("ADLB"): ...`."""

    def __init__(self, into: dict[str, float] | None):
        self.into = into

    @contextmanager
    def __call__(self, name: str):
        t0 = time.perf_counter()
        yield
        if self.into is not None:
            self.into[name] = round(self.into.get(name, 0.0) + time.perf_counter() - t0, 3)


def _derive_adam(sdtm: dict[str, pd.DataFrame], spec: Spec, clock: _Clock) -> tuple[dict[str, pd.DataFrame], list[Finding]]:
    findings: list[Finding] = []
    out: dict[str, pd.DataFrame] = {}
    raw: dict[str, pd.DataFrame] = {}
    adsl_ds = _by_rule(spec, "adsl")
    adtte_ds = _by_rule(spec, "adtte")
    adrs_ds = spec.datasets.get("ADRS")
    adrs_ds = adrs_ds if adrs_ds is not None and adrs_ds.purpose == "Analysis" else None
    adae_ds = _by_rule(spec, "adae")
    adex_ds = _by_rule(spec, "adex")
    handled = {d.name for d in (adsl_ds, adtte_ds, adrs_ds, adae_ds, adex_ds) if d is not None}
    bds = {rule: _by_rule(spec, rule) for rule in BDS_BUILDERS}
    handled |= {d.name for d in bds.values() if d is not None}
    for d in spec.adam():
        if d.name not in handled:
            findings.append(Finding(Severity.WARNING, "ADAM-NO-BUILDER", "no builder for this dataset's derivation rule; "
                                    "not derived", dataset=d.name, value=d.derivation.rule if d.derivation else ""))
    if adsl_ds is None:
        if spec.adam():
            findings.append(Finding(Severity.ERROR, "ADAM-NO-ADSL", "the spec has no dataset with rule 'adsl'"))
        return out, findings
    with clock("ADSL"):
        raw["ADSL"], f = derive_adsl(sdtm, adsl_ds)
    findings += f
    if raw["ADSL"].empty:
        return out, findings
    if adrs_ds is not None:
        with clock("ADRS"):
            raw["ADRS"], f = _adrs(sdtm, raw["ADSL"], adrs_ds)
        findings += f
    for rule, d in bds.items():  # before ADTTE: its sources may name ADQS (time to QoL deterioration)
        if d is None:
            continue
        with clock(d.name):
            df, f = BDS_BUILDERS[rule](sdtm, raw["ADSL"], d)
            findings += f
            if len(df.columns):
                raw[d.name] = df
                listed = {v.name for v in d.variables}
                out[d.name], f = shape_to_spec(plain_text(df[[c for c in df.columns if c in listed]]), d)
                findings += f
    if adtte_ds is not None:
        with clock("ADTTE"):
            raw["ADTTE"], f = derive_adtte(sdtm, raw["ADSL"], raw.get("ADRS"), adtte_ds, adam=raw)
        findings += f
    if adae_ds is not None:
        with clock("ADAE"):
            raw["ADAE"], f = derive_adae(sdtm, raw["ADSL"], adae_ds)
        findings += f
    if adex_ds is not None:
        with clock("ADEX"):
            raw["ADEX"], f = derive_adex(sdtm, raw["ADSL"], adex_ds)
        findings += f
    standard = {"ADSL": ADSL_STANDARD, "ADRS": frozenset(), "ADTTE": ADTTE_STANDARD, "ADAE": ADAE_STANDARD,
                "ADEX": ADEX_STANDARD}
    for ds, key in ((adsl_ds, "ADSL"), (adrs_ds, "ADRS"), (adtte_ds, "ADTTE"), (adae_ds, "ADAE"), (adex_ds, "ADEX")):
        if ds is None or key not in raw or len(raw[key].columns) == 0:
            continue  # not asked for, or its builder already reported why it made nothing
        with clock(f"{ds.name} (shape)"):
            listed = {v.name for v in ds.variables}
            unlisted = [c for c in raw[key].columns if c in standard[key] and c not in listed]
            out[ds.name], f = shape_to_spec(raw[key].drop(columns=unlisted), ds)
            findings += f
    return out, findings
