"""VISITNUM / VISIT (rule `visit`): planned visits from the TV schedule; unscheduled visits, recognized
by the spec's prefix and dated by the spec's visit-date form, numbered as SDTMIG 3.4 suggests: the
previous scheduled VISITNUM + .01, .02 ... in date order. PALACE TV: SCREENING 1, DAY 1 2, WEEK 4 3."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from sdtm.rules.base import SUBJECT_ID, VISIT
from tests.sdtm.rulekit import derive, raw_form, refs, rows

SV = pd.DataFrame({"SUBJID": ["001"] * 5,
                   "FOLDER": ["SCREENING", "DAY 1", "UNPLANNED 1", "WEEK 4", "UNPLANNED 2"],
                   "RECORDPOSITION": ["1"] * 5,
                   "VISDAT": ["01 MAR 2021", "08 MAR 2021", "20 MAR 2021", "05 APR 2021", "10 APR 2021"]})
UNS = {"prefix": "UNPLANNED", "form": "visits", "date": "VISDAT"}


def _visit(spec, params, visits):
    n = len(visits)
    frame = rows(n, **{VISIT: visits, SUBJECT_ID: ["PALACE-001"] * n})
    r = refs(spec, "LB", pd.DataFrame({"USUBJID": ["PALACE-001"] * n}), raw={"visits": raw_form("visits", SV)},
             variable="VISITNUM")
    return derive("visit", params, frame, r)


def test_scheduled_visits_from_tv(sdtm_spec):
    out, notes = _visit(sdtm_spec, {"output": "visitnum"}, ["SCREENING", "week 4", "DAY 1"])
    assert out.tolist() == [1.0, 3.0, 2.0] and notes == []
    out, _ = _visit(sdtm_spec, {"output": "visit"}, ["SCREENING", "week 4", "DAY 1"])
    assert out.tolist() == ["SCREENING", "WEEK 4", "DAY 1"]


def test_unscheduled_after_the_previous_scheduled_visit(sdtm_spec):
    # UNPLANNED 1 (20 MAR) follows DAY 1 (2): 2.01; UNPLANNED 2 (10 APR) follows WEEK 4 (3): 3.01
    out, notes = _visit(sdtm_spec, {"output": "visitnum", "unscheduled": UNS}, ["UNPLANNED 1", "UNPLANNED 2", "DAY 1"])
    assert out.tolist() == [2.01, 3.01, 2.0] and notes == []
    label, _ = _visit(sdtm_spec, {"output": "visit", "unscheduled": {**UNS, "label": "Unscheduled"}},
                      ["UNPLANNED 1", "UNPLANNED 2", "DAY 1"])
    assert label.tolist() == ["UNSCHEDULED 2.01", "UNSCHEDULED 3.01", "DAY 1"]


def test_without_the_unscheduled_source_an_unplanned_visit_is_an_error(sdtm_spec):
    out, notes = _visit(sdtm_spec, {"output": "visitnum"}, ["UNPLANNED 1", "DAY 1", "DAY 1"])
    assert np.isnan(out[0]) and out[1:].tolist() == [2.0, 2.0]
    assert [(f.rule, f.line, f.value) for f in notes] == [("SD0501", 2, "UNPLANNED 1")]


def test_unscheduled_visit_missing_from_the_date_form_is_a_warning(sdtm_spec):
    out, notes = _visit(sdtm_spec, {"output": "visitnum", "unscheduled": UNS}, ["UNPLANNED 9", "DAY 1", "DAY 1"])
    assert np.isnan(out[0])
    assert [(f.rule, f.severity.value, f.value) for f in notes] == [("SD0502", "WARNING", "UNPLANNED 9")]


@pytest.mark.parametrize("bad", [
    {"output": "number"},
    {"output": "visitnum", "unscheduled": {"prefix": "", "form": "sv", "date": "VISDAT"}},
    {"output": "visitnum", "unscheduled": {"prefix": "UNS", "form": "sv"}},
    {"output": "visitnum", "dtc": "LBDTC"},       # no longer a parameter: it had no effect
])
def test_bad_params_are_errors(sdtm_spec, bad):
    with pytest.raises(ValidationError):
        _visit(sdtm_spec, bad, ["DAY 1"])
