"""`Refs.select`: the one record selection of raw-form rules (`forms` parts, `subject_date`), never silent."""

from __future__ import annotations

from types import SimpleNamespace

from tests.sdtm.rules.helpers import refs, rows

DS = rows("ds.csv", DSSCAT=["End of Study", "END OF TREATMENT", "end of  study"], PATNUM=["1", "1", "2"])
RAW = {"ds": SimpleNamespace(path="raw/ds.csv")}


def test_selection_normalises_case_and_blanks():
    # rows 1 and 3 are "END OF STUDY" once upper-cased and blanks collapsed; row 2 is not
    keep, notes = refs(DS, raw=RAW).select("ds", DS, "DSSCAT", ["END OF STUDY"])
    assert keep.tolist() == [True, False, True] and notes == []


def test_a_selection_matching_nothing_is_a_warning_naming_file_field_and_values():
    # "STUDY PARTICIPATION" is in none of the 3 records: a fact to report (issue 12's EOSSTT class)
    keep, notes = refs(DS, raw=RAW).select("ds", DS, "DSSCAT", ["STUDY PARTICIPATION"])
    assert not keep.any()
    assert [(n.rule, n.severity.value, n.file, n.field, n.value) for n in notes] == [
        ("SD0104", "WARNING", "raw/ds.csv", "DSSCAT", "STUDY PARTICIPATION")]
    assert "none of the 3 record(s)" in notes[0].message


def test_a_missing_selection_column_is_an_error_and_selects_nothing():
    keep, notes = refs(DS, raw=RAW).select("ds", DS, "DSCAT", ["X"])
    assert keep is None and [(n.rule, n.severity.value, n.field) for n in notes] == [("SD0102", "ERROR", "DSCAT")]


def test_no_selection_keeps_every_record():
    keep, notes = refs(DS, raw=RAW).select("ds", DS, None, [])
    assert keep.all() and notes == []
