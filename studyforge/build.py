"""`studyforge build`: raw exports -> SDTM -> ADaM -> XPT, Dataset-JSON, define.xml/html, validation, report.

The stages (simulate, SDTM, ADaM) are passed in by the composition root (cli.py), so this module
imports neither sdtm nor adam. Everything is built in a staging folder of its own beside the target
and moved into place at the end (studyforge.outdir): a failed or --strict-refused build never leaves
a partial package, and never writes into a folder that is not a studyforge package.
"""

from __future__ import annotations

import io
import time
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd
from rich.console import Console

from studyforge.dataset_writer import sort_by_keys
from studyforge.fileio import write_text_atomic
from studyforge.findings import Finding, Severity
from studyforge.outdir import Staging, check_out_dir
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
    results: Callable[..., list] | None = None      # (spec_dir, adam frames, out folder, study id, created, lineage)
    acrf: Callable[..., tuple] | None = None        # (raw_dir, spec) -> (aCRF layout, dataset labels)


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
        self.console.print(f"  {name:<28} {self.timings[name]:7.2f} s", markup=False, highlight=False)


def relocate(findings: list[Finding], staging: Staging) -> list[Finding]:
    """Name files as they will be after promotion: relative to the package root, not the staging folder;
    a message that mentions the staging folder names the target instead."""
    out = []
    for f in findings:
        file, message = staging.relative(f.file), staging.real(f.message)
        out.append(replace(f, file=file, message=message) if (file, message) != (f.file, f.message) else f)
    return out


def error_findings(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity is Severity.ERROR]


class Refused(Exception):
    """--strict found errors after a stage: the build stops and writes nothing."""

    def __init__(self, stage: str):
        super().__init__(stage)
        self.stage = stage


def build(opts: BuildOptions, stages: Stages, console: Console | None = None) -> BuildResult:
    """Run the whole chain into a staging folder; promote it unless --strict found errors.

    The output folder is checked before any work (see studyforge.outdir). Under --strict every stage
    that can report errors (SDTM, each writer, ADaM, define.xml, conformance) is a gate: the first
    gate with an error discards the staging folder. An OSError propagates (the CLI turns it into
    one line); the staging folder is removed either way.
    """
    console = console or Console(stderr=True, soft_wrap=True)
    check_out_dir(opts.out_dir, inputs=(opts.raw_dir, opts.study_dir))
    timer = _Timer(console)
    findings: list[Finding] = []
    with Staging(opts.out_dir) as staging:
        def gate(stage: str) -> None:
            if opts.strict and error_findings(findings):
                raise Refused(stage)

        try:
            summary, written = _run(opts, stages, staging, timer, findings, gate)
        except Refused as refused:
            found = relocate(findings, staging)
            _print_errors(console, found, None, f"--strict: {len(error_findings(found))} error(s) after "
                          f"{refused.stage}; nothing written to {opts.out_dir}.")
            return BuildResult(1, opts.out_dir, found, timer.timings)
        except OSError as exc:
            if exc.filename:
                exc.filename = staging.real(str(exc.filename))
            raise
        staging.commit()
    _print_summary(console, summary, opts.out_dir)
    return BuildResult(0, opts.out_dir, summary.findings, timer.timings)


