"""Parameters that named nothing used to fall back silently (issue 12): now the fallback is a finding.
Hand-written rows; the expected counts follow from the rows."""

from __future__ import annotations

import pandas as pd

from sdtm.rules import load_all, rule
from studyforge.spec.loader import load_spec
from tests.adam.test_adae_adex import adsl, ae
from tests.sdtm.rulekit import refs

SPEC = load_spec("specs/palace")


def _ts(params: dict, dm: pd.DataFrame):
    load_all()
    b = rule("trial_summary")
    frame, notes = b.fn(b.parse(params), refs(SPEC, "TS", datasets={"DM": dm}))
    return dict(zip(frame["TSPARMCD"], frame["TSVAL"])), notes


def test_actsub_from_a_variable_dm_lacks_is_a_warning():
    # TS rule (sdtm/domains/trial_design.py): ACTSUB = subjects with DM.ACTARMCD not empty. Three subjects,
    # two dosed -> "2". Pointed at DM.ACTARM, which this DM lacks, the spec's own "0" is written and a
    # WARNING SD1202 says so (it was written silently).
    dm = pd.DataFrame({"USUBJID": ["S1", "S2", "S3"], "RFICDTC": ["2021-03-01", "2021-03-02", "2021-03-03"],
                       "ACTARMCD": ["LAN120", "", "LAN120"]})
    rows = [{"TSPARMCD": "ACTSUB", "TSPARM": "Actual Number of Subjects", "TSVAL": "0"}]
    got, notes = _ts({"rows": rows}, dm)
    assert got["ACTSUB"] == "2" and notes == []
    got, notes = _ts({"rows": rows, "actsub_from": "DM.ACTARM"}, dm)
    assert got["ACTSUB"] == "0"
    assert [(n.rule, n.severity.value) for n in notes] == [("SD1202", "WARNING")] and "DM.ACTARM" in notes[0].message


def test_severity_var_that_ae_lacks_is_a_notice():
    # ADAE (adam/adae.py): ASEV from severity_var; AE without it -> ASEV from the grade map, and a NOTICE
    # names the absent variable (before: the absent column read as empty, without a word).
    from adam.adae import derive_adae
    from tests.adam.conftest import load_dataset

    spec = load_dataset("ADAE")
    _, findings = derive_adae({"AE": ae()}, adsl(), spec)
    assert not [f for f in findings if f.rule == "ADAE-NOSEV"]          # AESEV present: used, no notice
    out, findings = derive_adae({"AE": ae().drop(columns="AESEV").assign(AETOXGR="3")}, adsl(), spec)
    notes = [f for f in findings if f.rule == "ADAE-NOSEV"]
    assert len(notes) == 1 and notes[0].variable == "AESEV" and "grade" in notes[0].message
    assert set(out["ASEV"]) == {"SEVERE"}                               # grade 3 -> SEVERE (spec map)


def test_a_result_that_is_not_a_number_is_reported_when_lbstresn_stays_empty():
    # unit_convert (sdtm/rules/collected.py), PALACE table LAB: GLUC mg/dL -> mmol/L x 0.05550621669626999.
    # "90" -> 90 x 0.0555... = 4.9956; "1,5" and "ND" are no numbers: LBSTRESN empty and a WARNING SD0403
    # each (were silent); "<5" is a limit: LBSTRESN empty per SDTMIG, a NOTICE SD0402; "" is no result: nothing.
    from tests.sdtm.rulekit import derive, rows

    vals = ["90", "1,5", "ND", "<5", ""]
    frame = rows(5, form="lb", LBORRES=vals, LBORRESU="mg/dL")
    vars_ = pd.DataFrame({"LBORRESU": "mg/dL", "LBTESTCD": "GLUC"}, index=frame.index)
    params = {"value": "LBORRES", "unit": "LBORRESU", "unit_var": "LBORRESU", "testcd": "LBTESTCD",
              "output": "number", "table": "LAB"}
    out, notes = derive("unit_convert", params, frame, refs(SPEC, "LB", vars=vars_, variable="LBSTRESN"))
    assert round(out.iloc[0], 4) == 4.9956 and out.iloc[1:].isna().all()
    assert sorted((n.rule, n.severity.value, n.line, n.field, n.value) for n in notes) == [
        ("SD0402", "NOTICE", 5, "LBORRES", "<5"),
        ("SD0403", "WARNING", 3, "LBORRES", "1,5"), ("SD0403", "WARNING", 4, "LBORRES", "ND")]


