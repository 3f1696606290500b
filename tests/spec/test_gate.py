"""`studyforge sdtm`, `adam` and `build` run the spec check first: every spec problem is one
`file:line: object: message` line on stderr and exit 2, never a traceback, and nothing is built."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from studyforge import cli
from studyforge.spec.gate import SpecError, load_checked
from tests.spec.helpers import copy_example, edit, line_of, registries


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy_example(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "rule_registries", registries)
    (tmp_path / "raw").mkdir()
    return Path("spec")


def run(*args: str):
    return CliRunner().invoke(cli.main, list(args))


COMMANDS = {
    "sdtm": lambda s: ["sdtm", "--raw", "raw", "--spec", str(s), "--out", "out"],
    "adam": lambda s: ["adam", "--sdtm", "raw", "--spec", str(s), "--out", "out"],
    "build": lambda s: ["build", "--study", str(s), "--raw", "raw", "--out", "out"],
}


def _dm(spec: Path) -> Path:
    return spec / "sdtm" / "DM.yaml"


def yaml_syntax(spec: Path) -> str:
    edit(_dm(spec), "keys: [STUDYID, USUBJID]", "keys: [STUDYID, USUBJID")
    return f"spec/sdtm/DM.yaml:{line_of(_dm(spec), 'repeating: false')}: YAML syntax error"


def unknown_key(spec: Path) -> str:
    edit(_dm(spec), "    length: 8\n", "    lenght: 8\n")
    return f"spec/sdtm/DM.yaml:{line_of(_dm(spec), 'lenght')}: variable AGE: unknown key 'lenght'"


def unknown_rule(spec: Path) -> str:
    edit(_dm(spec), "rule: age\n", "rule: eval_python\n")
    return f"spec/sdtm/DM.yaml:{line_of(_dm(spec), 'eval_python')}: DM.AGE: derivation rule 'eval_python' is not"


def missing_codelist(spec: Path) -> str:
    edit(_dm(spec), "codelist: CL.SEX", "codelist: CL.GENDER")
    return (f"spec/sdtm/DM.yaml:{line_of(_dm(spec), 'CL.GENDER')}: DM.SEX: codelist 'CL.GENDER' is not defined in "
            "codelists.yaml")


def bad_param(spec: Path) -> str:
    edit(_dm(spec), "params: {birth: BRTHDAT, ref: RFICDTC}", "params: {birth: BRTHDAT, ref: RFICDTC, unit: days}")
    return f"spec/sdtm/DM.yaml:{line_of(_dm(spec), 'unit: days')}: DM.AGE: rule age: unknown parameter 'unit'"


PROBLEMS = [yaml_syntax, unknown_key, unknown_rule, missing_codelist, bad_param]


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.__name__)
def test_spec_problem_stops_the_stage_with_one_located_line(spec: Path, command: str, problem) -> None:
    expected = problem(spec)
    res = run(*COMMANDS[command](spec))
    assert res.exit_code == 2, res.output
    lines = res.output.splitlines()
    assert len(lines) == 2 and lines[0].startswith(expected), lines
    assert lines[1] == f"1 spec error(s) in {spec}; nothing was built (see `studyforge spec check`)"
    assert "Traceback" not in res.output and not Path("out").exists()


def test_load_checked_returns_the_spec_or_raises_with_every_error(spec: Path) -> None:
    assert load_checked(spec, registries()).study.id
    missing_codelist(spec)
    bad_param(spec)
    with pytest.raises(SpecError) as info:
        load_checked(spec, registries())
    assert [e.obj for e in info.value.errors] == ["", ""] and len(info.value.errors) == 2
