"""The numpy fast paths of the date parsers (fixed-shape ISO 8601 text and 'DD MON YYYY' EDC dates)
against an independent oracle: Python's datetime, which validates calendar dates itself."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from studyforge.dates import edc_date_to_iso, parse_iso8601

MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
LENGTHS = [4, 7, 10, 13, 16, 19]      # YYYY, YYYY-MM, YYYY-MM-DD, ...Thh, ...Thh:mm, ...Thh:mm:ss


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32), st.integers(0, 25),
                          st.integers(0, 61), st.integers(0, 61), st.sampled_from(LENGTHS)), min_size=1, max_size=40))
def test_fixed_shape_iso_matches_datetime(parts) -> None:
    texts, expect = [], []
    for y, mo, d, h, mi, s, n in parts:
        text = f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}"[:n]
        comps = [y, mo, d, h, mi, s][:LENGTHS.index(n) + 1]
        full = comps + [1, 1, 1, 0, 0, 0][len(comps):]
        try:     # datetime has no year 0000, which ISO 8601 text allows: a leap year stands in for it
            dt.datetime(full[0] or 2000, *full[1:])
            ok = True
        except ValueError:
            ok = False
        texts.append(text)
        expect.append((ok, comps))
    p = parse_iso8601(pd.Series(texts, dtype=object))
    names = ["year", "month", "day", "hour", "minute", "second"]
    for i, (ok, comps) in enumerate(expect):
        assert bool(p["valid"].iloc[i]) == ok, texts[i]
        if ok:
            assert [int(p[c].iloc[i]) for c in names[:len(comps)]] == comps
            assert p["precision"].iloc[i] == names[len(comps) - 1]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 39), st.sampled_from(MONTHS + ["XYZ"]), st.integers(1000, 9999),
                          st.sampled_from([" ", "-", "/"]), st.booleans()), min_size=1, max_size=40))
def test_dd_mon_yyyy_matches_datetime(parts) -> None:
    texts, expect = [], []
    for d, mon, y, sep, lower in parts:
        text = f"{d:02d}{sep}{mon}{sep}{y}"
        texts.append(text.lower() if lower else text)
        try:
            expect.append(dt.date(y, MONTHS.index(mon) + 1, d).isoformat())
        except ValueError:
            expect.append("")
    iso, err = edc_date_to_iso(pd.Series(texts, dtype=object))
    assert iso.tolist() == expect
    assert err.tolist() == [e == "" for e in expect]
