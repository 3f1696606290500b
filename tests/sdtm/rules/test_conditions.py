"""Rule `when` (sdtm/rules/conditions.py): cases in order, first that holds wins, else otherwise.
Expected values below are worked out by hand from that rule, row by row."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from sdtm.rules.base import method_text, rule
from sdtm.rules.conditions import WhenParams, when

from .helpers import refs, rows


def run(frame, params, vars=None):
    p = WhenParams.model_validate(params)
    return when(frame, p, refs(frame, vars=vars))


SPEC = {"cases": [
    {"if": {"field": "STAT", "equals": "NOT DONE"}, "then": {"value": "NOT DONE"}},
    {"if": {"all": [{"var": "VSTESTCD", "in": ["SYSBP", "DIABP"]}, {"field": "RES", "missing": False}]},
     "then": {"value": "BP"}},
    {"if": {"field": "RES", "missing": True}, "then": {"value": "MISSING"}}],
    "otherwise": {"field": "RES"}}


def test_first_matching_case_wins_else_otherwise():
    f = rows(STAT=["", " not  done", ""], RES=["120", "", "36.6"])
    out, notes = run(f, SPEC, vars={"VSTESTCD": ["SYSBP", "SYSBP", "TEMP"]})
    # row 1: case 1 no (STAT empty); case 2: SYSBP in list and RES '120' present -> 'BP'
    # row 2: ' not  done' trimmed, blanks collapsed, upper -> 'NOT DONE': case 1 -> 'NOT DONE'
    #        (case 3 also holds, RES is empty, but the first case wins)
    # row 3: TEMP not in (SYSBP, DIABP), RES present -> no case -> otherwise raw RES '36.6'
    assert out.tolist() == ["BP", "NOT DONE", "36.6"]
    # case 3 holds only on row 2, which case 1 already decided: it decides nothing -> one NOTICE
    assert [(n.rule, n.severity.value) for n in notes] == [("SD1002", "NOTICE")]
    assert "case 3" in notes[0].message


def test_contains_any_not_and_exact():
    f = rows(LOC=["Left Arm", "RIGHT LEG", ""], POS=["SITTING", "", "STANDING"])
    out, _ = run(f, {"cases": [
        {"if": {"field": "LOC", "equals": "Left Arm", "exact": True}, "then": {"value": "exact"}},
        {"if": {"any": [{"field": "LOC", "contains": "leg"}, {"field": "POS", "equals": "supine"}]},
         "then": {"value": "leg-or-supine"}},
        {"if": {"not": {"field": "LOC", "missing": False}}, "then": {"field": "POS"}}]})
    # row 1: exact 'Left Arm' == 'Left Arm' -> 'exact'
    # row 2: 'RIGHT LEG' contains 'LEG' (contains compares upper case) -> 'leg-or-supine'
    # row 3: LOC empty: not (LOC not missing) holds -> raw POS 'STANDING'
    assert out.tolist() == ["exact", "leg-or-supine", "STANDING"]
    # exact: the same text in another case no longer matches
    out2, _ = run(f, {"cases": [{"if": {"field": "LOC", "equals": "LEFT ARM", "exact": True},
                                 "then": {"value": "x"}}], "otherwise": {"value": "-"}})
    assert out2.tolist() == ["-", "-", "-"]


def test_numeric_variable_compares_as_written():
    f = rows(A=["", "", ""])
    out, _ = run(f, {"cases": [{"if": {"var": "VISITNUM", "in": ["1", "2.5"]}, "then": {"var": "VISIT"}}],
                     "otherwise": {"value": "OTHER"}},
                 vars={"VISITNUM": [1.0, 2.5, float("nan")], "VISIT": ["SCREENING", "CYCLE 2", ""]})
    # 1.0 reads as '1', 2.5 as '2.5', NaN as '' (in no list) -> otherwise
    assert out.tolist() == ["SCREENING", "CYCLE 2", "OTHER"]


@pytest.mark.parametrize("bad", [
    {"cases": []},                                                                         # no case
    {"cases": [{"if": {"field": "A", "var": "B", "equals": "x"}, "then": {"value": "1"}}]},  # field and var
    {"cases": [{"if": {"field": "A", "equals": "x", "in": ["y"]}, "then": {"value": "1"}}]},  # two tests
    {"cases": [{"if": {"field": "A"}, "then": {"value": "1"}}]},                            # no test
    {"cases": [{"if": {"all": []}, "then": {"value": "1"}}]},                               # empty all
    {"cases": [{"if": {"all": [{"field": "A", "missing": True}], "field": "B"}, "then": {"value": "1"}}]},
    {"cases": [{"if": {"field": "A", "missing": True}, "then": {"value": "1", "field": "B"}}]},  # two sources
    {"cases": [{"if": {"field": "A", "missing": True}, "then": {"value": "1"}}], "default": "x"},  # unknown key
    {"cases": [{"if": {"field": "A", "eq": "x"}, "then": {"value": "1"}}]},                 # unknown operator
])
def test_bad_params_are_spec_errors(bad):
    with pytest.raises(ValidationError):
        WhenParams.model_validate(bad)


def test_registration_reads_fields_and_method_text():
    r = rule("when")
    p = r.parse(SPEC)
    assert set(r.reads(p)) == {"VSTESTCD"}
    assert set(r.fields(p)) == {"STAT", "RES"}
    assert method_text(r.method, p) == (
        "If raw STAT = 'NOT DONE' then 'NOT DONE'; else if (VSTESTCD in ('SYSBP', 'DIABP') and raw RES is not "
        "missing) then 'BP'; else if raw RES is missing then 'MISSING'; otherwise raw RES (first matching case wins).")
    assert r.row_wise


def test_empty_frame():
    f = rows(STAT=[], RES=[])
    out, _ = run(f, SPEC, vars={"VSTESTCD": []})
    assert isinstance(out, pd.Series) and len(out) == 0
