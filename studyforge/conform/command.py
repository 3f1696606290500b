"""`studyforge validate PATH`: load, check, print; write the reports only where told (`--report DIR`).

PATH is a package root, a study folder or a bare folder of SDTM or ADaM XPT files. Without `--spec`
the spec the package's manifest records is used (the one that built it), so validate reports the
findings the build reported. The package itself is never written to.
"""

from __future__ import annotations

from pathlib import Path

from studyforge.conform.engine import run_checks
from studyforge.conform.package import load_any
from studyforge.conform.report import FORMATS, write_reports
from studyforge.conform.rules import all_rules


def spec_for(package_dir: Path, spec_dir: Path | None) -> tuple[Path | None, list[str]]:
    """The spec folder to check against and notes for the user: --spec, else what the manifest records."""
    from studyforge.manifest import recorded_spec, spec_fingerprint

    if spec_dir is not None:
        return Path(spec_dir), []
    here = Path(package_dir).resolve()
    rec = next((r for r in (recorded_spec(d) for d in (here, *here.parents)) if r is not None), None)
    if rec is None:
        return None, ["note: no --spec and the package records no spec; checks that need the spec are skipped"]
    path = Path(rec["path"])
    if not (path / "study.yaml").is_file():
        return None, [f"note: the spec that built the package ({path}) is not there; pass --spec DIR "
                      f"(checks that need the spec are skipped)"]
    notes = [f"spec: {path} (recorded in the package manifest)"]
    if rec.get("sha256") and spec_fingerprint(path) != rec["sha256"]:
        notes.append(f"WARNING: the spec in {path} changed since the package was built; findings may differ")
    return path, notes


def validate_command(package_dir: Path, *, spec_dir: Path | None = None, strict: bool = False,
                     formats: list[str] | None = None, out_dir: Path | None = None) -> int:
    """Exit 0, or 1 under --strict when any ERROR was found; 2 when the spec or options are unusable.

    `out_dir` (--report): where validation.<fmt> go; without it nothing is written.
    """
    formats = list(formats) if formats else list(FORMATS)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        print(f"ERROR: unknown report format(s): {', '.join(unknown)} (choose from {', '.join(FORMATS)})")
        return 2
    package_dir = Path(package_dir)
    if out_dir is not None:
        from studyforge.outdir import check_out_dir

        out = check_out_dir(out_dir, option="--report", accept=_is_report_dir,
                            kind="a folder of earlier validation reports")
        if out == package_dir.resolve() or package_dir.resolve() in out.parents:
            print(f"note: --report {out_dir} is inside {package_dir}; the package's manifest will no longer match")
    spec_path, notes = spec_for(package_dir, spec_dir)
    for n in notes:
        print(n)
    spec = None
    if spec_path is not None:
        from studyforge.spec.loader import SpecError, load_spec

        try:
            spec = load_spec(spec_path)
        except SpecError as exc:
            print(f"ERROR: the spec in {spec_path} is not valid:\n{exc}")
            return 2
    view = load_any(package_dir, spec)
    rules = all_rules()
    findings = run_checks(view)
    if not (package_dir / "m5" / "datasets").is_dir():   # a bare SDTM or ADaM folder: check what is there
        view, findings = _in_scope(view, findings, rules)
    c = findings.counts()
    print(f"{len(view.datasets)} dataset(s) ({', '.join(_standards(view)) or 'none'}), {len(rules)} rules: "
          f"{c['ERROR']} error(s), {c['WARNING']} warning(s), {c['NOTICE']} notice(s)")
    for f in findings.errors[:20]:
        print(f"  {f}")
    if len(findings.errors) > 20:
        print(f"  ... and {len(findings.errors) - 20} more error(s)")
    if out_dir is not None:
        name = spec.study.id if spec is not None else package_dir.resolve().name
        for p in write_reports(findings, rules, Path(out_dir), formats, name):
            print(f"wrote {p}")
    return 1 if strict and findings.errors else 0


def _in_scope(view, findings, rules):
    """Only the standards a bare folder holds: rules of the other standard, and spec datasets of the
    other standard, do not apply (an ADaM folder is not an SDTM package missing its DM)."""
    from studyforge.findings import Findings

    scope = set(_standards(view))
    purposes = {"Tabulation" if s == "SDTM" else "Analysis" for s in scope}
    if view.spec is not None:
        kept = {n: d for n, d in view.spec.datasets.items() if d.purpose in purposes}
        view.spec = view.spec.model_copy(update={"datasets": kept})
        findings = run_checks(view)

    def applies(f) -> bool:
        rule = rules.get(f.rule)
        if rule is not None and rule.applies_to in ("SDTM", "ADaM") and rule.applies_to not in scope:
            return False
        return not (f.value in ("SDTM", "ADaM") and f.value not in scope)

    return view, Findings([f for f in findings if applies(f)])


def _is_report_dir(folder: Path) -> bool:
    """A folder that holds validation reports (earlier `--report` output, or a package's report/)."""
    return any(folder.glob("validation.*"))


def _standards(view) -> list[str]:
    return [s for s in ("SDTM", "ADaM") if any(d.standard == s for d in view.datasets.values())]

