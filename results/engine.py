"""Run the spec's analyses on ADaM frames: the analysis results data (ARD), one row per statistic."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pydantic import BaseModel

from studyforge.findings import Finding, Severity

from .methods import METHODS
from .model import Analysis, ResultsSpec
from .where import Factorized, evaluate, factorized, member_of, text_in, variables

ARD_COLUMNS = ["RESULT_ID", "ANALYSIS_ID", "ANALYSIS_NAME", "ANALYSIS_SET", "DATASET", "PARAMCD", "METHOD",
               "GROUP1", "GROUP1_VALUE", "GROUP2", "GROUP2_VALUE", "STAT", "STAT_LABEL", "VALUE", "N_RECORDS"]


# the record columns a trace shows besides the analysis's own (identity, value, source record)
TRACE_COLUMNS = ("USUBJID", "PARAMCD", "AVISIT", "ASEQ", "AVAL", "AVALC", "CNSR", "EVNTDESC", "SRCDOM", "SRCSEQ")
_SEQ = re.compile(r"^[A-Z]{2}SEQ$")


@dataclass
class Prepared:
    """One analysis ready to compute or trace: its records (analysis set, parameter, where clause applied)."""

    analysis: Analysis
    params: BaseModel
    records: pd.DataFrame
    subjects: pd.Index
    positions: list[tuple[list[tuple[str, str]], np.ndarray]] | None = field(default=None, repr=False)


def _strings(obj) -> set[str]:
    """Every string inside a params dump (column names among them: where-clause variables, *_var ...)."""
    if isinstance(obj, str):
        return {obj}
    if isinstance(obj, dict):
        return set().union(*(_strings(v) for v in obj.values())) if obj else set()
    if isinstance(obj, (list, tuple)):
        return set().union(*(_strings(v) for v in obj)) if obj else set()
    return set()


def used_columns(a: Analysis, params: BaseModel, data: pd.DataFrame) -> list[str]:
    """The columns an analysis reads or shows (in the dataset's order): a slim frame makes every later
    selection and per-group take cheap, whatever the dataset's width."""
    want = {"USUBJID", "PARAMCD", *a.group_by, *variables(a.where), *TRACE_COLUMNS}
    want |= _strings(params.model_dump())
    return [c for c in data.columns if c in want or _SEQ.match(c)]


def result_id(analysis_id: str, groups: list[tuple[str, str]], stat: str) -> str:
    """`CBR24:rate`, `TEAESOC[AEBODSYS=GASTROINTESTINAL DISORDERS]:n`: stable, readable, one per statistic."""
    g = "[" + ";".join(f"{k}={v}" for k, v in groups) + "]" if groups else ""
    return f"{analysis_id}{g}:{stat}"


class Codes:
    """The factorized columns of the input datasets, each made once per run: a package's analyses select from
    the same few datasets by USUBJID and PARAMCD again and again (one hash pass each, not one per analysis)."""

    def __init__(self):
        self._done: dict[tuple[int, str], tuple[pd.DataFrame, Factorized]] = {}

    def __call__(self, df: pd.DataFrame, column: str) -> Factorized:
        key = (id(df), column)
        hit = self._done.get(key)
        if hit is None or hit[0] is not df:          # the frame is kept with its codes, so its id stays its own
            hit = self._done[key] = (df, factorized(df[column]))
        return hit[1]


def prepare(a: Analysis, spec: ResultsSpec, frames: dict[str, pd.DataFrame],
            findings: list[Finding], codes: Codes | None = None) -> Prepared | None:
    """The analysis records, or None (with an ERROR finding) when an input it needs is missing.
    `codes`: the run's column codes (shared by its analyses); a fresh one when not given."""
    codes = Codes() if codes is None else codes
    method = METHODS[a.method]  # the spec model refuses an unknown method at its line
    where = f"analysis {a.id}"
    params = method.params.model_validate(a.params)
    aset = next(s for s in spec.analysis_sets if s.id == a.analysis_set)
    adsl, data = frames.get("ADSL"), frames.get(a.dataset)
    for name, df in (("ADSL", adsl), (a.dataset, data)):
        if df is None:
            findings.append(Finding(Severity.ERROR, "SF-RES-002", f"{where}: dataset {name} is not in the package; "
                                    "analysis not run", dataset=name))
            return None
    needed = {"USUBJID", *a.group_by, *variables(a.where)} | ({"PARAMCD"} if a.paramcd else set())
    needed |= {v for k, v in params.model_dump().items() if (k.endswith("_var") or k in ("var", "worst")) and v}
    absent = sorted(v for v in needed if isinstance(v, str) and v not in data.columns)
    if aset.flag not in adsl.columns:
        absent.append(f"ADSL.{aset.flag}")
    if absent:
        findings.append(Finding(Severity.ERROR, "SF-RES-003", f"{where}: variable(s) {', '.join(absent)} missing "
                                f"from {a.dataset}; analysis not run", dataset=a.dataset))
        return None
    subjects = pd.Index(adsl.loc[text_in(adsl[aset.flag], ["Y"], codes(adsl, aset.flag)), "USUBJID"].unique())
    keep = member_of(data["USUBJID"], subjects, codes(data, "USUBJID"))
    if a.paramcd:
        keep &= text_in(data["PARAMCD"], [a.paramcd], codes(data, "PARAMCD"))
    rec = data.loc[keep, used_columns(a, params, data)]
    if a.paramcd:
        if rec.empty:
            occurs = sorted(data["PARAMCD"].dropna().astype(str).unique())[:12]
            findings.append(Finding(Severity.WARNING, "SF-RES-004", f"{where}: PARAMCD {a.paramcd!r} has no record "
                                    f"in the analysis set; PARAMCDs present: {', '.join(occurs)}", dataset=a.dataset))
    rec = rec[evaluate(rec, a.where)]
    if rec.empty and a.where is not None:
        findings.append(Finding(Severity.WARNING, "SF-RES-005", f"{where}: the where clause selects no record",
                                dataset=a.dataset))
    rec = method.prepare(rec, params)
    return Prepared(a, params, rec, subjects)


def _group_codes(col: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Group label codes and labels of one grouping column: text, whole numbers without a decimal point
    (AVISITN 12, not 12.0), missing as ''; labels made once per distinct value."""
    codes, uniq = pd.factorize(col, use_na_sentinel=True)
    if pd.api.types.is_numeric_dtype(col):
        text = [f"{int(u)}" if float(u) == round(float(u)) else str(float(u)) for u in uniq]
    else:
        text = [str(u) for u in uniq]
    labels, relabel = np.unique(np.array(text + [""], dtype=object), return_inverse=True)
    return relabel[np.where(codes < 0, len(text), codes)], [str(x) for x in labels]


def group_positions(p: Prepared) -> list[tuple[list[tuple[str, str]], np.ndarray]]:
    """(group labels, row positions in p.records) per group, in report order; computed once per analysis."""
    if p.positions is None:
        if not p.analysis.group_by:
            p.positions = [([], np.arange(len(p.records)))]
        else:
            coded = [_group_codes(p.records[c]) for c in p.analysis.group_by]
            combined = np.zeros(len(p.records), dtype=np.int64)
            for codes, labels in coded:
                combined = combined * len(labels) + codes
            uniq, inverse = np.unique(combined, return_inverse=True)
            order = np.argsort(inverse, kind="stable")
            bounds = np.searchsorted(inverse[order], np.arange(len(uniq) + 1))
            found = []
            for i, key in enumerate(uniq):
                vals = []
                for _, labels in reversed(coded):
                    key, code = divmod(int(key), len(labels))
                    vals.append(labels[code])
                found.append((list(zip(p.analysis.group_by, reversed(vals))), order[bounds[i]:bounds[i + 1]]))
            p.positions = sorted(found, key=lambda g: [_sort_key(v) for _, v in g[0]])
    return p.positions


def _groups(p: Prepared) -> list[tuple[list[tuple[str, str]], pd.DataFrame, pd.Index]]:
    """(group labels, records, analysis-set subjects) per group; one group when there is no grouping."""
    return [(labels, p.records.iloc[pos], p.subjects) for labels, pos in group_positions(p)]


def _sort_key(label: str) -> tuple:
    try:
        return (0, float(label), "")
    except ValueError:
        return (1, 0.0, label)


def run_analysis(p: Prepared) -> pd.DataFrame:
    a, method = p.analysis, METHODS[p.analysis.method]
    rows = []
    for labels, rec, subjects in _groups(p):
        for stat, label, value in method.compute(rec, subjects, p.params):
            g = labels + [("", "")] * (2 - len(labels))
            rows.append({"RESULT_ID": result_id(a.id, labels, stat), "ANALYSIS_ID": a.id, "ANALYSIS_NAME": a.name,
                         "ANALYSIS_SET": a.analysis_set, "DATASET": a.dataset, "PARAMCD": a.paramcd or "",
                         "METHOD": a.method, "GROUP1": g[0][0], "GROUP1_VALUE": g[0][1], "GROUP2": g[1][0],
                         "GROUP2_VALUE": g[1][1], "STAT": stat, "STAT_LABEL": label,
                         "VALUE": float(value) if value is not None else np.nan, "N_RECORDS": len(rec)})
    return pd.DataFrame(rows, columns=ARD_COLUMNS)


def run_results(spec: ResultsSpec, frames: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, list[Finding]]:
    """The ARD of every analysis in spec order, and the findings (inputs missing, selections empty)."""
    findings: list[Finding] = []
    parts = []
    codes = Codes()
    for a in spec.analyses:
        p = prepare(a, spec, frames, findings, codes)
        if p is not None:
            parts.append(run_analysis(p))
    ard = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=ARD_COLUMNS)
    return ard, findings
