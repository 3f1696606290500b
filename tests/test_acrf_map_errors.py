"""The aCRF annotations never skip a derivation silently (issue 12): a rule the registry does not know,
or params the rule rejects, stop with one line naming the dataset and variable."""

from __future__ import annotations

import pytest

from sdtm.acrf_map import AnnotationError, annotations
from studyforge.spec.loader import load_spec

SPEC = load_spec("specs/palace")


def _with_derivation(rule: str, params: dict):
    dm = SPEC.datasets["DM"]
    variables = [v.model_copy(update={"derivation": v.derivation.model_copy(update={"rule": rule, "params": params})})
                 if v.name == "SEX" else v for v in dm.variables]
    return SPEC.model_copy(update={"datasets": {**SPEC.datasets, "DM": dm.model_copy(update={"variables": variables})}})


def test_the_palace_spec_annotates_sex_from_its_raw_field():
    assert "DM.SEX" in annotations(SPEC)[("dm", "SEX")]


def test_params_the_rule_rejects_stop_the_annotation():
    with pytest.raises(AnnotationError, match=r"DM\.SEX: rule ct_map rejects its params \(field: "):
        annotations(_with_derivation("ct_map", {}))


def test_an_unknown_rule_stops_the_annotation():
    with pytest.raises(AnnotationError, match=r"DM\.SEX: unknown rule 'no_such_rule'"):
        annotations(_with_derivation("no_such_rule", {"field": "SEX"}))
