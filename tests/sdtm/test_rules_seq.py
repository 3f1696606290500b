"""--SEQ (rule `seq`): 1..n within USUBJID by the declared sort (text, or numbers as numbers) or by raw
record order. Three-row frames, expected values derived by hand from the rule (SDTMIG 3.4 4.1.5: --SEQ
is unique within USUBJID; the sponsor defines the order)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from tests.sdtm.rulekit import derive, refs, rows


def _seq(spec, params, usubjid, keys=None, lines=None):
    vars = pd.DataFrame({"USUBJID": usubjid, **(keys or {})})
    frame = rows(len(usubjid), first_line=2) if lines is None else rows(len(usubjid)).assign(__line=lines)
    out, notes = derive("seq", params, frame, refs(spec, "QS", vars, variable="QSSEQ"))
    assert notes == []
    return out.tolist()


def test_text_order_compares_characters(sdtm_spec):
    # as text "10" < "9" < "A" (character by character): rows get 1, 2, 3
    assert _seq(sdtm_spec, {"sort": ["QSTESTCD"]}, ["S1"] * 3, {"QSTESTCD": ["10", "9", "A"]}) == [1.0, 2.0, 3.0]


def test_typed_order_compares_numbers_as_numbers(sdtm_spec):
    # typed: 9 < 10 (numbers), then text "A": "10" -> 2, "9" -> 1, "A" -> 3
    got = _seq(sdtm_spec, {"sort": ["QSTESTCD"], "typed": True}, ["S1"] * 3, {"QSTESTCD": ["10", "9", "A"]})
    assert got == [2.0, 1.0, 3.0]


def test_typed_order_puts_missing_first_and_reads_decimals(sdtm_spec):
    # "" first, then 2.5 < 10: "10" -> 3, "" -> 1, "2.5" -> 2
    got = _seq(sdtm_spec, {"sort": ["QSTESTCD"], "typed": True}, ["S1"] * 3, {"QSTESTCD": ["10", "", "2.5"]})
    assert got == [3.0, 1.0, 2.0]


def test_raw_order_follows_file_lines(sdtm_spec):
    # lines 7, 3, 5 -> by line: the row at line 3 is 1, line 5 is 2, line 7 is 3
    assert _seq(sdtm_spec, {"order": "raw"}, ["S1"] * 3, lines=[7, 3, 5]) == [3.0, 1.0, 2.0]


def test_numbering_restarts_per_subject(sdtm_spec):
    # S1 has one record (1); S2 has two: 2021-01-01 (1) before 2021-01-02 (2)
    got = _seq(sdtm_spec, {"sort": ["QSDTC"]}, ["S2", "S1", "S2"],
               {"QSDTC": ["2021-01-02", "2021-01-05", "2021-01-01"]})
    assert got == [2.0, 1.0, 1.0]


def test_equal_keys_keep_working_row_order(sdtm_spec):
    assert _seq(sdtm_spec, {"sort": ["QSDTC"]}, ["S1"] * 3, {"QSDTC": ["2021-01-01"] * 3}) == [1.0, 2.0, 3.0]


def test_numeric_keys_sort_as_numbers_missing_first(sdtm_spec):
    # a Num key: NaN first, then 9 < 10 -> 10.0 -> 3, 9.0 -> 2, NaN -> 1
    got = _seq(sdtm_spec, {"sort": ["VISITNUM"]}, ["S1"] * 3, {"VISITNUM": [10.0, 9.0, np.nan]})
    assert got == [3.0, 2.0, 1.0]


@pytest.mark.parametrize("bad", [
    {"order": "values"},                         # values without sort
    {"sort": []},                                # same, written out
    {"order": "raw", "sort": ["QSDTC"]},         # raw order takes no sort
    {"order": "raw", "typed": True},             # ... nor typed
    {"order": "random", "sort": ["QSDTC"]},      # unknown order
    {"sort": ["QSDTC"], "by": ["USUBJID"]},      # unknown parameter
])
def test_bad_params_are_errors(sdtm_spec, bad):
    with pytest.raises(ValidationError):
        derive("seq", bad, rows(1), refs(sdtm_spec, "QS", pd.DataFrame({"USUBJID": ["S1"]})))
