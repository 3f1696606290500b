"""ADTR golden cases: sums of target-lesion diameters derived by hand from RECIST 1.1 (Eisenhauer et al.,
Eur J Cancer 2009;45:228-247) on a hand-built TR/TU/RS, TRTSDT = 2021-01-10 (study day 1).

BICR subject B-001 is read by RADIOLOGIST 1 and RADIOLOGIST 2; RS flags RADIOLOGIST 2 as accepted
(RSACPTFL = 'Y'), so only reader 2's diameters count. Targets (TU): T01, T02.
    day -10  T01 30  T02 20   -> 50  baseline (last sum on/before TRTSDT)
    day  57  T01 25  T02 15   -> 40  CHG -10, PCHG -20, NADIR 50 (the baseline: RECIST 4.3.1)
    day 113  T01 20  T02 --   -> no sum (a target not measured: RECIST 4.4.2, time point NE)
    day 169  T01 30  T02 18   -> 48  CHG -2, PCHG -4, NADIR min(50, 40) = 40, CHGNAD 8, PCHGNAD 20
                                     (>= 20% and >= 5 mm above the nadir: target PD per RECIST 4.3.1)
    best % change (ANL02FL): day 57, PCHG -20.
Investigator (same subject), targets T01, T02, T03:
    day -10  10 + 10 + 10 = 30; day 57  5 (too small: 5 mm, RECIST 4.3.2) + 0 (disappeared) + 10 = 15,
    PCHG -50; day 113 has no TR record for T03 at all -> no sum; a diameter of lesion T09 (not a TU target)
    is reported and not summed.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from adam.adtr import derive_adtr, nadir
from tests.adam.bds_helpers import adsl, iso, one, rows_by, spec_with
from tests.adam.conftest import load_dataset

BICR, INV = "INDEPENDENT ASSESSOR", "INVESTIGATOR"
VISITS = {-10: (1.0, "SCREENING"), 57: (5.0, "WEEK 8"), 113: (9.0, "WEEK 16"), 169: (13.0, "WEEK 24")}


def tr_rows(u, ev, evid, day, diams: dict[str, float | None]) -> list[dict]:
    vnum, visit = VISITS[day]
    return [{"USUBJID": u, "TRTESTCD": "LDIAM", "TRLNKID": lnk, "TRSTRESN": np.nan if d is None else float(d),
             "TREVAL": ev, "TREVALID": evid, "VISITNUM": vnum, "VISIT": visit, "TRDTC": iso(day)}
            for lnk, d in diams.items()]


def tu_rows(u, ev, evid, lesions) -> list[dict]:
    return [{"USUBJID": u, "TUTESTCD": "TUMIDENT", "TULNKID": lnk, "TUORRES": "TARGET", "TUEVAL": ev,
             "TUEVALID": evid} for lnk in lesions]


def sdtm() -> dict[str, pd.DataFrame]:
    u = "B-001"
    tr = (tr_rows(u, BICR, "RADIOLOGIST 2", -10, {"T01": 30, "T02": 20})
          + tr_rows(u, BICR, "RADIOLOGIST 2", 57, {"T01": 25, "T02": 15})
          + tr_rows(u, BICR, "RADIOLOGIST 2", 113, {"T01": 20, "T02": None})
          + tr_rows(u, BICR, "RADIOLOGIST 2", 169, {"T01": 30, "T02": 18})
          + tr_rows(u, BICR, "RADIOLOGIST 1", -10, {"T01": 99, "T02": 99})
          + tr_rows(u, BICR, "RADIOLOGIST 1", 57, {"T01": 1, "T02": 1})
          + tr_rows(u, INV, "", -10, {"T01": 10, "T02": 10, "T03": 10})
          + tr_rows(u, INV, "", 57, {"T01": 5, "T02": 0, "T03": 10, "T09": 7})
          + tr_rows(u, INV, "", 113, {"T01": 5, "T02": 0}))
    tu = tu_rows(u, BICR, "RADIOLOGIST 1", ["T01", "T02"]) + tu_rows(u, BICR, "RADIOLOGIST 2", ["T01", "T02"]) \
        + tu_rows(u, INV, "", ["T01", "T02", "T03"])
    rs = pd.DataFrame([{"USUBJID": u, "RSEVAL": BICR, "RSEVALID": "RADIOLOGIST 1", "RSACPTFL": "N"},
                       {"USUBJID": u, "RSEVAL": BICR, "RSEVALID": "RADIOLOGIST 2", "RSACPTFL": "Y"}])
    return {"TR": pd.DataFrame(tr), "TU": pd.DataFrame(tu), "RS": rs}


def run(data=None, spec=None):
    return derive_adtr(data or sdtm(), adsl("B-001"), spec or load_dataset("ADTR"))


def test_bicr_sums_from_the_accepted_reader_only():
    out, _ = run()
    b = rows_by(out, PARAMCD="SDIAM")
    assert b["AVAL"].tolist()[:2] == [50.0, 40.0]          # reader 2: 30 + 20, 25 + 15 (reader 1's 198 / 2 unused)
    assert math.isnan(b["AVAL"].tolist()[2])               # day 113: T02 not measured
    assert b["AVAL"].tolist()[3] == 48.0
    assert set(b["PARCAT2"]) == {"Independent Review Facility"}


def test_baseline_change_and_nadir():
    out, _ = run()
    base = one(out, PARAMCD="SDIAM", AVISIT="SCREENING")
    assert (base["ABLFL"], base["BASE"], base["ADY"]) == ("Y", 50.0, -10.0)
    assert math.isnan(base["CHG"]) and math.isnan(base["NADIR"])
    w8 = one(out, PARAMCD="SDIAM", AVISIT="WEEK 8")
    assert (w8["CHG"], w8["PCHG"], w8["NADIR"], w8["CHGNAD"], w8["PCHGNAD"]) == (-10.0, -20.0, 50.0, -10.0, -20.0)
    w24 = one(out, PARAMCD="SDIAM", AVISIT="WEEK 24")
    assert (w24["CHG"], w24["PCHG"], w24["NADIR"], w24["CHGNAD"], w24["PCHGNAD"]) == (-2.0, -4.0, 40.0, 8.0, 20.0)
    w16 = one(out, PARAMCD="SDIAM", AVISIT="WEEK 16")
    assert w16["ANL01FL"] == "" and math.isnan(w16["PCHG"])


def test_best_percent_change_flag():
    out, _ = run()
    best = rows_by(out, ANL02FL="Y")
    assert sorted(zip(best["PARAMCD"], best["AVISIT"], best["PCHG"])) == [("SDIAM", "WEEK 8", -20.0),
                                                                          ("SDIAMINV", "WEEK 8", -50.0)]


def test_investigator_sums_missing_lesion_and_stray_lesion():
    out, found = run()
    inv = rows_by(out, PARAMCD="SDIAMINV")
    assert inv["AVAL"].tolist()[:2] == [30.0, 15.0]        # 5 (too small) + 0 (gone) + 10; T09 not summed
    assert math.isnan(inv["AVAL"].tolist()[2])             # day 113: no T03 record at all
    assert any("T09" in f.message and f.usubjid == "B-001" for f in found)
    assert any("SDIAMINV: 1 assessment(s)" in f.message for f in found)


def test_single_reader_without_flag_is_kept_and_two_unflagged_readers_are_not():
    data = sdtm()
    data["RS"] = data["RS"].iloc[0:0]
    out, found = run(data)
    assert rows_by(out, PARAMCD="SDIAM").empty                        # two readers, none accepted
    assert any("none accepted" in f.message for f in found)
    data["TR"] = data["TR"][data["TR"]["TREVALID"] != "RADIOLOGIST 1"]
    out, _ = run(data)
    assert rows_by(out, PARAMCD="SDIAM")["AVAL"].tolist()[:2] == [50.0, 40.0]


def test_an_assessment_on_the_first_dose_day_is_baseline():
    # RECIST baseline scans precede treatment; one dated on TRTSDT itself still counts (on or before)
    data = sdtm()
    data["TR"].loc[data["TR"]["VISITNUM"] == 1.0, "TRDTC"] = iso(1)
    out, _ = run(data)
    assert one(out, PARAMCD="SDIAM", AVISIT="SCREENING")["ABLFL"] == "Y"
    out, _ = run(data, spec_with("ADTR", reference_var="TRTEDT"))   # a later reference: WEEK 8 is baseline
    assert one(out, PARAMCD="SDIAM", ABLFL="Y")["AVISIT"] == "WEEK 8"


def test_nadir_is_over_earlier_records_only():
    # sums 50, 40, 45, 30 in date order: nadirs -, 50, 40, 40 (the record itself never counts)
    g = np.zeros(4, dtype=np.int64)
    got = nadir(g, np.arange(4.0), np.array([50.0, 40.0, 45.0, 30.0]), np.ones(4, dtype=bool))
    assert np.isnan(got[0]) and got[1:].tolist() == [50.0, 40.0, 40.0]
