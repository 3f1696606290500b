"""XPORT v5 writer/reader: golden bytes derived by hand from SAS TS-140, round trips through
independent readers (pyreadstat, pandas.read_sas), refusals, determinism and atomic writes."""

from __future__ import annotations

import datetime as dt
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from studyforge.xpt import XptError, ibm_to_ieee, ieee_to_ibm, parse_format, read_xpt, write_xpt, write_xpt_info

CREATED = dt.datetime(2025, 3, 4, 5, 6, 7)


def _pandas(path: Path) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.read_sas(path, format="xport", encoding="ascii")


def _hex(b: np.ndarray) -> str:
    return bytes(b.ravel()).hex()


# ---------------------------------------------------------------- IBM conversion, golden values
# IBM hex float: value = (-1)^s * 0.F (base 16) * 16^(E - 64); byte 0 = s|E, bytes 1-7 = F.

@pytest.mark.parametrize("value, expected", [
    (1.0, "4110000000000000"),           # 1 = 0.1(hex) * 16^1 -> E=0x41, F=0x10...
    (-1.0, "c110000000000000"),          # sign bit set
    (100.0, "4264000000000000"),         # 100 = 0x64 = 0.64(hex) * 16^2
    (0.1, "401999999999999a"),           # IEEE 0x3FB999999999999A: 53-bit significand fits exactly
    (0.5, "4080000000000000"),           # 0.8(hex) * 16^0
    (0.0, "0000000000000000"),           # zero is all zero bytes
    (-0.0, "0000000000000000"),          # no negative zero in SAS
    (1e-80, "0000000000000000"),         # below 16^-65: flushed to zero (documented)
    (float("nan"), "2e00000000000000"),  # missing "." = 0x2E then zeros
])
def test_ieee_to_ibm_golden(value: float, expected: str) -> None:
    assert _hex(ieee_to_ibm([value])) == expected


def test_short_lengths_round_to_nearest() -> None:
    # 1/3 = 0.5555...(hex): 2 kept fraction bytes 55 55, next bit 0 -> down.
    assert _hex(ieee_to_ibm([1 / 3], 3)) == "405555"
    # 2/3 = 0.AAAA...(hex): next bits 1010... -> round up to AB (truncation would give AA).
    assert _hex(ieee_to_ibm([2 / 3], 3)) == "40aaab"
    # 1 - 2^-20 = 0.FFFFF(hex): rounds up past 1.0 -> carry renormalises to 0.1(hex) * 16^1.
    assert _hex(ieee_to_ibm([1 - 2.0 ** -20], 3)) == "411000"


def test_special_missing_bytes() -> None:
    codes = np.frombuffer(b"\x00AZ_", dtype=np.uint8)
    out = ieee_to_ibm([np.nan] * 4, 8, codes)
    assert [bytes(r).hex() for r in out] == ["2e" + "00" * 7, "41" + "00" * 7, "5a" + "00" * 7, "5f" + "00" * 7]
    assert np.isnan(ibm_to_ieee(out)).all()


def test_ibm_range_refused() -> None:
    with pytest.raises(XptError, match="row 2.*IBM"):
        ieee_to_ibm([1.0, 1.0000001 * 16.0 ** 63])
    # the largest IBM number (1 - 16^-14) * 16^63 reads back as the double 16^63 (= 2^252) and
    # is written back as that largest number, so SAS files holding it round trip
    top = bytes.fromhex("7fffffffffffffff")
    assert ibm_to_ieee(top)[0] == 16.0 ** 63
    assert bytes(ieee_to_ibm([16.0 ** 63]).ravel()) == top
    assert bytes(ieee_to_ibm([-(16.0 ** 63)], 4).ravel()) == bytes.fromhex("ffffffff")
    with pytest.raises(XptError, match="IBM"):
        ieee_to_ibm([float("inf")])
    # largest representable: 0.FFFFFFFFFFFFFF(hex) * 16^63 is below 16^63
    assert ibm_to_ieee(ieee_to_ibm([7e75]))[0] == 7e75


