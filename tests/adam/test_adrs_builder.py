"""Hand-built RS/TU/ADSL frames for ADRS tests: subjects, assessments by study day, readers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from adam.adrs import derive_adrs
from studyforge.spec.loader import load_dataset_file
from studyforge.spec.models import Dataset

SPEC_PATH = Path(__file__).resolve().parents[2] / "specs" / "palace" / "adam" / "ADRS.yaml"
TRT = "2021-06-01"

READERS = {  # reader -> (RSEVAL, RSEVALID)
    "INV": ("INVESTIGATOR", ""),
    "R1": ("INDEPENDENT ASSESSOR", "RADIOLOGIST 1"),
    "R2": ("INDEPENDENT ASSESSOR", "RADIOLOGIST 2"),
    "ADJ": ("INDEPENDENT ASSESSOR", "ADJUDICATOR"),
}


def load_spec() -> Dataset:
    return load_dataset_file(SPEC_PATH)  # with the ADaMIG metadata the YAML inherits


SAS_EPOCH = dt.date(1960, 1, 1)


def sas(iso: str) -> float:
    """SAS date of a complete ISO date, by the standard library (independent of studyforge.dates)."""
    return float((dt.date.fromisoformat(iso) - SAS_EPOCH).days)


def day_iso(study_day: int, trt: str = TRT) -> str:
    """ISO date of a study day (day 1 = first dose; no day 0: day -1 is the day before)."""
    off = study_day - 1 if study_day >= 1 else study_day
    return (dt.date.fromisoformat(trt) + dt.timedelta(days=off)).isoformat()


class Study:
    """Accumulates subjects, RS overall responses and TU lesions, then runs derive_adrs."""

    def __init__(self) -> None:
        self.adsl: list[dict] = []
        self.rs: list[dict] = []
        self.tu: list[dict] = []
        self.trt: dict[str, str] = {}

    def subject(self, u: str, trt: str | None = TRT, death_day: int | None = None) -> "Study":
        self.trt[u] = trt or TRT
        self.adsl.append({"STUDYID": "PALACE", "USUBJID": u, "SUBJID": u[-3:], "SITEID": "101",
                          "TRTSDT": sas(trt) if trt else np.nan,
                          "DTHDT": sas(day_iso(death_day, trt or TRT)) if death_day is not None else np.nan})
        return self

    def ovr(self, u: str, day: int | None, resp: str, reader: str = "INV", accepted: bool = True,
            dtc: str | None = None, testcd: str = "OVRLRESP", rscat: str = "RECIST 1.1") -> int:
        """Add one RS record; BICR reads carry RSACPTFL 'Y' only when `accepted`. Returns RSSEQ."""
        rseval, evalid = READERS[reader]
        seq = len(self.rs) + 1
        when = dtc if dtc is not None else day_iso(day, self.trt.get(u, TRT))
        self.rs.append({"STUDYID": "PALACE", "DOMAIN": "RS", "USUBJID": u, "RSSEQ": float(seq), "RSTESTCD": testcd,
                        "RSCAT": rscat, "RSORRES": resp, "RSSTRESC": resp, "RSEVAL": rseval, "RSEVALID": evalid,
                        "RSACPTFL": "Y" if (reader != "INV" and accepted) else "",
                        "VISITNUM": float(100 + (day or 0)), "VISIT": f"DAY {day}", "RSDTC": when})
        return seq

    def lesion(self, u: str, day: int, kind: str = "TARGET", reader: str = "INV", dtc: str | None = None) -> int:
        rseval, evalid = READERS[reader]
        seq = len(self.tu) + 1
        self.tu.append({"USUBJID": u, "TUSEQ": float(seq), "TUTESTCD": "TUMIDENT", "TUORRES": kind, "TUSTRESC": kind,
                        "TUEVAL": rseval, "TUEVALID": evalid,
                        "TUDTC": dtc if dtc is not None else day_iso(day, self.trt.get(u, TRT))})
        return seq

    def frames(self) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
        rs_cols = ["STUDYID", "DOMAIN", "USUBJID", "RSSEQ", "RSTESTCD", "RSCAT", "RSORRES", "RSSTRESC", "RSEVAL",
                   "RSEVALID", "RSACPTFL", "VISITNUM", "VISIT", "RSDTC"]
        tu_cols = ["USUBJID", "TUSEQ", "TUTESTCD", "TUORRES", "TUSTRESC", "TUEVAL", "TUEVALID", "TUDTC"]
        rs = pd.DataFrame(self.rs, columns=rs_cols)
        tu = pd.DataFrame(self.tu, columns=tu_cols)
        return {"RS": rs, "TU": tu}, pd.DataFrame(self.adsl)

    def run(self, spec: Dataset | None = None) -> "Result":
        sdtm, adsl = self.frames()
        out, findings = derive_adrs(sdtm, adsl, spec or load_spec())
        return Result(out, findings, self)


class Result:
    def __init__(self, df: pd.DataFrame, findings: list, study: Study):
        self.df, self.findings, self.study = df, findings, study

    def rows(self, u: str, paramcd: str) -> pd.DataFrame:
        return self.df[(self.df["USUBJID"] == u) & (self.df["PARAMCD"] == paramcd)]

    def one(self, u: str, paramcd: str) -> pd.Series:
        r = self.rows(u, paramcd)
        assert len(r) == 1, f"{u} {paramcd}: {len(r)} records"
        return r.iloc[0]

    def val(self, u: str, paramcd: str) -> str:
        return self.one(u, paramcd)["AVALC"]

    def day(self, u: str, paramcd: str) -> float | None:
        """ADY of the parameter's record (None when ADT is missing)."""
        r = self.one(u, paramcd)
        return None if pd.isna(r["ADT"]) else float(r["ADY"])

    def rules(self) -> list[str]:
        return [f.rule for f in self.findings]
