"""Rule `standard_result` (sdtm/rules/numeric.py): --STRESC made first (rounded half up on the
collected digits), --STRESN is --STRESC read as a number (SDTMIG 3.4 4.5.1). A comparator stays in
--STRESC with --STRESN null (SDTMIG 3.4 4.5.1: "the value with the greater than (>) or less than (<)
sign attached should be moved to the --STRESC variable, and --STRESN should be null")."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sdtm.rules.base import method_text, rule
from sdtm.rules.numeric import StandardResultParams, standard_result

from .helpers import refs, rows


def both(frame, params, vars):
    out = {}
    notes = {}
    for o in ("text", "number"):
        p = StandardResultParams.model_validate({**params, "output": o})
        out[o], notes[o] = standard_result(frame, p, refs(frame, vars=vars))
    return out["text"].tolist(), out["number"].tolist(), notes


def same(a, b):
    return all((math.isnan(x) and math.isnan(y)) or x == y for x, y in zip(a, b, strict=True))


def test_precision_per_test_and_stresn_agrees_with_stresc():
    f = rows(A=["", "", ""])
    vars = {"LBORRES": ["0.15", "1256", "2.75"], "LBTESTCD": ["ALT", "GLUC", "ALT"]}
    txt, num, notes = both(f, {"source": {"var": "LBORRES"}, "testcd": "LBTESTCD", "precision": {"decimals": 1},
                               "per_test": {"GLUC": {"significant": 2}}}, vars)
    # 0.15 to 1 decimal, half up on the decimal digits -> 0.2 (a binary float 0.15 = 0.1499.. would give 0.1)
    # 1256 to 2 significant digits -> 1.3E3 -> '1300'
    # 2.75 -> 2.8
    assert txt == ["0.2", "1300", "2.8"]
    assert num == [0.2, 1300.0, 2.8]
    assert [float(t) for t in txt] == num  # STRESN is STRESC as a number
    assert notes == {"text": [], "number": []}


def test_comparator_declared_text_and_decimal_comma():
    f = rows(LBORRES=["< 0,5", "nd", "1,5"], file="lb.csv")
    txt, num, notes = both(f, {"source": {"field": "LBORRES"}, "decimal_mark": "comma",
                               "text_results": {"ND": "NOT DONE"}}, {})
    # '< 0,5': comparator kept, limit as collected with the decimal mark normalized -> '<0.5', STRESN null
    # 'nd': declared text result (matched in upper case) -> 'NOT DONE', STRESN null
    # '1,5': decimal comma -> 1.5
    assert txt == ["<0.5", "NOT DONE", "1.5"]
    assert same(num, [math.nan, math.nan, 1.5])
    assert notes["number"] == []


def test_unusable_values_are_findings_with_file_line_field_value():
    f = rows(LBORRES=["<0.5", "ND", "1,5"], file="lb.csv")
    txt, num, notes = both(f, {"source": {"field": "LBORRES"}}, {})
    # decimal point: '<0.5' is a comparator; 'ND' is not declared and '1,5' has the wrong mark: each kept as
    # text in STRESC, STRESN null, and one WARNING per value for each variable
    assert txt == ["<0.5", "ND", "1,5"]
    assert same(num, [math.nan] * 3)
    got = [(n.rule, n.file, n.line, n.field, n.value) for n in notes["number"]]
    assert got == [("SD1201", "lb.csv", 3, "LBORRES", "ND"), ("SD1201", "lb.csv", 4, "LBORRES", "1,5")]
    assert "--STRESN left empty" in notes["number"][0].message
    assert "--STRESC keeps it as text" in notes["text"][0].message


def test_either_mark_signs_zero_and_missing():
    f = rows(R=["1.5", "1,5", "1,500.2"])
    txt, num, notes = both(f, {"source": {"field": "R"}, "decimal_mark": "either"}, {})
    # either mark is a decimal mark; a value with both (thousands separator) is not a number
    assert txt == ["1.5", "1.5", "1,500.2"] and same(num, [1.5, 1.5, math.nan])
    assert [n.value for n in notes["number"]] == ["1,500.2"]
    f = rows(R=["-0.04", "+5", ""])
    txt, num, notes = both(f, {"source": {"field": "R"}, "precision": {"decimals": 1}}, {})
    # -0.04 -> -0.0 -> written '0.0' (no negative zero); '+5' -> '5.0'; '' stays empty, no finding
    assert txt == ["0.0", "5.0", ""] and same(num, [0.0, 5.0, math.nan])
    assert notes["number"] == []
    f = rows(R=["0.012345", "99.96", "0"])
    txt, num, _ = both(f, {"source": {"field": "R"}, "precision": {"significant": 3}}, {})
    # 0.012345 -> 0.0123; 99.96 -> 100 (3 significant: 1.00E2 -> '100'); 0 stays '0'
    assert txt == ["0.0123", "100", "0"] and num == [0.0123, 100.0, 0.0]


def test_per_test_matching_nothing_is_a_notice_and_wide_records_name_their_raw_field():
    f = rows(A=["", "", ""])
    f["__field"] = ["SBP", "DBP", "SBP"]
    vars = {"VSORRES": ["120", "x", "130"], "VSTESTCD": ["SYSBP", "DIABP", "SYSBP"]}
    _, _, notes = both(f, {"source": {"var": "VSORRES"}, "testcd": "VSTESTCD", "per_test": {"TEMP": {"decimals": 1}}},
                       vars)
    kinds = sorted((n.rule, n.field, n.value) for n in notes["number"])
    # 'x' came from raw field DBP (row 2); TEMP is in no record
    assert kinds == [("SD1201", "DBP", "x"), ("SD1202", "VSTESTCD", "TEMP")]


@pytest.mark.parametrize("bad", [
    {"source": {"var": "X"}},                                                          # output missing
    {"source": {"var": "X"}, "output": "both"},                                        # unknown output
    {"source": {"var": "X"}, "output": "text", "precision": {"decimals": 1, "significant": 2}},
    {"source": {"var": "X"}, "output": "text", "precision": {}},                      # neither
    {"source": {"var": "X"}, "output": "text", "precision": {"decimals": -1}},
    {"source": {"var": "X"}, "output": "text", "per_test": {"A": {"decimals": 1}}},  # per_test without testcd
    {"source": {"var": "X"}, "output": "text", "decimal_mark": "dot"},
    {"source": {"var": "X", "field": "Y"}, "output": "text"},
    {"source": {"var": "X"}, "output": "text", "round": 2},                          # unknown key
])
def test_bad_params_are_spec_errors(bad):
    with pytest.raises(ValidationError):
        StandardResultParams.model_validate(bad)


def test_registration():
    r = rule("standard_result")
    p = r.parse({"source": {"var": "LBORRES"}, "output": "number", "testcd": "LBTESTCD",
                 "precision": {"decimals": 2}})
    assert set(r.reads(p)) == {"LBORRES", "LBTESTCD"}
    assert "rounded half up to 2 decimals" in method_text(r.method, p)
    assert "--STRESN is --STRESC read as a number" in method_text(r.method, p)


# -- properties: for any collected decimal, STRESN is STRESC as a number, and the rounding is the
#    decimal half-up rounding of the collected digits (checked against an independent integer computation)


def _half_up_by_integers(digits: str, decimals: int) -> str:
    """Independent reference: round a plain decimal text half up using integer arithmetic only."""
    neg = digits.startswith("-")
    whole, _, frac = digits.lstrip("-").partition(".")
    frac = (frac + "0" * (decimals + 1))
    kept = int(whole + frac[:decimals])
    if int(frac[decimals]) >= 5:
        kept += 1
    txt = str(kept).rjust(decimals + 1, "0")
    out = (txt[:-decimals] + "." + txt[-decimals:]) if decimals else txt
    return ("-" + out) if neg and kept != 0 else out


@settings(max_examples=200, deadline=None)
@given(whole=st.integers(0, 10**6), frac=st.text("0123456789", min_size=0, max_size=6),
       neg=st.booleans(), decimals=st.integers(0, 4), comma=st.booleans())
def test_rounding_and_agreement_property(whole, frac, neg, decimals, comma):
    digits = ("-" if neg else "") + str(whole) + ("." + frac if frac else "")
    collected = digits.replace(".", ",") if comma else digits
    f = rows(R=[collected, "", collected])
    txt, num, notes = both(f, {"source": {"field": "R"}, "precision": {"decimals": decimals},
                               "decimal_mark": "either"}, {})
    assert notes == {"text": [], "number": []}
    assert txt[0] == _half_up_by_integers(digits, decimals)
    assert num[0] == float(txt[0]) and txt[2] == txt[0]


def test_stresc_checks_agreement_with_the_stresn_variable():
    f = rows(R=["1.25", "ND", "<1"])
    base = {"source": {"field": "R"}, "output": "text", "number": "LBSTRESN", "precision": {"decimals": 1}}
    r = refs(f, vars={"LBSTRESN": [1.3, float("nan"), float("nan")]})
    out, notes = standard_result(f, StandardResultParams.model_validate(base), r)
    # 1.25 -> '1.3' = 1.3; 'ND' and '<1' have no number on either side: they agree
    assert out.tolist() == ["1.3", "ND", "<1"] and [n.rule for n in notes] == ["SD1201"]
    # a STRESN made with 2 decimals (1.25) disagrees with STRESC '1.3' -> ERROR naming the raw cell
    r = refs(f, vars={"LBSTRESN": [1.25, float("nan"), float("nan")]})
    _, notes = standard_result(f, StandardResultParams.model_validate(base), r)
    assert [(n.rule, n.line, n.field, n.value) for n in notes if n.rule == "SD1203"] == [("SD1203", 2, "R", "1.25")]
    with pytest.raises(ValidationError):
        StandardResultParams.model_validate({**base, "output": "number"})
