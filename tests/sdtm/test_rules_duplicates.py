"""The spec's policy for exact duplicate raw records (`duplicates:` on a form part, an instrument or a
RECIST source): drop with a WARNING per record (and the record in the reconciliation), or keep with a
NOTICE. A duplicate is the same content; the record position is EDC bookkeeping, not content."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from sdtm.rules import load_all, rule
from sdtm.rules.base import LINE, Unmapped
from studyforge.findings import Finding
from tests.sdtm.rulekit import raw_form, refs

# line 2 and line 4 differ only in RECORDPOSITION: line 4 repeats line 2
XX = pd.DataFrame({"SUBJID": ["001", "001", "001"], "FOLDER": ["WEEK 1"] * 3, "RECORDPOSITION": ["1", "2", "3"],
                   "VAL": ["A", "B", "A"]})


def _build(spec, part: dict):
    load_all()
    r = refs(spec, "AE", raw={"xx": raw_form("xx", XX)})
    b = rule("forms")
    return b.fn(b.parse({"parts": [{"form": "xx", **part}]}), r)


def test_drop_removes_the_later_copy_with_a_warning_and_reconciles_it(sdtm_spec):
    frame, notes = _build(sdtm_spec, {"duplicates": "drop"})
    assert frame[LINE].tolist() == [2, 3]
    found = [n for n in notes if isinstance(n, Finding)]
    assert [(f.rule, f.severity.value, f.line, f.usubjid) for f in found] == [("SD0801", "WARNING", 4, "001")]
    gone = [n for n in notes if isinstance(n, Unmapped)]
    assert [(u.reason, u.rows[LINE].tolist()) for u in gone] == [("duplicate record", [4])]


def test_drop_is_the_default(sdtm_spec):
    frame, _ = _build(sdtm_spec, {})
    assert frame[LINE].tolist() == [2, 3]


def test_keep_keeps_every_record_with_a_notice(sdtm_spec):
    frame, notes = _build(sdtm_spec, {"duplicates": "keep"})
    assert frame[LINE].tolist() == [2, 3, 4]
    assert [(n.rule, n.severity.value, n.line) for n in notes] == [("SD0804", "NOTICE", 4)]


def test_a_repeated_key_with_different_values_is_an_error(sdtm_spec):
    # unique (SUBJID, FOLDER): line 3 repeats line 2's key with VAL B; line 4 was dropped as an exact copy first
    frame, notes = _build(sdtm_spec, {"unique": ["SUBJID", "FOLDER"]})
    assert frame[LINE].tolist() == [2]
    errs = [(n.rule, n.line, n.value) for n in notes if isinstance(n, Finding) and n.severity.value == "ERROR"]
    assert errs == [("SD0802", 3, "001/WEEK 1")]


@pytest.mark.parametrize("bad", ["maybe", "", None])
def test_bad_policy_is_an_error(sdtm_spec, bad):
    with pytest.raises(ValidationError):
        _build(sdtm_spec, {"duplicates": bad})


def test_policy_applies_to_instruments_too(sdtm_spec):
    load_all()
    form = XX.rename(columns={"VAL": "Q1"}).assign(QSDAT="01 JAN 2021")
    r = refs(sdtm_spec, "QS", raw={"qq": raw_form("qq", form)})
    b = rule("transpose")
    ins = {"form": "qq", "cat": "C", "date": "QSDAT", "items": {"Q1": "T1"}}
    dropped, _ = b.fn(b.parse({"instruments": [ins]}), r)
    kept, notes = b.fn(b.parse({"instruments": [{**ins, "duplicates": "keep"}]}), r)
    assert dropped["__resp"].tolist() == ["A", "B"] and kept["__resp"].tolist() == ["A", "B", "A"]
    assert [n.rule for n in notes] == ["SD0804"]
