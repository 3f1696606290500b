"""define.xml: XSD-valid, golden attributes derived by hand from the Define-XML 2.1 rules, deterministic."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from studyforge import standards
from studyforge.define import DefineError, build_define, build_model, validate_define, validate_define_bytes
from studyforge.findings import Severity
from studyforge.spec.models import Origin, Variable

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1",
      "xlink": "http://www.w3.org/1999/xlink"}
DEF = "{http://www.cdisc.org/ns/def/v2.1}"


def _tree(data: bytes) -> etree._Element:
    return etree.fromstring(data)


@pytest.fixture()
def sdtm_xml(spec, sdtm_pkg) -> bytes:
    _, infos = sdtm_pkg
    return build_define(spec, "Tabulation", infos, acrf="acrf.pdf", reviewers_guide="csdrg.pdf")


@pytest.fixture()
def adam_xml(spec, adam_pkg) -> bytes:
    _, infos = adam_pkg
    return build_define(spec, "Analysis", infos, documents={"SAP": "sap.pdf"})


def test_both_defines_are_schema_valid(sdtm_xml, adam_xml):
    assert validate_define_bytes(sdtm_xml) == []
    assert validate_define_bytes(adam_xml) == []


def test_odm_root_and_standards(sdtm_xml):
    root = _tree(sdtm_xml)
    assert root.get("ODMVersion") == "1.3.2" and root.get("FileType") == "Snapshot"
    assert root.get(DEF + "Context") == "Submission"
    assert root.get("CreationDateTime") == "2024-01-15T09:30:00"      # Study.xpt_created, not the clock
    mdv = root.find(".//odm:MetaDataVersion", NS)
    assert mdv.get(DEF + "DefineVersion") == "2.1.0"
    stds = {s.get("OID"): s for s in mdv.findall("def:Standards/def:Standard", NS)}
    assert stds["STD.SDTMIG.3.4"].get("Type") == "IG"
    assert stds["STD.CT.SDTM.2025-03-28"].get("PublishingSet") == "SDTM"
    # every def:StandardOID used points at a declared standard
    used = {e.get(DEF + "StandardOID") for e in root.iter() if e.get(DEF + "StandardOID")}
    assert used and used <= set(stds)


def test_dm_item_group_golden(sdtm_xml):
    root = _tree(sdtm_xml)
    ig = root.find(".//odm:ItemGroupDef[@OID='IG.DM']", NS)
    assert ig.get("Repeating") == "No" and ig.get("Purpose") == "Tabulation" and ig.get("Domain") == "DM"
    assert ig.get(DEF + "Structure") == "One record per subject"
    assert ig.find("def:Class", NS).get("Name") == "SPECIAL PURPOSE"
    leaf = ig.find("def:leaf", NS)
    assert leaf.get("{http://www.w3.org/1999/xlink}href") == "dm.xpt"
    assert ig.get(DEF + "ArchiveLocationID") == leaf.get("ID")
    refs = {r.get("ItemOID"): r for r in ig.findall("odm:ItemRef", NS)}
    # keys STUDYID, USUBJID -> KeySequence 1, 2; core Req -> Mandatory Yes; Exp -> No
    assert refs["IT.DM.STUDYID"].get("KeySequence") == "1" and refs["IT.DM.USUBJID"].get("KeySequence") == "2"
    assert refs["IT.DM.SEX"].get("Mandatory") == "Yes" and refs["IT.DM.AGE"].get("Mandatory") == "No"
    assert refs["IT.DM.USUBJID"].get("MethodOID") == "MT.M_USUBJID"
    assert [r.get("OrderNumber") for r in ig.findall("odm:ItemRef", NS)] == ["1", "2", "3", "4", "5", "6"]
    # Tabulation datasets ordered by class: SPECIAL PURPOSE (DM) before FINDINGS (LB)
    assert [g.get("Name") for g in root.iterfind(".//odm:ItemGroupDef", NS)] == ["DM", "LB"]


def test_item_defs_golden(sdtm_xml):
    root = _tree(sdtm_xml)
    age = root.find(".//odm:ItemDef[@OID='IT.DM.AGE']", NS)
    assert (age.get("DataType"), age.get("Length")) == ("integer", "8")
    origin = age.find("def:Origin", NS)
    assert (origin.get("Type"), origin.get("Source")) == ("Collected", "Investigator")
    page = origin.find("def:DocumentRef/def:PDFPageRef", NS)
    assert origin.find("def:DocumentRef", NS).get("leafID") == "LF.acrf"
    assert (page.get("PageRefs"), page.get("Type")) == ("3", "PhysicalRef")
    sex = root.find(".//odm:ItemDef[@OID='IT.DM.SEX']", NS)
    assert sex.find("odm:CodeListRef", NS).get("CodeListOID") == "CL.SEX"
    assert sex.find("def:Origin/def:DocumentRef/def:PDFPageRef", NS).get("PageRefs") == "3 4"
    assert sex.get(DEF + "CommentOID") == "COM.C_SEX"
    # USUBJID written with max length 13 ("PALACE-01-001") -> Length 13 (no padding, FDA TCG)
    assert root.find(".//odm:ItemDef[@OID='IT.DM.USUBJID']", NS).get("Length") == "13"
    # LBSTRESN float: 123.5, 8, 99, 12.25 -> most decimals 2 -> SignificantDigits 2
    stresn = root.find(".//odm:ItemDef[@OID='IT.LB.LBSTRESN']", NS)
    assert (stresn.get("DataType"), stresn.get("SignificantDigits")) == ("float", "2")
    assert root.find(".//odm:ItemDef[@OID='IT.DM.DOMAIN']/def:Origin", NS).get("Source") == "Sponsor"


def test_codelists_ct_lookup_and_extension(sdtm_xml):
    root = _tree(sdtm_xml)
    ct = standards.sdtm_ct("2025-03-28")
    sex_ct = ct[ct["Codelist Code"] == "C66731"].set_index("Term Submission Value")["Term Code"]
    sex = root.find(".//odm:CodeList[@OID='CL.SEX']", NS)
    assert sex.get(DEF + "StandardOID") == "STD.CT.SDTM.2025-03-28"
    assert sex.find("odm:Alias", NS).get("Name") == "C66731"
    items = {i.get("CodedValue"): i for i in sex.findall("odm:CodeListItem", NS)}
    # term C-codes absent from the spec are filled from the CT package
    assert items["F"].find("odm:Alias", NS).get("Name") == sex_ct["F"]
    assert items["M"].find("odm:Decode/odm:TranslatedText", NS).text == "Male"
    lbt = {i.get("CodedValue"): i for i in root.findall(".//odm:CodeList[@OID='CL.LBTESTCD']/odm:CodeListItem", NS)}
    assert lbt["XYZ"].get(DEF + "ExtendedValue") == "Yes" and lbt["XYZ"].find("odm:Alias", NS) is None
    assert lbt["CGA"].get(DEF + "ExtendedValue") is None
    # escaping: the decode with < & > survives as text
    assert lbt["XYZ"].find("odm:Decode/odm:TranslatedText", NS).text == "Sponsor test <special> & more"
    ageu = root.find(".//odm:CodeList[@OID='CL.AGEU']", NS)
    assert [e.get("CodedValue") for e in ageu.findall("odm:EnumeratedItem", NS)] == ["YEARS"]


def test_value_level_metadata(sdtm_xml):
    root = _tree(sdtm_xml)
    vl = root.find(".//def:ValueListDef[@OID='VL.LB.LBORRES']", NS)
    refs = vl.findall("odm:ItemRef", NS)
    assert [r.get("ItemOID") for r in refs] == ["IT.LB.LBORRES.LBTESTCD.EQ.CGA", "IT.LB.LBORRES.LBTESTCD.EQ.IAA5OH"]
    wc = root.find(".//def:WhereClauseDef[@OID='WC.LB.LBTESTCD.EQ.CGA']/odm:RangeCheck", NS)
    assert (wc.get("Comparator"), wc.get(DEF + "ItemOID"), wc.find("odm:CheckValue", NS).text) == \
        ("EQ", "IT.LB.LBTESTCD", "CGA")
    assert root.find(".//odm:ItemDef[@OID='IT.LB.LBORRES']/def:ValueListRef", NS).get("ValueListOID") == "VL.LB.LBORRES"
    # CGA rows hold "123.5" and "99" -> VLM length 5; IAA5OH "8", "12.25" -> 5
    cga = root.find(".//odm:ItemDef[@OID='IT.LB.LBORRES.LBTESTCD.EQ.CGA']", NS)
    assert cga.get("Length") == "5"
    assert cga.find("def:Origin/def:DocumentRef/def:PDFPageRef", NS).get("PageRefs") == "12"


def test_adam_define_golden(adam_xml):
    root = _tree(adam_xml)
    names = [g.get("Name") for g in root.iterfind(".//odm:ItemGroupDef", NS)]
    assert names == ["ADSL", "ADRS"]                               # ADSL first
    adrs = root.find(".//odm:ItemGroupDef[@OID='IG.ADRS']", NS)
    assert adrs.get("Domain") is None and adrs.get("Purpose") == "Analysis"
    assert adrs.find("def:Class", NS).get("Name") == "BASIC DATA STRUCTURE"
    trtsdt = root.find(".//odm:ItemDef[@OID='IT.ADSL.TRTSDT']", NS)
    # SAS numeric date -> integer with its display format
    assert (trtsdt.get("DataType"), trtsdt.get(DEF + "DisplayFormat")) == ("integer", "DATE9.")
    pred = root.find(".//odm:ItemDef[@OID='IT.ADSL.SEX']/def:Origin", NS)
    assert pred.get("Type") == "Predecessor" and pred.get("Source") is None
    assert pred.find("odm:Description/odm:TranslatedText", NS).text == "DM.SEX"
    # parameters -> AVAL value list per PARAMCD, BOR with its own method, OVR with the parameter comment
    vl = root.find(".//def:ValueListDef[@OID='VL.ADRS.AVAL']", NS)
    refs = {r.get("ItemOID"): r for r in vl.findall("odm:ItemRef", NS)}
    assert refs["IT.ADRS.AVAL.PARAMCD.EQ.BOR"].get("MethodOID") == "MT.M_BOR"
    ovr = root.find(".//odm:ItemDef[@OID='IT.ADRS.AVAL.PARAMCD.EQ.OVR']", NS)
    assert ovr.get(DEF + "CommentOID") == "COM.C_OVR"
    assert ovr.find("odm:Description/odm:TranslatedText", NS).text == "Overall Response by BICR"
    # PARAMCD without a spec codelist -> generated sponsor codelist decoded by PARAM
    cl = root.find(".//odm:CodeList[@OID='CL.ADRS.PARAMCD']", NS)
    assert cl.get(DEF + "IsNonStandard") == "Yes"
    assert {i.get("CodedValue"): i.find("odm:Decode/odm:TranslatedText", NS).text
            for i in cl.findall("odm:CodeListItem", NS)} == {"BOR": "Best Overall Response by BICR",
                                                             "OVR": "Overall Response by BICR"}
    # method document becomes a leaf
    doc = root.find(".//odm:MethodDef[@OID='MT.M_BOR']/def:DocumentRef", NS)
    leaf = root.find(f".//def:leaf[@ID='{doc.get('leafID')}']", NS)
    assert leaf.get("{http://www.w3.org/1999/xlink}href") == "sap.pdf"


def test_deterministic_bytes(spec, sdtm_pkg):
    _, infos = sdtm_pkg
    a = build_define(spec, "Tabulation", infos, acrf="acrf.pdf")
    b = build_define(spec, "Tabulation", infos, acrf="acrf.pdf")
    assert a == b


def test_dangling_codelist_is_an_error(spec, sdtm_pkg):
    _, infos = sdtm_pkg
    spec.datasets["DM"].variables[5].codelist = "NOPE"
    with pytest.raises(DefineError) as exc:
        build_define(spec, "Tabulation", infos)
    f = exc.value.findings[0]
    assert (f.rule, f.dataset, f.variable, f.value) == ("DEFINE-REF", "DM", "SEX", "NOPE")


def test_written_variable_missing_from_spec_is_an_error(spec, sdtm_pkg):
    _, infos = sdtm_pkg
    dm = spec.datasets["DM"]
    dm.variables = [v for v in dm.variables if v.name != "AGEU"]
    with pytest.raises(DefineError) as exc:
        build_define(spec, "Tabulation", infos)
    assert any(f.variable == "AGEU" and f.rule == "DEFINE-VAR" for f in exc.value.findings)


def test_unwritten_spec_parts_are_reported_not_dropped_silently(spec, sdtm_pkg):
    _, infos = sdtm_pkg
    dm = spec.datasets["DM"]
    dm.variables = [*dm.variables, Variable(name="RACE", label="Race", type="Char", origin=Origin(type="Collected"))]
    only_dm = {"DM": infos["DM"]}
    model = build_model(spec, "Tabulation", only_dm)
    msgs = {(f.severity, f.rule, f.dataset, f.variable) for f in model.findings}
    assert (Severity.WARNING, "DEFINE-VAR", "DM", "RACE") in msgs
    assert (Severity.WARNING, "DEFINE-DATASET", "LB", "") in msgs
    assert [g.name for g in model.item_groups] == ["DM"]


def test_collected_pages_without_acrf_warn(spec, sdtm_pkg):
    _, infos = sdtm_pkg
    model = build_model(spec, "Tabulation", infos)
    assert any(f.rule == "DEFINE-ACRF" and f.variable == "AGE" for f in model.findings)


def test_validate_define_reports_line(tmp_path, sdtm_xml):
    broken = sdtm_xml.replace(b' def:Structure="One record per subject"', b"", 1)
    p = tmp_path / "define.xml"
    p.write_bytes(broken)
    problems = validate_define(p)
    line = broken.split(b"\n").index(next(x for x in broken.split(b"\n") if b'OID="IG.DM"' in x)) + 1
    assert problems and problems[0].startswith(f"line {line}: ")
    assert any("Structure" in x for x in problems)
    p.write_bytes(sdtm_xml)
    assert validate_define(p) == []


def test_validate_define_not_well_formed(tmp_path):
    p = tmp_path / "define.xml"
    p.write_bytes(b"<ODM><Study></ODM>")
    problems = validate_define(p)
    assert len(problems) == 1 and "not well-formed" in problems[0]


def test_term_outside_non_extensible_cdisc_codelist_is_an_error(spec, sdtm_pkg):
    _, infos = sdtm_pkg
    from studyforge.spec.models import Term

    spec.codelists["SEX"].terms = [*spec.codelists["SEX"].terms, Term(value="X", decode="Other")]
    with pytest.raises(DefineError) as exc:
        build_define(spec, "Tabulation", infos)
    assert [(f.rule, f.variable, f.value) for f in exc.value.findings] == [("DEFINE-CT", "SEX", "X")]


def test_extensibility_comes_from_ct_not_the_spec(spec, sdtm_pkg):
    _, infos = sdtm_pkg
    spec.codelists["SEX"].extensible = True          # CT 2025-03-28 says SEX (C66731) is not extensible
    model = build_model(spec, "Tabulation", infos)
    assert any(f.rule == "DEFINE-CT" and f.severity is Severity.WARNING and f.value == "C66731"
               for f in model.findings)
    assert next(c for c in model.codelists if c.oid == "CL.SEX").extensible is False


def test_adam_subclass(spec, adam_pkg):
    _, infos = adam_pkg
    spec.datasets["ADRS"].subclass = "TIME-TO-EVENT"
    data = build_define(spec, "Analysis", infos)
    assert validate_define_bytes(data) == []
    sub = _tree(data).find(".//odm:ItemGroupDef[@OID='IG.ADRS']/def:Class/def:SubClass", NS)
    assert sub.get("Name") == "TIME-TO-EVENT"


def test_has_no_data(spec, frames, tmp_path):
    from studyforge.define import dataset_info

    frames["DM"]["AGEU"] = ""                 # Expected variable kept but never populated
    frames["DM"]["AGE"] = float("nan")
    infos = {"DM": dataset_info(frames["DM"], "DM", label="Demographics")}
    root = _tree(build_define(spec, "Tabulation", infos))
    refs = {r.get("ItemOID"): r.get(DEF + "HasNoData") for r in root.iterfind(".//odm:ItemGroupDef/odm:ItemRef", NS)}
    assert refs["IT.DM.AGEU"] == "Yes" and refs["IT.DM.AGE"] == "Yes" and refs["IT.DM.SEX"] is None
    assert validate_define_bytes(etree.tostring(root)) == []
    frames["DM"]["SEX"] = ""                  # Req variable without data is an error (SDTMIG 4.1.5)
    with pytest.raises(DefineError) as exc:
        build_define(spec, "Tabulation", {"DM": dataset_info(frames["DM"], "DM", label="Demographics")})
    assert [(f.rule, f.variable) for f in exc.value.findings] == [("DEFINE-NODATA", "SEX")]


_txt = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF, blacklist_categories=("Cs",)),
               min_size=1, max_size=40).filter(lambda t: t.strip() == t and t.strip())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(label=_txt, decode=_txt, comment=_txt)
def test_property_any_text_round_trips(sdtm_pkg, label, decode, comment):
    from tests.define.conftest import make_spec

    _, infos = sdtm_pkg
    spec = make_spec()
    spec.datasets["DM"].variables[3].label = label
    spec.codelists["SEX"].terms[0].decode = decode
    spec.comments["C_SEX"].text = comment
    data = build_define(spec, "Tabulation", infos)
    assert validate_define_bytes(data) == []
    root = _tree(data)
    assert root.find(".//odm:ItemDef[@OID='IT.DM.AGE']/odm:Description/odm:TranslatedText", NS).text == label
    assert root.find(".//odm:CodeList[@OID='CL.SEX']/odm:CodeListItem/odm:Decode/odm:TranslatedText",
                     NS).text == decode
    assert root.find(".//def:CommentDef[@OID='COM.C_SEX']/odm:Description/odm:TranslatedText", NS).text == comment
