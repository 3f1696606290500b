"""Write specs/palace/sdtm/*.yaml, codelists.yaml and methods.yaml from SDTMIG 3.4 metadata plus
the PALACE mapping tables below (labels, types, roles, core and order are never typed by hand).

Run: .venv/bin/python -m sdtm.tools.make_specs [SPEC_DIR]
"""

from __future__ import annotations

import sys
from io import StringIO
from pathlib import Path

from ruamel.yaml import YAML

from studyforge.standards import sdtm_ct, sdtm_model_variables, sdtmig_datasets, sdtmig_variables

STUDY = "PALACE"


# -- derivation shorthands -------------------------------------------------------------------
def cp(f, **kw): return {"rule": "copy", "params": {"field": f, **kw}}
def ct(f, cl=None): return {"rule": "ct_map", "params": {"field": f, **({"codelist": cl} if cl else {})}}
def k(v): return {"rule": "constant", "params": {"value": v}}
def iso(d, t=None, fmt="edc"): return {"rule": "iso8601", "params": {"date": d, **({"time": t} if t else {}),
                                                                  **({"format": fmt} if fmt != "edc" else {})}}
def seq(*s): return {"rule": "seq", "params": {"sort": list(s)}}
def dy(v): return {"rule": "study_day", "params": {"dtc": v}}
def ep(v): return {"rule": "epoch", "params": {"dtc": v}}
def vn(v, field="FOLDER"): return {"rule": "visit", "params": {"field": field, "output": "visitnum", "dtc": v}}
def vl(v, field="FOLDER"): return {"rule": "visit", "params": {"field": field, "output": "visit", "dtc": v}}
def dec(v, *cls): return {"rule": "decode", "params": {"var": v, "codelists": list(cls)}}
USUBJID = {"rule": "usubjid", "params": {}}


def common(dom, seq_sort=None):
    out = {"STUDYID": k(STUDY), "DOMAIN": k(dom), "USUBJID": USUBJID}
    if seq_sort:
        out[f"{dom}SEQ"] = seq(*seq_sort)
    return out


def timing(dom, dtc, date, time=None, fmt="edc", visit=True, field="FOLDER"):
    out = {}
    if visit:
        out.update({"VISITNUM": vn(f"{dom}{dtc}", field), "VISIT": vl(f"{dom}{dtc}", field)})
    out.update({"EPOCH": ep(f"{dom}{dtc}"), f"{dom}{dtc}": iso(date, time, fmt)})
    dyname = f"{dom}{dtc[:-3] if dtc.endswith('DTC') else dtc}DY" if dtc != "DTC" else f"{dom}DY"
    out[dyname] = dy(f"{dom}{dtc}")
    return out


def unit_table():
    rows = []
    def add(t, frm, to, f=1.0, off=0.0):
        rows.append({"testcd": t, "from_unit": frm, "to_unit": to, "factor": f, **({"offset": off} if off else {})})
    add("CGA", "ug/L", "ug/L"); add("CGA", "ng/mL", "ug/L")
    add("IA5OHEXR", "mg/day", "mg/day"); add("IA5OHEXR", "umol/day", "mg/day", 1 / 5.23)
    add("GLUC", "mmol/L", "mmol/L"); add("GLUC", "mg/dL", "mmol/L", 1 / 18.016)
    add("HBA1C", "%", "%"); add("HBA1C", "mmol/mol", "%", 1 / 10.929, 2.15 * 10.929)
    for t in ("ALT", "AST"):
        add(t, "U/L", "U/L")
    add("BILI", "umol/L", "umol/L"); add("BILI", "mg/dL", "umol/L", 17.104)
    add("HGB", "g/L", "g/L"); add("HGB", "g/dL", "g/L", 10.0)
    for t in ("WBC", "PLAT", "NEUT"):
        add(t, "10^9/L", "10^9/L")
    return rows


def lbconv(value, output):
    return {"rule": "unit_convert", "params": {"value": value, "unit": "LBORRESU", "unit_var": "LBORRESU", "testcd": "LBTESTCD",
                                               "output": output, "table": unit_table()}}


INJ_SITES = ["upper outer buttock", "superior external thigh"]
QS_C30 = {f"Q{i:02d}": f"EOR01{i:02d}" for i in range(1, 31)}
QS_GI = {f"G{i:02d}": f"EOR15{i:02d}" for i in range(1, 22)}

RECIST = {"investigator": {"target": "tl", "nontarget": "ntl", "new": "nl", "response": "rsinv"},
          "bicr": {"lesions": "bicr_lesions", "response": "bicr_response", "adjudication": "bicr_adjudication"},
          "ecog_form": "ecog"}

