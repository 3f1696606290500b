"""A small PALACE-like spec (DM, LB; ADSL, ADRS) and the frames written for it, built in code."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from studyforge.define.info import DatasetInfo, dataset_info_from_meta
from studyforge.spec.models import (
    Codelist,
    Comment,
    Dataset,
    Method,
    Origin,
    Parameter,
    Spec,
    Standard,
    Study,
    Term,
    ValueLevel,
    Variable,
    WhereCondition,
)
from studyforge.xpt import write_xpt_info

CREATED = dt.datetime(2024, 1, 15, 9, 30, 0)


def V(name, label, type_="Char", origin="Derived", **kw) -> Variable:
    pages = kw.pop("pages", [])
    return Variable(name=name, label=label, type=type_, origin=Origin(type=origin, pages=pages), **kw)


def make_spec() -> Spec:
    study = Study(id="PALACE", name="PALACE", title="Lanreotide Autogel in Chinese GEP-NET patients",
                  protocol="PALACE-001", xpt_created=CREATED, standards=[
                      Standard(name="SDTMIG", version="3.4", type="IG", publishing_set="SDTM"),
                      Standard(name="ADaMIG", version="1.3", type="IG", publishing_set="ADaM"),
                      Standard(name="CDISC/NCI", version="2025-03-28", type="CT", publishing_set="SDTM"),
                      Standard(name="CDISC/NCI", version="2025-09-26", type="CT", publishing_set="ADaM"),
                  ])
    dm = Dataset(name="DM", label="Demographics", **{"class": "SPECIAL PURPOSE"}, structure="One record per subject",
                 purpose="Tabulation", standard="SDTMIG 3.4", keys=["STUDYID", "USUBJID"], repeating=False,
                 domain="DM", comment="C_DM", variables=[
                     V("STUDYID", "Study Identifier", origin="Protocol", core="Req", role="Identifier"),
                     V("DOMAIN", "Domain Abbreviation", origin="Assigned", core="Req", role="Identifier"),
                     V("USUBJID", "Unique Subject Identifier", core="Req", role="Identifier", method="M_USUBJID"),
                     V("AGE", "Age", "Num", origin="Collected", data_type="integer", pages=["3"], core="Exp",
                       role="Record Qualifier"),
                     V("AGEU", "Age Units", origin="Assigned", codelist="AGEU", core="Exp", role="Variable Qualifier"),
                     V("SEX", "Sex", origin="Collected", pages=["3", "4"], codelist="SEX", core="Req",
                       role="Record Qualifier", comment="C_SEX"),
                 ])
    lb = Dataset(name="LB", label="Laboratory Test Results", **{"class": "FINDINGS"},
                 structure="One record per lab test per visit per subject", purpose="Tabulation",
                 standard="SDTMIG 3.4", keys=["STUDYID", "USUBJID", "LBTESTCD", "LBSEQ"], domain="LB", variables=[
                     V("STUDYID", "Study Identifier", origin="Protocol", core="Req"),
                     V("USUBJID", "Unique Subject Identifier", core="Req", method="M_USUBJID"),
                     V("LBSEQ", "Sequence Number", "Num", data_type="integer", core="Req", method="M_SEQ"),
                     V("LBTESTCD", "Lab Test or Examination Short Name.", origin="Assigned", codelist="LBTESTCD",
                       core="Req"),
                     V("LBORRES", "Result or Finding in Original Units", origin="Collected", pages=["12"], core="Exp"),
                     V("LBSTRESN", "Numeric Result/Finding in Standard Units", "Num", core="Exp", method="M_STRESN"),
                 ], values=[
                     ValueLevel(variable="LBORRES", where=[WhereCondition(variable="LBTESTCD", values=["CGA"])],
                                label="Chromogranin A", type="Char", data_type="text", origin=Origin(
                                    type="Collected", pages=["12"])),
                     ValueLevel(variable="LBORRES", where=[WhereCondition(variable="LBTESTCD", values=["IAA5OH"])],
                                label="5-HIAA", type="Char", data_type="text", origin=Origin(type="Collected",
                                                                                              pages=["13"])),
                 ])
    adsl = Dataset(name="ADSL", label="Subject-Level Analysis Dataset",
                   **{"class": "SUBJECT LEVEL ANALYSIS DATASET"}, structure="One record per subject",
                   purpose="Analysis", standard="ADaMIG 1.3", keys=["STUDYID", "USUBJID"], repeating=False,
                   variables=[
                       Variable(name="STUDYID", label="Study Identifier", type="Char", core="Req",
                                origin=Origin(type="Predecessor", predecessor="DM.STUDYID")),
                       Variable(name="USUBJID", label="Unique Subject Identifier", type="Char", core="Req",
                                origin=Origin(type="Predecessor", predecessor="DM.USUBJID")),
                       Variable(name="SEX", label="Sex", type="Char", codelist="SEX", core="Req",
                                origin=Origin(type="Predecessor", predecessor="DM.SEX")),
                       V("TRTSDT", "Date of First Exposure to Treatment", "Num", data_type="date", format="DATE9.",
                         method="M_TRTSDT", core="Cond"),
                       V("SAFFL", "Safety Population Flag", codelist="NY", method="M_SAFFL", core="Cond"),
                   ])
    adrs = Dataset(name="ADRS", label="Tumor Response Analysis Dataset", **{"class": "BASIC DATA STRUCTURE"},
                   structure="One record per subject per parameter per analysis date", purpose="Analysis",
                   standard="ADaMIG 1.3", keys=["STUDYID", "USUBJID", "PARAMCD", "ADT"], variables=[
                       Variable(name="STUDYID", label="Study Identifier", type="Char", core="Req",
                                origin=Origin(type="Predecessor", predecessor="ADSL.STUDYID")),
                       Variable(name="USUBJID", label="Unique Subject Identifier", type="Char", core="Req",
                                origin=Origin(type="Predecessor", predecessor="ADSL.USUBJID")),
                       V("PARAMCD", "Parameter Code", origin="Assigned", core="Req"),
                       V("PARAM", "Parameter", origin="Assigned", core="Req"),
                       V("AVAL", "Analysis Value", "Num", method="M_AVAL", core="Cond"),
                       V("AVALC", "Analysis Value (C)", method="M_AVAL", core="Cond"),
                       V("ADT", "Analysis Date", "Num", data_type="date", format="DATE9.", method="M_ADT", core="Cond"),
                   ], parameters=[
                       Parameter(paramcd="BOR", param="Best Overall Response by BICR", method="M_BOR"),
                       Parameter(paramcd="OVR", param="Overall Response by BICR", comment="C_OVR"),
                   ])
    codelists = {
        "SEX": Codelist(id="SEX", name="Sex", nci="C66731", submission_value="SEX", extensible=False, terms=[
            Term(value="F", decode="Female"), Term(value="M", decode="Male")]),
        "AGEU": Codelist(id="AGEU", name="Age Unit", nci="C66781", terms=[Term(value="YEARS")]),
        "LBTESTCD": Codelist(id="LBTESTCD", name="Laboratory Test Code", nci="C65047", extensible=True, terms=[
            Term(value="CGA", decode="Chromogranin A"), Term(value="IAA5OH", decode="5-Hydroxyindoleacetic Acid"),
            Term(value="XYZ", decode="Sponsor test <special> & more")]),
        "NY": Codelist(id="NY", name="No Yes Response", nci="C66742", terms=[Term(value="Y", decode="Yes"),
                                                                           Term(value="N", decode="No")]),
    }
    methods = {m.id: m for m in [
        Method(id="M_USUBJID", name="USUBJID", description="STUDYID, SITEID and SUBJID joined by '-'."),
        Method(id="M_SEQ", name="Sequence", description="Record number within USUBJID after sorting by the keys."),
        Method(id="M_STRESN", name="LBSTRESN", description="Numeric LBORRES converted to standard units."),
        Method(id="M_TRTSDT", name="TRTSDT", description="Date of first EX record with EXDOSE > 0."),
        Method(id="M_SAFFL", name="SAFFL", description="'Y' if TRTSDT is not missing, else 'N'."),
        Method(id="M_AVAL", name="AVAL", description="Response coded 1=CR 2=PR 3=SD 4=PD 5=NE."),
        Method(id="M_ADT", name="ADT", description="Date of the assessment (RSDTC)."),
        Method(id="M_BOR", name="BOR RECIST 1.1", description="Best overall response per RECIST 1.1 with CR/PR "
               "confirmed >= 28 days later and SD >= 6 weeks after first dose.", document="sap.pdf"),
    ]}
    comments = {c.id: c for c in [
        Comment(id="C_DM", text="One record per enrolled subject."),
        Comment(id="C_SEX", text="Collected as M/F."),
        Comment(id="C_OVR", text="Time-point response as read by the BICR."),
    ]}
    return Spec(study=study, datasets={d.name: d for d in (dm, lb, adsl, adrs)}, codelists=codelists,
                methods=methods, comments=comments)


def make_frames() -> dict[str, pd.DataFrame]:
    dm = pd.DataFrame({"STUDYID": ["PALACE"] * 3, "DOMAIN": ["DM"] * 3,
                       "USUBJID": ["PALACE-01-001", "PALACE-01-002", "PALACE-02-001"],
                       "AGE": [54.0, 61.0, 47.0], "AGEU": ["YEARS"] * 3, "SEX": ["F", "M", "F"]})
    lb = pd.DataFrame({"STUDYID": ["PALACE"] * 4, "USUBJID": ["PALACE-01-001"] * 2 + ["PALACE-01-002"] * 2,
                       "LBSEQ": [1.0, 2.0, 1.0, 2.0], "LBTESTCD": ["CGA", "IAA5OH", "CGA", "IAA5OH"],
                       "LBORRES": ["123.5", "8", "99", "12.25"], "LBSTRESN": [123.5, 8.0, 99.0, 12.25]})
    adsl = pd.DataFrame({"STUDYID": ["PALACE"] * 3, "USUBJID": dm["USUBJID"], "SEX": dm["SEX"],
                         "TRTSDT": [22000.0, 22010.0, np.nan], "SAFFL": ["Y", "Y", "N"]})
    adrs = pd.DataFrame({"STUDYID": ["PALACE"] * 3, "USUBJID": ["PALACE-01-001"] * 3,
                         "PARAMCD": ["OVR", "OVR", "BOR"],
                         "PARAM": ["Overall Response by BICR", "Overall Response by BICR", "Best Overall Response by BICR"],
                         "AVAL": [2.0, 2.0, 2.0], "AVALC": ["PR", "PR", "PR"], "ADT": [22056.0, 22112.0, 22056.0]})
    return {"DM": dm, "LB": lb, "ADSL": adsl, "ADRS": adrs}


def write_package(spec: Spec, frames: dict[str, pd.DataFrame], folder: Path, purpose: str) -> dict[str, DatasetInfo]:
    """Write the purpose's frames as XPT (studyforge.xpt) and return what was written."""
    infos = {}
    for name, df in frames.items():
        ds = spec.datasets[name]
        if ds.purpose != purpose:
            continue
        labels = {v.name: v.label for v in ds.variables if v.name in df.columns}
        formats = {v.name: v.format for v in ds.variables if v.format and v.name in df.columns}
        meta = write_xpt_info(df, folder / f"{name.lower()}.xpt", name=name, label=ds.label, labels=labels,
                              formats=formats, created=CREATED)
        infos[name] = dataset_info_from_meta(df, meta)
    return infos


@pytest.fixture()
def spec() -> Spec:
    return make_spec()


@pytest.fixture()
def frames() -> dict[str, pd.DataFrame]:
    return make_frames()


@pytest.fixture()
def sdtm_pkg(tmp_path, spec, frames):
    folder = tmp_path / "sdtm"
    folder.mkdir()
    (folder / "acrf.pdf").write_bytes(b"%PDF-1.4 placeholder")
    (folder / "csdrg.pdf").write_bytes(b"%PDF-1.4 placeholder")
    infos = write_package(spec, frames, folder, "Tabulation")
    return folder, infos


@pytest.fixture()
def adam_pkg(tmp_path, spec, frames):
    folder = tmp_path / "adam"
    folder.mkdir()
    (folder / "sap.pdf").write_bytes(b"%PDF-1.4 placeholder")
    infos = write_package(spec, frames, folder, "Analysis")
    return folder, infos
