"""The package manifest: every file of a submission package with its size and SHA-256.

A reviewer (or the next build) can prove that what was delivered is what was built: same files,
same bytes. Deterministic: sorted by relative POSIX path, no timestamps, so two builds of the
same files give identical manifest bytes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from studyforge.fileio import write_bytes_atomic

MANIFEST_NAME = "manifest.json"
LOCK_NAME = ".studyforge.lock"   # a running build's lock file in its staging folder, never part of the package
_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks (XPT files can be large)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def manifest_entries(package_dir: Path | str, *, exclude: tuple[str, ...] = (MANIFEST_NAME,)) -> list[dict[str, Any]]:
    """One entry per regular file under `package_dir` (symlinks and temp files of atomic writes skipped)."""
    root = Path(package_dir)
    if not root.is_dir():
        raise NotADirectoryError(f"{root}: not a folder")
    out = []
    for p in root.rglob("*"):
        if p.is_symlink() or not p.is_file():
            continue
        rel = p.relative_to(root).as_posix()
        if rel in exclude or rel == LOCK_NAME or (p.name.startswith(".") and p.name.endswith(".tmp")):
            continue
        out.append({"path": rel, "size": p.stat().st_size, "sha256": file_sha256(p)})
    out.sort(key=lambda e: e["path"])
    return out


def spec_fingerprint(spec_dir: Path | str) -> str:
    """SHA-256 over the spec's YAML files (relative path and content), to tell whether a spec changed."""
    root = Path(spec_dir)
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.yaml")):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + file_sha256(p).encode() + b"\n")
    return h.hexdigest()


def write_manifest(package_dir: Path | str, *, unlisted: tuple[str, ...] = (), spec_dir: Path | str | None = None) -> Path:
    """Write PACKAGE_DIR/manifest.json (excluding itself) and return its path.

    `unlisted`: relative paths deliberately left out (files that carry wall-clock timings and so
    differ between otherwise identical builds); they are named in the manifest so nothing is hidden.
    `spec_dir`: the spec that built the package, recorded (path and fingerprint) so that
    `studyforge validate` checks against the same spec by default.
    """
    root = Path(package_dir)
    entries = manifest_entries(root, exclude=(MANIFEST_NAME, *unlisted))
    doc = {"manifest_version": 1, "algorithm": "sha256", "files": entries}
    if unlisted:
        doc["unlisted"] = sorted(unlisted)
    if spec_dir is not None:
        doc["spec"] = {"path": str(Path(spec_dir).resolve()), "sha256": spec_fingerprint(spec_dir)}
    path = root / MANIFEST_NAME
    write_bytes_atomic(path, (json.dumps(doc, indent=1, ensure_ascii=True) + "\n").encode("ascii"))
    return path


def recorded_spec(package_dir: Path | str) -> dict | None:
    """The spec a package records it was built from ({path, sha256}), or None."""
    try:
        doc = json.loads((Path(package_dir) / MANIFEST_NAME).read_text(encoding="ascii"))
    except (OSError, ValueError):
        return None
    spec = doc.get("spec") if isinstance(doc, dict) else None
    return spec if isinstance(spec, dict) and "path" in spec else None


def verify_manifest(package_dir: Path | str) -> list[str]:
    """Differences between the package and its manifest (missing, extra, changed files); empty when they agree."""
    root = Path(package_dir)
    doc = json.loads((root / MANIFEST_NAME).read_text(encoding="ascii"))
    listed = {e["path"]: e for e in doc["files"]}
    actual = {e["path"]: e for e in manifest_entries(root, exclude=(MANIFEST_NAME, *doc.get("unlisted", ())))}
    problems = [f"missing: {p}" for p in sorted(listed.keys() - actual.keys())]
    problems += [f"not in manifest: {p}" for p in sorted(actual.keys() - listed.keys())]
    problems += [f"changed: {p} (sha256 {listed[p]['sha256'][:12]}... -> {actual[p]['sha256'][:12]}...)"
                 for p in sorted(listed.keys() & actual.keys()) if listed[p]["sha256"] != actual[p]["sha256"]]
    return problems
