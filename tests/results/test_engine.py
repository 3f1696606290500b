"""Analyses on hand-built ADaM frames: counts and estimates worked by hand, trace down to raw lines."""

import datetime as dt
import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from results.engine import prepare, run_results
from results.model import ResultsSpec
from results.stage import load_results_spec, write_results
from results.trace import TraceError, parse_result_id, trace_records
from studyforge.spec.loader import SpecError

ADSL = pd.DataFrame({"USUBJID": ["S1", "S2", "S3", "S4"], "EFFFL": ["Y", "Y", "Y", "N"],
                     "SAFFL": ["Y", "Y", "Y", "Y"], "TRTDURD": [100.0, 50.0, 10.0, 30.0]})
ADRS = pd.DataFrame({"USUBJID": ["S1", "S2", "S4", "S1"], "PARAMCD": ["CBR24", "CBR24", "CBR24", "OVR"],
                     "AVALC": ["Y", "N", "Y", "SD"], "ADY": [170.0, 170.0, 170.0, 84.0],
                     "SRCDOM": ["RS", "RS", "RS", "RS"], "SRCSEQ": [5.0, 2.0, 1.0, 3.0]})
ADTTE = pd.DataFrame({"USUBJID": ["S1", "S2", "S3", "S4"], "PARAMCD": "PFS", "AVAL": [100.0, 200.0, 300.0, 50.0],
                      "CNSR": [0, 1, 0, 0], "EVNTDESC": ["PD", "CENSORED", "DEATH", "PD"],
                      "SRCDOM": ["RS", "RS", "DM", "RS"], "SRCSEQ": [4.0, 2.0, None, 1.0]})
ADAE = pd.DataFrame({"USUBJID": ["S1", "S1", "S2", "S3"], "AETOXGR": ["1", "3", "2", "1"],
                     "TRTEMFL": ["Y", "Y", "Y", ""], "AESEQ": [1, 2, 1, 1]})
FRAMES = {"ADSL": ADSL, "ADRS": ADRS, "ADTTE": ADTTE, "ADAE": ADAE}
LINEAGE = pd.DataFrame({"DOMAIN": ["RS", "RS", "RS", "AE"], "USUBJID": ["S1", "S2", "S1", "S1"],
                        "SEQ": [5, 2, 4, 2], "FILE": ["raw/rs_bicr.csv"] * 3 + ["raw/ae.csv"],
                        "LINE": [12, 7, 11, 3]})
Y = {"condition": {"variable": "AVALC", "comparator": "EQ", "value": ["Y"]}}


def spec(*analyses):
    return ResultsSpec.model_validate({
        "analysis_sets": [{"id": "EFF", "label": "eff", "flag": "EFFFL"}, {"id": "SAF", "label": "saf", "flag": "SAFFL"}],
        "analyses": list(analyses)})


def stats(ard):
    return dict(zip(ard["RESULT_ID"], ard["VALUE"]))


def test_proportion_counts_subjects_without_a_record_as_non_responders():
    # EFF = S1, S2, S3 (S4 has EFFFL=N); responders with CBR24=Y in EFF: S1 -> 1/3.
    # Clopper-Pearson 1/3: lower = 1 - 0.975^(1/3) = 0.008404; upper = 1 - (lower of 2/3) = 1 - 0.094299 = 0.905701
    ard, found = run_results(spec({"id": "CBR24", "name": "CBR", "analysis_set": "EFF", "dataset": "ADRS",
                                   "paramcd": "CBR24", "method": "proportion", "params": {"response": Y}}), FRAMES)
    s = stats(ard)
    assert (s["CBR24:n"], s["CBR24:N"], s["CBR24:rate"]) == (1, 3, pytest.approx(1 / 3))
    assert s["CBR24:lcl"] == pytest.approx(1 - 0.975 ** (1 / 3), abs=1e-9)
    assert s["CBR24:ucl"] == pytest.approx(0.905701, abs=1e-6)
    assert not found


def test_proportion_without_missing_as_failure_uses_subjects_with_records():
    ard, _ = run_results(spec({"id": "CBR24", "name": "CBR", "analysis_set": "EFF", "dataset": "ADRS", "paramcd": "CBR24",
                               "method": "proportion", "params": {"response": Y, "missing_as_failure": False}}), FRAMES)
    assert stats(ard)["CBR24:N"] == 2  # S1, S2 have records; S3 has none


