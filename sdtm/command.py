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
    """Exit 0 when written, 1 under --strict with errors (nothing written). OSError and spec errors
    propagate to the CLI (one line, exit 2).

    `out_dir` is the package root (as for `build` and `adam`): the SDTM folder and the sdtm_* reports
    are replaced, the rest of an existing package (ADaM, raw) is kept; the manifest is rewritten.
    """
    from studyforge.build import TIMING_FILES, package_paths
    from studyforge.manifest import write_manifest
    from studyforge.outdir import Staging, check_out_dir

    t0 = time.perf_counter()
    target = check_out_dir(out_dir)
    datasets, findings, recon, spec = run_sdtm(raw_dir, spec_dir)
    fs = Findings(list(findings))
    if _refused(strict, fs, "mapping"):
        return 1
    with Staging(target) as staging:
        sdtm_dir = package_paths(staging.path, spec.study.id)["sdtm"]
        # what this run replaces goes; stale build-level outputs (Dataset-JSON, reports) of the old SDTM go too
        staging.seed_from(target, leave_out=(staging.relative(sdtm_dir), "json/sdtm", "report"))
        for name in sorted(datasets):
            try:
                fs.extend(write_dataset_xpt(datasets[name], spec.datasets[name], spec.study,
                                            sdtm_dir / f"{name.lower()}.xpt").findings)
            except ValueError as exc:  # XptError: a value XPT v5 cannot hold
                fs.add(Finding(Severity.ERROR, "SD1301", f"{name} not written: {exc}", dataset=name))
        if _refused(strict, fs, "writing XPT"):
            return 1
        report = confined(staging.path, "report")
        write_text_atomic(report / REPORTS[0].split("/")[-1], fs.to_frame().to_csv(index=False, lineterminator="\n"))
        write_text_atomic(report / REPORTS[1].split("/")[-1],
                          recon.to_report_frame().to_csv(index=False, lineterminator="\n"))
        write_text_atomic(report / REPORTS[2].split("/")[-1], json.dumps(recon.to_dict(), indent=1, default=str))
        write_manifest(staging.path, unlisted=TIMING_FILES, spec_dir=spec_dir)
        staging.commit()
    counts = fs.counts()
    if package_paths(target, spec.study.id)["adam"].is_dir():
        print(f"note: the ADaM datasets in {target} were derived from the earlier SDTM; run `studyforge adam` again")
    for name in sorted(datasets):
        print(f"{name:8s} {len(datasets[name]):8d} records")
    print(f"findings: {counts['ERROR']} error(s), {counts['WARNING']} warning(s), {counts['NOTICE']} notice(s); "
          f"{time.perf_counter() - t0:.1f} s; written to {package_paths(target, spec.study.id)['sdtm']}")
    return 0


REPORTS = ("report/sdtm_findings.csv", "report/sdtm_reconciliation.csv", "report/sdtm_reconciliation.json")


def _refused(strict: bool, fs: Findings, stage: str) -> bool:
    if not (strict and fs.errors):
        return False
    for f in fs.errors[:30]:
        print(str(f))
    print(f"--strict: {len(fs.errors)} error(s) after {stage}; nothing written.")
    return True
