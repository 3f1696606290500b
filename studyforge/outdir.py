"""Where studyforge may write, and how a package reaches it without ever being half-written.

* `check_out_dir`: studyforge writes only into a folder that is missing, empty, or one of its own
  packages (it has the package manifest). Anything else (the working folder, a folder of the
  user's files, a file) is refused before any work starts.
* `Staging`: each run builds in its own uniquely named folder beside the target, holding an
  advisory lock (flock) on it while it lives. `commit` swaps the finished folder into place; a run
  that fails or is refused removes its folder. A run that was killed leaves its folder behind,
  unlocked: the next run beside the same target removes it (and puts back a previous package
  a kill during the swap had moved aside).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

try:  # POSIX; elsewhere a staging folder counts as alive while its owner's pid exists
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

from studyforge.manifest import LOCK_NAME, MANIFEST_NAME

SIMULATOR = "studyforge simulate"


class OutDirError(ValueError):
    """The output folder is not one studyforge may write into (one line for the user)."""


# --- what may be written -------------------------------------------------------------------

def _manifest(folder: Path) -> dict | None:
    try:
        doc = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def is_package(folder: Path) -> bool:
    """A studyforge package: its manifest.json is the one `studyforge.manifest` writes."""
    doc = _manifest(folder)
    return bool(doc) and "manifest_version" in doc and "files" in doc


def is_simulated_raw(folder: Path) -> bool:
    """A folder `studyforge simulate` wrote (its raw manifest names the generator)."""
    doc = _manifest(folder)
    return bool(doc) and doc.get("generator") == SIMULATOR


def check_out_dir(out_dir: Path | str, *, option: str = "--out", inputs: tuple[Path | None, ...] = (),
                  accept=is_package, kind: str = "a studyforge package (one with its manifest.json)") -> Path:
    """The resolved output folder, or OutDirError when studyforge must not write there.

    `inputs` (raw folder, spec folder) must not lie inside it: the run replaces the folder.
    """
    out = Path(out_dir).expanduser()
    target = out.resolve()
    cwd = Path.cwd().resolve()
    if target == cwd or target in cwd.parents:
        raise OutDirError(f"{option} {out}: refusing to write into the working folder or one that contains it; "
                          f"name a new folder, e.g. {option} output/palace")
    if target.exists() and not target.is_dir():
        raise OutDirError(f"{option} {out}: is a file, not a folder; name a new folder")
    if target.is_dir() and any(target.iterdir()) and not accept(target):
        raise OutDirError(f"{option} {out}: folder is not empty and is not {kind}; "
                          f"refusing to write (name a new or empty folder)")
    for given in inputs:
        if given is None:
            continue
        g = Path(given).resolve()
        if g == target or target in g.parents:
            raise OutDirError(f"{option} {out}: contains the input {given}, which the run would replace; "
                              f"move the input or name another output folder")
    return target


# --- staging ---------------------------------------------------------------------------------

@contextmanager
def _dir_lock(folder: Path) -> Iterator[None]:
    """Serialize staging creation, stale clean-up and the final swap among runs beside one target."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _owner_alive(staging: Path) -> bool:
    lock = staging / LOCK_NAME
    if fcntl is None:  # pragma: no cover
        try:
            os.kill(int(lock.read_text().strip()), 0)
        except (OSError, ValueError):
            return False
        return True
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def _prefix(target: Path) -> str:
    return f".{target.name}.staging-"


def clean_stale(target: Path) -> list[Path]:
    """Remove the staging folders of dead runs beside `target`; return what was removed.

    A previous package that a killed swap had moved aside (`<staging>.old`) goes back into place
    when the target is missing, and is removed otherwise. Caller holds the parent's lock.
    """
    removed = []
    parent = target.parent
    if not parent.is_dir():
        return removed
    for p in sorted(parent.iterdir()):
        if not p.name.startswith(_prefix(target)) or not p.is_dir():
            continue
        if p.name.endswith(".old"):
            if (parent / p.name[:-4]).exists() and _owner_alive(parent / p.name[:-4]):
                continue
            if not target.exists():
                p.rename(target)
                continue
        elif _owner_alive(p):
            continue
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    legacy = parent / f".{target.name}.staging"  # the fixed name of earlier versions
    if legacy.is_dir():
        shutil.rmtree(legacy, ignore_errors=True)
        removed.append(legacy)
    return removed


class Staging:
    """A unique, locked folder beside `target` in which one run writes its package."""

    def __init__(self, target: Path | str):
        self.target = Path(target).resolve()
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = None
        with _dir_lock(self.target.parent):
            clean_stale(self.target)
            while True:
                self.path = self.target.parent / f"{_prefix(self.target)}{os.getpid()}-{secrets.token_hex(4)}"
                try:
                    os.mkdir(self.path, 0o777)   # the user's umask applies, as for every file written
                    break
                except FileExistsError:  # pragma: no cover
                    continue
            lock = self.path / LOCK_NAME
            self._fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
            if fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            os.write(self._fd, f"{os.getpid()}\n".encode())

    def seed_from(self, package: Path, *, leave_out: tuple[str, ...] = ()) -> None:
        """Start from an existing package (hard links, so nothing is copied): the parts a run
        rewrites are left out (relative POSIX paths of folders or files)."""
        package = Path(package)
        if not is_package(package):
            return
        for src in sorted(package.rglob("*")):
            rel = src.relative_to(package).as_posix()
            if any(rel == x or rel.startswith(x.rstrip("/") + "/") for x in leave_out) or src.is_symlink():
                continue
            dst = self.path / rel
            if src.is_dir():
                dst.mkdir(parents=True, exist_ok=True)
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)

    def relative(self, path: Path | str) -> str:
        """`path` relative to the package root when it lies in the staging folder, else unchanged."""
        text = str(path)
        prefix = str(self.path) + os.sep
        return text[len(prefix):] if text.startswith(prefix) else text

    def real(self, text: str) -> str:
        """Any mention of the staging folder in `text` replaced by the target (the path after commit)."""
        return text.replace(str(self.path), str(self.target))

    def commit(self) -> Path:
        """Put the finished folder in place of the target (the previous package is kept aside until then)."""
        with _dir_lock(self.target.parent):
            (self.path / LOCK_NAME).unlink()
            old = Path(str(self.path) + ".old")
            if self.target.exists():
                self.target.rename(old)
            self.path.rename(self.target)
            self._release()
            shutil.rmtree(old, ignore_errors=True)
        return self.target

    def discard(self) -> None:
        """Remove the staging folder (a failed or refused run leaves nothing behind)."""
        shutil.rmtree(self.path, ignore_errors=True)
        self._release()

    def _release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "Staging":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._fd is not None:   # not committed: whatever happened, leave nothing behind
            self.discard()
