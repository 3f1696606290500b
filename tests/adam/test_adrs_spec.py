"""ADRS.yaml and its method/codelist files: valid, consistent with ADaMIG 1.3 and CDISC CT, rules known."""

from __future__ import annotations

import re

import pytest
from ruamel.yaml import YAML

from adam.adrs import BUILDERS, RULES
from studyforge import standards
from studyforge.spec.models import MethodFile
from tests.adam.test_adrs_builder import SPEC_PATH, load_spec

HERE = SPEC_PATH.parent


@pytest.fixture(scope="module")
def spec():
    return load_spec()


@pytest.fixture(scope="module")
def methods():
    return {m.id: m for m in MethodFile.model_validate(YAML(typ="safe").load((HERE / "methods_adrs.yaml").read_text())).methods}


@pytest.fixture(scope="module")
def codelists():
    """All codelists of the study spec: ADRS names shared ones (NY, DATEFL) besides its own file's."""
    from studyforge.spec.loader import load_spec as load_study_spec

    return load_study_spec(HERE.parent).codelists


def _ig_label(name: str) -> tuple[str, str]:
    """ADaMIG 1.3 label/type of a BDS (or ADSL) variable, placeholders (xx, zz, y) filled in."""
    ig = standards.adamig_variables()
    for structure in ("Basic Data Structure", "Subject-Level Analysis Dataset"):
        rows = ig[ig["Data Structure Name"] == structure]
        for n, lab, typ in zip(rows["Variable Name"], rows["Variable Label"], rows["Type"]):
            rx = re.sub(r"[yw]", r"(\\d)", re.sub(r"xx|zz", r"(\\d\\d)", re.escape(n)))
            m = re.fullmatch(rx, name)
            if m:
                for holder, digits in zip(re.findall(r"xx|zz|[yw]", n), m.groups()):
                    lab = re.sub(rf"\b{holder}\b", digits, lab, count=1)
                return lab, typ.strip()
    raise KeyError(name)


def test_variables_follow_adamig(spec):
    for v in spec.variables:
        label, typ = _ig_label(v.name)
        assert (v.label, v.type) == (label, typ), v.name
    for v in spec.variables:
        if v.name.endswith("DT"):
            assert v.format == "DATE9.", v.name


def test_every_reference_resolves(spec, methods, codelists):
    used_methods = {v.method for v in spec.variables if v.method} | {p.method for p in spec.parameters}
    used_methods |= {x.method for x in spec.values if x.method}
    assert used_methods <= set(methods), used_methods - set(methods)
    used_cl = {v.codelist for v in spec.variables if v.codelist} | {x.codelist for x in spec.values if x.codelist}
    assert used_cl <= set(codelists), used_cl - set(codelists)


def test_every_parameter_rule_is_registered_and_valid(spec):
    RULES["adrs"].model_validate(spec.derivation.params)
    evaluators = set(spec.derivation.params["evaluators"])
    for p in spec.parameters:
        assert p.derivation.rule in BUILDERS
        prm = RULES[p.derivation.rule].model_validate(p.derivation.params)
        assert getattr(prm, "evaluator", next(iter(evaluators))) in evaluators
        assert len(p.paramcd) <= 8 and len(p.param) <= 200


def test_paramcd_codelist_matches_parameters(spec, codelists):
    terms = [(t.value, t.decode) for t in codelists["CL.ADRS.PARAMCD"].terms]
    assert terms == [(p.paramcd, p.param) for p in spec.parameters]
    assert [t.value for t in codelists["CL.ADRS.PARAM"].terms] == [p.param for p in spec.parameters]


def test_response_codelist_uses_cdisc_oncrsr_codes(codelists):
    ct = standards.sdtm_ct()
    onc = ct[ct["Codelist Submission Value"] == "ONCRSR"].set_index("Term Submission Value")["Term Code"]
    cl = codelists["CL.ADRS.RESP"]
    assert cl.nci == ct.loc[ct["Codelist Submission Value"] == "ONCRSR", "Codelist Code"].iloc[0]
    for t in cl.terms:
        if t.value == "MISSING":  # sponsor extension (admiralonco), no C-code
            assert t.nci is None
        else:
            assert t.nci == onc[t.value], t.value
    ny = ct[ct["Codelist Submission Value"] == "NY"].set_index("Term Submission Value")["Term Code"]
    assert {t.value: t.nci for t in codelists["NY"].terms} == {"Y": ny["Y"], "N": ny["N"]}


def test_value_level_avalc_covers_every_parameter_once(spec):
    covered: list[str] = []
    for v in spec.values:
        if v.variable == "AVALC":
            covered += v.where[0].values
    assert sorted(covered) == sorted(p.paramcd for p in spec.parameters)


def test_method_texts_state_the_spec_values(spec, methods):
    """The define.xml method texts quote the spec's numbers; they must not drift apart."""
    prm = spec.derivation.params
    assert f"{prm['confirm_days']} days later" in methods["MT.ADRS.CBOR"].description
    assert f"TRTSDT + {prm['min_sd_days']} days" in methods["MT.ADRS.BOR"].description
    assert f"at most {prm['max_ne_between']} NE" in methods["MT.ADRS.CBOR"].description
    for p in spec.parameters:
        if p.derivation.rule == "adrs_timepoint":
            d = p.derivation.params
            text = methods[p.method].description
            if d["endpoint"] == "APF":  # APF uses the window start and the target day
                lo = d["target_day"] - d["window_before"]
                assert f"study day >= {lo}" in text and f"study day {d['target_day']}" in text, p.paramcd
            else:  # ORR, DCR, CBR count up to the window end
                assert str(d["target_day"] + d["window_after"]) in text, p.paramcd
            if d["endpoint"] == "CBR":
                assert f"[{d['target_day'] - d['window_before']}, " in text, p.paramcd
