"""ADSL golden values for hand-built subjects; expected values worked out by hand from the method texts.

Subjects: A (dosed, self-injection, complete data), B (dosed, discontinued, HCP injections),
C (screen failure), D (died with a partial death date, tie in baseline CgA), E (two end-of-study records).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from adam.adsl import AgeGroups, age_group, derive_adsl
from tests.adam.conftest import sas

A, B, C, D, E = (f"PALACE-101-00{i}" for i in range(1, 6))


def sdtm_frames() -> dict[str, pd.DataFrame]:
    dm = pd.DataFrame({
        "STUDYID": "PALACE", "USUBJID": [A, B, C, D, E], "SUBJID": ["101-001", "101-002", "101-003", "101-004", "101-005"],
        "SITEID": "101", "AGE": [64.0, 65.0, 70.0, np.nan, 30.0], "AGEU": "YEARS", "SEX": ["F", "M", "F", "M", "F"],
        "RACE": "ASIAN", "ETHNIC": "NOT HISPANIC OR LATINO", "COUNTRY": "CHN",
        "ARMCD": ["LAN120", "LAN120", "", "LAN120", "LAN120"],
        "ARM": ["Lanreotide Autogel 120 mg"] * 2 + [""] + ["Lanreotide Autogel 120 mg"] * 2,
        "ACTARMCD": ["LAN120", "LAN120", "", "LAN120", "LAN120"],
        "ACTARM": ["Lanreotide Autogel 120 mg"] * 2 + [""] + ["Lanreotide Autogel 120 mg"] * 2,
        "DTHDTC": ["", "", "", "2021-07", ""], "DTHFL": ["", "", "", "Y", ""],
    })
    ex = pd.DataFrame({
        "USUBJID": [A, A, A, A, B, D, E], "EXSEQ": [1.0, 2.0, 3.0, 4.0, 1.0, 1.0, 1.0],
        "EXTRT": "LANREOTIDE", "EXDOSE": [120.0, 120.0, 120.0, 0.0, 120.0, 120.0, 120.0],
        "EXSTDTC": ["2021-01-04T09:30", "2021-02-01", "2021-03", "2020-12-30", "2021-02-10T10:15:30", "2021-01-20", "2021-01-05"],
        "EXENDTC": ["2021-01-04T09:30", "2021-02-01", "2021-03", "2020-12-30", "", "2021-01-20", "2021-01-05"],
    })
    ds = pd.DataFrame({
        "USUBJID": [A, A, B, D, E, E], "DSSEQ": [1.0, 2.0, 1.0, 1.0, 1.0, 2.0],
        "DSCAT": ["DISPOSITION EVENT"] * 6,
        # CDISC CT DSSCAT (C170443): STUDY TREATMENT = end of treatment, STUDY PARTICIPATION = end of study
        "DSSCAT": ["STUDY TREATMENT"] + ["STUDY PARTICIPATION"] * 5,
        "DSDECOD": ["ADVERSE EVENT", "COMPLETED", "WITHDRAWAL BY SUBJECT", "DEATH", "COMPLETED", "LOST TO FOLLOW-UP"],
        "DSTERM": ["", "", "", "DISEASE PROGRESSION", "", ""],
        "DSSTDTC": ["2021-05-01", "2022-01-10", "2021-04-02", "2021-07", "2021-09-01", "2021-09-02"],
    })
    ae = pd.DataFrame({"USUBJID": [A, A, D], "AESEQ": [1.0, 2.0, 1.0], "AEDECOD": ["DIARRHOEA", "NAUSEA", "PNEUMONIA"],
                       "AEOUT": ["RECOVERED/RESOLVED", "", "FATAL"],
                       "AESTDTC": ["2021-02-03", "2021-07", "2021-07-02"], "AEENDTC": ["2021-06-15", "", "2021-07-10"]})
    lb = pd.DataFrame({
        "USUBJID": [A, A, A, A, D, D, B], "LBSEQ": [1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 1.0],
        "LBTESTCD": ["CGA", "CGA", "CGA", "IA5OHEXR", "CGA", "CGA", "CGA"],
        "LBSTRESN": [100.0, 120.0, 90.0, 8.5, 50.0, 55.0, np.nan],
        "LBDTC": ["2021-01-02", "2021-01-04", "2021-01-10", "2020-12-20", "2021-01-18", "2021-01-18T08:00", "2021-02-01"],
    })
    rs = pd.DataFrame({"USUBJID": [A, A, B], "RSSEQ": [1.0, 2.0, 1.0], "RSCAT": ["ECOG", "ECOG", "RECIST 1.1"],
                       "RSTESTCD": ["ECOG101", "ECOG101", "OVRLRESP"], "RSSTRESN": [1.0, 0.0, np.nan],
                       "RSSTRESC": ["1", "0", "SD"], "RSDTC": ["2020-12-28", "2021-03-01", "2021-04-01"]})
    tu = pd.DataFrame({"USUBJID": [A, A, D, B, E], "TUSEQ": [1.0, 2.0, 1.0, 1.0, 1.0], "TUTESTCD": "TUMIDENT",
                       "TUORRES": ["TARGET", "NON-TARGET", "TARGET", "TARGET", "TARGET"],
                       "TUEVAL": ["INDEPENDENT ASSESSOR", "INDEPENDENT ASSESSOR", "INVESTIGATOR", "INDEPENDENT ASSESSOR",
                                  "INDEPENDENT ASSESSOR"],
                       "TUDTC": ["2020-12-28", "2020-12-28", "2021-01-10", "2021-03-01", "2020-12"]})
    mh = pd.DataFrame({"USUBJID": [A, A, B, D], "MHSEQ": [1.0, 2.0, 1.0, 1.0],
                       "MHCAT": ["PRIMARY DIAGNOSIS", "GENERAL", "PRIMARY DIAGNOSIS", "PRIMARY DIAGNOSIS"],
                       "MHTERM": ["NET", "HYPERTENSION", "NET", "NET"], "MHLOC": ["PANCREAS", "", "MIDGUT", "HINDGUT"]})
    suppmh = pd.DataFrame({
        "USUBJID": [A, A, A, A, B, B, D], "RDOMAIN": "MH", "IDVAR": "MHSEQ",
        "IDVARVAL": ["1", "1", "1", "2", "1", "1", "1"],
        "QNAM": ["MHGRADE", "KI67", "FUNCSTAT", "KI67", "MHGRADE", "KI67", "KI67"],
        "QVAL": ["G1", "2.5", "NON-FUNCTIONING", "99", "G2", "abc", "15"],
    })
    suppex = pd.DataFrame({"USUBJID": [A, B], "RDOMAIN": "EX", "IDVAR": "EXSEQ", "IDVARVAL": ["2", "1"],
                           "QNAM": "EXADMIN", "QVAL": ["SELF", "HEALTHCARE PROFESSIONAL"]})
    se = pd.DataFrame({"USUBJID": [A, D, D], "ETCD": ["HCPINJ", "HCPINJ", "SELFINJ"],
                       "SESTDTC": ["2021-01-04", "2021-01-20", "2021-06-01"]})
    return {"DM": dm, "EX": ex, "DS": ds, "AE": ae, "LB": lb, "RS": rs, "TU": tu, "MH": mh, "SUPPMH": suppmh,
            "SUPPEX": suppex, "SE": se}


@pytest.fixture(scope="module")
def derived(adsl_spec):
    adsl, findings = derive_adsl(sdtm_frames(), adsl_spec)
    return adsl.set_index("USUBJID", drop=False), findings


def test_one_record_per_dm_subject_in_dm_order(derived):
    adsl, _ = derived
    assert list(adsl.index) == [A, B, C, D, E]


def test_treatment_dates_from_valid_doses_with_time_imputation(derived):
    adsl, findings = derived
    a = adsl.loc[A]
    # First valid dose 2021-01-04T09:30 (the EXDOSE 0 record of 2020-12-30 is not a dose); seconds imputed
    # 00 -> TRTSTMF "S". Last valid complete dose 2021-02-01 (2021-03 is partial: not used, reported),
    # time imputed 23:59:59 -> TRTETMF "H". TRTDURD = 2021-02-01 - 2021-01-04 + 1 = 29.
    assert a["TRTSDT"] == sas("2021-01-04")
    assert a["TRTSDTM"] == sas("2021-01-04") * 86400 + 9 * 3600 + 30 * 60
    assert a["TRTSTMF"] == "S"
    assert a["TRTEDT"] == sas("2021-02-01")
    assert a["TRTEDTM"] == sas("2021-02-01") * 86400 + 86399
    assert a["TRTETMF"] == "H"
    assert a["TRTDURD"] == 29
    # B: EXENDTC blank -> EXSTDTC used; full time -> no flag.
    assert adsl.loc[B, "TRTEDTM"] == sas("2021-02-10") * 86400 + 10 * 3600 + 15 * 60 + 30
    assert adsl.loc[B, "TRTETMF"] == "" and adsl.loc[B, "TRTDURD"] == 1
    partial = [f for f in findings if f.rule == "ADSL-EXDATE"]
    assert len(partial) == 1 and partial[0].usubjid == A and partial[0].value == "2021-03" and partial[0].record == "EXSEQ=3"


def test_population_flags(derived):
    adsl, findings = derived
    assert list(adsl["SAFFL"]) == ["Y", "Y", "N", "Y", "Y"]
    # FASFL: enrolled (ARMCD not blank) and dosed; C is a screen failure without dose.
    assert list(adsl["FASFL"]) == ["Y", "Y", "N", "Y", "Y"]
    # EFFFL: BICR TARGET lesion on/before TRTSDT: A yes (2020-12-28); B's BICR target is after first dose
    # (2021-03-01 > 2021-02-10) -> N; D only an investigator target -> N.
    # E's BICR target has only "2020-12": it cannot be placed before TRTSDT -> N, and it is reported.
    assert list(adsl["EFFFL"]) == ["Y", "N", "N", "N", "N"]
    eff = [f for f in findings if f.rule == "ADSL-EFF-DATE"]
    assert [(f.usubjid, f.record, f.value) for f in eff] == [(E, "TUSEQ=1", "2020-12")]
    assert list(adsl["TRT01P"]) == ["Lanreotide Autogel 120 mg"] * 2 + [""] + ["Lanreotide Autogel 120 mg"] * 2


def test_age_groups_at_boundaries(derived):
    adsl, _ = derived
    # <65 holds 64; 65 is >=65 (boundary belongs to the upper group); missing AGE -> blank.
    assert list(adsl["AGEGR1"]) == ["<65", ">=65", ">=65", "", "<65"]
    assert adsl["AGEGR1N"].tolist()[:3] == [1.0, 2.0, 2.0] and math.isnan(adsl.loc[D, "AGEGR1N"])


def test_age_group_function_three_groups():
    g = AgeGroups(breaks=[18, 65], labels=["<18", "18-64", ">=65"])
    lab, num = age_group(pd.Series([17.9, 18.0, 64.99, 65.0]), g)
    assert list(lab) == ["<18", "18-64", "18-64", ">=65"] and list(num) == [1.0, 2.0, 2.0, 3.0]
    with pytest.raises(ValueError):
        AgeGroups(breaks=[65], labels=["<65"])


def test_end_of_study_status(derived):
    adsl, findings = derived
    # A: STUDY PARTICIPATION record COMPLETED (the STUDY TREATMENT record is not the study disposition).
    assert (adsl.loc[A, "EOSSTT"], adsl.loc[A, "EOSDT"], adsl.loc[A, "DCSREAS"]) == ("COMPLETED", sas("2022-01-10"), "")
    assert (adsl.loc[B, "EOSSTT"], adsl.loc[B, "DCSREAS"]) == ("DISCONTINUED", "WITHDRAWAL BY SUBJECT")
    assert adsl.loc[C, "EOSSTT"] == "ONGOING"
    # D: DEATH with a partial DSSTDTC -> DISCONTINUED, EOSDT missing (partial dates are not imputed here).
    assert adsl.loc[D, "EOSSTT"] == "DISCONTINUED" and math.isnan(adsl.loc[D, "EOSDT"])
    # E: two END OF STUDY records -> ERROR finding, no guess.
    assert adsl.loc[E, "EOSSTT"] == "ONGOING"
    dup = [f for f in findings if f.rule == "ADSL-EOS-DUP"]
    assert len(dup) == 1 and dup[0].usubjid == E and "LOST TO FOLLOW-UP" in dup[0].value
    # EOTSTT/DCTREAS from the STUDY TREATMENT record: A stopped treatment for an ADVERSE EVENT;
    # every other subject has no end-of-treatment record -> ONGOING, reason blank.
    assert (adsl.loc[A, "EOTSTT"], adsl.loc[A, "DCTREAS"]) == ("DISCONTINUED", "ADVERSE EVENT")
    assert set(adsl.loc[[B, C, D, E], "EOTSTT"]) == {"ONGOING"} and set(adsl.loc[[B, C, D, E], "DCTREAS"]) == {""}
    assert "EOTDT" not in adsl.columns  # date_var null: no date variable made


def test_disposition_selection_matching_nothing_is_a_located_warning(adsl_spec):
    # The old PALACE spec selected DSSCAT 'END OF STUDY', a value neither CT nor the DS uses: every
    # subject became ONGOING with no word. Now the empty selection is a WARNING listing what occurs.
    params = dict(adsl_spec.derivation.params)
    params["disposition"] = {"dataset": "DS", "where": {"DSCAT": ["DISPOSITION EVENT"], "DSSCAT": ["END OF STUDY"]}}
    spec = adsl_spec.model_copy(update={"derivation": adsl_spec.derivation.model_copy(update={"params": params})})
    adsl, findings = derive_adsl(sdtm_frames(), spec)
    f = [f for f in findings if f.rule == "ADAM-SELECT-EMPTY" and f.dataset == "DS"]
    assert len(f) == 1 and f[0].severity.value == "WARNING"
    assert "'STUDY PARTICIPATION'" in f[0].message and "'STUDY TREATMENT'" in f[0].message
    assert f[0].field == "ADSL.derivation.params.disposition.0.where"
    assert set(adsl["EOSSTT"]) == {"ONGOING"}


def test_randomisation_date_from_ds(adsl_spec):
    # RANDDT from DS DSDECOD 'RANDOMIZED' (the CDISC pilot's way): the first complete DSSTDTC of the
    # selected records; a subject without one stays missing.
    params = dict(adsl_spec.derivation.params)
    params["reference_dates"] = [{"name": "RANDDT", "dataset": "DS", "variable": "DSSTDTC",
                                  "where": {"var": "DSDECOD", "equals": "RANDOMIZED"}}]
    spec = adsl_spec.model_copy(update={"derivation": adsl_spec.derivation.model_copy(update={"params": params})})
    frames = sdtm_frames()
    extra = pd.DataFrame({"USUBJID": [A, B], "DSSEQ": [9.0, 9.0], "DSCAT": "PROTOCOL MILESTONE", "DSSCAT": "",
                          "DSDECOD": "RANDOMIZED", "DSTERM": "RANDOMIZED", "DSSTDTC": ["2020-12-30", "2021-02"]})
    frames["DS"] = pd.concat([frames["DS"], extra], ignore_index=True)
    adsl, _ = derive_adsl(frames, spec)
    adsl = adsl.set_index("USUBJID")
    assert adsl.loc[A, "RANDDT"] == sas("2020-12-30")
    assert math.isnan(adsl.loc[B, "RANDDT"])  # partial date: not a complete randomisation date


def test_death_and_last_known_alive(derived):
    adsl, _ = derived
    # D: DTHDTC "2021-07" -> first of month 2021-07-01, raised to the last known alive date 2021-07-10
    # (AE end) because it lies inside July (admiral min_dates); DTHDTF "D". LSTALVDT = max(alive, DTHDT).
    assert adsl.loc[D, "DTHDT"] == sas("2021-07-10") and adsl.loc[D, "DTHDTF"] == "D"
    assert adsl.loc[D, "DTHFL"] == "Y" and adsl.loc[D, "LSTALVDT"] == sas("2021-07-10")
    # Cause: DS DEATH record's DSTERM first (spec order), even though AE also has a fatal AE.
    assert adsl.loc[D, "DTHCAUS"] == "DISEASE PROGRESSION"
    # A: latest complete date over AE/LB/EX/RS/TR/DS = DS 2022-01-10 (AE "2021-07" partial ignored).
    assert adsl.loc[A, "LSTALVDT"] == sas("2022-01-10")
    assert adsl.loc[A, "DTHFL"] == "" and math.isnan(adsl.loc[A, "DTHDT"]) and adsl.loc[A, "DTHCAUS"] == ""


def test_self_injection_cohort_flag(derived):
    adsl, _ = derived
    # A: SUPPEX EXADMIN = SELF; D: SE element SELFINJ; B: HCP only; C, E: nothing.
    assert list(adsl["SELFFL"]) == ["Y", "N", "N", "Y", "N"]


def test_baseline_disease_characteristics(derived):
    adsl, findings = derived
    assert list(adsl["PRIMSITE"]) == ["PANCREAS", "MIDGUT", "", "HINDGUT", ""]
    assert list(adsl["TUMGRADE"]) == ["G1", "G2", "", "", ""]
    assert list(adsl["FUNCSTAT"]) == ["NON-FUNCTIONING", "", "", "", ""]
    # A's KI67 "99" belongs to MHSEQ 2 (not the primary diagnosis) and is not used.
    assert adsl.loc[A, "KI67"] == 2.5 and adsl.loc[D, "KI67"] == 15.0
    assert math.isnan(adsl.loc[B, "KI67"])
    bad = [f for f in findings if f.rule == "ADSL-NUM"]
    assert len(bad) == 1 and bad[0].usubjid == B and bad[0].value == "abc"


def test_baseline_lab_and_ecog(derived):
    adsl, findings = derived
    # A: CgA 100 (01-02), 120 (01-04 = first-dose day, counts as pre-dose), 90 (01-10, post) -> 120.
    assert adsl.loc[A, "BCGA"] == 120.0 and adsl.loc[A, "B5HIAA"] == 8.5
    # ECOG: 1 on 2020-12-28 (pre-dose); 0 on 2021-03-01 is post-baseline -> BECOG 1.
    assert adsl.loc[A, "BECOG"] == 1.0
    # D: two different CgA values on 2021-01-18 (last pre-dose date) -> missing + ERROR naming both records.
    assert math.isnan(adsl.loc[D, "BCGA"])
    tie = [f for f in findings if f.rule == "ADSL-BASE-TIE"]
    assert len(tie) == 1 and tie[0].usubjid == D and tie[0].record == "LBSEQ=1, LBSEQ=2" and tie[0].value == "50 | 55"
    # B: only a missing result -> missing, no finding.
    assert math.isnan(adsl.loc[B, "BCGA"])


def test_missing_dm_is_an_error(adsl_spec):
    out, findings = derive_adsl({}, adsl_spec)
    assert out.empty and findings[0].rule == "ADSL-DM"


def test_ex_without_required_column_is_an_error(adsl_spec):
    sd = sdtm_frames()
    sd["EX"] = sd["EX"].drop(columns=["EXDOSE"])
    adsl, findings = derive_adsl(sd, adsl_spec)
    assert any(f.rule == "ADSL-EX" and f.variable == "EXDOSE" for f in findings)
    assert (adsl["SAFFL"] == "N").all()


def test_deterministic(adsl_spec):
    a1, _ = derive_adsl(sdtm_frames(), adsl_spec)
    a2, _ = derive_adsl(sdtm_frames(), adsl_spec)
    pd.testing.assert_frame_equal(a1, a2)


def test_treatment_name_matching_no_ex_record_is_a_warning(adsl_spec):
    # A misspelt EXTRT in the spec would make every subject undosed (SAFFL N) without a word.
    params = {**adsl_spec.derivation.params, "exposure": {"dataset": "EX", "treatments": ["LANREOTIDE AUTOGEL"]}}
    spec = adsl_spec.model_copy(update={"derivation": adsl_spec.derivation.model_copy(update={"params": params})})
    adsl, findings = derive_adsl(sdtm_frames(), spec)
    f = [f for f in findings if f.rule == "ADAM-SELECT-EMPTY" and f.dataset == "EX"]
    assert len(f) == 1 and "'LANREOTIDE'" in f[0].message and set(adsl["SAFFL"]) == {"N"}


def test_cohort_qnam_matching_nothing_is_a_warning(adsl_spec):
    # SELFFL reads SUPPEX QNAM 'EXADMIN'; a spec naming 'EXADM' would flag nobody, silently.
    params = dict(adsl_spec.derivation.params)
    params["cohorts"] = [{**params["cohorts"][0], "qnam": "EXADM", "se_etcd": []}]
    spec = adsl_spec.model_copy(update={"derivation": adsl_spec.derivation.model_copy(update={"params": params})})
    adsl, findings = derive_adsl(sdtm_frames(), spec)
    f = [f for f in findings if f.rule == "ADAM-SELECT-EMPTY" and f.dataset == "SUPPEX"]
    assert len(f) == 1 and f[0].severity.value == "WARNING" and "'EXADMIN'" in f[0].message
    assert set(adsl["SELFFL"]) == {"N"}
