"""ADTTE golden scenarios, each derived by hand from the rule it cites.

Conventions of every scenario (PALACE spec values): TRTSDT = S = 2021-01-04; tumour assessments are
scheduled every 84 days (S+84, S+168, ...); window 7 days, so an event more than 2*84+7 = 175 days
after the last adequate assessment follows >= 2 missed assessments. AVAL = ADT - STARTDT + 1.
CNSR codes (ADTTE.yaml): 1 no adequate post-baseline assessment, 2 no PD/death, 3 new therapy,
4 PD/death after >= 2 missed, 5 death without PD (TTP), 6 alive (OS).
FDA = "Clinical Trial Endpoints for the Approval of Cancer Drugs and Biologics" (2018), PFS table.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from adam.adtte import AdtteParams, TteParams, derive_adtte
from tests.adam.conftest import sas

S = sas("2021-01-04")
START, LASTAD, ALIVE = "TREATMENT START DATE", "LAST ADEQUATE TUMOR ASSESSMENT", "LAST KNOWN ALIVE DATE"
PD_, DEATH = "DISEASE PROGRESSION", "DEATH"


def adsl_row(usubjid: str, *, trtsdt: float = S, dthdt: float = np.nan, dthdtf: str = "",
             lstalvdt: float = np.nan) -> dict:
    return {"STUDYID": "PALACE", "USUBJID": usubjid, "SUBJID": usubjid[-7:], "SITEID": usubjid[-7:-4],
            "FASFL": "Y", "EFFFL": "Y", "TRTSDT": trtsdt, "DTHDT": dthdt, "DTHDTF": dthdtf, "LSTALVDT": lstalvdt}


def ovr(usubjid: str, *visits: tuple[int, str], paramcd: str = "OVR", seq0: int = 1, anl: str = "Y") -> list[dict]:
    """Per-visit ADRS overall responses at S + day (SRCSEQ numbered from seq0)."""
    return [{"USUBJID": usubjid, "PARAMCD": paramcd, "ADT": S + day, "AVALC": resp, "ANL01FL": anl,
             "SRCSEQ": float(seq0 + i)} for i, (day, resp) in enumerate(visits)]


def run(adsl_rows: list[dict], adrs_rows: list[dict], spec, cm: pd.DataFrame | None = None):
    adsl = pd.DataFrame(adsl_rows)
    adrs = pd.DataFrame(adrs_rows, columns=["USUBJID", "PARAMCD", "ADT", "AVALC", "ANL01FL", "SRCSEQ"])
    sdtm = {"CM": cm} if cm is not None else {}
    tte, findings = derive_adtte(sdtm, adsl, adrs, spec)
    return tte.set_index(["USUBJID", "PARAMCD"]), findings


def check(tte, usubjid, paramcd, *, adt, cnsr, evntdesc, cnsdtdsc="", srcdom=None, srcseq=None, startdt=S):
    r = tte.loc[(usubjid, paramcd)]
    assert r["STARTDT"] == startdt
    assert r["ADT"] == adt, (usubjid, paramcd)
    assert r["AVAL"] == adt - startdt + 1
    assert r["CNSR"] == cnsr, (usubjid, paramcd, r["CNSR"])
    assert r["EVNTDESC"] == evntdesc
    assert r["CNSDTDSC"] == cnsdtdsc
    if srcdom is not None:
        assert r["SRCDOM"] == srcdom
    if srcseq is not None:
        assert r["SRCSEQ"] == srcseq


def test_pd_at_week_24_is_an_event(adtte_spec):
    # FDA row "Documented progression": event at the date of the PD assessment (day S+168 -> AVAL 169).
    tte, _ = run([adsl_row("P-001", lstalvdt=S + 170)], ovr("P-001", (84, "SD"), (168, "PD")), adtte_spec)
    check(tte, "P-001", "PFS", adt=S + 168, cnsr=0, evntdesc=PD_, srcdom="RS", srcseq=2.0)
    check(tte, "P-001", "TTP", adt=S + 168, cnsr=0, evntdesc=PD_)
    assert tte.loc[("P-001", "PFS"), "AVAL"] == 169
    assert tte.loc[("P-001", "PFS"), "SRCVAR"] == "RSDTC"


def test_death_without_pd_is_pfs_event_and_censors_ttp(adtte_spec):
    # FDA: death without PD between adequate visits -> PFS event at death; TTP counts PD only, so the
    # death censors at the last adequate assessment (S+168, CNSR 5). OS: event at death.
    tte, _ = run([adsl_row("P-002", dthdt=S + 200, lstalvdt=S + 200)],
                 ovr("P-002", (84, "SD"), (168, "SD")), adtte_spec)
    check(tte, "P-002", "PFS", adt=S + 200, cnsr=0, evntdesc=DEATH, srcdom="ADSL")
    check(tte, "P-002", "TTP", adt=S + 168, cnsr=5, evntdesc="DEATH WITHOUT PROGRESSION", cnsdtdsc=LASTAD)
    check(tte, "P-002", "OS", adt=S + 200, cnsr=0, evntdesc=DEATH)


def test_no_post_baseline_assessment_censored_at_start(adtte_spec):
    # FDA "No baseline or no adequate post-baseline assessment": censored at the start date (AVAL 1).
    # The assessment on the start date itself is baseline, not post-baseline.
    tte, _ = run([adsl_row("P-003", lstalvdt=S + 30)], ovr("P-003", (0, "SD")), adtte_spec)
    check(tte, "P-003", "PFS", adt=S, cnsr=1, evntdesc="NO ADEQUATE POST-BASELINE TUMOR ASSESSMENT",
          cnsdtdsc=START, srcdom="ADSL")
    assert tte.loc[("P-003", "PFS"), "SRCVAR"] == "TRTSDT"
    assert tte.loc[("P-003", "PFS"), "AVAL"] == 1


def test_pd_after_two_missed_assessments_censored_before_gap(adtte_spec):
    # Visits S+168 and S+252 missed; PD at S+336 is 252 days after the last adequate (S+84) > 175:
    # FDA "PD after two or more missed visits" -> censored at the last adequate assessment, S+84.
    tte, _ = run([adsl_row("P-004", lstalvdt=S + 336)], ovr("P-004", (84, "SD"), (336, "PD")), adtte_spec)
    check(tte, "P-004", "PFS", adt=S + 84, cnsr=4, evntdesc="PROGRESSION OR DEATH AFTER 2+ MISSED ASSESSMENTS",
          cnsdtdsc=LASTAD, srcseq=1.0)
    check(tte, "P-004", "TTP", adt=S + 84, cnsr=4, evntdesc="PROGRESSION OR DEATH AFTER 2+ MISSED ASSESSMENTS",
          cnsdtdsc=LASTAD)


def test_one_missed_assessment_then_pd_is_event(adtte_spec):
    # Only S+168 missed: PD at S+252 is 168 days after S+84 (<= 175) -> event (AVAL 253).
    tte, _ = run([adsl_row("P-005", lstalvdt=S + 252)], ovr("P-005", (84, "SD"), (252, "PD")), adtte_spec)
    check(tte, "P-005", "PFS", adt=S + 252, cnsr=0, evntdesc=PD_)


def test_ne_visits_count_as_missed(adtte_spec):
    # An NE overall response is not adequate: SD S+84, NE S+168, NE S+252, PD S+336 -> 252 days gap -> CNSR 4.
    tte, _ = run([adsl_row("P-006")], ovr("P-006", (84, "SD"), (168, "NE"), (252, "NE"), (336, "PD")), adtte_spec)
    check(tte, "P-006", "PFS", adt=S + 84, cnsr=4, evntdesc="PROGRESSION OR DEATH AFTER 2+ MISSED ASSESSMENTS",
          cnsdtdsc=LASTAD)


def test_new_anticancer_therapy_before_pd(adtte_spec):
    # FDA "Treatment discontinuation ... new anticancer treatment started": censored at the last adequate
    # assessment on or before the therapy start (S+200 -> last adequate S+168), CNSR 3.
    cm = pd.DataFrame({"USUBJID": ["P-007", "P-007"], "CMSEQ": [1.0, 2.0],
                       "CMCAT": ["SUBSEQUENT ANTI-CANCER THERAPY", "PRIOR CANCER THERAPY"],
                       "CMSTDTC": ["2021-07-23", "2020-01-01"]})  # 2021-07-23 = S+200
    assert sas("2021-07-23") == S + 200
    tte, _ = run([adsl_row("P-007")], ovr("P-007", (84, "SD"), (168, "SD"), (252, "PD")), adtte_spec, cm)
    check(tte, "P-007", "PFS", adt=S + 168, cnsr=3, evntdesc="NEW ANTI-CANCER THERAPY BEFORE PROGRESSION",
          cnsdtdsc=LASTAD, srcseq=2.0)
    check(tte, "P-007", "TTP", adt=S + 168, cnsr=3, evntdesc="NEW ANTI-CANCER THERAPY BEFORE PROGRESSION",
          cnsdtdsc=LASTAD)


def test_partial_therapy_date_imputed_to_first_day(adtte_spec):
    # CMSTDTC "2021-06" is imputed to 2021-06-01 = S+148 (conservative earliest day; spec fill 'first'),
    # which is before the S+168 SD, so the last adequate assessment on/before it is S+84.
    cm = pd.DataFrame({"USUBJID": ["P-008"], "CMSEQ": [1.0], "CMCAT": ["SUBSEQUENT ANTI-CANCER THERAPY"],
                       "CMSTDTC": ["2021-06"]})
    assert sas("2021-06-01") == S + 148
    tte, _ = run([adsl_row("P-008")], ovr("P-008", (84, "SD"), (168, "SD")), adtte_spec, cm)
    check(tte, "P-008", "PFS", adt=S + 84, cnsr=3, evntdesc="NEW ANTI-CANCER THERAPY BEFORE PROGRESSION",
          cnsdtdsc=LASTAD)


def test_therapy_on_pd_date_keeps_the_event(adtte_spec):
    # "New therapy BEFORE PD" is strict: therapy starting on the PD date does not censor.
    cm = pd.DataFrame({"USUBJID": ["P-009"], "CMCAT": ["SUBSEQUENT ANTI-CANCER THERAPY"], "CMSTDTC": ["2021-06-21"]})
    assert sas("2021-06-21") == S + 168
    tte, _ = run([adsl_row("P-009")], ovr("P-009", (84, "SD"), (168, "PD")), adtte_spec, cm)
    check(tte, "P-009", "PFS", adt=S + 168, cnsr=0, evntdesc=PD_)


def test_death_before_first_assessment_is_event(adtte_spec):
    # FDA "Death before first PD assessment": PFS event at death (S+40, within 2*84+7 of start).
    # TTP: death without PD and no adequate assessment -> censored at start with CNSR 5.
    tte, _ = run([adsl_row("P-010", dthdt=S + 40, lstalvdt=S + 40)], [], adtte_spec)
    check(tte, "P-010", "PFS", adt=S + 40, cnsr=0, evntdesc=DEATH, srcdom="ADSL")
    check(tte, "P-010", "TTP", adt=S, cnsr=5, evntdesc="DEATH WITHOUT PROGRESSION", cnsdtdsc=START)
    assert tte.loc[("P-010", "PFS"), "SRCVAR"] == "DTHDT"


def test_all_ne_post_baseline_censored_at_start(adtte_spec):
    # No adequate post-baseline assessment (all NE) and no event -> censored at start (CNSR 1).
    tte, _ = run([adsl_row("P-011", lstalvdt=S + 170)], ovr("P-011", (84, "NE"), (168, "NE")), adtte_spec)
    check(tte, "P-011", "PFS", adt=S, cnsr=1, evntdesc="NO ADEQUATE POST-BASELINE TUMOR ASSESSMENT", cnsdtdsc=START)


def test_all_ne_then_late_death_censored_at_start(adtte_spec):
    # FDA: no adequate assessment and death after two or more missed visits (S+300 > 175 from start)
    # -> censored at start, not an event.
    tte, _ = run([adsl_row("P-012", dthdt=S + 300)], ovr("P-012", (84, "NE"), (168, "NE")), adtte_spec)
    check(tte, "P-012", "PFS", adt=S, cnsr=1, evntdesc="NO ADEQUATE POST-BASELINE TUMOR ASSESSMENT", cnsdtdsc=START)
    check(tte, "P-012", "OS", adt=S + 300, cnsr=0, evntdesc=DEATH)


def test_alive_without_pd_censored_at_last_adequate_and_os_at_lstalvdt(adtte_spec):
    # FDA "No progression": censored at the last adequate assessment (NE at S+252 is not adequate).
    # OS (admiral censor_source lastalive): censored at LSTALVDT = S+400, CNSR 6.
    tte, _ = run([adsl_row("P-013", lstalvdt=S + 400)], ovr("P-013", (84, "SD"), (168, "SD"), (252, "NE")),
                 adtte_spec)
    check(tte, "P-013", "PFS", adt=S + 168, cnsr=2, evntdesc="NO PROGRESSION OR DEATH", cnsdtdsc=LASTAD)
    check(tte, "P-013", "OS", adt=S + 400, cnsr=6, evntdesc="ALIVE", cnsdtdsc=ALIVE, srcdom="ADSL")
    assert tte.loc[("P-013", "OS"), "SRCVAR"] == "LSTALVDT"
    assert tte.loc[("P-013", "OS"), "AVAL"] == 401


def test_dor_for_confirmed_responder_and_none_for_non_responder(adtte_spec):
    # DOR (admiralonco ad_adtte: start at the first response of the confirmed pair, CRSP ADT):
    # PR S+84 confirmed by PR S+168, PD S+336 -> event, STARTDT S+84, AVAL 336-84+1 = 253.
    # A non-responder (CRSP N) gets no DOR record; a responder without PD is censored at the last adequate.
    rows = (ovr("P-014", (84, "PR"), (168, "PR"), (252, "SD"), (336, "PD"))
            + [{"USUBJID": "P-014", "PARAMCD": "CRSP", "ADT": S + 84, "AVALC": "Y", "ANL01FL": "Y", "SRCSEQ": 1.0}]
            + ovr("P-015", (84, "SD"), (168, "SD"))
            + [{"USUBJID": "P-015", "PARAMCD": "CRSP", "ADT": np.nan, "AVALC": "N", "ANL01FL": "Y", "SRCSEQ": np.nan}]
            + ovr("P-016", (84, "PR"), (168, "CR"))
            + [{"USUBJID": "P-016", "PARAMCD": "CRSP", "ADT": S + 84, "AVALC": "Y", "ANL01FL": "Y", "SRCSEQ": 1.0}])
    tte, _ = run([adsl_row("P-014"), adsl_row("P-015"), adsl_row("P-016")], rows, adtte_spec)
    check(tte, "P-014", "DOR", adt=S + 336, cnsr=0, evntdesc=PD_, startdt=S + 84)
    assert tte.loc[("P-014", "DOR"), "AVAL"] == 253
    assert ("P-015", "DOR") not in tte.index
    check(tte, "P-016", "DOR", adt=S + 168, cnsr=2, evntdesc="NO PROGRESSION OR DEATH", cnsdtdsc=LASTAD,
          startdt=S + 84)


def test_imputed_death_date_flag_carried_to_adt(adtte_spec):
    # ADSL imputed DTHDTC "2021-07" to 2021-07-10 (the last-alive date inside that month; DTHDTF "D":
    # first day of the month, raised to the last known alive date when that lies in the month - admiral
    # min_dates). OS and PFS events at that date carry ADTF "D".
    d = sas("2021-07-10")
    tte, _ = run([adsl_row("P-017", dthdt=d, dthdtf="D", lstalvdt=d)], ovr("P-017", (84, "SD")), adtte_spec)
    check(tte, "P-017", "OS", adt=d, cnsr=0, evntdesc=DEATH)
    check(tte, "P-017", "PFS", adt=d, cnsr=0, evntdesc=DEATH)
    assert tte.loc[("P-017", "OS"), "ADTF"] == "D"
    assert tte.loc[("P-017", "PFS"), "ADTF"] == "D"
    assert tte.loc[("P-017", "TTP"), "ADTF"] == ""


def test_bicr_and_investigator_are_separate(adtte_spec):
    # PFS reads OVR (BICR), PFSINV reads OVRINV: the investigator's PD does not make a BICR event.
    rows = ovr("P-018", (84, "SD"), (168, "SD")) + ovr("P-018", (84, "SD"), (168, "PD"), paramcd="OVRINV", seq0=11)
    tte, _ = run([adsl_row("P-018")], rows, adtte_spec)
    check(tte, "P-018", "PFS", adt=S + 168, cnsr=2, evntdesc="NO PROGRESSION OR DEATH", cnsdtdsc=LASTAD)
    check(tte, "P-018", "PFSINV", adt=S + 168, cnsr=0, evntdesc=PD_, srcseq=12.0)


def test_records_not_flagged_for_analysis_are_ignored(adtte_spec):
    # Only ANL01FL = "Y" (one response per date) is used: a second, unflagged PD read is not an event.
    rows = ovr("P-019", (84, "SD"), (168, "SD")) + ovr("P-019", (168, "PD"), anl="", seq0=9)
    tte, _ = run([adsl_row("P-019")], rows, adtte_spec)
    check(tte, "P-019", "PFS", adt=S + 168, cnsr=2, evntdesc="NO PROGRESSION OR DEATH", cnsdtdsc=LASTAD)


def test_pd_and_death_same_day_is_pd(adtte_spec):
    # A tie of PD and death is recorded as PD (method text MT.ADTTE.PFS).
    tte, _ = run([adsl_row("P-020", dthdt=S + 168)], ovr("P-020", (84, "SD"), (168, "PD")), adtte_spec)
    check(tte, "P-020", "PFS", adt=S + 168, cnsr=0, evntdesc=PD_, srcdom="RS")


def test_undosed_subject_has_no_records_and_a_notice(adtte_spec):
    tte, findings = run([adsl_row("P-021", trtsdt=np.nan), adsl_row("P-022")], [], adtte_spec)
    assert "P-021" not in tte.index.get_level_values(0)
    assert list(tte.loc["P-022"].index) == ["PFS", "PFSINV", "TTP", "OS"]  # spec order; no DOR (no response)
    assert list(tte.loc["P-022", "ASEQ"]) == [1.0, 2.0, 3.0, 4.0]
    assert any(f.rule == "ADTTE-NOSTART" and "P-021" in f.value for f in findings)


def test_invalid_therapy_date_reported(adtte_spec):
    cm = pd.DataFrame({"USUBJID": ["P-023"], "CMSEQ": [4.0], "CMCAT": ["SUBSEQUENT ANTI-CANCER THERAPY"],
                       "CMSTDTC": ["2021-13-01"]})
    tte, findings = run([adsl_row("P-023")], ovr("P-023", (84, "SD")), adtte_spec, cm)
    check(tte, "P-023", "PFS", adt=S + 84, cnsr=2, evntdesc="NO PROGRESSION OR DEATH", cnsdtdsc=LASTAD)
    f = [f for f in findings if f.rule == "ADTTE-DATE" and f.dataset == "CM"]
    assert len(f) == 1 and f[0].usubjid == "P-023" and f[0].value == "2021-13-01" and f[0].record == "CMSEQ=4"


def test_censor_codes_as_the_spec_says_and_last_censor_at_start(adtte_spec):
    # Several reasons may share a CNSR code (issue 13: "censor codes as the spec says"): OS uses 6 for
    # both "alive at LSTALVDT" and the fall-back at start. A censor list must end at the start date.
    os_ = next(p for p in adtte_spec.parameters if p.paramcd == "OS").derivation.params
    assert [c["cnsr"] for c in os_["censors"]] == [6, 6]
    TteParams.model_validate(os_)
    bad = {**os_, "censors": os_["censors"][:1]}
    with pytest.raises(ValidationError, match="kind 'start'"):
        TteParams.model_validate(bad)
    with pytest.raises(ValidationError, match="need `assessments`"):
        TteParams.model_validate({**os_, "censors": [{"kind": "last_assessment", "cnsr": 1, "evntdesc": "X"},
                                                     *os_["censors"]]})
    AdtteParams.model_validate(adtte_spec.derivation.params)


def test_many_subjects_vectorised_matches_single(adtte_spec):
    # The same scenario repeated for 500 subjects gives the same answer as for one (no cross-talk).
    rows, subs = [], []
    for i in range(500):
        u = f"P-9{i:03d}"
        subs.append(adsl_row(u, lstalvdt=S + 300))
        rows += ovr(u, (84, "SD"), (168 + (i % 3) * 84, "PD"))
    tte, _ = run(subs, rows, adtte_spec)
    pfs = tte.xs("PFS", level="PARAMCD")
    gap = np.array([(168 + (i % 3) * 84) - 84 for i in range(500)])
    expected = np.where(gap > 175, 4.0, 0.0)
    assert np.array_equal(pfs["CNSR"].to_numpy(), expected)
    assert not math.isnan(pfs["AVAL"].sum())
