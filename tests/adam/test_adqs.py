"""ADQS golden cases on hand-built QS questionnaires, each score derived by hand.

EORTC QLQ-C30 Scoring Manual, 3rd ed. (Fayers et al., EORTC 2001): section 2 "Scoring procedures":
RS = mean of the items; functional scales S = (1 - (RS-1)/range) x 100; symptom scales / items and
global health status S = (RS-1)/range x 100; range 3 (items 1-4) or 6 (items 29-30, 1-7). Section 4
"Missing data": a scale is scored when at least half of its items are answered. Summary score:
Giesinger et al., J Clin Epidemiol 2016;69:79-88 (mean of 13 scores, symptom scores as 100 - S).
Checked against the manual's worked example for RF (two items: RS = (I6 + I7)/2, S = (1 - (RS-1)/3) x 100).
TRTSDT = 2021-01-10 = study day 1 (baseline questionnaire on day 1).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from adam.adqs import derive_adqs
from tests.adam.bds_helpers import adsl, iso, one, spec_with

C30 = "EORTC QLQ-C30 V3.0"
GI = "EORTC QLQ-GINET21 DATE 20TH FEBRUARY 2006"


def questionnaire(usubjid: str, day: int, answers: dict[int, float | None], *, base: float = 1,
                  visitnum: float = 2, cat: str = C30, prefix: str = "EOR01", n: int = 30) -> list[dict]:
    """All n items answered `base` (items 29-30 of the C30 as well), except those in `answers` (None = blank)."""
    out = []
    for i in range(1, n + 1):
        v = answers.get(i, base)
        out.append({"USUBJID": usubjid, "QSCAT": cat, "QSTESTCD": f"{prefix}{i:02d}",
                    "QSSTRESN": np.nan if v is None else float(v), "QSDTC": iso(day), "VISITNUM": visitnum})
    return out


def run(rows: list[dict], spec=None, subjects=("Q-001",)):
    qs = pd.DataFrame(rows)
    qs["QSSEQ"] = np.arange(1, len(qs) + 1, dtype=float)
    return derive_adqs({"QS": qs}, adsl(*subjects), spec or spec_with("ADQS"))


def test_functional_scale_with_a_missing_item():
    # PF = items 1-5; answers 1, 2, 2, 3, blank: 4 of 5 answered >= 2.5 -> RS = 8/4 = 2,
    # S = (1 - (2-1)/3) x 100 = 66.667
    out, _ = run(questionnaire("Q-001", 1, {1: 1, 2: 2, 3: 2, 4: 3, 5: None}))
    assert math.isclose(one(out, PARAMCD="C30PF")["AVAL"], 200 / 3)


def test_half_of_items_rule():
    # PF with only items 1 and 2 answered: 2 of 5 < 2.5 -> not scored (manual section 4)
    # RF = items 6-7 with only item 6 (= 3) answered: 1 of 2 >= 1 -> RS 3, S = (1 - 2/3) x 100 = 33.333
    out, findings = run(questionnaire("Q-001", 1, {3: None, 4: None, 5: None, 6: 3, 7: None}))
    assert out.loc[out.PARAMCD == "C30PF"].empty
    assert math.isclose(one(out, PARAMCD="C30RF")["AVAL"], 100 / 3)
    assert any(f.value == "C30PF" and "not scored" in f.message for f in findings)


def test_symptom_scale_and_global_health():
    # FA = items 10, 12, 18 = 2, 3, 4 -> RS 3, S = (3-1)/3 x 100 = 66.667
    # QL = items 29, 30 = 5, 6 -> RS 5.5, S = (5.5-1)/6 x 100 = 75
    # DI (item 17) = 4 -> (4-1)/3 x 100 = 100
    out, _ = run(questionnaire("Q-001", 1, {10: 2, 12: 3, 18: 4, 29: 5, 30: 6, 17: 4}))
    assert math.isclose(one(out, PARAMCD="C30FA")["AVAL"], 200 / 3)
    assert one(out, PARAMCD="C30QL")["AVAL"] == 75.0
    assert one(out, PARAMCD="C30DI")["AVAL"] == 100.0


def test_summary_score():
    # All items 1 (functional scales 100, symptoms 0 -> reversed 100) except DI (item 17) = 4 -> DI 100,
    # reversed 0; FI (item 28) = 4 and QL are not components.
    # Summary = (12 x 100 + 0) / 13 = 92.3077
    out, _ = run(questionnaire("Q-001", 1, {17: 4, 28: 4, 29: 7, 30: 7}))
    assert math.isclose(one(out, PARAMCD="C30SUM")["AVAL"], 1200 / 13)


def test_summary_needs_all_13_scales():
    # Dyspnoea (item 8) blank -> DY not scored -> no summary score (Giesinger 2016 scoring)
    out, _ = run(questionnaire("Q-001", 1, {8: None}))
    assert out.loc[out.PARAMCD == "C30SUM"].empty
    assert not out.loc[out.PARAMCD == "C30PF"].empty


def test_ginet21_scale():
    # GINED (EOR1501-EOR1503) = 2, 3, 4 -> RS 3, S = (3-1)/3 x 100 = 66.667 (symptom-type scoring)
    rows = questionnaire("Q-001", 1, {1: 2, 2: 3, 3: 4}, cat=GI, prefix="EOR15", n=21)
    out, _ = run(rows)
    assert math.isclose(one(out, PARAMCD="GINED")["AVAL"], 200 / 3)
    assert one(out, PARAMCD="GINED")["PARCAT1"] == "EORTC QLQ-GI.NET21"


@pytest.fixture(scope="module")
def two_visits():
    # Day 1: PF items 1-5 = 1,2,2,2,3 -> RS 2, S 66.667; FA items = 3,3,3 -> S 66.667
    # Week 12 (day 85): PF = 2,3,2,3,2 -> RS 2.4, S = (1 - 1.4/3) x 100 = 53.333
    #                   FA = 2,3,2 -> RS 7/3, S = (4/3)/3 x 100 = 44.444
    rows = questionnaire("Q-001", 1, {1: 1, 2: 2, 3: 2, 4: 2, 5: 3, 10: 3, 12: 3, 18: 3}) + \
        questionnaire("Q-001", 85, {1: 2, 2: 3, 3: 2, 4: 3, 5: 2, 10: 2, 12: 3, 18: 2}, visitnum=5)
    return run(rows)[0]


def test_baseline_change_and_deterioration(two_visits):
    out = two_visits
    base = one(out, PARAMCD="C30PF", ADY=1.0)
    post = one(out, PARAMCD="C30PF", ADY=85.0)
    assert base["ABLFL"] == "Y" and base["AVISIT"] == "BASELINE"
    assert post["AVISIT"] == "WEEK 12" and post["AWTDIFF"] == 0.0
    # CHG = 53.333 - 66.667 = -13.333: a functional scale falling by >= 10 -> deterioration
    assert math.isclose(post["CHG"], -40 / 3)
    assert (post["CRIT1FL"], post["CRIT2FL"]) == ("Y", "N")
    assert post["CRIT1"] == "Deterioration: worse than baseline by >= 10 points"
    assert base["CRIT1FL"] == ""   # no change on the baseline record


def test_symptom_improvement_direction(two_visits):
    # FA 66.667 -> 44.444: CHG -22.222; for a symptom scale lower is better -> improvement
    post = one(two_visits, PARAMCD="C30FA", ADY=85.0)
    assert math.isclose(post["CHG"], -200 / 9)
    assert (post["CRIT1FL"], post["CRIT2FL"]) == ("N", "Y")


def test_threshold_is_a_parameter():
    rows = questionnaire("Q-001", 1, {1: 1, 2: 2, 3: 2, 4: 2, 5: 3}) + \
        questionnaire("Q-001", 85, {1: 2, 2: 3, 3: 2, 4: 3, 5: 2}, visitnum=5)
    spec = spec_with("ADQS", responder={"threshold": 15, "deterioration": "Worse by >= 15 points",
                                        "improvement": "Better by >= 15 points"})
    out, _ = run(rows, spec)
    # CHG -13.333 does not reach 15 points
    assert one(out, PARAMCD="C30PF", ADY=85.0)["CRIT1FL"] == "N"


def test_out_of_range_response_is_an_error_not_a_score():
    out, findings = run(questionnaire("Q-001", 1, {17: 9}))
    assert out.loc[out.PARAMCD == "C30DI"].empty
    assert any(f.severity.name == "ERROR" and "outside 1..4" in f.message for f in findings)


def test_missing_qs_and_missing_variable():
    out, findings = derive_adqs({}, adsl("Q-001"), spec_with("ADQS"))
    assert out.empty and "QS" in findings[0].message
    qs = pd.DataFrame(questionnaire("Q-001", 1, {})).drop(columns=["QSSTRESN"])
    out, findings = derive_adqs({"QS": qs}, adsl("Q-001"), spec_with("ADQS"))
    assert out.empty and [f.variable for f in findings] == ["QSSTRESN"]


def test_scale_with_items_never_collected_is_reported():
    _, findings = run(questionnaire("Q-001", 1, {}))
    # only the C30 was given: every GI.NET21 scale reports its absent items
    assert any(f.value and f.value.startswith("EOR15") and "never found" in f.message for f in findings)


def test_ginet21_map_follows_the_published_scale_structure():
    # Yadegarfar et al., Br J Cancer 2013;108:301-310 (doi:10.1038/bjc.2012.560), abstract: the QLQ-GINET21
    # scales are endocrine, GI, treatment-related symptoms, social function and disease-related worries, plus
    # single items; "weight gain was therefore analysed as a single item" (not in treatment-related symptoms).
    # Scale sizes 3/5/3/3/3 as the paper describes them. The item-to-scale assignment of PALACE's
    # sponsor-defined codes is by item content (the EORTC scoring addendum's item numbers were not available).
    from pathlib import Path

    from studyforge.spec.loader import load_spec

    spec = load_spec(Path(__file__).resolve().parents[2] / "specs" / "palace")
    items = {p.paramcd: p.derivation.params["items"] for p in spec.datasets["ADQS"].parameters
             if p.derivation.rule == "qs_scale" and p.derivation.params["category"] == GI}
    assert {k: len(v) for k, v in items.items()} == {"GINED": 3, "GINGI": 5, "GINTR": 3, "GINSF": 3, "GINDRW": 3,
                                                      "GINMB": 1, "GINBI": 1, "GININF": 1}
    used = [i for v in items.values() for i in v]
    assert len(used) == len(set(used))            # no item in two scales
    texts = {t.value: t.decode for t in spec.codelists["GINET21TC"].terms} if isinstance(spec.codelists, dict) \
        else {t.value: t.decode for t in next(c for c in spec.codelists if c.id == "GINET21TC").terms}
    assert not [i for i in items["GINTR"] if "weight" in texts[i].lower()]  # weight gain is not a TR item
    assert {texts[i] for i in items["GINED"]} == {"EOR15-Hot flushes", "EOR15-Sweating at night", "EOR15-Flushing"}
