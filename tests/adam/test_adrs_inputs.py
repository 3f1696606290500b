"""ADRS on bad or unusual input: clear findings naming dataset/record/value, determinism, speed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from adam.adrs import AdrsSpecError, derive_adrs
from adam.bds import analysis_date, analysis_day, extreme_flag, sequence_number
from tests.adam.test_adrs_builder import Study, load_spec, sas


@pytest.fixture(scope="module")
def spec():
    return load_spec()


def _small() -> Study:
    s = Study().subject("A").subject("B")
    for d, r in ((57, "PR"), (85, "PR"), (113, "PD")):
        s.ovr("A", d, r)
        s.ovr("A", d, "SD", reader="R1")
    s.ovr("B", 57, "SD")
    s.lesion("A", -3)
    return s


def test_same_input_same_output_and_row_order_irrelevant(spec):
    sdtm, adsl = _small().frames()
    out1, f1 = derive_adrs(sdtm, adsl, spec)
    shuffled = {k: v.sample(frac=1, random_state=3).reset_index(drop=True) for k, v in sdtm.items()}
    out2, f2 = derive_adrs(shuffled, adsl.iloc[::-1].reset_index(drop=True), spec)
    pd.testing.assert_frame_equal(out1, out2)
    assert [str(f) for f in f1] == [str(f) for f in f2]
    assert list(out1.columns) == [v.name for v in spec.variables]


def test_aseq_and_keys_unique(spec):
    out = _small().run(spec).df
    assert not out.duplicated(["USUBJID", "ASEQ"]).any()
    assert not out.duplicated(spec.keys).any()
    assert out.groupby("USUBJID")["ASEQ"].max().tolist() == out.groupby("USUBJID").size().tolist()


def test_missing_rs_dataset_is_an_error_not_a_crash(spec):
    _, adsl = _small().frames()
    out, findings = derive_adrs({}, adsl, spec)
    assert any(f.rule == "ADRS-INPUT" and f.dataset == "RS" for f in findings)
    assert (out[out["PARAMCD"] == "BOR"]["AVALC"] == "MISSING").all()


def test_missing_rs_variable_named(spec):
    sdtm, adsl = _small().frames()
    sdtm["RS"] = sdtm["RS"].drop(columns="RSDTC")
    _, findings = derive_adrs(sdtm, adsl, spec)
    assert any(f.rule == "ADRS-INPUT" and f.variable == "RSDTC" for f in findings)


def test_subject_not_in_adsl_reported(spec):
    s = _small()
    s.ovr("ZZZ", 57, "PR")
    r = s.run(spec)
    f = next(f for f in r.findings if f.rule == "ADRS-SUBJECT")
    assert f.usubjid == "ZZZ" and f.record.startswith("RSSEQ=")
    assert "ZZZ" not in set(r.df["USUBJID"])


def test_subject_without_trtsdt_reported_and_not_analysed(spec):
    s = Study().subject("A", trt=None)
    s.ovr("A", 57, "PR")
    r = s.run(spec)
    assert any(f.rule == "ADRS-REFDT" and f.usubjid == "A" for f in r.findings)
    assert r.one("A", "OVRINV")["ANL01FL"] == "" and r.val("A", "BORINV") == "MISSING"


def test_missing_rsdtc_is_a_warning(spec):
    s = Study().subject("A")
    s.ovr("A", None, "PR", dtc="")
    r = s.run(spec)
    f = next(f for f in r.findings if f.rule == "ADRS-DATE")
    assert f.severity.value == "WARNING" and f.record == "RSSEQ=1"


def test_year_only_rsdtc_imputed_to_reference(spec):
    # "2021" allows 2021-01-01 .. 2021-12-31; TRTSDT 2021-06-01 lies inside -> raised to TRTSDT, ADTF "M"
    s = Study().subject("A")
    s.ovr("A", None, "SD", dtc="2021")
    o = s.run(spec).one("A", "OVRINV")
    assert o["ADT"] == sas("2021-06-01") and o["ADTF"] == "M"


def test_unknown_rule_and_evaluator_are_findings(spec):
    bad = spec.model_copy(deep=True)
    bad.parameters[0].derivation.rule = "adrs_nonsense"
    bad.parameters[1].derivation.params["evaluator"] = "NOBODY"
    r = _small().run(bad)
    msgs = [f for f in r.findings if f.rule == "ADRS-SPEC"]
    assert len(msgs) == 2
    assert spec.parameters[0].paramcd not in set(r.df["PARAMCD"])


def test_invalid_dataset_params_raise(spec):
    bad = spec.model_copy(deep=True)
    bad.derivation.params["confirm_days"] = 0
    with pytest.raises(AdrsSpecError, match="confirm_days"):
        _small().run(bad)
    bad.derivation = None
    with pytest.raises(AdrsSpecError):
        _small().run(bad)


def test_missing_tu_makes_mdis_an_error_only(spec):
    sdtm, adsl = _small().frames()
    del sdtm["TU"]
    out, findings = derive_adrs(sdtm, adsl, spec)
    assert any(f.rule == "ADRS-INPUT" and "MDIS" in f.message for f in findings)
    assert "MDIS" not in set(out["PARAMCD"]) and "BOR" in set(out["PARAMCD"])


# --- bds helpers (golden values by hand) ---------------------------------------------------------------

def test_analysis_day_has_no_day_zero():
    adt = pd.Series([100.0, 99.0, 98.0, np.nan])
    ref = pd.Series([99.0, 99.0, 99.0, 99.0])
    assert analysis_day(adt, ref).tolist()[:3] == [2.0, 1.0, -1.0]
    assert np.isnan(analysis_day(adt, ref).iloc[3])


def test_analysis_date_imputation_modes():
    dtc = pd.Series(["2021-06-15", "2021-06", "2021", "", "2021-13"])
    adt, adtf, valid = analysis_date(dtc, imputation="first")
    assert adt.tolist()[:3] == [sas("2021-06-15"), sas("2021-06-01"), sas("2021-01-01")]
    assert adtf.tolist() == ["", "D", "M", "", ""]
    assert valid.tolist() == [True, True, True, True, False]
    adt_last, _, _ = analysis_date(dtc, imputation="last")
    assert adt_last.tolist()[1:3] == [sas("2021-06-30"), sas("2021-12-31")]
    adt_none, flag_none, _ = analysis_date(dtc, imputation="none")
    assert adt_none.iloc[0] == sas("2021-06-15") and adt_none.iloc[1:].isna().all()
    assert (flag_none == "").all()


def test_extreme_flag_and_sequence():
    df = pd.DataFrame({"U": ["a", "a", "b", "b"], "X": [2, 1, 5, 5], "S": [1, 2, 1, 2]})
    assert extreme_flag(df, ["U"], ["X", "S"]).tolist() == ["", "Y", "Y", ""]
    assert extreme_flag(df, ["U"], ["X", "S"], last=True).tolist() == ["Y", "", "", "Y"]
    assert sequence_number(df, ["U"], ["X", "S"]).tolist() == [2.0, 1.0, 1.0, 2.0]


def test_2000_subjects_give_every_parameter(spec):
    """2,000 subjects x 10 assessments x 2 evaluators: one record per RS record plus the per-subject parameters.
    Speed is measured by benchmarks/bench_adrs (10,000 subjects), not here."""
    rng = np.random.default_rng(7)
    n, k = 2000, 10
    subj = np.repeat(np.arange(n), 2 * k)
    ev = np.tile(np.repeat([0, 1], k), n)
    vis = np.tile(np.arange(k), 2 * n)
    trt = sas("2021-06-01")
    resp = rng.choice(["CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE"], p=[.05, .15, .5, .1, .1, .1], size=len(subj))
    dates = pd.to_datetime(trt + vis * 56 + 56, unit="D", origin="1960-01-01").strftime("%Y-%m-%d")
    ids = np.array([f"P-{i:05d}" for i in range(n)])
    rs = pd.DataFrame({"USUBJID": ids[subj], "RSSEQ": np.arange(len(subj)) + 1.0, "RSCAT": "RECIST 1.1",
                       "RSTESTCD": "OVRLRESP", "RSEVAL": np.where(ev == 0, "INVESTIGATOR", "INDEPENDENT ASSESSOR"),
                       "RSACPTFL": np.where(ev == 0, "", "Y"), "RSSTRESC": resp, "RSDTC": dates,
                       "VISIT": "V", "VISITNUM": vis + 1.0})
    adsl = pd.DataFrame({"STUDYID": "PALACE", "USUBJID": ids, "SUBJID": ids, "SITEID": "101", "TRTSDT": trt,
                         "DTHDT": np.nan})
    out, _ = derive_adrs({"RS": rs, "TU": pd.DataFrame(columns=["USUBJID", "TUSEQ", "TUTESTCD", "TUEVAL", "TUDTC"])},
                         adsl, spec)
    assert len(out) == len(rs) + n * (len(spec.parameters) - 2)


def test_visitnum_without_visit_leaves_both_empty(spec):
    # ADaMIG 1.3: AVISITN is the numeric form of AVISIT, so an RS record without VISIT (Permissible in
    # SDTMIG 3.4) gets neither; the builder gives VISITNUM 100 + day and VISIT 'DAY <day>'.
    s = Study().subject("A")
    keep = s.ovr("A", 57, "PR")                     # VISITNUM 157, VISIT 'DAY 57'
    bare = s.ovr("A", 85, "PR")                     # VISITNUM 185, VISIT blanked below
    sdtm, adsl = s.frames()
    sdtm["RS"].loc[sdtm["RS"]["RSSEQ"] == bare, "VISIT"] = ""
    out, findings = derive_adrs(sdtm, adsl, spec)
    by_seq = out[out["PARAMCD"] == "OVRINV"].set_index("SRCSEQ")     # the time-point records (reader INV)
    assert (by_seq.loc[keep, "AVISIT"], by_seq.loc[keep, "AVISITN"]) == ("DAY 57", 157.0)
    assert by_seq.loc[bare, "AVISIT"] == "" and np.isnan(by_seq.loc[bare, "AVISITN"])
    hit = [f for f in findings if f.rule == "ADRS-AVISIT"]
    assert len(hit) == 1 and hit[0].severity.name == "NOTICE" and "1 record(s)" in hit[0].message
    assert hit[0].value == "185"
    # no VISIT column at all: every record without both, said once
    sdtm["RS"] = sdtm["RS"].drop(columns="VISIT")
    out, findings = derive_adrs(sdtm, adsl, spec)
    ovr = out[out["PARAMCD"] == "OVRINV"]
    assert len(ovr) == 2 and (ovr["AVISIT"] == "").all() and ovr["AVISITN"].isna().all()
    assert [f.message for f in findings if f.rule == "ADRS-AVISIT"] == [
        "RS has no VISIT (Permissible): AVISIT and AVISITN left empty on 2 record(s) (AVISITN is the numeric form "
        "of AVISIT)"]
