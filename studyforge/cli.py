"""The composition root: `studyforge ...`. The only module of studyforge/ that imports sdtm and adam.

Each command parses its options and calls one function of the area that owns the work; that
function returns the process exit code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from studyforge import __version__

PathArg = click.Path(path_type=Path)
ExistingDir = click.Path(path_type=Path, exists=True, file_okay=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="studyforge")
def main() -> None:
    """Spec-driven CDISC submission data: raw CRF exports -> SDTM -> ADaM -> XPT, define.xml, Dataset-JSON."""


# --- spec -----------------------------------------------------------------------------------

@main.group()
def spec() -> None:
    """Check, format and compare study specs (specs/<study>/)."""


@spec.command("check")
@click.argument("spec_dir", type=ExistingDir)
def spec_check(spec_dir: Path) -> None:
    """Validate a whole spec, cross-references and derivation rules included."""
    from studyforge.spec.commands import check_command

    sys.exit(check_command(spec_dir, rule_registries()))


@spec.command("fmt")
@click.argument("spec_dir", type=ExistingDir)
@click.option("--check", "check_only", is_flag=True, help="Report files not in canonical form; write nothing.")
def spec_fmt(spec_dir: Path, check_only: bool) -> None:
    """Rewrite every spec file in canonical form (fixed key order, comments kept)."""
    from studyforge.spec.commands import fmt_command

    sys.exit(fmt_command(spec_dir, check_only=check_only))


@spec.command("diff")
@click.argument("old", type=ExistingDir)
@click.argument("new", type=ExistingDir)
def spec_diff(old: Path, new: Path) -> None:
    """Print the change between two specs in words; exit 1 when they differ."""
    from studyforge.spec.commands import diff_command

    sys.exit(diff_command(old, new))


@spec.group("import")
def spec_import() -> None:
    """Make a spec from a sponsor's metadata (P21 workbook, define.xml)."""


