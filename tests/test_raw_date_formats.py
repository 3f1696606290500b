"""Declared raw date/time formats -> ISO 8601 (SDTMIG 3.4 section 4.4: partial dates stay partial,
an unknown inner part is a single '-', trailing unknown parts are dropped)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdtm._dates import raw_to_iso
from studyforge.dates import compile_format, format_to_iso, is_valid_iso8601, join_date_time

UNK = ["UN", "UNK", "UK", "--"]
MON = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


def iso(values, fmt, **kw):
    out, err = format_to_iso(pd.Series(values, dtype=object), fmt, unknown=UNK, **kw)
    return [o if not e else "ERR" for o, e in zip(out, err)]


# golden cases: each format with complete, partial and impossible values (expected written by hand)
@pytest.mark.parametrize("fmt, raw, expected", [
    ("DD MON YYYY", ["24 MAY 2021", "un may 2021", "UNK UNK 2021", "31 APR 2021", "24 MAY 21"],
     ["2021-05-24", "2021-05", "2021", "ERR", "ERR"]),
    ("YYYY-MM-DD", ["2021-05-24", "2021-UN-24", "2021-02-29", "2020-02-29"],
     ["2021-05-24", "2021---24", "ERR", "2020-02-29"]),               # 2021 is not a leap year
    ("MM/DD/YYYY", ["03/05/2021", "3/5/2021", "UNK/05/2021", "03/UNK/2021", "13/01/2021", "UNK/UNK/UNK"],
     ["2021-03-05", "2021-03-05", "2021---05", "2021-03", "ERR", "ERR"]),   # month 13; unknown year
    ("DD/MM/YYYY", ["03/05/2021", "UN/05/2021"], ["2021-05-03", "2021-05"]),
    ("DD.MM.YYYY", ["03.05.2021", "03/05/2021"], ["2021-05-03", "ERR"]),   # separator is part of the format
    ("YYYY/MM/DD HH:MM", ["2021/05/03 10:30", "2021/05/UN 10:30", "2021/05/03 UN:30", "2021/05/03 24:00"],
     ["2021-05-03T10:30", "2021-05--T10:30", "2021-05-03T-:30", "ERR"]),
    ("DD-MON-YY", ["05-JAN-21", "05-JAN-75", "UN-JAN-49", "---DEC-50"],
     ["2021-01-05", "1975-01-05", "2049-01", "1950-12"]),                  # pivot 50: 49 -> 2049, 50 -> 1950
    ("HH:MM", ["10:30", "UN:30", "10:UN", "9:05", "25:00"], ["10:30", "-:30", "10", "09:05", "ERR"]),
    ("ISO 8601", ["2021-05-03T10:00", "2021-05", "2021-13", "24 MAY 2021"],
     ["2021-05-03T10:00", "2021-05", "ERR", "ERR"]),
])
def test_each_declared_format(fmt, raw, expected):
    assert iso(raw, fmt) == expected


def test_first_matching_format_wins_and_blank_is_missing():
    assert iso(["24 MAY 2021", "2021-05-24", "", "  "], ["DD MON YYYY", "ISO 8601"]) == \
        ["2021-05-24", "2021-05-24", "", ""]


def test_year_pivot_is_a_parameter():
    assert iso(["05-JAN-30"], "DD-MON-YY", year_pivot=20) == ["1930-01-05"]
    assert iso(["05-JAN-30"], "DD-MON-YY", year_pivot=50) == ["2030-01-05"]


def test_unknown_tokens_are_declared():
    out, err = format_to_iso(pd.Series(["UN MAY 2021"]), "DD MON YYYY", unknown=["UNK"])
    assert err.tolist() == [True]   # UN is not declared as unknown here


@pytest.mark.parametrize("bad", ["DD/MM", "MM/MM/YYYY", "no tokens", "YYYY-MON-MM"])
def test_bad_formats_are_rejected(bad):
    with pytest.raises(ValueError):
        compile_format(bad)


def test_join_date_time():
    # SDTMIG 3.4 4.4.4: a missing middle component is a single '-' (2021-05 + 10:30 -> 2021-05--T10:30)
    d = pd.Series(["2021-05-03", "2021-05", "2021", "", "2021---15", "2021-05-03"])
    t = pd.Series(["10:30", "10:30", "10:30", "10:30", "10:30", ""])
    joined, orphan = join_date_time(d, t)
    assert joined.tolist() == ["2021-05-03T10:30", "2021-05--T10:30", "2021----T10:30", "", "2021---15T10:30",
                               "2021-05-03"]
    assert orphan.tolist() == [False, False, False, True, False, False]
    assert is_valid_iso8601(joined).all()


def test_one_finding_per_distinct_unparseable_value():
    vals = pd.Series(["bad", "03/05/2021", "bad", "bad", "31/12/2021", "bad", "bad", "bad"])
    lines = np.array([2, 3, 4, 6, 7, 9, 10, 11])
    out, found = raw_to_iso(vals, ["MM/DD/YYYY"], lines=lines, file="lb.csv", field="LBDAT", unknown=UNK)
    assert out.tolist() == ["", "2021-03-05", "", "", "", "", "", ""]
    assert [(f.rule, f.value, f.line, f.field) for f in found] == [("SD0301", "bad", 2, "LBDAT"),
                                                                    ("SD0301", "31/12/2021", 7, "LBDAT")]
    assert "6 record(s)" in found[0].message and "lines 2, 4, 6, 9, 10, ..." in found[0].message
    assert "accepted formats: MM/DD/YYYY" in found[0].message


def test_time_without_date_and_unparseable_time_are_findings():
    out, found = raw_to_iso(pd.Series(["03/05/2021", "", "03/05/2021"]), "MM/DD/YYYY", lines=np.array([2, 3, 4]),
                            file="vs.csv", field="VSDAT", times=pd.Series(["08:15", "09:00", "8h15"]),
                            time_formats="HH:MM", time_field="VSTIM", unknown=UNK)
    assert out.tolist() == ["2021-03-05T08:15", "", "2021-03-05"]
    assert sorted((f.rule, f.line, f.field, f.value) for f in found) == [
        ("SD0302", 4, "VSTIM", "8h15"), ("SD0303", 3, "VSTIM", "09:00")]


# properties: any real calendar date written in a format parses back to itself
dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31))
times = st.times()


@settings(max_examples=100, deadline=None)
@given(d=dates, t=times)
def test_property_formats_round_trip(d, t):
    cases = {
        "DD MON YYYY": f"{d.day:02d} {MON[d.month - 1]} {d.year}",
        "MM/DD/YYYY": f"{d.month}/{d.day}/{d.year}",
        "DD/MM/YYYY": f"{d.day:02d}/{d.month:02d}/{d.year}",
        "DD.MM.YYYY": f"{d.day:02d}.{d.month:02d}.{d.year}",
        "YYYY-MM-DD": d.isoformat(),
    }
    for fmt, text in cases.items():
        assert iso([text], fmt) == [d.isoformat()], fmt
    assert iso([f"{d.year}/{d.month:02d}/{d.day:02d} {t.hour:02d}:{t.minute:02d}"], "YYYY/MM/DD HH:MM") == \
        [f"{d.isoformat()}T{t.hour:02d}:{t.minute:02d}"]


@settings(max_examples=100, deadline=None)
@given(d=dates, unknown_day=st.booleans(), unknown_month=st.booleans(), token=st.sampled_from(UNK))
def test_property_partial_dates_stay_partial(d, unknown_day, unknown_month, token):
    day = token if unknown_day else f"{d.day:02d}"
    mon = token if unknown_month else f"{d.month:02d}"
    got = iso([f"{mon}/{day}/{d.year}"], "MM/DD/YYYY")[0]
    want = {(False, False): d.isoformat(), (True, False): f"{d.year}-{d.month:02d}",
            (False, True): f"{d.year}---{d.day:02d}", (True, True): f"{d.year}"}[(unknown_day, unknown_month)]
    assert got == want and is_valid_iso8601(pd.Series([got])).all()


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=12))
def test_property_any_text_is_iso_or_an_error(text):
    out, err = format_to_iso(pd.Series([text], dtype=object), ["MM/DD/YYYY", "DD MON YYYY"], unknown=UNK)
    assert err.iloc[0] or is_valid_iso8601(out).iloc[0]
    assert not (err.iloc[0] and out.iloc[0] != "")


def test_distinct_values_parsed_once(monkeypatch):
    import studyforge.dates as D

    seen = []
    real = D.format_to_iso

    def spy(u, *a, **k):
        seen.append(len(u))
        return real(u, *a, **k)

    monkeypatch.setattr(D, "format_to_iso", spy)
    raw_to_iso(pd.Series(["03/05/2021"] * 1000 + ["04/05/2021"] * 1000), "MM/DD/YYYY")
    assert seen == [2]
