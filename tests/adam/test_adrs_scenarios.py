"""ADRS golden scenarios: one small hand-built subject each, expected values derived by hand.

Study days: day 1 = TRTSDT (first dose); ADT = TRTSDT + day - 1, so "ADT >= TRTSDT + 42" (the PALACE
minimum SD duration, admiralonco ref_start_window) means study day >= 43. Confirmation interval 28
days: a response on day d is confirmable by an assessment on day >= d + 28. Investigator parameters
carry the suffix INV; BICR parameters have none (PALACE primary evaluator).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.adam.test_adrs_builder import TRT, Study, day_iso, load_spec, sas


@pytest.fixture(scope="module")
def spec():
    return load_spec()


def one_subject(*visits: tuple[int, str], death_day: int | None = None, reader: str = "INV") -> Study:
    s = Study().subject("P-001", death_day=death_day)
    for d, r in visits:
        s.ovr("P-001", d, r, reader=reader)
    return s


U = "P-001"


# --- confirmation (RECIST 1.1 sec. 4.6: CR/PR repeated >= 4 weeks later; admiralonco confirmed BOR) ----

def test_pr_confirmed_at_exactly_28_days(spec):
    # PR day 57, PR day 85: 85 - 57 = 28 >= 28 -> confirmed PR, dated at the first PR
    r = one_subject((57, "PR"), (85, "PR")).run(spec)
    assert r.val(U, "CBORINV") == "PR" and r.one(U, "CBORINV")["AVAL"] == 2
    assert r.day(U, "CBORINV") == 57
    assert r.val(U, "CRSPINV") == "Y" and r.one(U, "CRSPINV")["AVAL"] == 1
    assert r.val(U, "CBCPINV") == "Y"


def test_pr_only_27_days_apart_is_unconfirmed(spec):
    # PR day 57, PR day 84: 27 days < 28 -> no confirmation. CBOR: a PR at day >= 43 counts as SD
    # (admiralonco: CR/PR/SD after ref_start_window -> SD). BOR (no confirmation needed): PR.
    r = one_subject((57, "PR"), (84, "PR")).run(spec)
    assert r.val(U, "CBORINV") == "SD" and r.one(U, "CBORINV")["AVAL"] == 3
    assert r.day(U, "CBORINV") == 57
    assert r.val(U, "BORINV") == "PR"
    assert r.val(U, "CRSPINV") == "N" and r.day(U, "CRSPINV") is None
    assert r.val(U, "RSPINV") == "Y"


def test_unconfirmed_pr_then_sd(spec):
    # PR day 57 then SD day 113: the first CR/PR >= 28 days later does not exist -> unconfirmed
    r = one_subject((57, "PR"), (113, "SD")).run(spec)
    assert (r.val(U, "BORINV"), r.val(U, "CBORINV")) == ("PR", "SD")
    assert r.val(U, "BCPINV") == "Y" and r.val(U, "CBCPINV") == "N"


def test_cr_confirmed_by_cr(spec):
    # CR day 57, CR day 85 (28 days): confirmed CR, AVAL 1
    r = one_subject((57, "CR"), (85, "CR")).run(spec)
    assert r.val(U, "CBORINV") == "CR" and r.one(U, "CBORINV")["AVAL"] == 1
    assert r.val(U, "BORINV") == "CR"


def test_cr_then_pr_confirms_neither(spec):
    # RECIST 1.1 Table 3 note: CR followed by PR is SD, PD or PR depending on whether the CR was real;
    # admiralonco treats it as a data issue: PR after CR confirms neither. Conservative result: CBOR SD
    # (both at day >= 43), BOR CR (unconfirmed best), and a warning finding.
    r = one_subject((57, "CR"), (85, "PR")).run(spec)
    assert r.val(U, "CBORINV") == "SD"
    assert r.val(U, "BORINV") == "CR"
    assert r.val(U, "CRSPINV") == "N"
    assert "ADRS-CRPR" in r.rules()


def test_pr_then_cr_confirms_pr(spec):
    # PR day 57 confirmed by CR day 85 (CR counts as confirmation of PR); the CR itself unconfirmed
    r = one_subject((57, "PR"), (85, "CR")).run(spec)
    assert r.val(U, "CBORINV") == "PR" and r.val(U, "BORINV") == "CR"


def test_one_intervening_ne_allowed_two_not(spec):
    # max_ne_between = 1: PR, NE, PR (28 d) confirms; PR, NE, NE, PR does not (-> SD)
    s = Study()
    s.subject("A").subject("B")
    for d, x in ((57, "PR"), (71, "NE"), (85, "PR")):
        s.ovr("A", d, x)
    for d, x in ((57, "PR"), (64, "NE"), (71, "NE"), (85, "PR")):
        s.ovr("B", d, x)
    r = s.run(spec)
    assert r.val("A", "CBORINV") == "PR"
    assert r.val("B", "CBORINV") == "SD" and r.val("B", "BORINV") == "PR"


def test_pr_sd_pr_is_not_confirmation_by_default(spec):
    # accept_sd = false (spec): PR day 57, SD day 71, PR day 99 -> the PR at 57 is unconfirmed; PR 99 has no
    # later confirmation -> CBOR SD. With accept_sd = true one SD is accepted -> PR.
    s = one_subject((57, "PR"), (71, "SD"), (99, "PR"))
    assert s.run(spec).val(U, "CBORINV") == "SD"
    lenient = spec.model_copy(deep=True)
    lenient.derivation.params["accept_sd"] = True
    assert s.run(lenient).val(U, "CBORINV") == "PR"


# --- minimum SD duration (42 days; admiralonco: SD counts when ADT >= TRTSDT + 42) -------------------

def test_sd_before_minimum_then_pd_is_pd(spec):
    # SD day 29 (ADT - TRTSDT = 28 < 42) -> NE; PD day 57 -> BOR = best of {NE, PD} = PD (PD ranks above NE)
    r = one_subject((29, "SD"), (57, "PD")).run(spec)
    assert r.val(U, "BORINV") == "PD" and r.one(U, "BORINV")["AVAL"] == 5 and r.day(U, "BORINV") == 57
    assert r.val(U, "CBORINV") == "PD"


def test_sd_only_before_minimum_is_ne(spec):
    r = one_subject((29, "SD")).run(spec)
    assert r.val(U, "BORINV") == "NE" and r.one(U, "BORINV")["AVAL"] == 6
    assert r.val(U, "CBINV") == "N"


def test_sd_minimum_boundary_day_43_vs_42(spec):
    # day 43: ADT = TRTSDT + 42 -> counts as SD; day 42: ADT = TRTSDT + 41 -> NE
    s = Study().subject("A").subject("B")
    s.ovr("A", 43, "SD")
    s.ovr("B", 42, "SD")
    r = s.run(spec)
    assert r.val("A", "BORINV") == "SD" and r.val("B", "BORINV") == "NE"
    assert r.val("A", "CBINV") == "Y" and r.day("A", "CBINV") == 43
    assert r.val("B", "CBINV") == "N"


# --- progression -----------------------------------------------------------------------------------

def test_pd_after_confirmed_cr(spec):
    # CR 57, CR 85 (confirmed), PD 113: CBOR CR; PD parameter Y at day 113; LSTA = PD at 113
    r = one_subject((57, "CR"), (85, "CR"), (113, "PD")).run(spec)
    assert r.val(U, "CBORINV") == "CR"
    assert r.val(U, "PDINV") == "Y" and r.day(U, "PDINV") == 113
    assert r.val(U, "LSTAINV") == "PD" and r.day(U, "LSTAINV") == 113


def test_new_lesion_only_gives_pd(spec):
    # RECIST 1.1 Table 1: a new lesion -> time-point response PD whatever the target/non-target responses.
    # The overall response (RSTESTCD OVRLRESP) carries PD; TRGRESP/NEWLIND rows are not overall responses.
    s = Study().subject(U)
    s.ovr(U, 57, "SD")
    s.ovr(U, 113, "SD", testcd="TRGRESP")
    s.ovr(U, 113, "Y", testcd="NEWLIND")   # new lesions Y/N: CT NEWLIND (SF-CT-0102)
    s.ovr(U, 113, "PD")
    r = s.run(spec)
    assert len(r.rows(U, "OVRINV")) == 2
    assert r.val(U, "BORINV") == "SD"          # SD at day 57 (>= 43) beats PD
    assert r.val(U, "PDINV") == "Y" and r.day(U, "PDINV") == 113
    assert "ADRS-RESPONSE" not in r.rules()    # the NEWLIND "Y" was never read as a response


def test_responses_after_pd_are_ignored(spec):
    # filter_pd: only assessments up to and including the first PD. PR 57, PD 85, PR 113, PR 141.
    # The PRs after PD would confirm each other (28 d) but do not count: CRSP N; CBOR SD (PR 57 at >= 43).
    r = one_subject((57, "PR"), (85, "PD"), (113, "PR"), (141, "PR")).run(spec)
    ovr = r.rows(U, "OVRINV").sort_values("ADT")
    assert list(ovr["ANL01FL"]) == ["Y", "Y", "Y", "Y"]
    assert list(ovr["ANL02FL"]) == ["Y", "Y", "", ""]
    assert r.val(U, "CRSPINV") == "N" and r.val(U, "CBORINV") == "SD"
    assert r.val(U, "LSTAINV") == "PD"


def test_no_post_baseline_assessment(spec):
    # admiralonco: subjects without assessment get BOR "MISSING" (AVAL 7; missing_as_ne = false)
    s = Study().subject(U)
    s.ovr(U, -3, "NE")  # a pre-dose (baseline) record is not analysed
    r = s.run(spec)
    assert r.val(U, "BORINV") == "MISSING" and r.one(U, "BORINV")["AVAL"] == 7
    assert r.val(U, "CBORINV") == "MISSING" and math.isnan(r.one(U, "CBORINV")["ADT"])
    assert r.val(U, "LSTAINV") == "MISSING"
    assert r.val(U, "RSPINV") == "N" and r.val(U, "CBR24INV") == "N" and r.val(U, "APF24INV") == "N"
    assert r.one(U, "OVRINV")["ANL01FL"] == ""
    # BICR has no records at all for this subject: still one record per subject-level parameter
    assert r.val(U, "BOR") == "MISSING"


# --- measurable disease (TU TARGET on/before TRTSDT) ------------------------------------------------

def test_measurable_disease_at_baseline(spec):
    s = Study().subject("A").subject("B").subject("C").subject("D")
    s.lesion("A", -5, "TARGET")
    seq = s.lesion("A", -2, "TARGET")          # latest baseline TARGET date decides ADT
    s.lesion("B", -5, "NON-TARGET")            # non-target only: not measurable
    s.lesion("C", 57, "TARGET")                # after first dose: not baseline
    s.lesion("D", -5, "TARGET", reader="R1")   # BICR reader, not investigator
    r = s.run(spec)
    assert r.val("A", "MDISINV") == "Y" and r.day("A", "MDISINV") == -2
    assert r.one("A", "MDISINV")["SRCDOM"] == "TU" and r.one("A", "MDISINV")["SRCSEQ"] == seq
    assert r.val("B", "MDISINV") == "N" and r.val("C", "MDISINV") == "N"
    assert r.val("D", "MDISINV") == "N" and r.val("D", "MDIS") == "Y"
    assert r.val("A", "MDIS") == "N"


# --- evaluators and adjudication ----------------------------------------------------------------------

def test_bicr_uses_only_the_accepted_read(spec):
    # Radiologists disagree; the adjudicated (RSACPTFL = Y) read counts. Day 57: R1 PR accepted, R2 SD.
    # Day 85: R1 PD (not accepted), R2 SD accepted. BICR series = PR 57, SD 85 -> BOR PR, CBOR SD.
    s = Study().subject(U)
    a = s.ovr(U, 57, "PR", reader="R1", accepted=True)
    s.ovr(U, 57, "SD", reader="R2", accepted=False)
    s.ovr(U, 85, "PD", reader="R1", accepted=False)
    b = s.ovr(U, 85, "SD", reader="R2", accepted=True)
    r = s.run(spec)
    ovr = r.rows(U, "OVR").sort_values("ADT")
    assert list(ovr["AVALC"]) == ["PR", "SD"] and list(ovr["SRCSEQ"]) == [a, b]
    assert (ovr["PARCAT2"] == "Independent Review Facility").all()
    assert r.val(U, "BOR") == "PR" and r.val(U, "CBOR") == "SD" and r.val(U, "PD") == "N"


def test_investigator_and_bicr_evaluated_separately(spec):
    s = Study().subject(U)
    for d in (57, 85):
        s.ovr(U, d, "PR", reader="INV")
        s.ovr(U, d, "SD", reader="R1")
    r = s.run(spec)
    assert r.val(U, "CBORINV") == "PR" and r.val(U, "CBOR") == "SD"
    assert r.one(U, "CBORINV")["PARCAT2"] == "Investigator"
    assert r.one(U, "CBOR")["PARAM"] == "Best Confirmed Overall Response by BICR"


# --- dates ---------------------------------------------------------------------------------------------

def test_partial_rsdtc_imputed_and_flagged(spec):
    # "2021-08" -> first day of month 2021-08-01, ADTF "D". "2021-06" with TRTSDT 2021-06-10: the
    # first day (06-01) is before TRTSDT, which lies within June -> raised to TRTSDT (ADT 2021-06-10).
    s = Study().subject("A").subject("B", trt="2021-06-10")
    s.ovr("A", None, "SD", dtc="2021-08")
    s.ovr("B", None, "SD", dtc="2021-06")
    r = s.run(spec)
    a, b = r.one("A", "OVRINV"), r.one("B", "OVRINV")
    assert a["ADT"] == sas("2021-08-01") and a["ADTF"] == "D" and a["ADY"] == 62 and a["ANL01FL"] == "Y"
    assert b["ADT"] == sas("2021-06-10") and b["ADTF"] == "D" and b["ADY"] == 1
    # the flag travels with the date onto the subject-level record it determines
    assert r.one("A", "BORINV")["ADTF"] == "D" and r.val("A", "BORINV") == "SD"


def test_invalid_rsdtc_reported_not_analysed(spec):
    s = Study().subject(U)
    seq = s.ovr(U, None, "PR", dtc="2021-02-30")
    r = s.run(spec)
    f = next(f for f in r.findings if f.rule == "ADRS-DATE")
    assert f.severity.value == "ERROR" and f.record == f"RSSEQ={seq}" and f.value == "2021-02-30"
    assert f.usubjid == U and f.variable == "RSDTC"
    assert r.one(U, "OVRINV")["ANL01FL"] == "" and r.val(U, "BORINV") == "MISSING"


def test_unknown_response_value_reported(spec):
    s = Study().subject(U)
    s.ovr(U, 57, "STABLE")
    r = s.run(spec)
    f = next(f for f in r.findings if f.rule == "ADRS-RESPONSE")
    assert f.value == "STABLE" and f.record == "RSSEQ=1"
    assert math.isnan(r.one(U, "OVRINV")["AVAL"]) and r.one(U, "OVRINV")["ANL01FL"] == ""


def test_worst_response_flagged_when_two_on_one_date(spec):
    # two investigator records on day 57 (SD and PD): ANL01FL on the PD (worst), BOR PD
    s = Study().subject(U)
    s.ovr(U, 57, "SD")
    pd_seq = s.ovr(U, 57, "PD")
    r = s.run(spec)
    flagged = r.rows(U, "OVRINV").query("ANL01FL == 'Y'")
    assert list(flagged["SRCSEQ"]) == [pd_seq]
    assert r.val(U, "BORINV") == "PD" and "ADRS-DUPDATE" in r.rules()


# --- non-measurable disease only -----------------------------------------------------------------------

def test_non_cr_non_pd_only(spec):
    # RECIST 1.1 Table 2 (non-target disease only): NON-CR/NON-PD. BOR NON-CR/NON-PD (AVAL 4);
    # no response (RSP N); clinical benefit Y (admiralonco CB counts NON-CR/NON-PD after 42 days);
    # CBR24 Y: the day-169 assessment is in [154, 182] and is NON-CR/NON-PD.
    r = one_subject((57, "NON-CR/NON-PD"), (113, "NON-CR/NON-PD"), (169, "NON-CR/NON-PD")).run(spec)
    assert r.val(U, "BORINV") == "NON-CR/NON-PD" and r.one(U, "BORINV")["AVAL"] == 4
    assert r.val(U, "CBORINV") == "NON-CR/NON-PD"
    assert r.val(U, "RSPINV") == "N" and r.val(U, "CBINV") == "Y" and r.day(U, "CBINV") == 57
    assert r.val(U, "CBR24INV") == "Y" and r.day(U, "CBR24INV") == 169


# --- PALACE week-24 / week-48 endpoints (window: target day +/- 14; W24 = day 168, W48 = day 336) --------

def test_cbr24_true_by_continued_sd(spec):
    # SD 57, 113, 169: the in-window [154, 182] assessment (169) is SD with no PD before -> CBR24 Y.
    # No assessment in [322, 350] -> CBR48 N (conservative: a missed week-48 scan is not benefit).
    r = one_subject((57, "SD"), (113, "SD"), (169, "SD")).run(spec)
    assert r.val(U, "CBR24INV") == "Y" and r.day(U, "CBR24INV") == 169
    assert r.val(U, "CBR48INV") == "N"
    assert r.val(U, "DCR24INV") == "Y" and r.day(U, "DCR24INV") == 57


def test_cbr24_false_when_pd_before_week_24(spec):
    # SD 57, PD 113, SD 169: the SD at 169 is after the first PD and is not analysed -> CBR24 N
    r = one_subject((57, "SD"), (113, "PD"), (169, "SD")).run(spec)
    assert r.val(U, "CBR24INV") == "N"
    assert r.val(U, "APF24INV") == "N" and r.day(U, "APF24INV") == 113  # PD on/before day 168 decides
    assert r.val(U, "DCR24INV") == "Y"  # SD at day 57 >= 43 before PD: disease control by week 24


def test_cbr24_false_when_week_24_assessment_missing(spec):
    # SD 57, SD 113, SD 225: nothing in [154, 182] -> CBR24 N (conservative reading), but APF24 Y:
    # the SD at day 225 >= 154 shows the subject progression-free at week 24, no PD/death.
    r = one_subject((57, "SD"), (113, "SD"), (225, "SD")).run(spec)
    assert r.val(U, "CBR24INV") == "N"
    assert r.val(U, "APF24INV") == "Y" and r.day(U, "APF24INV") == 225


def test_cbr48_window_edges(spec):
    # W48 window [322, 350]: SD on day 350 counts, on day 351 does not
    s = Study().subject("A").subject("B")
    for u, last in (("A", 350), ("B", 351)):
        for d in (57, 169, last):
            s.ovr(u, d, "SD")
    r = s.run(spec)
    assert r.val("A", "CBR48INV") == "Y" and r.day("A", "CBR48INV") == 350
    assert r.val("B", "CBR48INV") == "N"
    assert r.val("A", "CBR24INV") == "Y" and r.val("B", "CBR24INV") == "Y"


def test_cbr24_uses_assessment_closest_to_target(spec):
    # SD 157 and PD 181 both in [154, 182]: |157 - 168| = 11 < |181 - 168| = 13, so the SD at 157 is the
    # week-24 assessment -> Y (the PD at 181 comes after it).
    r = one_subject((57, "SD"), (157, "SD"), (181, "PD")).run(spec)
    assert r.val(U, "CBR24INV") == "Y" and r.day(U, "CBR24INV") == 157
    # APF24: PD at day 181 > 168 and SD at 157 >= 154 shows progression-free at week 24
    assert r.val(U, "APF24INV") == "Y"


def test_apf24_death_before_week_24(spec):
    # SD 57, SD 155 (>= 154, would show PF) but death on day 160 <= 168 -> not alive at week 24: N,
    # ADT = death date. DEATH parameter Y from ADSL.DTHDT (PARCAT1 "Reference Event").
    r = one_subject((57, "SD"), (155, "SD"), death_day=160).run(spec)
    assert r.val(U, "APF24INV") == "N" and r.day(U, "APF24INV") == 160
    assert r.val(U, "DEATH") == "Y" and r.day(U, "DEATH") == 160
    d = r.one(U, "DEATH")
    assert d["PARCAT1"] == "Reference Event" and d["SRCDOM"] == "ADSL" and d["SRCVAR"] == "DTHDT"
    assert r.val(U, "CBR24INV") == "Y"   # SD at 155 in window; CBR does not consider survival


def test_apf24_alive_and_progression_free(spec):
    r = one_subject((57, "SD"), (169, "SD"), death_day=400).run(spec)
    assert r.val(U, "APF24INV") == "Y" and r.day(U, "APF24INV") == 169
    assert r.val(U, "APF48INV") == "N" and r.day(U, "APF48INV") is None  # no assessment >= day 322


def test_orr24_counts_confirmation_only_by_window_end(spec):
    # ORR24 needs the confirming scan by the end of the week-24 window (day 182).
    # A: PR 141 confirmed by PR 169 (<= 182) -> ORR24 Y (ADT = day 141).
    # B: PR 169 confirmed by PR 197 (> 182) -> ORR24 N, ORR48 Y, CRSP Y.
    s = Study().subject("A").subject("B")
    for d in (57, 141, 169):
        s.ovr("A", d, "SD" if d == 57 else "PR")
    for d in (57, 169, 197):
        s.ovr("B", d, "SD" if d == 57 else "PR")
    r = s.run(spec)
    assert r.val("A", "ORR24INV") == "Y" and r.day("A", "ORR24INV") == 141
    assert r.val("B", "ORR24INV") == "N" and r.val("B", "ORR48INV") == "Y" and r.val("B", "CRSPINV") == "Y"
    # DCR24 for B: the PR at 169 is unconfirmed by day 182 but counts as SD (>= 43) -> Y
    assert r.val("B", "DCR24INV") == "Y"


def test_dcr24_needs_sd_after_minimum_duration(spec):
    # SD 29 (< 43), NE 57, NE 113: no SD-or-better at >= day 43 by day 182 -> DCR24 N
    r = one_subject((29, "SD"), (57, "NE"), (113, "NE")).run(spec)
    assert r.val(U, "DCR24INV") == "N" and r.val(U, "BORINV") == "NE"


def test_cbr24_confirmed_response_qualifies(spec):
    # PR 57 confirmed by PR 85, then PD 113: CBR24 Y through the confirmed response (spec
    # confirmed_response_qualifies = true), ADT = the response. Switched off: no week-24 assessment -> N.
    s = one_subject((57, "PR"), (85, "PR"), (113, "PD"))
    r = s.run(spec)
    assert r.val(U, "CBR24INV") == "Y" and r.day(U, "CBR24INV") == 57
    strict = spec.model_copy(deep=True)
    for p in strict.parameters:
        if p.paramcd == "CBR24INV":
            p.derivation.params["confirmed_response_qualifies"] = False
    assert s.run(strict).val(U, "CBR24INV") == "N"


# --- record-level variables ------------------------------------------------------------------------------

def test_ovr_record_variables(spec):
    s = Study().subject(U)
    seq = s.ovr(U, 57, "PR")
    r = s.run(spec)
    o = r.one(U, "OVRINV")
    assert o["PARAM"] == "Overall Response by Investigator"
    assert (o["PARCAT1"], o["PARCAT2"], o["PARCAT3"]) == ("Tumor Response", "Investigator", "RECIST 1.1")
    assert o["AVAL"] == 2 and o["ADT"] == sas(day_iso(57)) and o["ADY"] == 57
    assert (o["AVISIT"], o["AVISITN"]) == ("DAY 57", 157)
    assert (o["SRCDOM"], o["SRCVAR"], o["SRCSEQ"]) == ("RS", "RSSTRESC", seq)
    assert o["TRTSDT"] == sas(TRT) and o["STUDYID"] == "PALACE" and o["SITEID"] == "101"
    b = r.one(U, "BORINV")
    assert b["AVISIT"] == "" and pd.isna(b["AVISITN"]) and b["ANL01FL"] == "Y" and b["SRCSEQ"] == seq


# --- spec switches -----------------------------------------------------------------------------------------

def _variant(spec, **params):
    v = spec.model_copy(deep=True)
    v.derivation.params.update(params)
    return v


def test_switch_responses_after_pd(spec):
    # responses_after_pd = true: PR 113 and PR 141 (after PD 85) now confirm each other -> CRSP Y at day 113
    s = one_subject((57, "SD"), (85, "PD"), (113, "PR"), (141, "PR"))
    assert s.run(spec).val(U, "CRSPINV") == "N"
    r = s.run(_variant(spec, responses_after_pd=True))
    assert r.val(U, "CRSPINV") == "Y" and r.day(U, "CRSPINV") == 113
    assert (r.rows(U, "OVRINV")["ANL02FL"] == "Y").all()


def test_switch_missing_as_ne(spec):
    # admiralonco missing_as_ne = TRUE: no assessment -> NE (AVAL 6) instead of MISSING (AVAL 7)
    s = Study().subject(U)
    r = s.run(_variant(spec, missing_as_ne=True))
    assert r.val(U, "BORINV") == "NE" and r.one(U, "BORINV")["AVAL"] == 6
    assert r.val(U, "CBORINV") == "NE"


def test_switch_no_date_imputation(spec):
    # date_imputation = none: a partial RSDTC gives no ADT; the record is reported and not analysed
    s = Study().subject(U)
    s.ovr(U, None, "SD", dtc="2021-08")
    r = s.run(_variant(spec, date_imputation="none"))
    o = r.one(U, "OVRINV")
    assert math.isnan(o["ADT"]) and o["ANL01FL"] == "" and o["ADTF"] == ""
    assert any(f.rule == "ADRS-DATE" and f.value == "2021-08" for f in r.findings)


def test_switch_min_sd_days(spec):
    # min_sd_days = 56 (8 weeks): SD on day 57 (ADT - TRTSDT = 56) counts; on day 56 it does not
    s = Study().subject("A").subject("B")
    s.ovr("A", 57, "SD")
    s.ovr("B", 56, "SD")
    r = s.run(_variant(spec, min_sd_days=56))
    assert r.val("A", "BORINV") == "SD" and r.val("B", "BORINV") == "NE"


# --- parameters whose effect PALACE's on-schedule imaging never shows (issue 12) --------------------------

def test_bcp_dates_the_best_response_rsp_the_first(spec):
    # RECIST 1.1 sec. 4.4 (best overall response = best recorded): PR day 57, CR day 141 -> BOR CR (day 141).
    # BCP (from_bor = true, admiralonco "best overall response of CR/PR") is Y at the BOR date, day 141;
    # RSP (from_bor = false) is Y at the first CR/PR, day 57.
    r = one_subject((57, "PR"), (141, "CR")).run(spec)
    assert r.val(U, "BORINV") == "CR" and r.day(U, "BORINV") == 141
    assert r.val(U, "BCPINV") == "Y" and r.day(U, "BCPINV") == 141
    assert r.val(U, "RSPINV") == "Y" and r.day(U, "RSPINV") == 57


def test_early_unconfirmed_pr_gives_cb_not_ccb(spec):
    # PR day 29 (before the SD minimum, study day 43), PD day 57: the PR is a response when confirmation is not
    # required -> CB Y (day 29); RECIST 1.1 sec. 4.6 needs a CR/PR >= 28 days later, the PD is not -> no
    # confirmed response, and no CR/PR/SD at day >= 43 -> CCB N.
    r = one_subject((29, "PR"), (57, "PD")).run(spec)
    assert r.val(U, "CBINV") == "Y" and r.day(U, "CBINV") == 29
    assert r.val(U, "CCBINV") == "N"


def test_cbr24_window_start_edge(spec):
    # W24 window [168 - 14, 168 + 14] = [154, 182]: SD on day 154 is the week-24 assessment (Y), SD on day 153
    # is outside it and there is no other in-window scan -> N (the conservative reading of the method text).
    s = Study().subject("A").subject("B")
    for u, last in (("A", 154), ("B", 153)):
        for d in (57, last):
            s.ovr(u, d, "SD")
    r = s.run(spec)
    assert r.val("A", "CBR24INV") == "Y" and r.day("A", "CBR24INV") == 154
    assert r.val("B", "CBR24INV") == "N"


@pytest.mark.parametrize("endpoint, field", [("ORR", "window_before"), ("DCR", "window_before"),
                                             ("APF", "window_after"), ("ORR", "confirmed_response_qualifies")])
def test_timepoint_refuses_a_field_its_endpoint_does_not_read(endpoint, field):
    # ORR/DCR count up to the window end only, APF from the window start only; a value they ignore is refused
    from pydantic import ValidationError

    from adam.adrs_params import TimepointParams

    ok = {"evaluator": "INV", "endpoint": endpoint, "target_day": 168}
    TimepointParams.model_validate(ok)
    with pytest.raises(ValidationError, match=f"does not use {field}"):
        TimepointParams.model_validate({**ok, field: 14 if field.startswith("window") else True})
