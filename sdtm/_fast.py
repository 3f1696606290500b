"""Run a whole-column string function once per distinct value (raw columns repeat a lot: dates,
folders, codes), then broadcast back. Keeps the string work O(distinct) instead of O(rows)."""

from __future__ import annotations

from typing import Callable

import pandas as pd


def umap(s: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """fn applied to the distinct values of s (missing values count as ''), aligned to s."""
    vals = s.astype(object).where(s.notna(), "").to_numpy(dtype=object)
    codes, uniques = pd.factorize(vals)
    if len(uniques) == 0:  # learn the result type from one blank value
        uniques = pd.Series([""], dtype=object).to_numpy()
    res = fn(pd.Series(uniques, dtype=object))
    arr = res.to_numpy()
    out = arr[codes] if len(codes) else arr[:0]
    dtype = str if pd.api.types.is_string_dtype(res.dtype) else res.dtype
    return pd.Series(out, index=s.index, dtype=dtype)
