"""The `studyforge spec check|fmt|diff` commands: print, and return the process exit code."""

from __future__ import annotations

from pathlib import Path

import click

from studyforge.findings import Severity
from studyforge.spec.check import check_spec, format_finding
from studyforge.spec.diff import diff_specs
from studyforge.spec.fmt import FormatError, format_spec_dir
from studyforge.spec.loader import SpecError, load_spec, load_spec_with_locations


def check_command(spec_dir: Path, registries: dict[str, dict]) -> int:
    """Load and check a spec; 1 when there is any error (load errors included)."""
    try:
        spec, locations = load_spec_with_locations(spec_dir)
    except SpecError as exc:
        for err in exc.errors:
            click.echo(f"{err.file}:{err.line}: ERROR " + (f"{err.obj}: " if err.obj else "") + err.message)
        click.echo(f"spec check {spec_dir}: {len(exc.errors)} error(s) while loading; not checked further")
        return 1
    findings = check_spec(spec, locations, registries)
    for f in findings:
        click.echo(format_finding(f))
    counts = {s: sum(f.severity is s for f in findings) for s in Severity}
    click.echo(f"spec check {spec_dir}: {len(spec.datasets)} dataset(s), {len(spec.codelists)} codelist(s): "
               f"{counts[Severity.ERROR]} error(s), {counts[Severity.WARNING]} warning(s), "
               f"{counts[Severity.NOTICE]} notice(s)")
    return 1 if counts[Severity.ERROR] else 0


def fmt_command(spec_dir: Path, check_only: bool = False) -> int:
    """Rewrite spec files canonically; with check_only, list the files that would change and return 1."""
    try:
        changed = format_spec_dir(spec_dir, write=not check_only)
    except FormatError as exc:
        for line in exc.messages:
            click.echo(line)
        return 1
    for path in changed:
        click.echo(f"{'not canonical' if check_only else 'formatted'}: {path}")
    if check_only:
        click.echo(f"spec fmt --check {spec_dir}: {len(changed)} file(s) not in canonical form")
        return 1 if changed else 0
    click.echo(f"spec fmt {spec_dir}: {len(changed)} file(s) rewritten")
    return 0


def diff_command(old: Path, new: Path) -> int:
    """Print the change from OLD to NEW in words; 1 when they differ, 0 when equal, 2 when one cannot load."""
    try:
        a, b = load_spec(old), load_spec(new)
    except SpecError as exc:
        for err in exc.errors:
            click.echo(str(err))
        return 2
    lines = diff_specs(a, b)
    for line in lines:
        click.echo(line)
    return 1 if lines else 0
