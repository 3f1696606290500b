"""Run a whole-column string function once per distinct value (raw columns repeat a lot: dates,
folders, codes), then broadcast back. Keeps the string work O(distinct) instead of O(rows).

Both layouts of pandas' `str` dtype are handled natively (see studyforge.xpt.text_layout): Arrow
strings are filled, factorized and gathered by Arrow kernels without making a Python string per
row; Python-object strings by one C-level type scan and the str hash table."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from studyforge.ordering import pack
from studyforge.xpt import factorize_text, text_layout

TEXT = pd.Series([], dtype=str).dtype  # pandas' default text dtype (NaN missing; storage: pyarrow when installed)


def _is_str(dtype: object) -> bool:
    """pandas' `str` dtype (NaN for missing) in either storage."""
    return text_layout(dtype) is not None and isinstance(dtype, pd.StringDtype) and dtype.na_value is np.nan


def text_values(s: pd.Series) -> np.ndarray:
    """Values of s as an object array with '' for missing. All-text columns (the usual case) are
    recognised by one C-level type scan, several times faster than a per-value missing check.
    (On Arrow strings this makes one Python string per row: prefer text_series/umap on hot paths.)"""
    if text_layout(s.dtype) == "arrow":
        return (s.fillna("") if s.hasnans else s).to_numpy(dtype=object)
    vals = s.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(vals, skipna=False) == "string":
        return vals
    vals = vals.copy()
    vals[pd.isna(vals)] = ""
    return vals


def text_series(s: pd.Series) -> pd.Series:
    """s as str dtype with '' for missing (s itself when it already is). A `str` column keeps its
    storage (Arrow or Python objects: no conversion); any other dtype becomes the default `str`."""
    if _is_str(s.dtype):
        if text_layout(s.dtype) == "arrow":
            return s.fillna("") if s.hasnans else s
        vals = s.to_numpy(dtype=object)
        if pd.api.types.infer_dtype(vals, skipna=False) == "string":
            return s
        return pd.Series(text_values(s), index=s.index, dtype=s.dtype)
    return pd.Series(text_values(s), index=s.index, dtype=str)


def distinct_values(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct values as objects) of s with missing counted as ''; no code is -1."""
    if text_layout(s.dtype) is not None:
        codes, uniq = factorize_text(s)
        if (codes < 0).any():                      # missing -> the code of '' (appended when absent)
            hit = np.flatnonzero(uniq == "")
            blank = int(hit[0]) if len(hit) else len(uniq)
            if not len(hit):
                uniq = np.append(uniq, np.array([""], dtype=object))
            codes = np.where(codes < 0, blank, codes)
        return codes, uniq
    codes, uniq = pd.factorize(text_values(s))
    return codes, np.asarray(uniq, dtype=object)


def umap(s: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """fn applied to the distinct values of s (missing values count as ''), aligned to s."""
    codes, uniques = distinct_values(s)
    if len(uniques) == 0:  # learn the result type from one blank value
        uniques = pd.Series([""], dtype=object).to_numpy()
    res = fn(pd.Series(uniques, dtype=object))
    arr = res.to_numpy()
    if pd.api.types.is_string_dtype(res.dtype):   # text result: gathered in the default `str` layout
        return pd.Series(pd.array(arr, dtype=str).take(codes), index=s.index)
    out = arr[codes] if len(codes) else arr[:0]
    return pd.Series(out, index=s.index, dtype=res.dtype)


def _column_codes(s: pd.Series) -> tuple[np.ndarray, int]:
    """(codes 0..k-1, k) of one column; missing is its own code (equal to itself, not to '')."""
    if text_layout(s.dtype) is not None:
        codes, uniq = factorize_text(s)
    else:
        codes, uniq = pd.factorize(s.to_numpy(), use_na_sentinel=True)
    return codes.astype(np.int64) + 1, len(uniq) + 1


def row_codes(frame: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """One int64 per row, equal exactly when the rows agree on every key (missing equals missing), as
    DataFrame.duplicated compares them: each column hashed once, then integer arithmetic, instead of
    pandas hashing the text of every key column again for the combined key."""
    return pack((_column_codes(frame[k]) for k in keys), len(frame))


def duplicated_rows(frame: pd.DataFrame, keys: list[str], keep: str | bool = "first") -> np.ndarray:
    """DataFrame.duplicated(subset=keys, keep=keep) as a bool array, via row_codes."""
    if not len(frame):
        return np.zeros(0, dtype=bool)
    return pd.Series(row_codes(frame, keys)).duplicated(keep=keep).to_numpy(dtype=bool)