def test_ibm_to_ieee_exact_for_doubles() -> None:
    # 53-bit significand << (0..3) fits the 56-bit fraction, so 8-byte round trips are exact.
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0, 1e6, 2000), rng.uniform(-1, 1, 2000) * 10.0 ** rng.integers(-70, 70, 2000),
                        [2.0 ** 53, -(2.0 ** 53), 1e-78, 7.2e75, 0.1, 1e-10]])
    assert np.array_equal(ibm_to_ieee(ieee_to_ibm(x)), x)


@pytest.mark.parametrize("length", [3, 4, 5, 6, 7])
def test_short_length_error_bound(length: int) -> None:
    # 8L-8 fraction bits, fraction >= 1/16, half-ulp rounding -> |rel err| <= 2^-(8L-11).
    rng = np.random.default_rng(length)
    x = rng.uniform(-1, 1, 5000) * 10.0 ** rng.integers(-60, 60, 5000)
    y = ibm_to_ieee(ieee_to_ibm(x, length), length)
    assert np.max(np.abs(y - x) / np.abs(x)) <= 2.0 ** -(8 * length - 11)


# ---------------------------------------------------------------- whole files

VALUES = [0.1, 1e-10, 7e75, -0.0, 0.0, 2.0 ** 53, -(2.0 ** 53) + 1, -123.456, np.nan, 1.0, 42.0]


def _frame() -> pd.DataFrame:
    n = len(VALUES)
    return pd.DataFrame({
        "STUDYID": ["PALACE"] * n,
        "USUBJID": [f"PALACE-{i:03d}" for i in range(n)],
        "AVAL": VALUES,
        "AVALC": ["", None, "x", " lead", "trail  ", "a", "b", "c", "d", "e", "f"],
        "N": pd.array([1, None, 3, 4, 5, 6, 7, 8, 9, 10, 11], dtype="Int64"),
        "FL": [True, False] * 5 + [True],
    })


def test_round_trip_three_readers(tmp_path: Path) -> None:
    df = _frame()
    p = tmp_path / "adx.xpt"
    write_xpt(df, p, name="ADX", label="Test analysis data", created=CREATED,
              labels={"AVAL": "Analysis Value", "AVALC": "Analysis Value (C)"},
              formats={"AVAL": "12.3", "AVALC": "$20."}, lengths={"AVALC": 20})
    expected_num = np.array(VALUES)
    # 1. pyreadstat (readstat, independent C reader)
    r, meta = pyreadstat.read_xport(p)
    assert list(r.columns) == list(df.columns)
    assert np.array_equal(r["AVAL"].to_numpy(), expected_num, equal_nan=True)
    assert list(r["AVALC"]) == ["", "", "x", " lead", "trail", "a", "b", "c", "d", "e", "f"]
    assert np.array_equal(r["N"].to_numpy(), [1, np.nan, 3, 4, 5, 6, 7, 8, 9, 10, 11], equal_nan=True)
    assert list(r["FL"]) == [1.0, 0.0] * 5 + [1.0]
    assert meta.table_name == "ADX" and meta.file_label == "Test analysis data"
    assert meta.column_names_to_labels["AVAL"] == "Analysis Value"
    assert meta.variable_storage_width == {"STUDYID": 6, "USUBJID": 10, "AVAL": 8, "AVALC": 20, "N": 8, "FL": 8}
    assert meta.original_variable_types["AVAL"] == "12.3"
    assert meta.creation_time == CREATED
    # 2. our reader
    d, m = read_xpt(p)
    assert np.array_equal(d["AVAL"].to_numpy(), expected_num, equal_nan=True)
    assert list(d["AVALC"]) == list(r["AVALC"])
    assert str(d["AVALC"].dtype) == "str" and d["AVAL"].dtype == np.float64
    assert (m.name, m.label, m.created, m.records) == ("ADX", "Test analysis data", CREATED, 11)
    v = {x.name: x for x in m.variables}
    assert (v["AVALC"].type, v["AVALC"].length, v["AVALC"].format, v["AVALC"].label) == ("Char", 20, "$20.", "Analysis Value (C)")
    assert [x.position for x in m.variables] == [0, 6, 16, 24, 44, 52]
    # 3. pandas.read_sas: exact except 0.0, which pandas misreads as 5.4e-79 (its IBM
    #    conversion has no zero case; SAS writes zero as all zero bytes, as we do).
    pdf = _pandas(p)
    got = pdf["AVAL"].to_numpy()
    zero = expected_num == 0
    assert np.array_equal(got[~zero], expected_num[~zero], equal_nan=True)
    assert np.all(np.abs(got[zero]) < 1e-78)


