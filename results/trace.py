"""From a statistic to its records: ADaM records (with their role in the statistic), their SDTM source
records (SRCDOM/SRCSEQ, else the --SEQ predecessor variable) and the raw files and lines those came
from (the SDTM stage's lineage table). Every step is a join on record identity, never a search."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .engine import TRACE_COLUMNS, Prepared, group_positions, result_id
from .methods import METHODS
from .where import factorized

LINEAGE_COLUMNS = ["DOMAIN", "USUBJID", "SEQ", "FILE", "LINE"]
_ID = re.compile(r"^(?P<aid>[A-Z][A-Z0-9_]*)(?:\[(?P<groups>[^\]]*)\])?:(?P<stat>[A-Za-z0-9_]+)$")


class TraceError(ValueError):
    """A result id that does not name a statistic of the package."""


def parse_result_id(rid: str) -> tuple[str, list[tuple[str, str]], str]:
    m = _ID.match(rid.strip())
    if not m:
        raise TraceError(f"not a result id: {rid!r} (expected ANALYSIS[VAR=value;...]:STAT, e.g. CBR24:rate)")
    groups = [tuple(g.split("=", 1)) for g in m["groups"].split(";")] if m["groups"] else []
    if any(len(g) != 2 for g in groups):
        raise TraceError(f"bad group in result id {rid!r}: each group is VAR=value")
    return m["aid"], groups, m["stat"]


def source_keys(records: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """(SRCDOM, SRCSEQ) of each ADaM record: SRCDOM/SRCSEQ when present, else the first --SEQ variable
    (e.g. AESEQ -> AE), else nothing (a subject-level dataset has no record source)."""
    out = pd.DataFrame(index=records.index)
    if {"SRCDOM", "SRCSEQ"} <= set(records.columns):
        out["SRCDOM"] = records["SRCDOM"].astype(object).where(records["SRCDOM"].notna(), "").astype(str)
        out["SRCSEQ"] = pd.to_numeric(records["SRCSEQ"], errors="coerce")
        return out
    seq = next((c for c in records.columns if re.fullmatch(r"[A-Z]{2}SEQ", c) and c != "ASEQ"), None)
    out["SRCDOM"] = seq[:2] if seq else ""
    out["SRCSEQ"] = pd.to_numeric(records[seq], errors="coerce") if seq else float("nan")
    return out


def _factorized_text(s: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """(codes, distinct texts) of a column read as text (astype(str) as before: a number becomes its text)."""
    codes, uniq = factorized(s if pd.api.types.is_string_dtype(s.dtype) else s.astype(str))
    return codes, pd.Index(uniq.astype(str), dtype=object)


class LineageIndex:
    """The lineage table keyed once (SDTM domain, subject, --SEQ -> raw file and line), so that each analysis's
    join is a binary search over sorted integer keys instead of a merge over millions of lineage rows."""

    def __init__(self, lineage: pd.DataFrame):
        # factorized as the column is (Arrow-native on Arrow-backed text): no Python string per lineage row
        dom, self.domains = _factorized_text(lineage["DOMAIN"])
        subj, self.subjects = _factorized_text(lineage["USUBJID"])
        seq = pd.to_numeric(lineage["SEQ"], errors="coerce").to_numpy(dtype=float)
        self.max_seq = int(np.nanmax(seq)) if np.isfinite(seq).any() else 0
        key = self._key(dom, subj, seq)
        order = np.argsort(key, kind="stable")
        self.key = key[order]
        fcodes, files = factorized(lineage["FILE"])
        self.file_code = fcodes[order]                      # few raw files: a code per row, the name once
        self.files = np.append(files, np.nan)   # -1 (missing) takes the appended NaN
        self.line = pd.to_numeric(lineage["LINE"], errors="coerce").to_numpy(dtype=float)[order]

    def _key(self, dom: np.ndarray, subj: np.ndarray, seq: np.ndarray) -> np.ndarray:
        ok = (dom >= 0) & (subj >= 0) & np.isfinite(seq) & (seq >= 0) & (seq <= self.max_seq) & (seq == np.round(seq))
        k = (dom.astype(np.int64) * len(self.subjects) + subj) * (self.max_seq + 1) + np.where(ok, seq, 0).astype(np.int64)
        return np.where(ok, k, -1)

    def join(self, srcdom: pd.Series, usubjid: pd.Series, srcseq: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(record position, FILE, LINE) per raw line of each record; a record without lineage keeps one row."""
        dom = self.domains.get_indexer(srcdom.astype(str).to_numpy(dtype=object))
        subj = self.subjects.get_indexer(usubjid.astype(str).to_numpy(dtype=object))
        key = self._key(dom, subj, pd.to_numeric(srcseq, errors="coerce").to_numpy(dtype=float))
        lo = np.searchsorted(self.key, key, "left")
        hi = np.searchsorted(self.key, key, "right")
        count = np.where(key >= 0, hi - lo, 0)
        rows = np.maximum(count, 1)
        pos = np.repeat(np.arange(len(key)), rows)
        within = np.arange(len(pos)) - np.repeat(np.cumsum(rows) - rows, rows)
        has = np.repeat(count > 0, rows)
        src = np.where(has, np.repeat(lo, rows) + within, 0)
        take = np.clip(src, 0, max(len(self.key) - 1, 0))
        file = np.where(has, self.files[self.file_code[take]] if len(self.key) else None, None)
        line = np.where(has, self.line[take] if len(self.key) else np.nan, np.nan)
        return pos, file, line


