"""ISO 8601 date/time text (partial forms included) and SAS date/datetime numbers, vectorized.

SDTM --DTC values are ISO 8601 extended-format text that may be partial; ADaM *DT / *DTM are SAS
numbers (days / seconds since 1960-01-01). Conventions chosen here, conservatively:

* Accepted forms: ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``, ``YYYY-MM-DDThh``, ``...Thh:mm``,
  ``...Thh:mm:ss`` with optional fractional seconds (``.`` or ``,``) and, only when a time is
  present, an optional UTC designator / offset (``Z``, ``+hh:mm``, ``-hh:mm``; ignored in SAS values).
* A single ``-`` stands for a missing middle component (SDTMIG 3.4 section 4.4.4, e.g.
  ``2021---15``, ``2021-05-15T-:30``); it is legal only when a later component is known. The
  precision is then that of the last component of the unbroken leading run (``2021---15`` -> year).
  A missing year (``--05-15``) is not accepted.
* Trailing blanks are ignored (SAS character values are blank padded); any other whitespace,
  durations and intervals (``P1D``, ``a/b``) are invalid for a date/time value.
* Hours 00-23 (``T24:00`` is invalid), minutes and seconds 00-59 (no leap second).
* Empty text (or a missing value) is valid and means "missing".
"""

from __future__ import annotations

import re
from typing import Iterable, Literal

import numpy as np
import pandas as pd

SAS_EPOCH_DAYS = -3653  # 1960-01-01 as days since 1970-01-01

_NUM_OR_DASH = r"(\d{2}|-)"
_ISO_RE = (
    r"^(?P<year>\d{4})"
    r"(?:-(?P<month>\d{2}|-)"
    r"(?:-(?P<day>\d{2}|-)"
    r"(?:T(?P<hour>\d{2}|-)"
    r"(?::(?P<minute>\d{2}|-)"
    r"(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?"
    r")?)?)?$"
)
COMPONENTS = ["year", "month", "day", "hour", "minute", "second"]
PRECISIONS = ["", "year", "month", "day", "hour", "minute", "second"]

_MONTHS = {m: i + 1 for i, m in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])}
_UNKNOWN = {"UN", "UNK", "UK", "NK", "UNKN", "XX", "XXX", "XXXX"}


# --- calendar arithmetic (proleptic Gregorian, vectorized on int64 arrays) -------------------

def _is_leap(year: np.ndarray) -> np.ndarray:
    return ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)


