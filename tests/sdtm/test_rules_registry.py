"""One registration per SDTM rule: parameter model, implementation, variables read, method text. The
table `spec check` validates against is made from the registrations, so nothing can fall out of step."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sdtm.registry import RULES, method, parse_params
from sdtm.rules import REGISTRY, load_all
from studyforge.spec.check import check_spec
from studyforge.spec.loader import load_spec_with_locations

ROOT = Path(__file__).resolve().parents[2]


def test_the_table_is_the_registrations():
    load_all()
    assert dict(RULES) == {name: r.params for name, r in REGISTRY.items()}


@pytest.mark.parametrize("name", sorted(RULES))
def test_every_rule_forbids_unknown_params_and_has_a_method_text(name):
    r = REGISTRY[name]
    assert r.params.model_config.get("extra") == "forbid"
    assert (callable(r.method) or r.method.strip()) and r.kind in ("variable", "dataset")  # callable: params -> text


def test_every_palace_derivation_renders_its_method_text(sdtm_spec):
    seen = 0
    for ds in sdtm_spec.sdtm():
        for v in ds.variables:
            if v.derivation:
                text = method(v.derivation.rule, v.derivation.params)
                assert text and "{" not in text, (ds.name, v.name, text)
                seen += 1
    assert seen > 200


def test_method_text_shows_the_params():
    # seq over QSCAT, QSDTC: the template is filled with the spec's values
    assert method("seq", {"sort": ["QSCAT", "QSDTC"]}).startswith(
        "Sequential number 1..n within USUBJID, records ordered by QSCAT, QSDTC")
    assert "DM.RFXSTDTC" in method("study_day", {"dtc": "AESTDTC", "ref": "RFXSTDTC"})


def test_unknown_rule_names_the_known_ones():
    with pytest.raises(KeyError, match="unknown SDTM rule 'eval_python'; known: age, arm"):
        parse_params("eval_python", {})


def test_spec_check_validates_params_through_the_registry(tmp_path):
    spec_dir = tmp_path / "palace"
    shutil.copytree(ROOT / "specs" / "palace", spec_dir)
    qs = spec_dir / "sdtm" / "QS.yaml"
    text = qs.read_text()
    assert text.count("sort: [QSCAT, QSDTC, QSTESTCD]") == 1
    lines = text.splitlines()
    i = next(i for i, ln in enumerate(lines) if "sort: [QSCAT, QSDTC, QSTESTCD]" in ln)
    if "{" in lines[i]:  # flow style: params: {sort: [...]}
        lines[i] = lines[i].replace("sort: [QSCAT, QSDTC, QSTESTCD]", "sort: [QSCAT, QSDTC, QSTESTCD], order: raw")
    else:
        lines.insert(i + 1, " " * (len(lines[i]) - len(lines[i].lstrip())) + "order: raw")
    qs.write_text("\n".join(lines) + "\n")
    spec, where = load_spec_with_locations(spec_dir)
    got = [f for f in check_spec(spec, where, {"Tabulation": RULES}) if f.rule == "SPEC-PARAMS"]
    assert len(got) == 1 and got[0].file.endswith("sdtm/QS.yaml") and got[0].line
    assert "order 'raw' takes no `sort`" in got[0].message
