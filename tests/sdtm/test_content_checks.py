"""The SDTM content checks (studyforge/conform/checks_content.py): for each class a hand-built failing case
and a passing one, with the expected locations derived by hand from the rule cited."""

from __future__ import annotations

import numpy as np
import pandas as pd

from studyforge.conform.checks_content import (
    ig_expected_present,
    indicator_test_codes,
    qrs_ct_responses,
    qrs_orres_text,
    stresn_is_stresc,
    study_day_pairs,
)
from studyforge.conform.package import DatasetView, PackageView

U = "STUDY-001"


def _view(**frames: pd.DataFrame) -> PackageView:
    return PackageView(datasets={n: DatasetView(n, "SDTM", f.reset_index(drop=True)) for n, f in frames.items()})


def _where(found):
    return [(f.dataset, f.variable, f.record, f.value) for f in found]


# --- SF-VL-0101: --STRESN is --STRESC as a number (SDTMIG 3.4 4.5.1) ------------------------------

def _lb(stresc: list[str], stresn: list[float]) -> pd.DataFrame:
    n = len(stresc)
    return pd.DataFrame({"STUDYID": "S", "DOMAIN": "LB", "USUBJID": U, "LBSEQ": np.arange(1.0, n + 1),
                         "LBTESTCD": "GLUC", "LBSTRESC": stresc, "LBSTRESN": stresn})


def test_stresn_that_is_not_the_rounded_stresc_is_an_error():
    # 0.92 mg/dL bilirubin x 17.104 = 15.73568 umol/L; LBSTRESC rounded to "15.7357": LBSTRESN 15.73568 differs
    found = stresn_is_stresc(_view(LB=_lb(["15.7357", "<0.5", "NEGATIVE"], [15.73568, 0.5, np.nan])))
    # row 2: "<0.5" has a comparator, so LBSTRESN must be null (SDTMIG 3.4 4.5.1), not 0.5
    assert _where(found) == [("LB", "LBSTRESN", "row 1, LBSEQ=1", "15.73568"), ("LB", "LBSTRESN", "row 2, LBSEQ=2", "0.5")]


def test_stresn_equal_to_stresc_passes_in_any_findings_domain():
    vs = pd.DataFrame({"STUDYID": "S", "DOMAIN": "VS", "USUBJID": U, "VSSEQ": [1.0, 2.0], "VSTESTCD": "TEMP",
                       "VSSTRESC": ["37.2", ""], "VSSTRESN": [37.2, np.nan]})
    assert stresn_is_stresc(_view(LB=_lb(["15.7357", "<0.5", "7"], [15.7357, np.nan, 7.0]), VS=vs)) == []


# --- SF-CT-0101 / SF-VL-0102: QRS responses (CDISC QRS supplements) --------------------------------

ECOG0 = "Fully active, able to carry on all pre-disease performance without restriction"


def _rs(orres: list[str], stresc: list[str]) -> pd.DataFrame:
    n = len(orres)
    return pd.DataFrame({"STUDYID": "S", "DOMAIN": "RS", "USUBJID": U, "RSSEQ": np.arange(1.0, n + 1),
                         "RSTESTCD": "ECOG101", "RSCAT": "ECOG", "RSORRES": orres, "RSSTRESC": stresc,
                         "RSSTRESN": pd.to_numeric(pd.Series(stresc), errors="coerce").to_numpy()})


def test_ecog_code_in_rsorres_is_not_a_term_of_ecog101or():
    # SDTM CT ECOG101OR (C179943) holds the grade texts; "0" belongs to ECOG101STR (C179944), not to RSORRES
    found = qrs_ct_responses(_view(RS=_rs(["0", ECOG0], ["0", "Fully active"])))
    assert _where(found) == [("RS", "RSORRES", "row 1, RSSEQ=1", "0"), ("RS", "RSSTRESC", "row 2, RSSEQ=2", "Fully active")]


def test_ecog_text_in_rsorres_and_grade_in_rsstresc_pass():
    assert qrs_ct_responses(_view(RS=_rs([ECOG0, ECOG0], ["0", "0"]))) == []


def _qs(orres: list[str], stresc: list[str]) -> pd.DataFrame:
    n = len(orres)
    return pd.DataFrame({"STUDYID": "S", "DOMAIN": "QS", "USUBJID": U, "QSSEQ": np.arange(1.0, n + 1),
                         "QSTESTCD": ["EOR0101", "EOR0102", "EOR0129"][:n], "QSCAT": "EORTC QLQ-C30 V3.0",
                         "QSORRES": orres, "QSSTRESC": stresc, "QSSTRESN": [float(x) for x in stresc]})


