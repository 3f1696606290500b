"""check_define_against_data: a clean package passes; each kind of disagreement is caught and located."""

from __future__ import annotations

import pandas as pd
import pytest
from lxml import etree

from studyforge.define import check_define_against_data, write_define
from studyforge.findings import Severity
from tests.define.conftest import write_package

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}


@pytest.fixture()
def sdtm_define(spec, sdtm_pkg):
    folder, infos = sdtm_pkg
    write_define(spec, "Tabulation", infos, folder, acrf="acrf.pdf", reviewers_guide="csdrg.pdf")
    return folder, infos


def _rules(findings):
    return {(f.severity, f.rule, f.dataset, f.variable, f.value) for f in findings}


def _edit(folder, fn):
    tree = etree.parse(str(folder / "define.xml"))
    fn(tree.getroot())
    tree.write(str(folder / "define.xml"), xml_declaration=True, encoding="UTF-8")
    return folder / "define.xml"


def test_clean_package_has_no_findings(sdtm_define):
    folder, infos = sdtm_define
    assert check_define_against_data(folder / "define.xml", infos, folder) == []
    # and read back independently from the XPT files (pyreadstat)
    assert check_define_against_data(folder / "define.xml", None, folder) == []


def test_label_mismatch(sdtm_define):
    folder, _ = sdtm_define
    def change(root):
        root.find(".//odm:ItemDef[@OID='IT.DM.AGE']/odm:Description/odm:TranslatedText", NS).text = "Age at consent"
    path = _edit(folder, change)
    got = check_define_against_data(path, None, folder)
    assert _rules(got) == {(Severity.ERROR, "DEFCHK-LABEL", "DM", "AGE", "Age at consent")}
    assert got[0].file == "define.xml" and got[0].line is not None


def test_length_type_and_order_mismatch(sdtm_define):
    folder, _ = sdtm_define
    def change(root):
        root.find(".//odm:ItemDef[@OID='IT.DM.USUBJID']", NS).set("Length", "20")
        root.find(".//odm:ItemDef[@OID='IT.LB.LBSEQ']", NS).set("DataType", "text")
        refs = root.findall(".//odm:ItemGroupDef[@OID='IG.DM']/odm:ItemRef", NS)
        refs[3].set("OrderNumber", "5")   # AGE <-> AGEU
        refs[4].set("OrderNumber", "4")
    got = _rules(check_define_against_data(_edit(folder, change), None, folder))
    assert (Severity.ERROR, "DEFCHK-LENGTH", "DM", "USUBJID", "20") in got
    assert (Severity.ERROR, "DEFCHK-TYPE", "LB", "LBSEQ", "text") in got
    assert (Severity.ERROR, "DEFCHK-ORDER", "DM", "AGEU", "AGE") in got


def test_dataset_label_and_missing_leaf(sdtm_define):
    folder, _ = sdtm_define
    (folder / "acrf.pdf").unlink()
    def change(root):
        root.find(".//odm:ItemGroupDef[@OID='IG.LB']/odm:Description/odm:TranslatedText", NS).text = "Labs"
    got = _rules(check_define_against_data(_edit(folder, change), None, folder))
    assert got == {(Severity.ERROR, "DEFCHK-LEAF", "", "", "acrf.pdf"),
                   (Severity.ERROR, "DEFCHK-LABEL", "LB", "", "Labs")}


def test_variables_and_datasets_out_of_step(spec, frames, sdtm_define):
    folder, _ = sdtm_define
    # the package is rewritten with an extra variable in DM, one dropped from LB, and a stray dataset
    frames["DM"] = frames["DM"].assign(RACE="ASIAN")
    frames["LB"] = frames["LB"].drop(columns=["LBSTRESN"])
    spec.datasets["DM"].variables.append(spec.datasets["DM"].variables[0].model_copy(update={"name": "RACE",
                                                                                            "label": "Race"}))
    infos = write_package(spec, {k: frames[k] for k in ("DM", "LB")}, folder, "Tabulation")
    pd.DataFrame({"STUDYID": ["PALACE"], "DOMAIN": ["VS"]}).pipe(
        lambda d: __import__("studyforge.xpt", fromlist=["write_xpt"]).write_xpt(d, folder / "vs.xpt", name="VS"))
    got = _rules(check_define_against_data(folder / "define.xml", None, folder))
    assert (Severity.ERROR, "DEFCHK-VAR", "DM", "RACE", "") in got
    assert (Severity.ERROR, "DEFCHK-VAR", "LB", "LBSTRESN", "") in got
    assert (Severity.ERROR, "DEFCHK-DATASET", "VS", "", "vs.xpt") in got
    del infos


