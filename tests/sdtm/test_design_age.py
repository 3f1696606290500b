"""Treated subjects have AGE or a stated reason (SDTMIG 3.4 DM: AGE Expected): rule `age` with the
conservative imputation of a partial birth date ('youngest'), and check SF-VL-0201. Ages derived by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd

from studyforge.findings import Severity
from tests.sdtm.rulekit import derive, refs, rows
from tests.sdtm.test_design_checks import findings

BIRTH = ["15 JUN 1960", "UN MAR 1970", "UNK UNK 1984", "UN JAN 1970"]
REF = ["2021-03-02", "2021-03-10", "2021-10-13", "2021-03-10"]


def _age(spec, partial: str):
    frame = rows(4, "dm", BRTHDAT=BIRTH)
    vars_ = pd.DataFrame({"USUBJID": ["S1", "S2", "S3", "S4"], "RFICDTC": REF})
    return derive("age", {"birth": "BRTHDAT", "ref": "RFICDTC", "partial": partial}, frame,
                  refs(spec, "DM", vars_, variable="AGE"))


def test_youngest_imputes_the_latest_possible_birth_date(sdtm_spec):
    ages, notes = _age(sdtm_spec, "youngest")
    # 1960-06-15 -> 2021-03-02: birthday not reached -> 2021-1960-1 = 60
    # UN MAR 1970 -> latest 1970-03-31; 2021-03-10 is before 31 March -> 2021-1970-1 = 50 (51 if born 1-10 March)
    # UNK UNK 1984 -> latest 1984-12-31; 2021-10-13 -> 2021-1984-1 = 36 (37 if born before 14 October)
    # UN JAN 1970 -> every January birth date gives 51 on 2021-03-10: exact, no imputation reported
    assert list(ages) == [60, 50, 36, 51]
    assert [(n.rule, n.severity, n.line, n.value) for n in notes] == [
        ("SD0702", Severity.NOTICE, 3, "UN MAR 1970"), ("SD0702", Severity.NOTICE, 4, "UNK UNK 1984")]


def test_unambiguous_and_missing_keep_their_meaning(sdtm_spec):
    ages, notes = _age(sdtm_spec, "unambiguous")
    assert list(ages.fillna(-1)) == [60, -1, -1, 51] and {n.rule for n in notes} == {"SD0701"}
    ages, _ = _age(sdtm_spec, "missing")
    assert list(ages.fillna(-1)) == [60, -1, -1, -1]


DM = pd.DataFrame({"STUDYID": "PALACE", "DOMAIN": "DM", "USUBJID": ["S1", "S2", "S3"],
                   "RFXSTDTC": ["2021-03-08", "2021-03-09", ""], "ACTARMCD": ["LAN120", "LAN120", ""],
                   "AGE": [np.nan, np.nan, np.nan]})


def test_check_flags_treated_subject_without_age_or_reason():
    # S1 treated, no AGE, no reason -> finding; S2 treated, reason in SUPPDM (AGEREAS); S3 never treated
    supp = pd.DataFrame({"STUDYID": "PALACE", "RDOMAIN": "DM", "USUBJID": ["S2"], "IDVAR": "", "IDVARVAL": "",
                         "QNAM": ["AGEREAS"], "QLABEL": ["Reason Age Not Collected"], "QVAL": ["NOT ALLOWED BY IRB"]})
    got = findings("SF-VL-0201", DM=DM, SUPPDM=supp)
    assert [(f.usubjid, f.record, f.variable) for f in got] == [("S1", "row 1", "AGE")]


def test_check_passes_when_treated_subjects_have_age():
    assert findings("SF-VL-0201", DM=DM.assign(AGE=[60.0, 50.0, np.nan])) == []


def test_kit_partial_birth_date_gets_the_youngest_age(kit_build):
    # raw kit 101-002: UN MAR 1970, consent 10 MAR 2021 -> 50 (see above); BRTHDTC keeps the partial date
    dm = kit_build[0]["DM"].set_index("SUBJID")
    assert dm.loc["101-002", "AGE"] == 50 and dm.loc["101-002", "AGEU"] == "YEARS"
    assert dm.loc["101-002", "BRTHDTC"] == "1970-03"
