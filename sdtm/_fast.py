"""Run a whole-column string function once per distinct value (raw columns repeat a lot: dates,
folders, codes), then broadcast back. Keeps the string work O(distinct) instead of O(rows)."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

TEXT = pd.Series([], dtype=str).dtype  # pandas' default text dtype (python storage, NaN missing)


def text_values(s: pd.Series) -> np.ndarray:
    """Values of s as an object array with '' for missing. All-text columns (the usual case) are
    recognised by one C-level type scan, several times faster than a per-value missing check."""
    vals = s.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(vals, skipna=False) == "string":
        return vals
    vals = vals.copy()
    vals[pd.isna(vals)] = ""
    return vals


def text_series(s: pd.Series) -> pd.Series:
    """s as str dtype with '' for missing (s itself when it already is)."""
    vals = s.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(vals, skipna=False) == "string":
        return s if s.dtype == TEXT else pd.Series(vals, index=s.index, dtype=str)
    return pd.Series(text_values(s), index=s.index, dtype=str)


def umap(s: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """fn applied to the distinct values of s (missing values count as ''), aligned to s."""
    vals = text_values(s)
    codes, uniques = pd.factorize(vals)
    if len(uniques) == 0:  # learn the result type from one blank value
        uniques = pd.Series([""], dtype=object).to_numpy()
    res = fn(pd.Series(uniques, dtype=object))
    arr = res.to_numpy()
    out = arr[codes] if len(codes) else arr[:0]
    dtype = str if pd.api.types.is_string_dtype(res.dtype) else res.dtype
    return pd.Series(out, index=s.index, dtype=dtype)
