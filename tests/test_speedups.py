"""The compiled loops (studyforge/_speedups.c) against independent oracles and the numpy path.

- factorize_str / factorize_utf8: a plain dict in first-appearance order is the oracle (a str value
  gets the next code when new; anything else is missing, -1), for every kind of Python string (1, 2
  and 4 bytes per character), NULs, shared objects, and Arrow arrays sliced and in chunks.
- fill_records: write_xpt with and without the compiled loops must give the same bytes and the same
  refusals, on random frames; hand-derived IBM words pin the numbers themselves.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import studyforge.xpt as xpt
from studyforge.xpt import IBM_MAX, XptError, write_xpt

pytestmark = pytest.mark.skipif(xpt._speedups is None,
                                reason="studyforge._speedups not built (no C compiler): the numpy path is in use")

HAS_ARROW = importlib.util.find_spec("pyarrow") is not None


def _oracle(values) -> tuple[list[int], list[str]]:
    seen: dict[str, int] = {}
    codes = [seen.setdefault(v, len(seen)) if isinstance(v, str) else -1 for v in values]
    return codes, list(seen)


def _factorize_str(values: list) -> tuple[list[int], list | None]:
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    codes = np.empty(len(values), dtype=np.int32)
    uniq = xpt._speedups.factorize_str(arr, codes)
    return codes.tolist(), uniq


TEXT = st.text(max_size=20)                        # any code point: 1-, 2- and 4-byte kinds, NUL included
MISSING = st.sampled_from([None, float("nan"), pd.NA, 3, 2.5, b"x"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(TEXT, MISSING), max_size=60), st.data())
def test_factorize_str_matches_a_dict(values: list, data) -> None:
    if values and data.draw(st.booleans()):        # runs and repeats of one object (the pointer shortcut)
        values = [values[i] for i in data.draw(st.lists(st.integers(0, len(values) - 1), max_size=80))]
    codes, uniq = _factorize_str(values)
    exp_codes, exp_uniq = _oracle(values)
    assert codes == exp_codes
    assert uniq == exp_uniq


def test_factorize_str_hand_cases() -> None:
    # "a\x00b" and "a\x00c" differ (pandas' C-string table, comparing up to the NUL, would merge them);
    # "é" (1-byte kind), "€" (2-byte) and "😀" (4-byte) are three values; "" is a value, not missing
    codes, uniq = _factorize_str(["a\x00b", "a\x00c", "é", "€", "😀", "", None, "é", float("nan"), ""])
    assert codes == [0, 1, 2, 3, 4, 5, -1, 2, -1, 5]
    assert uniq == ["a\x00b", "a\x00c", "é", "€", "😀", ""]


def test_factorize_str_many_values_grow_the_table() -> None:
    values = [f"V{i % 70_001}" for i in range(200_000)]
    codes, uniq = _factorize_str(values)
    assert (codes, uniq) == _oracle(values)


def test_factorize_str_leaves_str_subclasses_to_the_general_route() -> None:
    _, uniq = _factorize_str(["a", np.str_("b")])
    assert uniq is None
    codes, uniq = xpt.factorize_str_objects(np.array(["a", np.str_("b"), "a"], dtype=object))
    assert codes.tolist() == [0, 1, 0] and list(uniq) == ["a", "b"]


@pytest.mark.skipif(not HAS_ARROW, reason="pyarrow not installed")
@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(TEXT, st.none()), max_size=60), st.booleans(), st.data())
def test_factorize_utf8_matches_a_dict(values: list, large: bool, data) -> None:
    import pyarrow as pa

    arr = pa.array(values, type=pa.large_string() if large else pa.string())
    start = data.draw(st.integers(0, len(values)))
    stop = data.draw(st.integers(start, len(values)))
    cuts = sorted(data.draw(st.lists(st.integers(start, stop), max_size=3)))
    bounds = [start, *cuts, stop]
    chunked = pa.chunked_array([arr.slice(a, b - a) for a, b in zip(bounds, bounds[1:])], type=arr.type)
    chunks = xpt._utf8_chunks(chunked)
    codes = np.empty(stop - start, dtype=np.int32)
    uniq = xpt._speedups.factorize_utf8(chunks, codes)
    exp_codes, exp_uniq = _oracle(values[start:stop])
    assert codes.tolist() == exp_codes
    assert uniq == exp_uniq


@pytest.mark.skipif(not HAS_ARROW, reason="pyarrow not installed")
def test_factorize_utf8_refuses_offsets_outside_the_data() -> None:
    import pyarrow as pa

    offsets = pa.py_buffer(np.array([0, 2, 9], dtype=np.int32).tobytes())
    data = pa.py_buffer(b"abcd")
    with pytest.raises(ValueError, match="outside the data"):
        xpt._speedups.factorize_utf8([(None, offsets, data, 0, 2, 4)], np.empty(2, dtype=np.int32))


# --------------------------------------------------------------------------------------------------
# fill_records through write_xpt: the same bytes as the numpy path


def _both(df: pd.DataFrame, tmp: Path, monkeypatch, **kw) -> tuple[bytes | str, bytes | str]:
    """(compiled, numpy) results of one write: the file's bytes, or the refusal's text."""
    out = []
    for kernel in (xpt._speedups, None):
        with monkeypatch.context() as m:
            m.setattr(xpt, "_speedups", kernel)
            p = tmp / f"{'c' if kernel else 'n'}.xpt"
            try:
                write_xpt(df, p, name="T", **kw)
                out.append(p.read_bytes())
            except XptError as exc:
                out.append(str(exc))
    return out[0], out[1]


FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=False).filter(lambda x: x != x or abs(x) <= IBM_MAX),
    st.sampled_from([0.0, -0.0, 1.0, -118.625, 0.1, IBM_MAX, -IBM_MAX, np.nextafter(IBM_MAX, 0), 5e-79, 1e-300]),
)


@st.composite
def _frames(draw):
    n = draw(st.integers(1, 40))
    cols, lengths, special = {}, {}, {}
    for i in range(draw(st.integers(1, 6))):
        name = f"V{i}"
        kind = draw(st.sampled_from(["num", "text", "const"]))
        if kind == "num":
            cols[name] = pd.Series(draw(st.lists(FLOATS, min_size=n, max_size=n)), dtype="float64")
            lengths[name] = draw(st.integers(3, 8))
            if draw(st.booleans()):
                codes = [draw(st.sampled_from(["", "A", "Z", "_"])) if x != x else ""
                         for x in cols[name]]
                special[name] = codes
        else:
            pool = draw(st.lists(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12),
                                 min_size=1, max_size=5))
            vals = [draw(st.sampled_from(pool + [None])) for _ in range(n)] if kind == "text" else [pool[0]] * n
            cols[name] = pd.Series(vals, dtype="str")
            if draw(st.booleans()):
                lengths[name] = draw(st.integers(12, 20))
    return pd.DataFrame(cols), lengths, special


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_frames())
def test_compiled_records_equal_numpy_records(tmp_path: Path, monkeypatch, data) -> None:
    df, lengths, special = data
    compiled, plain = _both(df, tmp_path, monkeypatch, lengths=lengths, special_missing=special)
    assert compiled == plain


def test_compiled_records_equal_numpy_records_over_many_chunks(tmp_path: Path, monkeypatch) -> None:
    n = 150_000                      # ~20 buffers of records, two filled at once, constant columns skipped
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1e6, n)
    x[rng.random(n) < 0.1] = np.nan
    df = pd.DataFrame({
        "STUDYID": pd.Series(["PALACE"] * n, dtype="str"),
        "USUBJID": pd.Series(np.array([f"S-{i:03d}" for i in range(43)])[rng.integers(0, 43, n)], dtype="str"),
        "X": x,
        "X4": x,
        "C": np.full(n, 2.0),
        "T": pd.Series(np.round(x, 1).astype(str), dtype="str"),
    })
    compiled, plain = _both(df, tmp_path, monkeypatch, lengths={"X4": 4})
    assert isinstance(compiled, bytes) and compiled == plain


def _records(raw: bytes, reclen: int, n: int) -> list[bytes]:
    start = raw.index(b"HEADER RECORD*******OBS     HEADER RECORD") + 80
    return [raw[start + i * reclen:start + (i + 1) * reclen] for i in range(n)]


@pytest.mark.parametrize("length, value, expected", [
    # IBM hex float = sign | 7-bit exponent biased by 64 | 56-bit fraction, value = 0.F * 16**(E-64)
    (8, 1.0, "4110000000000000"),            # 1 = 0x0.1 * 16**1
    (8, -118.625, "C276A00000000000"),       # 118.625 = 0x76.A = 0x0.76A * 16**2, sign bit set
    (8, 0.1, "401999999999999A"),            # IEEE 0x3FB999999999999A: 53 bits, no shift, exact
    (4, 0.1, "4019999A"),                    # 24 fraction bits: 0x199999|9... rounds up to 0x19999A
    (3, 0.9999999999999999, "411000"),       # 0x0.FFFF|F... rounds up and carries: 0x0.1 * 16**1 = 1
    (8, 0.0, "0000000000000000"),
    (8, -0.0, "0000000000000000"),           # no negative zero in SAS
    (8, 5e-79, "0000000000000000"),          # below 16**-65: written as 0
    (8, IBM_MAX, "7FFFFFFFFFFFFFFF"),        # 16**63 reads back from the largest IBM number
    (8, float("nan"), "2E00000000000000"),   # missing "."
])
def test_compiled_ibm_words_by_hand(tmp_path: Path, length: int, value: float, expected: str) -> None:
    df = pd.DataFrame({"X": [value], "K": pd.Series(["k"], dtype="str")})
    write_xpt(df, tmp_path / "h.xpt", name="H", lengths={"X": length})
    (rec,) = _records((tmp_path / "h.xpt").read_bytes(), length + 1, 1)
    assert rec[:length].hex().upper() == expected


def test_compiled_special_missing_by_hand(tmp_path: Path) -> None:
    df = pd.DataFrame({"X": [np.nan, np.nan, np.nan, 1.0]})
    write_xpt(df, tmp_path / "s.xpt", name="S", lengths={"X": 3}, special_missing={"X": ["A", "_", "", ""]})
    recs = _records((tmp_path / "s.xpt").read_bytes(), 3, 4)
    assert [r.hex().upper() for r in recs] == ["410000", "5F0000", "2E0000", "411000"]


def test_rounding_outside_the_range_refused_alike(tmp_path: Path, monkeypatch) -> None:
    # the largest double below 16**63 has 53 one bits: at 3 bytes it rounds up to 16**63 * 1, which
    # needs exponent 128 > 127
    top = float(np.nextafter(IBM_MAX, 0))
    df = pd.DataFrame({"A": [1.0, 2.0], "X": [1.0, top]})
    compiled, plain = _both(df, tmp_path, monkeypatch, lengths={"X": 3})
    assert compiled == plain == f"X: value {top!r} at row 2 rounds outside the IBM float range"


def test_version_says_whether_the_compiled_loops_are_in_use(monkeypatch) -> None:
    from click.testing import CliRunner

    from studyforge.cli import main

    assert CliRunner().invoke(main, ["--version"]).output.endswith("(compiled loops: on)\n")
    monkeypatch.setattr(xpt, "_speedups", None)
    out = CliRunner().invoke(main, ["--version"]).output
    assert out.endswith("(compiled loops: off - the numpy path, same bytes, slower)\n")
