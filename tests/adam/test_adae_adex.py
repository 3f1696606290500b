"""ADAE and ADEX golden values on hand-built SDTM; each expectation derived by hand from its method text.

TRTSDT S = 2021-01-04, TRTEDT = 2021-06-07 (S+154); TRTEMFL window 150 days -> last TEAE start day
S+304 = 2021-11-04 (Jan 4 + 27 = Jan 31, +28 Feb, +31, +30, +31, +30, +31, +31, +30, +31 = Oct 31 (S+300), Nov 4 = S+304).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from adam.adae import derive_adae
from adam.adex import derive_adex
from tests.adam.conftest import load_dataset, sas

S = sas("2021-01-04")
A, B, C = "P-A", "P-B", "P-C"


def adsl() -> pd.DataFrame:
    return pd.DataFrame({"STUDYID": "PALACE", "USUBJID": [A, B, C], "SUBJID": ["A", "B", "C"], "SITEID": "101",
                         "TRT01A": ["LAN", "LAN", ""], "TRTSDT": [S, S, np.nan], "TRTEDT": [S + 154, S + 154, np.nan],
                         "SAFFL": ["Y", "Y", "N"], "SELFFL": ["Y", "N", "N"],
                         "DTHDT": [np.nan, sas("2021-03-20"), np.nan]})


def ae() -> pd.DataFrame:
    rows = [  # USUBJID, AESEQ, AESTDTC, AEENDTC, AEBODSYS, AEDECOD
        (A, 1, "2021-01-10", "2021-01-12", "GI", "NAUSEA"),
        (A, 2, "2021-01", "2021-02-03", "GI", "DIARRHOEA"),
        (A, 3, "2020-12-20", "2020-12-25", "GI", "NAUSEA"),
        (A, 4, "2021-11-04", "", "INF", "NASOPHARYNGITIS"),
        (A, 5, "2021-11-05", "2021-11-06", "INF", "INFLUENZA"),
        (A, 6, "2021-01-24", "2021-01-25", "GI", "NAUSEA"),
        (B, 1, "2021-03", "2021-03", "GI", "ABDOMINAL PAIN"),
        (B, 2, "", "", "GEN", "FATIGUE"),
        (C, 1, "2021-02-01", "2021-02-02", "GI", "NAUSEA"),
    ]
    df = pd.DataFrame(rows, columns=["USUBJID", "AESEQ", "AESTDTC", "AEENDTC", "AEBODSYS", "AEDECOD"])
    df["AESEQ"] = df["AESEQ"].astype(float)
    return df.assign(AETERM=df["AEDECOD"], AESEV="MILD", AETOXGR="1", AEREL="RELATED", AESER="N")


@pytest.fixture(scope="module")
def adae():
    out, findings = derive_adae({"AE": ae()}, adsl(), load_dataset("ADAE"))
    return out.set_index(["USUBJID", "AESEQ"]), findings


def test_analysis_dates_and_imputation(adae):
    a, _ = adae
    assert (a.loc[(A, 1.0), "ASTDT"], a.loc[(A, 1.0), "AENDT"], a.loc[(A, 1.0), "ADURN"]) == (S + 6, S + 8, 3.0)
    assert a.loc[(A, 1.0), "ASTDY"] == 7.0 and a.loc[(A, 1.0), "ASTDTF"] == ""
    # "2021-01": first day 2021-01-01, raised to TRTSDT 2021-01-04 (in the month) -> S, flag D.
    assert (a.loc[(A, 2.0), "ASTDT"], a.loc[(A, 2.0), "ASTDTF"]) == (S, "D")
    # B: end "2021-03" -> last day 2021-03-31, lowered to DTHDT 2021-03-20 (in range) -> AENDTF D;
    # start "2021-03" -> 2021-03-01 (TRTSDT not in March), not after AENDT -> ADURN 20.
    assert (a.loc[(B, 1.0), "AENDT"], a.loc[(B, 1.0), "AENDTF"]) == (sas("2021-03-20"), "D")
    assert (a.loc[(B, 1.0), "ASTDT"], a.loc[(B, 1.0), "ADURN"]) == (sas("2021-03-01"), 20.0)
    assert a.loc[(A, 3.0), "ASTDY"] == -15.0  # 2020-12-20 is 15 days before S: no day 0
    assert a.loc[(A, 1.0), "ADURU"] == "DAYS" and a.loc[(A, 4.0), "ADURU"] == ""


def test_start_never_imputed_after_end():
    # start_fill 'last' (a parameter): "2021-03" would be 2021-03-31, but the end 2021-03-10 lies in
    # that month -> ASTDT lowered to 2021-03-10 (consistent imputation, MT.ADAE.ASTDT).
    spec = load_dataset("ADAE")
    params = {**spec.derivation.params, "imputation": {**spec.derivation.params["imputation"], "start_fill": "last"}}
    spec = spec.model_copy(update={"derivation": spec.derivation.model_copy(update={"params": params})})
    rows = ae().iloc[[0]].assign(AESTDTC="2021-03", AEENDTC="2021-03-10")
    out, _ = derive_adae({"AE": rows}, adsl(), spec)
    assert out["ASTDT"].iloc[0] == sas("2021-03-10") and out["ADURN"].iloc[0] == 1.0


def test_treatment_emergent_window(adae):
    a, _ = adae
    assert a.loc[(A, 4.0), "TRTEMFL"] == "Y"   # starts S+304 = TRTEDT + 150
    assert a.loc[(A, 5.0), "TRTEMFL"] == ""    # S+305: outside the window
    assert a.loc[(A, 3.0), "TRTEMFL"] == ""    # before first dose
    assert a.loc[(B, 2.0), "TRTEMFL"] == "Y"   # no dates at all: counted (conservative)
    assert a.loc[(C, 1.0), "TRTEMFL"] == ""    # undosed subject
    assert sas("2021-11-04") == S + 304


def test_window_is_a_parameter():
    spec = load_dataset("ADAE")
    params = {**spec.derivation.params, "treatment_emergent": {**spec.derivation.params["treatment_emergent"],
                                                                "window_days": 28}}
    spec = spec.model_copy(update={"derivation": spec.derivation.model_copy(update={"params": params})})
    out, _ = derive_adae({"AE": ae()}, adsl(), spec)
    assert out.set_index(["USUBJID", "AESEQ"]).loc[(A, 4.0), "TRTEMFL"] == ""  # S+304 > S+154+28


def test_first_occurrence_flags(adae):
    a, _ = adae
    # A's TEAEs: seq2 (S, GI/DIARRHOEA), seq1 (S+6, GI/NAUSEA), seq6 (S+20, GI/NAUSEA), seq4 (S+304, INF).
    assert a.loc[A, "AOCCFL"].to_dict() == {1.0: "", 2.0: "Y", 3.0: "", 4.0: "", 5.0: "", 6.0: ""}
    assert a.loc[A, "AOCCSFL"].to_dict() == {1.0: "", 2.0: "Y", 3.0: "", 4.0: "Y", 5.0: "", 6.0: ""}
    assert a.loc[A, "AOCCPFL"].to_dict() == {1.0: "Y", 2.0: "Y", 3.0: "", 4.0: "Y", 5.0: "", 6.0: ""}
    assert a.loc[A, "ANL01FL"].to_dict() == {1.0: "Y", 2.0: "Y", 3.0: "", 4.0: "Y", 5.0: "", 6.0: "Y"}
    assert a.loc[(B, 2.0), "AOCCFL"] == "" and a.loc[(B, 1.0), "AOCCFL"] == "Y"  # dated event first, undated last


def test_copies_and_analysis_values(adae):
    a, findings = adae
    r = a.loc[(A, 1.0)]
    assert (r["ASEV"], r["ATOXGR"], r["AREL"], r["AESER"], r["TRT01A"]) == ("MILD", "1", "RELATED", "N", "LAN")
    assert any(f.rule == "ADAE-PERM" and "AESDTH" in f.value for f in findings)  # Permissible, absent: stated


def test_adex_parameters_by_hand():
    # A: 3 injections of 120 mg on S, S+28, S+63 (one late) -> NINJ 3, EXDURD 63 + 28 = 91,
    # CUMDOSE 360, DOSEINT 360/91*28 = 110.769..., RDI 100*110.769/120 = 92.307...
    # B: 1 injection of 60 mg -> EXDURD 28, CUMDOSE 60, DOSEINT 60, RDI 50. A 0 mg record is not a dose.
    ex = pd.DataFrame({"USUBJID": [A, A, A, B, B], "EXSEQ": [1.0, 2.0, 3.0, 1.0, 2.0], "EXTRT": "LANREOTIDE",
                       "EXDOSE": [120.0, 120.0, 120.0, 60.0, 0.0],
                       "EXSTDTC": ["2021-01-04T09:00", "2021-02-01", "2021-03-08", "2021-01-04", "2021-02-01"]})
    assert sas("2021-03-08") == S + 63
    out, _ = derive_adex({"EX": ex}, adsl(), load_dataset("ADEX"))
    v = out.set_index(["USUBJID", "PARAMCD"])["AVAL"]
    assert (v[(A, "NINJ")], v[(A, "EXDURD")], v[(A, "CUMDOSE")]) == (3.0, 91.0, 360.0)
    assert math.isclose(v[(A, "DOSEINT")], 360 / 91 * 28) and math.isclose(v[(A, "RDI")], 100 * 360 / 91 * 28 / 120)
    assert (v[(B, "NINJ")], v[(B, "EXDURD")], v[(B, "DOSEINT")], v[(B, "RDI")]) == (1.0, 28.0, 60.0, 50.0)
    assert C not in set(out["USUBJID"])  # not dosed (SAFFL N)
    assert out.set_index(["USUBJID", "PARAMCD"]).loc[(A, "NINJ"), "SELFFL"] == "Y"


def test_severity_from_grade_when_aesev_is_absent():
    # PALACE collects only the CTCAE grade: ASEV from ATOXGR per the spec's map (grade 3 -> SEVERE,
    # CTCAE v5.0: grade 3 = severe); with AESEV present the collected severity is kept.
    rows = ae().drop(columns="AESEV").assign(AETOXGR=["1", "2", "3", "4", "5", "1", "2", "3", ""])
    out, _ = derive_adae({"AE": rows}, adsl(), load_dataset("ADAE"))
    got = out.set_index(["USUBJID", "AESEQ"])["ASEV"]
    assert [got[(A, s)] for s in (1.0, 2.0, 3.0, 4.0, 5.0)] == ["MILD", "MODERATE", "SEVERE", "SEVERE", "SEVERE"]
    assert got[(C, 1.0)] == ""  # no grade: no severity
    kept, _ = derive_adae({"AE": ae().assign(AETOXGR="3")}, adsl(), load_dataset("ADAE"))
    assert set(kept["ASEV"]) == {"MILD"}
