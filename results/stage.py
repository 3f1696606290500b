"""The results stage: load the analyses spec, run it on ADaM frames, write ARD, ARS, report and trace.

Used by `studyforge results` (on a package's ADaM folder) and by `studyforge build` (on the frames it
just derived). Writes only into the folder it is given.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from studyforge.datasetjson import ColumnMeta, dataset_json_bytes
from studyforge.fileio import confined, write_bytes_atomic, write_text_atomic
from studyforge.findings import Finding, Severity
from studyforge.spec.loader import Located, SpecError, _load_file
from studyforge.spec.models import Study

from . import figures
from .ars import reporting_event_json
from .engine import ARD_COLUMNS, Codes, group_positions, prepare, run_analysis
from .model import Output, ResultsSpec
from .report import TRACE_ROWS, report_html, trace_html
from .trace import LINEAGE_COLUMNS, LineageIndex, trace_frame
from .where import member_of

SPEC_FILE = Path("results") / "analyses.yaml"
LINEAGE_FILE = Path("report") / "lineage.csv"


def load_study(spec_dir: Path | str) -> Study:
    """Only the study identity (results need no dataset specs); SpecError with file:line."""
    errors: list[Located] = []
    obj, _ = _load_file(Path(spec_dir) / "study.yaml", Study, ("study",), "study", errors)
    if errors:
        raise SpecError(errors)
    return obj


def load_results_spec(spec_dir: Path | str) -> ResultsSpec | None:
    """The study's analyses (None when the spec has none); SpecError with file:line on any problem."""
    path = Path(spec_dir) / SPEC_FILE
    if not path.is_file():
        return None
    errors: list[Located] = []
    obj, _ = _load_file(path, ResultsSpec, ("results",), "results", errors)
    if errors:
        raise SpecError(errors)
    return obj


def ard_columns_meta() -> list[ColumnMeta]:
    labels = {"RESULT_ID": "Result Identifier", "ANALYSIS_ID": "Analysis Identifier", "ANALYSIS_NAME": "Analysis Name",
              "ANALYSIS_SET": "Analysis Set", "DATASET": "Analysis Dataset", "PARAMCD": "Parameter Code",
              "METHOD": "Method", "GROUP1": "Grouping Variable 1", "GROUP1_VALUE": "Group 1 Value",
              "GROUP2": "Grouping Variable 2", "GROUP2_VALUE": "Group 2 Value", "STAT": "Statistic",
              "STAT_LABEL": "Statistic Label", "VALUE": "Statistic Value", "N_RECORDS": "Analysis Records"}
    types = {"VALUE": "double", "N_RECORDS": "integer"}
    return [ColumnMeta(c, labels[c], types.get(c, "string")) for c in ARD_COLUMNS]


def _figures(spec: ResultsSpec, frames: dict[str, pd.DataFrame], prepared: dict, ard: pd.DataFrame,
             findings: list[Finding] | None = None) -> dict:
    out: dict[str, list[str]] = {}
    for o in spec.outputs:
        if o.figure == "km":
            curves = {prepared[x].analysis.name: prepared[x].records for x in o.analyses
                      if x in prepared and prepared[x].analysis.method == "kaplan_meier"}
            if curves:
                out[o.id] = [figures.km_plot(curves, o.name)]
        elif o.figure == "mean_change":
            out[o.id] = [figures.mean_change_plot(ard, o.analyses, o.name, "Change from baseline")]
        elif o.figure == "swimmer" and o.analyses[0] in prepared and o.figure_paramcd:
            p = prepared[o.analyses[0]]
            adsl, data = frames["ADSL"], frames[p.analysis.dataset]
            dur = adsl.loc[member_of(adsl["USUBJID"], p.subjects), ["USUBJID", "TRTDURD"]]
            dur = dur.rename(columns={"TRTDURD": "DUR"}).fillna({"DUR": 0})
            title = o.name
            if len(dur) > o.max_subjects:
                dur = dur.sort_values(["DUR", "USUBJID"], ascending=[False, True]).head(o.max_subjects)
                title += f" ({o.max_subjects} of {len(p.subjects)} subjects: the longest on treatment)"
            tp = data[member_of(data["USUBJID"], dur["USUBJID"]) & (data["PARAMCD"] == o.figure_paramcd).to_numpy()]
            out[o.id] = [figures.swimmer_plot(dur, tp[["USUBJID", "ADY", "AVALC"]], title)]
        elif o.figure == "waterfall" and o.analyses[0] in prepared:
            out[o.id] = [waterfall_figure(o, prepared[o.analyses[0]], frames, findings)]
    return out


