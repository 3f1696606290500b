"""A small, clean PALACE-like package built by hand for the conformance tests.

Two subjects; every date, study day and link below is derived by hand (comments give the sums).
Labels come from the shipped SDTMIG/ADaMIG metadata (the variable name when the IG has none);
codelist terms from the shipped SDTM CT.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

from studyforge import standards
from studyforge.spec.models import Codelist, Dataset, Origin, Spec, Study, Term, Variable

S1, S2 = "PALACE-101-001", "PALACE-101-002"
CREATED = dt.datetime(2024, 1, 15)


def _ct_terms(codelist_sv: str, values: list[str]) -> list[Term]:
    return [Term(value=v, nci=c) for v, c in _ct_term_codes(codelist_sv, tuple(values))]


@lru_cache(maxsize=None)
def _ct_term_codes(codelist_sv: str, values: tuple[str, ...]) -> list[tuple[str, str]]:
    ct = standards.sdtm_ct()
    rows = ct[(ct["Codelist Submission Value"] == codelist_sv) & ct["Term Submission Value"].isin(values)]
    return list(zip(rows["Term Submission Value"], rows["Term Code"]))


@lru_cache(maxsize=None)
def _ct_decode(code_sv: str, decode_sv: str, value: str) -> str:
    """The --TEST/--PARM submission value that goes with a --TESTCD/--PARMCD value (same term C-code)."""
    ct = standards.sdtm_ct()
    code = ct.loc[(ct["Codelist Submission Value"] == code_sv) & (ct["Term Submission Value"] == value), "Term Code"].iloc[0]
    return ct.loc[(ct["Codelist Submission Value"] == decode_sv) & (ct["Term Code"] == code), "Term Submission Value"].iloc[0]


# TS: SSTDTC and DCUTDTC first, then every parameter the FDA TCG expects of an interventional study
# (SF-FDA-0201); controlled values with their SDTM CT 2025-03-28 codes (looked up in the shipped CT)
TS_CODED = {"STYPE": ("STYPE", "INTERVENTIONAL"), "TPHASE": ("TPHASE", "PHASE III TRIAL"), "ADAPT": ("NY", "N"),
            "ADDON": ("NY", "N"), "RANDOM": ("NY", "N"), "HLTSUBJI": ("NY", "N"), "EXTTIND": ("NY", "N"),
            "INTMODEL": ("INTMODEL", "SINGLE GROUP"), "INTTYPE": ("INTTYPE", "DRUG"), "SEXPOP": ("SEXPOP", "BOTH"),
            "TBLIND": ("TBLIND", "OPEN LABEL"), "TCNTRL": ("TCNTRL", "NONE"), "TINDTP": ("TINDTP", "TREATMENT"),
            "TTYPE": ("TTYPE", "EFFICACY"), "DOSFRQ": ("FREQ", "EVERY 4 WEEKS"), "DOSU": ("UNIT", "mg"),
            "ROUTE": ("ROUTE", "SUBCUTANEOUS")}
TS_TEXT = {"SSTDTC": "2021-05-10", "DCUTDTC": "2021-09-30", "ACTSUB": "2", "AGEMIN": "P18Y", "FCNTRY": "CHN",
           "INDIC": "Neuroendocrine tumour", "LENGTH": "P80W", "NARMS": "1", "OBJPRIM": "Clinical benefit",
           "OUTMSPRI": "Clinical benefit rate", "PLANSUB": "2", "REGID": "NCT04852679", "SDTIGVER": "3.4",
           "SDTMVER": "2.0", "SENDTC": "2021-08-01", "SPONSOR": "Ipsen", "TDIGRP": "Neuroendocrine tumour",
           "TITLE": "PALACE test package", "DOSE": "120", "PCLAS": "Somatostatin Analog", "STOPRULE": "NONE",
           "TRT": "LANREOTIDE"}
TS_NULL = {"AGEMAX": "PINF", "COMPTRT": "NA", "CURTRT": "NA"}


def trial_summary() -> pd.DataFrame:
    rows = [{"TSPARMCD": p, "TSVAL": v} for p, v in TS_TEXT.items()]
    rows += [{"TSPARMCD": p, "TSVAL": "", "TSVALNF": nf} for p, nf in TS_NULL.items()]
    for p, (cl, term) in TS_CODED.items():
        rows.append({"TSPARMCD": p, "TSVAL": term, "TSVALCD": dict(_ct_term_codes(cl, (term,)))[term],
                     "TSVCDREF": "CDISC CT", "TSVCDVER": "2025-03-28"})
    ts = pd.DataFrame(rows).fillna("")
    ts.insert(1, "TSPARM", [_ct_decode("TSPARMCD", "TSPARM", p) for p in ts["TSPARMCD"]])
    return ts.assign(STUDYID="PALACE", DOMAIN="TS", TSSEQ=1.0)[
        ["STUDYID", "DOMAIN", "TSSEQ", "TSPARMCD", "TSPARM", "TSVAL", "TSVALNF", "TSVALCD", "TSVCDREF", "TSVCDVER"]]


def sdtm_frames() -> dict[str, pd.DataFrame]:
    common = {"STUDYID": "PALACE"}
    # S1: consent 2021-05-10, first dose 2021-05-24, last dose 2021-06-21, end of participation 2021-08-01
    # S2: consent 2021-06-01, single dose 2021-06-10, end of participation 2021-07-15
    dm = pd.DataFrame({
        **common, "DOMAIN": "DM", "USUBJID": [S1, S2], "SUBJID": ["101-001", "101-002"],
        "RFSTDTC": ["2021-05-24", "2021-06-10"], "RFENDTC": ["2021-06-21", "2021-06-10"],
        "RFXSTDTC": ["2021-05-24", "2021-06-10"], "RFXENDTC": ["2021-06-21", "2021-06-10"],
        "RFICDTC": ["2021-05-10", "2021-06-01"], "RFPENDTC": ["2021-08-01", "2021-07-15"],
        "SITEID": ["101", "101"], "AGE": [54.0, 61.0], "AGEU": ["YEARS", "YEARS"], "SEX": ["F", "M"], "RACE": "ASIAN",
        "ARMCD": ["LAN120", "LAN120"], "ARM": ["Lanreotide Autogel 120 mg"] * 2, "COUNTRY": ["CHN", "CHN"],
    })
    ts = trial_summary()
    # AESTDY: 2021-05-25 - 2021-05-24 + 1 = 2; 2021-05-27 -> 4; partial 2021-06 -> null;
    # 2021-06-15 - 2021-05-24 + 1 = 23; S2 2021-06-05 before 2021-06-10 -> -5; 2021-06-12 -> 3
    ae = pd.DataFrame({
        **common, "DOMAIN": "AE", "USUBJID": [S1, S1, S2], "AESEQ": [1.0, 2.0, 1.0],
        "AETERM": ["HEADACHE", "DIARRHOEA", "NAUSEA"], "AEDECOD": ["Headache", "Diarrhoea", "Nausea"],
        "EPOCH": ["TREATMENT", "TREATMENT", "SCREENING"],
        "AESTDTC": ["2021-05-25", "2021-06", "2021-06-05"], "AEENDTC": ["2021-05-27", "2021-06-15", "2021-06-12"],
        "AESTDY": [2.0, np.nan, -5.0], "AEENDY": [4.0, 23.0, 3.0],
    })
    # EXSTDY: 2021-06-21 - 2021-05-24 + 1 = 29
    ex = pd.DataFrame({
        **common, "DOMAIN": "EX", "USUBJID": [S1, S1, S2], "EXSEQ": [1.0, 2.0, 1.0], "EXTRT": "LANREOTIDE",
        "EXDOSE": 120.0, "EXDOSU": "mg", "EPOCH": "TREATMENT",
        "EXSTDTC": ["2021-05-24", "2021-06-21", "2021-06-10"], "EXENDTC": ["2021-05-24", "2021-06-21", "2021-06-10"],
        "EXSTDY": [1.0, 29.0, 1.0], "EXENDY": [1.0, 29.0, 1.0],
    })
    ev = {"EVAL": "INDEPENDENT ASSESSOR", "EVALID": "RADIOLOGIST 1"}
    tu = pd.DataFrame({
        **common, "DOMAIN": "TU", "USUBJID": [S1, S1, S2], "TUSEQ": [1.0, 2.0, 1.0],
        "TULNKID": ["T01", "NT01", "T01"], "TUTESTCD": "TUMIDENT", "TUTEST": "Tumor Identification",
        "TUORRES": ["TARGET", "NON-TARGET", "TARGET"], "TULOC": ["LIVER", "LYMPH NODE", "PANCREAS"],
        "TUEVAL": ev["EVAL"], "TUEVALID": ev["EVALID"], "TUDTC": ["2021-05-20", "2021-05-20", "2021-06-05"],
    })
    tr = pd.DataFrame({
        **common, "DOMAIN": "TR", "USUBJID": [S1, S1, S2], "TRSEQ": [1.0, 2.0, 1.0],
        "TRLNKID": ["T01", "T01", "T01"], "TRTESTCD": "LDIAM", "TRTEST": "Longest Diameter",
        "TRORRES": ["25", "21", "30"], "TRSTRESN": [25.0, 21.0, 30.0], "TRSTRESU": "mm",
        "TREVAL": ev["EVAL"], "TREVALID": ev["EVALID"], "VISITNUM": [1.0, 2.0, 1.0],
        "TRDTC": ["2021-05-20", "2021-07-19", "2021-06-05"], "TRDY": [-4.0, 57.0, -5.0],  # 07-19: 38+19 = 57
    })
    suppdm = pd.DataFrame({
        **common, "RDOMAIN": "DM", "USUBJID": [S1, S2], "IDVAR": "", "IDVARVAL": "", "QNAM": "FUNCSTAT",
        "QLABEL": "Functioning Status", "QVAL": ["NON-FUNCTIONING", "FUNCTIONING"], "QORIG": "CRF", "QEVAL": "",
    })
    suppae = pd.DataFrame({
        **common, "RDOMAIN": "AE", "USUBJID": [S1], "IDVAR": "AESEQ", "IDVARVAL": "2", "QNAM": "AETRTEM",
        "QLABEL": "Treatment Emergent Flag", "QVAL": "Y", "QORIG": "Derived", "QEVAL": "",
    })
    tr["TRSTRESC"] = ["25", "21", "30"]   # SDTMIG 4.5.1: TRSTRESN is TRSTRESC as a number
    frames = {"DM": dm, "TS": ts, "AE": ae, "EX": ex, "TU": tu, "TR": tr, "SUPPDM": suppdm, "SUPPAE": suppae}
    return {name: _with_expected(name, f) for name, f in frames.items()}


def _with_expected(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every SDTMIG 3.4 Expected variable it lacks, null (SDTMIG 4.1.5: present even when empty)."""
    v = standards.sdtmig_variables()
    rows = v[(v["Dataset Name"] == ("SUPPQUAL" if name.startswith("SUPP") else name)) & (v["Core"] == "Exp")]
    out = frame.copy()
    for var, typ in zip(rows["Variable Name"], rows["Type"]):
        if var not in out.columns:
            out[var] = np.nan if typ == "Num" else ""
    return out


