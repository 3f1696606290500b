"""SAS XPORT version 5 (SAS TS-140) writer and reader, vectorized with numpy.

Layout written (every record 80 bytes, ASCII, blank padded):
  library header, real header (SAS/SAS/SASLIB/9.4, OS, created), modified header,
  member header (descriptor 160, NAMESTR length 140), DSCRPTR header,
  member data 1 (SAS, dataset name, SASDATA, version, OS, created),
  member data 2 (modified, dataset label, dataset type),
  NAMESTR header (variable count), one 140-byte NAMESTR per variable (blank padded to 80),
  OBS header, then the observations as fixed-width records in one block, blank padded to 80.

Numbers are IBM System/370 hexadecimal floating point, big endian: sign bit, 7-bit base-16
exponent biased by 64, 56-bit fraction in [1/16, 1).  Conversion rules (documented decisions):
  * IEEE double -> 8-byte IBM is exact: a double's 53-bit significand shifted left by 0..3
    bits (to align the exponent on a power of 16) fits the 56-bit fraction.
  * A length L < 8 keeps 8L-8 fraction bits; the dropped bits are ROUNDED to nearest (ties away
    from zero), not truncated as SAS does, so the relative error is <= 2**-(8L-11).
  * |x| > 16**63 (~7.24e75) and +/-inf are refused; exactly 16**63 (the double that the largest
    IBM number reads back as) is written as that largest number.  0 < |x| < 16**-65 (~5.4e-79)
    is written as 0.  0.0 and -0.0 are both eight zero bytes (no negative zero in SAS).
  * Missing: NaN/None/pd.NA -> ``.`` = 0x2E then zeros; special missings ``.A``-``.Z`` the
    letter, ``._`` 0x5F.  Special missings are passed as ``special_missing={col: codes}`` where
    codes is an array-like of "" (ordinary), "A".."Z" or "_" (a leading "." is accepted); the
    numeric value at a coded row must be missing.  ``read_xpt`` returns them the same way in
    ``XptMetadata.special_missing`` so a read/write round trip keeps them.
Observations are blank padded to 80 bytes, so a trailing all-blank observation cannot be told from
padding (SAS and readstat drop it): the writer refuses a dataset whose last row is all blank.
Readers' known bugs, not ours: pandas.read_sas reads 0.0 (eight zero bytes, as SAS writes it) as
5.4e-79, counts any 8-byte blank word in the last card as padding (it can drop a last record),
and fails on zero-row files.
Dates are numbers: SAS dates count days from 1960-01-01, datetimes seconds from
1960-01-01T00:00:00.  A datetime64 column is converted only when its display format says which
(date formats -> days, datetime formats -> seconds); timedelta64 columns with a time format ->
seconds.  Without such a format they are refused rather than guessed.
Speed (same bytes as the plain path; tests/test_xpt_fastpath.py, tests/test_string_backends.py,
tests/test_speedups.py): each text column is factorized once, only its distinct values are checked and
encoded, and records are assembled in ~1 MiB buffers, two filled while earlier ones are written.  The
inner loops are compiled (studyforge/_speedups.c, built at install when a C compiler is there): the
hash of a column straight from its Python str objects or Arrow buffers, and the record fill (gathers
and IBM conversion), both without the GIL, so big frames use both cores.  Without them (no compiler,
or STUDYFORGE_NO_SPEEDUPS=1) the numpy path writes the same bytes: Arrow's hash kernel or pandas' str
hash table after an identity dedupe of shared str objects, gathers of machine words, per-exponent
tables for length-8 numbers.  Constant columns are filled once per buffer either way, and writeback is
started every ~16 MiB so the closing fsync (kept: durability) has little left to wait for.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from studyforge.fileio import atomic_open

try:   # compiled inner loops (studyforge/_speedups.c); without them the numpy path writes the same bytes
    from studyforge import _speedups
except ImportError:  # pragma: no cover - a build without a C compiler
    _speedups = None
if os.environ.get("STUDYFORGE_NO_SPEEDUPS"):   # to rule the compiled loops out when chasing a problem
    _speedups = None

__all__ = [
    "XptError", "XptVariable", "XptMetadata", "write_xpt", "read_xpt",
    "ibm_to_ieee", "ieee_to_ibm", "parse_format", "SAS_EPOCH",
]

SAS_EPOCH = dt.datetime(1960, 1, 1)
RECORD = 80
NAMESTR_LEN = 140
MAX_CHAR = 200
IBM_MAX = 16.0 ** 63
IBM_MIN = 16.0 ** -65

_LIB_HEADER = b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!000000000000000000000000000000  "
_MEMBER_HEADER = b"HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!000000000000000001600000000140  "
_DSCRPTR_HEADER = b"HEADER RECORD*******DSCRPTR HEADER RECORD!!!!!!!000000000000000000000000000000  "
_OBS_HEADER = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!000000000000000000000000000000  "
_NAMESTR_PREFIX = b"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!"
_MEMBER_PREFIX = _MEMBER_HEADER[:48]
_SAS_VERSION = "9.4"
_OS_NAME = "LINUX"
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")
_FORMAT_RE = re.compile(r"^(\$?)((?:[A-Z_][A-Z0-9_]*[A-Z_])?)(\d*)\.(\d*)$")

_MASK56 = np.uint64((1 << 56) - 1)
_MASK52 = np.uint64((1 << 52) - 1)
_WORD_TYPES = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}
_MISSING_BYTES = np.array([0x2E, 0x5F, *range(0x41, 0x5B)], dtype=np.uint8)


class XptError(ValueError):
    """The data or metadata cannot be written to (or read from) a valid XPORT v5 file."""


# ---------------------------------------------------------------------------------------------
# Display formats accepted in v5 transport files: name -> (kind, min width, max width, max d).
# kind: "num" | "char" | "date" | "datetime" | "time" (drives datetime64 conversion).
_FORMATS: dict[str, tuple[str, int, int, int]] = {
    "": ("num", 1, 32, 31), "F": ("num", 1, 32, 31), "BEST": ("num", 1, 32, 0),
    "BESTD": ("num", 1, 32, 31), "E": ("num", 7, 32, 0), "COMMA": ("num", 1, 32, 31),
    "COMMAX": ("num", 1, 32, 31), "DOLLAR": ("num", 1, 32, 31), "DOLLARX": ("num", 1, 32, 31),
    "PERCENT": ("num", 4, 32, 31), "PERCENTN": ("num", 4, 32, 31), "Z": ("num", 1, 32, 31),
    "PVALUE": ("num", 1, 32, 31), "HEX": ("num", 1, 16, 0), "BINARY": ("num", 1, 64, 0),
    "OCTAL": ("num", 1, 24, 0), "ROMAN": ("num", 2, 32, 0), "WORDS": ("num", 5, 32, 0),
    "NEGPAREN": ("num", 1, 32, 31), "SSN": ("num", 11, 11, 0), "FRACT": ("num", 4, 32, 0),
    "DATE": ("date", 5, 11, 0), "YYMMDD": ("date", 2, 10, 0), "MMDDYY": ("date", 2, 10, 0),
    "DDMMYY": ("date", 2, 10, 0), "E8601DA": ("date", 10, 10, 0), "B8601DA": ("date", 8, 10, 0),
    "IS8601DA": ("date", 10, 10, 0), "YYMMDDN": ("date", 2, 8, 0), "MONYY": ("date", 5, 7, 0),
    "YEAR": ("date", 2, 4, 0), "MONTH": ("date", 1, 32, 0), "DAY": ("date", 2, 32, 0),
    "WEEKDATE": ("date", 3, 37, 0), "WORDDATE": ("date", 3, 32, 0), "JULIAN": ("date", 5, 7, 0),
    "YYQ": ("date", 4, 32, 0), "QTR": ("date", 1, 32, 0), "DOWNAME": ("date", 1, 32, 0),
    "WEEKDAY": ("date", 1, 32, 0), "NLDATE": ("date", 10, 200, 0),
    "DATETIME": ("datetime", 7, 40, 39), "E8601DT": ("datetime", 16, 26, 6),
    "B8601DT": ("datetime", 15, 26, 6), "IS8601DT": ("datetime", 16, 26, 6),
    "E8601DN": ("datetime", 10, 10, 0), "DTDATE": ("datetime", 5, 9, 0),
    "DTMONYY": ("datetime", 5, 7, 0), "DTYEAR": ("datetime", 2, 4, 0), "DTWKDATX": ("datetime", 3, 37, 0),
    "TIME": ("time", 2, 20, 19), "E8601TM": ("time", 8, 15, 6), "B8601TM": ("time", 6, 15, 6),
    "IS8601TM": ("time", 8, 15, 6), "HHMM": ("time", 2, 20, 19), "HOUR": ("time", 2, 20, 19),
    "MMSS": ("time", 2, 20, 19), "TOD": ("time", 2, 20, 19),
    "$": ("char", 1, 200, 0), "$CHAR": ("char", 1, 200, 0), "$UPCASE": ("char", 1, 200, 0),
    "$ASCII": ("char", 1, 200, 0), "$HEX": ("char", 1, 400, 0), "$QUOTE": ("char", 2, 200, 0),
}


@dataclass(frozen=True)
class ParsedFormat:
    """A SAS display format split the way a NAMESTR stores it (nform, nfl, nfd)."""

    name: str
    width: int
    decimals: int
    kind: str

    def __str__(self) -> str:
        w = str(self.width) if self.width else ""
        d = str(self.decimals) if self.decimals else ""
        return f"{self.name}{w}.{d}"


def parse_format(fmt: str) -> ParsedFormat:
    """Split and validate a display format against the v5-compatible set; XptError otherwise."""
    m = _FORMAT_RE.match(fmt.strip().upper())
    if not m:
        raise XptError(f"format {fmt!r} is not a SAS format (expected like $20., 8.2, DATE9.)")
    dollar, base, w, d = m.groups()
    name = dollar + base
    if name not in _FORMATS:
        raise XptError(f"format {fmt!r}: {name or 'w.d'!r} is not a known SAS v5-compatible format")
    if len(name) > 8:
        raise XptError(f"format {fmt!r}: name longer than 8 characters")
    kind, wmin, wmax, dmax = _FORMATS[name]
    width = int(w) if w else 0
    dec = int(d) if d else 0
    if name == "" and not w:
        raise XptError(f"format {fmt!r}: a w.d format needs a width")
    if width and not wmin <= width <= wmax:
        raise XptError(f"format {fmt!r}: width {width} outside {wmin}..{wmax} for {name or 'w.d'}")
    if dec and (dec > dmax or (width and dec >= width)):
        raise XptError(f"format {fmt!r}: {dec} decimals not allowed (max {dmax}, and below the width)")
    return ParsedFormat(name, width, dec, kind)


# ---------------------------------------------------------------------------------------------
# IBM <-> IEEE


def ieee_to_ibm(values: Iterable[float] | np.ndarray, length: int = 8,
                codes: np.ndarray | None = None) -> np.ndarray:
    """IEEE doubles -> (n, length) uint8 big-endian IBM hex floats; NaN -> missing ``.``.

    `codes` (optional uint8 per value, 0 for none) gives the missing byte for NaN values
    (0x2E, 0x41-0x5A or 0x5F).  Raises XptError for +/-inf or |x| > 16**63; exactly 16**63 (what
    the largest IBM number, (1-16**-14)*16**63, reads back as) is written as that number.
    """
    if not 2 <= length <= 8:
        raise XptError(f"IBM length {length} outside 2..8")
    x = np.ascontiguousarray(np.asarray(values, dtype=np.float64).ravel())
    out = _ibm_word(x, length, codes).astype(">u8").view(np.uint8).reshape(-1, 8)
    return out[:, :length] if length < 8 else out


def _ibm_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per biased binary exponent e2 (0..2047) of a double: the IBM sign-less exponent byte in place,
    the shift aligning the fraction on a hex digit, and the mask keeping the word (0 below 16**-65:
    zero; only the '.' byte for NaN) -- the same arithmetic as the general path below, done once."""
    e2 = np.arange(2048, dtype=np.uint64)
    high = ((e2 - np.uint64(763)) >> np.uint64(2)) << np.uint64(56)
    shift = (e2 + np.uint64(1)) & np.uint64(3)
    keep = np.where(e2 < 763, np.uint64(0), ~np.uint64(0))
    high[1275:] = 0                           # |x| >= 16**63 never takes the table path
    high[2047], keep[2047] = np.uint64(0x2E << 56), np.uint64(0x7F << 56)   # NaN -> "." (no sign)
    return high, shift, keep


