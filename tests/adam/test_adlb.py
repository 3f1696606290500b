"""ADLB golden cases on a hand-built LB, each value derived by hand from the rule cited.

Conventions: TRTSDT = 2021-01-10 (study day 1), TRTEDT = 2021-06-01 (day 143). PALACE windows
(ADLB.yaml): BASELINE -60..1 (target 1), WEEK 12 2..127 (target 85), WEEK 24 128..211 (169).
CTCAE v5.0 terms and thresholds as in the ADLB spec (NCI CTCAE v5.0, 27 Nov 2017).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from adam.adlb import AdlbParams, LabTest, derive_adlb
from adam.bds import Windows
from tests.adam.bds_helpers import S, adsl, iso, one, spec_with

UNITS = {"ALT": "U/L", "HGB": "g/L", "CGA": "ug/L", "GLUC": "mmol/L"}
RANGES = {"ALT": (7, 40), "HGB": (115, 150), "CGA": (0, 98.1), "GLUC": (3.9, 6.1)}


def lb(rows: list[tuple]) -> pd.DataFrame:
    """rows: (usubjid, testcd, study day, value[, unit[, (lo, hi)]]); LBSEQ numbered in order."""
    out = []
    for i, r in enumerate(rows, 1):
        u, t, day, val = r[:4]
        unit = r[4] if len(r) > 4 else UNITS[t]
        lo, hi = r[5] if len(r) > 5 else RANGES[t]
        out.append({"STUDYID": "PALACE", "DOMAIN": "LB", "USUBJID": u, "LBSEQ": float(i), "LBTESTCD": t,
                    "LBSTRESN": float(val) if val is not None else np.nan,
                    "LBSTRESC": "" if val is None else f"{val:g}", "LBSTRESU": unit,
                    "LBSTNRLO": lo, "LBSTNRHI": hi, "LBDTC": iso(day) + "T08:00"})
    return pd.DataFrame(out)


@pytest.fixture(scope="module")
def spec():
    return spec_with("ADLB")


@pytest.fixture(scope="module")
def case(spec):
    """A-001: ALT screening, Day 1, two records in the WEEK 12 window equally near target, WEEK 24 after
    TRTEDT + 28; HGB falling into anemia; CgA biomarker. A-002: ALT with an abnormal baseline."""
    rows = [("A-001", "ALT", -9, 30), ("A-001", "ALT", 1, 35), ("A-001", "ALT", 81, 130), ("A-001", "ALT", 89, 41),
            ("A-001", "ALT", 177, 20),
            ("A-001", "HGB", 1, 120), ("A-001", "HGB", 81, 110), ("A-001", "HGB", 89, 95), ("A-001", "HGB", 177, 75),
            ("A-001", "CGA", 1, 200), ("A-001", "CGA", 81, 150),
            ("A-002", "ALT", 1, 60), ("A-002", "ALT", 85, 170), ("A-002", "ALT", 169, 185)]
    out, findings = derive_adlb({"LB": lb(rows)}, adsl("A-001", "A-002"), spec)
    return out, findings


def test_baseline_is_last_value_on_or_before_trtsdt(case):
    out, _ = case
    # ABLFL rule (spec baseline.include_ref_day = true): ALT on day -9 and day 1 -> day 1 (35) is last
    assert one(out, USUBJID="A-001", PARAMCD="ALT", ADY=1.0)["ABLFL"] == "Y"
    assert one(out, USUBJID="A-001", PARAMCD="ALT", ADY=-9.0)["ABLFL"] == ""
    assert set(out.loc[(out.USUBJID == "A-001") & (out.PARAMCD == "ALT"), "BASE"]) == {35.0}


def test_change_and_percent_change(case):
    out, _ = case
    r = one(out, USUBJID="A-001", PARAMCD="ALT", ADY=81.0)
    assert r["CHG"] == 95.0                                   # 130 - 35
    assert math.isclose(r["PCHG"], 95 / 35 * 100)             # (130-35)/35 x 100 = 271.43
    assert math.isnan(one(out, USUBJID="A-001", PARAMCD="ALT", ADY=1.0)["CHG"])   # baseline: no change
    cga = one(out, USUBJID="A-001", PARAMCD="CGA", ADY=81.0)
    assert cga["PCHG"] == -25.0                               # (150-200)/200 x 100
    assert cga["PARCAT1"] == "BIOMARKER"


def test_windows_and_tie_rule(case):
    out, _ = case
    a, b = one(out, USUBJID="A-001", PARAMCD="ALT", ADY=81.0), one(out, USUBJID="A-001", PARAMCD="ALT", ADY=89.0)
    # both in WEEK 12 (2..127), AWTDIFF |81-85| = |89-85| = 4: the tie goes to the later ADT (windows.tie = later)
    assert (a["AVISIT"], a["AWTARGET"], a["AWLO"], a["AWHI"], a["AWTDIFF"]) == ("WEEK 12", 85.0, 2.0, 127.0, 4.0)
    assert (a["ANL01FL"], b["ANL01FL"]) == ("", "Y")
    # the baseline window is represented by the baseline record, not the screening one nearer... (day -9)
    assert one(out, USUBJID="A-001", PARAMCD="ALT", ADY=1.0)["ANL01FL"] == "Y"
    assert one(out, USUBJID="A-001", PARAMCD="ALT", ADY=-9.0)["ANL01FL"] == ""
    assert one(out, USUBJID="A-001", PARAMCD="ALT", ADY=177.0)["AVISIT"] == "WEEK 24"


def test_tie_earlier_is_a_parameter(spec):
    windows = dict(spec.derivation.params["windows"], tie="earlier")
    out, _ = derive_adlb({"LB": lb([("A-001", "ALT", 1, 35), ("A-001", "ALT", 81, 130), ("A-001", "ALT", 89, 41)])},
                         adsl("A-001"), spec_with("ADLB", windows=windows))
    assert one(out, ADY=81.0)["ANL01FL"] == "Y" and one(out, ADY=89.0)["ANL01FL"] == ""


def test_on_treatment_flag(case):
    out, _ = case
    # ONTRTFL: TRTSDT < ADT <= TRTEDT + 28 (2021-06-29 = day 171): day 1 pre-dose no, day 81 yes, day 177 no
    flags = {d: one(out, USUBJID="A-001", PARAMCD="ALT", ADY=d)["ONTRTFL"] for d in (-9.0, 1.0, 81.0, 177.0)}
    assert flags == {-9.0: "", 1.0: "", 81.0: "Y", 177.0: ""}


def test_on_treatment_window_is_a_parameter():
    spec = spec_with("ADLB", on_treatment={"start_var": "TRTSDT", "end_var": "TRTEDT", "days_after": 40,
                                           "include_start_day": True})
    out, _ = derive_adlb({"LB": lb([("A-001", "ALT", 1, 35), ("A-001", "ALT", 177, 20)])}, adsl("A-001"), spec)
    # TRTEDT + 40 = 2021-07-11 (day 183) >= day 177; start day included
    assert one(out, ADY=1.0)["ONTRTFL"] == "Y" and one(out, ADY=177.0)["ONTRTFL"] == "Y"


def test_reference_range_indicators_and_shift(case):
    out, _ = case
    r = one(out, USUBJID="A-001", PARAMCD="ALT", ADY=81.0)
    # 130 > ANRHI 40 -> HIGH; baseline 35 within 7..40 -> NORMAL
    assert (r["ANRIND"], r["BNRIND"], r["SHIFT1"]) == ("HIGH", "NORMAL", "NORMAL to HIGH")
    assert one(out, USUBJID="A-001", PARAMCD="ALT", ADY=1.0)["SHIFT1"] == ""    # only post-baseline


def test_ctcae_alt_increased_baseline_normal(case):
    out, _ = case
    # 'Alanine aminotransferase increased', baseline normal: >ULN-3xULN G1, >3-5xULN G2 (ULN 40)
    r = one(out, USUBJID="A-001", PARAMCD="ALT", ADY=81.0)
    assert (r["ATOXDSCH"], r["ATOXGRH"], r["ATOXGR"], r["ATOXGRN"]) == ("Alanine aminotransferase increased", "2", "2", 2.0)
    assert one(out, USUBJID="A-001", PARAMCD="ALT", ADY=89.0)["ATOXGR"] == "1"    # 41 > 40, <= 120
    assert (r["BTOXGR"], r["SHIFT2"]) == ("0", "0 to 2")
    assert r["ATOXDSCL"] == "" and r["ATOXGRL"] == ""


def test_ctcae_alt_increased_baseline_abnormal(case):
    out, _ = case
    # A-002 baseline 60 > ULN 40 -> baseline-abnormal criteria: 1.5-3.0 x baseline G1 (90..180), >3-5 x G2
    assert one(out, USUBJID="A-002", PARAMCD="ALT", ADY=85.0)["ATOXGR"] == "1"     # 170: 90 <= 170 <= 180
    assert one(out, USUBJID="A-002", PARAMCD="ALT", ADY=169.0)["ATOXGR"] == "2"    # 185 > 180
    # (with the baseline-normal criteria 170 > 3 x 40 would have been grade 2)
    # the baseline record is graded against ULN (it has no earlier baseline): 60 > 40 -> grade 1
    assert one(out, USUBJID="A-002", PARAMCD="ALT", ADY=1.0)["ATOXGR"] == "1"


def test_ctcae_anemia(case):
    out, _ = case
    # 'Anemia': <LLN-100 g/L G1, <100-80 G2, <80 G3 (LLN 115)
    grades = {d: one(out, USUBJID="A-001", PARAMCD="HGB", ADY=d)["ATOXGRL"] for d in (1.0, 81.0, 89.0, 177.0)}
    assert grades == {1.0: "0", 81.0: "1", 89.0: "2", 177.0: "3"}
    assert one(out, USUBJID="A-001", PARAMCD="HGB", ADY=89.0)["ATOXDSCL"] == "Anemia"


def test_ungraded_parameter_and_unknown_reference():
    out, _ = derive_adlb({"LB": lb([("A-001", "CGA", 1, 200), ("A-001", "ALT", 1, 35, "U/L", (7, np.nan))])},
                         adsl("A-001"), spec_with("ADLB"))
    # CgA has no CTCAE criteria: no grade; ALT without ULN: grade unknown (blank), not 0
    assert one(out, PARAMCD="CGA")["ATOXGR"] == ""
    assert one(out, PARAMCD="ALT")["ATOXGR"] == ""


def test_graded_both_ways_needs_both_directions():
    from adam.adlb import toxicity
    t = LabTest.model_validate({"testcd": "GLUC", "unit": "mmol/L",
                                "low": {"term": "Hypoglycemia", "grades": [{"grade": 1, "op": "lt", "factor": 1, "ref": "LLN"}]},
                                "high": {"term": "Made-up increase", "grades": [{"grade": 1, "op": "gt", "factor": 1, "ref": "ULN"}]}})
    df = pd.DataFrame({"PARAMCD": ["GLUC"] * 3, "AVAL": [5.0, 3.0, 5.0], "ANRLO": [3.9, 3.9, 3.9],
                       "ANRHI": [6.1, np.nan, np.nan], "BASE": [5.0] * 3})
    g = toxicity(df, {"GLUC": t})
    # row 0: both directions 0 -> 0; row 1: low grade 1 (3.0 < 3.9) -> 1; row 2: high unknown, low 0 -> unknown
    assert list(g["ATOXGR"]) == ["0", "1", ""]


def test_wrong_unit_is_reported_not_used():
    out, findings = derive_adlb({"LB": lb([("A-001", "ALT", 1, 0.6, "ukat/L")])}, adsl("A-001"), spec_with("ADLB"))
    assert math.isnan(one(out, PARAMCD="ALT")["AVAL"])
    assert any("ukat/L" in f.message and f.variable == "LBSTRESU" for f in findings)


def test_missing_inputs_are_findings():
    out, findings = derive_adlb({}, adsl("A-001"), spec_with("ADLB"))
    assert out.empty and findings[0].severity.name == "ERROR" and "LB" in findings[0].message
    frame = lb([("A-001", "ALT", 1, 35)]).drop(columns=["LBSTRESU"])
    out, findings = derive_adlb({"LB": frame}, adsl("A-001"), spec_with("ADLB"))
    assert out.empty and [f.variable for f in findings] == ["LBSTRESU"]


def test_parameter_without_records_is_reported():
    _, findings = derive_adlb({"LB": lb([("A-001", "ALT", 1, 35)])}, adsl("A-001"), spec_with("ADLB"))
    assert any(f.value == "CGA" and "no LB record" in f.message for f in findings)


def test_baseline_strictly_before_is_a_parameter():
    spec = spec_with("ADLB", baseline={"ref_var": "TRTSDT", "include_ref_day": False})
    out, _ = derive_adlb({"LB": lb([("A-001", "ALT", -9, 30), ("A-001", "ALT", 1, 35), ("A-001", "ALT", 81, 130)])},
                         adsl("A-001"), spec)
    assert one(out, ADY=-9.0)["ABLFL"] == "Y"
    assert one(out, ADY=81.0)["CHG"] == 100.0                 # 130 - 30
    assert one(out, ADY=1.0)["CHG"] == 5.0                     # day 1 is post-baseline under this rule


def test_window_spec_validation():
    with pytest.raises(ValidationError, match="overlap"):
        Windows.model_validate({"windows": [{"avisit": "A", "avisitn": 1, "target": 5, "lo": 0, "hi": 10},
                                            {"avisit": "B", "avisitn": 2, "target": 12, "lo": 10, "hi": 20}]})
    with pytest.raises(ValidationError):
        AdlbParams.model_validate({"windows": {"windows": []}})


def test_sdtm_variable_names_are_parameters():
    frame = lb([("A-001", "ALT", 1, 35)]).rename(columns={"LBSTRESN": "RESULT"})
    src = dict(spec_with("ADLB").derivation.params["source"], value="RESULT")
    out, _ = derive_adlb({"LB": frame}, adsl("A-001"), spec_with("ADLB", source=src))
    assert one(out, PARAMCD="ALT")["AVAL"] == 35.0
    assert S == one(out, PARAMCD="ALT")["TRTSDT"]


def test_source_selection_is_a_parameter():
    frame = lb([("A-001", "ALT", 1, 35), ("A-001", "HGB", 1, 120)])
    frame["LBCAT"] = ["CHEMISTRY", "HEMATOLOGY"]
    src = dict(spec_with("ADLB").derivation.params["source"], where={"LBCAT": ["HEMATOLOGY"]})
    out, findings = derive_adlb({"LB": frame}, adsl("A-001"), spec_with("ADLB", source=src))
    assert list(out["PARAMCD"]) == ["HGB"]
    assert any(f.value == "ALT" and "no LB record" in f.message for f in findings)
