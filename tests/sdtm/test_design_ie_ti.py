"""TI lists every criterion IE uses, with the same text (SDTMIG 3.4 TI assumptions; IE: IETEST as in TI):
rule `design_lookup` (IE.IETEST from TI) and check SF-XD-0202. Expected values derived by hand below."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from ruamel.yaml import YAML

from studyforge.findings import Severity
from tests.sdtm.rulekit import derive, refs, rows
from tests.sdtm.test_design_checks import findings

ROOT = Path(__file__).resolve().parents[2]
TI = pd.DataFrame({"STUDYID": "PALACE", "DOMAIN": "TI", "IETESTCD": ["IN01", "EX01"],
                   "IETEST": ["Adults aged 18 years or older", "Prior radionuclide therapy"],
                   "IECAT": ["INCLUSION", "EXCLUSION"]})


def _ie(codes, tests, cats) -> pd.DataFrame:
    return pd.DataFrame({"STUDYID": "PALACE", "DOMAIN": "IE", "USUBJID": ["S1", "S1", "S2", "S2"][:len(codes)],
                         "IESEQ": [1.0, 2.0, 1.0, 2.0][:len(codes)], "IETESTCD": codes, "IETEST": tests,
                         "IECAT": cats})


def test_check_flags_unknown_codes_and_other_text_or_category():
    ie = _ie(["IN01", "EX02", "EX01", "IN01"],
             ["Adults aged 18 years or older", "Symptomatic cholelithiasis", "Prior PRRT", "Adults aged 18 years or older"],
             ["INCLUSION", "EXCLUSION", "EXCLUSION", "EXCLUSION"])
    got = findings("SF-XD-0202", TI=TI, IE=ie)
    # row 2: EX02 not in TI; row 3: EX01 text differs from TI's; row 4: IN01 is an INCLUSION criterion in TI
    assert [(f.record, f.variable, f.value) for f in got] == [
        ("row 2, IESEQ=2", "IETESTCD", "EX02"), ("row 3, IESEQ=1", "IETEST", "Prior PRRT"),
        ("row 4, IESEQ=2", "IECAT", "EXCLUSION")]


def test_check_flags_ie_without_ti_and_passes_when_ie_matches_ti():
    ie = _ie(["IN01", "EX01"], ["Adults aged 18 years or older", "Prior radionuclide therapy"],
             ["INCLUSION", "EXCLUSION"])
    assert [f.variable for f in findings("SF-XD-0202", IE=ie)] == ["IETESTCD"]
    assert findings("SF-XD-0202", TI=TI, IE=ie) == []


def test_design_lookup_takes_ti_text_and_reports_what_differs(sdtm_spec):
    # PALACE TI: IN03 = "Measurable disease per RECIST 1.1 on CT/MRI within 4 weeks"; ZZ99 is not a criterion
    frame = rows(3, "ie", IETEST=["At least one measurable lesion", "Ki-67 index <= 20% (G1 or G2)", "Other"])
    vars_ = pd.DataFrame({"USUBJID": ["S1", "S1", "S2"], "IETESTCD": ["IN03", "IN04", "ZZ99"]})
    values, notes = derive("design_lookup", {"dataset": "TI", "key": "IETESTCD", "value": "IETEST",
                                             "field": "IETEST"}, frame, refs(sdtm_spec, "IE", vars_, variable="IETEST"))
    assert list(values) == ["Measurable disease per RECIST 1.1 on CT/MRI within 4 weeks",
                            "Ki-67 index <= 20% (G1 or G2)", "Other"]
    assert [(n.rule, n.severity, n.line, n.value) for n in notes] == [
        ("SD1401", Severity.ERROR, 4, "ZZ99"), ("SD1402", Severity.WARNING, 2, "At least one measurable lesion")]
    # without `field` nothing is compared (the collected text is not read)
    _, notes = derive("design_lookup", {"dataset": "TI", "key": "IETESTCD", "value": "IETEST"}, frame,
                      refs(sdtm_spec, "IE", vars_, variable="IETEST"))
    assert [n.rule for n in notes] == ["SD1401"]


def test_palace_ti_holds_every_criterion_the_crf_collects(sdtm_spec):
    # the simulated IE form collects the protocol's criteria (simulation.yaml ie_criteria): each must be a TI
    # row with the same code, text and category
    sim = YAML(typ="safe").load((ROOT / "specs/palace/simulation/simulation.yaml").read_text())["ie_criteria"]
    ti = sdtm_spec.datasets["TI"].derivation.params["rows"]
    by_code = {r["IETESTCD"]: (r["IETEST"], r["IECAT"]) for r in ti}
    assert {c["code"]: (c["text"], c["cat"]) for c in sim}.items() <= by_code.items()


def test_kit_ie_reports_the_ti_text(kit_build):
    # raw kit: 102-001 IN03 collected as "At least one measurable lesion" -> TI's text, SD1402 warning
    ie, found = kit_build[0]["IE"], kit_build[1]
    assert list(ie["IETEST"]) == ["Measurable disease per RECIST 1.1 on CT/MRI within 4 weeks"]
    assert [f.value for f in found if f.rule == "SD1402"] == ["At least one measurable lesion"]