def test_questionnaire_whose_orres_is_always_the_score_is_flagged_once():
    # every QSORRES equals QSSTRESC and is a number: the codes were copied (QRS: QSORRES "Quite a bit", QSSTRESC "3")
    found = qrs_orres_text(_view(QS=_qs(["3", "1", "5"], ["3", "1", "5"])))
    assert _where(found) == [("QS", "QSORRES", "row 1, QSSEQ=1", "EORTC QLQ-C30 V3.0")]


def test_questionnaire_with_response_text_passes():
    # items 1-2 as text; item 29 (a 1-7 numeric scale labelled only at its ends) as its number
    assert qrs_orres_text(_view(QS=_qs(["Quite a bit", "Not at all", "5"], ["3", "1", "5"]))) == []


# --- SF-CT-0102: the yes/no question goes to the CT indicator test ---------------------------------

def _rs_new(testcd: str, results: list[str]) -> pd.DataFrame:
    n = len(results)
    return pd.DataFrame({"STUDYID": "S", "DOMAIN": "RS", "USUBJID": U, "RSSEQ": np.arange(1.0, n + 1),
                         "RSTESTCD": testcd, "RSCAT": "RECIST 1.1", "RSORRES": results, "RSSTRESC": results})


def test_new_lesions_y_n_under_newlprog_is_an_error():
    # CT ONCRTSCD: NEWLIND (C142362) "whether new lesions are present"; NEWLPROG (C103420) is about equivocality
    found = indicator_test_codes(_view(RS=_rs_new("NEWLPROG", ["N", "Y", ""])))
    assert [(d, v, r, val) for d, v, r, val in _where(found)] == [("RS", "RSTESTCD", "row 1, RSSEQ=1", "NEWLPROG"),
                                                                    ("RS", "RSTESTCD", "row 2, RSSEQ=2", "NEWLPROG")]


def test_newlind_y_n_and_newlprog_unequivocal_pass():
    rs = pd.concat([_rs_new("NEWLIND", ["N", "Y"]), _rs_new("NEWLPROG", ["UNEQUIVOCAL"])], ignore_index=True)
    rs["RSSEQ"] = [1.0, 2.0, 3.0]
    assert indicator_test_codes(_view(RS=rs)) == []


# --- SF-DT-0101: study-day variables beside their dates (SDTMIG 3.4 4.4.4) ------------------------

def test_mhdy_without_mhdtc_is_an_error_naming_mhstdy():
    mh = pd.DataFrame({"STUDYID": "S", "DOMAIN": "MH", "USUBJID": U, "MHSEQ": [1.0], "MHTERM": "GEP-NET",
                       "MHSTDTC": ["2020-01-01"], "MHDY": [-400.0]})
    found = study_day_pairs(_view(MH=mh))
    assert [(f.dataset, f.variable) for f in found] == [("MH", "MHDY")]
    assert "MHSTDTC" in found[0].message and "MHSTDY" in found[0].message


def test_stdy_endy_and_dy_with_their_dates_pass():
    mh = pd.DataFrame({"STUDYID": "S", "DOMAIN": "MH", "USUBJID": U, "MHSEQ": [1.0], "MHTERM": "GEP-NET",
                       "MHDTC": ["2021-03-01"], "MHSTDTC": ["2020-01-01"], "MHDY": [-7.0], "MHSTDY": [-432.0]})
    ae = pd.DataFrame({"STUDYID": "S", "DOMAIN": "AE", "USUBJID": U, "AESEQ": [1.0], "AESTDTC": ["2021-03-10"],
                       "AEENDTC": [""], "AESTDY": [3.0], "AEENDY": [np.nan]})
    assert study_day_pairs(_view(MH=mh, AE=ae)) == []


# --- SF-SD-0101: SDTMIG Expected variables present (SDTMIG 3.4 4.1.5) ------------------------------

def test_missing_expected_variables_are_listed_from_the_ig():
    # SDTMIG 3.4 TV: ARMCD is Exp; TA: TABRANCH is Exp (both null in a single-arm study without branches)
    tv = pd.DataFrame({"STUDYID": "S", "DOMAIN": "TV", "VISITNUM": [1.0], "VISIT": ["SCREENING"]})
    found = ig_expected_present(_view(TV=tv))
    assert [(f.dataset, f.variable) for f in found] == [("TV", "ARMCD")]


def test_expected_variables_present_even_empty_pass():
    tv = pd.DataFrame({"STUDYID": "S", "DOMAIN": "TV", "VISITNUM": [1.0], "VISIT": ["SCREENING"], "ARMCD": [""]})
    assert ig_expected_present(_view(TV=tv)) == []
