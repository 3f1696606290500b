"""`studyforge adam`: read SDTM (a folder of datasets or a package), derive ADaM per the spec, write one
XPT per dataset into the package at `--out` (the package root, as for `build` and `sdtm`)."""

from __future__ import annotations

import sys
from pathlib import Path

from adam.pipeline import derive_adam
from adam.sdtm_input import read_sdtm_folder
from studyforge.findings import Finding, Findings, Severity

MAX_PRINTED = 50
# a build's whole-package reports describe the old ADaM: they go when ADaM is replaced (sdtm_* reports stay)
BUILD_REPORTS = ("report/index.html", "report/build.json", "report/findings.csv", "report/findings.json",
                 "report/reconciliation.csv", "report/validation.html", "report/validation.csv",
                 "report/validation.json")


def sdtm_folder(path: Path) -> Path:
    """The SDTM datasets folder of a package root (m5/datasets/<study>/tabulations/sdtm), else `path`."""
    found = sorted(Path(path).glob("m5/datasets/*/tabulations/sdtm"))
    return found[0] if len(found) == 1 else Path(path)


def adam_command(sdtm_dir: Path, spec_dir: Path, out_dir: Path, *, strict: bool) -> int:
    """Exit 0 when written, 1 on errors under --strict (nothing written), 2 on unusable input
    (no SDTM datasets). Spec errors and OSError propagate to the CLI (one line, exit 2).

    The ADaM folder of the package is replaced; the rest of an existing package (SDTM, reports) is kept.
    """
    from studyforge.build import TIMING_FILES, package_paths
    from studyforge.dataset_writer import write_dataset_xpt
    from studyforge.manifest import write_manifest
    from studyforge.outdir import Staging, check_out_dir
    from studyforge.spec.loader import load_spec

    target = check_out_dir(out_dir)
    spec = load_spec(spec_dir)
    source = sdtm_folder(sdtm_dir)
    sdtm = read_sdtm_folder(source)
    if not sdtm:
        print(f"error: no SDTM datasets (*.xpt, *.json) in {source}", file=sys.stderr)
        return 2
    datasets, found = derive_adam(sdtm, spec)
    findings = Findings(list(found))
    if _refused(strict, findings, "deriving ADaM"):
        return 1
    with Staging(target) as staging:
        adam_dir = package_paths(staging.path, spec.study.id)["adam"]
        staging.seed_from(target, leave_out=(staging.relative(adam_dir), "json/adam", *BUILD_REPORTS))
        written = {}
        for name in sorted(datasets):
            path = adam_dir / f"{name.lower()}.xpt"
            try:
                findings.extend(write_dataset_xpt(datasets[name], spec.datasets[name], spec.study, path).findings)
                written[name] = path
            except ValueError as exc:  # XptError: a value XPT v5 cannot hold
                findings.add(Finding(Severity.ERROR, "SF-BUILD-002", f"{name} not written: {exc}", dataset=name))
        if _refused(strict, findings, "writing XPT"):
            return 1
        write_manifest(staging.path, unlisted=TIMING_FILES, spec_dir=spec_dir)
        staging.commit()
    _print(findings)
    final = package_paths(target, spec.study.id)["adam"]
    for name in written:
        print(f"{name:<8} {len(datasets[name]):>7} records  {len(datasets[name].columns):>3} variables  -> "
              f"{final / written[name].name}")
    c = findings.counts()
    print(f"ADaM: {len(written)} dataset(s) from {len(sdtm)} SDTM dataset(s); "
          f"{c['ERROR']} error(s), {c['WARNING']} warning(s), {c['NOTICE']} notice(s)")
    return 0


def _print(findings: Findings) -> None:
    for f in findings.items[:MAX_PRINTED]:
        print(str(f), file=sys.stderr)
    if len(findings) > MAX_PRINTED:
        print(f"... and {len(findings) - MAX_PRINTED} more finding(s)", file=sys.stderr)


def _refused(strict: bool, findings: Findings, stage: str) -> bool:
    if not (strict and findings.errors):
        return False
    _print(findings)
    print(f"{len(findings.errors)} error(s) under --strict after {stage}: nothing written", file=sys.stderr)
    return True
