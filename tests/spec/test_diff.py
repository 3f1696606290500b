"""`spec diff`: a hand-written change set gives exactly the expected lines, in the documented order."""

from __future__ import annotations

from pathlib import Path

from studyforge.spec.diff import diff_specs
from studyforge.spec.loader import load_spec
from tests.spec.helpers import EXAMPLE, copy_example, edit

VALUES = ("values:\n"
          "  - variable: AESEV\n"
          "    where:\n"
          "      - variable: AESER\n"
          "        values: [\"Y\"]\n"
          "    type: Char\n"
          "    length: 10\n"
          "    codelist: CL.AESEV\n"
          "    origin:\n"
          "      type: Collected\n")


def test_identical_specs_have_no_difference() -> None:
    assert diff_specs(load_spec(EXAMPLE), load_spec(EXAMPLE)) == []


def test_hand_written_change_set(tmp_path: Path) -> None:
    new = copy_example(tmp_path)
    edit(new / "study.yaml", "sponsor: Ipsen", "sponsor: Ipsen Pharma")
    (new / "adam" / "ADSL.yaml").unlink()
    ae, dm = new / "sdtm" / "AE.yaml", new / "sdtm" / "DM.yaml"
    edit(ae, "comment: COM.AE\n", "")
    text = ae.read_text()
    ae.write_text(text[:text.index("  - name: AEENDY")])             # AEENDY was the 17th and last variable
    edit(ae, "  - name: AETERM", "  - name: AESPID\n    label: Sponsor-Defined Identifier\n    type: Char\n"
         "    origin:\n      type: Collected\n  - name: AETERM")
    edit(dm, "label: Demographics", "label: Demographic Data")
    edit(dm, "    label: Age\n    type: Num\n    data_type: integer\n    length: 8\n",
         "    label: Age in Years\n    type: Num\n    data_type: integer\n")
    edit(dm, "rule: age\n      params: {birth: BRTHDAT, ref: RFICDTC}",
         "rule: age_at\n      params: {birth: BRTHDAT, ref: RFSTDTC}")
    text = dm.read_text()
    r, e, a = text.index("  - name: RACE"), text.index("  - name: ETHNIC"), text.index("  - name: ARMCD")
    dm.write_text(text[:r] + text[e:a] + text[r:e] + text[a:])       # ETHNIC now before RACE
    cl = new / "codelists.yaml"
    edit(cl, "        decode: Female\n", "        decode: FEMALE\n")
    edit(cl, "        synonyms: [Male, MALE]\n", "        synonyms: [Male, MALE]\n      - value: U\n"
         "        nci: C17998\n        decode: Unknown\n")
    edit(new / "methods.yaml", "name: Sequence number", "name: Sequence Number")
    edit(new / "comments.yaml", "  - id: COM.AE\n    text: Adverse events are coded with MedDRA 24.0.\n", "")

    assert diff_specs(load_spec(EXAMPLE), load_spec(new)) == [
        'study sponsor: "Ipsen" -> "Ipsen Pharma"',
        "dataset removed: ADSL",
        'AE comment: "COM.AE" -> (none)',
        "AE variable removed: AEENDY (was position 17)",
        "AE variable added: AESPID at position 5 (after AESEQ)",
        'DM label: "Demographics" -> "Demographic Data"',
        'DM.AGE label: "Age" -> "Age in Years"',
        "DM.AGE length: 8 -> (none)",
        "DM.AGE derivation: rule age -> age_at; params.ref: RFICDTC -> RFSTDTC",
        "DM.ETHNIC moved: position 19 -> 18 (after SEX)",
        'codelist CL.SEX term added: U ("Unknown")',
        'codelist CL.SEX term F decode: "Female" -> "FEMALE"',
        'method MT.AESEQ name: "Sequence number" -> "Sequence Number"',
        "comment removed: COM.AE",
    ]


def test_value_level_parameters_origin_and_derivation_added(tmp_path: Path) -> None:
    old, new = copy_example(tmp_path / "a"), copy_example(tmp_path / "b")
    (old / "sdtm" / "AE.yaml").write_text((old / "sdtm" / "AE.yaml").read_text() + VALUES)
    (new / "sdtm" / "AE.yaml").write_text((new / "sdtm" / "AE.yaml").read_text()
                                          + VALUES.replace("length: 10", "length: 12")
                                          + VALUES.replace('["Y"]', '["N"]').replace("values:\n", ""))
    edit(new / "sdtm" / "AE.yaml", "    origin:\n      type: Predecessor\n      predecessor: DM.USUBJID\n",
         "    origin:\n      type: Derived\n")
    edit(new / "adam" / "ADSL.yaml", "      predecessor: DM.AGE\n", "      predecessor: DM.AGE\n    derivation:\n"
         "      rule: copy\n      params: {variable: AGE}\n")
    edit(new / "adam" / "ADSL.yaml", "      treatments: [LANREOTIDE]", "      treatments: [LANREOTIDE, PLACEBO]")
    edit(new / "sdtm" / "AE.yaml", "    derivation:\n      rule: usubjid\n", "")
    assert diff_specs(load_spec(old), load_spec(new)) == [
        'AE.USUBJID origin.type: "Predecessor" -> "Derived"',
        'AE.USUBJID origin.predecessor: "DM.USUBJID" -> (none)',
        "AE.USUBJID derivation removed (was rule usubjid)",
        "AE value-level added: AESEV [AESER EQ N]",
        "AE.AESEV [AESER EQ Y] length: 10 -> 12",
        "ADSL derivation: params.exposure: {treatments: [LANREOTIDE]} -> {treatments: [LANREOTIDE, PLACEBO]}",
        "ADSL.AGE derivation added: rule copy; params {variable: AGE}",
    ]


PARAMS = ("parameters:\n"
          "  - paramcd: BOR\n    param: Best Overall Response\n    method: MT.SAFFL\n"
          "  - paramcd: OVR\n    param: Overall Response\n")


def test_parameters_added_removed_changed(tmp_path: Path) -> None:
    old, new = copy_example(tmp_path / "a"), copy_example(tmp_path / "b")
    (old / "adam" / "ADSL.yaml").write_text((old / "adam" / "ADSL.yaml").read_text() + PARAMS)
    (new / "adam" / "ADSL.yaml").write_text((new / "adam" / "ADSL.yaml").read_text() + PARAMS.replace(
        "Best Overall Response\n    method: MT.SAFFL", "Best Overall Response by BICR\n    parcat1: RECIST 1.1")
        .replace("paramcd: OVR\n    param: Overall Response", "paramcd: CBR\n    param: Clinical Benefit"))
    assert diff_specs(load_spec(old), load_spec(new)) == [
        "ADSL parameter removed: OVR",
        'ADSL parameter added: CBR ("Clinical Benefit")',
        'ADSL PARAMCD=BOR param: "Best Overall Response" -> "Best Overall Response by BICR"',
        'ADSL PARAMCD=BOR parcat1: (none) -> "RECIST 1.1"',
        'ADSL PARAMCD=BOR method: "MT.SAFFL" -> (none)',
    ]
