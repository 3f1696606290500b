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
BUNDLED_STUDY = "palace"


class UserError(Exception):
    """A problem the user can fix (bad option, unusable folder): one line, exit 2."""


def default_spec_dir(study: str = BUNDLED_STUDY) -> Path:
    """The study spec bundled with studyforge (specs/<study> beside the installed package), wherever the
    command runs from; a clear error when this installation does not carry it."""
    import studyforge

    bundled = Path(studyforge.__file__).resolve().parent.parent / "specs" / study
    if (bundled / "study.yaml").is_file():
        return bundled
    raise UserError(f"no --spec given and this installation of studyforge carries no specs/{study}; "
                    f"pass --spec DIR (the folder with study.yaml)")


def _one_line(exc: BaseException) -> str:
    """What a user reads instead of a traceback: the file and the reason."""
    from studyforge.outdir import OutDirError
    from studyforge.spec.loader import SpecError

    if isinstance(exc, SpecError):
        lines = [str(e) for e in exc.errors] or [str(exc)]
        return f"the spec is not valid ({len(lines)} problem(s)):\n" + "\n".join(f"  {ln}" for ln in lines)
    if isinstance(exc, OSError):
        where = exc.filename if exc.filename is not None else ""
        reason = exc.strerror or str(exc)
        return f"{where}: {reason}" if where else reason
    if isinstance(exc, (UserError, OutDirError)):
        return str(exc)
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text} (internal error; --debug shows the traceback)"