def test_special_missing_round_trip(tmp_path: Path) -> None:
    df = pd.DataFrame({"USUBJID": ["A", "B", "C", "D"], "X": [1.5, np.nan, np.nan, np.nan]})
    p = tmp_path / "s.xpt"
    write_xpt(df, p, name="S", special_missing={"X": ["", "", ".A", "_"]})
    raw = p.read_bytes()
    recs = raw[raw.index(b"HEADER RECORD*******OBS") + 80:]
    rows = [recs[i * 9:(i + 1) * 9] for i in range(4)]
    assert [r[1:2] for r in rows] == [b"\x41", b"\x2e", b"\x41", b"\x5f"]   # 1.5 = 0.18(hex)*16^1 -> 0x41
    d, m = read_xpt(p)
    assert list(m.special_missing["X"]) == ["", "", "A", "_"]
    assert d["X"].isna().tolist() == [False, True, True, True]
    r, _ = pyreadstat.read_xport(p)          # readstat exposes them as plain missing
    assert r["X"].isna().tolist() == [False, True, True, True]
    # rewriting with the metadata keeps the codes: byte-identical
    write_xpt(d, tmp_path / "s2.xpt", name="S", special_missing=m.special_missing)
    assert (tmp_path / "s2.xpt").read_bytes() == raw


def test_special_missing_needs_missing_value(tmp_path: Path) -> None:
    df = pd.DataFrame({"X": [1.0, 2.0]})
    with pytest.raises(XptError, match=r"S\.X: row 2 .*special missing \.B"):
        write_xpt(df, tmp_path / "s.xpt", name="S", special_missing={"X": ["", "B"]})
    with pytest.raises(XptError, match="row 1 .*'AB'"):
        write_xpt(pd.DataFrame({"X": [np.nan]}), tmp_path / "s.xpt", name="S", special_missing={"X": ["AB"]})


def test_zero_rows(tmp_path: Path) -> None:
    df = pd.DataFrame({"A": pd.Series([], dtype=float), "B": pd.Series([], dtype="str")})
    p = tmp_path / "z.xpt"
    write_xpt(df, p, name="Z", lengths={"B": 4})
    assert p.stat().st_size == 80 * 13   # 8 header records + 2*140 NAMESTR bytes in 4 cards + OBS header
    r, meta = pyreadstat.read_xport(p)
    assert len(r) == 0 and meta.number_columns == 2
    d, m = read_xpt(p)
    assert len(d) == 0 and list(d.columns) == ["A", "B"] and m.records == 0


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_record_length_not_dividing_80(tmp_path: Path, n: int) -> None:
    # record length 8 + 11 = 19 bytes: the last 80-byte card is part records, part blank padding
    df = pd.DataFrame({"A": np.arange(n) + 0.5, "B": [f"v{i}-abcdefgh"[:11] for i in range(n)]})
    p = tmp_path / "r.xpt"
    write_xpt(df, p, name="R")
    assert p.stat().st_size % 80 == 0
    for got in (pyreadstat.read_xport(p)[0], read_xpt(p)[0], _pandas(p)):
        assert len(got) == n
        assert list(got["A"]) == list(df["A"])


def test_trailing_blank_records_refused(tmp_path: Path) -> None:
    # all-character rows that are blank and fit in the padding would be lost by every reader
    df = pd.DataFrame({"C": ["a", ""]})
    with pytest.raises(XptError, match="all blank"):
        write_xpt(df, tmp_path / "b.xpt", name="B")
    write_xpt(pd.DataFrame({"C": ["", "a"]}), tmp_path / "ok.xpt", name="B")   # leading blank is fine
    assert list(read_xpt(tmp_path / "ok.xpt")[0]["C"]) == ["", "a"]


def test_record_count_follows_sas() -> None:
    # SAS treats trailing all-blank observations that start in the final 80-byte card as padding
    # (e.g. 8-byte char rows: a last card of ten blank rows is padding, blank rows before it are
    # data); a remainder that is not blank is a damaged file.
    from studyforge.xpt import _record_count
    card = lambda s: np.frombuffer(s.ljust(80).encode(), dtype=np.uint8)   # noqa: E731
    blank = card("")
    assert _record_count(np.concatenate([blank, card("TEXT"), blank]), 8) == 20
    assert _record_count(np.concatenate([card(" " * 35 + "next value"), blank]), 35) == 3
    assert _record_count(card("x" * 19 * 3), 19) == 3
    with pytest.raises(XptError, match="blank padding"):
        _record_count(card("x" * 79 + "y"), 19)


