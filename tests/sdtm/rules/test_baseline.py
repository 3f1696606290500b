"""Rule `last_before_exposure` (sdtm/rules/baseline.py): --LOBXFL, SDTMIG 3.4 "the last non-missing
value prior to RFXSTDTC", per USUBJID and the declared groups. Expected flags worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from sdtm.rules.base import method_text, rule
from sdtm.rules.baseline import LastBeforeExposureParams, last_before_exposure

from .helpers import refs, rows

DM = pd.DataFrame({"USUBJID": ["S-1", "S-2"], "RFXSTDTC": ["2024-03-05T09:00", "2024-03-05"],
                   "RFSTDTC": ["2024-03-01", "2024-03-01"]})


def run(vars, dm=DM, **params):
    f = rows(A=[""] * len(vars["USUBJID"]))
    p = LastBeforeExposureParams.model_validate({"by": ["VSTESTCD"], "dtc": "VSDTC", "result": "VSORRES",
                                                 **params})
    return last_before_exposure(f, p, refs(f, variable="VSLOBXFL", vars=vars, datasets={"DM": dm}))


def test_last_before_first_dose_time_compared_when_both_have_one():
    vars = {"USUBJID": ["S-1"] * 3, "VSTESTCD": ["SYSBP"] * 3,
            "VSDTC": ["2024-03-04", "2024-03-05T08:30", "2024-03-05T09:30"], "VSORRES": ["120", "118", "125"]}
    out, notes = run(vars)
    # RFXSTDTC 2024-03-05T09:00: 03-04 before; 08:30 < 09:00 before and later -> flagged; 09:30 after dose
    assert out.tolist() == ["", "Y", ""]
    assert notes == []


def test_groups_missing_results_and_same_day_policy():
    vars = {"USUBJID": ["S-2"] * 3, "VSTESTCD": ["SYSBP", "SYSBP", "PULSE"],
            "VSDTC": ["2024-03-01", "2024-03-05", "2024-03-05"], "VSORRES": ["120", "", "70"]}
    out, _ = run(vars)
    # S-2 RFXSTDTC 2024-03-05 (no time). SYSBP: the 03-05 record has no result -> the 03-01 record is last.
    # PULSE: its own group; on the reference day without a time -> same_day=include counts it
    assert out.tolist() == ["Y", "", "Y"]
    out, _ = run(vars, same_day="exclude")
    # exclude: the day-1 PULSE record is not a candidate, and PULSE has no other record
    assert out.tolist() == ["Y", "", ""]


def test_reference_variable_is_chosen_per_domain():
    vars = {"USUBJID": ["S-1"] * 3, "VSTESTCD": ["SYSBP"] * 3,
            "VSDTC": ["2024-02-28", "2024-03-02", "2024-03-04"], "VSORRES": ["1", "2", "3"]}
    assert run(vars)[0].tolist() == ["", "", "Y"]                          # RFXSTDTC 03-05
    assert run(vars, reference="RFSTDTC")[0].tolist() == ["Y", "", ""]     # RFSTDTC 03-01 (same_day include)


def test_tie_is_a_warning_naming_both_records():
    vars = {"USUBJID": ["S-1"] * 3, "VSTESTCD": ["SYSBP"] * 3,
            "VSDTC": ["2024-03-05", "2024-03-05T08:00", "2024-03-01"], "VSORRES": ["120", "122", "130"],
            "VSSEQ": [2.0, 1.0, 3.0]}
    out, notes = run(vars, order="VSSEQ")
    # rows 1 and 2 are on 03-05 before 09:00; row 1 has no time: they cannot be ordered -> a tie, which goes
    # to the later by VSSEQ: row 1 (VSSEQ 2 > 1); the WARNING names both records, raw lines 3 and 2
    assert out.tolist() == ["Y", "", ""]
    assert [(n.rule, n.severity.value, n.usubjid, n.line) for n in notes] == [("SD0601", "WARNING", "S-1", 2)]
    assert "vs.csv:3 (VSSEQ=1); vs.csv:2 (VSSEQ=2); flagged vs.csv:2 (VSSEQ=2)" in notes[0].message
    # without an order variable the tie goes to raw order: row 2
    vars_no = {k: v for k, v in vars.items() if k != "VSSEQ"}
    assert run(vars_no)[0].tolist() == ["", "Y", ""]
    # same date and the same time: the later by VSSEQ wins
    vars2 = {**vars, "VSDTC": ["2024-03-05T08:00", "2024-03-05T08:00:00", "2024-03-01"]}
    out, notes = run(vars2, order="VSSEQ")
    # 08:00 = 08:00:00 at the precision both have -> tie -> VSSEQ 2 > 1 -> row 1
    assert out.tolist() == ["Y", "", ""] and len(notes) == 1
    # different times: no tie, the later time wins whatever the order variable says
    vars3 = {**vars, "VSDTC": ["2024-03-05T07:00", "2024-03-05T08:00", "2024-03-01"]}
    out, notes = run(vars3, order="VSSEQ")
    assert out.tolist() == ["", "Y", ""] and notes == []


def test_partial_date_and_missing_reference():
    vars = {"USUBJID": ["S-1", "S-1", "S-9"], "VSTESTCD": ["SYSBP"] * 3,
            "VSDTC": ["2024-03", "2024-03-01", "2024-03-01"], "VSORRES": ["1", "2", "3"]}
    out, notes = run(vars)
    # '2024-03' cannot be placed -> NOTICE with its raw line; S-9 is not in DM -> no reference, no flag
    assert out.tolist() == ["", "Y", ""]
    assert [(n.rule, n.line, n.value) for n in notes] == [("SD0603", 2, "2024-03")]
    out, notes = run(vars, dm=DM.drop(columns="RFXSTDTC"))
    assert out.tolist() == ["", "", ""] and [n.rule for n in notes] == ["SD0602"]


@pytest.mark.parametrize("bad", [
    {"by": [], "dtc": "VSDTC", "result": "VSORRES"},
    {"dtc": "VSDTC", "result": "VSORRES"},
    {"by": ["VSTESTCD"], "result": "VSORRES"},
    {"by": ["VSTESTCD"], "dtc": "VSDTC", "result": "VSORRES", "same_day": "maybe"},
    {"by": ["VSTESTCD"], "dtc": "VSDTC", "result": "VSORRES", "seq": "VSSEQ"},
])
def test_bad_params_are_spec_errors(bad):
    with pytest.raises(ValidationError):
        LastBeforeExposureParams.model_validate(bad)


def test_registration():
    r = rule("last_before_exposure")
    p = r.parse({"by": ["LBTESTCD", "LBSPEC"], "dtc": "LBDTC", "result": "LBORRES", "order": "LBSEQ"})
    assert list(r.reads(p)) == ["USUBJID", "LBDTC", "LBORRES", "LBTESTCD", "LBSPEC", "LBSEQ"]
    assert not r.row_wise
    assert method_text(r.method, p).startswith("Y for the last record with a non-missing LBORRES whose LBDTC is "
                                               "before DM.RFXSTDTC, per USUBJID, LBTESTCD, LBSPEC")


def test_same_time_as_the_reference_follows_same_day():
    vars = {"USUBJID": ["S-1"] * 3, "VSTESTCD": ["SYSBP"] * 3,
            "VSDTC": ["2024-03-04", "2024-03-05T09:00", "2024-03-05T09:00:40"], "VSORRES": ["1", "2", "3"]}
    # RFXSTDTC 2024-03-05T09:00: 09:00 and 09:00:40 equal it at minute precision -> same_day decides;
    # include: both candidates, same date and equal times -> a tie, raw order flags row 3
    out, notes = run(vars)
    assert out.tolist() == ["", "", "Y"] and [n.rule for n in notes] == ["SD0601"]
    # exclude: neither counts -> the 03-04 record
    out, notes = run(vars, same_day="exclude")
    assert out.tolist() == ["Y", "", ""] and notes == []
