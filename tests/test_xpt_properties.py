"""Property tests: random frames -> write_xpt -> pyreadstat (independent reader) and read_xpt.

Precision bound (derived): an IBM fraction has 56 bits, of which up to 3 leading bits are zero
after normalising to base 16, so at least 53 significant bits remain at length 8: every IEEE
double in range converts exactly (relative error 0).  At length L < 8 there are 8L-8 fraction
bits, the fraction is >= 1/16 and we round to nearest: relative error <= 2**-(8L-11).
Magnitudes below 16**-65 are written as 0 (documented), so they are expected back as 0.
"""

from __future__ import annotations

import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studyforge.xpt import IBM_MAX, IBM_MIN, XptError, ibm_to_ieee, ieee_to_ibm, read_xpt, write_xpt

NAMES = st.from_regex(r"\A[A-Z][A-Z0-9_]{0,7}\Z", fullmatch=True)
FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=False).filter(lambda x: abs(x) < IBM_MAX or x != x),
    st.sampled_from([0.0, -0.0, 2.0 ** 53, -(2.0 ** 53), 7.2e75, -7.2e75, IBM_MIN, 1e-79, 0.1]),
)
TEXT = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=127), max_size=200)


@st.composite
def frames(draw):
    names = draw(st.lists(NAMES, min_size=1, max_size=5, unique=True))
    n = draw(st.integers(0, 12))
    cols, lengths = {}, {}
    for name in names:
        if draw(st.booleans()):
            cols[name] = pd.Series(draw(st.lists(FLOATS, min_size=n, max_size=n)), dtype="float64")
            lengths[name] = draw(st.integers(3, 8))
        else:
            cols[name] = pd.Series(draw(st.lists(TEXT, min_size=n, max_size=n)), dtype="str")
    return pd.DataFrame(cols, index=range(n)), lengths


def _expected_num(x: np.ndarray) -> np.ndarray:
    return np.where(np.abs(x) < IBM_MIN, 0.0, x)


def _check_num(got: np.ndarray, x: np.ndarray, length: int) -> None:
    exp = _expected_num(x)
    assert np.array_equal(np.isnan(got), np.isnan(exp))
    ok = ~np.isnan(exp)
    if length == 8:
        assert np.array_equal(got[ok], exp[ok])
    else:
        err = np.abs(got[ok] - exp[ok])
        assert np.all(err <= np.abs(exp[ok]) * 2.0 ** -(8 * length - 11) + (exp[ok] == 0) * 0.0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_random_frames_round_trip(data) -> None:
    df, lengths = data
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "h.xpt"
        try:
            write_xpt(df, p, name="H", lengths=lengths)
        except XptError as exc:   # only refusal possible here: trailing all-blank character rows
            assert "all blank" in str(exc)
            assert all(df[c].dtype == "str" for c in df.columns)
            return
        r, meta = pyreadstat.read_xport(p)
        d, m = read_xpt(p)
    assert list(r.columns) == list(df.columns) == list(d.columns)
    assert len(r) == len(df) == len(d) == m.records
    for c in df.columns:
        if df[c].dtype == np.float64:
            x = df[c].to_numpy()
            _check_num(r[c].to_numpy(dtype=float), x, lengths[c])
            _check_num(d[c].to_numpy(), x, lengths[c])
        else:
            exp = [v.rstrip(" ") for v in df[c]]   # SAS text is blank padded: trailing blanks are not data
            assert list(r[c]) == exp
            assert list(d[c]) == exp


def _reference_ibm(word: int) -> float:
    """Exact value of one IBM word by rational arithmetic (correctly rounded by float())."""
    sign = -1 if word >> 63 else 1
    expo = (word >> 56) & 0x7F
    frac = word & ((1 << 56) - 1)
    return float(sign * Fraction(frac, 1 << 56) * Fraction(16) ** (expo - 64))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2 ** 64 - 1), min_size=1, max_size=50))