def test_header_layout(tmp_path: Path) -> None:
    df = pd.DataFrame({"AGE": [30.0], "SEX": ["F"]})
    p = tmp_path / "dm.xpt"
    write_xpt(df, p, name="DM", label="Demographics", labels={"AGE": "Age"}, formats={"AGE": "8."},
              created=CREATED)
    raw = p.read_bytes()
    rec = [raw[i:i + 80] for i in range(0, len(raw), 80)]
    assert rec[0] == b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!000000000000000000000000000000  "
    assert rec[1] == b"SAS     SAS     SASLIB  9.4     LINUX   " + b" " * 24 + b"04MAR25:05:06:07"
    assert rec[2] == b"04MAR25:05:06:07" + b" " * 64
    assert rec[3] == b"HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!000000000000000001600000000140  "
    assert rec[4] == b"HEADER RECORD*******DSCRPTR HEADER RECORD!!!!!!!000000000000000000000000000000  "
    assert rec[5] == b"SAS     DM      SASDATA 9.4     LINUX   " + b" " * 24 + b"04MAR25:05:06:07"
    assert rec[6] == b"04MAR25:05:06:07" + b" " * 16 + b"Demographics".ljust(40) + b" " * 8
    assert rec[7] == b"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!000000000200000000000000000000  "
    ns = raw[640:640 + 280]
    age, sex = ns[:140], ns[140:]
    # ntype=1, nhfun=0, nlng=8, nvar0=1; name; label; nform 8.: name "" width 8; npos 0
    assert age[:8] == bytes([0, 1, 0, 0, 0, 8, 0, 1])
    assert age[8:16] == b"AGE     " and age[16:56] == b"Age".ljust(40)
    assert age[56:64] == b" " * 8 and age[64:70] == bytes([0, 8, 0, 0, 0, 0])
    assert age[84:88] == bytes([0, 0, 0, 0])
    assert sex[:8] == bytes([0, 2, 0, 0, 0, 1, 0, 2]) and sex[84:88] == bytes([0, 0, 0, 8])
    assert raw[920:960] == b" " * 40           # NAMESTR cards padded with blanks to 80
    assert rec[12] == b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!000000000000000000000000000000  "
    assert rec[13] == bytes.fromhex("421e000000000000") + b"F" + b" " * 71   # 30 = 0x1E -> 0.1E(hex)*16^2
    assert len(rec) == 14


def test_deterministic_and_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    df = _frame()
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    write_xpt(df, tmp_path / "a.xpt", name="A")
    write_xpt(df, tmp_path / "b.xpt", name="A")
    a = (tmp_path / "a.xpt").read_bytes()
    assert a == (tmp_path / "b.xpt").read_bytes()
    assert a[144:160] == b"01JAN60:00:00:00"            # never the clock
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14T22:13:20Z
    write_xpt(df, tmp_path / "c.xpt", name="A")
    assert (tmp_path / "c.xpt").read_bytes()[144:160] == b"14NOV23:22:13:20"
    assert read_xpt(tmp_path / "c.xpt")[1].created == dt.datetime(2023, 11, 14, 22, 13, 20)


def test_dates_count_days_from_1960(tmp_path: Path) -> None:
    # 1960-01-01 -> 0; 2021-06-01: 61 years incl. 16 leap days = 22281, + Jan-May 151 = 22432
    df = pd.DataFrame({"ADT": pd.to_datetime(["1960-01-01", "2021-06-01", None]),
                       "ADTM": pd.to_datetime(["1960-01-02 00:00:01", "1959-12-31 23:59:59", None])})
    p = tmp_path / "d.xpt"
    write_xpt(df, p, name="D", formats={"ADT": "DATE9.", "ADTM": "DATETIME20."})
    d, m = read_xpt(p)
    assert np.array_equal(d["ADT"].to_numpy(), [0.0, 22432.0, np.nan], equal_nan=True)
    assert np.array_equal(d["ADTM"].to_numpy(), [86401.0, -1.0, np.nan], equal_nan=True)
    r, _ = pyreadstat.read_xport(p)
    assert r["ADT"].iloc[1] == dt.date(2021, 6, 1)
    with pytest.raises(XptError, match="D.ADT: a datetime64 column needs"):
        write_xpt(df[["ADT"]], p, name="D")
    with pytest.raises(XptError, match="row 1 has a time part"):
        write_xpt(df[["ADTM"]], p, name="D", formats={"ADTM": "DATE9."})


