"""define.xml for the BDS datasets ADLB, ADQS, ADSYM and ADEX: value-level metadata per PARAMCD (one
ValueListDef entry for AVAL per spec parameter, where PARAMCD EQ <code>, never overlapping), method text on
each, and the analysis windows the spec's dataset rule uses described in the AVISIT method (Define-XML 2.1
section 5.3.6 ValueListDef/WhereClauseDef; ADaMIG 1.3 AWTARGET/AWLO/AWHI). The frames are the benchmark's
synthetic SDTM for 40 subjects run through the ADaM stage; the define is validated against the schema.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from adam.pipeline import derive_adam
from studyforge.define.info import dataset_info
from studyforge.define.model import build_model
from studyforge.define.xml import render_define_xml, validate_define_bytes
from studyforge.spec.loader import load_spec

ROOT = Path(__file__).resolve().parents[2]
NEW = ("ADLB", "ADQS", "ADSYM", "ADEX")
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}


@pytest.fixture(scope="module")
def analysis():
    from benchmarks.bench_adam import synthesize

    spec = load_spec(ROOT / "specs" / "palace")
    out, _ = derive_adam(synthesize(40), spec)
    infos = {name: dataset_info(df, name) for name, df in out.items()}
    model = build_model(spec, "Analysis", infos)
    return spec, model, render_define_xml(model)


def test_define_is_valid_and_has_no_overlapping_where_clauses(analysis):
    _, model, xml = analysis
    assert validate_define_bytes(xml) == []
    assert [str(f) for f in model.findings if f.rule.startswith("DEFINE-VLM")] == []


@pytest.mark.parametrize("name", NEW)
def test_aval_value_list_has_one_entry_per_parameter(analysis, name):
    spec, model, xml = analysis
    tree = etree.fromstring(xml)
    (vl,) = tree.findall(f".//def:ValueListDef[@OID='VL.{name}.AVAL']", NS)
    refs = vl.findall("odm:ItemRef", NS)
    codes = [p.paramcd for p in spec.datasets[name].parameters]
    assert len(refs) == len(codes)
    wheres = []
    for ref in refs:
        (wc_ref,) = ref.findall("def:WhereClauseRef", NS)
        (wc,) = tree.findall(f".//def:WhereClauseDef[@OID='{wc_ref.get('WhereClauseOID')}']", NS)
        (rc,) = wc.findall("odm:RangeCheck", NS)
        assert rc.get("Comparator") == "EQ" and rc.get("def:ItemOID", rc.get(f"{{{NS['def']}}}ItemOID")).endswith(
            ".PARAMCD")
        wheres += [v.text for v in rc.findall("odm:CheckValue", NS)]
        assert ref.get("MethodOID"), "each parameter's AVAL names its method"
    assert sorted(wheres) == sorted(codes)  # each PARAMCD exactly once: no overlap, none missing


@pytest.mark.parametrize("study,name", [("palace", "ADLB"), ("palace", "ADQS"), ("palace", "ADSYM"),
                                        ("cdiscpilot01", "ADLB")])
def test_avisit_method_describes_the_windows_the_rule_uses(study, name):
    # the method text (what define.xml shows) must state every window of the dataset rule's parameters:
    # "<AVISIT> (<AVISITN>) <lo> to <hi>, target <target>"
    spec = load_spec(ROOT / "specs" / study)
    ds = spec.datasets[name]
    method_id = ds.variable("AVISIT").method
    text = " ".join(spec.methods[method_id].description.split()) if isinstance(spec.methods, dict) else " ".join(
        next(m for m in spec.methods if m.id == method_id).description.split())
    for w in ds.derivation.params["windows"]["windows"]:
        want = f"{w['avisit']} ({w['avisitn']:g}) {w['lo']:g} to {w['hi']:g}, target {w['target']:g}"
        assert want in text, (want, text)
