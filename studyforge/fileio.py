"""Safe writes: atomic (temp file + rename), with the user's umask, confined to an output root."""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator


class OutsideOutputError(ValueError):
    """A write was asked for outside the output folder."""


def confined(root: Path | str, relative: Path | str) -> Path:
    """The path of `relative` under `root`, refusing anything that escapes it (.., absolute, symlinks)."""
    root_r = Path(root).resolve()
    target = (root_r / relative).resolve()
    if target != root_r and root_r not in target.parents:
        raise OutsideOutputError(f"refusing to write {relative!s}: outside output folder {root_r}")
    return target


def _located(exc: OSError, path: Path) -> OSError:
    """The same OS error, naming the file the user asked for (a write error alone names nothing)."""
    if exc.filename is not None and not str(exc.filename).endswith(".tmp"):
        return exc
    return type(exc)(exc.errno, exc.strerror or str(exc), str(path))


def _create_temp(path: Path) -> tuple[int, Path]:
    """A new file beside `path`, created with mode 0666 so the kernel applies the user's umask
    (tempfile.mkstemp would make it 0600 and colleagues could not read the package)."""
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{path}: could not create a temporary file beside it")


@contextmanager
def atomic_open(path: Path | str, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """Open a temporary file beside `path`; rename it over `path` only if the block succeeds.

    An OSError (no space, no permission) names `path`, not the temporary file.
    """
    path = Path(path)
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_temp(path)
        with os.fdopen(fd, mode, encoding=encoding, newline="" if "b" not in mode else None) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        if isinstance(exc, OSError) and _located(exc, path) is not exc:
            raise _located(exc, path) from exc
        raise


def write_bytes_atomic(path: Path | str, data: bytes) -> None:
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def write_text_atomic(path: Path | str, text: str) -> None:
    with atomic_open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