# ---------------------------------------------------------------- refusals

@pytest.mark.parametrize("kwargs, frame, pattern", [
    ({"name": "dm"}, {"A": [1.0]}, "dataset name 'dm'"),
    ({"name": "TOOLONGNM"}, {"A": [1.0]}, "dataset name 'TOOLONGNM'"),
    ({"name": "1DM"}, {"A": [1.0]}, "dataset name '1DM'"),
    ({"name": "DM"}, {"age": [1.0]}, "DM: variable name 'age'"),
    ({"name": "DM"}, {"A-B": [1.0]}, "variable name 'A-B'"),
    ({"name": "DM", "labels": {"A": "x" * 41}}, {"A": [1.0]}, r"DM\.A: label .* 41 characters"),
    ({"name": "DM", "labels": {"A": "Âge"}}, {"A": [1.0]}, r"DM\.A label .*non-ASCII"),
    ({"name": "DM", "label": "y" * 41}, {"A": [1.0]}, "dataset label .* 41 characters"),
    ({"name": "DM"}, {"C": ["ok", "x" * 201]}, r"DM\.C: row 2 value of 201 bytes exceeds the 200-byte"),
    ({"name": "DM", "lengths": {"C": 3}}, {"C": ["ok", "four"]}, r"DM\.C: row 2 value of 4 bytes exceeds length 3"),
    ({"name": "DM", "lengths": {"C": 201}}, {"C": ["ok"]}, "character length 201"),
    ({"name": "DM"}, {"USUBJID": ["S1", "S2"], "C": ["ok", "naïve"]},
     r"DM\.C: row 2 \(USUBJID='S2'\) value 'naïve' has non-ASCII"),
    ({"name": "DM"}, {"C": ["a", "b\x00c"]}, r"DM\.C: row 2 .*NUL"),
    ({"name": "DM"}, {"C": ["a", 3]}, r"DM\.C: row 2 value 3 is not text"),
    ({"name": "DM"}, {"X": [1.0, 1e76]}, r"DM\.X: value 1e\+76 at row 2 is outside the IBM"),
    ({"name": "DM"}, {"X": [1.0, -np.inf]}, r"DM\.X: value -inf at row 2"),
    ({"name": "DM", "lengths": {"X": 2}}, {"X": [1.0]}, r"DM\.X: numeric length 2 outside 3\.\.8"),
    ({"name": "DM", "lengths": {"X": 9}}, {"X": [1.0]}, r"numeric length 9"),
    ({"name": "DM", "formats": {"X": "FOO8."}}, {"X": [1.0]}, "'FOO' is not a known"),
    ({"name": "DM", "formats": {"X": "DATE99."}}, {"X": [1.0]}, "width 99 outside 5..11"),
    ({"name": "DM", "formats": {"X": "$10."}}, {"X": [1.0]}, r"DM\.X: format \$10\. does not fit a numeric"),
    ({"name": "DM", "formats": {"C": "8.2"}}, {"C": ["a"]}, "does not fit a character"),
    ({"name": "DM", "labels": {"Z": "z"}}, {"A": [1.0]}, "labels given for column.* Z"),
])
def test_refusals(tmp_path: Path, kwargs: dict, frame: dict, pattern: str) -> None:
    p = tmp_path / "x.xpt"
    with pytest.raises(XptError, match=pattern):
        write_xpt(pd.DataFrame(frame), p, **kwargs)
    assert list(tmp_path.iterdir()) == []          # nothing written, no temp file left


def test_duplicate_names_refused(tmp_path: Path) -> None:
    df = pd.DataFrame([[1.0, 2.0]], columns=["A", "A"])
    with pytest.raises(XptError, match="duplicate variable name.*A"):
        write_xpt(df, tmp_path / "x.xpt", name="DM")


