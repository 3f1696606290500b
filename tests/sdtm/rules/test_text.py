"""Rule `compose` (sdtm/rules/text.py): parts trimmed, cut (position or regex group), zero padded,
upper-cased in that order, then concatenated. Expected values worked out by hand."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sdtm.rules.base import method_text, rule
from sdtm.rules.text import ComposeParams, compose

from .helpers import refs, rows


def run(frame, params, vars=None):
    return compose(frame, ComposeParams.model_validate(params), refs(frame, vars=vars))


def test_padding_regex_and_literal_separators():
    f = rows(SITE=["7", "12", "3"], PATNUM=["pt-0012", "pt-7", "x"])
    out, notes = run(f, {"parts": [{"value": "S1-"}, {"field": "SITE", "pad": 3}, {"value": "-"},
                                   {"field": "PATNUM", "regex": r"-(\d+)$"}]})
    # row 1: 'S1-' + '7' padded to '007' + '-' + group of 'pt-0012' = '0012' -> 'S1-007-0012'
    # row 2: 'S1-' + '012' + '-' + '7' -> 'S1-012-7'
    # row 3: 'x' does not match -> part empty -> (if_missing=empty) whole value empty, one WARNING
    assert out.tolist() == ["S1-007-0012", "S1-012-7", ""]
    assert [(n.rule, n.file, n.line, n.field, n.value) for n in notes] == [("SD1011", "vs.csv", 4, "PATNUM", "x")]


def test_substring_by_position_trim_and_upper():
    f = rows(TERM=["  headache mild", "nausea", ""])
    out, _ = run(f, {"parts": [{"field": "TERM", "trim": True, "start": 1, "length": 8, "upper": True}],
                     "if_missing": "keep"})
    # trimmed 'headache mild' chars 1-8 'headache' -> 'HEADACHE'; 'nausea' (6 chars) -> 'NAUSEA'; '' -> ''
    assert out.tolist() == ["HEADACHE", "NAUSEA", ""]
    # start without length: to the end ('headache mild'[9:] = 'mild')
    out, _ = run(f, {"parts": [{"field": "TERM", "trim": True, "start": 10}], "if_missing": "keep"})
    assert out.tolist() == ["mild", "", ""]


def test_if_missing_keep_versus_empty_and_whole_value_options():
    f = rows(A=["a", "", "c"])
    parts = [{"value": " id-"}, {"field": "A"}, {"value": "-"}, {"var": "VSTESTCD"}, {"value": " "}]
    vars = {"VSTESTCD": ["sysbp", "temp", ""]}
    out, _ = run(f, {"parts": parts}, vars)
    # empty: row 2 (A empty) and row 3 (VSTESTCD empty) give ''
    assert out.tolist() == [" id-a-sysbp ", "", ""]
    out, _ = run(f, {"parts": parts, "if_missing": "keep", "trim": True, "upper": True}, vars)
    # keep: pieces concatenated as they are, then the whole trimmed and upper-cased
    assert out.tolist() == ["ID-A-SYSBP", "ID--TEMP", "ID-C-"]


def test_pad_leaves_empty_and_longer_values():
    f = rows(N=["5", "", "12345"])
    out, _ = run(f, {"parts": [{"field": "N", "pad": 4}], "if_missing": "keep"})
    # '5' -> '0005'; '' stays '' (not '0000'); a value longer than the width is kept whole
    assert out.tolist() == ["0005", "", "12345"]


@pytest.mark.parametrize("bad", [
    {"parts": []},                                                      # nothing to compose
    {"parts": [{"field": "A", "regex": "(a)(b)"}]},                      # two groups
    {"parts": [{"field": "A", "regex": "ab"}]},                          # no group
    {"parts": [{"field": "A", "regex": "(a", }]},                        # not a regex
    {"parts": [{"field": "A", "start": 0}]},                             # positions are 1-based
    {"parts": [{"field": "A", "length": 2}]},                            # length without start
    {"parts": [{"field": "A", "start": 1, "regex": "(a)"}]},             # position and regex
    {"parts": [{"field": "A", "pad": 0}]},                               # pad width
    {"parts": [{"field": "A"}], "if_missing": "skip"},                   # unknown choice
    {"parts": [{"field": "A", "sep": "-"}]},                             # unknown key
])
def test_bad_params_are_spec_errors(bad):
    with pytest.raises(ValidationError):
        ComposeParams.model_validate(bad)


def test_registration():
    r = rule("compose")
    p = r.parse({"parts": [{"value": "S1-"}, {"field": "SITE", "pad": 3}, {"var": "X", "upper": True}]})
    assert set(r.reads(p)) == {"X"} and set(r.fields(p)) == {"SITE"}
    assert method_text(r.method, p) == ("Concatenation of 'S1-' + raw SITE (zero padded to 3) + X (upper case); "
                                        "empty when any source part is empty.")
