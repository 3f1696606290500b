"""Waterfall input and figure, the trace page's bound, the lineage join and grouping, on hand-built frames."""

import datetime as dt
import re

import numpy as np
import pandas as pd

from results import figures
from results.engine import Prepared, group_positions, prepare
from results.methods import METHODS
from results.model import Analysis, Output, ResultsSpec
from results.stage import waterfall_input, write_results
from results.trace import LineageIndex, trace_frame

ADSL = pd.DataFrame({"USUBJID": ["S1", "S2", "S3", "S4"], "EFFFL": ["Y", "Y", "Y", "N"], "TRTDURD": 100.0})
# best % change records (ANL02FL = Y) of S1 (-40: a PR by size), S2 (+25: PD by size), S3 (-10);
# S4 is outside the analysis set; S1's WEEK 8 record is not its best
ADTR = pd.DataFrame({"USUBJID": ["S1", "S1", "S2", "S3", "S4"], "PARAMCD": "SDIAM",
                     "AVISIT": ["WEEK 8", "WEEK 16", "WEEK 8", "WEEK 8", "WEEK 8"],
                     "PCHG": [-20.0, -40.0, 25.0, -10.0, -90.0], "ANL02FL": ["", "Y", "Y", "Y", "Y"]})
ADRS = pd.DataFrame({"USUBJID": ["S1", "S2", "S4"], "PARAMCD": "CBOR", "AVALC": ["PR", "PD", "CR"]})
FRAMES = {"ADSL": ADSL, "ADTR": ADTR, "ADRS": ADRS}
SPEC = ResultsSpec.model_validate({
    "analysis_sets": [{"id": "EFF", "label": "eff", "flag": "EFFFL"}],
    "analyses": [{"id": "BPCHG", "name": "best", "analysis_set": "EFF", "dataset": "ADTR", "paramcd": "SDIAM",
                  "where": {"condition": {"variable": "ANL02FL", "comparator": "EQ", "value": ["Y"]}},
                  "method": "summary", "params": {"var": "PCHG"}}],
    "outputs": [{"id": "F_WF", "name": "Waterfall", "analyses": ["BPCHG"], "figure": "waterfall",
                 "colour_by": {"dataset": "ADRS", "paramcd": "CBOR"}}]})


def test_waterfall_input_takes_the_best_record_and_the_response():
    p = prepare(SPEC.analyses[0], SPEC, FRAMES, [])
    found = []
    best = waterfall_input(SPEC.outputs[0], p, FRAMES, found)
    got = dict(zip(best["USUBJID"], zip(best["VALUE"], best["RESP"])))
    # S1's best is -40 (not -20); S3 has no CBOR record: shown as no response, and said so
    assert got == {"S1": (-40.0, "PR"), "S2": (25.0, "PD"), "S3": (-10.0, "")}
    assert [f.rule for f in found] == ["SF-RES-006"] and "1 subject(s)" in found[0].message


def test_waterfall_without_the_colour_dataset_is_a_finding():
    p = prepare(SPEC.analyses[0], SPEC, FRAMES, [])
    found = []
    best = waterfall_input(SPEC.outputs[0], p, {"ADSL": ADSL, "ADTR": ADTR}, found)
    assert set(best["RESP"]) == {""} and "not in the package" in found[0].message


def test_waterfall_svg_is_deterministic_sorted_and_has_the_recist_lines():
    best = pd.DataFrame({"USUBJID": ["S1", "S2", "S3"], "VALUE": [-40.0, 25.0, -10.0], "RESP": ["PR", "PD", ""]})
    a = figures.waterfall_plot(best, "W", ["CR", "PR", "SD", "PD"])
    b = figures.waterfall_plot(best.iloc[::-1], "W", ["CR", "PR", "SD", "PD"])
    assert a == b                                        # input order does not matter
    assert "+20%" in a and "-30%" in a                   # RECIST 1.1 PD (+20%) and PR (-30%) thresholds
    assert "PR (n=1)" in a and "PD (n=1)" in a and "no response (n=1)" in a
    assert a.index("PR (n=1)") < a.index("PD (n=1)")   # legend in the given response order, not data order
    assert figures.RESPONSE_COLOURS["PD"] in a and figures.RESPONSE_COLOURS["PR"] in a


def test_waterfall_in_the_report(tmp_path):
    spec_dir = tmp_path / "spec"
    (spec_dir / "results").mkdir(parents=True)
    (spec_dir / "results" / "analyses.yaml").write_text(
        "analysis_sets: [{id: EFF, label: eff, flag: EFFFL}]\n"
        "analyses:\n"
        "  - {id: BPCHG, name: best, analysis_set: EFF, dataset: ADTR, paramcd: SDIAM, method: summary,\n"
        "     where: {condition: {variable: ANL02FL, comparator: EQ, value: ['Y']}}, params: {var: PCHG}}\n"
        "outputs:\n"
        "  - {id: F_WF, name: Waterfall, analyses: [BPCHG], figure: waterfall,\n"
        "     colour_by: {dataset: ADRS, paramcd: CBOR}}\n")
    out = tmp_path / "out"
    write_results(spec_dir, FRAMES, out, "DEMO", dt.datetime(2026, 1, 1))
    html = (out / "index.html").read_text()
    assert "<svg" in html and "+20%" in html
    ard = pd.read_csv(out / "ard.csv")
    # n = 3 best records in EFF; mean (-40 + 25 - 10) / 3 = -8.333; min -40; max 25
    s = dict(zip(ard["STAT"], ard["VALUE"]))
    assert (s["n"], round(s["mean"], 3), s["min"], s["max"]) == (3, -8.333, -40, 25)


