"""shape_to_spec / write_dataset_xpt: spec order and types, every mismatch a Finding, XPT read back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from studyforge.dataset_writer import shape_to_spec, write_dataset_xpt
from studyforge.findings import Severity
from studyforge.spec.models import Dataset, Study
from studyforge.xpt import XptError, read_xpt


def _var(name: str, label: str, type_: str, **kw) -> dict:
    return {"name": name, "label": label, "type": type_, "origin": {"type": "Derived"}, **kw}


def _dataset(**over) -> Dataset:
    spec = {
        "name": "ADTTE", "label": "Time-to-Event Analysis Dataset", "class": "BASIC DATA STRUCTURE",
        "structure": "One record per subject per parameter", "purpose": "Analysis", "standard": "ADaMIG 1.3",
        "keys": ["USUBJID", "PARAMCD"],
        "variables": [
            _var("STUDYID", "Study Identifier", "Char", core="Req"),
            _var("USUBJID", "Unique Subject Identifier", "Char", core="Req"),
            _var("PARAMCD", "Parameter Code", "Char", length=8, core="Req"),
            _var("AVAL", "Analysis Value", "Num", core="Cond", format="8.1"),
            _var("STARTDT", "Time-to-Event Origin Date for Subject", "Num", data_type="date", format="DATE9."),
            _var("CNSR", "Censor", "Num", core="Exp"),
            _var("EVNTDESC", "Event or Censoring Description", "Char", core="Perm"),
        ],
    }
    spec.update(over)
    return Dataset.model_validate(spec)


STUDY = Study(id="D-FR-52030-003", name="PALACE", title="PALACE", protocol="D-FR-52030-003",
              standards=[{"name": "ADaMIG", "version": "1.3", "type": "IG"}],
              xpt_created=dt.datetime(2025, 1, 15, 9, 30, 0))


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "USUBJID": ["P-001", "P-002", "P-003"],
        "STUDYID": "D-FR-52030-003",
        "PARAMCD": ["PFS", "PFS", "OS"],
        "AVAL": pd.array([120, None, 33], dtype="Int64"),
        "STARTDT": pd.to_datetime(["2021-06-01", "1960-01-01", None]),
        "CNSR": [True, False, True],
    })


def test_shape_orders_types_and_creates_missing() -> None:
    shaped, findings = shape_to_spec(_frame(), _dataset())
    assert list(shaped.columns) == ["STUDYID", "USUBJID", "PARAMCD", "AVAL", "STARTDT", "CNSR", "EVNTDESC"]
    assert str(shaped["USUBJID"].dtype) == "str" and shaped["AVAL"].dtype == np.float64
    assert np.array_equal(shaped["AVAL"].to_numpy(), [120.0, np.nan, 33.0], equal_nan=True)
    # SAS date = days since 1960-01-01: 2021-06-01 -> 61*365 + 16 leap days + 151 = 22432
    assert np.array_equal(shaped["STARTDT"].to_numpy(), [22432.0, 0.0, np.nan], equal_nan=True)
    assert list(shaped["CNSR"]) == [1.0, 0.0, 1.0]
    assert list(shaped["EVNTDESC"]) == ["", "", ""]          # Perm absent -> created empty, no finding
    assert findings == []


def test_missing_required_and_extra_columns_are_findings() -> None:
    df = _frame().drop(columns=["STUDYID", "CNSR"]).assign(EXTRA=1, LBNRIND="x")
    shaped, findings = shape_to_spec(df, _dataset())
    got = sorted((f.severity, f.rule, f.variable) for f in findings)
    assert got == sorted([
        (Severity.ERROR, "SPEC_REQ_MISSING", "STUDYID"),
        (Severity.NOTICE, "SPEC_EXP_MISSING", "CNSR"),
        (Severity.ERROR, "SPEC_EXTRA_VARIABLE", "EXTRA"),
        (Severity.ERROR, "SPEC_EXTRA_VARIABLE", "LBNRIND"),
    ])
    assert "EXTRA" not in shaped.columns and list(shaped["STUDYID"]) == ["", "", ""]


def test_over_length_and_non_ascii_name_row_and_subject() -> None:
    df = _frame()
    df.loc[1, "PARAMCD"] = "TOOLONGPARAM"       # spec length 8
    df["EVNTDESC"] = ["ok", None, "décès"]
    shaped, findings = shape_to_spec(df, _dataset())
    by_rule = {f.rule: f for f in findings}
    f = by_rule["SPEC_LENGTH_EXCEEDED"]
    assert (f.variable, f.record, f.usubjid, f.value) == ("PARAMCD", "2", "P-002", "TOOLONGPARAM")
    f = by_rule["XPT_NON_ASCII"]
    assert (f.variable, f.record, f.usubjid, f.value) == ("EVNTDESC", "3", "P-003", "décès")
    assert shaped.loc[1, "PARAMCD"] == "TOOLONGPARAM"      # kept, never cut
    assert shaped.loc[1, "EVNTDESC"] == ""


def test_text_in_num_variable() -> None:
    df = _frame().assign(AVAL=["12.5", " 3 ", "n/a"])
    shaped, findings = shape_to_spec(df, _dataset())
    assert np.array_equal(shaped["AVAL"].to_numpy(), [12.5, 3.0, np.nan], equal_nan=True)
    rows = [(f.rule, f.record, f.value) for f in findings if f.record]
    assert rows == [("SPEC_TYPE_MISMATCH", "3", "n/a")]


def test_row_findings_are_capped_with_a_summary() -> None:
    n = 60
    ds = _dataset()
    df = pd.DataFrame({"STUDYID": "S", "USUBJID": [f"P-{i}" for i in range(n)], "PARAMCD": "X" * 9})
    _, findings = shape_to_spec(df, ds)
    over = [f for f in findings if f.rule == "SPEC_LENGTH_EXCEEDED"]
    assert len(over) == 51 and "10 more row(s)" in over[-1].message


def test_write_dataset_xpt_round_trip(tmp_path: Path) -> None:
    df = _frame().assign(EVNTDESC=["PD", "DEATH", ""])
    p = tmp_path / "adtte.xpt"
    info = write_dataset_xpt(df, _dataset(), STUDY, p)
    assert (info.name, info.label, info.records, info.findings) == ("ADTTE", "Time-to-Event Analysis Dataset", 3, ())
    v = {x.name: x for x in info.variables}
    assert (v["PARAMCD"].length, v["USUBJID"].length, v["EVNTDESC"].length) == (8, 5, 5)   # spec, else data max
    assert (v["STARTDT"].type, v["STARTDT"].format, v["STARTDT"].label) == \
        ("Num", "DATE9.", "Time-to-Event Origin Date for Subject")
    r, meta = pyreadstat.read_xport(p)
    assert meta.table_name == "ADTTE" and meta.creation_time == dt.datetime(2025, 1, 15, 9, 30)
    assert r["STARTDT"].iloc[0] == dt.date(2021, 6, 1)
    assert list(r["EVNTDESC"]) == ["PD", "DEATH", ""]
    d, m = read_xpt(p)
    assert m.variables == list(info.variables)


def test_write_refuses_what_cannot_be_written(tmp_path: Path) -> None:
    df = _frame()
    df.loc[2, "PARAMCD"] = "TOOLONGPARAM"
    with pytest.raises(XptError, match=r"ADTTE\.PARAMCD: row 3 \(USUBJID='P-003'\).*exceeds length 8"):
        write_dataset_xpt(df, _dataset(), STUDY, tmp_path / "x.xpt")
    assert list(tmp_path.iterdir()) == []


def test_write_reports_shaping_findings(tmp_path: Path) -> None:
    info = write_dataset_xpt(_frame().assign(JUNK=1.0), _dataset(), STUDY, tmp_path / "x.xpt")
    assert [(f.rule, f.variable) for f in info.findings] == [("SPEC_EXTRA_VARIABLE", "JUNK")]
    assert "JUNK" not in [v.name for v in info.variables]


# ------------------------------------------------ text columns checked once per distinct value

def test_repeated_bad_values_each_row_reported() -> None:
    """Checks run on distinct values but every row holding a bad one is listed, in row order;
    the same for a `str`, a nullable `string` and an object column (one rule, three dtypes)."""
    values = ["ok", "décès", None, "décès", "ok", "LONGERTHAN8"]
    for dtype in ("str", "string", object):
        df = pd.DataFrame({"STUDYID": "S", "USUBJID": [f"P-{i}" for i in range(6)],
                           "PARAMCD": pd.Series(values, dtype=dtype)})
        shaped, findings = shape_to_spec(df, _dataset())
        got = [(f.rule, f.record, f.usubjid, f.value) for f in findings if f.record]
        # é is 2 UTF-8 bytes: "décès" is 7 bytes <= 8, so only the non-ASCII rule fires for it
        assert got == [("XPT_NON_ASCII", "2", "P-1", "décès"), ("XPT_NON_ASCII", "4", "P-3", "décès"),
                       ("SPEC_LENGTH_EXCEEDED", "6", "P-5", "LONGERTHAN8")], dtype
        assert str(shaped["PARAMCD"].dtype) == "str"
        assert list(shaped["PARAMCD"]) == ["ok", "décès", "", "décès", "ok", "LONGERTHAN8"]


def test_object_column_with_non_text_still_reported() -> None:
    df = _frame().assign(EVNTDESC=pd.Series(["PD", 7, None], dtype=object))
    shaped, findings = shape_to_spec(df, _dataset())
    assert [(f.rule, f.record, f.value) for f in findings] == [("SPEC_TYPE_MISMATCH", "2", "7")]
    assert list(shaped["EVNTDESC"]) == ["PD", "7", ""]


def test_default_length_is_longest_value_missing_ignored(tmp_path: Path) -> None:
    df = _frame().assign(EVNTDESC=pd.Series([None, "DEATH", "PD"], dtype="str"),
                         USUBJID=pd.Series(["P-1", "P-0002", "P-3"], dtype=object))
    info = write_dataset_xpt(df, _dataset(), STUDY, tmp_path / "x.xpt")
    v = {x.name: x.length for x in info.variables}
    assert (v["EVNTDESC"], v["USUBJID"], v["STUDYID"]) == (5, 6, 14)
    d, _ = read_xpt(tmp_path / "x.xpt")
    # written sorted by the keys (USUBJID, PARAMCD): "P-0002" < "P-1" < "P-3" as text
    assert list(d["EVNTDESC"]) == ["DEATH", "", "PD"] and list(d["USUBJID"]) == ["P-0002", "P-1", "P-3"]


def test_unhashable_values_in_char_variable_are_findings() -> None:
    df = _frame().assign(EVNTDESC=pd.Series([["a"], "PD", None], dtype=object))
    shaped, findings = shape_to_spec(df, _dataset())
    assert [(f.rule, f.record, f.value) for f in findings] == [("SPEC_TYPE_MISMATCH", "1", "['a']")]
    assert list(shaped["EVNTDESC"]) == ["['a']", "PD", ""]


def test_written_rows_are_sorted_by_the_keys_numbers_as_numbers(tmp_path: Path) -> None:
    # keys USUBJID, PARAMCD (FDA TCG: sorted by the define.xml keys); missing first; a text key whose values are
    # all numbers (as SUPP-- IDVARVAL) sorts numerically: "2" < "9" < "10"
    from studyforge.dataset_writer import sort_by_keys

    df = pd.DataFrame({"USUBJID": ["B", "A", "A", "A"], "PARAMCD": ["OS", "PFS", "OS", ""]})
    got = sort_by_keys(df, _dataset())
    assert list(zip(got["USUBJID"], got["PARAMCD"])) == [("A", ""), ("A", "OS"), ("A", "PFS"), ("B", "OS")]
    assert sort_by_keys(got, _dataset()) is got  # already sorted: untouched
    nums = pd.DataFrame({"USUBJID": ["A", "A", "A", "A"], "PARAMCD": ["9", "10", "2", ""]})
    assert list(sort_by_keys(nums, _dataset())["PARAMCD"]) == ["", "2", "9", "10"]
