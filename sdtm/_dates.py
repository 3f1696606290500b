"""The shared date module (studyforge.dates) applied once per distinct value: raw date columns
repeat a lot, so the parsing cost is O(distinct dates) rather than O(records)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from studyforge import dates as _shared
from studyforge.findings import Finding, Severity

from ._fast import distinct_values, text_series, umap


def _text(s: pd.Series) -> pd.Series:
    return text_series(s)


def edc_date_to_iso(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """EDC text ('24 MAY 2021', 'UN MAY 2021', 'UNK UNK 2021', '') -> (ISO text, error mask)."""
    codes, uniques = pd.factorize(_text(text).to_numpy(dtype=object))
    if len(uniques) == 0:
        return pd.Series([], index=text.index, dtype=str), pd.Series([], index=text.index, dtype=bool)
    iso, err = _shared.edc_date_to_iso(pd.Series(uniques, dtype=object))
    iso_arr = iso.astype(str).to_numpy(dtype=object)
    err_arr = err.to_numpy(dtype=bool)
    return (pd.Series(iso_arr[codes], index=text.index, dtype=str),
            pd.Series(err_arr[codes], index=text.index, dtype=bool))


def is_valid_iso8601(values: pd.Series) -> pd.Series:
    return umap(_text(values), lambda u: _shared.is_valid_iso8601(u).astype(bool)).astype(bool)


def sas_days(values: pd.Series) -> np.ndarray:
    """Days since 1960-01-01 of complete dates (NaN for partial/invalid/empty)."""
    return umap(_text(values), lambda u: _shared.iso_to_sas_date(u).astype(float)).to_numpy(dtype=float)


def _per_distinct_columns(values: pd.Series, fn) -> tuple[np.ndarray, ...]:
    """fn(distinct values) -> a frame of float columns, each broadcast back to every row of values."""
    codes, uniq = distinct_values(_text(values))
    out = fn(pd.Series(uniq, dtype=object))
    return tuple(out[c].to_numpy(dtype=float)[codes] for c in out.columns)


def day_minutes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(days since 1960-01-01 of complete dates, minutes after midnight of valid values with hh:mm),
    NaN where absent: one parse per distinct value for both."""
    def both(u: pd.Series) -> pd.DataFrame:
        p = _shared.parse_iso8601(u)
        mins = (p["hour"] * 60 + p["minute"]).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        return pd.DataFrame({"d": _shared.parsed_sas_date(p).to_numpy(dtype=float), "m": mins})
    return _per_distinct_columns(values, both)