def sas(d: str) -> float:
    return float((dt.date.fromisoformat(d) - dt.date(1960, 1, 1)).days)


def adam_frames() -> dict[str, pd.DataFrame]:
    adsl = pd.DataFrame({
        "STUDYID": "PALACE", "USUBJID": [S1, S2], "SUBJID": ["101-001", "101-002"], "SITEID": "101",
        "AGE": [54.0, 61.0], "AGEU": "YEARS", "SEX": ["F", "M"], "RACE": "ASIAN", "ARM": "Lanreotide Autogel 120 mg",
        "TRT01P": "Lanreotide Autogel 120 mg", "TRTSDT": [sas("2021-05-24"), sas("2021-06-10")],
    })
    # S1 progression 2021-07-19 (AVAL = 07-19 - 05-24 + 1 = 57); S2 censored at 2021-06-05 baseline scan
    adtte = pd.DataFrame({
        "STUDYID": "PALACE", "USUBJID": [S1, S2], "PARAMCD": "PFS", "PARAM": "Progression-Free Survival (days)",
        "STARTDT": [sas("2021-05-24"), sas("2021-06-10")], "ADT": [sas("2021-07-19"), sas("2021-06-05")],
        "AVAL": [57.0, 1.0], "CNSR": [0.0, 1.0], "EVNTDESC": ["DISEASE PROGRESSION", "NO ADEQUATE ASSESSMENT"],
    })
    return {"ADSL": adsl, "ADTTE": adtte}


