"""Private date helpers used until/unless `studyforge.dates` provides them.

When `studyforge.dates` exists its functions are used (one implementation for the team);
the fallbacks below are narrow: EDC "DD MON YYYY" text -> ISO 8601, ISO validity and --DY.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

try:  # the shared module, when it has landed
    from studyforge import dates as _shared  # type: ignore
except ImportError:  # pragma: no cover - depends on team progress
    _shared = None

_MONTHS = {m: i + 1 for i, m in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])}
_UNKNOWN = {"UN", "UNK", "UK", "XX", "--", ""}
_DAYS_IN_MONTH = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _valid_ymd(y: pd.Series, m: pd.Series, d: pd.Series) -> pd.Series:
    """True where (y, m, d) is a real calendar date; missing parts are not checked."""
    y = pd.to_numeric(y, errors="coerce")
    m = pd.to_numeric(m, errors="coerce")
    d = pd.to_numeric(d, errors="coerce")
    ok = pd.Series(True, index=y.index)
    ok &= y.isna() | ((y >= 1) & (y <= 9999))
    ok &= m.isna() | ((m >= 1) & (m <= 12))
    mi = m.fillna(1).clip(1, 12).astype(int).to_numpy()
    leap = ((y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))).fillna(True).to_numpy()
    maxd = _DAYS_IN_MONTH[mi] - ((mi == 2) & ~leap).astype(int)
    ok &= d.isna() | ((d >= 1) & (d <= pd.Series(maxd, index=y.index)))
    return ok.astype(bool)


def edc_date_to_iso(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """EDC text ('24 MAY 2021', 'UN MAY 2021', 'UNK UNK 2021', '') -> (ISO text, error mask)."""
    if _shared is not None and hasattr(_shared, "edc_date_to_iso"):
        iso, err = _shared.edc_date_to_iso(text)
        return iso.astype(str), err.astype(bool)
    s = text.fillna("").astype(str).str.strip().str.upper()
    parts = s.str.extract(r"^(\d{1,2}|UNK?|UK)[ \-/]([A-Z]{3})[ \-/](\d{4})$")
    day, mon, year = parts[0].fillna(""), parts[1].fillna(""), parts[2].fillna("")
    matched = parts[2].notna()
    mon_known = ~mon.isin(_UNKNOWN)
    mnum = mon.map(_MONTHS)
    bad_mon = matched & mon_known & mnum.isna()
    day_known = matched & ~day.isin(_UNKNOWN)
    # a known day with an unknown month cannot be expressed in ISO 8601 -> error
    bad_combo = matched & day_known & ~mon_known
    y = year.where(matched, "")
    m = mnum.where(mon_known & ~bad_mon)
    d = pd.to_numeric(day.where(day_known), errors="coerce")
    cal_ok = _valid_ymd(pd.to_numeric(y.replace("", np.nan)), m, d)
    err = (s != "") & (~matched | bad_mon | bad_combo | ~cal_ok)
    m_txt = m.map(lambda v: f"{int(v):02d}" if pd.notna(v) else "")
    d_txt = d.map(lambda v: f"{int(v):02d}" if pd.notna(v) else "")
    iso = y.where(m_txt == "", y + "-" + m_txt)
    iso = iso.where(d_txt == "", iso + "-" + d_txt)
    iso = iso.where(~err & matched, "")
    return iso.astype(str), err.astype(bool)


_ISO_RE = (r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2}))?)?)?)?)?$")


def iso_parts(values: pd.Series) -> pd.DataFrame:
    """Split ISO 8601 text into parts with a validity flag (empty = valid missing)."""
    s = values.fillna("").astype(str).str.strip()
    p = s.str.extract(_ISO_RE)
    p.columns = ["year", "month", "day", "hour", "minute", "second"]
    num = p.apply(pd.to_numeric, errors="coerce")
    ok = _valid_ymd(num["year"], num["month"], num["day"])
    ok &= num["hour"].isna() | (num["hour"] <= 23)
    ok &= num["minute"].isna() | (num["minute"] <= 59)
    ok &= num["second"].isna() | (num["second"] <= 59)
    num["valid"] = (s == "") | (p["year"].notna() & ok)
    return num


def is_valid_iso8601(values: pd.Series) -> pd.Series:
    if _shared is not None and hasattr(_shared, "is_valid_iso8601"):
        return _shared.is_valid_iso8601(values).astype(bool)
    return iso_parts(values)["valid"]


def complete_date(values: pd.Series) -> pd.Series:
    """datetime64 of the date part where year, month and day are all known and valid; NaT otherwise."""
    s = values.fillna("").astype(str).str.slice(0, 10)
    full = s.str.match(r"^\d{4}-\d{2}-\d{2}$") & is_valid_iso8601(s)
    return pd.to_datetime(s.where(full, None), format="%Y-%m-%d", errors="coerce")


def study_day(dtc: pd.Series, ref_dtc: pd.Series) -> pd.Series:
    """SDTM --DY: no day 0; <NA> unless both dates are complete. Never alters dtc."""
    if _shared is not None and hasattr(_shared, "study_day"):
        return _shared.study_day(dtc, ref_dtc).astype("Int64")
    d = complete_date(dtc)
    r = complete_date(ref_dtc)
    diff = (d - r).dt.days
    out = diff.where(diff < 0, diff + 1)
    return out.astype("Int64")