def partial_day_range(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(first, last) possible day (SAS) of a partial date ('2021-06' -> June 1..30, '2021' -> Jan 1..Dec 31);
    NaN for complete, empty or invalid values: the interval every date the partial value allows lies in."""
    def bounds(u: pd.Series) -> pd.DataFrame:
        partial = _shared.parse_iso8601(u)["precision"].isin(["year", "month"]).to_numpy()
        lo, hi = np.full(len(u), np.nan), np.full(len(u), np.nan)
        if partial.any():   # few values are partial: impute only those
            lo[partial] = _shared.impute_date(u[partial], fill="first")[0].to_numpy(dtype=float)
            hi[partial] = _shared.impute_date(u[partial], fill="last")[0].to_numpy(dtype=float)
        return pd.DataFrame({"lo": lo, "hi": hi})
    return _per_distinct_columns(values, bounds)


def complete_date(values: pd.Series) -> pd.Series:
    """datetime64 of complete dates; NaT otherwise."""
    d = sas_days(values)
    return pd.Series(pd.to_datetime(d, unit="D", origin=pd.Timestamp("1960-01-01")), index=values.index)


def study_day(dtc: pd.Series, ref_dtc: pd.Series) -> pd.Series:
    """SDTM --DY from studyforge.dates.study_day, evaluated once per distinct (dtc, ref) pair."""
    c1, u1 = pd.factorize(_text(dtc).to_numpy(dtype=object))
    c2, u2 = pd.factorize(_text(ref_dtc).to_numpy(dtype=object))
    if len(c1) == 0:
        return pd.Series([], index=dtc.index, dtype="Int64")
    pair, inverse = np.unique(c1.astype(np.int64) * max(len(u2), 1) + c2, return_inverse=True)
    a = pd.Series(u1[pair // max(len(u2), 1)], dtype=object)
    b = pd.Series(u2[pair % max(len(u2), 1)], dtype=object)
    dy = _shared.study_day(a, b).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return pd.Series(dy[inverse.ravel()], index=dtc.index).astype("Int64")


FIRST_LINES = 5


def _per_distinct(values: pd.Series, mask: np.ndarray, lines: np.ndarray, rule: str, message: str, *,
                  file: str, field: str, severity: Severity = Severity.ERROR) -> list[Finding]:
    """One finding per distinct value under `mask`, with its count and first lines (never one per row)."""
    if not mask.any():
        return []
    vals = _text(values).to_numpy(dtype=object)[mask]
    lns = np.asarray(lines)[mask]
    codes, uniq = pd.factorize(vals)
    out = []
    for k, v in enumerate(uniq):
        at = lns[codes == k]
        ln = pd.unique(at)  # records made from one raw line (a wide form's tests) name that line once
        shown = ", ".join(str(int(x)) for x in ln[:FIRST_LINES]) + (", ..." if len(ln) > FIRST_LINES else "")
        out.append(Finding(severity, rule, message.format(count=len(at), lines=shown), file=file,
                           line=int(at[0]), field=field, value=str(v)))
    return out


def raw_to_iso(values: pd.Series, formats: list[str] | str, *, lines: np.ndarray | None = None, file: str = "",
               field: str = "", unknown=(), year_pivot: int = 50,
               times: pd.Series | None = None, time_formats: list[str] | str = ("HH:MM",),
               time_field: str = "") -> tuple[pd.Series, list[Finding]]:
    """Raw date (and optional separate time) text in the declared formats -> ISO 8601 --DTC and findings.

    Each distinct text is parsed once. An unparseable date or time is ONE finding per distinct value
    (SD0301 / SD0302, count and first lines, the accepted formats); a time whose date is missing is
    SD0303 (it cannot be expressed in ISO 8601 and is dropped). Partial dates stay partial.
    """
    formats = [formats] if isinstance(formats, str) else list(formats)
    lines = np.arange(1, len(values) + 1) if lines is None else np.asarray(lines)
    iso, err = _distinct(values, lambda u: _shared.format_to_iso(u, formats, unknown=unknown, year_pivot=year_pivot))
    found = _per_distinct(values, err.to_numpy(dtype=bool), lines, "SD0301",
                          "unparseable or impossible date in {count} record(s) (lines {lines}); accepted formats: "
                          + "; ".join(formats), file=file, field=field)
    if times is None:
        return iso, found
    tf = [time_formats] if isinstance(time_formats, str) else list(time_formats)
    t_iso, t_err = _distinct(times, lambda u: _shared.format_to_iso(u, tf, unknown=unknown))
    found += _per_distinct(times, t_err.to_numpy(dtype=bool), lines, "SD0302",
                           "unparseable time in {count} record(s) (lines {lines}); accepted formats: " + "; ".join(tf),
                           file=file, field=time_field)
    joined, orphan = _shared.join_date_time(iso, t_iso)
    found += _per_distinct(times, orphan.to_numpy(dtype=bool) & ~err.to_numpy(dtype=bool), lines, "SD0303",
                           f"time without a date in {{count}} record(s) (lines {{lines}}): the time is dropped "
                           f"(ISO 8601 cannot hold a time without its date; date field {field})",
                           file=file, field=time_field)
    return joined.set_axis(values.index), found


def _distinct(values: pd.Series, fn) -> tuple[pd.Series, pd.Series]:
    codes, uniques = pd.factorize(_text(values).to_numpy(dtype=object))
    if len(uniques) == 0:
        return pd.Series("", index=values.index, dtype=str), pd.Series(False, index=values.index, dtype=bool)
    iso, err = fn(pd.Series(uniques, dtype=object))
    return (pd.Series(iso.astype(str).to_numpy(dtype=object)[codes], index=values.index, dtype=str),
            pd.Series(err.to_numpy(dtype=bool)[codes], index=values.index, dtype=bool))


def form_dtc(form, settings, date_field: str, time_field: str | None = None) -> tuple[pd.Series, list[Finding]]:
    """--DTC of one raw form's date (and time) field in the formats its raw settings declare."""
    f = form.frame
    times = f[time_field] if time_field else None
    return raw_to_iso(f[date_field], settings.date_formats(date_field), lines=form.lines, file=form.path,
                      field=date_field, unknown=settings.unknown, year_pivot=settings.year_pivot,
                      times=times, time_formats=settings.time_formats(time_field) if time_field else ("HH:MM",),
                      time_field=time_field or "")
