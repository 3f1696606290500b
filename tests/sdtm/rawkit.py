"""Hand-written raw CRF exports for tests: two treated subjects and one screen failure, every form."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

C = ["STUDYID", "SITEID", "SUBJID", "FOLDER", "RECORDPOSITION"]


def _rows(rows: list[list], cols: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=C + cols).astype(str)


def base_forms() -> dict[str, pd.DataFrame]:
    s1, s2, s3 = ("PALACE", "101", "101-001"), ("PALACE", "101", "101-002"), ("PALACE", "102", "102-001")
    f: dict[str, pd.DataFrame] = {}
    f["ic"] = _rows([[*s1, "SCREENING", 1, "02 MAR 2021", "2.0"], [*s2, "SCREENING", 1, "10 MAR 2021", "2.0"],
                     [*s3, "SCREENING", 1, "15 MAR 2021", "2.0"]], ["DSSTDAT", "ICVERS"])
    f["ie"] = _rows([[*s3, "SCREENING", 1, "IN03", "At least one measurable lesion", "INCLUSION", "N"]],
                    ["IETESTCD", "IETEST", "IECAT", "IEORRES"])
    f["dm"] = _rows([[*s1, "SCREENING", 1, "15 JUN 1960", "Male", "Asian", "Not Hispanic or Latino"],
                     [*s2, "SCREENING", 1, "UN MAR 1970", "female", "Asian", "Not Hispanic or Latino"],
                     [*s3, "SCREENING", 1, "01 JAN 1980", "M", "Asian", "Not reported"]],
                    ["BRTHDAT", "SEX", "RACE", "ETHNIC"])
    f["pd"] = _rows([[*s1, "SCREENING", 1, "01 JAN 2020", "Pancreas", "G2", "5", "Non-functioning", "Y", "N", "N", "N",
                      "N", "N", ""],
                     [*s2, "SCREENING", 1, "UN FEB 2019", "Midgut", "G1", "1.5", "Functioning", "Y", "Y", "N", "N", "N",
                      "N", ""]],
                    ["DIAGDAT", "PRIMSITE", "WHOGRADE", "KI67", "FUNCSTAT", "METLIVER", "METLN", "METBONE", "METLUNG",
                     "METPERIT", "METOTH", "METOTHSP"])
    f["ecog"] = _rows([[*s1, "SCREENING", 1, "05 MAR 2021", "0"], [*s1, "WEEK 12", 1, "30 MAY 2021", "1"]],
                      ["ECOGDAT", "ECOG"])
    f["cmprior"] = _rows([[*s1, "LOGS", 1, "Octreotide LAR", "Somatostatin analogue", "30", "mg", "UNK JAN 2020",
                           "10 JAN 2021"]], ["CMTRT", "CMCLAS", "CMDOSE", "CMDOSU", "CMSTDAT", "CMENDAT"])
    f["cmsubs"] = _rows([[*s2, "LOGS", 1, "Everolimus", "01 SEP 2021", ""]], ["CMTRT", "CMSTDAT", "CMENDAT"])
    f["sv"] = _rows([[*s1, "SCREENING", 1, "05 MAR 2021"], [*s1, "DAY 1", 1, "08 MAR 2021"],
                     [*s1, "WEEK 4", 1, "05 APR 2021"], [*s1, "UNSCHEDULED 1", 1, "20 APR 2021"],
                     [*s1, "WEEK 12", 1, "30 MAY 2021"],
                     [*s2, "SCREENING", 1, "12 MAR 2021"], [*s2, "DAY 1", 1, "15 MAR 2021"],
                     [*s3, "SCREENING", 1, "16 MAR 2021"]], ["VISDAT"])
    f["ex"] = _rows([[*s1, "DAY 1", 1, "08 MAR 2021", "09:30", "120", "mg", "Left buttock", "Healthcare professional", "L1"],
                     [*s1, "WEEK 4", 1, "05 APR 2021", "", "120", "mg", "Right buttock", "Self", "L2"],
                     [*s2, "DAY 1", 1, "15 MAR 2021", "10:00", "120", "mg", "Left buttock", "Partner", "L1"]],
                    ["EXSTDAT", "EXSTTIM", "EXDOSE", "EXDOSU", "EXLOC", "EXADMIN", "EXLOT"])
    f["tl"] = _rows([[*s1, "SCREENING", 1, "05 MAR 2021", "T01", "Liver", "N", "CT", "30", ""],
                     [*s1, "SCREENING", 2, "05 MAR 2021", "T02", "Lymph node", "Y", "CT", "20", ""],
                     [*s1, "WEEK 12", 1, "30 MAY 2021", "T01", "Liver", "N", "CT", "25", ""],
                     [*s1, "WEEK 12", 2, "30 MAY 2021", "T02", "Lymph node", "Y", "CT", "5", "TOO SMALL TO MEASURE"]],
                    ["TRDAT", "LESID", "LESLOC", "LESNODE", "TRMETHOD", "DIAM", "LESSTAT"])
    f["ntl"] = _rows([[*s1, "SCREENING", 1, "05 MAR 2021", "NT01", "Bone", "CT", "Present"],
                      [*s1, "WEEK 12", 1, "30 MAY 2021", "NT01", "Bone", "CT", "Present"]],
                     ["TRDAT", "LESID", "LESLOC", "TRMETHOD", "NTLSTAT"])
    f["nl"] = _rows([], ["TRDAT", "LESID", "LESLOC", "TRMETHOD", "NLSTAT"])
    f["rsinv"] = _rows([[*s1, "WEEK 12", 1, "30 MAY 2021", "SD", "NON-CR/NON-PD", "N", "SD"]],
                       ["RSDAT", "TRGRESP", "NTRGRESP", "NEWLES", "OVRLRESP"])
    f["ae"] = _rows([[*s1, "LOGS", 1, "Diarrhoea " + "very long text " * 20, "Diarrhoea", "10012735", "Diarrhoea",
                      "10012735", "Diarrhoea (excl infective)", "10012736", "Gastrointestinal motility",
                      "10017977", "Gastrointestinal disorders", "10017947", "10 MAR 2021", "", "Yes", "No", "", "", "",
                      "", "", "", "2", "Related", "Dose not changed", "Not recovered/not resolved"]],
                    ["AETERM", "AELLT", "AELLTCD", "AEDECOD", "AEPTCD", "AEHLT", "AEHLTCD", "AEHLGT", "AEHLGTCD",
                     "AESOC", "AESOCCD", "AESTDAT", "AEENDAT", "AEONGO", "AESER", "AESDTH", "AESLIFE", "AESHOSP",
                     "AESDISAB", "AESCONG", "AESMIE", "AETOXGR", "AEREL", "AEACN", "AEOUT"])
    lbc = ["LBDAT", "LBTIM", "LBCAT", "LBTEST", "LBORRES", "LBORRESU", "LBORNRLO", "LBORNRHI", "LBSPEC", "LBNAM",
           "LBSTAT", "LBREASND"]
    f["lb"] = _rows([
        [*s1, "SCREENING", 1, "05 MAR 2021", "08:00", "CHEMISTRY", "Glucose", "90", "mg/dL", "70", "110", "SERUM", "LAB A", "", ""],
        [*s1, "DAY 1", 1, "08 MAR 2021", "08:00", "CHEMISTRY", "Glucose", "5.0", "mmol/L", "3.9", "6.1", "SERUM", "LAB A", "", ""],
        [*s1, "DAY 1", 2, "08 MAR 2021", "08:00", "CHEMISTRY", "Glucose", "5.2", "mmol/L", "3.9", "6.1", "SERUM", "LAB A", "", ""],
        [*s1, "WEEK 12", 1, "30 MAY 2021", "", "CHEMISTRY", "Glucose", "7.0", "mmol/L", "3.9", "6.1", "SERUM", "LAB A", "", ""],
        [*s1, "DAY 1", 3, "08 MAR 2021", "", "TUMOR MARKERS", "Chromogranin A", "200", "ng/mL", "0", "98.1", "PLASMA", "CENTRAL", "", ""],
        [*s2, "DAY 1", 1, "15 MAR 2021", "", "CHEMISTRY", "Hemoglobin A1C", "42", "mmol/mol", "20", "42", "BLOOD", "LAB B", "", ""],
    ], lbc)
    f["qlqc30"] = _rows([[*s1, "DAY 1", 1, "08 MAR 2021", *[str(1 + i % 4) for i in range(28)], "5", "6", "", ""]],
                        ["QSDAT", *[f"Q{i:02d}" for i in range(1, 31)], "QSSTAT", "QSREASND"])
    f["ginet21"] = _rows([[*s1, "DAY 1", 1, "08 MAR 2021", *["2"] * 21, ""],
                          [*s2, "DAY 1", 1, "15 MAR 2021", *[""] * 21, "NOT DONE"]],
                         ["QSDAT", *[f"G{i:02d}" for i in range(1, 22)], "QSSTAT"])
    f["diary"] = _rows([[*s1, "DAY 1", 1, "07 MAR 2021", "3", "1"]], ["DIARYDAT", "STOOLS", "FLUSH"])
    f["selfinj"] = _rows([[*s1, "WEEK 4", 1, "05 APR 2021", "Self"]], ["SISTDAT", "SIADMIN"])
    f["ds"] = _rows([[*s1, "WEEK 12", 1, "END OF TREATMENT", "Progressive disease", "", "01 JUN 2021"],
                     [*s1, "FOLLOW-UP", 1, "END OF STUDY", "Completed", "", "29 JUN 2021"],
                     [*s3, "SCREENING", 1, "END OF STUDY", "Withdrawal by subject", "Screen failure", "16 MAR 2021"]],
                    ["DSSCAT", "DSDECOD", "DSTERM", "DSSTDAT"])
    f["dd"] = _rows([], ["DTHDAT", "DTHCAUS", "DTHCAUSP"])
    f["bicr_lesions"] = pd.DataFrame([
        ["101-001", "RADIOLOGIST 1", "SCREENING", "2021-03-05", "T01", "TARGET", "Liver", "N", "31", "MEASURED"],
        ["101-001", "RADIOLOGIST 2", "SCREENING", "2021-03-05", "T01", "TARGET", "Liver", "N", "29", "MEASURED"],
        ["101-001", "RADIOLOGIST 1", "WEEK 12", "2021-05-30", "T01", "TARGET", "Liver", "N", "20", "MEASURED"],
        ["101-001", "RADIOLOGIST 2", "WEEK 12", "2021-05-30", "T01", "TARGET", "Liver", "N", "28", "MEASURED"],
    ], columns=["SUBJID", "READER", "TIMEPOINT", "SCANDATE", "LESIONID", "LESIONTYPE", "LOCATION", "NODAL", "MEASMM",
                "LESSTATUS"])
    f["bicr_response"] = pd.DataFrame([
        ["101-001", "RADIOLOGIST 1", "WEEK 12", "2021-05-30", "PR", "", "N", "PR"],
        ["101-001", "RADIOLOGIST 2", "WEEK 12", "2021-05-30", "SD", "", "N", "SD"],
    ], columns=["SUBJID", "READER", "TIMEPOINT", "SCANDATE", "TARGETRESP", "NONTARGETRESP", "NEWLESION", "OVERALLRESP"])
    f["bicr_adjudication"] = pd.DataFrame([["101-001", "ADJUDICATOR 1", "RADIOLOGIST 2", "2021-06-10", "BEST OVERALL RESPONSE"]],
                                          columns=["SUBJID", "ADJUDICATOR", "ACCEPTEDREADER", "ADJDATE", "ADJREASON"])
    return f


def write_forms(forms: dict[str, pd.DataFrame], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in forms.items():
        df.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")
    return folder
