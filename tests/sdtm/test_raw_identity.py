"""The raw-identity model (`raw:` in study.yaml): per-form overrides and composed identifiers."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from sdtm.readers import compose_id
from studyforge.spec.raw import IdPart, RawSpec


def test_for_form_applies_only_the_keys_the_form_sets():
    raw = RawSpec.model_validate({
        "subject": "PATNUM", "visit": "VISIT", "date_format": "MM/DD/YYYY", "encoding": "utf-8-sig",
        "forms": {"LB": {"encoding": "cp1252", "delimiter": ";", "dates": {"lbdat": "DD.MM.YYYY"}},
                  "ds": {"visit": None}},
    })
    lb = raw.for_form("lb")
    assert (lb.encoding, lb.delimiter, lb.subject, lb.visit) == ("cp1252", ";", ["PATNUM"], "VISIT")
    assert lb.date_formats("LBDAT") == ["DD.MM.YYYY"] and lb.date_formats("OTHER") == ["MM/DD/YYYY"]
    assert raw.for_form("ds").visit is None  # an explicit null overrides the study default
    assert raw.for_form("vs").encoding == "utf-8-sig"


def test_default_usubjid_is_study_dash_subject():
    raw = RawSpec.model_validate({"subject": ["SITE", "PT"]})
    f = pd.DataFrame({"SITE": ["701"], "PT": ["15"]})
    s = raw.for_form("dm")
    assert compose_id(f, s.subjid_parts()).tolist() == ["701-15"]
    assert compose_id(f, s.usubjid_parts(), "CDISCPILOT01").tolist() == ["CDISCPILOT01-701-15"]


def test_site_inside_the_identifier_and_padding():
    # "701-1015": site 701 is the digits before the dash; subject number zero padded to 5 -> "01015"
    f = pd.DataFrame({"PATNUM": ["701-1015", "702-7", ""]})
    assert compose_id(f, [IdPart(column="PATNUM", regex=r"^(\d+)-")]).tolist() == ["701", "702", ""]
    parts = [IdPart(study=True), IdPart(literal="/"), IdPart(column="PATNUM", regex=r"-(\d+)$", pad=5)]
    assert compose_id(f, parts, "S1").tolist() == ["S1/01015", "S1/00007", "S1/"]


@pytest.mark.parametrize("bad", [
    {"usubjid": [{"study": True, "literal": "-"}]},           # two kinds in one part
    {"usubjid": [{"literal": "-", "pad": 3}]},                # pad on a literal
    {"site": {"column": "X", "regex": "("}},                  # regex does not compile
    {"date_format": "MM/MM/YYYY"},                            # month twice
    {"date_format": "DD/MM"},                                 # no year
    {"encoding": "ebcdic"},
    {"delimiter": ";;"},
    {"ascii_replacements": {"e": "e"}},                       # key must be non-ASCII
    {"forms": {"ae": {"subjekt": "X"}}},                      # unknown key
])
def test_bad_raw_settings_are_rejected(bad):
    with pytest.raises(ValidationError):
        RawSpec.model_validate(bad)


def test_palace_declares_its_identity():
    from studyforge.spec.loader import load_spec

    raw = load_spec("specs/palace").study.raw
    ae = raw.for_form("ae")
    assert (ae.subject, ae.visit, ae.position, ae.site.column) == (["SUBJID"], "FOLDER", "RECORDPOSITION", "SITEID")
    assert raw.for_form("bicr_lesions").visit == "TIMEPOINT" and raw.for_form("bicr_lesions").position is None


def test_spec_error_in_raw_section_names_file_and_line(tmp_path):
    import shutil

    from studyforge.spec.loader import SpecError, load_spec

    spec = tmp_path / "spec"
    shutil.copytree("specs/palace", spec)
    text = (spec / "study.yaml").read_text().replace("  visit: FOLDER\n", "  visit: FOLDER\n  visitt: X\n")
    (spec / "study.yaml").write_text(text)
    with pytest.raises(SpecError) as exc:
        load_spec(spec)
    line = text.splitlines().index("  visitt: X") + 1
    assert f"study.yaml:{line}" in str(exc.value) and "visitt" in str(exc.value)


def test_an_identifier_the_declared_pattern_does_not_match_is_a_located_error():
    # "X99" has no "<digits>-" prefix: the site regex ^(\d+)- cannot match, so SITEID would be '' silently.
    # Expected: one ERROR for the distinct value, at its first line (3), naming the raw field and the value;
    # the matching values and the empty one (no subject) give nothing.
    import numpy as np

    from sdtm.readers import RawForm, identity_pattern_findings

    raw = RawSpec.model_validate({"subject": "PATNUM", "site": {"column": "PATNUM", "regex": r"^(\d+)-"}})
    frame = pd.DataFrame({"PATNUM": ["701-1015", "X99", "", "X99"]})
    rf = RawForm("dm", frame, "raw/dm.csv", np.array([2, 3, 4, 6]))
    found = identity_pattern_findings(rf, raw.for_form("dm"))
    assert [(f.rule, f.severity.value, f.file, f.line, f.field, f.value) for f in found] == [
        ("SD0012", "ERROR", "raw/dm.csv", 3, "PATNUM", "X99")]
    assert "2 record(s), lines 3, 6" in found[0].message