def _run(opts: BuildOptions, stages: Stages, staging: Staging, timer: "_Timer", findings: list[Finding], gate):
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

    root = staging.path
    raw_dir = opts.raw_dir
    if raw_dir is None:
        raw_dir = confined(root, "raw")
        with timer.stage("simulate raw exports"):
            said = io.StringIO()
            with redirect_stdout(said):
                code = stages.simulate(opts.study_dir, subjects=opts.subjects, seed=opts.seed, out_dir=raw_dir)
            timer.console.print(staging.real(said.getvalue()).rstrip(), markup=False, highlight=False)
        if code:
            raise StageFailed(f"simulation failed with exit code {code}")

    with timer.stage("raw -> SDTM"):
        sdtm, sdtm_findings, recon, spec = stages.run_sdtm(raw_dir, opts.study_dir)
    findings += sdtm_findings
    paths = package_paths(root, spec.study.id)
    gate("raw -> SDTM")

    with timer.stage("write SDTM XPT"):
        written = _write_xpt_all(sdtm, spec, paths["sdtm"], write_dataset_xpt, findings)
    gate("write SDTM XPT")

    if spec.adam():
        with timer.stage("SDTM -> ADaM"):
            sdtm_back = stages.read_sdtm(paths["sdtm"])
            adam, adam_findings = stages.derive_adam(sdtm_back, spec)
    else:  # an SDTM-only study (no adam/ folder): said, not silent
        adam, adam_findings = {}, [Finding(Severity.NOTICE, "SF-BUILD-004", "no ADaM datasets in the spec (adam/); "
                                           "the ADaM stage and the Analysis define.xml are skipped")]
    findings += adam_findings
    gate("SDTM -> ADaM")

    with timer.stage("write ADaM XPT"):
        written.update(_write_xpt_all(adam, spec, paths["adam"], write_dataset_xpt, findings))
    gate("write ADaM XPT")

    if "json" in opts.formats:
        with timer.stage("write Dataset-JSON"):
            for name, (df, purpose) in sorted(written.items()):
                folder = paths["json_sdtm"] if purpose == "Tabulation" else paths["json_adam"]
                _attempt(findings, name, "Dataset-JSON",
                         lambda: write_spec_dataset_json(df, folder / f"{name.lower()}.json", spec, name))
        gate("write Dataset-JSON")

    acrf: dict = {}
    if stages.acrf is not None:
        from studyforge.acrf import write_acrf

        with timer.stage("annotated CRF"):
            lay, labels = stages.acrf(raw_dir, spec)
            write_acrf(lay, paths["sdtm"] / "acrf.pdf", spec.study.name, spec.study.title, spec.study.xpt_created,
                       labels)
            acrf = {"acrf": "acrf.pdf", "acrf_pages": lay.page_map()}

    with timer.stage("define.xml + define.html"):
        for purpose, key in (("Tabulation", "sdtm"), ("Analysis", "adam")):
            infos = {n: dataset_info_from_xpt(paths[key] / f"{n.lower()}.xpt")
                     for n, (_, p) in written.items() if p == purpose}
            extra = acrf if purpose == "Tabulation" else {}
            if infos:
                findings += _attempt(findings, "", f"{purpose} define.xml",
                                     lambda: write_define(spec, purpose, infos, paths[key], **extra)) or []
    gate("define.xml")

    lineage = recon.lineage_frame() if hasattr(recon, "lineage_frame") else None
    if lineage is not None:
        inside = str(root) + "/"
        lineage = lineage.assign(FILE=lineage["FILE"].astype(str).map(
            lambda p: p[len(inside):] if p.startswith(inside) else p))
        write_text_atomic(confined(root, "report/lineage.csv"), lineage.to_csv(index=False, lineterminator="\n"))
    if stages.results is not None:
        with timer.stage("endpoint results"):
            findings += stages.results(opts.study_dir, adam, confined(root, "results"), spec.study.id,
                                       spec.study.xpt_created, lineage)
        gate("endpoint results")

    if opts.validate:
        with timer.stage("conformance checks"):
            view = load_package(root, spec)
            checked = run_checks(view)
            write_reports(checked, all_rules(), paths["report"], ["html", "csv", "json"], spec.study.id)
        findings += list(checked)
        gate("conformance checks")

    found = relocate(findings, staging)
    summary = BuildSummary(study=spec.study.id, findings=found, timings=timer.timings,
                           reconciliation=_recon_frame(recon, root))
    for name, (df, purpose) in sorted(written.items(), key=lambda kv: (kv[1][1] != "Tabulation", kv[0])):
        key = "sdtm" if purpose == "Tabulation" else "adam"
        rel = (paths[key] / f"{name.lower()}.xpt").relative_to(root).as_posix()
        summary.datasets.append(summarize_dataset(name, spec.datasets[name].label, purpose, df, rel))
    write_build_report(summary, paths["report"])
    write_manifest(root, unlisted=TIMING_FILES, spec_dir=opts.study_dir)
    return summary, written