def waterfall_input(o: Output, p, frames: dict[str, pd.DataFrame],
                    findings: list[Finding] | None = None) -> pd.DataFrame:
    """USUBJID, VALUE (the analysis records' `figure_var`, one per subject) and RESP (the colouring value)."""
    rec = p.records
    best = pd.DataFrame({"USUBJID": rec["USUBJID"].astype(str),
                         "VALUE": pd.to_numeric(rec[o.figure_var], errors="coerce")}).dropna(subset=["VALUE"])
    best = best.drop_duplicates("USUBJID")
    best["RESP"] = ""
    c = o.colour_by
    if c is None:
        return best.reset_index(drop=True)
    src = frames.get(c.dataset)
    if src is None or not {"USUBJID", "PARAMCD", c.variable} <= set(src.columns):
        if findings is not None:
            findings.append(Finding(Severity.WARNING, "SF-RES-006", f"output {o.id}: {c.dataset}.{c.variable} (with "
                                    "PARAMCD) is not in the package; bars not coloured by response", dataset=c.dataset))
        return best.reset_index(drop=True)
    sel = src[src["PARAMCD"].astype(str).str.strip() == c.paramcd]
    resp = dict(zip(sel["USUBJID"].astype(str), sel[c.variable].astype(str).str.strip()))
    best["RESP"] = best["USUBJID"].map(resp).fillna("")
    if findings is not None and (best["RESP"] == "").any():
        findings.append(Finding(Severity.WARNING, "SF-RES-006", f"output {o.id}: {int((best['RESP'] == '').sum())} "
                                f"subject(s) without a {c.dataset} {c.paramcd} record; bars shown as 'no response'",
                                dataset=c.dataset))
    return best.reset_index(drop=True)


def waterfall_figure(o: Output, p, frames: dict[str, pd.DataFrame], findings: list[Finding] | None = None) -> str:
    order = o.colour_by.order if o.colour_by is not None else []
    return figures.waterfall_plot(waterfall_input(o, p, frames, findings), o.name, order)


def write_results(spec_dir: Path | str, frames: dict[str, pd.DataFrame], out_dir: Path, study_id: str,
                  created: dt.datetime, lineage: pd.DataFrame | None = None,
                  trace_rows: int = TRACE_ROWS) -> list[Finding]:
    """Run the analyses and write ard.csv, ard.json, ars.json, index.html and trace.html into out_dir."""
    spec = load_results_spec(spec_dir)
    if spec is None:
        return [Finding(Severity.NOTICE, "SF-RES-000", f"no {SPEC_FILE} in the spec; no endpoint results written")]
    findings: list[Finding] = []
    prepared, parts = {}, []
    codes = Codes()
    for a in spec.analyses:
        p = prepare(a, spec, frames, findings, codes)
        if p is not None:
            prepared[a.id] = p
            parts.append(run_analysis(p))
    ard = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=ARD_COLUMNS)
    write_text_atomic(confined(out_dir, "ard.csv"), ard.to_csv(index=False, lineterminator="\n", float_format="%.10g"))
    write_bytes_atomic(confined(out_dir, "ard.json"), dataset_json_bytes(
        ard, name="ARD", label="Analysis Results Data", columns_meta=ard_columns_meta(), study_oid=study_id,
        metadata_version_oid="ARS", metadata_ref="ars.json", created=created))
    write_bytes_atomic(confined(out_dir, "ars.json"), reporting_event_json(spec, ard, study_id))
    figs = _figures(spec, frames, prepared, ard, findings)
    texts = [str(f) for f in findings]
    write_text_atomic(confined(out_dir, "index.html"), report_html(spec, ard, figs, study_id, texts))
    index = LineageIndex(lineage) if lineage is not None and not lineage.empty else None
    traced = [section for p in prepared.values() for section in traced_groups(p, index, trace_rows)]
    write_text_atomic(confined(out_dir, "trace.html"), trace_html(study_id, traced))
    return findings


def traced_groups(p, lineage, max_rows: int = TRACE_ROWS) -> list[tuple]:
    """(analysis, group labels, the trace of its first `max_rows` records, their number, its record count) per group: one lineage
    join per analysis on the records shown, split by one sort; the page's size is bounded by groups x max_rows."""
    groups = group_positions(p)
    shown = [pos[:max_rows] for _, pos in groups]
    full = trace_frame(p, lineage, np.concatenate(shown) if shown else np.zeros(0, dtype=np.int64))
    gid = np.full(len(p.records), -1, dtype=np.int64)
    for i, pos in enumerate(shown):
        gid[pos] = i
    of_row = gid[full["_ROW"].to_numpy(dtype=np.int64)]
    order = np.argsort(of_row, kind="stable")
    bounds = np.searchsorted(of_row[order], np.arange(len(groups) + 1))
    full = full.drop(columns="_ROW")
    return [(p, labels, full.iloc[order[bounds[i]:bounds[i + 1]]].reset_index(drop=True), len(shown[i]), len(pos))
            for i, (labels, pos) in enumerate(groups)]


def read_lineage(package_dir: Path) -> pd.DataFrame | None:
    path = package_dir / LINEAGE_FILE
    if not path.is_file():
        return None
    return pd.read_csv(path, dtype={"DOMAIN": str, "USUBJID": str, "FILE": str}, keep_default_na=False,
                       usecols=LINEAGE_COLUMNS)
