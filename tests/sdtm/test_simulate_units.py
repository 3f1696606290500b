"""Golden cases for the simulator's own RECIST engine and text formatters (rules cited per case)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from sdtm.simulate.fmt import edc_date, iso_date, num
from sdtm.simulate.recist import overall_response, timepoint_responses


def _tl(rows):
    return pd.DataFrame(rows, columns=["sidx", "reader", "tp", "meas", "nodal"])


def test_target_response_golden():
    """RECIST 1.1 sec. 4.3.1: PR = -30 % from baseline; PD = +20 % and +5 mm over the nadir; NE if missing."""
    # one lesion per subject; sums by time point
    cases = {
        1: ([50, 35, 34], ["PR", "PR"]),            # 34 <= 0.7 x 50 = 35 -> PR; 35 is exactly -30 % -> PR
        2: ([50, 40, 48], ["SD", "PD"]),            # -20 % -> SD; nadir 40: 48 = 1.2 x 40 and +8 mm -> PD
        3: ([20, 20, 24], ["SD", "SD"]),            # +20 % but only +4 mm -> SD
        4: ([30, np.nan, 45], ["NE", "PD"]),        # missing -> NE; 45 >= 1.2 x 30 and +15 mm -> PD
    }
    rows, tps = [], []
    for sidx, (sums, _) in cases.items():
        for tp, v in enumerate(sums):
            rows.append((sidx, "INV", tp, v, False))
            tps.append((sidx, "INV", tp))
    tl = _tl(rows)
    empty = pd.DataFrame(columns=["sidx", "reader", "tp", "status"])
    out = timepoint_responses(tl, empty, empty, pd.DataFrame(tps, columns=["sidx", "reader", "tp"]))
    for sidx, (_, expected) in cases.items():
        got = out[out["sidx"] == sidx].sort_values("tp")["TRGRESP"].tolist()
        assert got == expected, (sidx, got)


def test_nodal_complete_response():
    """RECIST 1.1: CR needs every non-nodal target gone and every nodal target < 10 mm short axis."""
    tl = _tl([(1, "R", 0, 20, True), (1, "R", 0, 15, False), (1, "R", 1, 9, True), (1, "R", 1, 0, False)])
    ntl = pd.DataFrame([(1, "R", 0, "PRESENT"), (1, "R", 1, "ABSENT")], columns=["sidx", "reader", "tp", "status"])
    nl = pd.DataFrame(columns=["sidx", "reader", "tp", "status"])
    out = timepoint_responses(tl, ntl, nl, pd.DataFrame([(1, "R", 0), (1, "R", 1)], columns=["sidx", "reader", "tp"]))
    assert out[["TRGRESP", "NTRGRESP", "NEWLES", "OVRLRESP"]].iloc[0].tolist() == ["CR", "CR", "N", "CR"]


def test_overall_response_table():
    """RECIST 1.1 Table 1 and the non-target-only table."""
    trg = pd.Series(["CR", "CR", "PR", "SD", "NE", "SD", "SD", "", "", ""])
    ntr = pd.Series(["CR", "NON-CR/NON-PD", "NE", "NON-CR/NON-PD", "NON-CR/NON-PD", "PD", "NON-CR/NON-PD", "CR", "NON-CR/NON-PD", "NE"])
    new = pd.Series(["N", "N", "N", "N", "N", "N", "Y", "N", "N", "N"])
    assert overall_response(trg, ntr, new).tolist() == ["CR", "PR", "PR", "SD", "NE", "PD", "PD", "CR", "NON-CR/NON-PD", "NE"]


def test_equivocal_new_lesion_is_not_progression():
    """RECIST 1.1 sec. 4.3.2: an equivocal new lesion does not mean PD."""
    tl = _tl([(1, "R", 0, 30, False), (1, "R", 1, 30, False)])
    nl = pd.DataFrame([(1, "R", 1, "EQUIVOCAL")], columns=["sidx", "reader", "tp", "status"])
    ntl = pd.DataFrame(columns=["sidx", "reader", "tp", "status"])
    out = timepoint_responses(tl, ntl, nl, pd.DataFrame([(1, "R", 0), (1, "R", 1)], columns=["sidx", "reader", "tp"]))
    assert out["OVRLRESP"].tolist() == ["SD"] and out["NEWLES"].tolist() == ["N"]


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_edc_and_iso_dates_round_trip(d):
    n = (d - dt.date(1970, 1, 1)).days
    assert dt.datetime.strptime(edc_date(np.array([n]))[0].title(), "%d %b %Y").date() == d
    assert dt.date.fromisoformat(iso_date(np.array([n]))[0]) == d


def test_edc_date_golden_and_missing():
    assert edc_date(np.array([(dt.date(2021, 5, 24) - dt.date(1970, 1, 1)).days, np.nan])).tolist() == ["24 MAY 2021", ""]


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), st.integers(min_value=0, max_value=3))
def test_num_matches_rounded_value(x, d):
    text = num(np.array([x]), d)[0]
    assert abs(float(text) - x) <= 0.5 * 10 ** -d + 1e-9 * max(1.0, abs(x))
    assert (len(text.split(".")[1]) if "." in text else 0) == d
    assert text != "-0" and not text.startswith("-0.0" if float(text) == 0 else "~")


def test_simulator_does_not_import_the_code_it_tests():
    """Issue 3: responses come from the simulator's own model, never from adam/ or the SDTM mapping."""
    import ast
    from pathlib import Path

    import sdtm.simulate as pkg

    for path in Path(pkg.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                mod = node.module or ""
            elif isinstance(node, ast.Import):
                mod = node.names[0].name
            else:
                continue
            assert not mod.startswith("adam"), (path.name, mod)
            assert not (mod.startswith("sdtm") and not mod.startswith("sdtm.simulate")), (path.name, mod)