_IBM_HIGH, _IBM_SHIFT, _IBM_KEEP = _ibm_tables()


def _ibm_word(x: np.ndarray, length: int, codes: np.ndarray | None, offset: int = 0) -> np.ndarray:
    """The IBM numbers of float64 `x` as native uint64 words (top `length` bytes significant)."""
    bits = x.view(np.uint64)
    u = np.uint64
    e2 = (bits >> u(52)) & u(0x7FF)          # biased binary exponent; 2047 = NaN/inf
    if length == 8 and codes is None:         # the common case: tables instead of a dozen passes
        edge = bits & u(0x7FFFFFFFFFFFFFFF)
        edge -= u(0x4FB0000000000000)        # |x| from 16**63 = 2**252 up to inf: the checks below
        if not (edge <= u(0x7FF0000000000000 - 0x4FB0000000000000)).any():
            at = e2.view(np.int64)
            frac = bits & _MASK52
            frac |= u(1 << 52)
            frac <<= _IBM_SHIFT.take(at)      # 53 significant bits in a 56-bit fraction: exact
            word = bits & u(1 << 63)
            word |= _IBM_HIGH.take(at)
            word |= frac
            word &= _IBM_KEEP.take(at)
            return word
    big = e2 >= u(1275)                      # |x| >= 2**252 = 16**63, or NaN/inf
    nan = top = None
    if big.any():
        nan = e2 == u(2047)
        nan &= (bits & _MASK52) != u(0)
        top = (e2 == u(1275)) & ((bits & _MASK52) == u(0))   # exactly 16**63
        bad = big & ~nan & ~top
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise XptError(f"value {float(x[i])!r} at row {offset + i + 1} is outside the IBM float range "
                           f"(|x| <= 16**63)")
    zero = e2 < u(763)                       # |x| < 16**-65 (also 0, -0, subnormals) -> 0
    expo = (e2 - u(763)) >> u(2)             # biased IBM exponent (garbage where zero: masked)
    shift = (e2 + u(1)) & u(3)               # 0..3: aligns the binary point on a hex digit
    frac = (bits & _MASK52) | u(1 << 52)
    frac <<= shift                           # 53 significant bits in a 56-bit fraction: exact
    if length < 8:                           # keep 8L-8 bits, round half away from zero
        drop = u(64 - 8 * length)
        frac += u(1) << (drop - u(1))
        frac >>= drop
        carry = frac >> u(8 * length - 8)    # 1 when rounding overflowed the fraction
        frac >>= carry << u(2)
        frac <<= drop
        expo += carry
        over = (expo > u(127)) & ~zero
        if nan is not None:
            over &= ~nan & ~top
        if over.any():
            i = int(np.flatnonzero(over)[0])
            raise XptError(f"value {float(x[i])!r} at row {offset + i + 1} rounds outside the IBM float range")
    word = bits & u(1 << 63)
    word |= expo << u(56)
    word |= frac
    word[zero] = 0
    if top is not None and top.any():
        word[top] = (bits[top] & u(1 << 63)) | u(0x7FFFFFFFFFFFFFFF)
    if nan is not None and nan.any():
        word[nan] = u(0x2E << 56)
        if codes is not None:
            special = nan & (np.asarray(codes) != 0)
            word[special] = np.asarray(codes)[special].astype(np.uint64) << u(56)
    return word