def test_km_stats_by_hand():
    # SAF = all 4: times 50(e) 100(e) 200(c) 300(e). S(50)=3/4, S(100)=3/4*2/3=1/2, S(300)=0.
    # median: S reaches 0.5 exactly at 100 and stays until 300 -> midpoint convention (100+300)/2 = 200.
    ard, _ = run_results(spec({"id": "PFS", "name": "PFS", "analysis_set": "SAF", "dataset": "ADTTE", "paramcd": "PFS",
                               "method": "kaplan_meier", "params": {"timepoints": [{"label": "W24", "days": 168}]}}),
                         FRAMES)
    s = stats(ard)
    assert (s["PFS:N"], s["PFS:events"], s["PFS:censored"]) == (4, 3, 1)
    assert s["PFS:surv_W24"] == pytest.approx(0.5)
    assert s["PFS:median"] == 200.0


def test_incidence_counts_each_subject_once_at_worst_grade():
    # TRTEMFL=Y: S1 grades 1, 3 -> counted at 3 only; S2 grade 2. N = 4 (SAF).
    ard, _ = run_results(spec({"id": "AEGR", "name": "TEAE by worst grade", "analysis_set": "SAF", "dataset": "ADAE",
                               "where": {"condition": {"variable": "TRTEMFL", "comparator": "EQ", "value": ["Y"]}},
                               "group_by": ["AETOXGR"], "method": "incidence",
                               "params": {"worst": "AETOXGR", "order": ["1", "2", "3", "4", "5"]}}), FRAMES)
    s = stats(ard)
    assert "AEGR[AETOXGR=1]:n" not in s
    assert (s["AEGR[AETOXGR=2]:n"], s["AEGR[AETOXGR=3]:n"], s["AEGR[AETOXGR=3]:pct"]) == (1, 1, 25.0)


def test_missing_inputs_and_empty_selections_are_findings():
    sp = spec({"id": "A", "name": "a", "analysis_set": "SAF", "dataset": "ADLB", "method": "summary",
               "params": {"var": "CHG"}},
              {"id": "B", "name": "b", "analysis_set": "SAF", "dataset": "ADRS", "paramcd": "NOPE",
               "method": "proportion", "params": {"response": Y}},
              {"id": "C", "name": "c", "analysis_set": "SAF", "dataset": "ADRS", "method": "summary",
               "params": {"var": "XYZ"}})
    ard, found = run_results(sp, FRAMES)
    rules = sorted(f.rule for f in found)
    assert rules == ["SF-RES-002", "SF-RES-003", "SF-RES-004"]
    assert any("CBR24" in f.message for f in found if f.rule == "SF-RES-004")  # names the PARAMCDs that occur


def test_trace_from_a_rate_down_to_raw_lines():
    sp = spec({"id": "CBR24", "name": "CBR", "analysis_set": "EFF", "dataset": "ADRS", "paramcd": "CBR24",
               "method": "proportion", "params": {"response": Y}})
    p = prepare(sp.analyses[0], sp, FRAMES, [])
    aid, groups, stat = parse_result_id("CBR24:rate")
    recs = trace_records(p, groups, LINEAGE)
    s1 = recs[recs["USUBJID"] == "S1"].iloc[0]
    assert (s1["ROLE"], s1["SRCDOM"], s1["SRCSEQ"], s1["FILE"], s1["LINE"]) == ("numerator", "RS", 5, "raw/rs_bicr.csv", 12)
    assert recs.loc[recs["USUBJID"] == "S2", "ROLE"].item() == "denominator"
    assert "S4" not in set(recs["USUBJID"])  # outside the analysis set


def test_trace_from_a_km_rate_and_predecessor_seq():
    sp = spec({"id": "PFS", "name": "PFS", "analysis_set": "SAF", "dataset": "ADTTE", "paramcd": "PFS",
               "method": "kaplan_meier", "params": {"timepoints": [{"label": "W24", "days": 168}]}},
              {"id": "AE", "name": "ae", "analysis_set": "SAF", "dataset": "ADAE", "group_by": ["AETOXGR"],
               "method": "incidence"})
    p = prepare(sp.analyses[0], sp, FRAMES, [])
    recs = trace_records(p, parse_result_id("PFS:surv_W24")[1], LINEAGE)
    assert dict(zip(recs["USUBJID"], recs["ROLE"])) == {"S1": "event", "S2": "censored", "S3": "event", "S4": "event"}
    assert recs.loc[recs["USUBJID"] == "S1", "LINE"].item() == 11
    ae = trace_records(prepare(sp.analyses[1], sp, FRAMES, []), [("AETOXGR", "3")], LINEAGE)
    assert (ae["SRCDOM"].item(), ae["FILE"].item(), ae["LINE"].item()) == ("AE", "raw/ae.csv", 3)


@pytest.mark.parametrize("bad", ["CBR24", "CBR24[AVISIT]:n", "cbr:n"])
def test_bad_result_ids(bad):
    with pytest.raises(TraceError):
        parse_result_id(bad)