def days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Number of days of each (year, month); month must be 1..12."""
    table = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
    m = np.clip(np.asarray(month, dtype=np.int64), 0, 12)
    return table[m] + ((m == 2) & _is_leap(np.asarray(year, dtype=np.int64))).astype(np.int64)


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 (H. Hinnant's algorithm, integer only)."""
    y = np.asarray(y, dtype=np.int64) - (np.asarray(m) <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    m = np.asarray(m, dtype=np.int64)
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + np.asarray(d, dtype=np.int64) - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    z = np.asarray(z, dtype=np.int64) + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + np.where(mp < 10, 3, -9)
    return y + (m <= 2), m, d


# --- parsing --------------------------------------------------------------------------------

def _as_text(values: Iterable | pd.Series) -> pd.Series:
    s = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    txt = s.astype("string").fillna("").str.rstrip(" ")
    return txt


def parse_iso8601(values: pd.Series) -> pd.DataFrame:
    """Split ISO 8601 text into components with validity and precision, one row per input row.

    Columns: year, month, day, hour, minute, second (Int64; <NA> when absent or "-"), fraction
    (Float64 seconds fraction), valid (bool), precision ("" for missing or invalid values).
    """
    txt = _as_text(values)
    codes, uniques = pd.factorize(txt)
    if len(uniques) < len(txt):  # dates repeat a lot: parse each distinct text once
        # txt has no missing values (filled with ""), so every code is >= 0
        out = _parse_distinct(pd.Series(np.asarray(uniques, dtype=object), dtype="string")).take(codes)
        out.index = txt.index
        return out
    return _parse_distinct(txt)


# the common complete shapes (YYYY, YYYY-MM, ..., YYYY-MM-DDThh:mm:ss): length -> number of components
_SHAPES = {4: 1, 7: 2, 10: 3, 13: 4, 16: 5, 19: 6}
_SEPARATORS = {4: "-", 7: "-", 10: "T", 13: ":", 16: ":"}
_FIELD_AT = [(0, 4), (5, 2), (8, 2), (11, 2), (14, 2), (17, 2)]   # (start, width) of each component


def _fixed_shapes(vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(matched, numbers) for values of the common fixed shapes, read as a code-point matrix in numpy
    (no regex per value); numbers is (n, 6) floats, NaN where a component is absent. Values of other
    shapes (a '-' placeholder, fractions, a zone) are left unmatched for the regex."""
    n = len(vals)
    nums = np.full((n, len(COMPONENTS)), np.nan)
    lens = np.fromiter(map(len, vals), dtype=np.int64, count=n)
    shaped = np.isin(lens, list(_SHAPES))
    if not shaped.any():
        return np.zeros(n, dtype=bool), nums
    cp = np.asarray(vals[shaped], dtype="U19").view(np.uint32).reshape(-1, 19).astype(np.int64)
    ln = lens[shaped]
    digit = (cp >= 48) & (cp <= 57)
    ok = np.ones(len(cp), dtype=bool)
    for i, (start, width) in enumerate(_FIELD_AT):
        inside = ln >= start + width
        ok &= ~inside | digit[:, start:start + width].all(axis=1)
    for pos, sep in _SEPARATORS.items():
        ok &= (ln <= pos) | (cp[:, pos] == ord(sep))
    d = cp - 48
    sub = np.full((len(cp), len(COMPONENTS)), np.nan)
    for i, (start, width) in enumerate(_FIELD_AT):
        value = np.zeros(len(cp), dtype=np.int64)
        for k in range(width):
            value = value * 10 + d[:, start + k]
        sub[:, i] = np.where(ln >= start + width, value, np.nan)
    matched = np.zeros(n, dtype=bool)
    matched[np.flatnonzero(shaped)[ok]] = True
    nums[matched] = sub[ok]
    return matched, nums


def _parse_distinct(txt: pd.Series) -> pd.DataFrame:
    n = len(txt)
    texts = txt.to_numpy(dtype=object)
    empty = texts == ""
    fast, fast_nums = _fixed_shapes(texts)
    slow = ~fast & ~empty
    parts = txt[slow].str.extract(_ISO_RE).reindex(txt.index) if slow.any() else None
    matched = fast.copy()
    present, dash, nums = {}, {}, {}
    for i, c in enumerate(COMPONENTS):
        present[c] = ~np.isnan(fast_nums[:, i])
        dash[c] = np.zeros(n, dtype=bool)
        nums[c] = fast_nums[:, i].copy()
        if parts is not None:
            col = parts[c][slow]
            at = np.flatnonzero(slow)
            present[c][at] = col.notna().to_numpy(dtype=bool)
            dash[c][at] = (col == "-").fillna(False).to_numpy(dtype=bool)
            nums[c][at] = pd.to_numeric(col.where(col != "-"), errors="coerce").to_numpy(dtype=float,
                                                                                       na_value=np.nan)
    if parts is not None:
        matched |= parts["year"].notna().to_numpy(dtype=bool)

    # a "-" placeholder must be followed by some known component
    later_known = np.zeros(n, dtype=bool)
    dash_ok = np.ones(n, dtype=bool)
    for c in reversed(COMPONENTS):
        dash_ok &= ~dash[c] | later_known
        later_known |= present[c] & ~dash[c]

    def known(c: str) -> np.ndarray:
        return ~np.isnan(nums[c])

    y, mo, d = nums["year"], nums["month"], nums["day"]
    ok = matched & dash_ok
    ok &= ~known("month") | ((mo >= 1) & (mo <= 12))
    mo_safe = np.where(known("month") & (mo >= 1) & (mo <= 12), mo, 1).astype(np.int64)
    y_safe = np.where(known("year"), y, 2000).astype(np.int64)
    max_day = np.where(known("month"), days_in_month(y_safe, mo_safe), 31)
    ok &= ~known("day") | ((d >= 1) & (d <= max_day))
    ok &= ~known("hour") | (nums["hour"] <= 23)
    ok &= ~known("minute") | (nums["minute"] <= 59)
    ok &= ~known("second") | (nums["second"] <= 59)
    tz = parts["tz"].fillna("") if parts is not None else pd.Series("", index=txt.index)
    tz_h = pd.to_numeric(tz.str.slice(1, 3), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    tz_m = pd.to_numeric(tz.str.slice(4, 6), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    has_off = tz.str.len().to_numpy() == 6
    ok &= ~has_off | ((tz_h <= 14) & (tz_m <= 59))

    # precision: last component of the unbroken leading run of known components
    level = np.zeros(n, dtype=np.int64)
    run = np.ones(n, dtype=bool)
    for i, c in enumerate(COMPONENTS, start=1):
        run &= known(c)
        level = np.where(run, i, level)
    level = np.where(ok, level, 0)
    valid = ok | empty

    cols: dict[str, object] = {}
    for c in COMPONENTS:
        vals = np.where(ok, nums[c], np.nan)
        miss = np.isnan(vals)
        cols[c] = pd.arrays.IntegerArray(np.where(miss, 0, vals).astype(np.int64), miss)
    frac = (pd.to_numeric("0." + parts["fraction"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            if parts is not None else np.full(n, np.nan))
    frac = np.where(ok, frac, np.nan)
    cols["fraction"] = pd.arrays.FloatingArray(np.nan_to_num(frac), np.isnan(frac))
    cols["valid"] = valid
    cols["precision"] = pd.array(np.array(PRECISIONS, dtype=object)[level], dtype="str")
    return pd.DataFrame(cols, index=txt.index)


def is_valid_iso8601(values: pd.Series) -> pd.Series:
    """True for valid ISO 8601 date/time text and for missing (empty) values."""
    return parse_iso8601(values)["valid"]


def _level(precision: pd.Series) -> np.ndarray:
    return precision.map({p: i for i, p in enumerate(PRECISIONS)}).to_numpy(dtype=np.int64)


def _ymd(parsed: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(parsed[c].fillna(1).to_numpy(dtype=np.int64) for c in ("year", "month", "day"))  # type: ignore[return-value]


# --- conversions ----------------------------------------------------------------------------

def iso_to_sas_date(values: pd.Series) -> pd.Series:
    """SAS date (days since 1960-01-01) of each value; NaN unless the date part is complete and valid."""
    return parsed_sas_date(parse_iso8601(values))


def parsed_sas_date(p: pd.DataFrame) -> pd.Series:
    """iso_to_sas_date of values already parsed by parse_iso8601."""
    y, m, d = _ymd(p)
    days = (_days_from_civil(y, m, d) - SAS_EPOCH_DAYS).astype(float)
    return pd.Series(np.where(_level(p["precision"]) >= 3, days, np.nan), index=p.index, dtype=float)


def iso_to_sas_datetime(values: pd.Series) -> pd.Series:
    """SAS datetime (seconds since 1960-01-01T00:00:00); NaN unless date and at least hh:mm are known.

    A time-zone designator, if any, is ignored (local clock time is kept, as SAS does).
    """
    p = parse_iso8601(values)
    y, m, d = _ymd(p)
    days = (_days_from_civil(y, m, d) - SAS_EPOCH_DAYS).astype(float)
    secs = (p["hour"].fillna(0).to_numpy(dtype=float) * 3600 + p["minute"].fillna(0).to_numpy(dtype=float) * 60
            + p["second"].fillna(0).to_numpy(dtype=float) + p["fraction"].fillna(0).to_numpy(dtype=float))
    return pd.Series(np.where(_level(p["precision"]) >= 5, days * 86400 + secs, np.nan), index=p.index, dtype=float)


def sas_date_to_iso(values: pd.Series) -> pd.Series:
    """ISO 8601 'YYYY-MM-DD' text of SAS dates (fractions are floored); '' for missing values."""
    s = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=float)
    num = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    miss = ~np.isfinite(num)
    y, m, d = _civil_from_days(np.where(miss, 0, np.floor(num)).astype(np.int64) + SAS_EPOCH_DAYS)
    txt = (pd.Series(y, index=s.index).astype(str).str.zfill(4) + "-" + pd.Series(m, index=s.index).astype(str).str.zfill(2)
           + "-" + pd.Series(d, index=s.index).astype(str).str.zfill(2))
    return txt.where(~miss, "").astype("str")


def _to_sas_dates(values: pd.Series | Iterable, index: pd.Index) -> np.ndarray:
    """Min/max bound values as SAS dates: numbers are taken as SAS dates, text as ISO 8601."""
    s = values if isinstance(values, pd.Series) else pd.Series(list(values))
    if len(s) != len(index):
        raise ValueError(f"bound dates have {len(s)} values for {len(index)} dates")
    s = s.reset_index(drop=True)
    if pd.api.types.is_numeric_dtype(s):
        return s.to_numpy(dtype=float, na_value=np.nan)
    return iso_to_sas_date(s).to_numpy(dtype=float)


def _bounds(arg, index: pd.Index) -> list[np.ndarray]:
    if arg is None:
        return []
    if isinstance(arg, (list, tuple)) and arg and isinstance(arg[0], (pd.Series, list, tuple, np.ndarray)):
        return [_to_sas_dates(a, index) for a in arg]
    return [_to_sas_dates(arg, index)]


def impute_date(
    values: pd.Series,
    *,
    fill: Literal["first", "last", "mid"] = "first",
    min_dates: pd.Series | list[pd.Series] | None = None,
    max_dates: pd.Series | list[pd.Series] | None = None,
) -> tuple[pd.Series, pd.Series]:
    """Impute partial dates to SAS dates with an ADaM --DTF flag (admiral semantics).

    Missing day: first -> 01, last -> last day of month, mid -> 15. Missing month (and day):
    first -> 01-01, last -> 12-31, mid -> 06-30. Flag "D" when only the day was imputed, "M" when
    month and day were ("2021---15" has precision year: its day is not used). Complete dates are
    kept with flag "". A bound (SAS number or ISO text per row) is applied only when it lies within
    the range the partial date allows, so known parts never change: the result is raised to any
    min date in range, and lowered to any max date in range. Invalid/empty/year-less -> NaN, "".
    """
    if fill not in ("first", "last", "mid"):
        raise ValueError(f"fill must be 'first', 'last' or 'mid', not {fill!r}")
    p = parse_iso8601(values)
    lvl = _level(p["precision"])
    y = p["year"].fillna(2000).to_numpy(dtype=np.int64)
    m_known = lvl >= 2
    d_known = lvl >= 3
    m = np.where(m_known, p["month"].fillna(1).to_numpy(dtype=np.int64), 1)
    lo_m = np.where(m_known, m, 1)
    hi_m = np.where(m_known, m, 12)
    lo = _days_from_civil(y, lo_m, np.where(d_known, p["day"].fillna(1).to_numpy(dtype=np.int64), 1))
    hi = _days_from_civil(y, hi_m, np.where(d_known, p["day"].fillna(1).to_numpy(dtype=np.int64),
                                            days_in_month(y, hi_m)))
    if fill == "first":
        imp = lo
    elif fill == "last":
        imp = hi
    else:
        mid_m = np.where(m_known, m, 6)
        mid_d = np.where(m_known, 15, 30)
        imp = np.where(d_known, lo, _days_from_civil(y, mid_m, mid_d))
    imp = imp.astype(float)
    lo_f, hi_f = lo.astype(float), hi.astype(float)
    for b in _bounds(min_dates, p.index):
        b = b + SAS_EPOCH_DAYS  # SAS days -> days since 1970
        in_range = (b >= lo_f) & (b <= hi_f)
        imp = np.where(in_range & (b > imp), b, imp)
    for b in _bounds(max_dates, p.index):
        b = b + SAS_EPOCH_DAYS  # SAS days -> days since 1970
        in_range = (b >= lo_f) & (b <= hi_f)
        imp = np.where(in_range & (b < imp), b, imp)
    usable = lvl >= 1
    out = pd.Series(np.where(usable, imp - SAS_EPOCH_DAYS, np.nan), index=p.index, dtype=float)
    flag = np.where(~usable | d_known, "", np.where(m_known, "D", "M"))
    return out, pd.Series(flag, index=p.index, dtype="str")


def impute_time(
    values: pd.Series, *, fill: Literal["first", "last"] = "first"
) -> tuple[pd.Series, pd.Series]:
    """SAS datetimes with missing time parts imputed (first 00:00:00, last 23:59:59) and --TMF flag.

    Flag "H" when the hour was imputed (and so minutes, seconds), "M" when minutes, "S" when only
    seconds, "" when nothing was. NaN and "" unless the date part is complete.
    """
    if fill not in ("first", "last"):
        raise ValueError(f"fill must be 'first' or 'last', not {fill!r}")
    p = parse_iso8601(values)
    lvl = _level(p["precision"])
    y, m, d = _ymd(p)
    days = (_days_from_civil(y, m, d) - SAS_EPOCH_DAYS).astype(float)
    hi = fill == "last"
    hour = np.where(lvl >= 4, p["hour"].fillna(0).to_numpy(dtype=float), 23 if hi else 0)
    minute = np.where(lvl >= 5, p["minute"].fillna(0).to_numpy(dtype=float), 59 if hi else 0)
    second = np.where(lvl >= 6, p["second"].fillna(0).to_numpy(dtype=float) + p["fraction"].fillna(0).to_numpy(dtype=float),
                      59 if hi else 0)
    usable = lvl >= 3
    dtm = np.where(usable, days * 86400 + hour * 3600 + minute * 60 + second, np.nan)
    flag = np.select([~usable, lvl == 3, lvl == 4, lvl == 5], ["", "H", "M", "S"], "")
    return pd.Series(dtm, index=p.index, dtype=float), pd.Series(flag, index=p.index, dtype="str")


def study_day(dtc: pd.Series, ref_dtc: pd.Series) -> pd.Series:
    """SDTM --DY: date - ref + 1 on or after the reference date, date - ref before it (no day 0).

    <NA> when either date is not complete (partial dates are never imputed for --DY). Inputs are
    aligned by position and left unchanged.
    """
    a = iso_to_sas_date(dtc).to_numpy()
    b = iso_to_sas_date(pd.Series(np.asarray(ref_dtc, dtype=object))).to_numpy()
    if len(a) != len(b):
        raise ValueError(f"dtc has {len(a)} values, ref_dtc {len(b)}")
    diff = a - b
    dy = np.where(diff >= 0, diff + 1, diff)
    out = pd.array(np.where(np.isnan(dy), 0, dy).astype(np.int64), dtype="Int64")
    out[np.isnan(dy)] = pd.NA
    return pd.Series(out, index=dtc.index if isinstance(dtc, pd.Series) else None)


def edc_date_to_iso(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """EDC date text ('24 MAY 2021', 'UN MAY 2021', 'UNK UNK 2021', '') to ISO 8601, with an error mask.

    Case-insensitive; day/month/year separated by blanks, '-' or '/', or none ('24MAY2021').
    Unknown parts: UN, UNK, UK, NK (day or month), UNK/UNKN (year). A known day with an unknown
    month gives the SDTMIG form '2021---15'. Text already in valid ISO 8601 is accepted as is
    (EDC exports mix both). An unknown year cannot be expressed in ISO 8601, so it is an error,
    as are impossible dates ('31 APR 2021') and anything unparseable; errors map to ''.
    """
    t = _as_text(text).str.strip().str.upper()
    fast, iso = _edc_fixed(t.to_numpy(dtype=object))
    err = np.zeros(len(t), dtype=bool)
    if not fast.all():     # the other shapes by the general pattern
        slow_iso, slow_err = _edc_general(t[~fast])
        iso[~fast], err[~fast] = slow_iso.to_numpy(dtype=object), slow_err.to_numpy(dtype=bool)
    return pd.Series(iso, index=t.index, dtype="str"), pd.Series(err, index=t.index)


def _edc_general(t: pd.Series) -> tuple[pd.Series, pd.Series]:
    """edc_date_to_iso by pattern, on stripped upper-case text: any separators, unknown parts, ISO 8601."""
    pat = (r"^(?:(?P<d>\d{1,2}|UNK|UN|UK|NK)[ \-/]*)?(?P<m>[A-Z]{2,3})[ \-/]*(?P<y>\d{4}|UNKN|UNK|UK|NK)$")
    g = t.str.extract(pat)
    months = g["m"].map(_MONTHS)
    m_unknown = g["m"].isin(_UNKNOWN)
    d_unknown = g["d"].isin(_UNKNOWN) | g["d"].isna()
    y_known = g["y"].str.fullmatch(r"\d{4}").fillna(False).astype(bool)
    ok = g["m"].notna() & (months.notna() | m_unknown) & y_known
    day_num = pd.to_numeric(g["d"].where(~d_unknown), errors="coerce")
    y_txt = g["y"].fillna("")
    mo_txt = months.fillna(0).astype(int).astype(str).str.zfill(2)
    d_txt = day_num.fillna(0).astype(int).astype(str).str.zfill(2)
    iso = pd.Series(
        np.select(
            [d_unknown & m_unknown, d_unknown, m_unknown],
            [y_txt, y_txt + "-" + mo_txt, y_txt + "---" + d_txt],
            y_txt + "-" + mo_txt + "-" + d_txt,
        ),
        index=t.index, dtype="str",
    )
    iso = iso.where(ok, "")
    iso_ok = ok & is_valid_iso8601(iso)
    # values already in ISO 8601
    already = ~ok & (t != "") & is_valid_iso8601(t)
    iso = iso.where(iso_ok, t.where(already, ""))
    error = (t != "") & ~iso_ok & ~already
    iso = iso.where(~error, "")
    return iso.astype("str"), error.astype(bool)


_MONTH_CODES = {sum(ord(ch) << (8 * i) for i, ch in enumerate(m)): k for m, k in _MONTHS.items()}


def _edc_fixed(vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(matched, ISO text) for complete, possible 'DD MON YYYY' dates (separator blank, '-' or '/'),
    read as a code-point matrix in numpy; anything else is left to the general pattern."""
    n = len(vals)
    iso = np.full(n, "", dtype=object)
    lens = np.fromiter(map(len, vals), dtype=np.int64, count=n)
    shaped = lens == 11
    if not shaped.any():
        return np.zeros(n, dtype=bool), iso
    cp = np.asarray(vals[shaped], dtype="U11").view(np.uint32).reshape(-1, 11).astype(np.int64)
    digit = (cp >= 48) & (cp <= 57)
    sep = np.isin(cp[:, [2, 6]], [32, 45, 47]).all(axis=1)
    ok = sep & digit[:, [0, 1, 7, 8, 9, 10]].all(axis=1)
    key = cp[:, 3] + (cp[:, 4] << 8) + (cp[:, 5] << 16)
    month = pd.Series(key).map(_MONTH_CODES).to_numpy(dtype=float, na_value=np.nan)
    d = cp - 48
    day = d[:, 0] * 10 + d[:, 1]
    year = d[:, 7] * 1000 + d[:, 8] * 100 + d[:, 9] * 10 + d[:, 10]
    ok &= ~np.isnan(month)
    mo = np.where(ok, month, 1).astype(np.int64)
    ok &= (day >= 1) & (day <= days_in_month(year, mo))
    good, mo = cp[ok], mo[ok]
    out = np.empty((len(good), 10), dtype=np.uint8)   # YYYY-MM-DD assembled as ASCII bytes (digits only)
    out[:, 0:4] = good[:, 7:11]
    out[:, [4, 7]] = 45
    out[:, 5], out[:, 6] = 48 + mo // 10, 48 + mo % 10
    out[:, 8:10] = good[:, 0:2]
    matched = np.zeros(n, dtype=bool)
    matched[np.flatnonzero(shaped)[ok]] = True
    iso[matched] = out.view("S10").ravel().astype("U10").astype(object)
    return matched, iso


# --- declared raw formats (DD MON YYYY, MM/DD/YYYY, YYYY/MM/DD HH:MM, ...) -------------------

FORMAT_TOKENS = ("YYYY", "MON", "YY", "MM", "DD", "HH", "MI", "SS")
ISO_FORMAT = "ISO 8601"
_TOKEN_PART = {"YYYY": "year", "YY": "year", "MON": "month", "MM": "month", "DD": "day",
               "HH": "hour", "MI": "minute", "SS": "second"}
_TOKEN_RE = {"YYYY": r"\d{4}", "YY": r"\d{2}", "MON": r"[A-Z]{3}", "MM": r"\d{1,2}", "DD": r"\d{1,2}",
             "HH": r"\d{1,2}", "MI": r"\d{2}", "SS": r"\d{2}"}


def compile_format(fmt: str) -> tuple[tuple[str, str], ...]:
    """A declared date/time format as ((kind, text), ...) with kind 'token' or 'literal'.

    Tokens: YYYY, YY, MON (JAN..DEC), MM (month; minutes when it follows HH), DD, HH, MI, SS;
    anything else is a literal separator (a blank matches one or more blanks). `ISO 8601` accepts
    ISO 8601 text as is. Raises ValueError for a format without tokens or with a part twice.
    """
    if fmt.strip().upper() in (ISO_FORMAT, "ISO8601"):
        return (("iso", ISO_FORMAT),)
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    f = fmt.strip().upper()
    i = 0
    while i < len(f):
        tok = next((t for t in FORMAT_TOKENS if f.startswith(t, i)), None)
        if tok is None:
            out.append(("literal", f[i]))
            i += 1
            continue
        if tok == "MM" and "hour" in seen:
            tok = "MI"
        part = _TOKEN_PART[tok]
        if part in seen:
            raise ValueError(f"date format {fmt!r} gives the {part} twice "
                             f"(tokens: {', '.join(FORMAT_TOKENS)}; MM after HH means minutes)")
        seen.add(part)
        out.append(("token", tok))
        i += len(tok)
    if not seen:
        raise ValueError(f"date format {fmt!r} has no date or time part (tokens: {', '.join(FORMAT_TOKENS)})")
    if seen & {"month", "day"} and "year" not in seen:
        raise ValueError(f"date format {fmt!r} has a month or day but no year (YYYY or YY)")
    return tuple(out)


def _format_regex(fmt: str, unknown: tuple[str, ...]) -> str:
    unk = "|".join(re.escape(u.upper()) for u in sorted(unknown, key=len, reverse=True))
    pieces = []
    for kind, text in compile_format(fmt):
        if kind == "token":
            alt = f"{_TOKEN_RE[text]}|{unk}" if unk else _TOKEN_RE[text]
            pieces.append(f"(?P<{text}>{alt})")
        elif text == " ":
            pieces.append(r"\s+")
        else:
            pieces.append(re.escape(text))
    return "^" + "".join(pieces) + "$"


def format_to_iso(text: pd.Series, formats: list[str] | str, *, unknown: Iterable[str] = (),
                  year_pivot: int = 50) -> tuple[pd.Series, pd.Series]:
    """Raw date/time text in declared formats -> (ISO 8601 text, error mask); first format that matches wins.

    Unknown parts (UN, UNK, ...) stay unknown (SDTMIG 3.4 4.4.4): trailing ones are dropped
    ('UN/05/2021' -> '2021-05'), inner ones become '-' ('05/UN/2021' in DD/MM/YYYY -> '2021---05').
    A format with only time tokens gives 'hh:mm[:ss]' (to join to a date, see join_date_time).
    Errors (no format matches, unknown year, impossible dates or times) map to ''; '' is missing.
    YY below `year_pivot` is 20YY, otherwise 19YY.
    """
    formats = [formats] if isinstance(formats, str) else list(formats)
    unk = tuple(str(u).upper() for u in unknown)
    t = _as_text(text).str.strip().str.upper()
    iso = pd.Series("", index=t.index, dtype=object)
    done = (t == "").to_numpy(dtype=bool)
    for fmt in formats:
        todo = ~done
        if not todo.any():
            break
        sub = t[todo]
        if compile_format(fmt)[0][0] == "iso":
            got = is_valid_iso8601(sub).to_numpy(dtype=bool) & (sub != "").to_numpy(dtype=bool)
            vals = sub.to_numpy(dtype=object)
        else:
            g = sub.str.extract(_format_regex(fmt, unk))
            got, vals = _compose_iso(g, unk, year_pivot)
        idx = np.flatnonzero(todo)[got]
        iso.iloc[idx] = vals[got]
        done[idx] = True
    error = ~done
    return iso.astype("str"), pd.Series(error, index=t.index, dtype=bool)


def _compose_iso(g: pd.DataFrame, unknown: tuple[str, ...], year_pivot: int) -> tuple[np.ndarray, np.ndarray]:
    """Named token groups -> (matched-and-valid mask, ISO text)."""
    n = len(g)
    first_tok = g.columns[0] if len(g.columns) else None
    matched = g[first_tok].notna().to_numpy(dtype=bool) if first_tok else np.zeros(n, dtype=bool)
    comp: dict[str, np.ndarray] = {}   # part -> text ('' absent from format, '-' unknown, digits)
    ok = matched.copy()
    for tok in g.columns:
        col = g[tok].fillna("")
        unk = col.isin(unknown).to_numpy(dtype=bool)
        if tok == "MON":
            num = col.map(_MONTHS)
            ok &= unk | num.notna().to_numpy(dtype=bool) | ~matched
            txt = num.fillna(0).astype(int).astype(str).str.zfill(2)
        elif tok == "YY":
            yy = pd.to_numeric(col.where(~unk), errors="coerce").fillna(0).astype(int)
            txt = (yy + np.where(yy < year_pivot, 2000, 1900)).astype(str)
        elif tok == "YYYY":
            txt = col
        else:
            txt = col.str.zfill(2)
        comp[_TOKEN_PART[tok]] = np.where(unk, "-", txt.to_numpy(dtype=object))
    if "year" in comp:
        ok &= comp["year"] != "-"  # ISO 8601 cannot say an unknown year
    date_parts = [p for p in ("year", "month", "day") if p in comp]
    time_parts = [p for p in ("hour", "minute", "second") if p in comp]
    parts = date_parts + time_parts
    # drop trailing unknown parts: precision ends at the last known part
    keep = {p: np.zeros(n, dtype=bool) for p in parts}
    later = np.zeros(n, dtype=bool)
    for p in reversed(parts):
        known = comp[p] != "-"
        keep[p] = known | later
        later |= known
    out = np.full(n, "", dtype=object)
    for i, p in enumerate(parts):
        if p in ("year",) or (not date_parts and i == 0):
            sep = ""
        elif p == "hour":
            sep = "T"
        elif p in ("minute", "second"):
            sep = ":"
        else:
            sep = "-"
        if p == "hour" and date_parts:  # a time after a partial date: pad the date to its day slot
            pad = np.where(keep[p], "-" * (3 - len(date_parts)) * 2, "")
            piece = np.where(keep[p], pad + sep + comp[p].astype(str), "")
        else:
            piece = np.where(keep[p], sep + comp[p].astype(str), "")
        out = out + piece
    out = np.where(ok, out, "")
    if date_parts:
        valid = is_valid_iso8601(pd.Series(out, dtype=object)).to_numpy(dtype=bool)
    else:
        valid = is_valid_iso8601(pd.Series(np.where(out == "", "", "2000-01-01T" + out), dtype=object)).to_numpy(dtype=bool)
    ok &= valid
    return ok, np.where(ok, out, "").astype(object)


def join_date_time(date_iso: pd.Series, time_iso: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ISO date + separate 'hh:mm' time -> ISO datetime, and the mask of times without a date.

    A partial date keeps its time with '-' in the missing slots ('2021-05' + '10:30' ->
    '2021-05--T10:30', SDTMIG 3.4 4.4.4). A time without a date cannot be expressed: it is
    dropped, and the mask says where, so the caller reports it.
    """
    d = _as_text(date_iso).str.strip()
    t = _as_text(time_iso).str.strip()
    has_t = (t != "").to_numpy(dtype=bool)
    has_d = (d != "").to_numpy(dtype=bool)
    year_only = d.str.fullmatch(r"\d{4}").fillna(False).to_numpy(dtype=bool)
    month_only = d.str.fullmatch(r"\d{4}-\d{2}").fillna(False).to_numpy(dtype=bool)
    pad = np.where(year_only, "----", np.where(month_only, "--", ""))
    joined = np.where(has_d & has_t, d.to_numpy(dtype=object) + pad + "T" + t.to_numpy(dtype=object),
                      d.to_numpy(dtype=object))
    orphan = has_t & ~has_d
    return pd.Series(joined, index=d.index, dtype=object).astype("str"), pd.Series(orphan, index=d.index, dtype=bool)
