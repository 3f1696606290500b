"""Builder `wide_findings` (sdtm/rules/findings_wide.py): one record per (raw record x declared test),
each test with its own qualifiers; raw file/line kept; no raw column dropped. Worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from sdtm.readers import RawForm
from sdtm.rules.base import Unmapped, rule
from sdtm.rules.findings_wide import WideFindingsParams, wide_findings

from .helpers import refs

PARAMS = {
    "form": "vitals", "topic": "VSTESTCD", "result": "VSORRES", "status": ["VSSTAT"],
    "tests": [
        {"testcd": "SYSBP", "result": "SBP",
         "set": {"VSORRESU": {"value": "mmHg"}, "VSPOS": {"field": "BPPOS"}, "VSLOC": {"value": "ARM"},
                 "VSSTAT": {"field": "BPND"}, "VSREASND": {"field": "BPREAS"}}},
        {"testcd": "TEMP", "result": "TMP",
         "set": {"VSORRESU": {"field": "TMPU"}, "VSLOC": {"field": "TMPLOC"}}}],
    "common": {"VSTPT": {"field": "TPT"}},
}


def raw_form():
    f = pd.DataFrame({"PATNUM": ["101", "101", "102"], "VISDT": ["03/05/2024", "03/05/2024", "03/06/2024"],
                      "SBP": ["120", "", ""], "BPPOS": ["SITTING", "", ""], "BPND": ["", "NOT DONE", ""],
                      "BPREAS": ["", "cuff broken", ""], "TMP": ["36,6", "", ""], "TMPU": ["C", "", ""],
                      "TMPLOC": ["ORAL", "", ""], "TPT": ["PRE-DOSE", "POST-DOSE", "PRE-DOSE"],
                      "COMMENT": ["ok", "", "no vitals"]}, dtype=str)
    return RawForm("vitals", f, "raw/vitals.csv", np.array([2, 3, 5]))


def build(params=PARAMS, form=None):
    form = form or raw_form()
    dummy = pd.DataFrame(index=range(0))
    r = refs(dummy, raw={"vitals": form})
    return wide_findings(WideFindingsParams.model_validate(params), r)


def test_one_record_per_raw_record_and_test_with_own_qualifiers():
    out, notes = build()
    # line 2: SYSBP 120 and TEMP 36,6 both present -> 2 records (test order)
    # line 3: SYSBP empty but VSSTAT 'NOT DONE' (a status column) -> 1 record; TEMP empty -> none
    # line 5: nothing for either test -> no record; reported as unmapped with its raw line
    cols = ["__line", "VSTESTCD", "VSORRES", "VSORRESU", "VSPOS", "VSLOC", "VSSTAT", "VSREASND", "VSTPT", "__field"]
    assert out[cols].values.tolist() == [
        [2, "SYSBP", "120", "mmHg", "SITTING", "ARM", "", "", "PRE-DOSE", "SBP"],
        [2, "TEMP", "36,6", "C", "", "ORAL", "", "", "PRE-DOSE", "TMP"],
        [3, "SYSBP", "", "mmHg", "", "ARM", "NOT DONE", "cuff broken", "POST-DOSE", "SBP"]]
    assert out["__file"].unique().tolist() == ["raw/vitals.csv"]
    unmapped = [n for n in notes if isinstance(n, Unmapped)]
    assert len(unmapped) == 1 and unmapped[0].rows["__line"].tolist() == [5]
    assert not [n for n in notes if not isinstance(n, Unmapped)]


def test_no_raw_column_dropped_silently():
    out, _ = build()
    # every raw column not moved into a declared output is carried unchanged (identity, date, comment, TPT)
    for c in ["PATNUM", "VISDT", "COMMENT", "TPT"]:
        assert c in out.columns
    assert out["COMMENT"].tolist() == ["ok", "ok", ""]
    # result and per-test qualifier fields were moved into VSORRES / VSPOS / ... and are not repeated
    for c in ["SBP", "TMP", "BPPOS", "TMPU"]:
        assert c not in out.columns


def test_without_status_columns_a_not_done_test_makes_no_record():
    out, notes = build({**PARAMS, "status": []})
    # line 3 has no result for either test -> both lines 3 and 5 make nothing
    assert out["__line"].tolist() == [2, 2]
    assert [n.rows["__line"].tolist() for n in notes if isinstance(n, Unmapped)] == [[3, 5]]


def test_missing_fields_and_clashing_outputs_are_errors():
    base = raw_form()
    form = RawForm("vitals", base.frame.drop(columns=["TMPLOC"]).assign(VSTPT="x"), base.path, base.lines)
    out, notes = build(form=form)
    errs = sorted((n.rule, n.field) for n in notes if not isinstance(n, Unmapped))
    # TMPLOC named by the spec but not delivered -> read as empty; VSTPT both a raw field and an output
    assert errs == [("SD1101", "TMPLOC"), ("SD1102", "VSTPT")]
    assert out["VSLOC"].tolist() == ["ARM", "", "ARM"]


def test_absent_form_is_an_error():
    dummy = pd.DataFrame(index=range(0))
    out, notes = wide_findings(WideFindingsParams.model_validate(PARAMS), refs(dummy, raw={}))
    assert out.empty and [n.rule for n in notes] == ["SD0101"]


@pytest.mark.parametrize("bad", [
    {**PARAMS, "tests": []},
    {**PARAMS, "tests": [PARAMS["tests"][0], PARAMS["tests"][0]]},                 # SYSBP twice
    {**PARAMS, "common": {"VSLOC": {"value": "ARM"}}},                            # set twice for a column
    {**PARAMS, "tests": [{"testcd": "X", "result": "R", "set": {"VSPOS": {"var": "VSPOS"}}}]},  # var: in a builder
    {**PARAMS, "keep": ["PATNUM"]},                                               # unknown key
    {k: v for k, v in PARAMS.items() if k != "topic"},
])
def test_bad_params_are_spec_errors(bad):
    with pytest.raises(ValidationError):
        WideFindingsParams.model_validate(bad)


def test_registration():
    r = rule("wide_findings")
    assert r.kind == "dataset"
    assert r.method_text(r.parse(PARAMS)).startswith(
        "One record per record of raw form vitals and test (SYSBP from raw SBP, TEMP from raw TMP)")


def test_records_carry_identity_and_duplicates_follow_the_spec():
    base = raw_form()
    dup = RawForm("vitals", pd.concat([base.frame, base.frame.iloc[[0]]], ignore_index=True), base.path,
                  np.array([2, 3, 5, 6]))
    out, notes = build(form=dup)
    # the study identity composes USUBJID DEMO-101 for PATNUM 101
    assert out["__usubjid"].tolist()[:3] == ["DEMO-101"] * 3
    # line 6 repeats line 2 exactly: dropped (default) with a WARNING naming line 6, and reconciled
    assert out["__line"].tolist() == [2, 2, 3]
    assert [(n.rule, n.line) for n in notes if not isinstance(n, Unmapped)] == [("SD0801", 6)]
    out, notes = build({**PARAMS, "duplicates": "keep"}, form=dup)
    assert out["__line"].tolist() == [2, 2, 3, 6, 6]
    assert [(n.rule, n.line) for n in notes if not isinstance(n, Unmapped)] == [("SD0804", 6)]