class SafeGroup(click.Group):
    """Every failure is one line on stderr and exit 2 (1 stays 'ran, found differences/errors');
    `--debug` (anywhere on the command line) shows the traceback instead."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        argv = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in argv
        argv = [a for a in argv if a != "--debug"]   # accepted before or after the command name
        try:
            rv = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Exit as exc:   # --help, --version
            code = exc.exit_code
        except click.ClickException as exc:    # bad option or argument
            ctx = getattr(exc, "ctx", None)
            cmd = ctx.command_path if ctx is not None else (prog_name or "studyforge")
            click.echo(f"{cmd}: error: {' '.join(exc.format_message().split())}", err=True)
            code = exc.exit_code
        except click.Abort:
            click.echo("aborted", err=True)
            code = 1
        except Exception as exc:  # noqa: BLE001 - the user sees one line; --debug shows the traceback
            if debug:
                raise
            click.echo(f"studyforge: error: {_one_line(exc)}", err=True)
            code = 2
        else:
            code = rv if isinstance(rv, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """The version, and whether the XPT writer's compiled loops are in use (a build without a C compiler
    has none: the numpy path then writes the same bytes, slower).  Imported only when asked."""
    if not value or ctx.resilient_parsing:
        return
    from studyforge import xpt

    loops = "on" if xpt._speedups is not None else "off - the numpy path, same bytes, slower"
    click.echo(f"studyforge, version {__version__} (compiled loops: {loops})")
    ctx.exit()


def _exit(code: int) -> None:
    """Commands return their exit code through click (so SafeGroup sees exceptions first)."""
    if code:
        raise click.exceptions.Exit(code)


@click.group(cls=SafeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the version (and whether the compiled loops are in use) and exit.")
@click.option("--debug", is_flag=True, help="Show the Python traceback of an error instead of one line.")
def main(debug: bool) -> None:
    """Spec-driven CDISC submission data: raw CRF exports -> SDTM -> ADaM -> XPT, define.xml, Dataset-JSON."""


def spec_option(f):
    """--spec DIR (alias --study) on every command: the study spec folder, default the bundled PALACE spec."""
    return click.option("--spec", "--study", "spec_dir", type=ExistingDir, default=None,
                        help="Study spec folder (with study.yaml). Default: the bundled specs/palace.")(f)


# --- spec -----------------------------------------------------------------------------------

@main.group()
def spec() -> None:
    """Check, format and compare study specs (specs/<study>/)."""


@spec.command("check")
@click.argument("spec_dir", type=ExistingDir)
def spec_check(spec_dir: Path) -> None:
    """Validate a whole spec, cross-references and derivation rules included."""
    from studyforge.spec.commands import check_command

    _exit(check_command(spec_dir, rule_registries()))


@spec.command("fmt")
@click.argument("spec_dir", type=ExistingDir)
@click.option("--check", "check_only", is_flag=True, help="Report files not in canonical form; write nothing.")
def spec_fmt(spec_dir: Path, check_only: bool) -> None:
    """Rewrite every spec file in canonical form (fixed key order, comments kept)."""
    from studyforge.spec.commands import fmt_command

    _exit(fmt_command(spec_dir, check_only=check_only))


@spec.command("diff")
@click.argument("old", type=ExistingDir)
@click.argument("new", type=ExistingDir)
def spec_diff(old: Path, new: Path) -> None:
    """Print the change between two specs in words; exit 1 when they differ."""
    from studyforge.spec.commands import diff_command

    _exit(diff_command(old, new))


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
@spec_option
@click.option("--subjects", type=int, default=None, help="Number of subjects (default: the study's simulation config).")
@click.option("--seed", type=int, default=None, help="Random seed (default: the study's simulation config).")
@click.option("--out", "out_dir", type=PathArg, default=Path("output/raw"), show_default=True,
              help="Folder for the raw exports: new, empty, or written by an earlier `simulate`.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a simulation setting, e.g. --set messiness.partial_dates=0.2 --set messiness.non_ascii=true")
def simulate(spec_dir: Path | None, subjects: int | None, seed: int | None, out_dir: Path,
             overrides: tuple[str, ...]) -> None:
    """Write the raw CRF exports an EDC would deliver for the study (CSV per form, dictionary, manifest)."""
    from sdtm.simulate.command import simulate_command
    from studyforge.outdir import check_out_dir, is_simulated_raw

    spec_dir = spec_dir or default_spec_dir()
    check_out_dir(out_dir, inputs=(spec_dir,), accept=is_simulated_raw,
                  kind="a folder of raw exports written by `studyforge simulate`")
    _exit(simulate_command(spec_dir, subjects=subjects, seed=seed, out_dir=out_dir, overrides=overrides))


# --- sdtm ------------------------------------------------------------------------------------

@main.command("sdtm")
@click.option("--raw", "raw_dir", type=ExistingDir, required=True, help="Folder of raw exports (CSV, SAS7BDAT, XPT, ODM XML).")
@spec_option
@click.option("--out", "out_dir", type=PathArg, required=True,
              help="Package root (new, empty or a studyforge package); SDTM goes to m5/datasets/<study>/tabulations/sdtm.")
@click.option("--strict", is_flag=True, help="Errors make exit 1 and nothing is written.")
def sdtm_cmd(raw_dir: Path, spec_dir: Path | None, out_dir: Path, strict: bool) -> None:
    """Map raw CRF exports to SDTM datasets, as the spec says."""
    from sdtm.command import sdtm_command

    spec_dir = spec_dir or default_spec_dir()
    _spec_gate(spec_dir)
    _exit(sdtm_command(raw_dir, spec_dir, out_dir, strict=strict))


# --- adam ------------------------------------------------------------------------------------

@main.command("adam")
@click.option("--sdtm", "sdtm_dir", type=ExistingDir, required=True,
              help="Any folder of SDTM XPT or Dataset-JSON files, or a package root.")
@spec_option
@click.option("--out", "out_dir", type=PathArg, required=True,
              help="Package root (new, empty or a studyforge package); ADaM goes to "
                   "m5/datasets/<study>/analysis/adam/datasets.")
@click.option("--strict", is_flag=True, help="Errors make exit 1 and nothing is written.")
def adam_cmd(sdtm_dir: Path, spec_dir: Path | None, out_dir: Path, strict: bool) -> None:
    """Derive ADaM datasets (ADSL, ADRS, ADTTE, ...) from SDTM datasets."""
    from adam.command import adam_command

    spec_dir = spec_dir or default_spec_dir()
    _spec_gate(spec_dir)
    _exit(adam_command(sdtm_dir, spec_dir, out_dir, strict=strict))


# --- validate --------------------------------------------------------------------------------

@main.command()
@click.argument("package_dir", type=ExistingDir)
@click.option("--spec", "--study", "spec_dir", type=ExistingDir, default=None,
              help="Study spec folder. Default: the spec the package's manifest.json records.")
@click.option("--strict", is_flag=True, help="Exit 1 when there is an error.")
@click.option("--format", "formats", default="html,csv,json", show_default=True)
@click.option("--report", "report_dir", type=PathArg, default=None,
              help="Write the reports into this folder. Without it nothing is written.")
def validate(package_dir: Path, spec_dir: Path | None, strict: bool, formats: str, report_dir: Path | None) -> None:
    """Check a package, or a bare folder of SDTM or ADaM XPT files, for conformance
    (structure, CT, dates, cross-dataset, ADaM, FDA rejection criteria)."""
    from studyforge.conform.command import validate_command

    _exit(validate_command(package_dir, spec_dir=spec_dir, strict=strict,
                           formats=[f.strip() for f in formats.split(",") if f.strip()], out_dir=report_dir))


# --- compare ---------------------------------------------------------------------------------

@main.command()
@click.argument("base", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.argument("compare", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--by", "keys", required=True, help="Comma-separated key variables.")
@click.option("--tolerance", type=float, default=0.0, show_default=True, help="Absolute numeric tolerance.")
@click.option("--report", "report", type=PathArg, default=None, help="Also write the report to this file.")
def compare(base: Path, compare: Path, keys: str, tolerance: float, report: Path | None) -> None:
    """PROC COMPARE-style comparison of two datasets (XPT, Dataset-JSON, CSV); exit 1 when they differ."""
    from studyforge.compare import compare_command

    _exit(compare_command(base, compare, keys=[k.strip() for k in keys.split(",") if k.strip()],
                          tolerance=tolerance, report=report))


# --- results and trace -----------------------------------------------------------------------

@main.command()
@click.argument("package_dir", type=ExistingDir)
@click.option("--spec", "spec_dir", type=ExistingDir, default=Path("specs/palace"), show_default=True)
@click.option("--out", "out_dir", type=PathArg, default=None, help="Where the results go (default PACKAGE_DIR/results).")
def results(package_dir: Path, spec_dir: Path, out_dir: Path | None) -> None:
    """Endpoint results from a package's ADaM: ARD (CSV, Dataset-JSON), ARS JSON, report and trace pages."""
    from results.command import results_command

    sys.exit(results_command(package_dir, spec_dir, out_dir))


