"""`studyforge spec check|fmt|diff` through click: output lines and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from studyforge import cli
from tests.spec.helpers import copy_example, edit, line_of, registries


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy_example(tmp_path)
    monkeypatch.chdir(tmp_path)
    # the stages' real registries are other modules' work in progress; the contract is the same shape
    monkeypatch.setattr(cli, "rule_registries", registries)
    return Path("spec")


def invoke(*args: str):
    return CliRunner().invoke(cli.main, ["spec", *args])


def test_check_clean_spec_exits_0(spec: Path) -> None:
    res = invoke("check", str(spec))
    assert res.exit_code == 0, res.output
    assert res.output == ("spec check spec: 3 dataset(s), 10 codelist(s): 0 error(s), 0 warning(s), "
                          "0 notice(s)\n")


def test_check_with_errors_exits_1(spec: Path) -> None:
    dm = spec / "sdtm" / "DM.yaml"
    edit(dm, "codelist: CL.SEX", "codelist: CL.GENDER")
    edit(dm, "label: Age\n", "label: Age (years)\n")
    res = invoke("check", str(spec))
    assert res.exit_code == 1
    assert res.output.splitlines() == [
        f"spec/sdtm/DM.yaml:{line_of(dm, 'Age (years)')}: WARNING DM.AGE: label 'Age (years)' but SDTMIG 3.4 "
        "says 'Age'",
        f"spec/sdtm/DM.yaml:{line_of(dm, 'CL.GENDER')}: ERROR DM.SEX: codelist 'CL.GENDER' is not defined in "
        "codelists.yaml",
        "spec check spec: 3 dataset(s), 10 codelist(s): 1 error(s), 1 warning(s), 0 notice(s)",
    ]


def test_check_with_load_errors_exits_1(spec: Path) -> None:
    edit(spec / "sdtm" / "DM.yaml", "    length: 8\n", "    lenght: 8\n")
    res = invoke("check", str(spec))
    assert res.exit_code == 1
    line = line_of(spec / "sdtm" / "DM.yaml", "lenght")
    assert res.output.splitlines() == [
        f"spec/sdtm/DM.yaml:{line}: ERROR variable AGE: unknown key 'lenght'",
        "spec check spec: 1 error(s) while loading; not checked further",
    ]


def test_fmt_check_then_fmt_then_check_again(spec: Path) -> None:
    res = invoke("fmt", "--check", str(spec))   # the example writes every inherited label out
    assert res.exit_code == 1 and "not canonical: spec/sdtm/AE.yaml" in res.output
    assert invoke("fmt", str(spec)).exit_code == 0
    res = invoke("fmt", "--check", str(spec))
    assert (res.exit_code, res.output) == (0, "spec fmt --check spec: 0 file(s) not in canonical form\n")
    ae = spec / "sdtm" / "AE.yaml"
    edit(ae, "keys: [STUDYID, USUBJID, AEDECOD, AESTDTC]\nsources: [AE]\n",
         "sources: [AE]\nkeys: [STUDYID, USUBJID, AEDECOD, AESTDTC]\n")
    scrambled = ae.read_bytes()
    res = invoke("fmt", "--check", str(spec))
    assert (res.exit_code, res.output.splitlines()) == (1, ["not canonical: spec/sdtm/AE.yaml",
                                                            "spec fmt --check spec: 1 file(s) not in canonical form"])
    assert ae.read_bytes() == scrambled
    res = invoke("fmt", str(spec))
    assert (res.exit_code, res.output.splitlines()) == (0, ["formatted: spec/sdtm/AE.yaml",
                                                            "spec fmt spec: 1 file(s) rewritten"])
    assert invoke("fmt", "--check", str(spec)).exit_code == 0


def test_fmt_on_broken_yaml_exits_1(spec: Path) -> None:
    (spec / "methods.yaml").write_text("methods: [\n")
    res = invoke("fmt", str(spec))
    assert res.exit_code == 1
    assert res.output.startswith("spec/methods.yaml:2: ERROR YAML syntax error")


def test_diff_exit_codes(spec: Path, tmp_path: Path) -> None:
    other = copy_example(tmp_path / "other")
    res = invoke("diff", str(spec), str(other))
    assert (res.exit_code, res.output) == (0, "")
    edit(other / "sdtm" / "DM.yaml", "label: Demographics", "label: Demographic Data")
    res = invoke("diff", str(spec), str(other))
    assert (res.exit_code, res.output) == (1, 'DM label: "Demographics" -> "Demographic Data"\n')
    edit(other / "sdtm" / "DM.yaml", "class: SPECIAL PURPOSE\n", "class: SPECIAL\n")
    res = invoke("diff", str(spec), str(other))
    assert res.exit_code == 2
    assert "dataset DM: class 'SPECIAL' is not a Define-XML General Observation Class term" in res.output
