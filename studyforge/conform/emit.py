"""Turn vectorized masks into located Finding rows (dataset, variable, USUBJID, record, value)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from studyforge.conform.package import DatasetView
from studyforge.conform.rules import Rule
from studyforge.findings import Finding

MAX_ROWS_PER_VARIABLE = 1000  # beyond this a rule reports one summary finding with the count


def text(s: pd.Series) -> pd.Series:
    """Values as display text: whole floats without '.0', missing as ''."""
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(v) & (v == np.round(v)) & (np.abs(v) < 1e15)  # exact as int64
        out = np.where(whole, pd.Series(np.where(whole, v, 0)).astype("int64").astype(str).to_numpy(),
                       pd.Series(v).astype(str).to_numpy())
        return pd.Series(np.where(np.isnan(v), "", out), index=s.index, dtype="str")
    return s.astype("str").where(s.notna(), "").astype("str")


def records(ds: DatasetView, idx: np.ndarray) -> list[str]:
    """Record locators '<row N>' (1-based) with the --SEQ value when the dataset has one."""
    df = ds.frame
    seq = next((c for c in (f"{ds.prefix}SEQ", "ASEQ") if c and c in df.columns), None)
    rows = [f"row {i + 1}" for i in idx]
    if seq is None:
        return rows
    vals = text(df[seq].iloc[idx]).tolist()
    return [f"{r}, {seq}={v}" if v else r for r, v in zip(rows, vals)]


def row_findings(rule: Rule, ds: DatasetView, mask: np.ndarray | pd.Series, message: str | pd.Series, *,
                 variable: str = "", values: pd.Series | None = None) -> list[Finding]:
    """One finding per flagged row, up to MAX_ROWS_PER_VARIABLE, then one summary finding with the rest."""
    m = np.asarray(mask, dtype=bool)
    idx = np.flatnonzero(m)
    if not len(idx):
        return []
    shown = idx[:MAX_ROWS_PER_VARIABLE]
    df = ds.frame
    usub = text(df["USUBJID"].iloc[shown]).tolist() if "USUBJID" in df.columns else [""] * len(shown)
    if values is None and variable and variable in df.columns:
        values = df[variable]
    vals = text(values.iloc[shown]).tolist() if values is not None else [""] * len(shown)
    msgs = message.iloc[shown].tolist() if isinstance(message, pd.Series) else [message] * len(shown)
    out = [Finding(rule.severity, rule.id, msg, dataset=ds.name, variable=variable, usubjid=u, record=r,
                   file=ds.file, value=v)
           for u, r, v, msg in zip(usub, records(ds, shown), vals, msgs)]
    if len(idx) > len(shown):
        out.append(Finding(rule.severity, rule.id, f"{len(idx) - len(shown)} more row(s) with the same problem "
                           f"not listed (first {len(shown)} shown)", dataset=ds.name, variable=variable, file=ds.file))
    return out


def dataset_finding(rule: Rule, ds: DatasetView | None, message: str, *, dataset: str = "", variable: str = "",
                    value: str = "", record: str = "", usubjid: str = "", file: str = "") -> Finding:
    """A finding about a dataset or variable as a whole."""
    return Finding(rule.severity, rule.id, message, dataset=ds.name if ds else dataset, variable=variable,
                   usubjid=usubjid, record=record, file=ds.file if ds and not file else file, value=value)


def blank(s: pd.Series) -> np.ndarray:
    """True where a value is missing: NaN for numbers, '' (after trailing blanks) for text."""
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.isna().to_numpy()
    return (s.isna() | (s.astype("str").str.rstrip(" ") == "")).to_numpy(dtype=bool)