@main.command()
@click.argument("result_id")
@click.option("--package", "package_dir", type=ExistingDir, default=Path("output/palace"), show_default=True)
@click.option("--spec", "spec_dir", type=ExistingDir, default=Path("specs/palace"), show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON.")
def trace(result_id: str, package_dir: Path, spec_dir: Path, as_json: bool) -> None:
    """The ADaM records, SDTM source records and raw file lines behind one result (e.g. CBR24:rate)."""
    from results.command import trace_command

    sys.exit(trace_command(result_id, package_dir, spec_dir, as_json))


# --- build -----------------------------------------------------------------------------------

@main.command()
@spec_option
@click.option("--raw", "raw_dir", type=ExistingDir, default=None, help="Raw exports; without it the study is simulated first.")
@click.option("--out", "out_dir", type=PathArg, default=Path("output/palace"), show_default=True,
              help="Package root: new, empty, or a studyforge package (replaced when the build succeeds).")
@click.option("--subjects", type=int, default=None, help="Simulated subjects (without --raw).")
@click.option("--seed", type=int, default=None, help="Simulation seed (without --raw).")
@click.option("--format", "formats", default="xpt,json", show_default=True, help="Dataset formats: xpt and/or json.")
@click.option("--strict", is_flag=True, help="Errors make exit 1 and nothing is written.")
def build(spec_dir: Path | None, raw_dir: Path | None, out_dir: Path, subjects: int | None, seed: int | None,
          formats: str, strict: bool) -> None:
    """Build the whole package: raw -> SDTM -> ADaM, XPT, Dataset-JSON, define.xml/html, validation, report."""
    from adam.pipeline import derive_adam
    from adam.sdtm_input import read_sdtm_folder
    from results.stage import write_results
    from sdtm.acrf_map import crf_layout
    from sdtm.command import run_sdtm
    from sdtm.simulate.command import simulate_command
    from studyforge.build import BuildOptions, Stages
    from studyforge.build import build as run_build

    spec_dir = spec_dir or default_spec_dir()
    _spec_gate(spec_dir)
    fmt = tuple(f.strip() for f in formats.split(",") if f.strip())
    unknown = [f for f in fmt if f not in ("xpt", "json")]
    if unknown or "xpt" not in fmt:
        raise click.BadParameter(f"formats are xpt (always) and json, got {formats!r}", param_hint="--format")
    if raw_dir is not None and (subjects is not None or seed is not None):
        raise click.BadParameter("--subjects and --seed apply to a simulated study, not to --raw exports",
                                 param_hint="--subjects/--seed")
    stages = Stages(
        simulate=lambda study, subjects, seed, out_dir: simulate_command(
            study, subjects=subjects, seed=seed, out_dir=out_dir, overrides=()),
        run_sdtm=run_sdtm, derive_adam=derive_adam, read_sdtm=read_sdtm_folder, results=write_results,
        acrf=crf_layout)
    result = run_build(BuildOptions(study_dir=spec_dir, out_dir=out_dir, raw_dir=raw_dir,
                                    subjects=subjects, seed=seed, formats=fmt, strict=strict), stages)
    _exit(result.exit_code)


def _spec_gate(spec_dir: Path) -> None:
    """Run the spec check first: every spec error as one `file:line: object: message` line, exit 2."""
    from studyforge.spec.gate import SpecError, load_checked

    try:
        load_checked(spec_dir, rule_registries())
    except SpecError as exc:
        for err in exc.errors:
            click.echo(str(err), err=True)
        click.echo(f"{len(exc.errors)} spec error(s) in {spec_dir}; nothing was built (see `studyforge spec check`)",
                   err=True)
        sys.exit(2)


def rule_registries() -> dict[str, dict]:
    """The derivation rules each stage publishes, for `spec check` (purpose -> {rule name: params model})."""
    from adam.registry import RULES as ADAM_RULES
    from sdtm.registry import RULES as SDTM_RULES

    return {"Tabulation": SDTM_RULES, "Analysis": ADAM_RULES}


if __name__ == "__main__":  # pragma: no cover
    main()