def test_trace_page_is_bounded_and_says_so(tmp_path):
    spec_dir = tmp_path / "spec"
    (spec_dir / "results").mkdir(parents=True)
    (spec_dir / "results" / "analyses.yaml").write_text(
        "analysis_sets: [{id: EFF, label: eff, flag: EFFFL}]\n"
        "analyses:\n"
        "  - {id: ALL, name: all, analysis_set: EFF, dataset: ADTR, method: summary, params: {var: PCHG}}\n")
    out = tmp_path / "out"
    write_results(spec_dir, FRAMES, out, "DEMO", dt.datetime(2026, 1, 1), trace_rows=2)
    trace = (out / "trace.html").read_text()
    # EFF (S1-S3) has 4 ADTR records; 2 are shown, and the page names the command that lists all 4
    assert len(re.findall(r"<tr><td>ADTR</td>", trace)) == 2
    assert "The first 2 of 4 records" in trace and "studyforge trace ALL:n" in trace


def test_lineage_join_by_domain_subject_and_sequence():
    lineage = pd.DataFrame({"DOMAIN": ["RS", "RS", "RS", "AE"], "USUBJID": ["S1", "S1", "S2", "S1"],
                            "SEQ": [5, 5, 5, 7], "FILE": ["rs.csv", "rs2.csv", "rs.csv", "ae.csv"],
                            "LINE": [10, 3, 11, 4]})
    idx = LineageIndex(lineage)
    # S1 RS 5 came from two raw lines (both listed, in lineage order); S2 RS 5 one; S1 RS 6 none (kept, blank);
    # S1 AE 5 none: the domain is part of the key
    pos, file, line = idx.join(pd.Series(["RS", "RS", "RS", "AE"]), pd.Series(["S1", "S2", "S1", "S1"]),
                               pd.Series([5.0, 5.0, 6.0, 5.0]))
    assert pos.tolist() == [0, 0, 1, 2, 3]
    assert file.tolist() == ["rs.csv", "rs2.csv", "rs.csv", None, None]
    assert line[:3].tolist() == [10, 3, 11] and np.isnan(line[3:]).all()


def test_trace_frame_with_lineage_frame_or_index_is_the_same():
    adtr = ADTR.assign(SRCDOM="TR", SRCSEQ=[1.0, 2.0, 3.0, 4.0, 5.0])
    spec = SPEC.model_copy()
    p = prepare(spec.analyses[0], spec, {**FRAMES, "ADTR": adtr}, [])
    lin = pd.DataFrame({"DOMAIN": "TR", "USUBJID": ["S1", "S2"], "SEQ": [2, 3], "FILE": "tr.csv", "LINE": [8, 9]})
    a, b = trace_frame(p, lin), trace_frame(p, LineageIndex(lin))
    pd.testing.assert_frame_equal(a, b)
    assert a["LINE"].tolist()[:2] == [8, 9] and a["LINE"].isna().tolist()[2]


def test_group_labels_whole_numbers_and_missing():
    recs = pd.DataFrame({"USUBJID": ["A", "B", "C", "D"], "AVISITN": [12.0, 4.0, np.nan, 12.0],
                         "X": ["b", "a", None, "b"]})
    a = Analysis.model_validate({"id": "G", "name": "g", "analysis_set": "EFF", "dataset": "ADX",
                                 "group_by": ["AVISITN", "X"], "method": "incidence"})
    p = Prepared(a, METHODS["incidence"].params(), recs, pd.Index(["A", "B", "C", "D"]))
    got = [(labels, pos.tolist()) for labels, pos in group_positions(p)]
    # numeric labels first in numeric order (4 < 12), missing last as ''; 12.0 is '12'
    assert got == [([("AVISITN", "4"), ("X", "a")], [1]), ([("AVISITN", "12"), ("X", "b")], [0, 3]),
                   ([("AVISITN", ""), ("X", "")], [2])]


def test_output_swimmer_cap_is_a_parameter():
    assert Output.model_validate({"id": "F", "name": "f", "analyses": ["A"]}).max_subjects == 100


def test_waterfall_of_many_subjects_is_one_shape_per_response():
    n = figures.BARS_MAX + 1
    best = pd.DataFrame({"USUBJID": [f"S{i:04d}" for i in range(n)], "VALUE": np.linspace(30, -60, n),
                         "RESP": ["PD"] * 100 + ["SD"] * (n - 100)})
    svg = figures.waterfall_plot(best, "W", ["SD", "PD"])
    assert svg == figures.waterfall_plot(best, "W", ["SD", "PD"])
    assert f"SD (n={n - 100})" in svg and "PD (n=100)" in svg
    assert svg.count(figures.RESPONSE_COLOURS["SD"]) < 10      # not one bar per subject
