"""Messiness switches applied to built form rows (before the common EDC fields are added).

Each switch is a documented rate in simulation.yaml (`messiness:`); rate 0 leaves the data clean.
Structural messiness (missed, unscheduled and out-of-window visits) is applied in model.py;
out-of-range and not-done values in crf_clinical.py.

Every injection marks its rows (a boolean column named by `mark`); `ledger` turns the marks of a
finished form into the injected-faults ledger (form file, raw line, field, injected value, kind) that
`studyforge simulate` writes beside the forms, so a test can prove each fault was reported.
A missed visit leaves no raw line and is not in the ledger.
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
MARK = "_inj|"
# kind -> what studyforge must do with it: "finding" (a located finding on that raw line) or "kept"
# (valid data: the record arrives in SDTM; partial dates stay partial, NOT DONE stays NOT DONE)
KINDS = {
    "impossible_date": "finding", "non_ascii": "finding", "codelist_variant": "finding",
    "unit_variant": "finding", "duplicate_record": "finding",
    "partial_date": "kept", "out_of_range": "kept", "not_done": "kept", "missing_value": "kept",
    "out_of_window": "kept", "unscheduled_visit": "kept",
}
LEDGER_COLUMNS = ["file", "line", "field", "value", "kind", "expect"]
_BAD_DAYS = np.array(["30 FEB", "31 APR", "31 JUN", "31 SEP"], dtype=object)  # never valid in any year


def mark(kind: str, field: str) -> str:
    """The row-mark column of one (kind, field) injection."""
    assert kind in KINDS, kind
    return f"{MARK}{kind}|{field}"


def _mark_changed(df: pd.DataFrame, kind: str, field: str, before: pd.Series) -> None:
    """Mark rows whose `field` the switch changed; an earlier mark on the same field is superseded."""
    now, was = df[field].astype(object), before.astype(object)
    hit = (now.to_numpy() != was.to_numpy()) & ~(now.isna().to_numpy() & was.isna().to_numpy())
    for col in [c for c in df.columns if c.startswith(MARK) and c.endswith(f"|{field}")]:
        df[col] = df[col].to_numpy(dtype=bool) & ~hit
    df[mark(kind, field)] = hit


def ledger(form: str, rows: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Injected faults of one finished form: `rows` are its rows in file order with the marks, `frame`
    the text written (header on line 1, so row i is line i + 2)."""
    parts = []
    for col in sorted(c for c in rows.columns if c.startswith(MARK)):
        _, kind, field = col.split("|")
        hit = np.flatnonzero(rows[col].fillna(False).to_numpy(dtype=bool))
        if not len(hit):
            continue
        value = frame[field].to_numpy(dtype=object)[hit] if field else np.full(len(hit), "", dtype=object)
        parts.append(pd.DataFrame({"file": f"{form}.csv", "line": hit + 2, "field": field, "value": value,
                                   "kind": kind, "expect": KINDS[kind]}))
    if not parts:
        return pd.DataFrame(columns=LEDGER_COLUMNS)
    return pd.concat(parts, ignore_index=True).sort_values(["line", "field", "kind"], kind="stable")[LEDGER_COLUMNS]


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
            before = df[f].astype(object)
            df[f] = _partial(before, m.partial_dates, rng(f"partial-{f}"))
            _mark_changed(df, "partial_date", f, before)
    if m.impossible_dates and m.impossible_dates_rate > 0:
        for f in IMPOSSIBLE_DATE_FIELDS.get(form, []):
            before = df[f].astype(object)
            df[f] = _impossible(before, m.impossible_dates_rate, rng(f"impossible-{f}"))
            _mark_changed(df, "impossible_date", f, before)
    if m.codelist_variants > 0:
        fields = {f["name"]: f.get("codelist", "") for raw in forms["forms"][form]["fields"] for f in ([raw] if "name" in raw else [])}
        for name, cl in fields.items():
            table = forms.get("spelling_variants", {}).get(cl)
            if table and name in df.columns:
                before = df[name].astype(object)
                df[name] = _variants(before, table, m.codelist_variants, rng(f"variants-{name}"))
                _mark_changed(df, "codelist_variant", name, before)
    if form == "lb" and m.unit_variants > 0:
        before = df["LBORRESU"].astype(object)
        df["LBORRESU"] = _variants(before, cfg.labs.unit_variants, m.unit_variants, rng("units"))
        _mark_changed(df, "unit_variant", "LBORRESU", before)
    if m.non_ascii and m.non_ascii_rate > 0 and form in NON_ASCII_FIELDS:
        f = NON_ASCII_FIELDS[form]
        hit = rng("non-ascii").random(len(df)) < m.non_ascii_rate
        before = df[f].astype(object)
        df.loc[hit, f] = df.loc[hit, "_zh"]
        _mark_changed(df, "non_ascii", f, before)
    if form in DUPLICATE_FORMS and m.duplicate_records > 0 and len(df):
        dup = rng("duplicates").random(len(df)) < m.duplicate_records
        df = df.loc[np.repeat(df.index.to_numpy(), 1 + dup.astype(int))].reset_index(drop=True)
        copy = np.zeros(len(df), dtype=bool)
        copy[np.cumsum(1 + dup.astype(int))[dup] - 1] = True  # the second of each pair
        df[mark("duplicate_record", "")] = copy
    return df
