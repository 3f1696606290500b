"""Loading a spec folder: every error names file:line and the object, in plain words."""

from __future__ import annotations

from pathlib import Path

import pytest

from studyforge.spec.loader import SpecError, load_spec, load_spec_with_locations
from tests.spec.helpers import EXAMPLE, copy_example, edit, line_of


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example spec, loaded as the relative path `spec` (so messages start `spec/...`)."""
    copy_example(tmp_path)
    monkeypatch.chdir(tmp_path)
    return Path("spec")


def errors_of(spec_dir: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_spec(spec_dir)
    return [str(e) for e in info.value.errors]


def test_example_loads_with_all_parts() -> None:
    spec, where = load_spec_with_locations(EXAMPLE)
    assert list(spec.datasets) == ["AE", "DM", "ADSL"]          # sdtm/ sorted, then adam/
    assert [d.name for d in spec.sdtm()] == ["AE", "DM"]
    assert set(spec.codelists) >= {"CL.SEX", "CL.NY", "CL.ARMCD"}
    assert spec.study.ct_version("SDTM") == "2025-03-28"
    assert spec.datasets["DM"].variable("AGE").length == 8
    dm = EXAMPLE / "sdtm" / "DM.yaml"
    file, line = where.get(("datasets", "DM", "variables", "AGE", "length"))
    assert Path(file).resolve() == dm.resolve()
    text = dm.read_text().splitlines()
    assert text[line - 1].strip() == "length: 8"
    assert text[line - 3].strip() == "type: Num"                 # the AGE block: label, type, data_type, length
    # deeper paths fall back to the nearest recorded ancestor
    assert where.get(("datasets", "DM", "variables", "AGE", "derivation", "params", "nope"))[1] == \
        where.get(("datasets", "DM", "variables", "AGE", "derivation", "params"))[1]
    file, line = where.get(("codelists", "CL.SEX", "terms", "M", "nci"))
    assert Path(file).name == "codelists.yaml"
    assert (EXAMPLE / "codelists.yaml").read_text().splitlines()[line - 1].strip() == "nci: C20197"


def test_unknown_key(spec: Path) -> None:
    dm = spec / "sdtm" / "DM.yaml"
    edit(dm, "    data_type: integer\n    length: 8\n", "    data_type: integer\n    lenght: 8\n")
    line = line_of(dm, "lenght: 8")
    assert errors_of(spec) == [f"spec/sdtm/DM.yaml:{line}: variable AGE: unknown key 'lenght'"]


def test_bad_type_label_too_long_length_300_and_missing_key_all_reported(spec: Path) -> None:
    dm = spec / "sdtm" / "DM.yaml"
    long_label = "Subject Death Flag of the study for the overall record"
    edit(dm, "label: Subject Death Flag", "label: " + long_label)
    edit(dm, "    type: Char\n    length: 3\n", "    type: Char\n    length: 300\n")          # SITEID
    edit(dm, "  - name: RACE\n    label: Race\n    type: Char", "  - name: RACE\n    label: Race\n    type: 12")
    edit(dm, "  - name: ETHNIC\n    label: Ethnicity\n    type: Char\n", "  - name: XXETHNIC\n")
    got = errors_of(spec)
    assert got == [
        f"spec/sdtm/DM.yaml:{line_of(dm, long_label)}: variable DTHFL: label must be at most 40 characters "
        f"(has {len(long_label)}: {long_label!r})",
        f"spec/sdtm/DM.yaml:{line_of(dm, 'length: 300')}: variable SITEID: length must be 1..200",
        f"spec/sdtm/DM.yaml:{line_of(dm, 'type: 12')}: variable RACE: type must be one of 'Char' or 'Num' (got 12)",
        f"spec/sdtm/DM.yaml:{line_of(dm, 'name: XXETHNIC')}: variable XXETHNIC: sponsor-defined variable (not in "
        "SDTMIG 3.4 DM nor addable from the SDTM v2.0 model): state its label",
        f"spec/sdtm/DM.yaml:{line_of(dm, 'name: XXETHNIC')}: variable XXETHNIC: sponsor-defined variable (not in "
        "SDTMIG 3.4 DM nor addable from the SDTM v2.0 model): state its type",
    ]


def test_text_field_given_a_number(spec: Path) -> None:
    edit(spec / "study.yaml", "protocol: PALACE-001", "protocol: 2021")
    line = line_of(spec / "study.yaml", "protocol: 2021")
    assert errors_of(spec) == [f"spec/study.yaml:{line}: study: protocol must be text (got 2021; quote it in YAML)"]


def test_name_pattern_in_words(spec: Path) -> None:
    dm = spec / "sdtm" / "DM.yaml"
    edit(dm, "  - name: ARMNRS", "  - name: armnrs")
    assert errors_of(spec) == [
        f"spec/sdtm/DM.yaml:{line_of(dm, 'name: armnrs')}: variable armnrs: name 'armnrs' must be 1 to 8 "
        "upper-case letters, digits or underscores, starting with a letter"]


def test_dataset_name_must_equal_file_stem(spec: Path) -> None:
    edit(spec / "adam" / "ADSL.yaml", "name: ADSL\n", "name: ADSLX\n")
    assert errors_of(spec) == ["spec/adam/ADSL.yaml:2: dataset ADSLX: dataset name 'ADSLX' must equal the file "
                               "name 'ADSL' (upper case)"]


def test_purpose_must_fit_folder(spec: Path) -> None:
    edit(spec / "sdtm" / "AE.yaml", "purpose: Tabulation", "purpose: Analysis")
    assert errors_of(spec) == ["spec/sdtm/AE.yaml:6: dataset AE: purpose 'Analysis' does not fit folder sdtm/ "
                               "(expected 'Tabulation')"]


def test_yaml_syntax_error_has_file_and_line(spec: Path) -> None:
    ae = spec / "sdtm" / "AE.yaml"
    edit(ae, "keys: [STUDYID, USUBJID, AEDECOD, AESTDTC]", "keys: [STUDYID, USUBJID\nsources: x")
    got = errors_of(spec)
    assert len(got) == 1 and got[0].startswith("spec/sdtm/AE.yaml:9: YAML syntax error:"), got


@pytest.mark.parametrize("payload", [
    "!!python/object/apply:os.system [\"touch {marker}\"]",
    "!!python/name:os.system",
    "!custom thing",
])
def test_python_and_custom_tags_are_refused(spec: Path, tmp_path: Path, payload: str) -> None:
    marker = tmp_path / "pwned"
    edit(spec / "methods.yaml", "name: Sequence number", "name: " + payload.format(marker=marker))
    got = errors_of(spec)
    line = line_of(spec / "methods.yaml", payload.split()[0])
    tag = payload.split()[0]
    assert got == [f"spec/methods.yaml:{line}: tag {tag!r} is not allowed in a spec"]
    assert not marker.exists()


def test_duplicates_located_at_second_definition(spec: Path) -> None:
    (spec / "comments.yaml").write_text("comments:\n  - id: C1\n    text: a\n  - id: C1\n    text: b\n")
    dm = spec / "sdtm" / "DM.yaml"
    edit(dm, "  - name: ARMNRS", "  - name: ARM")
    first, second = (line_of(dm, "  - name: ARM", n) for n in (2, 3))  # occurrence 1 is ARMCD
    assert errors_of(spec) == [
        "spec/comments.yaml:4: comment C1: comment id 'C1' is defined more than once (first at line 2)",
        f"spec/sdtm/DM.yaml:{second}: variable ARM: variable 'ARM' is defined more than once (first at line {first})",
    ]


def test_duplicate_yaml_key(spec: Path) -> None:
    edit(spec / "study.yaml", "sponsor: Ipsen\n", "sponsor: Ipsen\nsponsor: Other\n")
    first = line_of(spec / "study.yaml", "sponsor: Ipsen")
    assert errors_of(spec) == [f"spec/study.yaml:{first + 1}: duplicate key 'sponsor' (first at line {first})"]


def test_key_variable_not_among_variables(spec: Path) -> None:
    edit(spec / "sdtm" / "AE.yaml", "keys: [STUDYID, USUBJID, AEDECOD, AESTDTC]", "keys: [STUDYID, USUBJID, AESPID]")
    line = line_of(spec / "sdtm" / "AE.yaml", "AESPID")
    assert errors_of(spec) == [f"spec/sdtm/AE.yaml:{line}: dataset AE: key variable 'AESPID' is not among the variables"]


def test_missing_study_yaml_and_non_mapping_file(spec: Path) -> None:
    (spec / "study.yaml").unlink()
    (spec / "comments.yaml").write_text("- just\n- a list\n")
    assert errors_of(spec) == ["spec/study.yaml:1: study.yaml is missing (it is required)",
                               "spec/comments.yaml:1: the file must hold a mapping of keys (it is empty or a "
                               "list/scalar)"]


def test_other_folders_are_ignored(spec: Path) -> None:
    (spec / "simulation").mkdir()
    (spec / "simulation" / "config.yaml").write_text("anything: [goes\n")
    (spec / "notes.yaml").write_text("not: part of the model\n")
    assert set(load_spec(spec).datasets) == {"AE", "DM", "ADSL"}


def test_collection_fragments_merge_and_clash_across_files(spec: Path) -> None:
    (spec / "adam" / "codelists_adsl.yaml").write_text(
        "codelists:\n  - id: CL.POP\n    name: Population\n    terms:\n      - value: SAF\n")
    (spec / "methods_extra.yaml").write_text("methods:\n  - id: MT.X\n    name: x\n    description: y\n")
    loaded, where = load_spec_with_locations(spec)
    assert "CL.POP" in loaded.codelists and "MT.X" in loaded.methods and "CL.SEX" in loaded.codelists
    assert where.get(("codelists", "CL.POP", "terms", "SAF")) == ("spec/adam/codelists_adsl.yaml", 5)
    (spec / "sdtm" / "comments_dm.yaml").write_text("comments:\n  - id: COM.AE\n    text: again\n")
    first = line_of(spec / "comments.yaml", "id: COM.AE")
    assert errors_of(spec) == [f"spec/sdtm/comments_dm.yaml:2: comment COM.AE: comment id 'COM.AE' is defined "
                               f"more than once (first in spec/comments.yaml:{first})"]


def test_scalars_follow_yaml_1_2_core_schema() -> None:
    from studyforge.spec.yamlio import compose_text, to_python

    got = to_python(compose_text("a: 2024-01-15 00:00:00\nb: 2024-1-5\nc: 0x1F\nd: 010\ne: yes\nf: ~\n"
                                 "g: 1_000\nh: -.inf\ni: 'on'\n"))
    import datetime as dt
    import math

    assert got == {"a": dt.datetime(2024, 1, 15), "b": "2024-1-5", "c": 31, "d": 10, "e": "yes",
                   "f": None, "g": 1000, "h": -math.inf, "i": "on"}
