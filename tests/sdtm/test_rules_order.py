"""Derivation order comes from what each rule reads (sdtm/rules/order.py); output order stays the spec's.

Before this engine, variables ran in spec order within fixed phases, so moving QSTEST (decode of
QSTESTCD) above QSTESTCD blanked every QSTEST value (52 in the 43-subject PALACE build) without a word.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from sdtm.pipeline import build_sdtm
from sdtm.readers import read_raw_dir
from sdtm.registry import RULES
from sdtm.rules.order import OrderError, order_problems, plan
from studyforge.spec.check import check_spec, format_finding
from studyforge.spec.loader import load_spec_with_locations
from studyforge.spec.models import Derivation

ROOT = Path(__file__).resolve().parents[2]


def _moved(ds, name: str, before: str):
    """A copy of dataset `ds` with variable `name` moved just above `before`."""
    vs = [v for v in ds.variables if v.name != name]
    at = [v.name for v in vs].index(before)
    moved = ds.model_copy(deep=True)
    moved.variables = vs[:at] + [ds.variable(name)] + vs[at:]
    return moved


def test_plan_puts_a_variable_after_what_it_reads(sdtm_spec):
    qs = _moved(sdtm_spec.datasets["QS"], "QSTEST", before="QSTESTCD")
    steps = plan(qs)
    order = steps.first + steps.second
    assert order.index("QSTESTCD") < order.index("QSTEST")
    # row-wise rules run first; --SEQ / --DY / EPOCH / VISITNUM look across records: second pass
    assert {"QSSEQ", "QSDY", "EPOCH", "VISITNUM", "VISIT"} <= set(steps.second)
    assert "QSTEST" in steps.first and "QSDTC" in steps.first
    # ties keep the spec's order: STUDYID, DOMAIN, USUBJID come first as written
    assert steps.first[:3] == ["STUDYID", "DOMAIN", "USUBJID"]


def test_moving_qstest_above_qstestcd_changes_nothing_but_column_order(sdtm_spec, kit_build, tmp_path):
    datasets, _, _, folder = kit_build
    spec = sdtm_spec.model_copy(deep=True)
    spec.datasets["QS"] = _moved(sdtm_spec.datasets["QS"], "QSTEST", before="QSTESTCD")
    raw, _ = read_raw_dir(folder)
    moved, findings, _ = build_sdtm(raw, spec)
    qs = moved["QS"]
    # output order is the spec's order (QSTEST now before QSTESTCD) ...
    assert list(qs.columns) == [v.name for v in spec.datasets["QS"].variables]
    assert list(qs.columns).index("QSTEST") < list(qs.columns).index("QSTESTCD")
    # ... and every value is what the original order gives: no QSTEST left blank
    assert (qs["QSTEST"] != "").all() and len(qs) > 0
    pd.testing.assert_frame_equal(qs[datasets["QS"].columns], datasets["QS"])


def _with_derivation(ds, name: str, rule: str, params: dict):
    d = ds.model_copy(deep=True)
    d.variable(name).derivation = Derivation(rule=rule, params=params)
    return d


def test_read_of_an_undefined_variable_is_a_problem(sdtm_spec):
    qs = _with_derivation(sdtm_spec.datasets["QS"], "QSTEST", "decode",
                          {"var": "QSTESTCX", "codelists": ["EOR01TC"]})
    assert order_problems(qs) == [("QSTEST", "QS.QSTEST: reads QSTESTCX, which QS does not define")]
    with pytest.raises(OrderError, match="QSTESTCX"):
        plan(qs)


def test_a_cycle_is_a_problem(sdtm_spec):
    # DTHFL reads DTHDTC (condition var); make DTHDTC read DTHFL: DTHDTC -> DTHFL -> DTHDTC
    dm = _with_derivation(sdtm_spec.datasets["DM"], "DTHDTC", "condition", {"var": "DTHFL", "nonempty": "X"})
    problems = order_problems(dm)
    assert len(problems) == 1
    var, msg = problems[0]
    assert var in ("DTHFL", "DTHDTC") and "cycle" in msg
    assert "DTHFL -> DTHDTC -> DTHFL" in msg or "DTHDTC -> DTHFL -> DTHDTC" in msg


def test_reads_itself_is_a_problem(sdtm_spec):
    dm = _with_derivation(sdtm_spec.datasets["DM"], "DTHFL", "condition", {"var": "DTHFL", "nonempty": "Y"})
    assert ("DTHFL", "DM.DTHFL: reads itself") in order_problems(dm)


def test_supp_qualifier_reading_an_undefined_variable(sdtm_spec):
    supp = sdtm_spec.datasets["SUPPDM"].model_copy(deep=True)
    supp.derivation.params["qualifiers"][0]["derivation"] = {"rule": "condition",
                                                             "params": {"var": "NOSUCH", "nonempty": "Y"}}
    problems = order_problems(sdtm_spec.datasets["DM"], supp)
    assert problems == [("", "SUPPDM qualifier ICVERS: reads NOSUCH, which DM does not define")]


def _palace_copy(tmp_path: Path) -> Path:
    spec = tmp_path / "palace"
    shutil.copytree(ROOT / "specs" / "palace", spec)
    return spec


def test_spec_check_names_file_and_line_of_an_unsatisfiable_read(tmp_path):
    spec_dir = _palace_copy(tmp_path)
    qs = spec_dir / "sdtm" / "QS.yaml"
    text = qs.read_text()
    decode = "{rule: decode, params: {var: QSTESTCD"     # QSTEST's read (QSORRES's `when` reads QSTESTCD too)
    assert text.count(decode) == 1
    qs.write_text(text.replace(decode, "{rule: decode, params: {var: QSTESTCX"))
    spec, where = load_spec_with_locations(spec_dir)
    got = [f for f in check_spec(spec, where, {"Tabulation": RULES}) if f.rule == "SPEC-ORDER"]
    assert len(got) == 1
    f = got[0]
    lines = qs.read_text().splitlines()
    name_line = next(i + 1 for i, ln in enumerate(lines) if re.search(r"name: QSTEST\b", ln))
    var_line = next(i + 1 for i, ln in enumerate(lines) if "var: QSTESTCX" in ln)
    assert f.file.endswith("sdtm/QS.yaml") and name_line < f.line <= var_line
    assert format_finding(f).endswith("ERROR QS.QSTEST: reads QSTESTCX, which QS does not define")


def test_spec_check_of_palace_has_no_order_problem():
    spec, where = load_spec_with_locations(ROOT / "specs" / "palace")
    assert [f for f in check_spec(spec, where, {"Tabulation": RULES}) if f.rule == "SPEC-ORDER"] == []
