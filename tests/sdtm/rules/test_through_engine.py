"""The vocabulary through the engine (sdtm.engine.build_dataset) on a small VS mapping sheet: the builder
makes the records, the derivation order comes from what each rule reads (the sheet lists variables out of
dependency order on purpose), each variable is one registered rule. Values worked out by hand."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
from ruamel.yaml import YAML

from sdtm.context import Reconciliation
from sdtm.engine import Build, build_dataset
from sdtm.readers import RawForm
from sdtm.rules.order import plan
from studyforge.spec.models import Dataset

from .helpers import IDENTITY

SHEET = """
name: VS
label: Vital Signs
class: FINDINGS
structure: One record per vital sign measurement per time point per visit per subject
purpose: Tabulation
standard: SDTMIG 3.4
keys: [USUBJID, VSTESTCD, VSDTC]
derivation:
  rule: wide_findings
  params:
    form: vitals
    topic: VSTESTCD
    result: VSORRES
    status: [STAT]
    tests:
      - {testcd: SYSBP, result: SBP, set: {VSORRESU: {value: mmHg}, POS: {field: BPPOS}, STAT: {field: BPND}}}
      - {testcd: TEMP, result: TMP, set: {VSORRESU: {field: TMPU}}}
variables:
  - {name: VSLOBXFL, label: x, type: Char, origin: {type: Derived},
     derivation: {rule: last_before_exposure, params: {by: [VSTESTCD], dtc: VSDTC, result: VSSTRESC}}}
  - {name: VSSTRESN, label: x, type: Num, origin: {type: Derived},
     derivation: {rule: standard_result, params: {source: {var: VSORRES}, output: number, testcd: VSTESTCD,
                  decimal_mark: either, per_test: {TEMP: {decimals: 1}, SYSBP: {decimals: 0}}}}}
  - {name: VSSTRESC, label: x, type: Char, origin: {type: Derived},
     derivation: {rule: standard_result, params: {source: {var: VSORRES}, output: text, testcd: VSTESTCD, number: VSSTRESN,
                  decimal_mark: either, per_test: {TEMP: {decimals: 1}, SYSBP: {decimals: 0}}}}}
  - {name: USUBJID, label: x, type: Char, origin: {type: Derived},
     derivation: {rule: compose, params: {parts: [{value: "DEMO-"}, {field: PATNUM, regex: "(\\\\d+)", pad: 4}]}}}
  - {name: VSTESTCD, label: x, type: Char, origin: {type: Assigned}}
  - {name: VSORRES, label: x, type: Char, origin: {type: Collected}}
  - {name: VSORRESU, label: x, type: Char, origin: {type: Collected}}
  - {name: VSSTAT, label: x, type: Char, origin: {type: Collected},
     derivation: {rule: when, params: {cases: [{if: {field: STAT, missing: false}, then: {value: NOT DONE}}]}}}
  - {name: VSPOS, label: x, type: Char, origin: {type: Collected},
     derivation: {rule: when, params: {cases: [{if: {var: VSTESTCD, equals: TEMP}, then: {value: ""}}],
                  otherwise: {field: POS}}}}
  - {name: VSDTC, label: x, type: Char, origin: {type: Derived},
     derivation: {rule: compose, params: {parts: [{field: VISDT, regex: "/(\\\\d{4})$"}, {value: "-"},
                  {field: VISDT, start: 1, length: 2}, {value: "-"}, {field: VISDT, regex: "^\\\\d\\\\d/(\\\\d\\\\d)/"},
                  {value: "T"}, {field: VISTM}]}}}
"""


def build():
    ds = Dataset.model_validate(YAML(typ="safe", pure=True).load(SHEET))
    raw = pd.DataFrame({"PATNUM": ["P-7", "P-7", "P-7"], "VISDT": ["03/01/2024", "03/05/2024", "03/05/2024"],
                        "VISTM": ["08:00", "08:30", "10:00"], "SBP": ["121.5", "", "130"],
                        "BPPOS": ["SITTING", "", "SUPINE"], "BPND": ["", "Y", ""], "TMP": ["36,64", "37.0", "ND"],
                        "TMPU": ["C", "C", "C"]}, dtype=str)
    form = RawForm("vitals", raw, "raw/vitals.csv", np.array([2, 3, 4]))
    dm = pd.DataFrame({"USUBJID": ["DEMO-0007"], "RFXSTDTC": ["2024-03-05T09:00"]})
    build = Build(spec=SimpleNamespace(study=SimpleNamespace(id="DEMO")), raw={"vitals": form}, identities={},
                  default_identity=IDENTITY, recon=Reconciliation(), datasets={"DM": dm})
    frame, result, _, _ = build_dataset(build, ds, None)
    return result, build.findings, plan(ds), build.recon


def test_vs_from_a_wide_form_through_the_rule_api():
    vars, notes, steps, recon = build()
    order = steps.first + steps.second
    # reads decide the order: VSSTRESC after VSSTRESN (which it checks), VSLOBXFL (not row-wise) last
    assert order.index("VSSTRESC") > order.index("VSSTRESN") > order.index("VSORRES") and order[-1] == "VSLOBXFL"
    cols = ["USUBJID", "VSTESTCD", "VSORRES", "VSORRESU", "VSSTRESC", "VSSTRESN", "VSSTAT", "VSPOS", "VSDTC",
            "VSLOBXFL"]
    got = vars[cols].astype(object).where(vars[cols].notna(), None).values.tolist()
    # raw line 2: SYSBP 121.5 -> 0 decimals half up -> '122'; TEMP '36,64' -> 36.6 (1 decimal)
    # raw line 3: SYSBP empty but not done (BPND 'Y') -> VSSTAT 'NOT DONE'; TEMP 37.0 at 08:30 < 09:00
    # raw line 4: SYSBP 130 at 10:00 (after first dose); TEMP 'ND' is not declared -> kept as text, finding
    # LOBXFL: SYSBP candidates with a STRESC: line 2 only (line 3 has none, line 4 after dose) -> line 2;
    #         TEMP: line 2 (03-01) and line 3 (03-05 08:30) -> line 3
    assert got == [
        ["DEMO-0007", "SYSBP", "121.5", "mmHg", "122", 122.0, "", "SITTING", "2024-03-01T08:00", "Y"],
        ["DEMO-0007", "TEMP", "36,64", "C", "36.6", 36.6, "", "", "2024-03-01T08:00", ""],
        ["DEMO-0007", "SYSBP", "", "mmHg", "", None, "NOT DONE", "", "2024-03-05T08:30", ""],
        ["DEMO-0007", "TEMP", "37.0", "C", "37.0", 37.0, "", "", "2024-03-05T08:30", "Y"],
        ["DEMO-0007", "SYSBP", "130", "mmHg", "130", 130.0, "", "SUPINE", "2024-03-05T10:00", ""],
        ["DEMO-0007", "TEMP", "ND", "C", "ND", None, "", "", "2024-03-05T10:00", ""]]
    findings = [(n.rule, n.variable, n.file, n.line, n.field, n.value) for n in notes]
    # 'ND' of raw TMP at line 4: one WARNING from each of VSSTRESC and VSSTRESN, naming the raw cell
    assert sorted(findings) == [("SD1201", "VSSTRESC", "raw/vitals.csv", 4, "TMP", "ND"),
                                ("SD1201", "VSSTRESN", "raw/vitals.csv", 4, "TMP", "ND")]
    assert recon.unmapped == []
