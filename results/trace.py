"""From a statistic to its records: ADaM records (with their role in the statistic), their SDTM source
records (SRCDOM/SRCSEQ, else the --SEQ predecessor variable) and the raw files and lines those came
from (the SDTM stage's lineage table). Every step is a join on record identity, never a search."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .engine import TRACE_COLUMNS, Prepared, group_positions, result_id
from .methods import METHODS

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


def trace_frame(p: Prepared, lineage: pd.DataFrame | None) -> pd.DataFrame:
    """Every record of the analysis with ROLE, SDTM source and raw file:line (a record built from several raw
    lines shows each); `_ROW` is the record's position in p.records. One lineage join per analysis."""
    rec = p.records
    keys = [c for c in TRACE_COLUMNS if c in rec and c not in ("SRCDOM", "SRCSEQ")]
    out = rec[keys].reset_index(drop=True)
    out.insert(0, "DATASET", p.analysis.dataset)
    out["_ROW"] = np.arange(len(out))
    out["ROLE"] = METHODS[p.analysis.method].roles(rec, p.params).to_numpy()
    out = pd.concat([out, source_keys(rec, p.analysis.dataset).reset_index(drop=True)], axis=1)
    if lineage is not None and not lineage.empty:
        lin = lineage.rename(columns={"DOMAIN": "SRCDOM", "SEQ": "SRCSEQ"})
        lin["SRCSEQ"] = pd.to_numeric(lin["SRCSEQ"], errors="coerce")
        out = out.merge(lin, on=["SRCDOM", "USUBJID", "SRCSEQ"], how="left", sort=False)
        out["LINE"] = pd.to_numeric(out["LINE"], errors="coerce").astype("Int64")  # 8, not 8.0, beside blanks
    else:
        out["FILE"], out["LINE"] = "", pd.NA
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