DATASET_LABELS = {"DM": "Demographics", "TS": "Trial Summary", "AE": "Adverse Events", "EX": "Exposure",
                  "TU": "Tumor/Lesion Identification", "TR": "Tumor/Lesion Results",
                  "SUPPDM": "Supplemental Qualifiers for DM", "SUPPAE": "Supplemental Qualifiers for AE",
                  "ADSL": "Subject-Level Analysis Dataset", "ADTTE": "Time-to-Event Analysis Dataset"}
CLASSES = {"DM": "SPECIAL PURPOSE", "TS": "TRIAL DESIGN", "AE": "EVENTS", "EX": "INTERVENTIONS", "TU": "FINDINGS",
           "TR": "FINDINGS", "SUPPDM": "RELATIONSHIP", "SUPPAE": "RELATIONSHIP",
           "ADSL": "SUBJECT LEVEL ANALYSIS DATASET", "ADTTE": "BASIC DATA STRUCTURE"}
KEYS = {"DM": ["STUDYID", "USUBJID"], "TS": ["STUDYID", "TSPARMCD", "TSSEQ"], "AE": ["STUDYID", "USUBJID", "AESEQ"],
        "EX": ["STUDYID", "USUBJID", "EXSEQ"], "TU": ["STUDYID", "USUBJID", "TUSEQ"],
        "TR": ["STUDYID", "USUBJID", "TRSEQ"],
        "SUPPDM": ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"],
        "SUPPAE": ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"],
        "ADSL": ["STUDYID", "USUBJID"], "ADTTE": ["STUDYID", "USUBJID", "PARAMCD"]}


