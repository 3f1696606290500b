"""Issue 12 at the command line: nothing silent, no user file touched, one line per failure.

The chain runs on the small hand-made study of tests/conform/builder.py (two subjects): the SDTM
and ADaM stages are replaced by functions that return those frames, so every test exercises the
real output-folder handling, writers, define.xml, conformance checks, report and manifest in seconds.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from studyforge import fileio
from studyforge.cli import main
from studyforge.findings import Finding, Severity
from studyforge.manifest import verify_manifest
from tests.conform.builder import adam_frames, make_spec, sdtm_frames
from tests.conform.test_command import write_spec

SDTM = "m5/datasets/palace/tabulations/sdtm"
ADAM = "m5/datasets/palace/analysis/adam/datasets"


@pytest.fixture()
def study(tmp_path, monkeypatch):
    """A spec folder, a raw folder, and the SDTM/ADaM stages replaced by the hand-made frames."""
    s, a = sdtm_frames(), adam_frames()
    spec = make_spec(s, a)
    spec_dir = write_spec(spec, tmp_path / "spec")
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "ae.csv").write_text("SUBJID,AETERM\n101-001,Nausea\n101-002,ND\n", encoding="utf-8")
    extra: list[Finding] = []

    class Recon:   # what sdtm.context.Reconciliation offers the commands
        def to_report_frame(self):
            return pd.DataFrame({"form": ["ae"], "file": [str(raw / "ae.csv")], "records_in": [2], "dataset": ["AE"],
                                 "records_out": [2], "not_mapped": [0], "reason": [""]})

        def to_dict(self):
            return {"forms": {"ae": 2}}

    def run_sdtm(raw_dir, spec_dir_):
        return {k: v.copy() for k, v in s.items()}, list(extra), Recon(), spec

    def derive_adam(frames, spec_):
        return {k: v.copy() for k, v in a.items()}, []

    monkeypatch.setattr("sdtm.command.run_sdtm", run_sdtm)
    monkeypatch.setattr("adam.pipeline.derive_adam", derive_adam)
    monkeypatch.setattr("adam.command.derive_adam", derive_adam)
    return {"spec": spec_dir, "raw": raw, "extra": extra, "root": tmp_path}


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def build(study, out: Path, *extra: str):
    return run("build", "--spec", study["spec"], "--raw", study["raw"], "--out", out, *extra)


def one_error_line(res) -> str:
    lines = [ln for ln in res.output.splitlines() if "error" in ln.lower()]
    assert len(lines) == 1, res.output
    assert "Traceback" not in res.output
    return lines[0]


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def no_staging_left(parent: Path) -> bool:
    return not [p for p in parent.iterdir() if ".staging" in p.name]


# --- --out: only empty, missing or studyforge folders --------------------------------------------

def test_out_refuses_working_folder_file_and_foreign_folder(study, tmp_path, monkeypatch):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my work")
    monkeypatch.chdir(mine)
    a_file = tmp_path / "data.csv"
    a_file.write_text("x\n1\n")
    for out in (".", str(mine), str(a_file), str(tmp_path)):
        res = build(study, Path(out))
        assert res.exit_code == 2, res.output
        assert "--out" in one_error_line(res)
    assert (mine / "notes.txt").read_text() == "my work" and a_file.read_text() == "x\n1\n"
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"] and no_staging_left(tmp_path)
    monkeypatch.chdir(tmp_path.parent)
    for cmd in (["sdtm", "--raw", study["raw"], "--spec", study["spec"], "--out", mine],
                ["adam", "--sdtm", study["raw"], "--spec", study["spec"], "--out", mine],
                ["simulate", "--subjects", "2", "--out", mine]):
        res = run(*cmd)
        assert res.exit_code == 2 and "not empty" in one_error_line(res), (cmd, res.output)
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


def test_out_inputs_inside_the_target_are_refused(study, tmp_path):
    pkg = tmp_path / "pkg"
    assert build(study, pkg).exit_code == 0
    raw_inside = pkg / "raw"
    raw_inside.mkdir()
    (raw_inside / "ae.csv").write_text("SUBJID\n1\n")
    res = run("build", "--spec", study["spec"], "--raw", raw_inside, "--out", pkg)
    assert res.exit_code == 2 and "contains the input" in one_error_line(res)
    assert (raw_inside / "ae.csv").is_file()


def test_out_accepts_missing_empty_and_own_package_and_replaces_it(study, tmp_path):
    (tmp_path / "empty").mkdir()
    assert build(study, tmp_path / "empty").exit_code == 0
    pkg = tmp_path / "new" / "pkg"
    assert build(study, pkg).exit_code == 0
    (pkg / "stale.txt").write_text("from an earlier build")
    res = build(study, pkg)
    assert res.exit_code == 0, res.output
    assert not (pkg / "stale.txt").exists() and verify_manifest(pkg) == []
    assert no_staging_left(pkg.parent)


def test_files_are_written_with_the_users_umask(study, tmp_path):
    old = os.umask(0o027)
    try:
        assert build(study, tmp_path / "pkg").exit_code == 0
    finally:
        os.umask(old)
    pkg = tmp_path / "pkg"
    for rel in ("manifest.json", f"{SDTM}/dm.xpt", f"{SDTM}/define.xml", "report/index.html", "json/sdtm/dm.json"):
        assert stat.S_IMODE((pkg / rel).stat().st_mode) == 0o640, rel     # 0666 & ~0027
    assert stat.S_IMODE(pkg.stat().st_mode) == 0o750 and stat.S_IMODE((pkg / SDTM).stat().st_mode) == 0o750


# --- I/O errors: one line naming the real file, exit 2, nothing left ------------------------------

def _fail_xpt(monkeypatch, exc_for):
    real = fileio._create_temp

    def create(path):
        if path.suffix == ".xpt":
            return exc_for(path)
        return real(path)

    monkeypatch.setattr(fileio, "_create_temp", create)


def test_full_disk_is_one_line_with_the_real_path(study, tmp_path, monkeypatch):
    def dev_full(path):   # writes reach a device that is always full: a real ENOSPC at flush
        return os.open("/dev/full", os.O_WRONLY), path.parent / f".{path.name}.x.tmp"

    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    _fail_xpt(monkeypatch, dev_full)
    out = tmp_path / "pkg"
    res = build(study, out)
    assert res.exit_code == 2
    line = one_error_line(res)
    assert "No space left on device" in line and f"{out}/{SDTM}/" in line and ".staging" not in line
    assert not out.exists() and no_staging_left(tmp_path)
    debug = run("--debug", "build", "--spec", study["spec"], "--raw", study["raw"], "--out", out)
    assert isinstance(debug.exception, OSError) and debug.exception.errno == errno.ENOSPC   # the traceback
    assert no_staging_left(tmp_path)


def test_unwritable_output_is_one_line(study, tmp_path, monkeypatch):
    def denied(path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    _fail_xpt(monkeypatch, denied)
    res = build(study, tmp_path / "pkg")
    assert res.exit_code == 2 and "Permission denied" in one_error_line(res)
    assert no_staging_left(tmp_path)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores folder permissions")
def test_unwritable_folder_by_chmod_is_one_line(study, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        res = build(study, locked / "pkg")
        assert res.exit_code == 2 and "Permission denied" in one_error_line(res)
    finally:
        locked.chmod(0o755)


def test_spec_error_and_bad_option_are_one_line(study, tmp_path):
    bad = tmp_path / "badspec"
    bad.mkdir()
    (bad / "study.yaml").write_text("study: [unclosed\n")
    res = run("adam", "--sdtm", study["raw"], "--spec", bad, "--out", tmp_path / "o")
    assert res.exit_code == 2 and "Traceback" not in res.output and "study.yaml" in res.output
    res = build(study, tmp_path / "o", "--format", "pdf")
    assert res.exit_code == 2 and "--format" in one_error_line(res)
    res = build(study, tmp_path / "o", "--subjects", "5")      # --subjects means nothing with --raw: said
    assert res.exit_code == 2 and "--subjects" in one_error_line(res)
    res = run("compare", study["raw"] / "ae.csv", study["raw"] / "ae.csv", "--by", "SUBJID", "--tolerance", "x")
    assert res.exit_code == 2 and "--tolerance" in one_error_line(res)


# --- --strict: a gate after every stage, writers included -----------------------------------------

def test_strict_writer_error_leaves_no_partial_package(study, tmp_path, monkeypatch):
    from studyforge import datasetjson

    def broken(df, path, spec, name):
        raise ValueError(f"{name}: a value Dataset-JSON cannot hold")

    monkeypatch.setattr(datasetjson, "write_spec_dataset_json", broken)
    pkg = tmp_path / "pkg"
    res = build(study, pkg, "--strict")
    assert res.exit_code == 1 and "write Dataset-JSON" in res.output and "SF-BUILD-002" in res.output
    assert not pkg.exists() and no_staging_left(tmp_path)
    monkeypatch.undo()


def test_strict_refusal_keeps_the_previous_package(study, tmp_path, monkeypatch):
    pkg = tmp_path / "pkg"
    assert build(study, pkg).exit_code == 0
    before = tree(pkg)
    study["extra"].append(Finding(Severity.ERROR, "SD0001", "not a number", file=str(study["raw"] / "ae.csv"),
                                  line=3, field="AETERM", value="ND"))
    res = build(study, pkg, "--strict")
    assert res.exit_code == 1 and f"{study['raw']}/ae.csv:3" in res.output
    assert tree(pkg) == before and no_staging_left(tmp_path)


def test_writer_error_without_strict_is_a_located_finding(study, tmp_path, monkeypatch):
    import studyforge.dataset_writer as dw

    real = dw.write_dataset_xpt

    def picky(df, ds, st, path):
        if ds.name == "AE":
            raise ValueError("value 'é' at row 2 is not ASCII")
        return real(df, ds, st, path)

    monkeypatch.setattr(dw, "write_dataset_xpt", picky)
    res = build(study, tmp_path / "pkg")
    assert res.exit_code == 0
    rows = pd.read_csv(tmp_path / "pkg" / "report" / "findings.csv", keep_default_na=False)
    hit = rows[rows["rule"] == "SF-BUILD-002"]
    assert list(hit["dataset"]) == ["AE"] and "row 2" in hit["message"].iloc[0]
    assert (tmp_path / "pkg" / SDTM / "dm.xpt").is_file() and not (tmp_path / "pkg" / SDTM / "ae.xpt").exists()


# --- build summary: top errors with their real paths, no wrapping off a terminal --------------------

def test_summary_lists_top_errors_with_real_paths_and_does_not_wrap(study, tmp_path, monkeypatch):
    def simulate(study_dir, *, subjects, seed, out_dir, overrides):
        Path(out_dir).mkdir(parents=True)
        (Path(out_dir) / "ae.csv").write_text("SUBJID,AESTDTC\n101-001,2021-13-45\n")
        print(f"simulated 2 subjects -> {out_dir}")
        return 0

    monkeypatch.setattr("sdtm.simulate.command.simulate_command", simulate)
    s, a = sdtm_frames(), adam_frames()
    spec = make_spec(s, a)

    def run_sdtm(raw_dir, spec_dir):   # a located finding on the simulated raw file (inside the staging folder)
        f = Finding(Severity.ERROR, "SD0002", "impossible date", file=str(Path(raw_dir) / "ae.csv"), line=2,
                    field="AESTDTC", value="2021-13-45")
        return dict(s), [f], pd.DataFrame(), spec

    monkeypatch.setattr("sdtm.command.run_sdtm", run_sdtm)
    out = tmp_path / ("a-rather-long-folder-name-so-that-the-summary-line-is-longer-than-eighty-columns" * 2) / "pkg"
    res = run("build", "--spec", study["spec"], "--out", out)
    assert res.exit_code == 0, res.output
    assert ".staging" not in res.output
    assert f"ERROR SD0002 {out}/raw/ae.csv:2" in res.output and (out / "raw" / "ae.csv").is_file()
    assert f"simulated 2 subjects -> {out}/raw" in res.output
    summary = [ln for ln in res.output.splitlines() if ln.startswith("PALACE:")]
    assert len(summary) == 1 and summary[0].endswith(f"-> {out}")
    rows = pd.read_csv(out / "report" / "findings.csv", keep_default_na=False)
    assert "raw/ae.csv" in set(rows["file"])           # relative to the package root in the report


# --- validate: the recorded spec, no writes, bare folders ----------------------------------------

def test_validate_reads_recorded_spec_writes_nothing_and_agrees_with_build(study, tmp_path):
    pkg = tmp_path / "pkg"
    assert build(study, pkg).exit_code == 0
    recorded = json.loads((pkg / "manifest.json").read_text())["spec"]
    assert recorded["path"] == str(study["spec"].resolve())
    before = tree(pkg)
    res = run("validate", pkg, "--report", tmp_path / "rep")
    assert res.exit_code == 0, res.output
    assert "recorded in the package manifest" in res.output
    assert tree(pkg) == before and verify_manifest(pkg) == []
    for fmt in ("csv", "json", "html"):       # the findings the build reported, byte for byte
        assert (tmp_path / "rep" / f"validation.{fmt}").read_bytes() == (pkg / "report" / f"validation.{fmt}").read_bytes()
    plain = run("validate", pkg)
    assert plain.exit_code == 0 and "wrote" not in plain.output and tree(pkg) == before


def test_validate_accepts_bare_sdtm_and_adam_folders(study, tmp_path):
    import shutil

    pkg = tmp_path / "pkg"
    assert build(study, pkg).exit_code == 0
    bare = tmp_path / "bare_sdtm"
    shutil.copytree(pkg / SDTM, bare)
    res = run("validate", bare, "--spec", study["spec"])
    assert res.exit_code == 0 and "(SDTM)" in res.output
    assert "no DM dataset" not in res.output and "0 error(s)" in res.output, res.output
    res = run("validate", pkg / ADAM)   # inside the package: the recorded spec, ADaM rules only
    assert res.exit_code == 0 and "(ADaM)" in res.output and "0 error(s)" in res.output, res.output


# --- compare --------------------------------------------------------------------------------------

def test_compare_itself_with_repeated_by_values_is_equal(tmp_path):
    df = pd.DataFrame({"USUBJID": ["P-1", "P-1", "P-2"], "VISIT": ["V1", "V1", "V1"], "AVAL": [1.0, 2.0, 3.0]})
    df.to_csv(tmp_path / "lb.csv", index=False)
    res = run("compare", tmp_path / "lb.csv", tmp_path / "lb.csv", "--by", "USUBJID,VISIT")
    assert res.exit_code == 0, res.output
    assert "WARNING: 1 key value(s) occur more than once" in res.output and "All values compared are equal" in res.output


def test_compare_names_both_sides_when_files_share_a_name(tmp_path):
    for side, v in (("qc", 1.0), ("prod", 2.0)):
        (tmp_path / side).mkdir()
        pd.DataFrame({"USUBJID": ["P-1"], "AVAL": [v]}).to_csv(tmp_path / side / "adsl.csv", index=False)
    res = run("compare", tmp_path / "prod" / "adsl.csv", tmp_path / "qc" / "adsl.csv", "--by", "USUBJID")
    assert res.exit_code == 1
    assert f"Comparison of {tmp_path}/prod/adsl.csv with {tmp_path}/qc/adsl.csv" in res.output
    res = run("compare", tmp_path / "prod" / "adsl.csv", tmp_path / "qc" / "adsl.csv", "--by", "USUBJID",
              "--report", tmp_path / "qc" / "adsl.csv")
    assert res.exit_code == 2 and (tmp_path / "qc" / "adsl.csv").read_text().startswith("USUBJID")


# --- options mean the same everywhere; commands work from any folder ------------------------------

def test_bundled_spec_is_found_from_any_working_folder(tmp_path, monkeypatch):
    from studyforge.cli import default_spec_dir

    monkeypatch.chdir(tmp_path)
    spec = default_spec_dir()
    assert spec.is_absolute() and (spec / "study.yaml").is_file()
    res = run("spec", "check", spec)
    assert res.exit_code == 0, res.output


def test_missing_bundled_spec_is_a_clear_error(tmp_path, monkeypatch):
    import studyforge

    monkeypatch.setattr(studyforge, "__file__", str(tmp_path / "site-packages" / "studyforge" / "__init__.py"))
    res = run("build", "--out", tmp_path / "pkg")
    assert res.exit_code == 2 and "pass --spec DIR" in one_error_line(res)


def test_sdtm_and_adam_out_both_mean_the_package_root(study, tmp_path):
    pkg = tmp_path / "pkg"
    res = run("sdtm", "--raw", study["raw"], "--study", study["spec"], "--out", pkg)   # --study: alias of --spec
    assert res.exit_code == 0, res.output
    res = run("adam", "--sdtm", pkg, "--spec", study["spec"], "--out", pkg)
    assert res.exit_code == 0, res.output
    assert (pkg / SDTM / "dm.xpt").is_file() and (pkg / ADAM / "adsl.xpt").is_file()
    assert verify_manifest(pkg) == [] and "spec" in json.loads((pkg / "manifest.json").read_text())
    res = run("sdtm", "--raw", study["raw"], "--spec", study["spec"], "--out", pkg)   # rerun keeps ADaM, says so
    assert res.exit_code == 0 and (pkg / ADAM / "adsl.xpt").is_file() and verify_manifest(pkg) == []
    assert "run `studyforge adam` again" in res.output


def test_rerunning_a_stage_drops_the_whole_package_outputs_it_makes_stale(study, tmp_path):
    pkg = tmp_path / "pkg"
    assert build(study, pkg).exit_code == 0
    assert (pkg / "json" / "sdtm" / "dm.json").is_file() and (pkg / "report" / "validation.csv").is_file()
    assert run("adam", "--sdtm", pkg, "--spec", study["spec"], "--out", pkg).exit_code == 0
    assert not (pkg / "json" / "adam").exists() and not (pkg / "report" / "validation.csv").exists()
    assert (pkg / "json" / "sdtm" / "dm.json").is_file()
    assert run("sdtm", "--raw", study["raw"], "--spec", study["spec"], "--out", pkg).exit_code == 0
    assert not (pkg / "json" / "sdtm").exists() and (pkg / "report" / "sdtm_findings.csv").is_file()
    assert verify_manifest(pkg) == []
