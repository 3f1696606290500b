"""studyforge.outdir and fileio: unique staging folders, clean-up after killed runs, umask, located OS errors."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from studyforge import fileio
from studyforge.manifest import write_manifest
from studyforge.outdir import OutDirError, Staging, check_out_dir, clean_stale


def staging_folders(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".staging" in p.name)


def test_two_runs_at_once_stage_in_different_folders(tmp_path):
    target = tmp_path / "pkg"
    with Staging(target) as a, Staging(target) as b:
        assert a.path != b.path and a.path.parent == b.path.parent == tmp_path
        assert len(staging_folders(tmp_path)) == 2          # neither run cleans up the other (both alive)
    assert staging_folders(tmp_path) == []                   # not committed: both removed


def test_concurrent_commits_leave_one_complete_package(tmp_path):
    target = tmp_path / "pkg"
    errors = []

    def one(tag: str) -> None:
        try:
            with Staging(target) as st:
                for i in range(20):
                    (st.path / f"f{i}.txt").write_text(tag)
                write_manifest(st.path)
                st.commit()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(t,)) for t in "abcd"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    contents = {p.read_text() for p in target.glob("f*.txt")}
    assert len(contents) == 1 and len(list(target.glob("f*.txt"))) == 20   # one run's files, all of them
    assert staging_folders(tmp_path) == []


def _killed_run(target: Path, *, during_swap: bool = False) -> None:
    """A child process that stages (and optionally starts the swap) and dies without cleaning up."""
    code = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from studyforge.outdir import Staging
        st = Staging(Path({str(target)!r}))
        (st.path / "half.txt").write_text("half a package")
        if {during_swap!r}:
            Path({str(target)!r}).rename(str(st.path) + ".old")   # the swap's first step, then death
        os._exit(9)
    """)
    subprocess.run([sys.executable, "-c", code], check=False, cwd=Path(__file__).resolve().parents[1])


def test_a_killed_run_leaves_no_staging_folder_after_the_next_run(tmp_path):
    target = tmp_path / "pkg"
    _killed_run(target)
    assert len(staging_folders(tmp_path)) == 1               # the dead run's folder, lock released
    (tmp_path / ".pkg.staging").mkdir()                      # the fixed name earlier versions used
    with Staging(target) as st:
        assert staging_folders(tmp_path) == [st.path.name]   # only this run's own folder
    assert staging_folders(tmp_path) == []


def test_a_run_killed_during_the_swap_gets_the_previous_package_back(tmp_path):
    target = tmp_path / "pkg"
    target.mkdir()
    (target / "manifest.json").write_text('{"manifest_version": 1, "files": []}')
    _killed_run(target, during_swap=True)
    assert not target.exists()
    clean_stale(target)
    assert (target / "manifest.json").is_file() and staging_folders(tmp_path) == []


def test_check_out_dir_rules(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert check_out_dir(tmp_path / "new") == tmp_path / "new"
    (tmp_path / "empty").mkdir()
    assert check_out_dir("empty") == tmp_path / "empty"
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "x.txt").write_text("x")
    with pytest.raises(OutDirError, match="not empty"):
        check_out_dir(pkg)
    write_manifest(pkg)
    assert check_out_dir(pkg) == pkg
    (pkg / "manifest.json").write_text('{"forms": {}}')     # someone else's manifest.json is not ours
    with pytest.raises(OutDirError, match="not empty"):
        check_out_dir(pkg)
    for bad in (".", "..", str(tmp_path)):
        with pytest.raises(OutDirError, match="working folder"):
            check_out_dir(bad)
    with pytest.raises(OutDirError, match="is a file"):
        check_out_dir(pkg / "x.txt")


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_atomic_write_honours_umask(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        fileio.write_text_atomic(tmp_path / "a.txt", "x")
        fileio.write_bytes_atomic(tmp_path / "b.bin", b"x")
        st = Staging(tmp_path / "pkg")
        dir_mode = stat.S_IMODE(st.path.stat().st_mode)
        st.discard()
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "b.bin").stat().st_mode) == mode
    assert dir_mode == 0o777 & ~mask


def test_write_error_names_the_target_and_leaves_no_temp_file(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.os, "fsync", full)
    with pytest.raises(OSError) as exc:
        fileio.write_text_atomic(tmp_path / "dm.xpt", "x")
    assert exc.value.errno == errno.ENOSPC and exc.value.filename == str(tmp_path / "dm.xpt")
    assert list(tmp_path.iterdir()) == []
