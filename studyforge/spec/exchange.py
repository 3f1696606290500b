"""`studyforge spec import|export`: sponsors' metadata in and out (P21 workbooks, define.xml)."""

from __future__ import annotations

import sys
from pathlib import Path

from .loader import SpecError, load_spec


def _empty_target(out_dir: Path) -> str | None:
    """Why out_dir cannot take a new spec (None when it can): it must be missing or empty."""
    if out_dir.exists() and not out_dir.is_dir():
        return f"{out_dir} is a file; give a folder for the spec"
    if out_dir.is_dir() and any(out_dir.iterdir()):
        return f"{out_dir} is not empty; studyforge writes a new spec only into a missing or empty folder"
    return None


def _write(spec, out_dir: Path, notices: list[str]) -> int:
    from .p21 import write_spec_folder

    for n in notices:
        print(f"NOTICE {n}", file=sys.stderr)
    written = write_spec_folder(spec, out_dir)
    try:
        load_spec(out_dir)
    except SpecError as exc:  # the skeleton needs the author's work before it is a valid spec
        print(f"note: the written spec does not pass the loader yet:\n{exc}", file=sys.stderr)
    print(f"wrote {len(written)} spec files to {out_dir}", file=sys.stderr)
    return 0


def import_p21_command(workbook: Path, out_dir: Path) -> int:
    from .p21 import P21Error, import_p21

    def read():
        try:
            result = import_p21(workbook)
        except P21Error as exc:
            raise _ImportFailed(exc.problems) from None
        return result.spec, result.notices
    return _import(read, out_dir)


def export_p21_command(spec_dir: Path, workbook: Path) -> int:
    from .p21 import export_p21

    if workbook.suffix.lower() != ".xlsx":
        print(f"error: {workbook}: the workbook name must end in .xlsx", file=sys.stderr)
        return 2
    try:
        spec = load_spec(spec_dir)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    export_p21(spec, workbook)
    print(f"wrote {workbook}", file=sys.stderr)
    return 0


def import_define_command(define: Path, out_dir: Path) -> int:
    from .define_import import DefineImportError, import_define

    def read():
        try:
            return import_define(define)
        except DefineImportError as exc:
            raise _ImportFailed([str(exc)]) from None
    return _import(read, out_dir)


class _ImportFailed(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems


def _import(read, out_dir: Path) -> int:
    """Refuse a target that is not missing or empty, read the source (every problem one line, exit 2), write."""
    why = _empty_target(out_dir)
    if why:
        print(f"error: {why}", file=sys.stderr)
        return 2
    try:
        spec, notices = read()
    except _ImportFailed as exc:
        for p in exc.problems:
            print(f"error: {p}", file=sys.stderr)
        return 2
    return _write(spec, out_dir, notices)