def test_codelist_values_in_data(spec, frames, sdtm_define):
    folder, _ = sdtm_define
    frames["DM"].loc[1, "SEX"] = "U"            # CDISC SEX (C66731) is non-extensible -> ERROR
    frames["LB"].loc[3, "LBTESTCD"] = "ALB"     # LBTESTCD (C65047) is extensible -> WARNING
    write_package(spec, {k: frames[k] for k in ("DM", "LB")}, folder, "Tabulation")
    got = _rules(check_define_against_data(folder / "define.xml", None, folder))
    assert got == {(Severity.ERROR, "DEFCHK-CT", "DM", "SEX", "U"),
                   (Severity.WARNING, "DEFCHK-CT", "LB", "LBTESTCD", "ALB")}


def test_generated_sponsor_codelist_is_closed(spec, frames, adam_pkg):
    folder, infos = adam_pkg
    write_define(spec, "Analysis", infos, folder, documents={"SAP": "sap.pdf"})
    assert check_define_against_data(folder / "define.xml", None, folder) == []
    frames["ADRS"].loc[0, "PARAMCD"] = "XX"   # generated sponsor PARAMCD codelist is closed -> ERROR
    write_package(spec, {"ADRS": frames["ADRS"]}, folder, "Analysis")
    got = _rules(check_define_against_data(folder / "define.xml", None, folder))
    assert got == {(Severity.ERROR, "DEFCHK-CT", "ADRS", "PARAMCD", "XX")}


def test_value_level_codelist_checked_within_where_clause(spec, frames, sdtm_pkg):
    folder, _ = sdtm_pkg
    # give the CGA result a codelist; only CGA rows must be checked against it
    spec.codelists["RES"] = spec.codelists["NY"].model_copy(update={"id": "RES", "nci": None, "name": "Results",
                                                                     "terms": spec.codelists["NY"].terms[:0]})
    spec.codelists["RES"].terms = [type(spec.codelists["NY"].terms[0])(value="123.5"),
                                   type(spec.codelists["NY"].terms[0])(value="99")]
    spec.datasets["LB"].values[0].codelist = "RES"
    infos = write_package(spec, {"DM": frames["DM"], "LB": frames["LB"]}, folder, "Tabulation")
    write_define(spec, "Tabulation", infos, folder, acrf="acrf.pdf")
    assert check_define_against_data(folder / "define.xml", None, folder) == []
    frames["LB"].loc[2, "LBORRES"] = "100"      # a CGA row
    write_package(spec, {"LB": frames["LB"]}, folder, "Tabulation")
    got = check_define_against_data(folder / "define.xml", None, folder)
    assert _rules(got) == {(Severity.ERROR, "DEFCHK-CT", "LB", "LBORRES", "100")}
    assert "value level" in got[0].message


def test_display_format_mismatch(spec, adam_pkg):
    folder, infos = adam_pkg
    write_define(spec, "Analysis", infos, folder, documents={"SAP": "sap.pdf"})
    def change(root):
        root.find(".//odm:ItemDef[@OID='IT.ADSL.TRTSDT']", NS).set("{%s}DisplayFormat" % NS["def"], "E8601DA.")
    got = _rules(check_define_against_data(_edit(folder, change), None, folder))
    assert got == {(Severity.ERROR, "DEFCHK-FORMAT", "ADSL", "TRTSDT", "E8601DA.")}
