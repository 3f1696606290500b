"""`studyforge build`: raw exports -> SDTM -> ADaM -> XPT, Dataset-JSON, define.xml/html, validation, report.

The stages (simulate, SDTM, ADaM) are passed in by the composition root (cli.py), so this module
imports neither sdtm nor adam. Everything is built in a staging folder beside the target and moved
into place at the end: a failed or --strict-refused build never leaves a partial package.
"""

from __future__ import annotations

import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd
from rich.console import Console

from studyforge.findings import Finding, Severity
from studyforge.spec.models import Spec

Frames = dict[str, pd.DataFrame]
TIMING_FILES = ("report/index.html", "report/build.json")  # the only files that differ between identical builds


@dataclass
class Stages:
    """The stage functions a build runs, injected by cli.py."""

    simulate: Callable[..., object]                 # (study_dir, subjects=, seed=, out_dir=) -> exit code
    run_sdtm: Callable[..., tuple]                  # (raw_dir, spec_dir) -> (frames, findings, reconciliation, whole spec)
    derive_adam: Callable[[Frames, Spec], tuple]    # (sdtm frames, spec) -> (frames, findings)
    read_sdtm: Callable[[Path], Frames]             # folder of SDTM XPT -> frames (ADaM reads what was written)


@dataclass
class BuildOptions:
    study_dir: Path
    out_dir: Path
    raw_dir: Path | None = None
    subjects: int | None = None
    seed: int | None = None
    formats: tuple[str, ...] = ("xpt", "json")
    strict: bool = False
    validate: bool = True


@dataclass
class BuildResult:
    exit_code: int
    out_dir: Path
    findings: list[Finding] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def package_paths(root: Path, study_id: str) -> dict[str, Path]:
    """The eCTD m5 layout of DESIGN.md, lower-case folder and file names."""
    sid = study_id.lower()
    return {
        "sdtm": root / "m5" / "datasets" / sid / "tabulations" / "sdtm",
        "adam": root / "m5" / "datasets" / sid / "analysis" / "adam" / "datasets",
        "json_sdtm": root / "json" / "sdtm",
        "json_adam": root / "json" / "adam",
        "report": root / "report",
    }


class _Timer:
    def __init__(self, console: Console):
        self.timings: dict[str, float] = {}
        self.console = console

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        with self.console.status(f"[bold]{name}[/bold] ..."):
            yield
        self.timings[name] = time.perf_counter() - t0
        self.console.print(f"  {name:<28} {self.timings[name]:7.2f} s")


def staging_dir(out_dir: Path) -> Path:
    out_dir = out_dir.resolve()
    return out_dir.parent / f".{out_dir.name}.staging"


def promote(staging: Path, out_dir: Path) -> None:
    """Replace out_dir by the finished staging folder (old package kept until the new one is in place)."""
    out_dir = out_dir.resolve()
    old = out_dir.parent / f".{out_dir.name}.old"
    if old.exists():
        shutil.rmtree(old)
    if out_dir.exists():
        out_dir.rename(old)
    staging.rename(out_dir)
    if old.exists():
        shutil.rmtree(old)


def relocate(findings: list[Finding], staging: Path, out_dir: Path) -> list[Finding]:
    """Name files as they will be after promotion: relative to the package root, not the staging folder."""
    from dataclasses import replace

    prefix = str(staging.resolve()) + "/"
    return [replace(f, file=f.file[len(prefix):]) if f.file.startswith(prefix) else f for f in findings]


def error_findings(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity is Severity.ERROR]


