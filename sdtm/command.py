"""`studyforge sdtm`: read raw exports, load the spec, build SDTM, write XPT + findings + reconciliation.

Under --strict any ERROR finding means exit 1 and nothing is written (no partial package).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from studyforge.dataset_writer import write_dataset_xpt
from studyforge.fileio import confined, write_text_atomic
from studyforge.findings import Finding, Findings, Severity
from studyforge.spec.loader import load_spec
from studyforge.spec.models import Spec

from .context import Reconciliation
from .pipeline import build_sdtm
from .readers import read_for_spec


def run_sdtm(raw_dir: Path | str, spec_dir: Path | str) -> tuple[dict[str, pd.DataFrame], list[Finding], Reconciliation, Spec]:
    """Raw folder + spec folder -> (datasets, findings, reconciliation, spec); for `studyforge build`."""
    spec = load_spec(spec_dir)
    raw, read_findings = read_for_spec(raw_dir, spec)
    datasets, findings, recon = build_sdtm(raw, spec)
    return datasets, read_findings + findings, recon, spec


def sdtm_command(raw_dir: Path, spec_dir: Path, out_dir: Path, *, strict: bool) -> int:
    t0 = time.perf_counter()
    datasets, findings, recon, spec = run_sdtm(raw_dir, spec_dir)
    fs = Findings(list(findings))
    counts = fs.counts()
    if strict and fs.errors:
        for f in fs.errors[:30]:
            print(str(f))
        print(f"--strict: {len(fs.errors)} error(s); nothing written.")
        return 1
    out_dir = Path(out_dir)
    sid = spec.study.id.lower()
    target = confined(out_dir, Path("m5") / "datasets" / sid / "tabulations" / "sdtm")
    for name in sorted(datasets):
        try:
            fs.extend(write_dataset_xpt(datasets[name], spec.datasets[name], spec.study,
                                        target / f"{name.lower()}.xpt").findings)
        except ValueError as exc:  # XptError: a value XPT v5 cannot hold (already reported as a finding)
            fs.add(Finding(Severity.ERROR, "SD1301", f"{name} not written: {exc}", dataset=name))
    counts = fs.counts()
    report = confined(out_dir, "report")
    report.mkdir(parents=True, exist_ok=True)
    write_text_atomic(report / "sdtm_findings.csv", fs.to_frame().to_csv(index=False, lineterminator="\n"))
    write_text_atomic(report / "sdtm_reconciliation.csv",
                      recon.to_report_frame().to_csv(index=False, lineterminator="\n"))
    write_text_atomic(report / "sdtm_reconciliation.json", json.dumps(recon.to_dict(), indent=1, default=str))
    for name in sorted(datasets):
        print(f"{name:8s} {len(datasets[name]):8d} records")
    print(f"findings: {counts['ERROR']} error(s), {counts['WARNING']} warning(s), {counts['NOTICE']} notice(s); "
          f"{time.perf_counter() - t0:.1f} s; written to {target}")
    return 1 if (strict and counts["ERROR"]) else 0