class StageFailed(RuntimeError):
    """A stage could not run at all (one line for the user)."""


def _attempt(findings: list[Finding], dataset: str, what: str, write):
    """Run one writer; a value it cannot write (ValueError) is an ERROR finding naming the dataset,
    and the other datasets are still written. I/O errors propagate."""
    try:
        return write()
    except ValueError as exc:
        findings.append(Finding(Severity.ERROR, "SF-BUILD-002", f"{what} not written: {exc}", dataset=dataset))
        return None


def _write_xpt_all(frames: Frames, spec: Spec, folder: Path, writer, findings: list[Finding]) -> dict:
    """Write each dataset the spec knows; a frame the spec does not describe is an error, not a silent drop."""
    out = {}
    for name in sorted(frames):
        ds = spec.datasets.get(name)
        if ds is None:
            findings.append(Finding(Severity.ERROR, "SF-BUILD-001", "dataset produced but not in the spec; not written",
                                    dataset=name))
            continue
        if len(frames[name]) == 0:  # FDA TCG: a dataset without records is not submitted
            findings.append(Finding(Severity.NOTICE, "SF-BUILD-003", "dataset has no records; not written "
                                    "(FDA Study Data Technical Conformance Guide: no empty datasets)", dataset=name))
            continue
        frame = sort_by_keys(frames[name], ds)
        info = _attempt(findings, name, f"{folder.name}/{name.lower()}.xpt",
                        lambda: writer(frame, ds, spec.study, folder / f"{name.lower()}.xpt"))
        if info is None:
            continue
        findings.extend(info.findings)
        out[name] = (frame, ds.purpose)
    return out


def _recon_frame(recon, root: Path) -> pd.DataFrame:
    from studyforge.report import RECON_COLUMNS

    df = recon.to_report_frame() if hasattr(recon, "to_report_frame") else pd.DataFrame(recon)
    if "file" in df.columns:
        prefix = str(root) + "/"
        df["file"] = df["file"].astype(str).str.removeprefix(prefix)
    return df.reindex(columns=[c for c in RECON_COLUMNS if c in df.columns] + [c for c in df.columns if c not in RECON_COLUMNS])


MAX_SHOWN = 10


def _shown(f: Finding, out_dir: Path | None) -> str:
    """The finding as one line, its file named where it really is (inside the package when it was written)."""
    if out_dir is not None and f.file and not Path(f.file).is_absolute() and (out_dir / f.file).exists():
        f = replace(f, file=str(out_dir / f.file))
    return str(f)


def _print_errors(console: Console, findings: list[Finding], out_dir: Path | None, closing: str) -> None:
    errors = error_findings(findings)
    for f in errors[:MAX_SHOWN]:
        console.print(_shown(f, out_dir), markup=False, highlight=False)
    if len(errors) > MAX_SHOWN:
        console.print(f"... and {len(errors) - MAX_SHOWN} more error(s)", markup=False, highlight=False)
    if closing:
        console.print(closing, markup=False, highlight=False)


def _print_summary(console: Console, summary, out_dir: Path) -> None:
    c = summary.counts()
    n_rec = sum(d.records for d in summary.datasets)
    if c["ERROR"]:
        console.print(f"top errors (all in {out_dir / 'report' / 'findings.csv'}):", markup=False, highlight=False)
        _print_errors(console, summary.findings, out_dir, "")
    console.print(f"{summary.study}: {len(summary.datasets)} datasets, {n_rec} records; "
                  f"findings: {c['ERROR']} error(s), {c['WARNING']} warning(s), {c['NOTICE']} notice(s); "
                  f"{sum(summary.timings.values()):.1f} s -> {out_dir}", markup=False, highlight=False)
    console.print(f"report: {out_dir / 'report' / 'index.html'}", markup=False, highlight=False)