@pytest.mark.parametrize("fmt, text", [
    ("$20.", "$20."), ("8.2", "8.2"), ("DATE9.", "DATE9."), ("E8601DA10.", "E8601DA10."),
    ("E8601DT19.", "E8601DT19."), ("E8601TM8.", "E8601TM8."), ("TIME8.", "TIME8."),
    ("DATETIME20.", "DATETIME20."), ("YYMMDD10.", "YYMMDD10."), ("BEST12.", "BEST12."), ("date9.", "DATE9."),
    ("E8601DT26.6", "E8601DT26.6"), ("$CHAR200.", "$CHAR200."), ("DATE.", "DATE."),
])
def test_formats_accepted(fmt: str, text: str) -> None:
    assert str(parse_format(fmt)) == text


@pytest.mark.parametrize("fmt", ["8", "X.", "VERYLONGNAME8.", "8.8", "BEST33.", "E8601DA9.", "DATE9.2", "."])
def test_formats_refused(fmt: str) -> None:
    with pytest.raises(XptError):
        parse_format(fmt)


def test_atomic_write_failure_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "a.xpt"
    write_xpt(pd.DataFrame({"A": [1.0]}), p, name="A")
    before = p.read_bytes()

    def boom(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        write_xpt(pd.DataFrame({"A": [2.0]}), p, name="A")
    with pytest.raises(OSError):
        write_xpt(pd.DataFrame({"A": [2.0]}), tmp_path / "new.xpt", name="A")
    assert sorted(x.name for x in tmp_path.iterdir()) == ["a.xpt"]   # no temp file, no new file
    assert p.read_bytes() == before                                  # old file untouched


def test_write_info_metadata(tmp_path: Path) -> None:
    meta = write_xpt_info(pd.DataFrame({"A": [1.0], "B": ["xy"]}), tmp_path / "m.xpt", name="M",
                          lengths={"A": 4}, labels={"B": "Bee"})
    assert [(v.name, v.type, v.length, v.position, v.label) for v in meta.variables] == \
        [("A", "Num", 4, 0, ""), ("B", "Char", 2, 4, "Bee")]
    assert meta.records == 1
    assert read_xpt(tmp_path / "m.xpt")[1].variables == meta.variables


# ---------------------------------------------------------------- reader refusals

def test_reader_refuses_other_files(tmp_path: Path) -> None:
    p = tmp_path / "bad.xpt"
    p.write_bytes(b"HEADER RECORD*******LIBV8   HEADER RECORD!!!!!!!" + b"0" * 30 + b"  ")
    with pytest.raises(XptError, match="LIBV8"):
        read_xpt(p)
    p.write_bytes(b"hello")
    with pytest.raises(XptError, match="not a SAS XPORT v5"):
        read_xpt(p)


def test_reader_reads_pyreadstat_output(tmp_path: Path) -> None:
    df = pd.DataFrame({"X": [1.25, np.nan, -3.0], "C": ["a", "bb", ""]})
    p = tmp_path / "p.xpt"
    pyreadstat.write_xport(df, p, file_format_version=5, table_name="P", file_label="From readstat",
                           column_labels={"X": "Ex", "C": "Cee"})
    d, m = read_xpt(p)
    assert np.array_equal(d["X"].to_numpy(), [1.25, np.nan, -3.0], equal_nan=True)
    assert list(d["C"]) == ["a", "bb", ""]
    assert (m.name, m.label) == ("P", "From readstat")
    assert [v.label for v in m.variables] == ["Ex", "Cee"]


def test_reader_non_ascii_names_row(tmp_path: Path) -> None:
    p = tmp_path / "n.xpt"
    write_xpt(pd.DataFrame({"USUBJID": ["S1", "S2"], "C": ["ab", "cd"]}), p, name="N")
    raw = bytearray(p.read_bytes())
    obs = raw.index(b"HEADER RECORD*******OBS") + 80
    raw[obs + 4 + 2 + 1] = 0xE9                 # row 2 (4-byte records), column C, 2nd byte
    p.write_bytes(bytes(raw))
    with pytest.raises(XptError, match="C row 2 has non-ASCII bytes"):
        read_xpt(p)
    d, _ = read_xpt(p, encoding="latin-1")
    assert list(d["C"]) == ["ab", "cé"]
