"""Row order by several keys at once: each key as dense ranks, the ranks packed into one int64 per row,
and one stable argsort of that (several times faster than numpy's lexsort over many million-row keys)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def dense_ranks(values: np.ndarray) -> tuple[np.ndarray, int]:
    """(rank of each value among the distinct values in sort order, number of distinct values):
    hashed once, only the distinct values sorted. NaN ranks last, as numpy sorts it."""
    codes, uniq = pd.factorize(values, use_na_sentinel=False)
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[np.argsort(np.asarray(uniq), kind="stable")] = np.arange(len(uniq))
    return rank[codes], len(uniq)


def lex_order(keys: list[np.ndarray]) -> np.ndarray:
    """The permutation that sorts rows by keys[0], then keys[1], ...; ties keep their order (stable),
    i.e. np.lexsort([np.arange(n), *reversed(keys)])."""
    n = len(keys[0]) if keys else 0
    packed = np.zeros(n, dtype=np.int64)
    bound = 1
    for key in keys:
        ranks, width = dense_ranks(np.asarray(key))
        width = max(width, 1)
        if bound * width >= 1 << 62:               # renumber what is packed so far (order kept)
            packed, bound = dense_ranks(packed)
        packed = packed * width + ranks
        bound *= width
    return np.argsort(packed, kind="stable")
