"""`studyforge results PACKAGE` and `studyforge trace RESULT_ID`: endpoint results from a package's ADaM."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from studyforge.datasets_io import read_dataset_folder
from studyforge.spec.loader import SpecError

from .engine import prepare
from .stage import load_results_spec, load_study, read_lineage, write_results
from .trace import TraceError, parse_result_id, trace_records


def _adam_folder(package: Path, study_id: str) -> Path:
    return package / "m5" / "datasets" / study_id.lower() / "analysis" / "adam" / "datasets"


def _inputs(package: Path, spec_dir: Path):
    study = load_study(spec_dir)
    rspec = load_results_spec(spec_dir)
    folder = _adam_folder(package, study.id)
    if not folder.is_dir():
        folder = package  # a bare folder of ADaM datasets
    frames = read_dataset_folder(folder)
    return study, rspec, frames, folder


def results_command(package: Path, spec_dir: Path, out_dir: Path | None) -> int:
    """Exit 0 when written; 2 on a bad spec, no analyses or no ADaM datasets; 1 when an analysis could not run."""
    try:
        study, rspec, frames, folder = _inputs(package, spec_dir)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if rspec is None:
        print(f"error: {spec_dir}/results/analyses.yaml not found: the spec defines no analyses", file=sys.stderr)
        return 2
    if "ADSL" not in frames:
        print(f"error: no ADSL dataset in {folder}", file=sys.stderr)
        return 2
    out = out_dir or package / "results"
    findings = write_results(spec_dir, frames, out, study.id, study.xpt_created, read_lineage(package))
    for f in findings:
        print(str(f), file=sys.stderr)
    print(f"results: {out / 'index.html'}", file=sys.stderr)
    return 1 if any(f.severity.value == "ERROR" for f in findings) else 0


def trace_command(result_id: str, package: Path, spec_dir: Path, as_json: bool) -> int:
    """Print the ADaM records, SDTM sources and raw lines behind one statistic."""
    try:
        aid, groups, stat = parse_result_id(result_id)
        _, rspec, frames, _ = _inputs(package, spec_dir)
        if rspec is None:
            raise TraceError("the spec defines no analyses")
        analysis = next((a for a in rspec.analyses if a.id == aid), None)
        if analysis is None:
            raise TraceError(f"no analysis {aid!r}; known: {', '.join(a.id for a in rspec.analyses)}")
        findings: list = []
        p = prepare(analysis, rspec, frames, findings)
        if p is None:
            raise TraceError("; ".join(f.message for f in findings))
        recs = trace_records(p, groups, read_lineage(package))
    except (SpecError, TraceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(json.loads(recs.to_json(orient="records")), indent=1))
    else:
        with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 200):
            print(f"{result_id}: {analysis.name} ({stat}); {len(recs)} record(s)")
            print(recs.to_string(index=False))
    return 0
