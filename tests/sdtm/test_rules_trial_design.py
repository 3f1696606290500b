"""SE (rule `subject_elements`): each element starts where the spec says; SEENDTC is the next element's
SESTDTC, the last ends at DM.RFPENDTC (SDTMIG 3.4 SE, contiguous elements). TS (rule `trial_summary`):
SSTDTC = earliest complete DM.RFICDTC, ACTSUB = subjects dosed. Values derived by hand below."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from sdtm.rules import load_all, rule
from tests.sdtm.rulekit import raw_form, refs

DM = pd.DataFrame({"USUBJID": ["PALACE-S1", "PALACE-S2", "PALACE-S3"],
                   "RFICDTC": ["2021-03-01", "2021-03-02", "2021-03-03"],
                   "RFXSTDTC": ["2021-03-08T09:00", "", "2021-03-10T10:00"],
                   "RFPENDTC": ["2021-12-01", "2021-03-20", "2021-09-01"],
                   "ACTARMCD": ["LAN120", "", "LAN120"]})
SELFINJ = pd.DataFrame({"SUBJID": ["S1", "S2"], "SISTDAT": ["01 JUN 2021", "01 APR 2021"]})
DS = pd.DataFrame({"SUBJID": ["S1", "S3", "S1"], "DSSCAT": ["END OF TREATMENT", "END OF TREATMENT", "END OF STUDY"],
                   "DSSTDAT": ["01 OCT 2021", "01 SEP 2021", "01 DEC 2021"]})
FU = {"etcd": "FU", "start": {"form": "ds", "date": "DSSTDAT", "agg": "max", "where_field": "DSSCAT",
                              "where_in": ["END OF TREATMENT"]}, "requires": ["HCPINJ"], "after": "HCPINJ",
      "before_end": True}
ELEMENTS = [{"etcd": "SCRN", "start": {"dm": "RFICDTC", "date_only": True}},
            {"etcd": "HCPINJ", "start": {"dm": "RFXSTDTC"}},
            {"etcd": "SELFINJ", "start": {"form": "selfinj", "date": "SISTDAT"}, "requires": ["HCPINJ"]}, FU]


def _se(spec, elements):
    load_all()
    r = refs(spec, "SE", datasets={"DM": DM}, raw={"selfinj": raw_form("selfinj", SELFINJ), "ds": raw_form("ds", DS)})
    b = rule("subject_elements")
    frame, notes = b.fn(b.parse({"elements": elements}), r)
    return [tuple(x) for x in frame[["USUBJID", "ETCD", "SESTDTC", "SEENDTC", "EPOCH"]].itertuples(index=False)]


def test_elements_start_where_the_spec_says(sdtm_spec):
    assert _se(sdtm_spec, ELEMENTS) == [
        # S1: consent, first dose (with time), cohort entry 01 JUN, end of treatment 01 OCT, end 01 DEC
        ("PALACE-S1", "SCRN", "2021-03-01", "2021-03-08T09:00", "SCREENING"),
        ("PALACE-S1", "HCPINJ", "2021-03-08T09:00", "2021-06-01", "TREATMENT"),
        ("PALACE-S1", "SELFINJ", "2021-06-01", "2021-10-01", "TREATMENT"),
        ("PALACE-S1", "FU", "2021-10-01", "2021-12-01", "FOLLOW-UP"),
        # S2 never dosed: SELFINJ requires HCPINJ, so only screening (to the end of participation)
        ("PALACE-S2", "SCRN", "2021-03-02", "2021-03-20", "SCREENING"),
        # S3: end of treatment on the end-of-participation date: no follow-up element (before_end)
        ("PALACE-S3", "SCRN", "2021-03-03", "2021-03-10T10:00", "SCREENING"),
        ("PALACE-S3", "HCPINJ", "2021-03-10T10:00", "2021-09-01", "TREATMENT"),
    ]


def test_each_element_option_has_an_effect(sdtm_spec):
    no_requires = [*ELEMENTS[:2], {**ELEMENTS[2], "requires": []}, FU]
    assert ("PALACE-S2", "SELFINJ", "2021-04-01", "2021-03-20", "TREATMENT") in _se(sdtm_spec, no_requires)
    no_before_end = [*ELEMENTS[:3], {**FU, "before_end": False}]
    assert ("PALACE-S3", "FU", "2021-09-01", "2021-09-01", "FOLLOW-UP") in _se(sdtm_spec, no_before_end)
    not_date_only = [{**ELEMENTS[0], "start": {"dm": "RFXSTDTC"}}, *ELEMENTS[1:]]
    assert not any(e[1] == "SCRN" for e in _se(sdtm_spec, not_date_only) if e[0] == "PALACE-S2")


@pytest.mark.parametrize("bad", [
    [{"etcd": "SCRN", "start": {"dm": "RFICDTC", "form": "ic", "date": "DSSTDAT"}}],  # two sources
    [{"etcd": "SCRN", "start": {"form": "ic"}}],                                     # form without date
    [{"etcd": "SCRN", "start": {"dm": "RFICDTC"}, "after_end": True}],               # unknown option
    [],                                                                               # no element
])
def test_bad_elements_are_errors(sdtm_spec, bad):
    with pytest.raises(ValidationError):
        _se(sdtm_spec, bad)


def _ts(spec, params, dm=DM):
    load_all()
    b = rule("trial_summary")
    frame, notes = b.fn(b.parse(params), refs(spec, "TS", datasets={"DM": dm}))
    return dict(zip(frame["TSPARMCD"], frame["TSVAL"])), notes


def test_ts_sstdtc_and_actsub_from_dm(sdtm_spec):
    rows = [{"TSPARMCD": "ACTSUB", "TSPARM": "Actual Number of Subjects", "TSVAL": "0"}]
    # earliest consent 2021-03-01; two of three subjects have ACTARMCD (dosed)
    got, notes = _ts(sdtm_spec, {"rows": rows})
    assert got == {"ACTSUB": "2", "SSTDTC": "2021-03-01"} and notes == []
    got, _ = _ts(sdtm_spec, {"rows": rows, "actsub_from": None})
    assert got["ACTSUB"] == "0"  # written as the spec gives it
    got, _ = _ts(sdtm_spec, {"rows": rows, "sstdtc_from": "DM.RFXSTDTC"})
    assert got["SSTDTC"] == "2021-03-08"


def test_ts_without_a_start_date_is_an_error(sdtm_spec):
    got, notes = _ts(sdtm_spec, {"rows": []}, dm=DM.assign(RFICDTC=["2021", "", "2021-03"]))
    assert got == {"SSTDTC": ""} and [f.rule for f in notes] == ["SD1201"]