@spec_import.command("p21")
@click.argument("workbook", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--out", "out_dir", type=PathArg, required=True, help="A missing or empty folder for the spec.")
def spec_import_p21(workbook: Path, out_dir: Path) -> None:
    """A spec from a Pinnacle 21 define-template workbook; every problem names sheet, row and column."""
    from studyforge.spec.exchange import import_p21_command

    sys.exit(import_p21_command(workbook, out_dir))


@spec_import.command("define")
@click.argument("define_xml", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--out", "out_dir", type=PathArg, required=True, help="A missing or empty folder for the spec.")
def spec_import_define(define_xml: Path, out_dir: Path) -> None:
    """A spec skeleton (datasets, variables, value level, codelists, methods, comments) from a define.xml."""
    from studyforge.spec.exchange import import_define_command

    sys.exit(import_define_command(define_xml, out_dir))


@spec.group("export")
def spec_export() -> None:
    """Write a spec in a sponsor's format."""


@spec_export.command("p21")
@click.argument("spec_dir", type=ExistingDir)
@click.argument("workbook", type=PathArg)
def spec_export_p21(spec_dir: Path, workbook: Path) -> None:
    """The spec as a Pinnacle 21 define-template workbook (.xlsx), for review in Excel."""
    from studyforge.spec.exchange import export_p21_command

    sys.exit(export_p21_command(spec_dir, workbook))


# --- simulate (sdtm/simulate) ----------------------------------------------------------------

@main.command()
@click.option("--study", "study_dir", type=ExistingDir, default=Path("specs/palace"), show_default=True)
@click.option("--subjects", type=int, default=None, help="Number of subjects (default: the study's simulation config).")
@click.option("--seed", type=int, default=None, help="Random seed (default: the study's simulation config).")
@click.option("--out", "out_dir", type=PathArg, default=Path("output/raw"), show_default=True)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a simulation setting, e.g. --set messiness.partial_dates=0.2 --set messiness.non_ascii=true")
def simulate(study_dir: Path, subjects: int | None, seed: int | None, out_dir: Path, overrides: tuple[str, ...]) -> None:
    """Write the raw CRF exports an EDC would deliver for the study (CSV per form, dictionary, manifest)."""
    from sdtm.simulate.command import simulate_command

    sys.exit(simulate_command(study_dir, subjects=subjects, seed=seed, out_dir=out_dir, overrides=overrides))


# --- sdtm ------------------------------------------------------------------------------------

@main.command("sdtm")
@click.option("--raw", "raw_dir", type=ExistingDir, required=True, help="Folder of raw exports (CSV, SAS7BDAT, XPT, ODM XML).")
@click.option("--spec", "spec_dir", type=ExistingDir, default=Path("specs/palace"), show_default=True)
@click.option("--out", "out_dir", type=PathArg, required=True, help="Package root; SDTM goes to m5/datasets/<study>/tabulations/sdtm.")
@click.option("--strict", is_flag=True, help="Errors make a non-zero exit and nothing is written.")
def sdtm_cmd(raw_dir: Path, spec_dir: Path, out_dir: Path, strict: bool) -> None:
    """Map raw CRF exports to SDTM datasets, as the spec says."""
    from sdtm.command import sdtm_command

    sys.exit(sdtm_command(raw_dir, spec_dir, out_dir, strict=strict))


# --- adam ------------------------------------------------------------------------------------

@main.command("adam")
@click.option("--sdtm", "sdtm_dir", type=ExistingDir, required=True, help="Any folder of SDTM XPT or Dataset-JSON files.")
@click.option("--spec", "spec_dir", type=ExistingDir, default=Path("specs/palace"), show_default=True)
@click.option("--out", "out_dir", type=PathArg, required=True, help="Folder for the ADaM XPT files.")
@click.option("--strict", is_flag=True, help="Errors make a non-zero exit and nothing is written.")
def adam_cmd(sdtm_dir: Path, spec_dir: Path, out_dir: Path, strict: bool) -> None:
    """Derive ADaM datasets (ADSL, ADRS, ADTTE, ...) from SDTM datasets."""
    from adam.command import adam_command

    sys.exit(adam_command(sdtm_dir, spec_dir, out_dir, strict=strict))


# --- validate --------------------------------------------------------------------------------

@main.command()
@click.argument("package_dir", type=ExistingDir)
@click.option("--spec", "spec_dir", type=ExistingDir, default=None)
@click.option("--strict", is_flag=True, help="Exit 1 when there is an error.")
@click.option("--format", "formats", default="html,csv,json", show_default=True)
@click.option("--out", "out_dir", type=PathArg, default=None, help="Where the reports go (default PACKAGE_DIR/report).")
def validate(package_dir: Path, spec_dir: Path | None, strict: bool, formats: str, out_dir: Path | None) -> None:
    """Check a package for conformance (structure, CT, dates, cross-dataset, ADaM, FDA rejection criteria)."""
    from studyforge.conform.command import validate_command

    sys.exit(validate_command(package_dir, spec_dir=spec_dir, strict=strict,
                              formats=[f.strip() for f in formats.split(",") if f.strip()], out_dir=out_dir))


# --- compare ---------------------------------------------------------------------------------

@main.command()
@click.argument("base", type=click.Path(path_type=Path, exists=True))
@click.argument("compare", type=click.Path(path_type=Path, exists=True))
@click.option("--by", "keys", required=True, help="Comma-separated key variables.")
@click.option("--tolerance", type=float, default=0.0, show_default=True, help="Absolute numeric tolerance.")
@click.option("--report", "report", type=PathArg, default=None, help="Also write the report to this file.")
def compare(base: Path, compare: Path, keys: str, tolerance: float, report: Path | None) -> None:
    """PROC COMPARE-style comparison of two datasets (XPT, Dataset-JSON, CSV); exit 1 when they differ."""
    from studyforge.compare import compare_command

    sys.exit(compare_command(base, compare, keys=[k.strip() for k in keys.split(",") if k.strip()],
                             tolerance=tolerance, report=report))


# --- build -----------------------------------------------------------------------------------

@main.command()
@click.option("--study", "study_dir", type=ExistingDir, default=Path("specs/palace"), show_default=True)
@click.option("--raw", "raw_dir", type=ExistingDir, default=None, help="Raw exports; without it the study is simulated first.")
@click.option("--out", "out_dir", type=PathArg, default=Path("output/palace"), show_default=True)
@click.option("--subjects", type=int, default=None, help="Simulated subjects (without --raw).")
@click.option("--seed", type=int, default=None, help="Simulation seed (without --raw).")
@click.option("--format", "formats", default="xpt,json", show_default=True, help="Dataset formats: xpt and/or json.")
@click.option("--strict", is_flag=True, help="Errors make a non-zero exit and nothing is written.")
def build(study_dir: Path, raw_dir: Path | None, out_dir: Path, subjects: int | None, seed: int | None,
          formats: str, strict: bool) -> None:
    """Build the whole package: raw -> SDTM -> ADaM, XPT, Dataset-JSON, define.xml/html, validation, report."""
    from adam.pipeline import derive_adam
    from adam.sdtm_input import read_sdtm_folder
    from sdtm.command import run_sdtm
    from sdtm.simulate.command import simulate_command
    from studyforge.build import BuildOptions, Stages
    from studyforge.build import build as run_build

    fmt = tuple(f.strip() for f in formats.split(",") if f.strip())
    unknown = [f for f in fmt if f not in ("xpt", "json")]
    if unknown or "xpt" not in fmt:
        raise click.BadParameter(f"formats are xpt (always) and json, got {formats!r}", param_hint="--format")
    stages = Stages(
        simulate=lambda study, subjects, seed, out_dir: simulate_command(
            study, subjects=subjects, seed=seed, out_dir=out_dir, overrides=()),
        run_sdtm=run_sdtm, derive_adam=derive_adam, read_sdtm=read_sdtm_folder)
    result = run_build(BuildOptions(study_dir=study_dir, out_dir=out_dir, raw_dir=raw_dir, subjects=subjects,
                                    seed=seed, formats=fmt, strict=strict), stages)
    sys.exit(result.exit_code)


def rule_registries() -> dict[str, dict]:
    """The derivation rules each stage publishes, for `spec check` (purpose -> {rule name: params model})."""
    from adam.registry import RULES as ADAM_RULES
    from sdtm.registry import RULES as SDTM_RULES

    return {"Tabulation": SDTM_RULES, "Analysis": ADAM_RULES}


if __name__ == "__main__":  # pragma: no cover
    main()