def test_ibm_to_ieee_matches_rational_reference(words: list[int]) -> None:
    raw = np.array(words, dtype=np.uint64).astype(">u8").view(np.uint8).reshape(-1, 8)
    got = ibm_to_ieee(raw)
    for w, g in zip(words, got):
        first, frac = w >> 56, w & ((1 << 56) - 1)
        if frac == 0 and (first == 0x2E or first == 0x5F or 0x41 <= first <= 0x5A):
            assert np.isnan(g)
        else:
            assert g == _reference_ibm(w)


@settings(max_examples=100, deadline=None)
@given(st.lists(FLOATS.filter(lambda x: x == x), min_size=1, max_size=50), st.integers(3, 8))
def test_ieee_to_ibm_is_nearest(values: list[float], length: int) -> None:
    """Each written value is the nearest representable IBM number of that length (ties aside)."""
    x = np.array(values)
    out = ieee_to_ibm(x, length)
    back = ibm_to_ieee(out, length)
    exp = _expected_num(x)
    # one fraction step (ulp) at the value's IBM exponent
    for v, b in zip(exp, back):
        if v == 0:
            assert b == 0
            continue
        q = int(np.floor(np.log2(abs(v)))) // 4 + 1      # 16**(q-1) <= |v| < 16**q (up to rounding of log2)
        ulp = 2.0 ** (4 * q - (8 * length - 8))
        assert abs(b - v) <= ulp / 2 + ulp * 1e-9 or abs(b - v) <= abs(v) * 2.0 ** -(8 * length - 11)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.lists(st.binary(min_size=0, max_size=30), min_size=1, max_size=40), st.data())
def test_factorize_rows_groups_equal_rows(width: int, pool: list[bytes], data) -> None:
    """The reader's row hashing: equal codes exactly when the byte rows are equal."""
    from studyforge.xpt import _factorize_rows
    picks = data.draw(st.lists(st.integers(0, len(pool) - 1), min_size=1, max_size=60))
    cell = np.array([np.frombuffer(pool[i][:width].ljust(width, b" "), dtype=np.uint8) for i in picks])
    codes, first = _factorize_rows(cell)
    rows = [bytes(r) for r in cell]
    for i, r in enumerate(rows):
        assert rows[first[codes[i]]] == r
    assert len(set(codes.tolist())) == len(set(rows))


BIT_FLOATS = st.integers(0, 2 ** 64 - 1).map(lambda w: float(np.array([w], dtype=np.uint64).view(np.float64)[0]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(FLOATS, BIT_FLOATS).filter(lambda x: x != x or abs(x) < IBM_MAX), min_size=1, max_size=60))
def test_ibm_table_path_equals_general_path(values: list[float]) -> None:
    """Length-8 words without special missings take per-exponent tables; the general path (taken when
    special-missing codes are given, all 0 here) is the reference, bit for bit, NaN payloads and sign
    included (any NaN is '.'), subnormals and |x| < 16**-65 as 0."""
    from studyforge.xpt import _ibm_word
    x = np.array(values, dtype=np.float64)
    assert np.array_equal(_ibm_word(x, 8, None), _ibm_word(x, 8, np.zeros(len(x), dtype=np.uint8)))


def test_ibm_table_path_hand_values() -> None:
    """TS-140 arithmetic by hand: -118.625 = -0x76.A = -(0x0.76A * 16**2): sign 1, E = 64 + 2 = 0x42 -> C2,
    F = 76A000...; 0.5 = 0x0.8 * 16**0 -> 40 80...; a negative NaN with a payload -> '.' = 2E 00...;
    the smallest subnormal -> 0 (below 16**-65)."""
    nan = np.array([0xFFF8000000000123], dtype=np.uint64).view(np.float64)[0]
    got = ieee_to_ibm([-118.625, 0.5, nan, 5e-324])
    assert [bytes(r).hex().upper() for r in got] == [
        "C276A00000000000", "4080000000000000", "2E00000000000000", "0000000000000000"]