def test_a_partial_reference_date_is_reported_when_it_is_not_used():
    # ADSL reference_dates (adam/adsl.py): RANDDT = first complete DSSTDTC of DS DSDECOD RANDOMIZED. A:
    # "2020-12-30" -> used, no finding. B: "2021-02" is partial -> RANDDT missing, and now a WARNING
    # naming B and the value (the record was dropped without a word).
    import math

    from adam.adsl import derive_adsl
    from tests.adam.conftest import load_dataset, sas
    from tests.adam.test_adsl import A, B, sdtm_frames

    spec = load_dataset("ADSL")
    params = dict(spec.derivation.params)
    params["reference_dates"] = [{"name": "RANDDT", "dataset": "DS", "variable": "DSSTDTC",
                                  "where": {"var": "DSDECOD", "equals": "RANDOMIZED"}}]
    spec = spec.model_copy(update={"derivation": spec.derivation.model_copy(update={"params": params})})
    frames = sdtm_frames()
    extra = pd.DataFrame({"USUBJID": [A, B], "DSSEQ": [9.0, 9.0], "DSCAT": "PROTOCOL MILESTONE", "DSSCAT": "",
                          "DSDECOD": "RANDOMIZED", "DSTERM": "RANDOMIZED", "DSSTDTC": ["2020-12-30", "2021-02"]})
    frames["DS"] = pd.concat([frames["DS"], extra], ignore_index=True)
    adsl, findings = derive_adsl(frames, spec)
    adsl = adsl.set_index("USUBJID")
    assert adsl.loc[A, "RANDDT"] == sas("2020-12-30") and math.isnan(adsl.loc[B, "RANDDT"])
    got = [(f.usubjid, f.variable, f.value) for f in findings if f.rule == "ADSL-REFDATE-PARTIAL"]
    assert got == [(B, "DSSTDTC", "2021-02")]


def test_a_treated_form_that_was_not_delivered_is_a_warning():
    # arm rule (sdtm/rules/subjects.py): treated = any record in treated_form. Subjects S1, S2; ex has S1.
    # ACTARMCD: S1 LAN120, S2 "". With treated_form "exx" (no such form) nobody is treated -> both "",
    # and a WARNING SD0703 names the form (it was silent).
    from tests.sdtm.rulekit import SUBJECT_ID, derive, raw_form, rows

    frame = rows(2, form="dm", SUBJID=["S1", "S2"])
    frame[SUBJECT_ID] = ["PALACE-S1", "PALACE-S2"]
    raw = {"dm": raw_form("dm", frame[["SUBJID"]]), "ex": raw_form("ex", pd.DataFrame({"SUBJID": ["S1"]}))}
    params = {"output": "ACTARMCD", "armcd": "LAN120", "arm": "Lanreotide", "treated_form": "ex"}
    r = refs(SPEC, "DM", raw=raw, variable="ACTARMCD")
    out, notes = derive("arm", params, frame, r)
    assert out.tolist() == ["LAN120", ""] and notes == []
    out, notes = derive("arm", {**params, "treated_form": "exx"}, frame, r)
    assert out.tolist() == ["", ""]
    assert [(n.rule, n.severity.value, n.value) for n in notes] == [("SD0703", "WARNING", "exx")]


def test_an_alive_source_that_names_nothing_is_a_warning():
    # ADSL LSTALVDT sources (adam/adsl.py _complete_dates): AE.AESTDTC gives S1 2021-05-24 (complete) and
    # S2 "2021-06" (partial: not a complete date, ignored). XX.XXDTC is not in the input: a WARNING names it
    # (it was skipped without a word).
    from adam.adsl import DateSource, _complete_dates
    from tests.adam.conftest import sas

    ae_ = pd.DataFrame({"USUBJID": ["S1", "S2"], "AESTDTC": ["2021-05-24", "2021-06"]})
    findings: list = []
    got = _complete_dates({"AE": ae_}, [DateSource(dataset="AE", variable="AESTDTC"),
                                        DateSource(dataset="XX", variable="XXDTC")], findings)
    assert got.to_dict("list") == {"USUBJID": ["S1"], "DT": [sas("2021-05-24")]}
    assert [(f.rule, f.dataset, f.variable) for f in findings] == [("ADSL-ALIVE-SOURCE", "XX", "XXDTC")]


def test_adrs_death_var_that_adsl_lacks_is_a_warning():
    # ADRS (adam/adrs.py): deaths come from ADSL.<death_var>; a name ADSL lacks used to read as "nobody
    # died" silently. One subject, ADSL without DTHDTX: a WARNING names the variable.
    from adam.adrs import _Inputs
    from adam.adrs_params import AdrsParams

    p = AdrsParams.model_validate({"death_var": "DTHDTX", "evaluators": {"INV": {
        "rseval": ["INVESTIGATOR"], "tueval": ["INVESTIGATOR"], "parcat2": "Investigator"}}})
    a = _Inputs.__new__(_Inputs)  # only the subject table is under test
    a.p, a.findings = p, []
    subjects = a._subjects(pd.DataFrame({"USUBJID": ["S1"], "TRTSDT": [22000.0], "DTHDT": [22100.0]}))
    assert subjects["DTHDT"].isna().all()
    assert [(f.rule, f.severity.value, f.variable) for f in a.findings] == [("ADRS-INPUT", "WARNING", "DTHDTX")]
