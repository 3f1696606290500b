"""`studyforge validate PACKAGE_DIR`: load, check, write the reports, return the exit code."""

from __future__ import annotations

from pathlib import Path

from studyforge.conform.engine import run_checks
from studyforge.conform.package import load_package
from studyforge.conform.report import FORMATS, write_reports
from studyforge.conform.rules import all_rules


def validate_command(package_dir: Path, *, spec_dir: Path | None = None, strict: bool = False,
                     formats: list[str] | None = None, out_dir: Path | None = None) -> int:
    """Exit 0, or 1 under --strict when any ERROR was found; 2 when the spec or options are unusable."""
    formats = list(formats) if formats else list(FORMATS)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        print(f"ERROR: unknown report format(s): {', '.join(unknown)} (choose from {', '.join(FORMATS)})")
        return 2
    spec = None
    if spec_dir is not None:
        from studyforge.spec.loader import SpecError, load_spec

        try:
            spec = load_spec(spec_dir)
        except SpecError as exc:
            print(f"ERROR: the spec in {spec_dir} is not valid:\n{exc}")
            return 2
    package_dir = Path(package_dir)
    view = load_package(package_dir, spec)
    findings = run_checks(view)
    out = Path(out_dir) if out_dir is not None else package_dir / "report"
    rules = all_rules()
    written = write_reports(findings, rules, out, formats, package_dir.resolve().name)
    c = findings.counts()
    print(f"{len(view.datasets)} dataset(s), {len(rules)} rules: {c['ERROR']} error(s), {c['WARNING']} warning(s), "
          f"{c['NOTICE']} notice(s)")
    for f in findings.errors[:20]:
        print(f"  {f}")
    if len(findings.errors) > 20:
        print(f"  ... and {len(findings.errors) - 20} more error(s)")
    for p in written:
        print(f"wrote {p}")
    return 1 if strict and findings.errors else 0
