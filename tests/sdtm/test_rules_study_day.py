"""--DY (rule `study_day`) from a declared DM reference date (SDTMIG 3.4 4.4.4: --DY = date - RFSTDTC + 1
on or after the reference, date - RFSTDTC before it; no day 0; complete dates only). Three rows, values
derived by hand; one expected error per bad input (the shape of sdtm.oak's test-derive_study_day.R)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from tests.sdtm.rulekit import derive, refs, rows

DM = pd.DataFrame({"USUBJID": ["S1"], "RFSTDTC": ["2021-03-08"], "RFXSTDTC": ["2021-03-10T09:30"]})


def _dy(spec, params, dtc, usubjid=("S1", "S1", "S1"), dm=DM):
    vars = pd.DataFrame({"USUBJID": list(usubjid), "AESTDTC": dtc})
    return derive("study_day", params, rows(len(dtc)), refs(spec, "AE", vars, {"DM": dm}, variable="AESTDY"))


def test_relative_to_rfstdtc(sdtm_spec):
    # 03-07 is one day before 03-08: -1; 03-08 itself: 0 + 1 = 1; 03-10 (time ignored): 2 + 1 = 3
    out, notes = _dy(sdtm_spec, {"dtc": "AESTDTC"}, ["2021-03-07", "2021-03-08", "2021-03-10T14:00"])
    assert out.tolist() == [-1.0, 1.0, 3.0] and notes == []


def test_relative_to_rfxstdtc(sdtm_spec):
    # reference 2021-03-10 (date part of 2021-03-10T09:30): 03-07 -> -3, 03-08 -> -2, 03-10 -> 0 + 1 = 1
    out, notes = _dy(sdtm_spec, {"dtc": "AESTDTC", "ref": "RFXSTDTC"},
                     ["2021-03-07", "2021-03-08", "2021-03-10T14:00"])
    assert out.tolist() == [-3.0, -2.0, 1.0] and notes == []


def test_partial_dates_and_unknown_subjects_get_no_day(sdtm_spec):
    # a partial date has no day; a subject absent from DM has no reference
    out, _ = _dy(sdtm_spec, {"dtc": "AESTDTC"}, ["2021-03", "", "2021-03-09"], usubjid=("S1", "S1", "S9"))
    assert np.isnan(out).all()


def test_reference_missing_from_dm_is_an_error(sdtm_spec):
    out, notes = _dy(sdtm_spec, {"dtc": "AESTDTC", "ref": "RFXENDTC"}, ["2021-03-07", "2021-03-08", "2021-03-10"])
    assert np.isnan(out).all()
    assert [(f.rule, f.value, f.variable) for f in notes] == [("SD0503", "RFXENDTC", "AESTDY")]


@pytest.mark.parametrize("bad", [
    {},                                          # dtc is required
    {"dtc": "AESTDTC", "ref": "AESTDTC"},        # not a DM reference date (RF...DTC)
    {"dtc": "AESTDTC", "ref": "rfstdtc"},        # names are upper case
    {"dtc": "AESTDTC", "reference": "RFSTDTC"},  # unknown parameter
])
def test_bad_params_are_errors(sdtm_spec, bad):
    with pytest.raises(ValidationError):
        _dy(sdtm_spec, bad, ["2021-03-08"] * 3)