def _ibm_words(data: np.ndarray | bytes, length: int) -> np.ndarray:
    raw = np.frombuffer(data, dtype=np.uint8) if isinstance(data, (bytes, bytearray, memoryview)) else data
    raw = raw.reshape(-1, length)
    if length == 8:
        return np.ascontiguousarray(raw).view(">u8").ravel().astype(np.uint64)
    full = np.zeros((raw.shape[0], 8), dtype=np.uint8)
    full[:, :length] = raw
    return full.view(">u8").ravel().astype(np.uint64)


def ibm_to_ieee(data: np.ndarray | bytes, length: int = 8) -> np.ndarray:
    """(n, length) big-endian IBM hex floats -> float64; every missing (., .A-.Z, ._) -> NaN.

    The 56-bit fraction is converted with round-to-nearest-even (numpy's uint64->float64 cast),
    so values that came from IEEE doubles come back exactly.
    """
    words = _ibm_words(data, length)
    first = (words >> np.uint64(56)).astype(np.uint8)
    frac = words & _MASK56
    missing = (frac == 0) & np.isin(first, _MISSING_BYTES)
    expo = (first & 0x7F).astype(np.int64)
    val = np.ldexp(frac.astype(np.float64), (4 * (expo - 64) - 56).astype(np.int32))
    val = np.where(first & 0x80, -val, val)
    val[missing] = np.nan
    return val


def _missing_codes(data: np.ndarray, length: int) -> np.ndarray:
    """Per value: "" for a number or ordinary missing, "A".."Z"/"_" for special missings."""
    words = _ibm_words(data, length)
    first = (words >> np.uint64(56)).astype(np.uint8)
    special = ((words & _MASK56) == 0) & np.isin(first, _MISSING_BYTES[1:])
    out = np.full(words.shape, "", dtype=object)
    out[special] = first[special].view("S1").astype(str)
    return out


# ---------------------------------------------------------------------------------------------
# Metadata


@dataclass(frozen=True)
class XptVariable:
    """One variable as it stands in the NAMESTR record."""

    name: str
    label: str
    type: str            # "Num" | "Char"
    length: int
    format: str          # "" when none, e.g. "DATE9." or "$20."
    position: int        # byte offset in the observation record
    number: int          # 1-based varnum
    informat: str = ""


@dataclass
class XptMetadata:
    """What the file's headers say, plus the special missing codes of numeric columns."""

    name: str
    label: str
    created: dt.datetime
    modified: dt.datetime
    variables: list[XptVariable]
    records: int
    sas_version: str = _SAS_VERSION
    os_name: str = _OS_NAME
    dataset_type: str = ""
    special_missing: dict[str, pd.Series] = field(default_factory=dict)

    @property
    def record_length(self) -> int:
        return sum(v.length for v in self.variables)


def _sas_datetime_text(d: dt.datetime) -> bytes:
    if not 1960 <= d.year <= 2059:
        raise XptError(f"header datetime {d.isoformat()} outside 1960-2059 (two-digit year window)")
    return f"{d.day:02d}{_MONTHS[d.month - 1]}{d.year % 100:02d}:{d:%H:%M:%S}".encode("ascii")


def _parse_sas_datetime(raw: bytes) -> dt.datetime:
    text = raw.decode("ascii", "replace").strip()
    m = re.match(r"^(\d\d)([A-Z]{3})(\d\d):(\d\d):(\d\d):(\d\d)$", text)
    if not m or m.group(2) not in _MONTHS:
        raise XptError(f"header datetime {text!r} is not ddMMMyy:hh:mm:ss")
    yy = int(m.group(3))
    year = 1900 + yy if yy >= 60 else 2000 + yy   # window 1960-2059, same as the writer
    return dt.datetime(year, _MONTHS.index(m.group(2)) + 1, int(m.group(1)),
                       int(m.group(4)), int(m.group(5)), int(m.group(6)))


def _default_created() -> dt.datetime:
    """SOURCE_DATE_EPOCH (UTC) if set, else 1960-01-01T00:00:00: never the clock."""
    sde = os.environ.get("SOURCE_DATE_EPOCH")
    if sde:
        try:
            return dt.datetime.fromtimestamp(int(sde), dt.timezone.utc).replace(tzinfo=None)
        except ValueError as exc:
            raise XptError(f"SOURCE_DATE_EPOCH={sde!r} is not an integer number of seconds") from exc
    return SAS_EPOCH


def _pad(text: str | bytes, width: int, what: str) -> bytes:
    b = text.encode("ascii") if isinstance(text, str) else text
    if len(b) > width:
        raise XptError(f"{what} {b!r} longer than {width} bytes")
    return b.ljust(width, b" ")


def _ascii(text: str, what: str) -> str:
    if not text.isascii():
        bad = next(c for c in text if not c.isascii())
        raise XptError(f"{what} {text!r} has the non-ASCII character {bad!r}")
    return text


# ---------------------------------------------------------------------------------------------
# Writer


