"""Rows by several keys at once: each key as integer codes, the codes packed into one int64 per row.

The packed value of two rows is equal exactly when they agree on every key, and (when the codes are dense
ranks) orders them as the keys would, so one stable argsort replaces numpy's lexsort over many
million-row keys (several times faster) and one hash of int64 replaces hashing the text of every key."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from studyforge.xpt import factorize_text, text_layout


def dense_ranks(values: np.ndarray) -> tuple[np.ndarray, int]:
    """(rank of each value among the distinct values in sort order, number of distinct values):
    hashed once, only the distinct values sorted. NaN ranks last, as numpy sorts it."""
    codes, uniq = pd.factorize(values, use_na_sentinel=False)
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[np.argsort(np.asarray(uniq), kind="stable")] = np.arange(len(uniq))
    return rank[codes], len(uniq)


def text_ranks(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(rank of each value among the column's distinct texts in sort order, those texts sorted), missing
    read as ''. A text column is hashed once in its own layout; only its distinct values are sorted."""
    if text_layout(col.dtype) is None:
        return pd.factorize(col.astype(object).where(col.notna(), "").to_numpy(dtype=object), sort=True)
    codes, uniq = factorize_text(col)
    if (codes < 0).any():                       # missing counts as ''
        uniq = np.append(uniq, np.array([""], dtype=object))
        codes = np.where(codes < 0, len(uniq) - 1, codes)
    uniq, inverse = np.unique(uniq, return_inverse=True)   # '' may now appear twice: merged here
    return inverse.ravel()[codes], uniq


def pack(keys: Iterable[tuple[np.ndarray, int]], n: int) -> np.ndarray:
    """One int64 per row from (codes 0..width-1, width) per key, first key most significant; what is packed
    so far is renumbered (order kept) before the product would leave int64."""
    packed = np.zeros(n, dtype=np.int64)
    bound = 1
    for codes, width in keys:
        width = max(width, 1)
        if bound * width >= 1 << 62:
            packed, bound = dense_ranks(packed)
        packed = packed * width + codes
        bound *= width
    return packed


def lex_order(keys: list[np.ndarray | tuple[np.ndarray, int]]) -> np.ndarray:
    """The permutation that sorts rows by keys[0], then keys[1], ...; ties keep their order (stable),
    i.e. np.lexsort([np.arange(n), *reversed(keys)]).  A key given as (dense ranks 0..width-1, width),
    as text_ranks makes them, is packed as it is: only plain arrays are ranked here."""
    n = len(keys[0][0] if isinstance(keys[0], tuple) else keys[0]) if keys else 0
    packed = pack((k if isinstance(k, tuple) else dense_ranks(np.asarray(k)) for k in keys), n)
    if bool((packed[1:] >= packed[:-1]).all()):   # already in order (SDTM is built so): the stable sort
        return np.arange(n)                           # of a non-decreasing array is the identity, O(n)
    return np.argsort(packed, kind="stable")
