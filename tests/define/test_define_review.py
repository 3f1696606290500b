"""Define fixes a reviewer asked for (issue 15): shared methods, non-overlapping value-level where clauses,
method text inline in define.html, a define.xml that renders itself in a browser (xml-stylesheet + XSLT)."""

from __future__ import annotations

from lxml import etree

from studyforge.define import build_define, build_model, write_define
from studyforge.define.html import render_define_html
from studyforge.findings import Severity
from studyforge.spec.models import Method, Origin, ValueLevel, WhereCondition

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}


def test_identical_methods_become_one_method_def(spec, sdtm_pkg):
    # LB.LBSEQ uses M_SEQ; give DM.USUBJID a second method id with the very same text (whitespace aside):
    # define.xml must hold one MethodDef, referenced by both ItemRefs, named for the variables it serves.
    _, infos = sdtm_pkg
    spec.methods["M_SEQ2"] = Method(id="M_SEQ2", name="Sequence again",
                                    description="Record number within  USUBJID after sorting by the keys.")
    lb = spec.datasets["LB"]
    lb.variables = [v.model_copy(update={"method": "M_SEQ2"}) if v.name == "LBSEQ" else v for v in lb.variables]
    seq_users = [v.name for d in spec.sdtm() for v in d.variables if v.method in ("M_SEQ", "M_SEQ2")]
    tree = etree.fromstring(build_define(spec, "Tabulation", infos, acrf="acrf.pdf"))
    defs = tree.findall(".//odm:MethodDef", NS)
    texts = [" ".join(d.findtext("odm:Description/odm:TranslatedText", namespaces=NS).split()) for d in defs]
    assert len(texts) == len(set(texts))  # no algorithm printed twice
    seq_oids = {r.get("MethodOID") for r in tree.iterfind(".//odm:ItemRef", NS)
                if r.get("ItemOID").split(".")[-1] in seq_users}
    assert len(seq_oids) == 1
    (merged,) = [d for d in defs if d.get("OID") in seq_oids]
    if len(seq_users) > 1:
        assert merged.get("Name") == "Derivation of " + ", ".join(sorted(set(seq_users)))


def test_parameters_covered_by_an_in_clause_are_not_listed_again(spec, adam_pkg):
    # ADRS AVAL has one explicit IN clause for BOR and OVR: the generated per-PARAMCD entries must not repeat them
    _, infos = adam_pkg
    adrs = spec.datasets["ADRS"]
    adrs.values = [ValueLevel(variable="AVAL", where=[WhereCondition(variable="PARAMCD", comparator="IN",
                                                                     values=["BOR", "OVR"])], type="Num",
                              data_type="integer", method="M_AVAL", origin=Origin(type="Derived"))]
    model = build_model(spec, "Analysis", infos)
    (vl,) = [v for v in model.value_lists if v.variable == "AVAL"]
    assert len(vl.item_refs) == 1
    assert not [f for f in model.findings if f.rule == "DEFINE-VLM-OVERLAP"]


def test_overlapping_where_clauses_are_an_error(spec, adam_pkg):
    _, infos = adam_pkg
    adrs = spec.datasets["ADRS"]
    adrs.values = [ValueLevel(variable="AVAL", where=[WhereCondition(variable="PARAMCD", comparator="IN",
                                                                     values=["BOR", "OVR"])], type="Num",
                              data_type="integer", method="M_AVAL", origin=Origin(type="Derived")),
                   ValueLevel(variable="AVAL", where=[WhereCondition(variable="PARAMCD", values=["OVR"])],
                              type="Num", data_type="float", method="M_AVAL", origin=Origin(type="Derived"))]
    found = [f for f in build_model(spec, "Analysis", infos).findings if f.rule == "DEFINE-VLM-OVERLAP"]
    assert found and all(f.severity is Severity.ERROR for f in found)
    assert any("'OVR'" in f.message for f in found)


def test_define_html_shows_method_text_inline(spec, sdtm_pkg):
    _, infos = sdtm_pkg
    html = render_define_html(build_model(spec, "Tabulation", infos, acrf="acrf.pdf")).decode()
    assert "STUDYID, SITEID and SUBJID joined by &#39;-&#39;." in html or \
        "STUDYID, SITEID and SUBJID joined by '-'." in html
    assert 'id="search"' in html and "<details open" in html


def test_define_xml_renders_itself_through_the_shipped_stylesheet(spec, sdtm_pkg, tmp_path):
    _, infos = sdtm_pkg
    write_define(spec, "Tabulation", infos, tmp_path, acrf="acrf.pdf")
    xml = (tmp_path / "define.xml").read_bytes()
    assert b'<?xml-stylesheet type="text/xsl" href="define-view.xsl"?>' in xml.split(b"\n", 2)[1]
    xslt = etree.XSLT(etree.parse(str(tmp_path / "define-view.xsl")))
    out = str(xslt(etree.parse(str(tmp_path / "define.xml"))))
    for name in ("DM", "LB", "USUBJID", "Sex", "Numeric LBORRES converted to standard units."):
        assert name in out, name
    assert "<table" in out and "LBTESTCD" in out
