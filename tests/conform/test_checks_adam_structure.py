"""SF-AD-0300..0312: structure of BDS, OCCDS and exposure datasets. Each rule gets a hand-built passing
frame and the same frame with one deliberate break; the break's row (1-based) is worked out in the case.

Rules cited: ADaMIG 1.3 BDS variable notes (ABLFL, BASE, CHG = AVAL - BASE, PCHG = (AVAL-BASE)/BASE*100,
AVISITN, ANLzzFL, CRITy/CRITyFL), ADaM OCCDS v1.1 (AOCCzzFL, TRTEMFL), EORTC QLQ-C30 Scoring Manual
3rd ed. section 2 (scores 0-100).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studyforge.conform import checks_adam
from studyforge.conform.package import PackageView

A, B = "S-001", "S-002"


def bds() -> pd.DataFrame:
    """Two subjects, one parameter, baseline 10 (A) and 20 (B); hand arithmetic per row:
    row 2: CHG 15 - 10 = 5, PCHG 5/10*100 = 50; row 3: 8 - 10 = -2, -20; row 5: 30 - 20 = 10, 50."""
    return pd.DataFrame({
        "USUBJID": [A, A, A, B, B], "ASEQ": [1.0, 2.0, 3.0, 1.0, 2.0], "PARAMCD": "GHS",
        "PARAM": "Global Health Status (0-100)", "AVAL": [10.0, 15.0, 8.0, 20.0, 30.0],
        "ABLFL": ["Y", "", "", "Y", ""], "BASE": [10.0, 10.0, 10.0, 20.0, 20.0],
        "CHG": [np.nan, 5.0, -2.0, np.nan, 10.0], "PCHG": [np.nan, 50.0, -20.0, np.nan, 50.0],
        "AVISIT": ["BASELINE", "WEEK 12", "WEEK 12", "BASELINE", "WEEK 12"], "AVISITN": [0.0, 12.0, 12.0, 0.0, 12.0],
        "AWTARGET": [1.0, 85.0, 85.0, 1.0, 85.0], "ANL01FL": ["Y", "Y", "", "Y", "Y"],
        "CRIT1": ["", "Improvement: >= 10", "Improvement: >= 10", "", "Improvement: >= 10"],
        "CRIT1FL": ["", "N", "N", "", "Y"]})


def adae() -> pd.DataFrame:
    """A: two AEs in one SOC/PT (first one flagged), B: one AE."""
    return pd.DataFrame({
        "USUBJID": [A, A, B], "ASEQ": [1.0, 2.0, 1.0], "AEBODSYS": ["GI", "GI", "SKIN"],
        "AEDECOD": ["Diarrhoea", "Diarrhoea", "Rash"], "TRTEMFL": ["Y", "Y", "Y"], "ANL01FL": ["Y", "Y", "Y"],
        "AOCCFL": ["Y", "", "Y"], "AOCCSFL": ["Y", "", "Y"], "AOCCPFL": ["Y", "", "Y"]})


def adex() -> pd.DataFrame:
    return pd.DataFrame({"USUBJID": [A, A, B, B], "ASEQ": [1.0, 2.0, 1.0, 2.0], "PARAMCD": ["NINJ", "CUMDOSE"] * 2,
                         "PARAM": ["Number of Injections", "Cumulative Dose (mg)"] * 2, "AVAL": [3.0, 360.0, 1.0, 120.0]})


def run(rule_fn, frames: dict[str, pd.DataFrame]):
    return rule_fn(PackageView.from_frames(adam=frames))


def put(df: pd.DataFrame, row: int, col: str, value) -> pd.DataFrame:
    out = df.copy()
    out.loc[row, col] = value
    return out


# (check, dataset, clean frame maker, break, expected (variable, 1-based row of the first finding))
CASES = [
    # a second ABLFL = 'Y' for A/GHS on row 2 -> rows 1 and 2 both reported
    ("SF-AD-0300", checks_adam.one_baseline_record, "ADQS", bds, lambda d: put(d, 1, "ABLFL", "Y"), ("ABLFL", 1)),
    # BASE on row 3 = 11, not A's 10 -> BASE varies within A/GHS (rows 1-3 reported, the first is row 1)
    ("SF-AD-0301", checks_adam.base_from_baseline, "ADQS", bds, lambda d: put(d, 2, "BASE", 11.0), ("BASE", 1)),
    # CHG on row 5 = 9, but 30 - 20 = 10
    ("SF-AD-0302", checks_adam.change_is_difference, "ADQS", bds, lambda d: put(d, 4, "CHG", 9.0), ("CHG", 5)),
    # PCHG on row 3 = 20, but (8 - 10) / 10 * 100 = -20
    ("SF-AD-0303", checks_adam.percent_change_consistent, "ADQS", bds, lambda d: put(d, 2, "PCHG", 20.0),
     ("PCHG", 3)),
    # row 3 also flagged for A's WEEK 12 -> rows 2 and 3 both reported
    ("SF-AD-0304", checks_adam.one_record_per_window, "ADQS", bds, lambda d: put(d, 2, "ANL01FL", "Y"),
     ("ANL01FL", 2)),
    # AVISITN 13 on row 3 with AVISIT WEEK 12 (12 elsewhere): WEEK 12 goes with two AVISITN values
    ("SF-AD-0305", checks_adam.avisitn_avisit, "ADQS", bds, lambda d: put(d, 2, "AVISITN", 13.0), ("AVISIT", None)),
    # the baseline record of B (row 4) loses its AVAL
    ("SF-AD-0306", checks_adam.baseline_has_value, "ADQS", bds, lambda d: put(d, 3, "AVAL", np.nan), ("AVAL", 4)),
    # A's second diarrhoea (row 2) also flagged first in its PT -> rows 1 and 2
    ("SF-AD-0307", checks_adam.first_occurrence_unique, "ADAE", adae, lambda d: put(d, 1, "AOCCPFL", "Y"),
     ("AOCCPFL", 1)),
    # TRTEMFL 'N' on row 3 (OCCDS flags are Y or null)
    ("SF-AD-0308", checks_adam.occurrence_flag_values, "ADAE", adae, lambda d: put(d, 2, "TRTEMFL", "N"),
     ("TRTEMFL", 3)),
    # row 1 (AOCCFL = 'Y') not an analysed record
    ("SF-AD-0309", checks_adam.occurrence_within_analysis, "ADAE", adae, lambda d: put(d, 0, "ANL01FL", ""),
     ("AOCCFL", 1)),
    # B's cumulative dose negative (row 4)
    ("SF-AD-0310", checks_adam.exposure_summary, "ADEX", adex, lambda d: put(d, 3, "AVAL", -120.0), ("AVAL", 4)),
    # a score of 104 on a 0-100 scale (row 2)
    ("SF-AD-0311", checks_adam.score_range, "ADQS", bds, lambda d: put(d, 1, "AVAL", 104.0), ("AVAL", 2)),
    # CRIT1FL 'Y' where CRIT1 is blank (row 1)
    ("SF-AD-0312", checks_adam.criterion_flags, "ADQS", bds, lambda d: put(d, 0, "CRIT1FL", "Y"), ("CRIT1FL", 1)),
]
TESTED = {c[0] for c in CASES}


@pytest.mark.parametrize("rule,fn,name,make,breaks,where", CASES, ids=[c[0] for c in CASES])
def test_passes_clean_and_fires_at_the_break(rule, fn, name, make, breaks, where):
    assert run(fn, {name: make()}) == []
    found = run(fn, {name: breaks(make())})
    assert found and {f.rule for f in found} == {rule}, [str(f) for f in found]
    variable, row = where
    assert found[0].variable == variable
    if row is not None:
        assert found[0].record.startswith(f"row {row},"), found[0].record


def test_duplicate_exposure_record_is_reported():
    # NINJ twice for A (rows 1 and 3 after the append): one value per subject and parameter
    d = pd.concat([adex(), adex().iloc[[0]]], ignore_index=True)
    found = run(checks_adam.exposure_summary, {"ADEX": d})
    assert [f.record.split(",")[0] for f in found] == ["row 1", "row 5"]


def test_windows_ignore_records_outside_every_window():
    # two records of A outside every window (blank AVISIT) both carry ANL01FL: not a window, no finding
    d = bds()
    d.loc[[1, 2], "AVISIT"] = ""
    d.loc[[1, 2], "ANL01FL"] = "Y"
    d.loc[[1, 2], "AVISITN"] = np.nan
    assert run(checks_adam.one_record_per_window, {"ADQS": d}) == []


def test_baseline_per_basetype():
    # two baselines for A under different BASETYPEs are allowed (ADaMIG: per subject, parameter and BASETYPE)
    d = pd.concat([bds().assign(BASETYPE="LAST"), bds().assign(BASETYPE="FIRST")], ignore_index=True)
    assert run(checks_adam.one_baseline_record, {"ADQS": d}) == []
