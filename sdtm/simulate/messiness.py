"""Messiness switches applied to built form rows (before the common EDC fields are added).

Each switch is a documented rate in simulation.yaml (`messiness:`); rate 0 leaves the data clean.
Structural messiness (missed, unscheduled and out-of-window visits) is applied in model.py;
out-of-range and not-done values in crf_clinical.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import SimConfig
from .fmt import rng_for

PARTIAL_DATE_FIELDS = {"ae": ["AESTDAT", "AEENDAT"], "cmprior": ["CMSTDAT", "CMENDAT"], "cmsubs": ["CMSTDAT"], "dm": ["BRTHDAT"]}
IMPOSSIBLE_DATE_FIELDS = {"ae": ["AESTDAT"], "cmprior": ["CMSTDAT"], "lb": ["LBDAT"]}
DUPLICATE_FORMS = ("lb", "ae", "cmprior")
NON_ASCII_FIELDS = {"ae": "AETERM", "cmprior": "CMTRT"}
_BAD_DAYS = np.array(["30 FEB", "31 APR", "31 JUN", "31 SEP"], dtype=object)  # never valid in any year


def _partial(col: pd.Series, rate: float, rng: np.random.Generator) -> pd.Series:
    """"24 MAY 2021" -> "UN MAY 2021" (rate); one in five of those -> "UNK UNK 2021"."""
    filled = col.str.len().to_numpy() == 11
    hit = filled & (rng.random(len(col)) < rate)
    both = hit & (rng.random(len(col)) < 0.2)
    out = col.to_numpy(dtype=object).copy()
    if hit.any():
        s = col[hit]
        out[hit] = ("UN" + s.str.slice(2)).to_numpy()
    if both.any():
        out[both] = ("UNK UNK " + col[both].str.slice(7)).to_numpy()
    return pd.Series(out, index=col.index, dtype=object)


def _impossible(col: pd.Series, rate: float, rng: np.random.Generator) -> pd.Series:
    filled = col.str.len().to_numpy() == 11
    hit = filled & (rng.random(len(col)) < rate)
    out = col.to_numpy(dtype=object).copy()
    if hit.any():
        year = col[hit].str.slice(7).to_numpy(dtype=object)
        bad = _BAD_DAYS[rng.integers(0, 4, int(hit.sum()))]
        out[hit] = bad + " " + year
    return pd.Series(out, index=col.index, dtype=object)


def _variants(col: pd.Series, table: dict[str, list[str]], rate: float, rng: np.random.Generator) -> pd.Series:
    out = col.to_numpy(dtype=object).copy()
    u = rng.random(len(col))
    pickr = rng.random(len(col))
    for value, variants in sorted(table.items()):
        if not variants:
            continue
        sel = (out == value) & (u < rate)
        if sel.any():
            choice = np.asarray(variants, dtype=object)[(pickr[sel] * len(variants)).astype(int)]
            out[sel] = choice
    return pd.Series(out, index=col.index, dtype=object)


def apply(form: str, df: pd.DataFrame, cfg: SimConfig, forms: dict, seed: int) -> pd.DataFrame:
    """The form's rows with every enabled messiness switch applied (deterministic per seed and form)."""
    m = cfg.messiness
    def rng(switch: str) -> np.random.Generator:  # one stream per switch: switches never shift each other
        return rng_for(seed, f"messiness-{form}-{switch}")

    df = df.copy()
    if m.partial_dates > 0:
        for f in PARTIAL_DATE_FIELDS.get(form, []):
            df[f] = _partial(df[f].astype(object), m.partial_dates, rng(f"partial-{f}"))
    if m.impossible_dates and m.impossible_dates_rate > 0:
        for f in IMPOSSIBLE_DATE_FIELDS.get(form, []):
            df[f] = _impossible(df[f].astype(object), m.impossible_dates_rate, rng(f"impossible-{f}"))
    if m.codelist_variants > 0:
        fields = {f["name"]: f.get("codelist", "") for raw in forms["forms"][form]["fields"] for f in ([raw] if "name" in raw else [])}
        for name, cl in fields.items():
            table = forms.get("spelling_variants", {}).get(cl)
            if table and name in df.columns:
                df[name] = _variants(df[name].astype(object), table, m.codelist_variants, rng(f"variants-{name}"))
    if form == "lb" and m.unit_variants > 0:
        df["LBORRESU"] = _variants(df["LBORRESU"].astype(object), cfg.labs.unit_variants, m.unit_variants, rng("units"))
    if m.non_ascii and m.non_ascii_rate > 0 and form in NON_ASCII_FIELDS:
        f = NON_ASCII_FIELDS[form]
        hit = rng("non-ascii").random(len(df)) < m.non_ascii_rate
        df.loc[hit, f] = df.loc[hit, "_zh"]
    if form in DUPLICATE_FORMS and m.duplicate_records > 0 and len(df):
        dup = rng("duplicates").random(len(df)) < m.duplicate_records
        df = df.loc[np.repeat(df.index.to_numpy(), 1 + dup.astype(int))].reset_index(drop=True)
    return df
