"""ADSYM golden cases on a hand-built symptom diary (XD), each average derived by hand.

PALACE windows (ADSYM.yaml): BASELINE = study days -14..-1 (the screening diary period before the
first injection), WEEK 12 = 2..127, WEEK 24 = 128..211; at least 4 diary days per window;
responder = PCHG <= -30 (TRTSDT = 2021-01-10 = day 1).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from adam.adsym import derive_adsym
from tests.adam.bds_helpers import adsl, iso, one, rows_by, spec_with


def diary(usubjid: str, testcd: str, days: list[int], values: list[float | None]) -> list[dict]:
    return [{"USUBJID": usubjid, "XDTESTCD": testcd, "XDDTC": iso(d),
             "XDSTRESN": np.nan if v is None else float(v)} for d, v in zip(days, values)]


BASE_DAYS = [-7, -6, -5, -4, -3, -2, -1]
W12_DAYS = [78, 79, 80, 81, 82, 83, 84]


def run(rows, spec=None):
    return derive_adsym({"XD": pd.DataFrame(rows)}, adsl("D-001"), spec or spec_with("ADSYM"))


def case_rows():
    return (diary("D-001", "STOOLNUM", BASE_DAYS, [5, 4, 6, 5, 5, 4, 6]) +          # 35 / 7 = 5.0
            diary("D-001", "STOOLNUM", W12_DAYS, [3, 3, 4, 3, 3, 4, 4]) +           # 24 / 7 = 3.4286
            diary("D-001", "STOOLNUM", [162, 163, 164], [1, 1, 1]) +                # 3 days < 4: no average
            diary("D-001", "FLUSHNUM", BASE_DAYS, [2, 2, 2, 2, None, None, None]) +  # 8 / 4 = 2.0
            diary("D-001", "FLUSHNUM", W12_DAYS, [2, 1, 2, 2, 1, 2, 1]))            # 11 / 7 = 1.5714


def test_window_averages_and_baseline():
    out, _ = run(case_rows())
    b = one(out, PARAMCD="STOOLAVG", AVISIT="BASELINE")
    assert (b["AVAL"], b["ABLFL"], b["ADY"]) == (5.0, "Y", -1.0)     # ADT = last diary day (-1)
    w = one(out, PARAMCD="STOOLAVG", AVISIT="WEEK 12")
    assert math.isclose(w["AVAL"], 24 / 7)
    assert math.isclose(w["CHG"], 24 / 7 - 5)                         # -1.5714
    assert math.isclose(w["PCHG"], (24 / 7 - 5) / 5 * 100)            # -31.43
    assert one(out, PARAMCD="FLUSHAVG", AVISIT="BASELINE")["AVAL"] == 2.0  # blank days are not zeros


def test_responder_flag():
    out, _ = run(case_rows())
    # stools PCHG -31.43 <= -30 -> responder; flushing (11/7 - 2)/2 x 100 = -21.43 -> not
    assert one(out, PARAMCD="STOOLAVG", AVISIT="WEEK 12")["CRIT1FL"] == "Y"
    assert one(out, PARAMCD="FLUSHAVG", AVISIT="WEEK 12")["CRIT1FL"] == "N"
    assert one(out, PARAMCD="STOOLAVG", AVISIT="BASELINE")["CRIT1FL"] == ""


def test_responder_threshold_is_a_parameter():
    spec = spec_with("ADSYM", responder={"threshold_pct": 35, "text": "Reduction >= 35%"})
    out, _ = run(case_rows(), spec)
    assert one(out, PARAMCD="STOOLAVG", AVISIT="WEEK 12")["CRIT1FL"] == "N"   # -31.43 > -35


def test_too_few_days_is_reported():
    out, findings = run(case_rows())
    assert rows_by(out, PARAMCD="STOOLAVG", AVISIT="WEEK 24").empty
    assert any(f.value == "STOOLAVG" and "fewer than 4" in f.message for f in findings)


def test_min_days_is_a_parameter():
    spec = spec_with("ADSYM")
    prms = [p.model_copy(update={"derivation": p.derivation.model_copy(
        update={"params": {**p.derivation.params, "min_days": 3}})}) for p in spec.parameters]
    out, _ = run(case_rows(), spec.model_copy(update={"parameters": prms}))
    assert one(out, PARAMCD="STOOLAVG", AVISIT="WEEK 24")["AVAL"] == 1.0       # (1+1+1)/3


def test_day_one_diary_is_outside_every_window():
    out, findings = run(case_rows() + diary("D-001", "STOOLNUM", [1], [50]))
    assert one(out, PARAMCD="STOOLAVG", AVISIT="BASELINE")["AVAL"] == 5.0     # day 1 not averaged
    assert any("outside every analysis window" in f.message for f in findings)


def test_missing_inputs_are_findings():
    out, findings = derive_adsym({}, adsl("D-001"), spec_with("ADSYM"))
    assert out.empty and "XD" in findings[0].message
    xd = pd.DataFrame(case_rows()).drop(columns=["XDDTC"])
    out, findings = derive_adsym({"XD": xd}, adsl("D-001"), spec_with("ADSYM"))
    assert out.empty and [f.variable for f in findings] == ["XDDTC"]
