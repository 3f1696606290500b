"""lex_order against numpy's lexsort (the independent oracle): same permutation for text, integer and
float keys with NaN, ties kept in row order."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from studyforge.ordering import lex_order


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 60), st.lists(st.sampled_from(["int", "float", "text"]), min_size=1, max_size=5),
       st.integers(0, 2**32 - 1))
def test_lex_order_is_lexsort(n, kinds, seed) -> None:
    rng = np.random.default_rng(seed)
    keys = []
    for kind in kinds:
        if kind == "int":
            keys.append(rng.integers(-3, 4, n))
        elif kind == "float":
            v = rng.integers(0, 4, n).astype(float)
            v[rng.random(n) < 0.3] = np.nan
            keys.append(v)
        else:
            keys.append(np.array(["", "A", "B", "AB", "b"], dtype=object)[rng.integers(0, 5, n)])
    assert lex_order(keys).tolist() == np.lexsort([np.arange(n), *reversed(keys)]).tolist()


def test_many_wide_keys_are_renumbered_not_overflowed() -> None:
    # 6 keys of ~2,000 distinct values each: the packed product (~6.4e19) passes 2**62, so the packed
    # ranks are renumbered on the way; the order must still be lexsort's
    rng = np.random.default_rng(3)
    keys = [rng.integers(0, 2000, 5000) for _ in range(6)]
    assert (lex_order(keys) == np.lexsort([np.arange(5000), *reversed(keys)])).all()


def test_keys_given_as_dense_ranks_sort_as_their_arrays() -> None:
    # a key given as (dense ranks, width) is packed as it is; the order must equal lexsort's on the arrays
    rng = np.random.default_rng(5)
    text = np.array(["", "A", "AB", "B", "b"], dtype=object)[rng.integers(0, 5, 3000)]
    ranks, uniq = np.unique(text, return_inverse=True)[1].ravel(), np.unique(text)
    num = rng.integers(0, 3, 3000)
    expected = np.lexsort([np.arange(3000), num, text]).tolist()
    assert lex_order([(ranks, len(uniq)), num]).tolist() == expected
    assert lex_order([num, (ranks, len(uniq))]).tolist() == np.lexsort([np.arange(3000), text, num]).tolist()


def test_sorted_and_tied_input_keeps_its_order() -> None:
    # already non-decreasing keys with ties: the stable order is the identity (the O(n) shortcut)
    a = np.array([0, 0, 1, 1, 1, 3])
    b = np.array(["A", "A", "", "B", "B", "A"], dtype=object)
    assert lex_order([a, b]).tolist() == np.lexsort([np.arange(6), b, a]).tolist() == [0, 1, 2, 3, 4, 5]
    assert lex_order([b, a]).tolist() == np.lexsort([np.arange(6), a, b]).tolist()
