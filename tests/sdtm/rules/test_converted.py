"""Rule `converted_result` (sdtm/rules/converted.py): the original result in its collected unit,
converted with the study's unit table (standard = (original + offset) x factor) in decimal arithmetic,
rounded half up, and --STRESN is --STRESC read as a number (SDTMIG 3.4 4.5.1). Comparators stay in
--STRESC with --STRESN null (SDTMIG 3.4 4.5.1). Every expected value below is worked by hand."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from sdtm.rules.converted import ConvertedResultParams, converted_result
from studyforge.findings import Severity

from .helpers import refs, rows

VS_TABLE = [
    {"testcd": "TEMP", "from_unit": "F", "to_unit": "C", "factor": 0.5555555555555556, "offset": -32.0},
    {"testcd": "TEMP", "from_unit": "C", "to_unit": "C", "factor": 1.0},
    {"testcd": "WEIGHT", "from_unit": "LB", "to_unit": "kg", "factor": 0.45359237},
    {"testcd": "WEIGHT", "from_unit": "kg", "to_unit": "kg", "factor": 1.0},
    {"testcd": "SYSBP", "from_unit": "mmHg", "to_unit": "mmHg", "factor": 1.0},
]
LAB_TABLE = [
    {"testcd": "HGB", "from_unit": "g/dL", "to_unit": "g/L", "factor": 10.0},
    {"testcd": "CRP", "from_unit": "mg/L", "to_unit": "mg/L", "factor": 1.0},
    {"testcd": "TROPONI", "from_unit": "ng/L", "to_unit": "ng/L", "factor": 1.0},
]


def run(vars: dict, outputs=("text", "number", "unit"), **params):
    f = rows(A=[""] * len(next(iter(vars.values()))))
    r = refs(f, vars=vars)
    r = r.__class__(**{**r.__dict__, "spec": SimpleNamespace(study=SimpleNamespace(id="DEMO", units={
        "VS": VS_TABLE, "LAB": LAB_TABLE}))})
    got, notes = {}, []
    for o in outputs:
        p = ConvertedResultParams.model_validate({"source": {"var": "ORRES"}, "unit": {"var": "ORRESU"},
                                                  "testcd": "TESTCD", "output": o, **params})
        values, found = converted_result(f, p, r)
        got[o] = values.tolist()
        notes += found
    return got, notes


def test_units_converted_and_rounded_per_test():
    got, notes = run({"ORRES": ["98.6", "176", "142"], "ORRESU": ["F", "LB", "mmHg"],
                      "TESTCD": ["TEMP", "WEIGHT", "SYSBP"]}, table="VS",
                     per_test={"TEMP": {"decimals": 1}, "WEIGHT": {"decimals": 2}})
    # TEMP: (98.6 + -32) x 5/9 = 66.6 x 0.5555555555555556 = 37.000000000000003 -> 1 decimal -> 37.0
    # WEIGHT: 176 x 0.45359237 = 79.83225712 -> 2 decimals -> 79.83
    # SYSBP: mmHg is the standard unit, no precision declared -> the collected decimals (0) -> 142
    assert got["text"] == ["37.0", "79.83", "142"]
    assert got["number"] == [37.0, 79.83, 142.0]
    assert got["unit"] == ["C", "kg", "mmHg"]
    assert notes == []


def test_decimal_comma_comparators_and_declared_text():
    got, notes = run({"ORRES": ["13,2", "<0,5", "ND"], "ORRESU": ["g/dL", "mg/L", "ng/L"],
                      "TESTCD": ["HGB", "CRP", "TROPONI"]}, table="LAB", decimal_mark="comma",
                     text_results={"ND": "NOT DETECTED"})
    # HGB: 13,2 -> 13.2 g/dL x 10 = 132.0 g/L; no precision: the collected decimals (1) -> 132.0
    # CRP: '<0,5' in the standard unit -> '<0.5' (limit as collected, mark normalized), STRESN null
    # TROPONI: 'ND' declared -> 'NOT DETECTED', STRESN null; the unit is still the standard unit
    assert got["text"] == ["132.0", "<0.5", "NOT DETECTED"]
    assert got["number"][0] == 132.0 and math.isnan(got["number"][1]) and math.isnan(got["number"][2])
    assert got["unit"] == ["g/L", "mg/L", "ng/L"]
    assert notes == []


def test_converted_limit_and_half_up_rounding():
    got, _ = run({"ORRES": ["<0,5", "1,25", "0,05"], "ORRESU": ["g/dL", "kg", "g/dL"],
                  "TESTCD": ["HGB", "WEIGHT", "HGB"]}, table=VS_TABLE + LAB_TABLE,   # rows given inline
                 decimal_mark="comma", per_test={"HGB": {"decimals": 0}, "WEIGHT": {"decimals": 1}},
                 outputs=("text", "number"))
    # '<0,5' g/dL: the limit converts with the value: 0.5 x 10 = 5 -> '<5' (0 decimals), STRESN null
    # 1,25 kg to 1 decimal, half up on the decimal digits -> 1.3 (round-half-even would give 1.2)
    # 0,05 g/dL x 10 = 0.5 g/L to 0 decimals, half up -> 1
    assert got["text"] == ["<5", "1.3", "1"]
    assert math.isnan(got["number"][0]) and got["number"][1:] == [1.3, 1.0]


def test_unit_missing_from_the_table_and_unusable_values_are_located_warnings():
    got, notes = run({"ORRES": ["1.1", "hemolysed", "37.5"], "ORRESU": ["mg/dL", "C", "C"],
                      "TESTCD": ["CREAT", "TEMP", "TEMP"]}, table="VS", per_test={"TEMP": {"decimals": 1}})
    # CREAT in mg/dL: no row of the table -> no standard result, a WARNING naming the unit
    # 'hemolysed': not a number -> kept as text, no number, a WARNING naming the value
    assert got["text"] == ["", "hemolysed", "37.5"]
    assert math.isnan(got["number"][0]) and math.isnan(got["number"][1]) and got["number"][2] == 37.5
    assert got["unit"] == ["", "C", "C"]
    found = {(n.rule, n.severity, n.line, n.value) for n in notes}
    assert found == {("SD0401", Severity.WARNING, 2, "mg/dL"), ("SD1201", Severity.WARNING, 3, "hemolysed")}


def test_stresn_is_always_stresc_read_as_a_number():
    values = ["98.6", "99.95", "100.04", "0", "212", "32.45"]
    got, _ = run({"ORRES": values, "ORRESU": ["F"] * len(values), "TESTCD": ["TEMP"] * len(values)},
                 table="VS", per_test={"TEMP": {"decimals": 1}}, outputs=("text", "number"))
    # 212 F = 100.0 C; 32 F would be 0; 0 F = -17.777.. -> -17.8
    assert got["text"][3:5] == ["-17.8", "100.0"]
    assert [float(t) for t in got["text"]] == got["number"]


def test_params_are_checked():
    with pytest.raises(ValueError):
        ConvertedResultParams.model_validate({"source": {"var": "X"}, "unit": {"value": "mg"}, "testcd": "T",
                                              "table": "LAB", "output": "text"})


def test_one_precision_for_every_test():
    got, _ = run({"ORRES": ["176", "98.6", "64.5"], "ORRESU": ["LB", "F", "kg"],
                  "TESTCD": ["WEIGHT", "TEMP", "WEIGHT"]}, table="VS", precision={"significant": 3},
                 outputs=("text",))
    # 79.83225712 -> 3 significant digits -> 79.8; 37.000000000000003 -> 37.0; 64.5 -> 64.5
    assert got["text"] == ["79.8", "37.0", "64.5"]