def test_spec_problems_are_located(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "analyses.yaml").write_text(
        "analysis_sets:\n  - {id: SAF, label: s, flag: SAFFL}\nanalyses:\n"
        "  - {id: A, name: a, analysis_set: SAF, dataset: ADSL, method: summary, colour: red}\n")
    with pytest.raises(SpecError) as e:
        load_results_spec(tmp_path)
    assert "analyses.yaml:4" in str(e.value) and "colour" in str(e.value)


def _write(tmp_path, name):
    sp_dir = tmp_path / "spec"
    (sp_dir / "results").mkdir(parents=True, exist_ok=True)
    (sp_dir / "results" / "analyses.yaml").write_text(json.dumps({
        "analysis_sets": [{"id": "SAF", "label": "saf", "flag": "SAFFL"}, {"id": "EFF", "label": "eff", "flag": "EFFFL"}],
        "analyses": [{"id": "CBR24", "name": "CBR", "analysis_set": "EFF", "dataset": "ADRS", "paramcd": "CBR24",
                      "method": "proportion", "params": {"response": Y}},
                     {"id": "PFS", "name": "PFS", "analysis_set": "SAF", "dataset": "ADTTE", "paramcd": "PFS",
                      "method": "kaplan_meier", "params": {"timepoints": [{"label": "W24", "days": 168}]}}],
        "outputs": [{"id": "T1", "name": "resp", "analyses": ["CBR24"], "figure": "swimmer", "figure_paramcd": "OVR"},
                    {"id": "T2", "name": "pfs", "analyses": ["PFS"], "figure": "km"}]}))
    out = tmp_path / name
    write_results(sp_dir, FRAMES, out, "DEMO", dt.datetime(2026, 1, 1), LINEAGE)
    return out


def test_outputs_are_byte_identical_and_ars_is_valid(tmp_path):
    a, b = _write(tmp_path, "a"), _write(tmp_path, "b")
    names = sorted(p.name for p in a.iterdir())
    assert names == ["ard.csv", "ard.json", "ars.json", "index.html", "trace.html"]
    for n in names:
        assert (a / n).read_bytes() == (b / n).read_bytes(), n
    ars = json.loads((a / "ars.json").read_text())
    for key in ("id", "name", "mainListOfContents"):
        assert key in ars
    an = {x["id"]: x for x in ars["analyses"]}
    assert an["CBR24"]["dataSubsetId"] == "DS_CBR24" and an["CBR24"]["analysisSetId"] == "EFF"
    assert {r["operationId"] for r in an["CBR24"]["results"]} >= {"MTH_PROPORTION_rate", "MTH_PROPORTION_lcl"}
    schema = Path("/work/.mirror/cdisc-org+analysis-results-standard/repo")
    if schema.is_dir():  # the ARS LinkML JSON schema, when a copy of the CDISC repository is at hand
        import jsonschema
        text = subprocess.run(["git", "-C", str(schema), "show", "HEAD:project/jsonschema/ars_ldm.schema.json"],
                              capture_output=True, text=True, check=True).stdout
        jsonschema.validate(ars, json.loads(text))
    html = (a / "index.html").read_text()
    assert 'href="trace.html#CBR24"' in html and "<svg" in html
    trace = (a / "trace.html").read_text()
    assert "id='CBR24'" in trace and "raw/rs_bicr.csv" in trace
    from studyforge.datasetjson import read_dataset_json
    back, _ = read_dataset_json(a / "ard.json")
    csv = pd.read_csv(a / "ard.csv")
    assert list(back["RESULT_ID"]) == list(csv["RESULT_ID"])
    assert back["VALUE"].to_numpy() == pytest.approx(csv["VALUE"].to_numpy(), nan_ok=True)


@pytest.mark.parametrize("analysis,expected", [
    ("{id: A, name: a, analysis_set: SAF, dataset: ADSL, method: median_polish}", "unknown method 'median_polish'"),
    ("{id: A, name: a, analysis_set: SAF, dataset: ADRS, method: proportion, params: {conf: 1.5}}", "params.conf"),
    ("{id: A, name: a, analysis_set: SAF, dataset: ADRS, method: kaplan_meier, params: {timepoints: [{days: 1}]}}",
     "params.timepoints.0.label"),
])
def test_bad_method_or_parameter_is_a_spec_error_at_its_line(tmp_path, analysis, expected):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "analyses.yaml").write_text(
        "analysis_sets:\n  - {id: SAF, label: s, flag: SAFFL}\nanalyses:\n  - " + analysis + "\n")
    with pytest.raises(SpecError) as e:
        load_results_spec(tmp_path)
    assert "analyses.yaml:4" in str(e.value) and expected in str(e.value)