def build(opts: BuildOptions, stages: Stages, console: Console | None = None) -> BuildResult:
    """Run the whole chain into a staging folder; promote it unless --strict found errors."""
    from studyforge.conform.engine import run_checks
    from studyforge.conform.package import load_package
    from studyforge.conform.report import write_reports
    from studyforge.conform.rules import all_rules
    from studyforge.dataset_writer import write_dataset_xpt
    from studyforge.datasetjson import write_spec_dataset_json
    from studyforge.define.info import dataset_info_from_xpt
    from studyforge.define.xml import write_define
    from studyforge.fileio import confined
    from studyforge.manifest import write_manifest
    from studyforge.report import BuildSummary, summarize_dataset, write_build_report

    console = console or Console(stderr=True)
    timer = _Timer(console)
    staging = staging_dir(opts.out_dir)
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    findings: list[Finding] = []
    try:
        raw_dir = opts.raw_dir
        if raw_dir is None:
            raw_dir = confined(staging, "raw")
            with timer.stage("simulate raw exports"):
                code = stages.simulate(opts.study_dir, subjects=opts.subjects, seed=opts.seed, out_dir=raw_dir)
            if code:
                raise RuntimeError(f"simulation failed with exit code {code}")

        with timer.stage("raw -> SDTM"):
            sdtm, sdtm_findings, recon, spec = stages.run_sdtm(raw_dir, opts.study_dir)
        findings += sdtm_findings
        paths = package_paths(staging, spec.study.id)
        if opts.strict and error_findings(findings):
            return _refuse(staging, opts, findings, timer, console)

        with timer.stage("write SDTM XPT"):
            written = _write_xpt_all(sdtm, spec, paths["sdtm"], write_dataset_xpt, findings)

        with timer.stage("SDTM -> ADaM"):
            sdtm_back = stages.read_sdtm(paths["sdtm"])
            adam, adam_findings = stages.derive_adam(sdtm_back, spec)
        findings += adam_findings
        if opts.strict and error_findings(findings):
            return _refuse(staging, opts, findings, timer, console)

        with timer.stage("write ADaM XPT"):
            written.update(_write_xpt_all(adam, spec, paths["adam"], write_dataset_xpt, findings))

        if "json" in opts.formats:
            with timer.stage("write Dataset-JSON"):
                for name, (df, purpose) in sorted(written.items()):
                    folder = paths["json_sdtm"] if purpose == "Tabulation" else paths["json_adam"]
                    write_spec_dataset_json(df, folder / f"{name.lower()}.json", spec, name)

        with timer.stage("define.xml + define.html"):
            for purpose, key in (("Tabulation", "sdtm"), ("Analysis", "adam")):
                infos = {n: dataset_info_from_xpt(paths[key] / f"{n.lower()}.xpt")
                         for n, (_, p) in written.items() if p == purpose}
                if infos:
                    findings += write_define(spec, purpose, infos, paths[key])

        if opts.validate:
            with timer.stage("conformance checks"):
                view = load_package(staging, spec)
                checked = run_checks(view)
                write_reports(checked, all_rules(), paths["report"], ["html", "csv", "json"], spec.study.id)
            findings += list(checked)

        findings = relocate(findings, staging, opts.out_dir)
        summary = BuildSummary(study=spec.study.id, findings=findings, timings=timer.timings,
                               reconciliation=_recon_frame(recon, staging))
        for name, (df, purpose) in sorted(written.items(), key=lambda kv: (kv[1][1] != "Tabulation", kv[0])):
            key = "sdtm" if purpose == "Tabulation" else "adam"
            rel = (paths[key] / f"{name.lower()}.xpt").relative_to(staging).as_posix()
            summary.datasets.append(summarize_dataset(name, spec.datasets[name].label, purpose, df, rel))
        if opts.strict and error_findings(findings):
            return _refuse(staging, opts, findings, timer, console)
        write_build_report(summary, paths["report"])
        write_manifest(staging, unlisted=TIMING_FILES)
        promote(staging, opts.out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _print_summary(console, summary, opts.out_dir)
    return BuildResult(0, opts.out_dir, findings, timer.timings)


def _write_xpt_all(frames: Frames, spec: Spec, folder: Path, writer, findings: list[Finding]) -> dict:
    """Write each dataset the spec knows; a frame the spec does not describe is an error, not a silent drop."""
    out = {}
    for name in sorted(frames):
        ds = spec.datasets.get(name)
        if ds is None:
            findings.append(Finding(Severity.ERROR, "SF-BUILD-001", "dataset produced but not in the spec; not written",
                                    dataset=name))
            continue
        info = writer(frames[name], ds, spec.study, folder / f"{name.lower()}.xpt")
        findings.extend(info.findings)
        out[name] = (frames[name], ds.purpose)
    return out


def _recon_frame(recon, staging: Path) -> pd.DataFrame:
    from studyforge.report import RECON_COLUMNS

    df = recon.to_report_frame() if hasattr(recon, "to_report_frame") else pd.DataFrame(recon)
    if "file" in df.columns:
        prefix = str(staging.resolve()) + "/"
        df["file"] = df["file"].astype(str).str.removeprefix(prefix)
    return df.reindex(columns=[c for c in RECON_COLUMNS if c in df.columns] + [c for c in df.columns if c not in RECON_COLUMNS])


def _refuse(staging: Path, opts: BuildOptions, findings: list[Finding], timer: _Timer, console: Console) -> BuildResult:
    errors = error_findings(findings)
    for f in errors[:30]:
        console.print(str(f), markup=False)
    console.print(f"--strict: {len(errors)} error(s); nothing written to {opts.out_dir}.")
    shutil.rmtree(staging, ignore_errors=True)
    return BuildResult(1, opts.out_dir, findings, timer.timings)


def _print_summary(console: Console, summary, out_dir: Path) -> None:
    c = summary.counts()
    n_rec = sum(d.records for d in summary.datasets)
    console.print(f"[bold]{summary.study}[/bold]: {len(summary.datasets)} datasets, {n_rec} records; "
                  f"findings: {c['ERROR']} error(s), {c['WARNING']} warning(s), {c['NOTICE']} notice(s); "
                  f"{sum(summary.timings.values()):.1f} s -> {out_dir}")
    console.print(f"report: {out_dir / 'report' / 'index.html'}")