@lru_cache(maxsize=None)
def _ig(name: str, standard: str) -> tuple[dict[str, str], dict[str, str]]:
    if standard == "SDTM":
        v = standards.sdtmig_variables()
        rows = v[v["Dataset Name"] == ("SUPPQUAL" if name.startswith("SUPP") else name)]
        return dict(zip(rows["Variable Name"], rows["Variable Label"])), dict(zip(rows["Variable Name"], rows["Core"]))
    a = standards.adamig_variables().drop_duplicates("Variable Name")
    return dict(zip(a["Variable Name"], a["Variable Label"])), dict(zip(a["Variable Name"], a["Core"]))


def make_spec(sdtm: dict[str, pd.DataFrame], adam: dict[str, pd.DataFrame]) -> Spec:
    datasets = {}
    for std, frames in (("SDTM", sdtm), ("ADaM", adam)):
        for name, df in frames.items():
            labels, cores = _ig(name, std)
            variables = []
            for c in df.columns:
                num = pd.api.types.is_numeric_dtype(df[c])
                variables.append(Variable(
                    name=c, label=labels.get(c, c)[:40], type="Num" if num else "Char",
                    core=cores.get(c) if cores.get(c) in ("Req", "Exp", "Perm") else None,
                    origin=Origin(type="Derived"), codelist={"SEX": "SEX", "EPOCH": "EPOCH"}.get(c),
                    format="DATE9." if c.endswith("DT") and num else None))
            datasets[name] = Dataset(
                name=name, label=DATASET_LABELS[name], **{"class": CLASSES[name]}, structure="test",
                purpose="Tabulation" if std == "SDTM" else "Analysis",
                standard="SDTMIG 3.4" if std == "SDTM" else "ADaMIG 1.3", keys=KEYS[name],
                domain=name if std == "SDTM" else None, variables=variables)
    codelists = {
        "SEX": Codelist(id="SEX", name="Sex", nci="C66731", submission_value="SEX", extensible=False,
                        terms=_ct_terms("SEX", ["F", "M"])),
        "EPOCH": Codelist(id="EPOCH", name="Epoch", nci="C99079", submission_value="EPOCH", extensible=True,
                          terms=_ct_terms("EPOCH", ["SCREENING", "TREATMENT", "FOLLOW-UP"])),
    }
    study = Study(id="PALACE", name="PALACE", title="PALACE test package", protocol="PALACE-001", standards=[
        {"name": "SDTMIG", "version": "3.4", "type": "IG", "publishing_set": "SDTM"},
        {"name": "ADaMIG", "version": "1.3", "type": "IG", "publishing_set": "ADaM"}], xpt_created=CREATED)
    return Spec(study=study, datasets=datasets, codelists=codelists)


