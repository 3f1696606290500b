"""The speed-ups of the SDTM build must give exactly what the plain pandas forms give."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from sdtm._fast import TEXT, text_series, text_values, umap
from sdtm.derivations import sort_codes

_cell = st.one_of(st.none(), st.just(np.nan), st.text(max_size=4))


def _plain_text(values: list) -> list[str]:
    """The reference: missing (None/NaN) -> '', text kept as is."""
    return ["" if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in values]


@settings(max_examples=60, deadline=None)
@given(st.lists(_cell, max_size=20))
def test_text_series_matches_missing_as_blank(values):
    s = pd.Series(values, dtype=object)
    got = text_series(s)
    assert got.dtype == TEXT
    assert got.tolist() == _plain_text(values)
    assert list(text_values(s)) == _plain_text(values)


def test_text_series_returns_clean_text_column_itself():
    s = pd.Series(["A", "B"], dtype=str)
    assert text_series(s) is s  # no copy when nothing is missing
    t = pd.Series(["A", "B"], dtype="string")  # other text dtype -> converted to the default one
    assert text_series(t).dtype == TEXT


def test_text_values_numbers_keep_value_and_blank_missing():
    assert list(text_values(pd.Series([1.5, np.nan]))) == [1.5, ""]


@settings(max_examples=60, deadline=None)
@given(st.lists(_cell, max_size=20))
def test_umap_equals_elementwise(values):
    s = pd.Series(values, dtype=object)
    got = umap(s, lambda u: u.astype(str).str.lower() + "!")
    assert got.tolist() == [v.lower() + "!" for v in _plain_text(values)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["S-02", "S-10", "S-1", "", "s-1"]), max_size=25),
       st.lists(st.floats(allow_nan=True, allow_infinity=False, width=32), max_size=25))
def test_sort_codes_with_known_codes_equals_plain(subj, num):
    n = min(len(subj), len(num))
    frame = pd.DataFrame({"USUBJID": pd.Series(subj[:n], dtype=str), "N": np.asarray(num[:n], dtype=float)})
    # ranks as subject_ranks makes them: np.unique over the distinct values (text order)
    _, inv = np.unique(frame["USUBJID"].to_numpy(dtype=object), return_inverse=True)
    plain = sort_codes(frame, ["USUBJID", "N"])
    fast = sort_codes(frame, ["USUBJID", "N"], {"USUBJID": inv.ravel().astype(np.int64)})
    assert plain.tolist() == fast.tolist()
    # and it is a stable sort by text then number (missing number first)
    key = [(frame["USUBJID"][i], -np.inf if np.isnan(frame["N"][i]) else frame["N"][i], i) for i in range(n)]
    assert plain.tolist() == [k[2] for k in sorted(key)]
