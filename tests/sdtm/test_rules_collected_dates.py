"""ISO 8601 --DTC (rule `iso8601`) in the formats the study declares (format: declared): study.yaml raw:
date_format per form and field; partial dates stay partial; one finding per distinct unparseable value."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from studyforge.spec.raw import RawSpec
from tests.sdtm.rulekit import derive, raw_form, refs, rows


def _dtc(spec, dates, times=None, raw_settings=None):
    spec = spec.model_copy(deep=True)
    spec.study.raw = RawSpec.model_validate(raw_settings or {"date_format": ["MM/DD/YYYY"],
                                                             "forms": {"vs": {"date_format": ["DD.MM.YYYY"]}}})
    cols = {"VSDAT": dates, **({"VSTIM": times} if times else {})}
    frame = rows(len(dates), form="vs", **cols)
    params = {"date": "VSDAT", "format": "declared", **({"time": "VSTIM"} if times else {})}
    r = refs(spec, "AE", raw={"vs": raw_form("vs", pd.DataFrame(cols))}, variable="AESTDTC")
    return derive("iso8601", params, frame, r)


def test_the_forms_declared_format(sdtm_spec):
    # vs declares DD.MM.YYYY: 24.05.2021 -> 2021-05-24; UN.05.2021 keeps the month only -> 2021-05
    out, notes = _dtc(sdtm_spec, ["24.05.2021", "UN.05.2021", ""])
    assert out.tolist() == ["2021-05-24", "2021-05", ""] and notes == []


def test_time_joined_to_a_complete_date(sdtm_spec):
    out, notes = _dtc(sdtm_spec, ["24.05.2021", "25.05.2021", "26.05.2021"], times=["09:30", "", "14:05"])
    assert out.tolist() == ["2021-05-24T09:30", "2021-05-25", "2021-05-26T14:05"] and notes == []


def test_one_finding_per_distinct_unparseable_value(sdtm_spec):
    # 05/24/2021 is the study default (MM/DD/YYYY), not the vs form's DD.MM.YYYY: twice, one finding
    out, notes = _dtc(sdtm_spec, ["05/24/2021", "24.05.2021", "05/24/2021"])
    assert out.tolist() == ["", "2021-05-24", ""]
    assert [(f.rule, f.value, f.line, f.variable) for f in notes] == [("SD0301", "05/24/2021", 2, "AESTDTC")]
    assert "2 record(s)" in notes[0].message and "DD.MM.YYYY" in notes[0].message


def test_bad_format_param_is_an_error(sdtm_spec):
    with pytest.raises(ValidationError):
        derive("iso8601", {"date": "VSDAT", "format": "guess"}, rows(1), refs(sdtm_spec, "AE"))