def define_xml(frames: dict[str, pd.DataFrame], spec: Spec, purpose: str) -> str:
    """A minimal Define-XML 2.1 document (valid against define2-1-0.xsd) describing `frames`."""
    std_oid = "STD.IG"
    groups, items = [], []
    for name, df in frames.items():
        ds = spec.datasets[name]
        refs = []
        for i, v in enumerate(ds.variables, start=1):
            oid = f"IT.{name}.{v.name}"
            key = f' KeySequence="{ds.keys.index(v.name) + 1}"' if v.name in ds.keys else ""
            refs.append(f'<ItemRef ItemOID="{oid}" OrderNumber="{i}" Mandatory="{"Yes" if v.core == "Req" else "No"}"{key}/>')
            if v.type == "Char":
                length = max(int(df[v.name].astype(str).str.len().max()), 1)
                dtype, extra = "text", f' Length="{length}"'
            else:
                dtype = "integer" if (v.format or "").startswith("DATE") else "float"
                extra = ' Length="8"' if dtype == "float" else ""
            items.append(f'<ItemDef OID="{oid}" Name="{v.name}" DataType="{dtype}"{extra} SASFieldName="{v.name}">'
                         f'<Description><TranslatedText xml:lang="en">{escape(v.label)}</TranslatedText></Description>'
                         f'<def:Origin Type="Derived"/></ItemDef>')
        domain = f' Domain="{name}"' if purpose == "Tabulation" and not name.startswith("SUPP") else ""
        groups.append(
            f'<ItemGroupDef OID="IG.{name}" Name="{name}" Repeating="Yes" IsReferenceData="No" SASDatasetName="{name}"'
            f'{domain} Purpose="{purpose}" def:Structure="test" def:StandardOID="{std_oid}" def:ArchiveLocationID="LF.{name}">'
            f'<Description><TranslatedText xml:lang="en">{escape(ds.label)}</TranslatedText></Description>'
            + "".join(refs)
            + f'<def:Class Name="{ds.class_}"/>'
            f'<def:leaf ID="LF.{name}" xlink:href="{name.lower()}.xpt"><def:title>{name.lower()}.xpt</def:title></def:leaf>'
            "</ItemGroupDef>")
    ig, ver = ("SDTMIG", "3.4") if purpose == "Tabulation" else ("ADaMIG", "1.3")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" xmlns:def="http://www.cdisc.org/ns/def/v2.1" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" ODMVersion="1.3.2" FileType="Snapshot" '
        f'FileOID="DEF.PALACE.{purpose}" CreationDateTime="2024-01-15T00:00:00" def:Context="Submission">'
        '<Study OID="ST.PALACE"><GlobalVariables><StudyName>PALACE</StudyName>'
        '<StudyDescription>PALACE</StudyDescription><ProtocolName>PALACE-001</ProtocolName></GlobalVariables>'
        f'<MetaDataVersion OID="MDV.PALACE.{purpose}" Name="PALACE {purpose}" def:DefineVersion="2.1.0">'
        f'<def:Standards><def:Standard OID="{std_oid}" Name="{ig}" Type="IG" Version="{ver}" Status="Final"/></def:Standards>'
        + "".join(groups) + "".join(items)
        + "</MetaDataVersion></Study></ODM>\n")


def write_package(root: Path, sdtm: dict[str, pd.DataFrame], adam: dict[str, pd.DataFrame], spec: Spec,
                  *, define: bool = True) -> Path:
    from studyforge.xpt import write_xpt

    base = root / "m5" / "datasets" / "palace"
    for std, frames, folder, purpose in (("SDTM", sdtm, base / "tabulations" / "sdtm", "Tabulation"),
                                         ("ADaM", adam, base / "analysis" / "adam" / "datasets", "Analysis")):
        folder.mkdir(parents=True, exist_ok=True)
        for name, df in frames.items():
            ds = spec.datasets[name]
            write_xpt(df, folder / f"{name.lower()}.xpt", name=name, label=ds.label,
                      labels={v.name: v.label for v in ds.variables},
                      formats={v.name: v.format for v in ds.variables if v.format}, created=CREATED)
        if define:
            (folder / "define.xml").write_text(define_xml(frames, spec, purpose), encoding="utf-8")
    return root


def memory_view(sdtm: dict[str, pd.DataFrame], adam: dict[str, pd.DataFrame], spec: Spec | None,
                labels_from: Spec | None = None):
    """A PackageView of frames as write_package + load_package would give (labels/formats from the spec)."""
    from studyforge.conform.package import DatasetView, PackageView, VarMeta
    from studyforge.datasets_io import normalize as _normalize

    meta_spec = labels_from or spec
    view = PackageView(spec=spec)
    for std, frames in (("SDTM", sdtm), ("ADaM", adam)):
        for name, df in frames.items():
            norm = _normalize(df)
            sd = meta_spec.datasets.get(name) if meta_spec else None
            base = DatasetView(name, std, norm).variables
            vars_ = []
            for v in base:
                sv = next((x for x in sd.variables if x.name == v.name), None) if sd else None
                vars_.append(VarMeta(v.name, v.type, v.length, sv.label if sv else "", (sv.format or "") if sv else ""))
            view.datasets[name] = DatasetView(name, std, norm, sd.label if sd else DATASET_LABELS.get(name, ""),
                                              vars_, f"{name.lower()}.xpt")
    return view
