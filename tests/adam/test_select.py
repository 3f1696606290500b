"""Selections as data (adam/select.py): each operator on a three-row frame, expected rows by hand."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from adam.select import Selection, locate, mask, select
from studyforge.spec.loader import SourceMap

DS = pd.DataFrame({"DSCAT": ["DISPOSITION EVENT", "DISPOSITION EVENT", "PROTOCOL MILESTONE"],
                   "DSTERM": ["DEATH DUE TO PNEUMONIA", "COMPLETED", "RANDOMIZED"],
                   "DSSCAT": ["STUDY PARTICIPATION", "", ""]})


def rows(spec) -> list[int]:
    return list(mask(DS, Selection.model_validate(spec)).to_numpy().nonzero()[0])


def test_operators():
    assert rows({"var": "DSCAT", "equals": "DISPOSITION EVENT"}) == [0, 1]
    assert rows({"var": "DSTERM", "in": ["COMPLETED", "RANDOMIZED"]}) == [1, 2]
    assert rows({"var": "DSTERM", "contains": "DEATH DUE TO"}) == [0]       # the pilot's death cause
    assert rows({"var": "DSSCAT", "missing": True}) == [1, 2]
    assert rows({"var": "DSSCAT", "missing": False}) == [0]
    assert rows({"not": {"var": "DSCAT", "equals": "PROTOCOL MILESTONE"}}) == [0, 1]
    assert rows({"all": [{"var": "DSCAT", "equals": "DISPOSITION EVENT"}, {"var": "DSSCAT", "missing": True}]}) == [1]
    assert rows({"any": [{"var": "DSTERM", "contains": "DEATH"}, {"var": "DSTERM", "equals": "RANDOMIZED"}]}) == [0, 2]


def test_short_form_is_all_of_in():
    s = Selection.model_validate({"DSCAT": ["DISPOSITION EVENT"], "DSTERM": ["COMPLETED", "X"]})
    assert rows({"DSCAT": ["DISPOSITION EVENT"], "DSTERM": ["COMPLETED", "X"]}) == [1]
    assert s.describe() == "DSCAT = 'DISPOSITION EVENT' and DSTERM in ('COMPLETED', 'X')"
    assert s.variables() == ["DSCAT", "DSTERM"]


def test_absent_variable_reads_as_missing():
    assert rows({"var": "DSDECOD", "missing": True}) == [0, 1, 2]
    assert rows({"var": "DSDECOD", "equals": "X"}) == []


@pytest.mark.parametrize("bad", [{"var": "DSCAT"}, {"var": "DSCAT", "equals": "A", "contains": "B"},
                                 {"all": [], }, {"var": "DSCAT", "equals": "A", "all": [{"var": "X", "equals": "B"}]},
                                 {"var": "DSCAT", "expression": "DSCAT == 'A'"}])
def test_malformed_selections_are_refused(bad):
    with pytest.raises(ValidationError):
        Selection.model_validate(bad)


def test_empty_match_is_a_warning_with_occurring_values_and_spec_line():
    sel = Selection.model_validate({"DSCAT": ["DISPOSITION EVENT"], "DSSCAT": ["END OF STUDY"]})
    m, found = select(DS, sel, dataset="DS", where="ADSL.derivation.params.disposition.0.where")
    assert not m.any() and len(found) == 1
    f = found[0]
    assert f.severity.value == "WARNING" and f.rule == "ADAM-SELECT-EMPTY"
    assert "DSSCAT: (missing), 'STUDY PARTICIPATION'" in f.message
    smap = SourceMap({("datasets", "ADSL", "derivation", "params", "disposition"): ("adam/ADSL.yaml", 33)})
    located = locate(found, smap)[0]
    assert (located.file, located.line) == ("adam/ADSL.yaml", 33)   # nearest recorded ancestor


def test_a_match_or_no_selection_is_silent():
    assert select(DS, None, dataset="DS", where="x")[1] == []
    assert select(DS, Selection.model_validate({"DSCAT": ["PROTOCOL MILESTONE"]}), dataset="DS", where="x")[1] == []


def test_pipeline_locates_selection_findings_in_the_spec():
    # With the loader's SourceMap, an empty selection names its spec file and line (issue 12).
    from adam.pipeline import derive_adam
    from studyforge.spec.loader import load_spec_with_locations
    from tests.adam.reference import SPEC_DIR, reference_sdtm

    spec, locations = load_spec_with_locations(SPEC_DIR)
    _, findings = derive_adam(reference_sdtm(spec), spec, locations)
    f = next(f for f in findings if f.rule == "ADAM-SELECT-EMPTY" and f.dataset == "AE")  # no AEOUT FATAL in PALACE
    assert f.file.endswith("adam/ADSL.yaml") and f.line is not None and f.line > 1
    text = (SPEC_DIR / "adam" / "ADSL.yaml").read_text().splitlines()
    here = "\n".join(text[f.line - 1:f.line + 1])
    assert "where" in here and "AEOUT" in here  # the second death_cause source
