"""The writer's fast paths (threaded hashing of big `str` columns, identity dedupe of shared str
objects, constant columns filled once per buffer) must give the same bytes and the same refusals
as the plain path: object-dtype columns take pd.factorize serially, so they are the reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from studyforge.xpt import _PARALLEL_ROWS, XptError, factorize_str_objects, read_xpt, write_xpt

N = _PARALLEL_ROWS + 1234          # big enough for the threaded path and several 2 MiB chunks


def _frame(n: int = N) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    subj = np.array([f"P-{i:03d}" for i in range(40)], dtype=object)
    res = np.round(rng.normal(50, 10, n), 1).astype(str).astype(object)
    res[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame({
        "STUDYID": pd.Series(["PALACE"] * n, dtype="str"),             # one shared object: identity path
        "USUBJID": pd.Series(subj[rng.integers(0, 40, n)], dtype="str"),  # shared objects, 40 values
        "ORRES": pd.Series(res, dtype="str"),                            # distinct objects, with missing
        "SEQ": np.arange(1, n + 1, dtype=float),
        "CONST": np.full(n, 3.5),                                        # constant numeric
        "LAST": pd.Series(["x"] * n, dtype="str"),
    })


def test_fast_paths_same_bytes_as_object_columns(tmp_path: Path) -> None:
    df = _frame()
    obj = df.astype({c: object for c in ("STUDYID", "USUBJID", "ORRES", "LAST")})
    write_xpt(df, tmp_path / "fast.xpt", name="T")
    write_xpt(obj, tmp_path / "ref.xpt", name="T")
    assert (tmp_path / "fast.xpt").read_bytes() == (tmp_path / "ref.xpt").read_bytes()
    # and an independent reader sees every row, the constant columns included
    back, _ = pyreadstat.read_xport(tmp_path / "fast.xpt")
    assert len(back) == N
    assert (back["STUDYID"] == "PALACE").all() and (back["CONST"] == 3.5).all()
    assert back["SEQ"].iloc[-1] == N
    assert list(back["USUBJID"]) == list(df["USUBJID"])
    assert list(back["ORRES"]) == list(df["ORRES"].fillna(""))


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "pandas-table"])
def test_factorize_str_matches_pandas(compiled: bool, monkeypatch) -> None:
    import studyforge.xpt as xpt

    if not compiled:                      # the route without studyforge._speedups: identity dedupe
        monkeypatch.setattr(xpt, "_speedups", None)
    elif xpt._speedups is None:
        pytest.skip("studyforge._speedups not built")
    shared = np.array(["b", "a", None, "b", "c"], dtype=object)[np.random.default_rng(1).integers(0, 5, 50_000)]
    codes, uniq = factorize_str_objects(shared)                       # identity path (5 objects)
    ref_codes, ref_uniq = pd.factorize(shared)
    assert list(uniq) == list(ref_uniq)                         # first-appearance order kept
    assert np.array_equal(codes, ref_codes)
    distinct = np.array([str(i % 97) for i in range(50_000)], dtype=object)
    codes, uniq = factorize_str_objects(distinct)                     # value path
    assert np.array_equal(codes, pd.factorize(distinct)[0]) and len(uniq) == 97


def test_first_bad_column_refused_as_serially(tmp_path: Path) -> None:
    """Two bad columns: the error names the first one in column order, with its first bad row."""
    df = _frame()
    df.loc[N - 5, "USUBJID"] = "P-\u00e9"
    df.loc[10, "ORRES"] = "x" * 300
    with pytest.raises(XptError, match=rf"T\.USUBJID: row {N - 4} .* non-ASCII"):
        write_xpt(df, tmp_path / "bad.xpt", name="T")
    assert not (tmp_path / "bad.xpt").exists()


def test_short_numeric_overflow_in_late_chunk(tmp_path: Path) -> None:
    """A rounding overflow found while filling a late chunk is still refused with its row."""
    df = _frame()
    df.loc[N - 1, "SEQ"] = 16.0 ** 63 * (1 - 2.0 ** -40)   # rounds past the IBM maximum at length 3
    with pytest.raises(XptError, match=rf"SEQ: .* row {N} rounds outside"):
        write_xpt(df, tmp_path / "o.xpt", name="T", lengths={"SEQ": 3})
    assert not (tmp_path / "o.xpt").exists()


def test_small_and_big_frames_read_back_equal(tmp_path: Path) -> None:
    df = _frame()
    write_xpt(df, tmp_path / "big.xpt", name="T")
    write_xpt(df.iloc[:1000], tmp_path / "small.xpt", name="T")
    big, _ = read_xpt(tmp_path / "big.xpt")
    small, _ = read_xpt(tmp_path / "small.xpt")
    pd.testing.assert_frame_equal(big.iloc[:1000], small)


def test_without_the_private_hashtable_the_bytes_are_the_same(tmp_path, monkeypatch):
    """pandas._libs.hashtable is private API: when it is absent or changes, pd.factorize takes over
    and the file must not change by a byte."""
    import builtins

    import numpy as np
    import pandas as pd

    from studyforge.xpt import write_xpt

    rng = np.random.default_rng(3)
    n = 150_000   # above the threaded-hashing threshold too
    df = pd.DataFrame({"USUBJID": pd.Series(rng.choice(["S-001", "S-002", "S-003", ""], n), dtype="str"),
                       "LBTESTCD": pd.Series(rng.choice(["ALT", "AST", "GLUC"], n), dtype="str"),
                       "AVAL": rng.normal(size=n)})
    write_xpt(df, tmp_path / "fast.xpt", name="LB")
    real_import = builtins.__import__

    def no_private_hashtable(name, *args, **kwargs):
        if name == "pandas._libs.hashtable":
            raise ImportError("simulated: private pandas API unavailable")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_private_hashtable)
    write_xpt(df, tmp_path / "fallback.xpt", name="LB")
    assert (tmp_path / "fast.xpt").read_bytes() == (tmp_path / "fallback.xpt").read_bytes()


def test_adjacent_text_columns_merged_keep_every_value(tmp_path: Path) -> None:
    """STUDYID (1 value), DOMAIN (1), TESTCD (3 values and missing) and UNIT (2 values) stand side by side:
    the writer fills them from one table of their 1 x 1 x 4 x 2 = 8 combinations; RES (many values) starts
    a new run. Each cell must still read back (pyreadstat) as written, missing as blank."""
    from studyforge.xpt import _build_columns, _fillers

    n = 30_000
    rng = np.random.default_rng(11)
    testcd = np.array(["ALB", "HGB", "WBC", None], dtype=object)[rng.integers(0, 4, n)]
    df = pd.DataFrame({
        "STUDYID": pd.Series(["PALACE"] * n, dtype="str"),
        "DOMAIN": pd.Series(["LB"] * n, dtype="str"),
        "TESTCD": pd.Series(testcd, dtype="str"),
        "UNIT": pd.Series(np.array(["g/L", "10^9/L"], dtype=object)[rng.integers(0, 2, n)], dtype="str"),
        "RES": pd.Series(np.round(rng.normal(50, 10, n), 2).astype(str).astype(object), dtype="str"),
        "SEQ": np.arange(1, n + 1, dtype=float),
    })
    cols = _build_columns(df, "T", {}, {}, {}, {})
    positions = list(np.cumsum([0] + [c.length for c in cols[:-1]]))
    fillers = _fillers(cols, positions)
    assert [c.name for c, _ in fillers] == ["STUDYID+DOMAIN+TESTCD+UNIT", "RES", "SEQ"]
    assert [pos for _, pos in fillers] == [0, 6 + 2 + 3 + 6, 6 + 2 + 3 + 6 + len(max(df["RES"], key=len))]
    write_xpt(df, tmp_path / "t.xpt", name="T")
    back, _ = pyreadstat.read_xport(tmp_path / "t.xpt")
    for c in ("STUDYID", "DOMAIN", "TESTCD", "UNIT", "RES"):
        assert list(back[c]) == list(df[c].fillna("")), c
    assert list(back["SEQ"]) == list(df["SEQ"])


def test_merged_columns_with_a_radix_of_256(tmp_path: Path) -> None:
    # a constant column (1 value) beside one of exactly 256 values merge into 1 * 256 combinations: the
    # radix 256 itself must fit the merged codes' dtype (it once overflowed uint8)
    vals = [f"V{i:03d}" for i in range(256)] * 3
    df = pd.DataFrame({"A": pd.Series(["X"] * len(vals), dtype="str"), "B": pd.Series(vals, dtype="str")})
    write_xpt(df, tmp_path / "m.xpt", name="M")
    back, _ = pyreadstat.read_xport(tmp_path / "m.xpt")
    assert list(back["B"]) == vals and (back["A"] == "X").all()