@dataclass
class _Column:
    name: str
    label: str
    is_char: bool
    length: int
    fmt: ParsedFormat | None
    data: np.ndarray          # numeric: float64 values; character: (k+1, length) distinct values
    codes: np.ndarray | None = None   # character: row -> row of data (missing -> the blank last row);
                                      # numeric: special missing byte per row (0 = none), or None

    static: bool = False      # every row has the same bytes: filled once per buffer, not per chunk
    words: np.ndarray | None = None   # character: the table as whole machine words, for the gather

    def __post_init__(self) -> None:
        if self.is_char:
            k, w = self.data.shape
            if w in _WORD_TYPES:              # each value is one integer: a 1-D gather
                self.words = self.data.view(_WORD_TYPES[w]).ravel()
            else:                             # blank-padded to whole 8-byte words: a row gather
                padded = np.full((k, -(-w // 8) * 8), 0x20, dtype=np.uint8)
                padded[:, :w] = self.data
                self.words = padded.view(np.uint64)

    def fill(self, dest: np.ndarray, a: int, b: int) -> None:
        """Write rows a..b of this column into `dest`, the (b-a, length) slice of the records."""
        if self.is_char:
            # gather the fixed-width values by code as machine words: several times faster than a
            # gather of w-byte void items
            got = self.words.take(self.codes[a:b], axis=0)
            if got.ndim == 1:
                dest.view(got.dtype)[:, 0] = got
            else:
                dest[...] = got.view(np.uint8)[:, :self.length]
            return
        codes = None if self.codes is None else self.codes[a:b]
        try:
            word = _ibm_word(self.data[a:b], self.length, codes, offset=a)
        except XptError as exc:
            raise XptError(f"{self.name}: {exc}") from None
        if self.length == 8:
            dest.view(">u8")[:, 0] = word            # byte swap on assignment, no temporary
        else:
            dest[...] = word.astype(">u8").view(np.uint8).reshape(-1, 8)[:, :self.length]


def _row_ref(df: pd.DataFrame, i: int) -> str:
    ref = f"row {i + 1}"
    if "USUBJID" in df.columns:
        ref += f" (USUBJID={df['USUBJID'].iloc[i]!r})"
    return ref


_SHARED_SAMPLE = 2048    # rows sampled to guess whether a column repeats the same str objects


def factorize_str_objects(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """pd.factorize of an object array whose values are all str or missing (a `str` column): the same
    codes and first-appearance order, without pandas' O(n) re-inference of the dtype.

    The compiled hash (_speedups.factorize_str) when built.  Otherwise pandas' string hash table, and
    columns made by broadcasting or mapping, which hold few distinct str *objects*, are deduplicated by
    identity first (object addresses via the buffer protocol, hashed as integers), so only the distinct
    objects are hashed as text."""
    values = np.ascontiguousarray(values, dtype=object)
    if _speedups is not None:   # the compiled hash, ~4x pandas', needs no identity dedupe (runs cost nothing)
        codes = np.empty(len(values), dtype=np.int32)
        uniq = _speedups.factorize_str(values, codes)
        if uniq is not None:
            return codes, _object_array(uniq)
    n = len(values)
    if n > 4 * _SHARED_SAMPLE:
        ptr = np.frombuffer(memoryview(values).cast("B"), dtype=np.intp)   # identity, not content
        if bool((ptr[:_SHARED_SAMPLE] == ptr[0]).all()) and bool((ptr == ptr[0]).all()):   # one object
            vcodes, uniq = _factorize_str_values(values[:1])
            return np.full(n, vcodes[0], dtype=np.intp), uniq
        if len(pd.unique(ptr[:_SHARED_SAMPLE])) <= _SHARED_SAMPLE // 4:
            pcodes, pobjs = pd.factorize(ptr)
            first = np.empty(len(pobjs), dtype=np.intp)
            first[pcodes[::-1]] = np.arange(n - 1, -1, -1, dtype=np.intp)   # first row of each object
            vcodes, uniq = _factorize_str_values(values[first])
            return vcodes[pcodes], uniq
    return _factorize_str_values(values)


def _factorize_str_values(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    try:
        from pandas._libs.hashtable import StringHashTable  # what pd.factorize picks for text
        uniq, codes = StringHashTable(max(1, min(len(values), 1 << 16))).factorize(values, na_sentinel=-1)
        return codes, uniq
    except (ImportError, AttributeError, TypeError, UnicodeError):
        return pd.factorize(values, use_na_sentinel=True)


_PARALLEL_ROWS = 100_000   # below this, threads cost more than they save

def _factorize_text_columns(df: pd.DataFrame, given: Mapping[str, tuple[np.ndarray, np.ndarray]],
                            pool: ThreadPoolExecutor | None) -> dict[str, Any]:
    """Column -> (codes, uniques), or a Future of them, for every text column hashed without the GIL.
    Big frames are hashed on `pool` while the caller goes on checking columns in order, so refusals
    are the same as a serial pass.  Python strings always (pandas' str hash table, too, releases the
    GIL while hashing); Arrow strings only with the compiled hash (_speedups): Arrow's own kernel is
    left to the caller, one at a time, as two at once held 10 MiB more."""
    out: dict[str, Any] = dict(given)
    pooled = ("python", "arrow") if _speedups is not None else ("python",)
    todo = [c for c in df.columns if c not in out and text_layout(df[c].dtype) in pooled]
    if pool is None or len(df) < _PARALLEL_ROWS or len(todo) < 2:
        return out
    for c in todo:
        out[c] = pool.submit(_factorize_compact, df[c])
    return out


def _factorize_compact(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """factorize_text with the codes made compact at once (the int32 ones are freed in the thread)."""
    layout = text_layout(s.dtype)
    if layout == "arrow":
        return _factorize_arrow(s, compact=True)
    if layout == "python":                     # straight from the hash table's codes: no int32 pass
        codes, uniq = factorize_str_objects(s.to_numpy(dtype=object))
        return _compact_codes(codes, len(uniq)), np.asarray(uniq, dtype=object)
    codes, uniq = factorize_text(s)
    return _compact_codes(codes, len(uniq)), uniq


def _result(x: Any) -> Any:
    return x.result() if isinstance(x, Future) else x


def text_layout(dtype: Any) -> str | None:
    """How a text dtype stores its values: "arrow" (pandas' str/string backed by pyarrow, or an
    ArrowDtype string), "python" (str/string holding Python objects), None for any other dtype."""
    if isinstance(dtype, pd.StringDtype):
        return "arrow" if dtype.storage == "pyarrow" else "python"
    if isinstance(dtype, pd.ArrowDtype) and dtype.kind == "U":
        return "arrow"
    return None


def _is_python_str(dtype: Any) -> bool:
    return text_layout(dtype) == "python"


def factorize_text(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct values as an object array) of a text column; code -1 = missing, values in
    first-appearance order (as pd.factorize).  Each layout takes its native route: Arrow strings
    Arrow's hash kernel (through pd.factorize, no Python strings made), Python strings the str hash
    table after an identity dedupe, object and categorical columns pd.factorize."""
    layout = text_layout(s.dtype)
    if layout == "arrow":
        return _factorize_arrow(s)
    elif layout == "python":
        codes, uniq = factorize_str_objects(s.to_numpy(dtype=object))
    else:
        values = s.astype(object).to_numpy(dtype=object) if isinstance(s.dtype, pd.CategoricalDtype) \
            else s.to_numpy(dtype=object)
        codes, uniq = pd.factorize(values, use_na_sentinel=True)
    if len(uniq) < 2**31 - 1:                 # half the memory of int64 codes (peak RSS of big writes)
        codes = codes.astype(np.int32, copy=False)
    return codes, np.asarray(uniq, dtype=object)


def _factorize_arrow(s: pd.Series, compact: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """factorize_text for Arrow strings: Arrow's dictionary_encode on the column's own buffers (one
    dictionary for all chunks); its int32 indices become the codes (nulls -> -1), or with `compact`
    the narrowest unsigned codes (nulls -> k, see _compact_codes), cast by Arrow, so no int32 copy
    of the column is ever made in numpy."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(s.array)                     # the column's Arrow data, no copy
    if len(arr) > 4 * _SHARED_SAMPLE and not arr.null_count and _arrow_constant(arr):
        return np.zeros(len(arr), dtype=np.uint8 if compact else np.int32), np.array([arr[0].as_py()], dtype=object)
    chunks = _utf8_chunks(arr) if _speedups is not None else None
    if chunks is not None:                      # hashed from Arrow's own buffers, without the GIL
        codes = np.empty(len(arr), dtype=np.int32)
        uniq = _object_array(_speedups.factorize_utf8(chunks, codes))
        return (_compact_codes(codes, len(uniq)) if compact else codes), uniq
    enc = pc.dictionary_encode(arr, null_encoding="mask")
    chunks = enc.chunks if isinstance(enc, pa.ChunkedArray) else [enc]
    dictionary = chunks[0].dictionary if chunks else pa.array([], type=pa.string())
    k = len(dictionary)
    target = _compact_dtype(k) if compact else np.int32
    parts = []
    for ch in chunks:
        idx = ch.indices
        if idx.null_count:
            idx = pc.fill_null(idx, k if compact else -1)
        # narrowed by numpy from a view of Arrow's indices: numpy's copy goes back to the OS when freed
        # (after a merge of adjacent columns), a copy in Arrow's pool would stay in the process
        parts.append(idx.to_numpy(zero_copy_only=False).astype(target, copy=False))
    codes = parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.zeros(0, dtype=target)
    return codes, np.asarray(dictionary.to_numpy(zero_copy_only=False), dtype=object)


def _utf8_chunks(arr: Any) -> list[tuple] | None:
    """The buffers of an Arrow string (or large string) array, chunk by chunk, as factorize_utf8 takes
    them; None for any other type (string views, dictionaries: Arrow's own kernel then)."""
    import pyarrow as pa

    out = []
    for ch in (arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]):
        width = 4 if pa.types.is_string(ch.type) else 8 if pa.types.is_large_string(ch.type) else 0
        if not width:
            return None
        if len(ch):
            validity, offsets, data = ch.buffers()
            out.append((validity if ch.null_count else None, offsets, data, ch.offset, len(ch), width))
    return out


def _object_array(values: list) -> np.ndarray:
    """A 1-D object array of the given values (np.array would make a 2-D one of equal-length lists)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _arrow_constant(arr: Any) -> bool:
    """Every value of a null-free Arrow string array equals the first (a broadcast column): a sample
    first, so a varied column costs almost nothing; a compare kernel is a quarter of a hash."""
    import pyarrow.compute as pc

    first = arr[0]
    return bool(pc.all(pc.equal(arr[:_SHARED_SAMPLE], first)).as_py()) and bool(pc.all(pc.equal(arr, first)).as_py())


def _compact_dtype(k: int) -> type:
    return np.uint8 if k < 1 << 8 else np.uint16 if k < 1 << 16 else np.uint32


def _compact_codes(codes: np.ndarray, k: int) -> np.ndarray:
    """Codes as the narrowest unsigned integers holding 0..k, missing (-1) -> k (the table's blank row):
    a quarter or an eighth of int32's memory, and no sign test while filling."""
    out = codes.astype(_compact_dtype(k))
    missing = codes < 0
    if missing.any():
        out[missing] = k
    return out


def _char_column(df: pd.DataFrame, ds: str, col: str, length: int | None,
                 factorized: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Factorize the column, check and encode only its distinct values: (k+1, width) blank-padded
    bytes (last row blank, for missing) and per-row codes (-1 = missing -> the last row).
    `factorized`: (codes, uniques) of the column already made by the caller (not redone)."""
    s = df[col]
    codes, uniq = factorized if factorized is not None else _factorize_compact(s)
    uniq = np.asarray(uniq, dtype=object)
    if codes.dtype.kind == "i":                # -1 for missing: the blank row k instead (the same bytes)
        codes = _compact_codes(codes, len(uniq))

    def first_row(mask: np.ndarray) -> int:
        return int(np.flatnonzero(np.isin(codes, np.flatnonzero(mask)))[0])

    if pd.api.types.infer_dtype(uniq, skipna=True) not in ("string", "empty"):
        bad = np.array([not isinstance(v, str) for v in uniq], dtype=bool)
        i = first_row(bad)
        raise XptError(f"{ds}.{col}: {_row_ref(df, i)} value {s.iloc[i]!r} is not text "
                       f"(a character column holds only str or missing)")
    joined = "\x1f".join(uniq)
    if not joined.isascii():
        bad = np.array([not v.isascii() for v in uniq], dtype=bool)
        i = first_row(bad)
        raise XptError(f"{ds}.{col}: {_row_ref(df, i)} value {s.iloc[i]!r} has non-ASCII characters "
                       f"({int(np.isin(codes, np.flatnonzero(bad)).sum())} row(s) in all); XPORT v5 is ASCII only")
    if "\x00" in joined:
        i = first_row(np.array(["\x00" in v for v in uniq], dtype=bool))
        raise XptError(f"{ds}.{col}: {_row_ref(df, i)} value {s.iloc[i]!r} contains a NUL character")
    lens = np.fromiter(map(len, uniq), dtype=np.int64, count=len(uniq))   # ASCII: chars == bytes
    limit = MAX_CHAR if length is None else length
    if len(lens) and lens.max() > limit:
        over = lens > limit
        i = first_row(over)
        why = "the 200-byte XPORT v5 limit" if length is None else f"length {length}"
        raise XptError(f"{ds}.{col}: {_row_ref(df, i)} value of {len(s.iloc[i])} bytes exceeds {why} "
                       f"({int(np.isin(codes, np.flatnonzero(over)).sum())} row(s) in all)")
    width = length if length is not None else max(int(lens.max()) if len(lens) else 0, 1)
    table = np.append(uniq, "").astype(f"S{width}").view(np.uint8).reshape(-1, width).copy()
    table[table == 0] = 0x20
    return table, codes


def _numeric_values(df: pd.DataFrame, ds: str, col: str, fmt: ParsedFormat | None) -> np.ndarray:
    s = df[col]
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        if s.dt.tz is not None:
            raise XptError(f"{ds}.{col}: timezone-aware datetimes are refused; convert to local time first")
        if fmt is None or fmt.kind not in ("date", "datetime"):
            raise XptError(f"{ds}.{col}: a datetime64 column needs a date or datetime display format "
                           f"(DATE9. -> days, DATETIME20. -> seconds since 1960-01-01)")
        ns = s.to_numpy(dtype="datetime64[ns]")
        secs = (ns - np.datetime64("1960-01-01T00:00:00", "ns")) / np.timedelta64(1, "s")
        if fmt.kind == "date":
            days = secs / 86400.0
            frac = ~np.isnan(days) & (days != np.floor(days))
            if frac.any():
                i = int(np.flatnonzero(frac)[0])
                raise XptError(f"{ds}.{col}: {_row_ref(df, i)} has a time part but format {fmt} is a date")
            return days
        return secs
    if pd.api.types.is_timedelta64_dtype(s.dtype):
        if fmt is None or fmt.kind != "time":
            raise XptError(f"{ds}.{col}: a timedelta64 column needs a time display format (TIME8.)")
        return s.to_numpy(dtype="timedelta64[ns]") / np.timedelta64(1, "s")
    if s.dtype == np.float64:                  # NaN is its missing value already: no copy
        return s.to_numpy()
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        return s.to_numpy(dtype=np.float64, na_value=np.nan)
    raise XptError(f"{ds}.{col}: dtype {s.dtype} is neither numeric nor text")


def _special_codes(ds: str, col: str, codes: Any, values: np.ndarray, df: pd.DataFrame) -> np.ndarray:
    arr = pd.Series(codes, dtype=object).fillna("").to_numpy(dtype=object)
    if len(arr) != len(values):
        raise XptError(f"{ds}.{col}: special_missing has {len(arr)} codes for {len(values)} rows")
    text = pd.Series(arr, dtype=object).astype(str).str.upper().str.lstrip(".")
    ok = text.isin(["", "_", *[chr(c) for c in range(0x41, 0x5B)]]).to_numpy(dtype=bool)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise XptError(f"{ds}.{col}: {_row_ref(df, i)} special missing code {arr[i]!r} is not A-Z or _")
    coded = (text != "").to_numpy(dtype=bool)
    clash = coded & ~np.isnan(values)
    if clash.any():
        i = int(np.flatnonzero(clash)[0])
        raise XptError(f"{ds}.{col}: {_row_ref(df, i)} has special missing .{text.iloc[i]} "
                       f"but the value {values[i]!r} is not missing")
    out = np.zeros(len(values), dtype=np.uint8)
    if coded.any():
        out[coded] = np.frombuffer("".join(text[coded]).encode("ascii"), dtype=np.uint8)
    return out


def _check_name(ds: str, name: Any, what: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise XptError(f"{ds}: {what} name {name!r} must be 1-8 characters A-Z, 0-9, _ starting with a letter "
                       f"(upper case)")
    return name


def _build_columns(df: pd.DataFrame, name: str, labels: Mapping[str, str], lengths: Mapping[str, int],
                   formats: Mapping[str, str], special_missing: Mapping[str, Any],
                   factorized: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None) -> list[_Column]:
    cols = list(df.columns)
    for c in cols:
        _check_name(name, c, "variable")
    dupes = sorted({c for c in cols if cols.count(c) > 1})
    if dupes:
        raise XptError(f"{name}: duplicate variable name(s) {', '.join(dupes)}")
    for what, mapping in (("labels", labels), ("lengths", lengths), ("formats", formats),
                          ("special_missing", special_missing)):
        unknown = sorted(set(mapping) - set(cols))
        if unknown:
            raise XptError(f"{name}: {what} given for column(s) not in the frame: {', '.join(map(str, unknown))}")
    if len(cols) > 9999:
        raise XptError(f"{name}: {len(cols)} variables; the NAMESTR header holds at most 9999")
    pool = ThreadPoolExecutor(max_workers=2) if len(df) >= _PARALLEL_ROWS else None
    try:
        return _columns_in_order(df, name, labels, lengths, formats, special_missing,
                                 _factorize_text_columns(df, factorized or {}, pool))
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _columns_in_order(df: pd.DataFrame, name: str, labels: Mapping[str, str], lengths: Mapping[str, int],
                      formats: Mapping[str, str], special_missing: Mapping[str, Any],
                      factorized: Mapping[str, Any]) -> list[_Column]:
    cols = list(df.columns)
    out: list[_Column] = []
    for c in cols:
        label = _ascii(str(labels.get(c) or ""), f"{name}.{c} label")
        if len(label) > 40:
            raise XptError(f"{name}.{c}: label {label!r} is {len(label)} characters; the limit is 40")
        fmt = parse_format(formats[c]) if formats.get(c) else None
        s = df[c]
        is_char = not (pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)
                       or pd.api.types.is_datetime64_any_dtype(s.dtype)
                       or pd.api.types.is_timedelta64_dtype(s.dtype))
        if fmt is not None and (fmt.kind == "char") != is_char:
            raise XptError(f"{name}.{c}: format {fmt} does not fit a {'character' if is_char else 'numeric'} column")
        length = lengths.get(c)
        if length is not None and (not isinstance(length, (int, np.integer)) or isinstance(length, bool)):
            raise XptError(f"{name}.{c}: length {length!r} is not an integer")
        if is_char:
            if c in special_missing:
                raise XptError(f"{name}.{c}: special missing values apply to numeric columns only")
            if length is not None and not 1 <= length <= MAX_CHAR:
                raise XptError(f"{name}.{c}: character length {length} outside 1..{MAX_CHAR}")
            table, codes = _char_column(df, name, c, None if length is None else int(length),
                                        _result(factorized.get(c)))
            static = len(codes) > 0 and int(codes.min()) == int(codes.max())
            out.append(_Column(c, label, True, table.shape[1], fmt, table, codes, static))
        else:
            length = 8 if length is None else int(length)
            if not 3 <= length <= 8:
                raise XptError(f"{name}.{c}: numeric length {length} outside 3..8")
            values = _numeric_values(df, name, c, fmt)
            codes = _special_codes(name, c, special_missing[c], values, df) if c in special_missing else None
            values = np.ascontiguousarray(values, dtype=np.float64)
            bad = values > IBM_MAX                   # inf too, NaN not; checked before any write
            bad |= values < -IBM_MAX                 # (two bool passes: np.abs would hold a float copy)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise XptError(f"{name}.{c}: value {float(values[i])!r} at {_row_ref(df, i)} is outside the "
                               f"IBM float range (|x| <= 16**63)")
            bits = values.view(np.uint64)
            static = (len(values) > 0 and bool((bits[:_SHARED_SAMPLE] == bits[0]).all())   # a sample rules most out
                      and bool((bits == bits[0]).all()) and (codes is None or bool((codes == codes[0]).all())))
            out.append(_Column(c, label, False, length, fmt, values, codes, static))
    return out


def _namestr(col: _Column, number: int, position: int) -> bytes:
    f = col.fmt
    parts = [
        np.array([2 if col.is_char else 1, 0, col.length, number], dtype=">i2").tobytes(),
        _pad(col.name, 8, "name"),
        _pad(col.label, 40, "label"),
        _pad(f.name if f else "", 8, "format"),
        np.array([f.width if f else 0, f.decimals if f else 0, 0], dtype=">i2").tobytes(),
        b"\x00\x00",                          # nfill
        b" " * 8,                             # niform
        np.array([0, 0], dtype=">i2").tobytes(),
        np.array([position], dtype=">i4").tobytes(),
        b"\x00" * 52,
    ]
    rec = b"".join(parts)
    assert len(rec) == NAMESTR_LEN
    return rec


def _records(payload: bytes) -> bytes:
    rem = len(payload) % RECORD
    return payload + b" " * ((RECORD - rem) % RECORD)


def _header(name: str, label: str, created: dt.datetime, columns: list[_Column]) -> bytes:
    stamp = _sas_datetime_text(created)
    real = (_pad("SAS", 8, "") * 2 + _pad("SASLIB", 8, "") + _pad(_SAS_VERSION, 8, "")
            + _pad(_OS_NAME, 8, "") + b" " * 24 + stamp)
    member1 = (_pad("SAS", 8, "") + _pad(name, 8, "dataset name") + _pad("SASDATA", 8, "")
               + _pad(_SAS_VERSION, 8, "") + _pad(_OS_NAME, 8, "") + b" " * 24 + stamp)
    member2 = stamp + b" " * 16 + _pad(label, 40, "dataset label") + b" " * 8
    namestr_hdr = _NAMESTR_PREFIX + f"000000{len(columns):04d}".encode() + b"0" * 20 + b"  "
    pos = 0
    names = []
    for i, c in enumerate(columns, start=1):
        names.append(_namestr(c, i, pos))
        pos += c.length
    out = b"".join([_LIB_HEADER, real, _records(stamp), _MEMBER_HEADER, _DSCRPTR_HEADER,
                    member1, member2, namestr_hdr, _records(b"".join(names)), _OBS_HEADER])
    assert len(out) % RECORD == 0
    return out


def _record_count(block: np.ndarray, reclen: int) -> int:
    """Records in an observation block, read the way SAS does: whole records, less trailing
    all-blank records that start inside the final 80-byte card (they cannot be told apart from
    the blank padding TS-140 prescribes; SAS and readstat drop them too)."""
    size = len(block)
    if size == 0 or reclen == 0:
        return 0
    n = size // reclen
    if not bool((block[n * reclen:] == 0x20).all()):
        raise XptError(f"observation block of {size} bytes does not hold whole {reclen}-byte records "
                       f"followed by blank padding")
    while n > 0 and (n - 1) * reclen >= size - RECORD and bool((block[(n - 1) * reclen:n * reclen] == 0x20).all()):
        n -= 1
    return n


_CHUNK_BYTES = 1 << 20   # records are assembled and written ~1 MiB at a time (cache and page friendly)


_START_WRITEBACK = hasattr(os, "posix_fadvise")


def _start_writeback(fh: Any) -> None:
    """Ask the kernel to start writing what is written so far (Linux: POSIX_FADV_DONTNEED begins
    asynchronous writeback of dirty pages), so the closing fsync has less left to wait for."""
    try:
        fh.flush()
        os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    except (OSError, AttributeError, ValueError):
        pass


_GROUP_ROWS = 1 << 14          # at most this many value combinations in a merged character table
_GROUP_BYTES = 1 << 18         # and at most this many bytes in it (it stays in the CPU cache)


def _fillers(columns: list[_Column], positions: list[int]) -> list[tuple[_Column, int]]:
    """What fills the records, and where: adjacent character columns whose value combinations are few
    (constant columns, a test code beside its name, a result beside its unit) merge into one column
    over the table of their combinations, so a record gets one strided copy for the run instead of
    one per column (the copies into 80-odd-byte rows, not the gathers, are what costs)."""
    out: list[tuple[_Column, int]] = []
    run: list[tuple[_Column, int]] = []

    def used(c: _Column) -> int:
        return int(c.codes.max()) + 1

    def flush() -> None:
        if len(run) > 1:
            out.append((_merged([c for c, _ in run]), run[0][1]))
        else:
            out.extend(run)
        run.clear()

    for c, pos in zip(columns, positions):
        if not c.is_char or not len(c.codes):
            flush()
            out.append((c, pos))
            continue
        if run:
            k = int(np.prod([used(x) for x, _ in run], dtype=np.int64)) * used(c)
            width = sum(x.length for x, _ in run) + c.length
            if k > _GROUP_ROWS or k * (-(-width // 8) * 8) > _GROUP_BYTES:
                flush()
        run.append((c, pos))
    flush()
    return out


def _merged(cols: list[_Column]) -> _Column:
    """One character column standing for adjacent ones: its table holds every combination of their used
    values side by side (mixed-radix order), its code is the members' codes in that radix."""
    table = cols[0].data[:int(cols[0].codes.max()) + 1]
    combos = int(np.prod([int(c.codes.max()) + 1 for c in cols], dtype=np.int64))
    # a dtype that holds `combos` itself, so each radix k (<= combos) fits too; _GROUP_ROWS fit 16 bits
    codes = cols[0].codes.astype(_compact_dtype(combos))
    for c in cols[1:]:
        k = int(c.codes.max()) + 1
        t = c.data[:k]
        table = np.concatenate([np.repeat(table, k, axis=0), np.tile(t, (len(table), 1))], axis=1)
        codes *= codes.dtype.type(k)
        codes += c.codes
    for c in cols:                       # the members' codes are not needed any more: free their memory
        c.codes = None
    return _Column("+".join(c.name for c in cols), "", True, table.shape[1], None, np.ascontiguousarray(table),
                   _compact_codes(codes, len(table) - 1), all(c.static for c in cols))


@dataclass
class _Plan:
    header: bytes
    columns: list[_Column]
    positions: list[int]
    records: int
    reclen: int
    meta: XptMetadata
    fillers: list[tuple[_Column, int]] = field(default_factory=list)
    kernel_fillers: list[tuple[list[_Column], list[tuple]]] = field(default_factory=list)  # all; non-static

    def fill(self, rows: np.ndarray, a: int, b: int, skip_static: bool = False) -> None:
        """Fill rows a..b; skip_static leaves constant columns as an earlier fill of `rows` left them."""
        if _speedups is not None:
            self._fill_compiled(rows, a, b, skip_static)
            return
        for c, pos in self.fillers:
            if not (skip_static and c.static):
                c.fill(rows[:, pos:pos + c.length], a, b)

    def _fill_compiled(self, rows: np.ndarray, a: int, b: int, skip_static: bool) -> None:
        """The same records in one pass of compiled code (GIL released): gathers and IBM conversion."""
        if not self.kernel_fillers:      # made once, before the fill threads start (see _plan)
            for skip in (False, True):
                cols = [(c, pos) for c, pos in self.fillers if not (skip and c.static)]
                self.kernel_fillers.append(
                    ([c for c, _ in cols], [(0 if c.is_char else 1, pos, c.length, c.data, c.codes) for c, pos in cols]))
        columns, specs = self.kernel_fillers[skip_static]
        bad = _speedups.fill_records(rows, self.reclen, a, b, specs)
        if bad is not None:
            i, row, status = bad
            c = columns[i]
            why = "rounds outside the IBM float range" if status == 1 else \
                "is outside the IBM float range (|x| <= 16**63)"
            raise XptError(f"{c.name}: value {float(c.data[row])!r} at row {row + 1} {why}")


def _plan(df: pd.DataFrame, name: str, label: str | None, labels: Mapping[str, str] | None,
          lengths: Mapping[str, int] | None, formats: Mapping[str, str] | None,
          created: dt.datetime | None, special_missing: Mapping[str, Any] | None,
          factorized: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None) -> _Plan:
    """Validate everything that can be refused before a byte is written; return what to write."""
    _check_name(name if isinstance(name, str) else "?", name, "dataset")
    ds_label = _ascii(label or "", f"{name} dataset label")
    if len(ds_label) > 40:
        raise XptError(f"{name}: dataset label {ds_label!r} is {len(ds_label)} characters; the limit is 40")
    if df.shape[1] == 0:
        raise XptError(f"{name}: a dataset needs at least one variable")
    if created is None:
        created = _default_created()
    if created.tzinfo is not None:
        created = created.astimezone(dt.timezone.utc).replace(tzinfo=None)
    columns = _build_columns(df, name, labels or {}, lengths or {}, formats or {}, special_missing or {},
                             factorized)
    header = _header(name, ds_label, created, columns)
    positions = list(np.cumsum([0] + [c.length for c in columns[:-1]]).tolist())
    variables = [XptVariable(c.name, c.label, "Char" if c.is_char else "Num", c.length,
                             str(c.fmt) if c.fmt else "", pos, i)
                 for i, (c, pos) in enumerate(zip(columns, positions), start=1)]
    n = len(df)
    reclen = sum(c.length for c in columns)
    meta = XptMetadata(name, ds_label, created, created, variables, n,
                       special_missing={k: pd.Series(v, dtype=object) for k, v in (special_missing or {}).items()})
    plan = _Plan(header, columns, positions, n, reclen, meta, _fillers(columns, positions))
    if n:
        last = np.empty((1, reclen), dtype=np.uint8)
        plan.fill(last, n - 1, n)
        if bool((last == 0x20).all()):
            raise XptError(f"{name}: the last observation (row {n}) is all blank; SAS and other readers take "
                           f"it for the blank padding of the last record and drop it (give it a non-blank value)")
    return plan


def write_xpt(df: pd.DataFrame, path: Path | str, *, name: str, label: str | None = None,
              labels: Mapping[str, str] | None = None, lengths: Mapping[str, int] | None = None,
              formats: Mapping[str, str] | None = None, created: dt.datetime | None = None,
              special_missing: Mapping[str, Any] | None = None) -> None:
    """Write `df` as a one-member XPORT v5 file, atomically; refuse (XptError) anything v5 cannot hold.

    labels/lengths/formats: {column: value}; character lengths default to the longest value (min 1),
    numeric lengths to 8 (3..8 allowed).  created: header datetime (tz-aware -> UTC); None ->
    SOURCE_DATE_EPOCH, else 1960-01-01T00:00:00, never the clock.  special_missing: see module doc.
    """
    write_xpt_info(df, path, name=name, label=label, labels=labels, lengths=lengths, formats=formats,
                   created=created, special_missing=special_missing)


def write_xpt_info(df: pd.DataFrame, path: Path | str, *, name: str, label: str | None = None,
                   labels: Mapping[str, str] | None = None, lengths: Mapping[str, int] | None = None,
                   formats: Mapping[str, str] | None = None, created: dt.datetime | None = None,
                   special_missing: Mapping[str, Any] | None = None) -> XptMetadata:
    """As write_xpt, returning the metadata written (for define.xml and build reports)."""
    return _write_xpt_info(df, path, name=name, label=label, labels=labels, lengths=lengths, formats=formats,
                           created=created, special_missing=special_missing)


def _write_xpt_info(df: pd.DataFrame, path: Path | str, *, name: str, label: str | None = None,
                    labels: Mapping[str, str] | None = None, lengths: Mapping[str, int] | None = None,
                    formats: Mapping[str, str] | None = None, created: dt.datetime | None = None,
                    special_missing: Mapping[str, Any] | None = None,
                    factorized: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None) -> XptMetadata:
    """write_xpt_info taking (codes, uniques) of text columns a caller already factorized
    (dataset_writer), so each column is hashed once per write; every check still runs."""
    plan = _plan(df, name, label, labels, lengths, formats, created, special_missing, factorized)
    n, reclen = plan.records, plan.reclen
    step = max(1, _CHUNK_BYTES // reclen)
    chunks = [(a, min(n, a + step)) for a in range(0, n, step)]
    # up to two chunks are filled at once (numpy's gathers and copies release the GIL) while earlier
    # ones are written, in order, by the writer thread; four buffers go round
    nbuf = min(len(chunks), 4) or 1
    bufs = [np.empty(min(n, step) * reclen, dtype=np.uint8) for _ in range(nbuf)]
    written: list[Future | None] = [None] * nbuf
    filling: deque[tuple[int, Future]] = deque()
    with atomic_open(path, "wb") as fh, ThreadPoolExecutor(max_workers=1) as writer, \
            ThreadPoolExecutor(max_workers=2 if len(chunks) > 2 else 1) as fillers:

        def put(view: memoryview, k: int) -> None:
            fh.write(view)
            if _START_WRITEBACK and k % 16 == 15:  # every ~16 MiB
                _start_writeback(fh)

        def fill(k: int) -> memoryview:
            a, b = chunks[k]
            rows = bufs[k % nbuf][:(b - a) * reclen].reshape(b - a, reclen)
            # every byte of every record is covered by a column; constant columns keep the bytes the
            # first fill of this buffer put there (later chunks are the same or a prefix of it)
            plan.fill(rows, a, b, skip_static=k >= nbuf)
            return memoryview(bufs[k % nbuf][:(b - a) * reclen])

        def hand_over() -> None:
            k, fut = filling.popleft()
            written[k % nbuf] = writer.submit(put, fut.result(), k)

        fh.write(plan.header)
        try:
            for k in range(len(chunks)):
                if written[k % nbuf] is not None:
                    written[k % nbuf].result()     # the buffer is free again
                filling.append((k, fillers.submit(fill, k)))
                if len(filling) > 1:
                    hand_over()
            while filling:
                hand_over()
        finally:
            for _, fut in filling:
                fut.cancel()
            for fut in [f for _, f in filling] + written:
                if fut is not None and not fut.cancelled():
                    fut.exception()
        for fut in written:
            if fut is not None:
                fut.result()
        fh.write(b" " * ((-n * reclen) % RECORD))
    return plan.meta


# ---------------------------------------------------------------------------------------------
# Reader


def _be(raw: bytes, fmt: str) -> int:
    return int(np.frombuffer(raw, dtype=fmt)[0])


def read_xpt(path: Path | str, *, encoding: str = "ascii") -> tuple[pd.DataFrame, XptMetadata]:
    """Read a one-member XPORT v5 file: character columns as str (trailing blanks stripped),
    numerics as float64 (every missing -> NaN; special codes in metadata.special_missing)."""
    path = Path(path)
    raw = path.read_bytes()
    where = str(path)

    def rec(i: int) -> bytes:
        chunk = raw[i * RECORD:(i + 1) * RECORD]
        if len(chunk) < RECORD:
            raise XptError(f"{where}: truncated header (record {i + 1})")
        return chunk

    if raw[:48] != _LIB_HEADER[:48]:
        head = raw[:48]
        why = "a V8/V9 transport (LIBV8)" if b"LIBV8" in head else "not a SAS XPORT v5 file"
        raise XptError(f"{where}: {why}")
    try:
        created = _parse_sas_datetime(rec(1)[64:80])
        modified = _parse_sas_datetime(rec(6)[:16])
    except XptError as exc:
        raise XptError(f"{where}: {exc}") from None
    if rec(3)[:48] != _MEMBER_PREFIX:
        raise XptError(f"{where}: record 4 is not a MEMBER header")
    try:
        desc_len = int(rec(3)[75:78])
    except ValueError:
        raise XptError(f"{where}: MEMBER header has no NAMESTR length: {rec(3)[48:80]!r}") from None
    if desc_len not in (136, 140):
        raise XptError(f"{where}: NAMESTR length {desc_len} unsupported")
    if rec(4)[:48] != _DSCRPTR_HEADER[:48]:
        raise XptError(f"{where}: record 5 is not a DSCRPTR header")
    m1, m2 = rec(5), rec(6)
    name = m1[8:16].decode("ascii", "replace").rstrip()
    sas_version = m1[24:32].decode("ascii", "replace").rstrip()
    os_name = m1[32:40].decode("ascii", "replace").rstrip()
    ds_label = m2[32:72].decode(encoding, "replace").rstrip()
    ds_type = m2[72:80].decode("ascii", "replace").rstrip()
    nh = rec(7)
    if nh[:48] != _NAMESTR_PREFIX:
        raise XptError(f"{where}: record 8 is not a NAMESTR header")
    try:
        nvar = int(nh[54:58])
    except ValueError as exc:
        raise XptError(f"{where}: NAMESTR header has no variable count: {nh[48:78]!r}") from exc
    start = 8 * RECORD
    ns_bytes = nvar * desc_len
    obs_hdr = start + ns_bytes + (-ns_bytes) % RECORD
    if raw[obs_hdr:obs_hdr + 48] != _OBS_HEADER[:48]:
        raise XptError(f"{where}: no OBS header after {nvar} NAMESTR records")
    variables: list[XptVariable] = []
    for i in range(nvar):
        ns = raw[start + i * desc_len:start + (i + 1) * desc_len]
        ntype, _, nlng, nvar0 = np.frombuffer(ns[:8], dtype=">i2")
        vname = ns[8:16].decode("ascii", "replace").rstrip()
        vlabel = ns[16:56].decode(encoding, "replace").rstrip()
        fname = ns[56:64].decode("ascii", "replace").rstrip()
        nfl, nfd = _be(ns[64:66], ">i2"), _be(ns[66:68], ">i2")
        iname = ns[72:80].decode("ascii", "replace").strip("\x00 ")
        nifl, nifd = _be(ns[80:82], ">i2"), _be(ns[82:84], ">i2")
        npos = _be(ns[84:88], ">i4")
        fmt = f"{fname}{nfl or ''}.{nfd or ''}" if (fname or nfl) else ""
        infmt = f"{iname}{nifl or ''}.{nifd or ''}" if (iname or nifl) else ""
        if ntype not in (1, 2):
            raise XptError(f"{where}: variable {vname!r} has NAMESTR type {ntype} (1 or 2 expected)")
        if nlng < 1 or npos < 0:
            raise XptError(f"{where}: variable {vname!r} has length {nlng} at position {npos}")
        variables.append(XptVariable(vname, vlabel, "Num" if ntype == 1 else "Char", int(nlng), fmt,
                                     npos, int(nvar0), infmt))
    data_start = obs_hdr + RECORD
    end = len(raw)
    nxt = raw.find(_MEMBER_PREFIX, data_start)
    while nxt != -1 and (nxt % RECORD) != 0:
        nxt = raw.find(_MEMBER_PREFIX, nxt + 1)
    if nxt != -1:
        raise XptError(f"{where}: holds more than one member; studyforge reads one dataset per file")
    block = np.frombuffer(raw, dtype=np.uint8, offset=data_start, count=end - data_start)
    reclen = max((v.position + v.length for v in variables), default=0)
    n = _record_count(block, reclen)
    rows = block[:n * reclen].reshape(n, reclen)
    data: dict[str, Any] = {}
    special: dict[str, pd.Series] = {}
    for v in variables:
        cell = rows[:, v.position:v.position + v.length]
        if v.type == "Num":
            if not 2 <= v.length <= 8:
                raise XptError(f"{where}: numeric {v.name} has length {v.length}")
            data[v.name] = ibm_to_ieee(np.ascontiguousarray(cell), v.length)
            codes = _missing_codes(np.ascontiguousarray(cell), v.length)
            if (codes != "").any():
                special[v.name] = pd.Series(codes, dtype=object, name=v.name)
        else:
            data[v.name] = _decode_chars(cell, encoding, where, v.name)
    df = pd.DataFrame(data, columns=[v.name for v in variables])
    meta = XptMetadata(name, ds_label, created, modified, variables, n, sas_version, os_name, ds_type, special)
    return df, meta


def _factorize_rows(cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of equal byte rows and the first row of each code, by hashing 8-byte words.

    Rows of up to 8 bytes are their own key; wider rows are hashed and the result verified
    byte for byte (a hash collision falls back to an exact sort-based np.unique)."""
    n, width = cell.shape
    words = np.zeros((n, -(-width // 8) * 8), dtype=np.uint8)
    words[:, :width] = cell
    w = words.view("<u8")
    key = w[:, 0].copy()
    for j in range(1, w.shape[1]):
        key *= np.uint64(0x9E3779B97F4A7C15)
        key ^= key >> np.uint64(29)
        key += w[:, j]
    codes, uniq = pd.factorize(key)
    first = np.empty(len(uniq), dtype=np.int64)
    first[codes[::-1]] = np.arange(n - 1, -1, -1)
    if w.shape[1] > 1 and not bool((cell == cell[first][codes]).all()):
        _, first, codes = np.unique(np.ascontiguousarray(cell).view(f"V{width}").ravel(),
                                    return_index=True, return_inverse=True)
    return codes.ravel(), first


def _decode_chars(cell: np.ndarray, encoding: str, where: str, col: str) -> pd.Series:
    """Fixed-width bytes -> str, trailing blanks stripped; decoded once per distinct value."""
    n, width = cell.shape
    if n == 0:
        return pd.Series([], dtype="str")
    inverse, first = _factorize_rows(cell)
    ub = np.ascontiguousarray(cell[first])
    trailing = np.logical_and.accumulate((ub == 0x20)[:, ::-1], axis=1)[:, ::-1]
    ub[trailing] = 0                         # numpy's S dtype drops trailing NULs
    if encoding == "ascii":
        high = (ub >= 0x80).any(axis=1)
        if high.any():
            i = int(np.flatnonzero(np.isin(inverse.ravel(), np.flatnonzero(high)))[0])
            raise XptError(f"{where}: {col} row {i + 1} has non-ASCII bytes {bytes(cell[i])!r}; "
                           f"pass encoding= to read it")
    try:
        text = np.array([b.decode(encoding) for b in ub.view(f"S{width}").ravel()] + [""], dtype=object)[:-1]
    except UnicodeDecodeError as exc:
        raise XptError(f"{where}: {col} cannot be decoded as {encoding}: {exc}") from None
    return pd.Series(text[inverse.ravel()], dtype="str")
