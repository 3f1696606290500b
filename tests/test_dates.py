"""Golden cases and properties for studyforge.dates (ISO 8601 per SDTMIG 3.4 section 4.4; SAS epoch 1960-01-01)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studyforge.dates import (
    edc_date_to_iso,
    impute_date,
    impute_time,
    is_valid_iso8601,
    iso_to_sas_date,
    iso_to_sas_datetime,
    parse_iso8601,
    sas_date_to_iso,
    study_day,
)

SAS0 = dt.date(1960, 1, 1)


def sasd(y: int, m: int, d: int) -> float:
    return float((dt.date(y, m, d) - SAS0).days)


@pytest.mark.parametrize("text,valid,precision", [
    ("2020-02-29", True, "day"),            # 2020 is a leap year
    ("2021-02-29", False, ""),             # 2021 is not
    ("2000-02-29", True, "day"),            # divisible by 400
    ("1900-02-29", False, ""),             # divisible by 100, not 400
    ("2020-02-60", False, ""),
    ("2021-13-01", False, ""),
    ("2021-00-10", False, ""),
    ("2021-04-31", False, ""),
    ("2021", True, "year"),
    ("2021-05", True, "month"),
    ("2021-05-24T10", True, "hour"),
    ("2021-05-24T10:15", True, "minute"),
    ("2021-05-24T10:15:30", True, "second"),
    ("2021-05-24T10:15:30.125", True, "second"),
    ("2021-05-24T23:59:59", True, "second"),
    ("2021-05-24T24:00", False, ""),        # hour 24 not accepted
    ("2021-05-24T10:60", False, ""),
    ("2021-05-24T10:15:60", False, ""),
    ("", True, ""),                        # missing is valid
    ("2021---15", True, "year"),            # SDTMIG 4.4.4 missing-month placeholder
    ("2021-05-24T-:30", True, "day"),       # missing hour placeholder
    ("2021-", False, ""),                  # trailing placeholder/separator
    ("2021-05-24T-", False, ""),
    ("--05-24", False, ""),                # missing year not accepted
    ("21-05-24", False, ""),
    ("2021/05/24", False, ""),
    ("24MAY2021", False, ""),
    (" 2021-05-24", False, ""),
    ("2021-05-24   ", True, "day"),          # SAS trailing blanks
    ("2021-05-24T10:15+08:00", True, "minute"),
    ("2021-05-24T10:15Z", True, "minute"),
    ("2021-05-01/2021-05-03", False, ""),    # intervals are not a date value
])
def test_parse_golden(text, valid, precision):
    p = parse_iso8601(pd.Series([text]))
    assert bool(p["valid"].iloc[0]) is valid
    assert p["precision"].iloc[0] == precision


def test_parse_components_and_missing():
    p = parse_iso8601(pd.Series(["2021---15", None, "2021-05-24T10:15:30.5"]))
    assert p.loc[0, "year"] == 2021 and pd.isna(p.loc[0, "month"]) and p.loc[0, "day"] == 15
    assert bool(p.loc[1, "valid"]) and p.loc[1, "precision"] == ""
    assert p.loc[2, "second"] == 30 and p.loc[2, "fraction"] == 0.5
    assert str(p["year"].dtype) == "Int64"


def test_sas_dates_and_datetimes():
    s = pd.Series(["1960-01-01", "2021-05-24", "1959-12-31", "2021-05", "bad", "2021-05-24T10:15:30"])
    assert iso_to_sas_date(s).tolist()[:3] == [0.0, 22424.0, -1.0]
    assert np.isnan(iso_to_sas_date(s).iloc[3]) and np.isnan(iso_to_sas_date(s).iloc[4])
    assert iso_to_sas_date(s).iloc[5] == 22424.0
    dtm = iso_to_sas_datetime(pd.Series(["2021-05-24T10:15", "2021-05-24T10", "2021-05-24T10:15:30.5"]))
    assert dtm.iloc[0] == 22424 * 86400 + 10 * 3600 + 15 * 60
    assert np.isnan(dtm.iloc[1])              # hour alone is not enough
    assert dtm.iloc[2] == 22424 * 86400 + 36930.5
    assert sas_date_to_iso(pd.Series([0, 22424, np.nan, -1])).tolist() == ["1960-01-01", "2021-05-24", "", "1959-12-31"]


def test_study_day_golden():
    # SDTMIG 3.4 4.4.4: --DY = date - RFSTDTC + 1 on/after, date - RFSTDTC before; no day 0
    dtc = pd.Series(["2021-05-24", "2021-05-23", "2021-06-23", "2021-06", "", "2021-05-24T08:00"])
    before = dtc.copy()
    dy = study_day(dtc, pd.Series(["2021-05-24"] * 6))
    assert dy.tolist()[:3] == [1, -1, 31]
    assert dy.isna().tolist()[3:5] == [True, True] and dy.iloc[5] == 1
    assert str(dy.dtype) == "Int64"
    pd.testing.assert_series_equal(dtc, before)   # input unchanged, partial not imputed
    assert study_day(pd.Series(["2021-05-24"]), pd.Series(["2021-05"])).isna().all()


def test_impute_date_first_last_mid_and_flags():
    s = pd.Series(["2021-02", "2020-02", "2021", "2021-05-24", "", "bad", "2021---15"])
    first, f1 = impute_date(s, fill="first")
    last, f2 = impute_date(s, fill="last")
    mid, f3 = impute_date(s, fill="mid")
    assert first.tolist()[:4] == [sasd(2021, 2, 1), sasd(2020, 2, 1), sasd(2021, 1, 1), sasd(2021, 5, 24)]
    assert last.tolist()[:4] == [sasd(2021, 2, 28), sasd(2020, 2, 29), sasd(2021, 12, 31), sasd(2021, 5, 24)]
    assert mid.tolist()[:4] == [sasd(2021, 2, 15), sasd(2020, 2, 15), sasd(2021, 6, 30), sasd(2021, 5, 24)]
    # admiral: DTF "D" when the day was imputed, "M" when month and day; "" for complete dates
    assert f1.tolist() == ["D", "D", "M", "", "", "", "M"] == f2.tolist() == f3.tolist()
    assert first.iloc[4:6].isna().all()
    assert first.iloc[6] == sasd(2021, 1, 1)


def test_impute_date_clamping():
    s = pd.Series(["2020-12", "2020-11", "2020-12", "2020"])
    min_d = pd.Series(["2020-12-06", "2020-12-06", "2020-12-06", "2020-03-10"])
    v, flag = impute_date(s, fill="first", min_dates=min_d)
    # min date used only within the range the partial date allows (admiral impute_dtc_dt)
    assert v.tolist() == [sasd(2020, 12, 6), sasd(2020, 11, 1), sasd(2020, 12, 6), sasd(2020, 3, 10)]
    assert flag.tolist() == ["D", "D", "D", "M"]
    max_d = pd.Series([sasd(2020, 12, 20), sasd(2021, 1, 1), np.nan, sasd(2020, 7, 1)])
    v2, _ = impute_date(s, fill="last", max_dates=[max_d])
    assert v2.tolist() == [sasd(2020, 12, 20), sasd(2020, 11, 30), sasd(2020, 12, 31), sasd(2020, 7, 1)]
    with pytest.raises(ValueError):
        impute_date(s, fill="median")


def test_impute_time():
    s = pd.Series(["2021-05-24", "2021-05-24T10", "2021-05-24T10:15", "2021-05-24T10:15:30", "2021-05"])
    first, f = impute_time(s, fill="first")
    last, _ = impute_time(s, fill="last")
    base = 22424 * 86400
    assert first.tolist()[:4] == [base, base + 36000, base + 36900, base + 36930]
    assert last.tolist()[:4] == [base + 86399, base + 36000 + 3599, base + 36900 + 59, base + 36930]
    assert f.tolist() == ["H", "M", "S", "", ""]
    assert np.isnan(first.iloc[4])


def test_edc_date_to_iso():
    txt = pd.Series(["24 MAY 2021", "un may 2021", "UNK UNK 2021", "", "31 APR 2021", "2021-05-24",
                     "2021-05", "1 jan 2020", "24-May-2021", "24MAY2021", "15 UNK 2021", "UNK UNK UNKN",
                     "29 FEB 2021", "24 MAI 2021", "yesterday", "2021-02-30"])
    iso, err = edc_date_to_iso(txt)
    assert iso.tolist() == ["2021-05-24", "2021-05", "2021", "", "", "2021-05-24", "2021-05", "2020-01-01",
                            "2021-05-24", "2021-05-24", "2021---15", "", "", "", "", ""]
    assert err.tolist() == [False, False, False, False, True, False, False, False, False, False, False, True,
                            True, True, True, True]


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_iso_sas_iso_round_trip(d):
    s = pd.Series([d.isoformat()])
    sas = iso_to_sas_date(s)
    assert sas.iloc[0] == (d - SAS0).days
    assert sas_date_to_iso(sas).iloc[0] == d.isoformat()
    assert bool(is_valid_iso8601(s).iloc[0])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=25), max_size=8))
def test_parse_never_raises_and_garbage_invalid(texts):
    s = pd.Series(texts, dtype=object)
    p = parse_iso8601(s)
    assert len(p) == len(texts)
    for t, ok in zip(texts, p["valid"]):
        stripped = t.rstrip(" ")
        if stripped and not stripped[:4].isdigit():
            assert not ok
    edc_date_to_iso(s)


@settings(max_examples=200, deadline=None)
@given(st.integers(1900, 2100), st.integers(1, 12), st.integers(1, 31))
def test_validity_matches_python_calendar(y, m, d):
    try:
        dt.date(y, m, d)
        expected = True
    except ValueError:
        expected = False
    assert bool(is_valid_iso8601(pd.Series([f"{y:04d}-{m:02d}-{d:02d}"])).iloc[0]) is expected


def test_index_is_kept_and_bounds_are_positional():
    s = pd.Series(["2021-05", "2021-05-24"], index=[10, 20])
    assert parse_iso8601(s).index.tolist() == [10, 20]
    v, f = impute_date(s, fill="first", min_dates=pd.Series(["2021-05-10", ""], index=[0, 1]))
    assert v.index.tolist() == [10, 20] and v.tolist() == [sasd(2021, 5, 10), sasd(2021, 5, 24)]
    assert study_day(s, pd.Series(["2021-05-24", "2021-05-24"])).index.tolist() == [10, 20]
