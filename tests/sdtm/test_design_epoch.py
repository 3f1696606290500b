"""EPOCH for records whose date, partial or not, lies wholly inside one SE element (SDTMIG 3.4 EPOCH and
SE; conservative reading: every date a partial --DTC allows must lie in that one element): rule `epoch`
and check SF-XD-0203. Elements and expected epochs derived by hand below."""

from __future__ import annotations

import pandas as pd

from tests.sdtm.rulekit import derive, refs, rows
from tests.sdtm.test_design_checks import findings

# S1: screening from consent 01 MAR, first dose 08 MAR 09:00, self-injection from 01 JUN (date only),
# follow-up from 01 OCT (date only), end of participation 01 DEC 2021
SE = pd.DataFrame({"STUDYID": "PALACE", "DOMAIN": "SE", "USUBJID": "S1",
                   "ETCD": ["SCRN", "HCPINJ", "SELFINJ", "FU"], "TAETORD": [1.0, 2.0, 3.0, 4.0],
                   "EPOCH": ["SCREENING", "TREATMENT", "TREATMENT", "FOLLOW-UP"],
                   "SESTDTC": ["2021-03-01", "2021-03-08T09:00", "2021-06-01", "2021-10-01"],
                   "SEENDTC": ["2021-03-08T09:00", "2021-06-01", "2021-10-01", "2021-12-01"]})
# AESTDTC -> EPOCH, by hand:
#   2021-04     1..30 Apr inside HCPINJ (08 Mar..01 Jun)                  -> TREATMENT
#   2021-03     1 Mar is SCRN, 31 Mar is HCPINJ                           -> none
#   2021-06     1 Jun ends HCPINJ (date-only boundary), 30 Jun is SELFINJ -> none (two elements, same epoch)
#   2021-07     1..31 Jul inside SELFINJ (01 Jun..01 Oct)                 -> TREATMENT
#   2021-11     1..30 Nov inside FU (01 Oct..01 Dec)                      -> FOLLOW-UP
#   2021        1 Jan..31 Dec: before consent and after the end           -> none
#   2022-01     after the end of participation                           -> none
#   2021-04-15  complete, inside HCPINJ                                   -> TREATMENT
DTC = ["2021-04", "2021-03", "2021-06", "2021-07", "2021-11", "2021", "2022-01", "2021-04-15"]
WANT = ["TREATMENT", "", "", "TREATMENT", "FOLLOW-UP", "", "", "TREATMENT"]


def test_rule_gives_epoch_when_the_partial_date_lies_in_one_element(sdtm_spec):
    vars_ = pd.DataFrame({"USUBJID": ["S1"] * len(DTC), "AESTDTC": DTC})
    got, notes = derive("epoch", {"dtc": "AESTDTC"}, rows(len(DTC), "ae"),
                        refs(sdtm_spec, "AE", vars_, datasets={"SE": SE}, variable="EPOCH"))
    assert list(got) == WANT and notes == []


def _ae(epochs) -> pd.DataFrame:
    return pd.DataFrame({"STUDYID": "PALACE", "DOMAIN": "AE", "USUBJID": "S1", "AESEQ": range(1, len(DTC) + 1),
                         "AESTDTC": DTC, "EPOCH": epochs}).astype({"AESEQ": float})


def test_check_flags_missing_or_wrong_epoch_inside_one_element():
    # row 1 (2021-04) left empty, row 5 (2021-11) called SCREENING; rows 2 and 3 touch two elements: not judged
    epochs = ["", "", "TREATMENT", "TREATMENT", "SCREENING", "", "", "TREATMENT"]
    got = findings("SF-XD-0203", SE=SE, AE=_ae(epochs))
    assert [(f.record, f.value) for f in got] == [("row 1, AESEQ=1", ""), ("row 5, AESEQ=5", "SCREENING")]
    assert "should be TREATMENT" in got[0].message and "HCPINJ" in got[0].message


def test_check_passes_on_the_rule_output():
    assert findings("SF-XD-0203", SE=SE, AE=_ae(WANT)) == []
