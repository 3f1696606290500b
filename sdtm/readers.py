"""Read a folder of raw exports (CSV, SAS7BDAT, XPT, CDISC ODM 1.3 XML) into one frame per form.

Every value is text (what the EDC delivered); line numbers are kept so a finding can point at the
raw record: in a CSV the header is line 1, so data row i (1-based) is line i + 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from studyforge.findings import Finding, Severity

SKIP_FILES = {"dictionary.csv", "manifest.json"}


@dataclass
class RawForm:
    """One raw form: its records as text, where they came from, and each record's line/position."""

    name: str
    frame: pd.DataFrame
    path: str
    lines: np.ndarray

    def __len__(self) -> int:
        return len(self.frame)


def _as_text(df: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for c in df.columns:
        col = df[c]
        if pd.api.types.is_numeric_dtype(col):
            txt = col.map(lambda v: "" if pd.isna(v) else (f"{v:.15g}"))
        else:
            txt = col.fillna("").astype(str)
        out[str(c).upper()] = txt.astype(str)
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)))


def _stripped(df: pd.DataFrame) -> pd.DataFrame:
    """Leading/trailing blanks are never data in an EDC export; strip them once per distinct value."""
    from ._fast import umap

    return pd.DataFrame({c: umap(df[c], lambda u: u.astype(str).str.strip()) for c in df.columns}, index=df.index)


def read_csv_form(path: Path) -> RawForm:
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df.columns = [c.strip().upper() for c in df.columns]
    df = _stripped(df.reset_index(drop=True))
    return RawForm(path.stem.lower(), df, str(path), np.arange(2, len(df) + 2))


def read_sas_form(path: Path) -> RawForm:
    import pyreadstat

    if path.suffix.lower() == ".xpt":
        df, _ = pyreadstat.read_xport(str(path))
    else:
        df, _ = pyreadstat.read_sas7bdat(str(path))
    df = _stripped(_as_text(df))
    return RawForm(path.stem.lower(), df, str(path), np.arange(1, len(df) + 1))


def read_odm(path: Path) -> dict[str, RawForm]:
    """ODM 1.3 ClinicalData: one frame per FormOID; ItemOID (last dotted part) -> field."""
    from lxml import etree

    tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
    rows: dict[str, list[dict]] = {}
    lines: dict[str, list[int]] = {}
    for cd in tree.getroot().iterfind("odm:ClinicalData", ns):
        study = cd.get("StudyOID", "")
        for sd in cd.iterfind("odm:SubjectData", ns):
            subj = sd.get("SubjectKey", "")
            site_el = sd.find("odm:SiteRef", ns)
            site = site_el.get("LocationOID", "") if site_el is not None else ""
            for se in sd.iterfind("odm:StudyEventData", ns):
                folder = se.get("StudyEventOID", "")
                for fd in se.iterfind("odm:FormData", ns):
                    form = fd.get("FormOID", "").split(".")[-1].lower()
                    for ig in fd.iterfind("odm:ItemGroupData", ns):
                        rec = {"STUDYID": study, "SITEID": site, "SUBJID": subj, "FOLDER": folder,
                               "RECORDPOSITION": ig.get("ItemGroupRepeatKey", "1")}
                        for it in ig.iterfind("odm:ItemData", ns):
                            rec[it.get("ItemOID", "").split(".")[-1].upper()] = it.get("Value", "")
                        rows.setdefault(form, []).append(rec)
                        lines.setdefault(form, []).append(ig.sourceline or 0)
    out = {}
    for form, recs in rows.items():
        df = _stripped(pd.DataFrame(recs).fillna("").astype(str))
        out[form] = RawForm(form, df, str(path), np.asarray(lines[form]))
    return out


def read_raw_dir(raw_dir: Path | str) -> tuple[dict[str, RawForm], list[Finding]]:
    """All forms of a raw folder; files that cannot be read become ERROR findings."""
    raw_dir = Path(raw_dir)
    forms: dict[str, RawForm] = {}
    findings: list[Finding] = []
    for path in sorted(raw_dir.iterdir()):
        if path.name in SKIP_FILES or path.name.startswith(".") or not path.is_file():
            continue
        suffix = path.suffix.lower()
        try:
            if suffix == ".csv":
                got = {path.stem.lower(): read_csv_form(path)}
            elif suffix in (".sas7bdat", ".xpt"):
                got = {path.stem.lower(): read_sas_form(path)}
            elif suffix == ".xml":
                got = read_odm(path)
            else:
                continue
        except Exception as exc:  # unreadable file: say which and why
            findings.append(Finding(Severity.ERROR, "SD0001", f"cannot read raw file: {exc}", file=str(path)))
            continue
        for name, form in got.items():
            if name in forms:
                findings.append(Finding(Severity.ERROR, "SD0002",
                                        f"form {name!r} delivered twice; also in {forms[name].path}",
                                        file=str(path)))
                continue
            forms[name] = form
    return forms, findings


def compose_id(frame: pd.DataFrame, parts: list, study_id: str = "") -> pd.Series:
    """An identifier (SUBJID, USUBJID, SITEID) from the spec's parts: the study id, raw columns
    (optionally a regex capture and zero padding) and literal separators. A missing column gives ''."""
    from ._fast import umap

    out = pd.Series("", index=frame.index, dtype=object)
    for p in parts:
        if p.study:
            piece = pd.Series(study_id, index=frame.index, dtype=object)
        elif p.literal is not None:
            piece = pd.Series(p.literal, index=frame.index, dtype=object)
        else:
            col = frame[p.column] if p.column in frame.columns else pd.Series("", index=frame.index, dtype=object)

            def shape(u: pd.Series, p=p) -> pd.Series:
                u = u.astype(str)
                if p.regex:
                    rx = p.regex if re.compile(p.regex).groups else f"({p.regex})"
                    u = u.str.extract(rx, expand=True).iloc[:, 0].fillna("")
                if p.pad:
                    u = u.where(u == "", u.str.zfill(p.pad))
                return u

            piece = umap(col.astype(str), shape).astype(object)
        out = out + piece
    return out.astype(str)
