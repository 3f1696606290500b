"""raw forms + spec -> SDTM datasets, findings and the record reconciliation. Pure: no I/O."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from studyforge.findings import Finding
from studyforge.spec.models import Dataset, Spec
from studyforge.strings import python_strings, with_python_strings

from . import engine as E
from ._fast import distinct_values
from .context import FILE, FORM, LINE, Reconciliation
from .derivations import sort_codes
from .identity import raw_identities
from .readers import RawForm
from .rules.base import SUBJECT, RawIdentity, subject_key

FIRST = ["DM", "SE"]
LAST = ["TS"]


def build_order(spec: Spec) -> list[Dataset]:
    """DM first (reference dates), SE next (EPOCH), then the rest by name, TS last (SSTDTC from DM)."""
    sdtm = {d.name: d for d in spec.sdtm() if d.derivation and d.derivation.rule != "suppqual"}
    names = [n for n in FIRST if n in sdtm] + sorted(n for n in sdtm if n not in FIRST + LAST) \
        + [n for n in LAST if n in sdtm]
    return [sdtm[n] for n in names]


def supp_for(spec: Spec, parent: str) -> Dataset | None:
    d = spec.datasets.get(f"SUPP{parent}")
    return d if d and d.derivation and d.derivation.rule == "suppqual" else None


def _seq_variable(ds: Dataset) -> str | None:
    return next((v.name for v in ds.variables if v.name.endswith("SEQ") and v.derivation
                 and v.derivation.rule == "seq"), None)


def _sort(ds: Dataset, df: pd.DataFrame) -> pd.DataFrame:
    """Rows by the dataset keys (the order define.xml declares and the XPT is written in, FDA TCG), ties
    by --SEQ; without keys by USUBJID and --SEQ."""
    seqvar = _seq_variable(ds)
    keys = [k for k in ds.keys if k in df.columns]
    if seqvar and seqvar in df.columns:
        keys = (keys or (["USUBJID"] if "USUBJID" in df.columns else [])) + ([seqvar] if seqvar not in keys else [])
    if not keys or df.empty:
        return df.reset_index(drop=True)
    order = sort_codes(df, keys)
    if (np.diff(order) > 0).all():     # already in order (built that way): no copy of every column
        return df.reset_index(drop=True)
    return df.iloc[order].reset_index(drop=True)


def _supp_sort(ds: Dataset, sdf: pd.DataFrame) -> pd.DataFrame:
    if not any(v.name.endswith("SEQ") for v in ds.variables):
        return sdf.sort_values(["USUBJID", "IDVARVAL", "QNAM"], kind="mergesort").reset_index(drop=True)
    num = pd.to_numeric(sdf["IDVARVAL"], errors="coerce")
    return sdf.assign(__n=num).sort_values(["USUBJID", "__n", "QNAM"], kind="mergesort") \
        .drop(columns="__n").reset_index(drop=True)


def build_one(build: E.Build, ds: Dataset) -> dict[str, pd.DataFrame]:
    supp = supp_for(build.spec, ds.name)
    frame, result, sp, split = E.build_dataset(build, ds, supp)
    df = E.shape(ds, result)
    E.check_text(build, ds, df, frame, split)
    E.check_keys(build, ds, df, frame)
    codes, forms = distinct_values(frame[FORM])          # per form: its records' raw lines
    lines = frame[LINE].to_numpy()
    for k in np.argsort(forms):
        if forms[k] != "":
            at = codes == k
            build.recon.add_mapped(forms[k], ds.name, int(at.sum()))
            build.recon.mark_seen(forms[k], lines[at])
    seqvar = _seq_variable(ds)
    if seqvar and seqvar in df.columns and "USUBJID" in df.columns and FILE in frame.columns:
        build.recon.add_lineage(ds.name, df["USUBJID"], df[seqvar], frame[FILE], frame[LINE])
    out = {ds.name: _sort(ds, df)}
    if supp is not None:
        sdf = E.shape(supp, sp)
        E.check_text(build, supp, sdf, None, set())
        out[supp.name] = _supp_sort(ds, sdf)
    return out


@python_strings
def build_sdtm(raw: dict[str, RawForm], spec: Spec) -> tuple[dict[str, pd.DataFrame], list[Finding], Reconciliation]:
    """All SDTM datasets of the spec, in dependency order; every raw record is reconciled. Text is
    built as Python-object strings whatever pandas' default layout (see sdtm._fast.python_strings);
    raw frames read elsewhere in Arrow strings are converted first."""
    raw = {name: replace(rf, frame=with_python_strings(rf.frame)) for name, rf in raw.items()}
    recon = Reconciliation()
    for name, rf in raw.items():
        recon.records_in[name] = len(rf)
        recon.files[name] = rf.path
    identities, default = raw_identities(spec, raw)
    build = E.Build(spec=spec, raw=raw, identities=identities, default_identity=default, recon=recon)
    datasets: dict[str, pd.DataFrame] = {}
    for ds in build_order(spec):
        built = build_one(build, ds)
        datasets.update(built)
        build.datasets.update(built)
    for name, df in datasets.items():
        recon.records_out[name] = len(df)

    def subjects(form: str) -> pd.Series:
        ident: RawIdentity | None = identities.get(form, default)
        rf = raw[form].frame
        return subject_key(rf, ident) if ident else pd.Series("", index=rf.index, dtype=str)
    recon.finalize(raw, subjects)
    return datasets, _dedupe(build.findings), recon


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in findings:
        if f in seen:
            continue
        seen.add(f)
        out.append(f)
    return out


__all__ = ["build_order", "build_sdtm", "supp_for", "SUBJECT"]
