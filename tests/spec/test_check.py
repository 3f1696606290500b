"""`spec check`: each cross-reference, rule, CT and IG failure fires at its line; the example is clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from studyforge.findings import Finding, Severity
from studyforge.spec.check import check_spec, format_finding
from studyforge.spec.loader import load_spec_with_locations
from tests.spec.helpers import EXAMPLE, copy_example, edit, line_of, registries

E, W, N = Severity.ERROR, Severity.WARNING, Severity.NOTICE


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy_example(tmp_path)
    monkeypatch.chdir(tmp_path)
    return Path("spec")


def run(spec_dir: Path, regs: dict | None = None) -> list[Finding]:
    spec, where = load_spec_with_locations(spec_dir)
    return check_spec(spec, where, registries() if regs is None else regs)


def lines(findings: list[Finding]) -> list[str]:
    return [format_finding(f) for f in findings]


def test_example_spec_is_clean() -> None:
    assert run(EXAMPLE) == []


def test_absent_registry_is_a_notice_per_purpose(spec: Path) -> None:
    got = run(spec, regs={"Tabulation": registries()["Tabulation"]})
    assert lines(got) == ["spec/adam/ADSL.yaml:2: NOTICE no Analysis rule registry is available: derivation rules "
                          "of 1 dataset(s) not checked"]


def test_dangling_codelist_method_comment_references(spec: Path) -> None:
    dm, ae = spec / "sdtm" / "DM.yaml", spec / "sdtm" / "AE.yaml"
    edit(dm, "codelist: CL.SEX", "codelist: CL.GENDER")
    edit(dm, "method: MT.AGE", "method: MT.AGEX")
    edit(ae, "comment: COM.AE", "comment: COM.MISSING")
    edit(spec / "codelists.yaml", "comment: COM.ARMCD", "comment: COM.NONE")
    assert lines(run(spec)) == [
        f"spec/codelists.yaml:{line_of(spec / 'codelists.yaml', 'COM.NONE')}: ERROR codelist CL.ARMCD: comment "
        "'COM.NONE' is not defined in comments.yaml",
        f"spec/sdtm/AE.yaml:{line_of(ae, 'COM.MISSING')}: ERROR dataset AE: comment 'COM.MISSING' is not defined in "
        "comments.yaml",
        f"spec/sdtm/DM.yaml:{line_of(dm, 'MT.AGEX')}: ERROR DM.AGE: method 'MT.AGEX' is not defined in methods.yaml",
        f"spec/sdtm/DM.yaml:{line_of(dm, 'CL.GENDER')}: ERROR DM.SEX: codelist 'CL.GENDER' is not defined in "
        "codelists.yaml",
    ]


def test_value_level_variable_and_where_clause_variable_must_exist(spec: Path) -> None:
    ae = spec / "sdtm" / "AE.yaml"
    text = ae.read_text()
    ae.write_text(text + (
        "values:\n"
        "  - variable: AESEVX\n"
        "    where:\n"
        "      - variable: AESER\n"
        "        values: [\"Y\"]\n"
        "    type: Char\n"
        "    codelist: CL.AESEV\n"
        "    origin:\n"
        "      type: Collected\n"
        "  - variable: AESEV\n"
        "    where:\n"
        "      - variable: AETOXGR\n"
        "        values: [\"3\"]\n"
        "    type: Char\n"
        "    codelist: CL.TOX\n"
        "    origin:\n"
        "      type: Collected\n"))
    assert lines(run(spec)) == [
        f"spec/sdtm/AE.yaml:{line_of(ae, 'variable: AESEVX')}: ERROR AE.AESEVX value-level item 1: variable AESEVX "
        "is not in AE",
        f"spec/sdtm/AE.yaml:{line_of(ae, 'variable: AETOXGR')}: ERROR AE.AESEV value-level item 2: where-clause "
        "variable AETOXGR is not in AE",
        f"spec/sdtm/AE.yaml:{line_of(ae, 'CL.TOX')}: ERROR AE.AESEV value-level item 2: codelist 'CL.TOX' is not "
        "defined in codelists.yaml",
    ]


def test_unknown_rule_and_invalid_params_located(spec: Path) -> None:
    dm = spec / "sdtm" / "DM.yaml"
    edit(dm, "rule: age\n      params: {birth: BRTHDAT, ref: RFICDTC}",
         "rule: age\n      params: {birth: BRTHDAT, reference: RFICDTC}")
    edit(dm, "    derivation:\n      rule: arm\n      params: {output: ARMNRS",
         "    derivation:\n      rule: arm_reason\n      params: {output: ARMNRS")
    edit(dm, "params: {value: CHN}", "params: {value: [CHN]}")
    edit(dm, "      rule: usubjid\n", "      rule: usubjid\n      params: {sep: _}\n")
    got = [f for f in run(spec) if f.rule in ("SPEC-RULE", "SPEC-PARAMS")]
    known = ", ".join(sorted(registries()["Tabulation"]))
    age = line_of(dm, "reference: RFICDTC")
    assert lines(got) == [
        f"spec/sdtm/DM.yaml:{line_of(dm, 'sep: _')}: WARNING DM.USUBJID: rule 'usubjid' takes no parameters; "
        "params are ignored",
        f"spec/sdtm/DM.yaml:{age}: ERROR DM.AGE: rule age: missing parameter 'ref'",
        f"spec/sdtm/DM.yaml:{age}: ERROR DM.AGE: rule age: unknown parameter 'reference'",
        f"spec/sdtm/DM.yaml:{line_of(dm, 'arm_reason')}: ERROR DM.ARMNRS: derivation rule 'arm_reason' is not a "
        f"Tabulation rule (known: {known})",
        f"spec/sdtm/DM.yaml:{line_of(dm, '[CHN]')}: ERROR DM.COUNTRY: rule constant: parameter value: Input should "
        "be a valid string (got ['CHN'])",
    ]


def test_ct_codelist_and_term_mismatches(spec: Path) -> None:
    cl = spec / "codelists.yaml"
    edit(cl, "nci: C66781", "nci: C99999")                                   # AGEU: no such codelist
    edit(cl, "submission_value: RACE", "submission_value: RACES")            # name mismatch
    edit(cl, "- value: F\n        nci: C16576", "- value: F\n        nci: C20197")   # C20197 is M
    edit(cl, "- value: MILD\n        nci: C41338", "- value: MILD\n        nci: C00001")  # not in AESEV
    edit(cl, "      - value: DRUG WITHDRAWN\n        nci: C49502\n",
         "      - value: DRUG WITHDRAWN\n        nci: C49502\n      - value: DOSE DOUBLED\n")  # ACN non-extensible
    edit(cl, "      - value: TREATMENT\n        nci: C101526\n",
         "      - value: TREATMENT\n        nci: C101526\n      - value: EXTENSION\n")      # EPOCH extensible
    edit(cl, "      - value: ASIAN\n        nci: C41260\n",
         "      - value: ASIAN\n        nci: C41260\n      - value: WHITE\n")              # CDISC term, no code
    got = [f for f in run(spec) if f.rule == "SPEC-CT"]
    pk = "SDTM CT 2025-03-28"
    assert lines(got) == [
        f"spec/codelists.yaml:{line_of(cl, 'C20197')}: ERROR codelist CL.SEX, term F: C20197 is 'M' in {pk}, "
        "not 'F'",
        f"spec/codelists.yaml:{line_of(cl, 'C99999')}: ERROR codelist CL.AGEU: C99999 is not a codelist of "
        f"{pk} / ADaM CT 2025-09-26",
        f"spec/codelists.yaml:{line_of(cl, 'RACES')}: ERROR codelist CL.RACE: submission_value 'RACES' but {pk} "
        "names C74457 'RACE'",
        f"spec/codelists.yaml:{line_of(cl, 'value: WHITE')}: NOTICE codelist CL.RACE, term WHITE: CDISC term "
        "C41261; give it as nci",
        f"spec/codelists.yaml:{line_of(cl, 'C00001')}: ERROR codelist CL.AESEV, term MILD: C00001 is not a term "
        f"of AESEV (C66769) in {pk}",
        f"spec/codelists.yaml:{line_of(cl, 'DOSE DOUBLED')}: ERROR codelist CL.ACN, term DOSE DOUBLED: not in "
        f"non-extensible codelist ACN (C66767) of {pk}",
        f"spec/codelists.yaml:{line_of(cl, 'EXTENSION')}: NOTICE codelist CL.EPOCH, term EXTENSION: sponsor "
        "extension of extensible codelist EPOCH",
    ]


def test_adam_ct_codelist_is_found(spec: Path) -> None:
    cl = spec / "codelists.yaml"
    cl.write_text(cl.read_text() + (
        "  - id: CL.DTYPE\n"
        "    name: Derivation Type\n"
        "    nci: C81224\n"
        "    submission_value: DTYPE\n"
        "    extensible: true\n"
        "    terms:\n"
        "      - value: LOCF\n"
        "      - value: MYIMPUTE\n"))
    got = lines([f for f in run(spec) if f.rule == "SPEC-CT"])
    assert len(got) == 2
    assert got[0].endswith("NOTICE codelist CL.DTYPE, term LOCF: CDISC term " + got[0].split("CDISC term ")[1])
    assert got[0].split("CDISC term ")[1].startswith("C")
    assert got[1].endswith("NOTICE codelist CL.DTYPE, term MYIMPUTE: sponsor extension of extensible codelist DTYPE")


def test_extensible_flag_disagreeing_with_ct_is_a_warning(spec: Path) -> None:
    cl = spec / "codelists.yaml"
    edit(cl, "    submission_value: SEX\n", "    submission_value: SEX\n    extensible: true\n")
    assert lines([f for f in run(spec) if f.rule == "SPEC-CT"]) == [
        f"spec/codelists.yaml:{line_of(cl, 'extensible: true')}: WARNING codelist CL.SEX: extensible is true but "
        "SDTM CT 2025-03-28 says No"]


def test_sdtmig_label_type_order_required_and_sponsor_variables(spec: Path) -> None:
    dm = spec / "sdtm" / "DM.yaml"
    edit(dm, "label: Age\n    type: Num", "label: Age in Years\n    type: Char\n    data_type: text")
    edit(dm, "    data_type: integer\n    length: 8\n", "    length: 8\n")    # AGE has no integer data_type now
    # move COUNTRY before SITEID (IG order: SITEID 15, COUNTRY 30)
    text = dm.read_text()
    start = text.index("  - name: COUNTRY")
    country = text[start:]
    text = text[:start]
    site = text.index("  - name: SITEID")
    dm.write_text(text[:site] + country + text[site:])
    edit(dm, "  - name: ACTARMUD", "  - name: DMXFL")
    edit(dm, "label: Description of Unplanned Actual Arm", "label: Sponsor Flag")
    ae = spec / "sdtm" / "AE.yaml"
    edit(ae, "keys: [STUDYID, USUBJID, AEDECOD, AESTDTC]", "keys: [STUDYID, USUBJID, AETERM, AESTDTC]")
    text = ae.read_text()
    s, e = text.index("  - name: AEDECOD"), text.index("  - name: AEBODSYS")
    ae.write_text(text[:s] + text[e:])
    got = [f for f in run(spec) if f.rule == "SPEC-IG"]
    assert lines(got) == [
        f"spec/sdtm/AE.yaml:{line_of(ae, 'variables:')}: ERROR AE: required SDTMIG 3.4 variable AEDECOD "
        "(Dictionary-Derived Term) is missing",
        f"spec/sdtm/DM.yaml:{line_of(dm, 'name: COUNTRY')}: WARNING DM.COUNTRY: out of SDTMIG 3.4 order (the IG "
        "puts it after ARMNRS)",
        f"spec/sdtm/DM.yaml:{line_of(dm, 'Age in Years')}: WARNING DM.AGE: label 'Age in Years' but SDTMIG 3.4 "
        "says 'Age'",
        f"spec/sdtm/DM.yaml:{line_of(dm, 'Age in Years') + 1}: ERROR DM.AGE: type Char but SDTMIG 3.4 says Num",
        f"spec/sdtm/DM.yaml:{line_of(dm, 'name: DMXFL')}: WARNING DM.DMXFL: not an SDTMIG 3.4 DM variable; "
        "sponsor variables belong in SUPPDM or a custom domain",
    ]
    assert all(f.dataset in ("AE", "DM") for f in got)


def test_adamig_labels_types_placeholders_and_required(spec: Path) -> None:
    adsl = spec / "adam" / "ADSL.yaml"
    edit(adsl, "label: Planned Treatment for Period 01", "label: Planned Treatment for Period 1")
    edit(adsl, "    label: Date of First Exposure to Treatment\n    type: Num",
         "    label: Date of First Exposure to Treatment\n    type: Char")
    edit(adsl, "    data_type: integer\n", "")
    text = adsl.read_text()
    s, e = text.index("  - name: SITEID"), text.index("  - name: AGE\n")
    adsl.write_text(text[:s] + text[e:])
    got = [f for f in run(spec) if f.rule == "SPEC-IG"]
    assert lines(got) == [
        f"spec/adam/ADSL.yaml:{line_of(adsl, 'variables:')}: ERROR ADSL: required ADaMIG 1.3 variable SITEID "
        "(Study Site Identifier) is missing",
        f"spec/adam/ADSL.yaml:{line_of(adsl, 'Period 1')}: WARNING ADSL.TRT01P: label 'Planned Treatment for "
        "Period 1' but ADaMIG 1.3 says 'Planned Treatment for Period 01'",
        f"spec/adam/ADSL.yaml:{line_of(adsl, 'Date of First Exposure') + 1}: ERROR ADSL.TRTSDT: type Char but "
        "ADaMIG 1.3 says Num",
    ]


def test_findings_carry_location_fields(spec: Path) -> None:
    edit(spec / "sdtm" / "DM.yaml", "codelist: CL.SEX", "codelist: CL.GENDER")
    (f,) = run(spec)
    assert (f.severity, f.rule, f.dataset, f.variable, f.value) == (E, "SPEC-XREF", "DM", "SEX", "CL.GENDER")
    assert f.file == "spec/sdtm/DM.yaml" and f.line == line_of(spec / "sdtm" / "DM.yaml", "CL.GENDER")


def test_variables_from_the_sdtm_model_are_a_notice_in_general_classes_only(spec: Path) -> None:
    """SDTMIG 3.4 lets a general-observation-class domain add the model's identifier, timing and class
    qualifier variables (AE is Events: --LOC, VISITNUM); Special-Purpose DM may not."""
    ae, dm = spec / "sdtm" / "AE.yaml", spec / "sdtm" / "DM.yaml"
    visit = "  - name: VISITNUM\n    label: Visit Number\n    type: {t}\n    origin:\n      type: Derived\n"
    ae.write_text(ae.read_text() + visit.format(t="Num") + visit.format(t="Char").replace("VISITNUM", "AELAT")
                  .replace("Visit Number", "Laterality"))
    edit(dm, "  - name: COUNTRY", visit.format(t="Num") + "  - name: COUNTRY")
    got = [f for f in run(spec) if f.rule == "SPEC-IG"]
    assert lines(got) == [
        f"spec/sdtm/AE.yaml:{line_of(ae, 'name: VISITNUM')}: NOTICE AE.VISITNUM: not in the SDTMIG 3.4 AE table; "
        "added from the SDTM v2.0 model (VISITNUM, General Observations) as SDTMIG 3.4 allows for its class",
        f"spec/sdtm/AE.yaml:{line_of(ae, 'name: AELAT')}: NOTICE AE.AELAT: not in the SDTMIG 3.4 AE table; "
        "added from the SDTM v2.0 model (--LAT, Events) as SDTMIG 3.4 allows for its class",
        f"spec/sdtm/DM.yaml:{line_of(dm, 'name: VISITNUM')}: WARNING DM.VISITNUM: not an SDTMIG 3.4 DM variable; "
        "sponsor variables belong in SUPPDM or a custom domain",
    ]


def test_model_variable_with_wrong_type_is_an_error(spec: Path) -> None:
    ae = spec / "sdtm" / "AE.yaml"
    ae.write_text(ae.read_text() + "  - name: VISITNUM\n    label: Visit Number\n    type: Char\n    origin:\n"
                  "      type: Derived\n")
    assert lines([f for f in run(spec) if f.rule == "SPEC-IG"]) == [
        f"spec/sdtm/AE.yaml:{line_of(ae, 'name: VISITNUM') + 2}: ERROR AE.VISITNUM: type Char but SDTM v2.0 says "
        "Num for VISITNUM, General Observations"]


def test_ig_order_keeps_the_longest_run_in_order() -> None:
    from studyforge.spec.check import _longest_increasing

    # IG orders 1 2 30 15 18 19: moving only the 30 restores order, so only index 2 is out of place
    assert _longest_increasing([1, 2, 30, 15, 18, 19]) == {0, 1, 3, 4, 5}
    assert _longest_increasing([]) == set()


def test_origin_needs_a_method_or_a_predecessor_that_exists(spec: Path) -> None:
    """Define-XML 2.1: a Derived origin points to a method; a Predecessor names its source variable."""
    dm, ae, adsl = spec / "sdtm" / "DM.yaml", spec / "sdtm" / "AE.yaml", spec / "adam" / "ADSL.yaml"
    edit(dm, "    origin:\n      type: Not Available\n", "    origin:\n      type: Derived\n")     # ACTARMUD
    edit(ae, "      predecessor: DM.USUBJID\n", "")
    edit(adsl, "      predecessor: DM.SITEID\n", "      predecessor: DM.SITE\n")
    edit(adsl, "      predecessor: DM.AGE\n", "      predecessor: AGE\n")
    got = [f for f in run(spec) if f.rule == "SPEC-ORIGIN"]
    assert lines(got) == [
        f"spec/adam/ADSL.yaml:{line_of(adsl, 'DM.SITE')}: ERROR ADSL.SITEID: predecessor DM.SITE: DM has no "
        "variable SITE",
        f"spec/adam/ADSL.yaml:{line_of(adsl, 'predecessor: AGE')}: ERROR ADSL.AGE: predecessor 'AGE' must be "
        "DATASET.VARIABLE",
        f"spec/sdtm/AE.yaml:{line_of(ae, 'type: Predecessor')}: ERROR AE.USUBJID: origin Predecessor needs "
        "origin.predecessor (DATASET.VARIABLE)",
        f"spec/sdtm/DM.yaml:{line_of(dm, 'name: ACTARMUD') + 6}: WARNING DM.ACTARMUD: origin Derived but neither a "
        "method nor a derivation says how (define.xml needs a method)",
    ]
