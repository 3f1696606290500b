"""Vectorized text formatting of simulated values: EDC dates, ISO dates, numbers, times; named RNG streams."""

from __future__ import annotations

import datetime as _dt
import zlib

import numpy as np
import pandas as pd

MONTHS = np.array(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])
EPOCH = _dt.date(1970, 1, 1)


def rng_for(seed: int, stream: str) -> np.random.Generator:
    """An independent generator per named stream, so one part of the model never shifts another's draws."""
    return np.random.default_rng([int(seed), zlib.crc32(stream.encode("utf-8"))])


def day_number(d: _dt.date) -> int:
    """Days since 1970-01-01 (the integer date representation used throughout the simulator)."""
    return (d - EPOCH).days


def _by_unique(days: np.ndarray, one) -> pd.Series:
    arr = np.asarray(days, dtype="float64")
    ok = ~np.isnan(arr)
    out = np.full(arr.shape, "", dtype=object)
    if ok.any():
        uniq, inv = np.unique(arr[ok].astype("int64"), return_inverse=True)
        texts = np.array([one(int(u)) for u in uniq], dtype=object)
        out[ok] = texts[inv]
    return pd.Series(out, dtype=object)


def _edc_one(n: int) -> str:
    d = EPOCH + _dt.timedelta(days=n)
    return f"{d.day:02d} {MONTHS[d.month - 1]} {d.year:04d}"


def _iso_one(n: int) -> str:
    return (EPOCH + _dt.timedelta(days=n)).isoformat()


def edc_date(days: np.ndarray) -> pd.Series:
    """EDC display dates "DD MON YYYY" (NaN -> ""); formats each distinct day once."""
    return _by_unique(days, _edc_one)


def iso_date(days: np.ndarray) -> pd.Series:
    """ISO 8601 dates "YYYY-MM-DD" as central vendors deliver them (NaN -> "")."""
    return _by_unique(days, _iso_one)


def hhmm(minutes: np.ndarray) -> pd.Series:
    """Times "HH:MM" from minutes after midnight."""
    m = np.asarray(minutes, dtype="int64")
    hh = pd.Series(m // 60).astype(str).str.zfill(2)
    mm = pd.Series(m % 60).astype(str).str.zfill(2)
    return (hh + ":" + mm).astype(object)


def num(values: np.ndarray, decimals: int | np.ndarray) -> pd.Series:
    """Fixed-decimal text (NaN -> ""); `decimals` may vary per row. Integer arithmetic, so deterministic.

    Rounds half to even on the scaled value (numpy rint); "-0.0" never appears.
    """
    x = np.asarray(values, dtype="float64")
    dec = np.broadcast_to(np.asarray(decimals, dtype="int64"), x.shape)
    ok = ~np.isnan(x)
    scale = 10 ** dec
    scaled = np.rint(np.abs(np.where(ok, x, 0.0)) * scale).astype("int64")
    ip = scaled // scale
    fp = scaled % scale
    neg = (x < 0) & (scaled > 0)
    sdt = np.dtypes.StringDType()
    txt = np.strings.add(np.where(neg, "-", "").astype(sdt), ip.astype(sdt))
    width = int(dec.max()) if dec.size else 0
    if width:
        frac = np.strings.zfill(fp.astype(sdt), width)
        frac = np.strings.slice(frac, np.full(dec.shape, width) - dec, width) if (dec != width).any() else frac
        txt = np.where(dec > 0, np.strings.add(np.strings.add(txt, "."), frac), txt)
    out = np.where(ok, txt, "").astype(object)
    return pd.Series(out, dtype=object)


def integer(values: np.ndarray) -> pd.Series:
    """Integer text (NaN -> "")."""
    x = np.asarray(values, dtype="float64")
    out = np.full(x.shape, "", dtype=object)
    ok = ~np.isnan(x)
    out[ok] = x[ok].astype("int64").astype(str)
    return pd.Series(out, dtype=object)


def pick(rng: np.random.Generator, choices: list, n: int, p: list[float] | np.ndarray | None = None) -> np.ndarray:
    """n draws from `choices` (object array), optionally weighted."""
    arr = np.empty(len(choices), dtype=object)
    arr[:] = list(choices)
    if p is not None:
        p = np.asarray(p, dtype="float64")
        p = p / p.sum()
    return arr[rng.choice(len(arr), size=n, p=p)] if n else arr[:0]
