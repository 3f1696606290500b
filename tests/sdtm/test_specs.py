"""Every SDTM spec agrees with SDTMIG 3.4 metadata and the pinned CT (labels, types, order, Req)."""

from __future__ import annotations

import pytest

from sdtm.registry import RULES, parse_params
from studyforge.standards import sdtm_ct, sdtmig_variables


def _ig(name):
    ig = sdtmig_variables()
    return ig[ig["Dataset Name"] == name].set_index("Variable Name")


def test_study_pins_standards(sdtm_spec):
    st = sdtm_spec.study
    assert st.id == "PALACE" and st.registry_id == "NCT04852679" and st.sponsor == "Ipsen"
    assert st.ct_version("SDTM") == "2025-03-28"
    assert st.standard("SDTMIG").version == "3.4"


def test_labels_types_order_and_required(sdtm_spec):
    for ds in sdtm_spec.sdtm():
        ig = _ig("SUPPQUAL" if ds.name.startswith("SUPP") else ds.name)
        if ig.empty:  # custom domain (XD): checked below
            continue
        in_ig = [v for v in ds.variables if v.name in ig.index]
        for v in in_ig:
            row = ig.loc[v.name]
            assert v.label == row["Variable Label"], (ds.name, v.name)
            assert v.type == row["Type"], (ds.name, v.name)
            assert v.core == row["Core"], (ds.name, v.name)
        orders = [int(ig.loc[v.name, "Variable Order"]) for v in in_ig]
        assert orders == sorted(orders), f"{ds.name}: variables out of SDTMIG order"
        req = set(ig.index[ig["Core"] == "Req"])
        missing = req - {v.name for v in ds.variables}
        assert not missing, f"{ds.name}: Req variables missing {missing}"


def test_custom_domain_is_documented(sdtm_spec):
    xd = sdtm_spec.datasets["XD"]
    assert xd.comment and "custom" in sdtm_spec.comments[xd.comment].text.lower()
    assert [v.name for v in xd.variables][:4] == ["STUDYID", "DOMAIN", "USUBJID", "XDSEQ"]


def test_codelists_match_ct(sdtm_spec):
    """Codelists named by SDTM datasets agree with SDTM CT (ADaM ones are checked by `spec check`)."""
    ct = sdtm_ct()
    used = {v.codelist for ds in sdtm_spec.sdtm() for v in [*ds.variables, *ds.values] if v.codelist}
    assert len(used) > 30
    for cl in (sdtm_spec.codelists[i] for i in sorted(used)):
        if not cl.nci:
            continue
        rows = ct[ct["Codelist Code"] == cl.nci]
        assert not rows.empty, cl.id
        assert cl.extensible == (rows["Extensible"].iloc[0] == "Yes"), cl.id
        by_value = dict(zip(rows["Term Submission Value"], rows["Term Code"]))
        for t in cl.terms:
            if t.nci:
                assert by_value.get(t.value) == t.nci, (cl.id, t.value)
            else:  # a sponsor extension is only allowed in an extensible list
                assert cl.extensible, (cl.id, t.value)


def test_every_rule_and_reference_resolves(sdtm_spec):
    for ds in sdtm_spec.sdtm():
        assert ds.derivation and ds.derivation.rule in RULES
        parse_params(ds.derivation.rule, ds.derivation.params)
        for v in ds.variables:
            if v.derivation:
                parse_params(v.derivation.rule, v.derivation.params)
            if v.codelist:
                assert v.codelist in sdtm_spec.codelists, (ds.name, v.name)
            if v.method:
                assert v.method in sdtm_spec.methods, (ds.name, v.method)
            if v.derivation and v.derivation.rule not in ("copy", "ct_map", "constant", "iso8601"):
                assert v.method, f"{ds.name}.{v.name}: derived without a method text"


def test_unknown_rule_is_a_spec_error():
    with pytest.raises(KeyError, match="unknown SDTM rule"):
        parse_params("eval_python", {})