def trace_frame(p: Prepared, lineage: "pd.DataFrame | LineageIndex | None",
                rows: np.ndarray | None = None) -> pd.DataFrame:
    """The analysis records (all, or those at positions `rows`) with ROLE, SDTM source and raw file:line (a
    record built from several raw lines shows each); `_ROW` is the record's position in p.records."""
    rec = p.records if rows is None else p.records.iloc[rows]
    keys = [c for c in TRACE_COLUMNS if c in rec and c not in ("SRCDOM", "SRCSEQ")]
    out = rec[keys].reset_index(drop=True)
    out.insert(0, "DATASET", p.analysis.dataset)
    out["_ROW"] = np.arange(len(out)) if rows is None else np.asarray(rows)
    out["ROLE"] = METHODS[p.analysis.method].roles(rec, p.params).to_numpy()
    out = pd.concat([out, source_keys(rec, p.analysis.dataset).reset_index(drop=True)], axis=1)
    if isinstance(lineage, pd.DataFrame):
        lineage = LineageIndex(lineage) if not lineage.empty else None
    if lineage is None:
        out["FILE"], out["LINE"] = "", pd.NA
        return out
    pos, file, line = lineage.join(out["SRCDOM"], out["USUBJID"], out["SRCSEQ"])
    out = out.iloc[pos].reset_index(drop=True)
    out["FILE"] = file
    out["LINE"] = pd.array(line, dtype="Float64").astype("Int64")  # 8, not 8.0, beside blanks
    return out


def trace_records(p: Prepared, groups: list[tuple[str, str]], lineage: pd.DataFrame | None) -> pd.DataFrame:
    """The ADaM records behind one group of an analysis, each with ROLE, SDTM source and raw file:line."""
    wanted = [(k, v) for k, v in groups]
    match = [pos for labels, pos in group_positions(p) if labels == wanted]
    if not match:
        known = ", ".join(result_id(p.analysis.id, g, "…") for g, _ in group_positions(p)[:5])
        raise TraceError(f"analysis {p.analysis.id} has no group {groups}; e.g. {known}")
    full = trace_frame(p, lineage)
    return full[full["_ROW"].isin(match[0])].drop(columns="_ROW").reset_index(drop=True)