# visit schedule (protocol; EDC folder names are the VISIT names)
VISITS = [("SCREENING", 1, -28)] + [("DAY 1", 2, 1)] + [(f"WEEK {w}", 2 + w // 4, 1 + 7 * w) for w in range(4, 76, 4)] \
    + [("FOLLOW-UP", 30, None)]

ARMCD, ARM = "LAN120", "Lanreotide Autogel 120 mg"
TE_ROWS = [
    {"ETCD": "SCRN", "ELEMENT": "Screening", "TESTRL": "Informed consent", "TEENRL": "First dose of lanreotide", "TEDUR": "P28D"},
    {"ETCD": "HCPINJ", "ELEMENT": "Lanreotide 120 mg by healthcare professional", "TESTRL": "First dose of lanreotide",
     "TEENRL": "48 weeks after first dose, or entry into self/partner injection, or end of treatment", "TEDUR": "P48W"},
    {"ETCD": "SELFINJ", "ELEMENT": "Lanreotide 120 mg self/partner injection", "TESTRL": "Entry into the self/partner injection period",
     "TEENRL": "24 weeks later, or end of treatment", "TEDUR": "P24W"},
    {"ETCD": "FU", "ELEMENT": "Follow-up", "TESTRL": "End of treatment", "TEENRL": "End of study participation", "TEDUR": "P28D"},
]
TA_ROWS = [
    {"ARMCD": ARMCD, "ARM": ARM, "TAETORD": 1, "ETCD": "SCRN", "ELEMENT": "Screening", "EPOCH": "SCREENING"},
    {"ARMCD": ARMCD, "ARM": ARM, "TAETORD": 2, "ETCD": "HCPINJ", "ELEMENT": TE_ROWS[1]["ELEMENT"], "EPOCH": "TREATMENT",
     "TATRANS": "If not entering the self/partner injection period, go to Follow-up"},
    {"ARMCD": ARMCD, "ARM": ARM, "TAETORD": 3, "ETCD": "SELFINJ", "ELEMENT": TE_ROWS[2]["ELEMENT"], "EPOCH": "TREATMENT"},
    {"ARMCD": ARMCD, "ARM": ARM, "TAETORD": 4, "ETCD": "FU", "ELEMENT": "Follow-up", "EPOCH": "FOLLOW-UP"},
]
TI_ROWS = [
    {"IETESTCD": "IN01", "IETEST": "Adults aged 18 years or older", "IECAT": "INCLUSION"},
    {"IETESTCD": "IN02", "IETEST": "Histologically confirmed well-differentiated G1/G2 GEP-NET", "IECAT": "INCLUSION"},
    {"IETESTCD": "IN03", "IETEST": "At least one measurable lesion per RECIST 1.1 on CT/MRI", "IECAT": "INCLUSION"},
    {"IETESTCD": "IN04", "IETEST": "Unresectable locally advanced or metastatic disease", "IECAT": "INCLUSION"},
    {"IETESTCD": "IN05", "IETEST": "ECOG performance status 0-2", "IECAT": "INCLUSION"},
    {"IETESTCD": "EX01", "IETEST": "Prior somatostatin analogue therapy within the washout period", "IECAT": "EXCLUSION"},
    {"IETESTCD": "EX02", "IETEST": "Prior peptide receptor radionuclide therapy", "IECAT": "EXCLUSION"},
    {"IETESTCD": "EX03", "IETEST": "Symptomatic cholelithiasis", "IECAT": "EXCLUSION"},
    {"IETESTCD": "EX04", "IETEST": "Severe hepatic or renal impairment", "IECAT": "EXCLUSION"},
]
TS_ROWS = [
    ("TITLE", "A Phase 3, Open-label, Single-arm Study of Lanreotide Autogel 120 mg in Chinese Patients with "
              "Well-differentiated G1/G2 Gastroenteropancreatic Neuroendocrine Tumours (PALACE)", "", ""),
    ("REGID", "NCT04852679", "", "ClinicalTrials.gov"),
    ("SPONSOR", "Ipsen", "", ""),
    ("STYPE", "INTERVENTIONAL", "C98388", "CDISC CT"),
    ("TPHASE", "PHASE III TRIAL", "C15602", "CDISC CT"),
    ("TTYPE", "EFFICACY", "C49666", "CDISC CT"),
    ("TTYPE", "SAFETY", "C49667", "CDISC CT"),
    ("TBLIND", "OPEN LABEL", "C49659", "CDISC CT"),
    ("TCNTRL", "NONE", "C41132", "CDISC CT"),
    ("INTMODEL", "SINGLE GROUP", "C82640", "CDISC CT"),
    ("INTTYPE", "DRUG", "C1909", "CDISC CT"),
    ("RANDOM", "N", "C49487", "CDISC CT"),
    ("NARMS", "1", "", ""),
    ("PLANSUB", "43", "", ""),
    ("ACTSUB", "43", "", ""),
    ("AGEMIN", "P18Y", "", "ISO 8601"),
    ("SEXPOP", "BOTH", "C49636", "CDISC CT"),
    ("TRT", "LANREOTIDE", "", ""),
    ("DOSE", "120", "", ""),
    ("DOSU", "mg", "C28253", "CDISC CT"),
    ("DOSFRQ", "EVERY 4 WEEKS", "C64956", "CDISC CT"),
    ("ROUTE", "SUBCUTANEOUS", "C38299", "CDISC CT"),
    ("INDIC", "Gastroenteropancreatic neuroendocrine tumour", "", ""),
    ("FCNTRY", "CHN", "", "ISO 3166-1 Alpha-3"),
    ("ADDON", "N", "C49487", "CDISC CT"),
    ("SDTIGVER", "3.4", "", ""),
    ("SDTMVER", "2.0", "", ""),
]


def ts_rows():
    ct_df = sdtm_ct()
    names = ct_df[ct_df["Codelist Submission Value"] == "TSPARM"]
    codes = ct_df[ct_df["Codelist Submission Value"] == "TSPARMCD"]
    by_code = dict(zip(names["Term Code"], names["Term Submission Value"]))
    parm = {r: by_code[c] for r, c in zip(codes["Term Submission Value"], codes["Term Code"])}
    out = []
    for cd, val, vcd, ref in TS_ROWS:
        row = {"TSPARMCD": cd, "TSPARM": parm[cd], "TSVAL": val}
        if vcd:
            row["TSVALCD"] = vcd
        if ref:
            row["TSVCDREF"] = ref
            if ref == "CDISC CT":
                row["TSVCDVER"] = "2025-03-28"
        out.append(row)
    return out


# -- the domains ----------------------------------------------------------------------------
DOMAINS: dict[str, dict] = {}

DOMAINS["DM"] = dict(
    builder={"rule": "forms", "params": {"parts": [{"form": "dm", "unique": ["SUBJID"]}]}},
    vars={**common("DM"), "SUBJID": cp("SUBJID"),
          "RFSTDTC": {"rule": "subject_date", "params": {"form": "ex", "date": "EXSTDAT", "time": "EXSTTIM", "agg": "min"}},
          "RFENDTC": {"rule": "subject_date", "params": {"form": "ex", "date": "EXSTDAT", "time": "EXSTTIM", "agg": "max"}},
          "RFXSTDTC": {"rule": "subject_date", "params": {"form": "ex", "date": "EXSTDAT", "time": "EXSTTIM", "agg": "min"}},
          "RFXENDTC": {"rule": "subject_date", "params": {"form": "ex", "date": "EXSTDAT", "time": "EXSTTIM", "agg": "max"}},
          "RFICDTC": {"rule": "subject_date", "params": {"form": "ic", "date": "DSSTDAT", "agg": "min"}},
          "RFPENDTC": {"rule": "subject_date", "params": {"form": "ds", "date": "DSSTDAT", "agg": "max",
                                                          "where_field": "DSSCAT", "where_in": ["END OF STUDY"]}},
          "DTHDTC": {"rule": "subject_date", "params": {"form": "dd", "date": "DTHDAT", "agg": "min"}},
          "DTHFL": {"rule": "condition", "params": {"var": "DTHDTC", "nonempty": "Y"}},
          "SITEID": cp("SITEID"), "BRTHDTC": iso("BRTHDAT"),
          "AGE": {"rule": "age", "params": {"birth": "BRTHDAT", "ref": "RFICDTC", "partial": "unambiguous"}},
          "AGEU": {"rule": "condition", "params": {"var": "AGE", "nonempty": "YEARS"}},
          "SEX": ct("SEX"), "RACE": ct("RACE"), "ETHNIC": ct("ETHNIC"),
          **{o: {"rule": "arm", "params": {"output": o, "armcd": ARMCD, "arm": ARM, "treated_form": "ex",
                                           "screen_fail_form": "ie"}}
             for o in ("ARMCD", "ARM", "ACTARMCD", "ACTARM", "ARMNRS")},
          "COUNTRY": k("CHN")},
    keys=["STUDYID", "USUBJID"], sources=["dm", "ic", "ex", "ds", "dd", "ie"],
    supp={"idvar": "", "qualifiers": [
        {"qnam": "ICVERS", "qlabel": "Protocol Version Consented", "qorig": "CRF",
         "derivation": {"rule": "subject_date", "params": {"form": "ic", "date": "ICVERS", "agg": "max", "text": True}}}]},
)

DOMAINS["EX"] = dict(
    builder={"rule": "forms", "params": {"parts": [{"form": "ex", "unique": ["SUBJID", "FOLDER", "RECORDPOSITION"]}]}},
    vars={**common("EX", ["EXSTDTC"]), "EXTRT": k("LANREOTIDE"), "EXDOSE": cp("EXDOSE"), "EXDOSU": ct("EXDOSU"),
          "EXDOSFRM": k("INJECTION"), "EXROUTE": k("SUBCUTANEOUS"), "EXLOT": cp("EXLOT"), "EXLOC": ct("EXLOC"),
          "EXLAT": {"rule": "condition", "params": {"field": "EXLOC", "cases": [
              {"in": [f"Left {s}" for s in INJ_SITES], "value": "LEFT"},
              {"in": [f"Right {s}" for s in INJ_SITES], "value": "RIGHT"}]}},
          "EXDIR": {"rule": "condition", "params": {"field": "EXLOC", "cases": [
              {"in": [f"{lr} upper outer buttock" for lr in ("Left", "Right")], "value": "UPPER OUTER"},
              {"in": [f"{lr} superior external thigh" for lr in ("Left", "Right")], "value": "SUPERIOR EXTERNAL"}]}},
          **timing("EX", "STDTC", "EXSTDAT", "EXSTTIM"), "EXENDTC": iso("EXSTDAT", "EXSTTIM"), "EXENDY": dy("EXENDTC")},
    keys=["STUDYID", "USUBJID", "EXTRT", "EXSTDTC"], sources=["ex"],
    supp={"idvar": "EXSEQ", "qualifiers": [
        {"qnam": "EXADMIN", "qlabel": "Administered By", "qorig": "CRF", "derivation": ct("EXADMIN", "EXADMIN")}]},
)

DOMAINS["AE"] = dict(
    builder={"rule": "forms", "params": {"parts": [{"form": "ae", "unique": ["SUBJID", "FOLDER", "RECORDPOSITION"]}]}},
    vars={**common("AE", ["AESTDTC", "AETERM"]), "AETERM": cp("AETERM"), "AELLT": cp("AELLT", upper=True),
          "AELLTCD": cp("AELLTCD"), "AEDECOD": cp("AEDECOD", upper=True), "AEPTCD": cp("AEPTCD"),
          "AEHLT": cp("AEHLT", upper=True), "AEHLTCD": cp("AEHLTCD"), "AEHLGT": cp("AEHLGT", upper=True),
          "AEHLGTCD": cp("AEHLGTCD"), "AEBODSYS": cp("AESOC", upper=True), "AEBDSYCD": cp("AESOCCD"),
          "AESOC": cp("AESOC", upper=True), "AESOCCD": cp("AESOCCD"),
          "AESER": ct("AESER"), "AEACN": ct("AEACN"), "AEREL": ct("AEREL", "AEREL"), "AEOUT": ct("AEOUT"),
          "AESCONG": ct("AESCONG"), "AESDISAB": ct("AESDISAB"), "AESDTH": ct("AESDTH"), "AESHOSP": ct("AESHOSP"),
          "AESLIFE": ct("AESLIFE"), "AESMIE": ct("AESMIE"), "AETOXGR": ct("AETOXGR", "TOXGR"),
          "EPOCH": ep("AESTDTC"), "AESTDTC": iso("AESTDAT"), "AEENDTC": iso("AEENDAT"),
          "AESTDY": dy("AESTDTC"), "AEENDY": dy("AEENDTC"),
          "AEENRTPT": {"rule": "condition", "params": {"field": "AEONGO", "cases": [{"in": ["Yes", "Y"], "value": "ONGOING"}]}},
          "AEENTPT": {"rule": "condition", "params": {"field": "AEONGO", "cases": [{"in": ["Yes", "Y"], "value": "END OF STUDY"}]}}},
    keys=["STUDYID", "USUBJID", "AEDECOD", "AESTDTC", "AESEQ"], sources=["ae"],
    supp={"idvar": "AESEQ", "qualifiers": [], "split_text": ["AETERM"]},
)

DOMAINS["LB"] = dict(
    builder={"rule": "forms", "params": {"parts": [{"form": "lb", "unique": ["SUBJID", "FOLDER", "RECORDPOSITION"]}]}},
    vars={**common("LB", ["LBCAT", "LBTESTCD", "LBSPEC", "LBDTC"]), "LBTESTCD": ct("LBTEST", "LBTESTCD"),
          "LBTEST": dec("LBTESTCD", "LBTESTCD"), "LBCAT": cp("LBCAT", upper=True), "LBORRES": cp("LBORRES"),
          "LBORRESU": ct("LBORRESU", "UNIT"), "LBORNRLO": cp("LBORNRLO"), "LBORNRHI": cp("LBORNRHI"),
          "LBSTRESC": lbconv("LBORRES", "text"), "LBSTRESN": lbconv("LBORRES", "number"),
          "LBSTRESU": lbconv("LBORRES", "unit"), "LBSTNRLO": lbconv("LBORNRLO", "number"),
          "LBSTNRHI": lbconv("LBORNRHI", "number"),
          "LBNRIND": {"rule": "nrind", "params": {"result": "LBSTRESN", "low": "LBSTNRLO", "high": "LBSTNRHI"}},
          "LBSTAT": ct("LBSTAT", "ND"), "LBREASND": cp("LBREASND"), "LBNAM": cp("LBNAM"), "LBSPEC": ct("LBSPEC"),
          "LBLOBXFL": {"rule": "lobxfl", "params": {"by": ["LBTESTCD", "LBSPEC"], "dtc": "LBDTC", "result": "LBORRES",
                                                    "seq": "LBSEQ"}},
          **timing("LB", "DTC", "LBDAT", "LBTIM")},
    keys=["STUDYID", "USUBJID", "LBTESTCD", "LBSPEC", "VISITNUM", "LBDTC", "LBSEQ"], sources=["lb"],
)

DOMAINS["QS"] = dict(
    builder={"rule": "transpose", "params": {"instruments": [
        {"form": "qlqc30", "cat": "EORTC QLQ-C30 V3.0", "date": "QSDAT", "items": QS_C30, "stat": "QSSTAT", "reasnd": "QSREASND"},
        {"form": "ginet21", "cat": "EORTC QLQ-GINET21 DATE 20TH FEBRUARY 2006", "date": "QSDAT", "items": QS_GI, "stat": "QSSTAT"}]}},
    vars={**common("QS", ["QSCAT", "QSDTC", "QSTESTCD"]), "QSTESTCD": cp("__testcd"),
          "QSTEST": dec("QSTESTCD", "EOR01TC", "GINET21TC", "QSALLTC"), "QSCAT": cp("__cat"),
          "QSORRES": cp("__resp"), "QSSTRESC": cp("__resp"), "QSSTRESN": cp("__resp"),
          "QSSTAT": {"rule": "condition", "params": {"field": "__testcd", "cases": [{"in": ["QSALL"], "value": "NOT DONE"}]}},
          "QSREASND": cp("QSREASND"), **timing("QS", "DTC", "__date")},
    keys=["STUDYID", "USUBJID", "QSCAT", "QSTESTCD", "VISITNUM", "QSDTC"], sources=["qlqc30", "ginet21"],
)

DOMAINS["XD"] = dict(
    custom="Findings", label="NET Symptom Diary",
    builder={"rule": "transpose", "params": {"instruments": [
        {"form": "diary", "cat": "NET SYMPTOM DIARY", "date": "DIARYDAT", "items": {"STOOLS": "STOOLNUM", "FLUSH": "FLUSHNUM"}}]}},
    vars={**common("XD", ["XDDTC", "XDTESTCD"]), "XDTESTCD": cp("__testcd"), "XDTEST": dec("XDTESTCD", "XDTESTCD"),
          "XDCAT": cp("__cat"), "XDORRES": cp("__resp"), "XDSTRESC": cp("__resp"), "XDSTRESN": cp("__resp"),
          **timing("XD", "DTC", "__date")},
    order=["STUDYID", "DOMAIN", "USUBJID", "XDSEQ", "XDTESTCD", "XDTEST", "XDCAT", "XDORRES", "XDSTRESC",
           "XDSTRESN", "VISITNUM", "VISIT", "EPOCH", "XDDTC", "XDDY"],
    keys=["STUDYID", "USUBJID", "XDTESTCD", "XDDTC"], sources=["diary"],
)

_rtu = {"rule": "recist_tu", "params": RECIST}
DOMAINS["TU"] = dict(
    builder=_rtu,
    vars={**common("TU", ["TUEVAL", "TUEVALID", "TULNKID"]), "TULNKID": cp("LNKID"), "TUTESTCD": cp("TESTCD"),
          "TUTEST": dec("TUTESTCD", "TUTESTCD"), "TUORRES": cp("ORRES"), "TUSTRESC": cp("ORRES"),
          "TULOC": ct("LOC"), "TUMETHOD": ct("METHOD"), "TUEVAL": ct("EVAL"), "TUEVALID": ct("EVALID"),
          **timing("TU", "DTC", "DATE")},
    keys=["STUDYID", "USUBJID", "TUEVAL", "TUEVALID", "TULNKID"], sources=["tl", "ntl", "nl", "bicr_lesions"],
)
DOMAINS["TR"] = dict(
    builder={"rule": "recist_tr", "params": RECIST},
    vars={**common("TR", ["TREVAL", "TREVALID", "TRDTC", "TRTESTCD", "TRLNKID"]), "TRLNKID": cp("LNKID"),
          "TRTESTCD": cp("TESTCD"), "TRTEST": dec("TRTESTCD", "TRTESTCD"), "TRORRES": cp("ORRES"),
          "TRORRESU": cp("ORRESU"), "TRSTRESC": cp("ORRES"), "TRSTRESN": cp("ORRES"), "TRSTRESU": cp("ORRESU"),
          "TRSTAT": cp("STAT"), "TRREASND": cp("REASND"), "TRMETHOD": ct("METHOD"), "TREVAL": ct("EVAL"),
          "TREVALID": ct("EVALID"), **timing("TR", "DTC", "DATE")},
    keys=["STUDYID", "USUBJID", "TREVAL", "TREVALID", "TRTESTCD", "TRLNKID", "VISITNUM"],
    sources=["tl", "ntl", "nl", "bicr_lesions"],
    supp={"idvar": "TRSEQ", "qualifiers": [
        {"qnam": "MEASAXIS", "qlabel": "Measurement Axis", "qorig": "CRF", "derivation": cp("AXIS")},
        {"qnam": "LESSTAT", "qlabel": "Target Lesion Status as Collected", "qorig": "CRF", "derivation": cp("TMTSTAT")}]},
)
DOMAINS["RS"] = dict(
    builder={"rule": "recist_rs", "params": RECIST},
    vars={**common("RS", ["RSCAT", "RSEVAL", "RSEVALID", "RSDTC", "RSTESTCD"]), "RSTESTCD": cp("TESTCD"),
          "RSTEST": dec("RSTESTCD", "ONCRTSCD", "ECOG1TC"), "RSCAT": cp("CAT"), "RSORRES": cp("ORRES", upper=True),
          "RSSTRESC": cp("ORRES", upper=True), "RSSTRESN": cp("ORRES"), "RSEVAL": ct("EVAL"),
          "RSEVALID": ct("EVALID"), "RSACPTFL": cp("ACPTFL"), **timing("RS", "DTC", "DATE")},
    keys=["STUDYID", "USUBJID", "RSCAT", "RSEVAL", "RSEVALID", "RSTESTCD", "VISITNUM"],
    sources=["rsinv", "bicr_response", "bicr_adjudication", "ecog"],
)
DOMAINS["CM"] = dict(
    builder={"rule": "forms", "params": {"parts": [
        {"form": "cmprior", "unique": ["SUBJID", "FOLDER", "RECORDPOSITION"], "set": {"__CAT": "PRIOR CANCER THERAPY"}},
        {"form": "cmsubs", "unique": ["SUBJID", "FOLDER", "RECORDPOSITION"], "optional": True,
         "set": {"__CAT": "SUBSEQUENT ANTI-CANCER THERAPY"}}]}},
    vars={**common("CM", ["CMCAT", "CMSTDTC", "CMTRT"]), "CMTRT": cp("CMTRT", upper=True), "CMCAT": cp("__CAT"),
          "CMCLAS": cp("CMCLAS", upper=True), "CMDOSE": cp("CMDOSE"), "CMDOSU": ct("CMDOSU", "UNIT"),
          "EPOCH": ep("CMSTDTC"), "CMSTDTC": iso("CMSTDAT"), "CMENDTC": iso("CMENDAT"),
          "CMSTDY": dy("CMSTDTC"), "CMENDY": dy("CMENDTC")},
    keys=["STUDYID", "USUBJID", "CMCAT", "CMTRT", "CMSTDTC"], sources=["cmprior", "cmsubs"],
)
DOMAINS["MH"] = dict(
    builder={"rule": "forms", "params": {"parts": [{"form": "pd", "unique": ["SUBJID"]}]}},
    vars={**common("MH", ["MHCAT", "MHSTDTC"]), "MHTERM": k("GASTROENTEROPANCREATIC NEUROENDOCRINE TUMOR"),
          "MHCAT": k("PRIMARY DIAGNOSIS"), "MHLOC": ct("PRIMSITE", "LOC"), "MHSTDTC": iso("DIAGDAT"),
          "MHDY": dy("MHSTDTC")},
    keys=["STUDYID", "USUBJID", "MHCAT", "MHTERM"], sources=["pd"],
    supp={"idvar": "MHSEQ", "qualifiers": [
        {"qnam": "MHGRADE", "qlabel": "WHO Grade", "derivation": cp("WHOGRADE", upper=True)},
        {"qnam": "KI67", "qlabel": "Ki-67 Proliferation Index (%)", "derivation": cp("KI67")},
        {"qnam": "FUNCSTAT", "qlabel": "Functioning Status", "derivation": cp("FUNCSTAT", upper=True)},
        *[{"qnam": q, "qlabel": f"Metastases - {lab}", "derivation": ct(q, "NY")} for q, lab in
          (("METLIVER", "Liver"), ("METLN", "Lymph Node"), ("METBONE", "Bone"), ("METLUNG", "Lung"),
           ("METPERIT", "Peritoneum"), ("METOTH", "Other"))],
        {"qnam": "METOTHSP", "qlabel": "Metastases - Other Specify", "derivation": cp("METOTHSP", upper=True)}]},
)
DOMAINS["DS"] = dict(
    builder={"rule": "forms", "params": {"parts": [
        {"form": "ic", "unique": ["SUBJID"], "set": {"DSCAT": "PROTOCOL MILESTONE", "DSDECOD": "INFORMED CONSENT OBTAINED",
                                                     "DSTERM": "INFORMED CONSENT OBTAINED", "DSSCAT": ""}},
        {"form": "ds", "unique": ["SUBJID", "DSSCAT"], "set": {"DSCAT": "DISPOSITION EVENT"}}]}},
    vars={**common("DS", ["DSSTDTC", "DSCAT", "DSSCAT"]), "DSTERM": cp("DSTERM", upper=True, fallback="DSDECOD"),
          "DSDECOD": ct("DSDECOD", "DSDECOD"), "DSCAT": ct("DSCAT"), "DSSCAT": ct("DSSCAT"),
          "EPOCH": ep("DSSTDTC"), "DSSTDTC": iso("DSSTDAT"), "DSSTDY": dy("DSSTDTC")},
    keys=["STUDYID", "USUBJID", "DSCAT", "DSSCAT", "DSDECOD", "DSSTDTC"], sources=["ic", "ds"],
)
DOMAINS["SV"] = dict(
    builder={"rule": "forms", "params": {"parts": [{"form": "sv", "unique": ["SUBJID", "FOLDER"]}]}},
    vars={**common("SV"), "VISITNUM": vn("SVSTDTC"), "VISIT": vl("SVSTDTC"),
          "SVSTDTC": iso("VISDAT"), "SVENDTC": iso("VISDAT"), "SVSTDY": dy("SVSTDTC"), "SVENDY": dy("SVENDTC")},
    keys=["STUDYID", "USUBJID", "VISITNUM"], sources=["sv"],
)
DOMAINS["IE"] = dict(
    builder={"rule": "forms", "params": {"parts": [{"form": "ie", "unique": ["SUBJID", "IETESTCD"], "optional": True}]}},
    vars={**common("IE", ["IETESTCD"]), "IETESTCD": cp("IETESTCD", upper=True), "IETEST": cp("IETEST"),
          "IECAT": ct("IECAT"), "IEORRES": ct("IEORRES", "NY"), "IESTRESC": ct("IEORRES", "NY"),
          "VISITNUM": vn("IEDTC"), "VISIT": vl("IEDTC"), "EPOCH": k("SCREENING")},
    keys=["STUDYID", "USUBJID", "IETESTCD"], sources=["ie"],
)
DOMAINS["SE"] = dict(
    builder={"rule": "subject_elements", "params": {
        "screening_form": "ic", "dosing_form": "ex", "dosing_date": "EXSTDAT", "switch_form": "selfinj",
        "switch_date": "SISTDAT", "end_form": "ds", "end_date": "DSSTDAT", "end_where_field": "DSSCAT",
        "end_where_in": ["END OF TREATMENT"]}},
    vars={**common("SE", ["SESTDTC", "TAETORD"]), "ETCD": cp("ETCD"), "ELEMENT": cp("ELEMENT"),
          "TAETORD": cp("TAETORD"), "EPOCH": cp("EPOCH"), "SESTDTC": cp("SESTDTC"), "SEENDTC": cp("SEENDTC"),
          "SESTDY": dy("SESTDTC"), "SEENDY": dy("SEENDTC")},
    keys=["STUDYID", "USUBJID", "ETCD", "SESTDTC"], sources=["ic", "ex", "selfinj", "ds"],
)


def _rows_domain(dom, rows, keys, extra=None):
    return dict(builder={"rule": "rows", "params": {"rows": rows}},
                vars={"STUDYID": k(STUDY), "DOMAIN": k(dom), **{c: None for r in rows for c in r}, **(extra or {})},
                keys=keys, sources=[])


DOMAINS["TA"] = _rows_domain("TA", TA_ROWS, ["STUDYID", "ARMCD", "TAETORD"])
DOMAINS["TE"] = _rows_domain("TE", TE_ROWS, ["STUDYID", "ETCD"])
DOMAINS["TV"] = _rows_domain("TV", [{"VISITNUM": n, "VISIT": v, **({"VISITDY": d} if d is not None else {}),
                                     "TVSTRL": ("Start of visit " + v.title()) if d is not None else
                                     "28 days after the last treatment visit"} for v, n, d in VISITS],
                             ["STUDYID", "VISITNUM"])
DOMAINS["TI"] = _rows_domain("TI", TI_ROWS, ["STUDYID", "IETESTCD"])
DOMAINS["TS"] = dict(builder={"rule": "trial_summary", "params": {"rows": ts_rows(), "sstdtc_from": "DM.RFICDTC"}},
                     vars={"STUDYID": k(STUDY), "DOMAIN": k("TS"), "TSSEQ": None, "TSPARMCD": None, "TSPARM": None,
                           "TSVAL": None, "TSVALNF": None, "TSVALCD": None, "TSVCDREF": None, "TSVCDVER": None},
                     keys=["STUDYID", "TSPARMCD", "TSSEQ"], sources=["ic"])

# -- codelists: the terms used, with raw CRF spellings as synonyms ---------------------------
TERMS: dict[str, list] = {
    "SEX": [("M", ["Male"]), ("F", ["Female"])],
    "RACE": [("ASIAN", []), ("WHITE", []), ("BLACK OR AFRICAN AMERICAN", []), ("OTHER", [])],
    "ETHNIC": [("NOT HISPANIC OR LATINO", []), ("HISPANIC OR LATINO", []), ("NOT REPORTED", [])],
    "NY": [("Y", ["Yes"]), ("N", ["No"])],
    "AGEU": [("YEARS", [])],
    "ARMNULRS": [("SCREEN FAILURE", []), ("ASSIGNED, NOT TREATED", [])],
    "UNIT": [("mg", []), ("ug", []), ("mg/day", ["mg/24h", "mg/24 h", "mg/d"]), ("umol/day", ["umol/24h", "umol/24 h", "umol/d"]),
             ("ug/L", ["ng/mL", "mcg/L"]), ("mmol/L", []), ("mg/dL", []), ("%", ["percent"]), ("mmol/mol", []),
             ("U/L", ["IU/L"]), ("umol/L", []), ("g/L", []), ("g/dL", []),
             ("10^9/L", ["10*9/L", "x10^9/L", "10E9/L"]), ("mm", [])],
    "FRM": [("INJECTION", [])], "ROUTE": [("SUBCUTANEOUS", [])],
    "EPOCH": [("SCREENING", []), ("TREATMENT", []), ("FOLLOW-UP", [])],
    "OUT": [(t, []) for t in ("RECOVERED/RESOLVED", "RECOVERING/RESOLVING", "NOT RECOVERED/NOT RESOLVED",
                               "RECOVERED/RESOLVED WITH SEQUELAE", "FATAL", "UNKNOWN")],
    # "None" on the AE page: no action taken, so the dose was not changed
    "ACN": [("DOSE NOT CHANGED", ["None"]), ("DRUG INTERRUPTED", []), ("DRUG WITHDRAWN", []), ("NOT APPLICABLE", [])],
    "ND": [("NOT DONE", [])],
    "NRIND": [("LOW", []), ("NORMAL", []), ("HIGH", [])],
    "SPECTYPE": [("SERUM", []), ("PLASMA", []), ("URINE", []), ("BLOOD", [])],
    "LBTESTCD": [("CGA", ["Chromogranin A"]), ("IA5OHEXR", ["5-Hydroxyindoleacetic Acid 24h Urine", "5-HIAA 24h Urine"]),
                 ("GLUC", ["Glucose"]), ("HBA1C", ["Hemoglobin A1C", "HbA1c"]), ("ALT", ["Alanine Aminotransferase"]),
                 ("AST", ["Aspartate Aminotransferase"]), ("BILI", ["Total Bilirubin"]), ("HGB", ["Hemoglobin"]),
                 ("WBC", ["White Blood Cell Count"]), ("PLAT", ["Platelet Count"]), ("NEUT", ["Neutrophil Count"])],
    "EOR01TC": [(f"EOR01{i:02d}", []) for i in range(1, 31)],
    "QSCAT": [("EORTC QLQ-C30 V3.0", []), ("EORTC QLQ-GINET21 DATE 20TH FEBRUARY 2006", [])],
    "TUTESTCD": [("TUMIDENT", [])],
    "TRTESTCD": [("LDIAM", []), ("SUMDIAM", []), ("TUMSTATE", [])],
    "ONCRTSCD": [("OVRLRESP", []), ("TRGRESP", []), ("NTRGRESP", []), ("NEWLPROG", [])],
    "ECOG1TC": [("ECOG101", [])],
    "ONCRSR": [(t, []) for t in ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE")],
    "EVAL": [("INVESTIGATOR", []), ("INDEPENDENT ASSESSOR", [])],
    "MEDEVAL": [("RADIOLOGIST 1", []), ("RADIOLOGIST 2", [])],
    "METHOD": [("CT SCAN", ["CT"]), ("MRI", [])],
    "DSCAT": [("DISPOSITION EVENT", []), ("PROTOCOL MILESTONE", [])],
    "DSSCAT": [("STUDY TREATMENT", ["END OF TREATMENT"]), ("STUDY PARTICIPATION", ["END OF STUDY"])],
    "STENRF": [("ONGOING", [])],
    "DIR": [],
    "IECAT": [("INCLUSION", []), ("EXCLUSION", [])],
    "LOC": [("PANCREAS", []), ("STOMACH", []), ("LIVER", []), ("LUNG", []), ("BONE", []), ("LYMPH NODE", []),
            ("PERITONEUM", []), ("SMALL INTESTINE", []), ("COLON", []), ("RECTUM", []), ("ABDOMEN", []),
            ("ADRENAL GLAND", []), ("SPLEEN", []),
            ("BUTTOCK", [f"{lr} upper outer buttock" for lr in ("Left", "Right")]), ("ABDOMINAL WALL", []),
            ("THIGH", [f"{lr} superior external thigh" for lr in ("Left", "Right")])],
    "LAT": [("LEFT", []), ("RIGHT", [])],
    "TSPARMCD": [(c, []) for c in dict.fromkeys(r[0] for r in TS_ROWS)] + [("SSTDTC", [])],
}
# sponsor extensions of extensible CDISC lists (terms without an NCI code)
EXTEND = {"LOC": [("MIDGUT", []), ("HINDGUT", []), ("UNKNOWN PRIMARY", ["Unknown"])],
          "DIR": [("UPPER OUTER", []), ("SUPERIOR EXTERNAL", [])]}
SPONSOR = {
    "EXADMIN": ("Administered By", [("HEALTHCARE PROFESSIONAL", ["Healthcare professional", "HCP", "Nurse"]), ("SELF", []),
                                    ("PARTNER", [])]),
    "AEREL": ("Causality", [("RELATED", []), ("POSSIBLY RELATED", ["Possible"]), ("NOT RELATED", ["Unrelated"])]),
    "TOXGR": ("CTCAE Grade", [(str(i), []) for i in range(1, 6)]),
    "DSDECOD": ("Disposition Decoded Term", None),
    "GINET21TC": ("EORTC QLQ-GI.NET21 Test Code (sponsor-defined)", None),
    "XDTESTCD": ("NET Symptom Diary Test Code", [("STOOLNUM", [], "Number of Bowel Movements"),
                                                  ("FLUSHNUM", [], "Number of Flushing Episodes")]),
    "QSALLTC": ("Whole-questionnaire Test Code", [("QSALL", [], "Questionnaire Status")]),
}
GINET21_ITEMS = [
    "Hot flushes", "Sweating at night", "Flushing", "Abdominal discomfort", "Bloated feeling", "Bothered by wind",
    "Acid or burning", "Frequent bowel movements", "Urgency to move bowels", "Dry mouth", "Taste changes",
    "Worried about side effects", "Worried about tumour", "Restricted in eating", "Muscle or bone pain",
    "Body image", "Worried about health in future", "Tired", "Worried about repeated tests",
    "Difficult to plan", "Talk about illness"]


def codelists() -> list[dict]:
    ct_df = sdtm_ct()
    out = []
    for cl_id in sorted(TERMS):
        cl = ct_df[ct_df["Codelist Submission Value"] == cl_id]
        assert len(cl), cl_id
        by_value = cl.set_index("Term Submission Value")
        # paired name list for test-code lists (…TESTCD/…TC -> …TEST/…TN), joined on the NCI term code
        names = {}
        for pair in (cl_id.replace("TESTCD", "TEST"), cl_id[:-1] + "N" if cl_id.endswith("TC") else "",
                     "ONCRTS" if cl_id == "ONCRTSCD" else ""):
            if pair and pair != cl_id:
                p = ct_df[ct_df["Codelist Submission Value"] == pair]
                if len(p):
                    names = dict(zip(p["Term Code"], p["Term Submission Value"]))
                    break
        terms = []
        for i, (value, syn) in enumerate(TERMS[cl_id] + EXTEND.get(cl_id, []), start=1):
            t = {"value": value}
            if value in by_value.index:
                row = by_value.loc[value]
                t["nci"] = row["Term Code"]
                dec = names.get(row["Term Code"]) or (row["Preferred Term"] if not names else None)
                if dec:
                    t["decode"] = dec
            t["order"] = i
            if syn:
                t["synonyms"] = syn
            terms.append(t)
        out.append({"id": cl_id, "name": cl["Codelist Name"].iloc[0], "nci": cl["Codelist Code"].iloc[0],
                    "submission_value": cl_id, "data_type": "text", "extensible": cl["Extensible"].iloc[0] == "Yes",
                    "terms": terms})
    # sponsor codelists
    for cl_id, (name, terms) in SPONSOR.items():
        if cl_id == "DSDECOD":
            ncomplt = ct_df[ct_df["Codelist Submission Value"] == "NCOMPLT"].set_index("Term Submission Value")
            vals = [("COMPLETED", ["Completed"]), ("PROGRESSIVE DISEASE", []), ("ADVERSE EVENT", []), ("DEATH", []),
                    ("WITHDRAWAL BY SUBJECT", []), ("LOST TO FOLLOW-UP", []), ("PHYSICIAN DECISION", [])]
            tl = [{"value": v, "nci": ncomplt.loc[v, "Term Code"], "order": i, **({"synonyms": s} if s else {})}
                  for i, (v, s) in enumerate(vals, 1)]
            tl.append({"value": "INFORMED CONSENT OBTAINED", "nci": "C16735", "order": len(tl) + 1})
            out.append({"id": cl_id, "name": "Disposition Decoded Term (NCOMPLT and PROTMLST subsets)",
                        "data_type": "text", "extensible": True, "terms": tl,
                        "comment": "COM.DSDECOD"})
            continue
        if cl_id == "GINET21TC":
            tl = [{"value": f"EOR15{i:02d}", "decode": f"EOR15-{txt}", "order": i} for i, txt in enumerate(GINET21_ITEMS, 1)]
            out.append({"id": cl_id, "name": name, "data_type": "text", "extensible": False, "terms": tl,
                        "comment": "COM.GINET21"})
            continue
        tl = []
        for i, t in enumerate(terms, 1):
            d = {"value": t[0], "order": i}
            if len(t) > 2:
                d["decode"] = t[2]
            if t[1]:
                d["synonyms"] = t[1]
            tl.append(d)
        out.append({"id": cl_id, "name": name, "data_type": "text", "extensible": False, "terms": tl})
    return out


# -- variable metadata from SDTMIG -------------------------------------------------------------
CODELIST_FOR = {  # variables whose codelist is chosen here rather than from the SDTMIG column
    "LBORRESU": "UNIT", "LBSTRESU": "UNIT", "TRORRESU": "UNIT", "TRSTRESU": "UNIT", "EXDOSU": "UNIT",
    "CMDOSU": "UNIT", "EXDOSFRM": "FRM", "EXROUTE": "ROUTE", "LBTESTCD": "LBTESTCD", "QSCAT": "QSCAT",
    "TUTESTCD": "TUTESTCD", "TRTESTCD": "TRTESTCD", "ARMNRS": "ARMNULRS", "EXLOC": "LOC", "TULOC": "LOC",
    "MHLOC": "LOC", "TUMETHOD": "METHOD", "TRMETHOD": "METHOD", "AEREL": "AEREL", "AETOXGR": "TOXGR",
    "DSDECOD": "DSDECOD", "XDTESTCD": "XDTESTCD", "AEENRTPT": "STENRF", "TSPARMCD": "TSPARMCD",
    "TUEVAL": "EVAL", "TREVAL": "EVAL", "RSEVAL": "EVAL", "TUEVALID": "MEDEVAL", "TREVALID": "MEDEVAL",
    "RSEVALID": "MEDEVAL", "LBSTAT": "ND", "QSSTAT": "ND", "TRSTAT": "ND", "RSACPTFL": "NY",
    "DSCAT": "DSCAT", "DSSCAT": "DSSCAT", "LBSPEC": "SPECTYPE", "LBNRIND": "NRIND", "IECAT": "IECAT",
    "IEORRES": "NY", "IESTRESC": "NY",
}
NO_CODELIST = {"RSTESTCD", "QSTESTCD", "RSSTRESC", "RSORRES", "LBSTRESC", "TSVALNF", "TSVCDREF", "TSPARM",
               "QSORRES", "QSSTRESC", "TUORRES", "TUSTRESC", "TRORRES", "TRSTRESC"}
DERIVED_RULES = {"seq", "study_day", "epoch", "visit", "lobxfl", "subject_date", "age", "arm", "nrind", "decode",
                 "unit_convert", "usubjid", "condition"}


def method_text(ds: str, var: str, d: dict) -> str:
    r, p = d["rule"], d["params"]
    if r == "seq":
        return f"Sequential number 1..n within USUBJID, records ordered by {', '.join(p['sort'])}."
    if r == "study_day":
        return (f"{p['dtc']} minus DM.RFSTDTC, plus 1 when on or after RFSTDTC (no day 0); only when both dates "
                f"are complete; {p['dtc']} itself is never imputed or altered.")
    if r == "epoch":
        return (f"EPOCH of the subject's SE element with SESTDTC <= {p['dtc']} < SEENDTC (last element: end "
                "inclusive); compared as datetimes when both have a time (pre-dose Day 1 data stay in SCREENING); on "
                "a boundary day otherwise a timed boundary (first dose) gives the day to the element it starts and a "
                "date-only boundary (end of treatment) to the element it ends. Empty when the date is partial.")
    if r == "visit":
        return ("From the EDC folder: scheduled folders map to VISITNUM/VISIT of TV; unscheduled folders get the "
                "VISITNUM of the last scheduled visit before them (by SV visit date) + .01, .02 ... (SDTMIG 3.4 "
                "4.4.5) and VISIT 'UNSCHEDULED <VISITNUM>'.")
    if r == "lobxfl":
        return (f"'Y' on the last record with a non-missing {p['result']} dated on or before DM.RFXSTDTC, per "
                f"USUBJID and {', '.join(p['by'])}; partial dates are not candidates; ties on the same date are "
                f"broken by the later time, then the higher {p['seq']}, and reported as a NOTICE.")
    if r == "subject_date":
        w = f" where {p['where_field']} is {', '.join(p['where_in'])}" if p.get("where_field") else ""
        return (f"{'Earliest' if p['agg'] == 'min' else 'Latest'} {p['form'].upper()}.{p['date']}"
                f"{' (+ ' + p['time'] + ')' if p.get('time') else ''}{w} per subject, as ISO 8601.")
    if r == "age":
        return ("Whole years between BRTHDTC and RFICDTC (birthday not yet reached subtracts one). With a partial "
                "birth date, AGE is given only when every possible birth date in it gives the same age; otherwise "
                "it is left empty (no imputation).")
    if r == "arm":
        return ("Single-arm study: ARMCD/ARM LAN120 for every enrolled subject; ACTARMCD/ACTARM for subjects with "
                "at least one injection in EX; subjects listed in IE (failed eligibility) and never dosed are "
                "screen failures: ARMCD/ARM/ACTARMCD/ACTARM null, ARMNRS 'SCREEN FAILURE'; enrolled but never "
                "dosed: ARMNRS 'ASSIGNED, NOT TREATED'.")
    if r == "nrind":
        return "LOW when the standard result is below LBSTNRLO, HIGH when above LBSTNRHI, otherwise NORMAL."
    if r == "unit_convert":
        return ("Original result converted to the standard unit per test with the spec's conversion table "
                "(standard = (original + offset) x factor); non-numeric results copied as text to LBSTRESC.")
    if r == "decode":
        return f"Decode of {p['var']} from codelist(s) {', '.join(p['codelists'])}."
    if r == "usubjid":
        return "STUDYID, '-', SUBJID (SUBJID carries the 3-digit site, e.g. PALACE-101-001)."
    if r == "condition":
        return "Set from the collected value: " + "; ".join(
            f"{', '.join(c['in'])} -> {c['value']}" for c in p.get("cases", [])) + \
            (f" non-empty {p.get('var') or p.get('field')} -> {p['nonempty']}" if p.get("nonempty") else "")
    return r


def origin_for(d: dict | None, dom: str) -> dict:
    if d is None:
        return {"type": "Protocol"} if dom in ("TA", "TE", "TV", "TI", "TS") else {"type": "Derived"}
    r = d["rule"]
    vendor = dom in ("TU", "TR", "RS")
    if r in ("copy", "ct_map", "iso8601"):
        return {"type": "Collected", "source": "Investigator" if not vendor else "Vendor" if False else "Investigator"}
    if r == "constant":
        return {"type": "Assigned", "source": "Sponsor"}
    return {"type": "Derived"}


def build_dataset(dom: str, cfg: dict, methods: dict) -> dict:
    ig = sdtmig_variables()
    custom = cfg.get("custom")
    if custom:
        model = sdtm_model_variables()
        ig_rows = {}
        for name in cfg["order"]:
            generic = "--" + name[2:] if name.startswith(dom) else name
            m = model[model["Variable Name"] == generic]
            if m.empty:
                m = ig[(ig["Variable Name"] == name)]
            r = m.iloc[0]
            ig_rows[name] = {"label": r["Variable Label"].replace("--", dom), "type": r["Type"], "role": r["Role"],
                             "core": "Req" if name in ("STUDYID", "DOMAIN", "USUBJID", f"{dom}SEQ", f"{dom}TESTCD",
                                                       f"{dom}TEST") else "Perm", "order": cfg["order"].index(name),
                             "codes": ""}
        dsinfo = {"label": cfg["label"], "class": "FINDINGS", "structure": "One record per diary item per day per subject"}
    else:
        dig = ig[ig["Dataset Name"] == dom]
        ig_rows = {r["Variable Name"]: {"label": r["Variable Label"], "type": r["Type"], "role": r["Role"],
                                        "core": r["Core"], "order": int(r["Variable Order"]),
                                        "codes": r["CDISC CT Codelist Code(s)"]} for _, r in dig.iterrows()}
        dd = sdtmig_datasets()
        row = dd[dd["Dataset Name"] == dom].iloc[0]
        dsinfo = {"label": row["Dataset Label"], "class": row["Class"].upper().replace("-", " "), "structure": row["Structure"]}
    missing = [v for v in cfg["vars"] if v not in ig_rows]
    if missing and not custom:  # general-observation timing variables the IG domain table does not list
        model = sdtm_model_variables()
        dclass = sdtmig_datasets().set_index("Dataset Name").loc[dom, "Class"]
        pref = model.assign(__p=(model["Class"] != dclass).astype(int)).sort_values("__p", kind="mergesort")
        gen = pref.drop_duplicates("Variable Name").set_index("Variable Name")
        timing_orders = [r["order"] for n, r in ig_rows.items() if r["role"] == "Timing" and n in cfg["vars"]]
        anchor = min(timing_orders) if timing_orders else 999
        for i, name in enumerate(missing):
            key = name if name in gen.index else "--" + name[2:]
            assert key in gen.index, (dom, name)
            g = gen.loc[key]
            ig_rows[name] = {"label": g["Variable Label"].replace("--", dom), "type": g["Type"], "role": g["Role"], "core": "Perm",
                             "order": anchor - 0.5 + i * 0.01, "codes": ""}
    req = [v for v, r in ig_rows.items() if r["core"] == "Req" and v not in cfg["vars"]]
    assert not req, (dom, "Req missing", req)
    ct_df = sdtm_ct()
    code_to_cl = dict(zip(ct_df["Codelist Code"], ct_df["Codelist Submission Value"]))
    variables = []
    for name in sorted(cfg["vars"], key=lambda n: ig_rows[n]["order"]):
        d = cfg["vars"][name]
        r = ig_rows[name]
        v = {"name": name, "label": r["label"], "type": r["type"]}
        if name.endswith("DTC"):
            v["data_type"] = "datetime" if name not in ("BRTHDTC",) else "date"
            v["data_type"] = "partialDatetime" if name.endswith("DTC") else v["data_type"]
        if r["type"] == "Num" and (name.endswith("SEQ") or name.endswith("DY") or name in ("AGE", "TAETORD")):
            v["data_type"] = "integer"
        v["role"] = r["role"]
        v["core"] = r["core"]
        v["origin"] = origin_for(d, dom)
        cl = CODELIST_FOR.get(name)
        if cl is None and name not in NO_CODELIST and r["codes"]:
            first = r["codes"].split(";")[0].strip()
            cl = code_to_cl.get(first)
        if cl and (cl in TERMS or cl in SPONSOR):
            v["codelist"] = cl
        if d is not None:
            v["derivation"] = d
            if d["rule"] in DERIVED_RULES:
                mid = f"MT.{dom}.{name}"
                methods[mid] = {"id": mid, "name": f"Derivation of {dom}.{name}", "type": "Computation",
                                "description": method_text(dom, name, d)}
                v["method"] = mid
        variables.append(v)
    out = {"name": dom, "label": dsinfo["label"], "class": dsinfo["class"], "structure": dsinfo["structure"],
           "purpose": "Tabulation", "standard": "SDTMIG 3.4", "keys": cfg["keys"], "domain": dom,
           "sources": cfg["sources"], "derivation": cfg["builder"]}
    if cfg.get("comment"):
        out["comment"] = cfg["comment"]
    out["variables"] = variables
    vlm = value_level(dom)
    if vlm:
        out["values"] = vlm
    return out


def _w(var, comp, values):
    return {"variable": var, "comparator": comp, "values": values}


def value_level(dom: str) -> list[dict]:
    """Value-level metadata (define.xml ValueListDefs) per test code."""
    col = {"type": "Collected", "source": "Investigator"}
    der = {"type": "Derived"}
    if dom == "LB":
        out = []
        for code, _ in TERMS["LBTESTCD"]:
            out.append({"variable": "LBORRES", "where": [_w("LBTESTCD", "EQ", [code])], "type": "Char",
                        "data_type": "text", "origin": col})
            out.append({"variable": "LBSTRESN", "where": [_w("LBTESTCD", "EQ", [code])], "type": "Num",
                        "data_type": "float", "origin": der, "method": "MT.LB.LBSTRESN"})
        return out
    if dom == "QS":
        c30 = "EORTC QLQ-C30 V3.0"
        gi = "EORTC QLQ-GINET21 DATE 20TH FEBRUARY 2006"
        items_4 = [f"EOR01{i:02d}" for i in range(1, 29)] + [f"EOR15{i:02d}" for i in range(1, 22)]
        return [
            {"variable": "QSTESTCD", "where": [_w("QSCAT", "EQ", [c30])], "type": "Char", "codelist": "EOR01TC",
             "origin": {"type": "Assigned", "source": "Sponsor"}},
            {"variable": "QSTESTCD", "where": [_w("QSCAT", "EQ", [gi])], "type": "Char", "codelist": "GINET21TC",
             "origin": {"type": "Assigned", "source": "Sponsor"}, "comment": "COM.GINET21"},
            {"variable": "QSSTRESN", "where": [_w("QSTESTCD", "IN", items_4)], "type": "Num", "data_type": "integer",
             "origin": der, "comment": "COM.QS14"},
            {"variable": "QSSTRESN", "where": [_w("QSTESTCD", "IN", ["EOR0129", "EOR0130"])], "type": "Num",
             "data_type": "integer", "origin": der, "comment": "COM.QS17"},
        ]
    if dom == "TR":
        return [
            {"variable": "TRSTRESN", "where": [_w("TRTESTCD", "EQ", ["LDIAM"])], "type": "Num", "data_type": "integer",
             "origin": col, "comment": "COM.TR"},
            {"variable": "TRSTRESN", "where": [_w("TRTESTCD", "EQ", ["SUMDIAM"])], "type": "Num", "data_type": "integer",
             "origin": der, "comment": "COM.TR"},
            {"variable": "TRSTRESC", "where": [_w("TRTESTCD", "EQ", ["TUMSTATE"])], "type": "Char", "origin": col},
        ]
    if dom == "RS":
        return [
            {"variable": "RSTESTCD", "where": [_w("RSCAT", "EQ", ["RECIST 1.1"])], "type": "Char", "codelist": "ONCRTSCD",
             "origin": {"type": "Assigned", "source": "Sponsor"}},
            {"variable": "RSTESTCD", "where": [_w("RSCAT", "EQ", ["ECOG"])], "type": "Char", "codelist": "ECOG1TC",
             "origin": {"type": "Assigned", "source": "Sponsor"}},
            {"variable": "RSSTRESC", "where": [_w("RSTESTCD", "IN", ["OVRLRESP", "TRGRESP", "NTRGRESP"])],
             "type": "Char", "codelist": "ONCRSR", "origin": col},
            {"variable": "RSSTRESC", "where": [_w("RSTESTCD", "EQ", ["NEWLPROG"])], "type": "Char", "codelist": "NY",
             "origin": col},
            {"variable": "RSSTRESN", "where": [_w("RSTESTCD", "EQ", ["ECOG101"])], "type": "Num", "data_type": "integer",
             "origin": col},
        ]
    return []


def build_supp(dom: str, supp: dict) -> dict:
    ig = sdtmig_variables()
    rows = ig[ig["Dataset Name"] == "SUPPQUAL"]
    variables = []
    for _, r in rows.iterrows():
        name = r["Variable Name"]
        variables.append({"name": name, "label": r["Variable Label"], "type": r["Type"], "role": r["Role"],
                          "core": r["Core"], "origin": {"type": "Assigned" if name in ("STUDYID", "RDOMAIN", "IDVAR")
                                                        else "Derived" if name != "QVAL" else "Collected"}})
        if variables[-1]["origin"]["type"] == "Derived":
            variables[-1]["method"] = SUPPQUAL_METHOD["id"]
    return {"name": f"SUPP{dom}", "label": f"Supplemental Qualifiers for {dom}", "class": "RELATIONSHIP",
            "structure": "One record per supplemental qualifier per related parent domain record(s)",
            "purpose": "Tabulation", "standard": "SDTMIG 3.4",
            "keys": ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"], "domain": dom,
            "sources": [], "derivation": {"rule": "suppqual", "params": {"split_text": [], **supp}},
            "variables": variables}


SUPPQUAL_METHOD = {
    "id": "MT.SUPPQUAL", "name": "Supplemental qualifiers from the parent domain", "type": "Transpose",
    "description": ("One SUPP-- record per parent record and non-blank supplemental qualifier declared in the spec: "
                    "RDOMAIN is the parent domain, USUBJID the parent's subject, IDVAR the parent's --SEQ variable "
                    "(blank for DM) and IDVARVAL its value, QNAM/QLABEL/QORIG/QEVAL as declared for the qualifier, "
                    "QVAL the collected or derived value; text over 200 characters continues in QNAMs with a "
                    "numeric suffix (SDTMIG 3.4 section 8.4)."),
}

COMMENTS = [
    {"id": "COM.GINET21", "text": "EORTC QLQ-GINET21 (QSCAT C183585) has no item codelist in SDTM CT 2025-03-28; "
                                   "QSTESTCD/QSTEST EOR1501-EOR1521 are sponsor-defined, following the EOR01 pattern."},
    {"id": "COM.XD", "text": "The NET symptom diary (daily counts of bowel movements and flushing episodes) is a sponsor "
                              "diary, not a named validated instrument, so it is not QS data (SDTMIG 3.4 QS "
                              "assumption 1); it is a custom Findings domain XD modelled on the Findings class."},
    {"id": "COM.QS14", "text": "Item responses 1-4 (Not at All, A Little, Quite a Bit, Very Much) as collected."},
    {"id": "COM.QS17", "text": "Items 29-30 (global health): responses 1 (Very poor) to 7 (Excellent) as collected."},
    {"id": "COM.DSDECOD", "text": "DSDECOD uses NCOMPLT terms for DSCAT DISPOSITION EVENT and PROTMLST for PROTOCOL MILESTONE."},
    {"id": "COM.TR", "text": "Nodal target lesions: the short axis is recorded under TRTESTCD LDIAM (CT has no short-axis "
                              "test code) and SUPPTR MEASAXIS = 'SHORT AXIS' marks it. SUMDIAM is derived per assessor "
                              "and visit as the sum of the target LDIAM values when every target has one."},
    {"id": "COM.RS", "text": "RSACPTFL: 'Y' on the BICR reader accepted by the adjudicator (bicr_adjudication), or reader "
                              "RADIOLOGIST 1 when the readers agreed (no adjudication row, by convention), 'N' on the "
                              "other reader. The adjudication rows themselves are not RS records. ECOG is in RS with RSCAT 'ECOG'."},
]


def main(spec_dir: Path) -> None:
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 120
    methods: dict[str, dict] = {}
    sdir = spec_dir / "sdtm"
    sdir.mkdir(parents=True, exist_ok=True)
    DOMAINS["XD"]["comment"] = "COM.XD"
    DOMAINS["TR"]["comment"] = "COM.TR"
    DOMAINS["RS"]["comment"] = "COM.RS"
    for dom, cfg in DOMAINS.items():
        data = build_dataset(dom, cfg, methods)
        _dump(yaml, sdir / f"{dom}.yaml", data)
        if cfg.get("supp"):
            _dump(yaml, sdir / f"SUPP{dom}.yaml", build_supp(dom, cfg["supp"]))
            methods[SUPPQUAL_METHOD["id"]] = SUPPQUAL_METHOD
    _dump(yaml, spec_dir / "codelists.yaml", {"codelists": codelists()})
    _dump(yaml, spec_dir / "methods.yaml", {"methods": [methods[k] for k in sorted(methods)]})
    _dump(yaml, spec_dir / "comments.yaml", {"comments": COMMENTS})
    _canonical(spec_dir)


def _canonical(spec_dir: Path) -> None:
    """Rewrite what was generated in the team's canonical spec form (`studyforge spec fmt`)."""
    import contextlib
    import io
    import shutil
    import tempfile

    from studyforge.spec.commands import fmt_command

    owned = ["study.yaml", "codelists.yaml", "methods.yaml", "comments.yaml", "sdtm"]  # not adam/
    with tempfile.TemporaryDirectory() as tmp:
        for name in owned:
            src = spec_dir / name
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, Path(tmp) / name)
        with contextlib.redirect_stdout(io.StringIO()):
            fmt_command(Path(tmp))
        for name in owned:
            src = Path(tmp) / name
            files = sorted(src.glob("*.yaml")) if src.is_dir() else [src]
            for f in files:
                (spec_dir / f.relative_to(tmp)).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")


def _dump(yaml: YAML, path: Path, data: dict) -> None:
    buf = StringIO()
    yaml.dump(data, buf)
    path.write_text("# Generated by sdtm/tools/make_specs.py from SDTMIG 3.4 metadata; edit the tool, not this file.\n"
                    + buf.getvalue(), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("specs/palace"))
