"""Standard metadata is inherited at load time (spec/inherit.py); an override that contradicts the IG is a
finding at its file:line; a sponsor-defined variable must state its own label and type."""

from __future__ import annotations

from pathlib import Path

import pytest

from studyforge.spec.check import check_spec
from studyforge.spec.loader import SpecError, load_spec, load_spec_with_locations
from tests.spec.helpers import copy_example, edit, line_of, registries


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy_example(tmp_path)
    monkeypatch.chdir(tmp_path)
    return Path("spec")


def findings(spec_dir: Path) -> list[str]:
    s, where = load_spec_with_locations(spec_dir)
    return [f"{f.file}:{f.line}: {f.severity.value} {f.message}" for f in check_spec(s, where, registries())]


def test_variable_without_label_type_role_core_gets_the_sdtmig_values(spec: Path) -> None:
    dm = spec / "sdtm" / "DM.yaml"
    edit(dm, "  - name: AGE\n    label: Age\n    type: Num\n", "  - name: AGE\n")
    edit(dm, "    length: 8\n    role: Record Qualifier\n    core: Exp\n", "    length: 8\n")
    age = load_spec(spec).datasets["DM"].variable("AGE")
    # SDTMIG 3.4 Variables.csv, DM.AGE: "Age", Num, Record Qualifier, Exp
    assert (age.label, age.type, age.role, age.core, age.length) == ("Age", "Num", "Record Qualifier", "Exp", 8)
    assert findings(spec) == []


def test_dataset_without_label_class_structure_gets_the_sdtmig_values(spec: Path) -> None:
    dm = spec / "sdtm" / "DM.yaml"
    edit(dm, "label: Demographics\nclass: SPECIAL PURPOSE\nstructure: One record per subject\npurpose: Tabulation\n"
         "standard: SDTMIG 3.4\n", "")
    edit(dm, "domain: DM\n", "")
    ds = load_spec(spec).datasets["DM"]
    # SDTMIG 3.4 Datasets.csv: DM, "Demographics", Special-Purpose (Define-XML term SPECIAL PURPOSE)
    assert (ds.label, ds.class_, ds.structure, ds.purpose, ds.standard, ds.domain) == (
        "Demographics", "SPECIAL PURPOSE", "One record per subject", "Tabulation", "SDTMIG 3.4", "DM")


def test_adam_variable_gets_the_adamig_label_with_its_placeholder_filled(spec: Path) -> None:
    edit(spec / "adam" / "ADSL.yaml", "  - name: TRT01P\n    label: Planned Treatment for Period 01\n    type: Char\n",
         "  - name: TRT01P\n")
    trt = load_spec(spec).datasets["ADSL"].variable("TRT01P")
    # ADaMIG 1.3 ADSL TRTxxP "Planned Treatment for Period xx", Char, Req -> xx = 01
    assert (trt.label, trt.type, trt.core) == ("Planned Treatment for Period 01", "Char", "Req")


def test_type_contradicting_the_ig_is_an_error_at_its_line(spec: Path) -> None:
    dm = spec / "sdtm" / "DM.yaml"
    edit(dm, "  - name: AGE\n    label: Age\n    type: Num\n", "  - name: AGE\n    type: Char\n")
    line = line_of(dm, "type: Char", occurrence=sum(
        1 for ln in dm.read_text().splitlines()[:line_of(dm, "name: AGE")] if "type: Char" in ln) + 1)
    assert f"spec/sdtm/DM.yaml:{line}: ERROR DM.AGE: type Char but SDTMIG 3.4 says Num" in findings(spec)


def test_core_relaxing_req_is_an_error_and_other_core_changes_a_warning(spec: Path) -> None:
    dm = spec / "sdtm" / "DM.yaml"
    edit(dm, "    role: Identifier\n    core: Req\n    origin:\n      type: Derived\n    derivation:\n      rule: usubjid",
         "    role: Identifier\n    core: Perm\n    origin:\n      type: Derived\n    derivation:\n      rule: usubjid")
    edit(dm, "    role: Record Qualifier\n    core: Exp\n    origin:\n      type: Derived\n    derivation:\n      rule: age",
         "    role: Record Qualifier\n    core: Req\n    origin:\n      type: Derived\n    derivation:\n      rule: age")
    got = findings(spec)
    assert (f"spec/sdtm/DM.yaml:{line_of(dm, 'core: Perm')}: ERROR DM.USUBJID: core Perm but SDTMIG 3.4 says Req; "
            "an IG Req variable cannot be relaxed") in got
    age_core = line_of(dm, "name: AGE") + 6
    assert dm.read_text().splitlines()[age_core - 1].strip() == "core: Req"
    assert f"spec/sdtm/DM.yaml:{age_core}: WARNING DM.AGE: core Req but SDTMIG 3.4 says Exp" in got


def test_role_differing_from_the_ig_is_a_warning(spec: Path) -> None:
    dm = spec / "sdtm" / "DM.yaml"
    edit(dm, "    length: 8\n    role: Record Qualifier\n", "    length: 8\n    role: Topic\n")
    line = line_of(dm, "name: AGE") + 5
    assert dm.read_text().splitlines()[line - 1].strip() == "role: Topic"
    assert (f"spec/sdtm/DM.yaml:{line}: WARNING DM.AGE: role 'Topic' but SDTMIG 3.4 says "
            "'Record Qualifier'") in findings(spec)


def test_sponsor_variable_without_label_is_an_error_at_its_line(spec: Path) -> None:
    dm = spec / "sdtm" / "DM.yaml"
    edit(dm, "  - name: AGE\n    label: Age\n    type: Num\n", "  - name: AGEX\n    type: Num\n")
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    assert [str(e) for e in info.value.errors] == [
        f"spec/sdtm/DM.yaml:{line_of(dm, 'name: AGEX')}: variable AGEX: sponsor-defined variable (not in SDTMIG 3.4 "
        "DM nor addable from the SDTM v2.0 model): state its label"]


def test_sponsor_variable_stating_label_and_type_loads(spec: Path) -> None:
    dm = spec / "sdtm" / "DM.yaml"
    edit(dm, "  - name: AGE\n    label: Age\n", "  - name: AGEX\n    label: Age at consent\n")
    edit(dm, "  - name: AGEU\n", "  - name: AGE\n    origin:\n      type: Collected\n  - name: AGEU\n")
    ds = load_spec(spec).datasets["DM"]
    assert (ds.variable("AGEX").label, ds.variable("AGEX").type, ds.variable("AGEX").core) == (
        "Age at consent", "Num", "Exp")
    assert ds.variable("AGE").label == "Age"
