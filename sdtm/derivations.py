"""Shared whole-frame helpers of the SDTM derivations: ordering codes, per-subject lookups, parsed
--DTC values. Each works on whole columns; caches live in the rule's `refs` memo (pure: keyed by input)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from studyforge.ordering import lex_order, text_ranks

from . import _dates
from ._fast import distinct_values
from .rules.base import Refs


def typed_codes(col: pd.Series) -> np.ndarray:
    """Order codes of a text column compared by type: missing first, then numbers as numbers, then other
    text as text ('9' < '10' < 'ABC')."""
    vals = col.astype(object).where(col.notna(), "").to_numpy(dtype=object)
    uniq, inv = np.unique(vals.astype(str), return_inverse=True)
    num = pd.to_numeric(pd.Series(uniq), errors="coerce").to_numpy(dtype=float)
    blank = uniq == ""
    # rank: blanks (0), numbers by value (1), text by text (2)
    group = np.where(blank, 0, np.where(np.isnan(num), 2, 1))
    order = np.lexsort((uniq, np.where(np.isnan(num), 0.0, num), group))
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[order] = np.arange(len(uniq))
    return rank[inv.ravel()]


def sort_codes(frame: pd.DataFrame, keys: list[str], known: dict[str, np.ndarray] | None = None,
               typed: bool = False) -> np.ndarray:
    """Row order by `keys` (text sorts as text, numbers as numbers, missing first), stable: each key
    is factorized to sorted integer codes and the codes lexsorted (fast on millions of rows).
    `known` gives such codes already computed for some keys (USUBJID, see subject_ranks); `typed`
    compares text keys that hold numbers as numbers."""
    cols = []
    for k in keys:
        col = frame[k]
        if known and k in known:
            cols.append(known[k])
        elif pd.api.types.is_numeric_dtype(col):
            v = col.to_numpy(dtype=float)
            cols.append(np.where(np.isnan(v), -np.inf, v))
        elif typed:
            cols.append(typed_codes(col))
        else:
            ranks, texts = text_ranks(col)
            cols.append((ranks, len(texts)))      # dense already: not ranked again
    return lex_order(cols)


def subject_codes(refs: Refs) -> tuple[np.ndarray, np.ndarray]:
    """USUBJID of the working rows as (codes, distinct values): per-subject lookups then touch each
    subject once instead of hashing every record's text again."""
    def build():
        codes, uniq = pd.factorize(refs.var("USUBJID").to_numpy(dtype=object))
        return codes, np.asarray(uniq, dtype=object)
    return refs.memo(("usubjid_codes",), build)


def subject_ranks(refs: Refs) -> np.ndarray:
    """USUBJID of the working rows as integer ranks in text order (missing = ''), i.e. the codes
    sort_codes would make, from the cached subject codes instead of another pass over the text."""
    def build():
        codes, uniq = subject_codes(refs)
        ext = np.append(uniq, np.array([""], dtype=object))
        _, inv = np.unique(ext, return_inverse=True)
        return inv.ravel()[np.where(codes >= 0, codes, len(uniq))].astype(np.int64)
    return refs.memo(("usubjid_ranks",), build)


def per_subject(refs: Refs, keys: pd.Series, values: np.ndarray, missing) -> np.ndarray:
    """values (aligned to the unique subject ids `keys`) broadcast to the working rows; absent -> missing."""
    codes, uniq = subject_codes(refs)
    vals = np.asarray(values)
    pos = pd.Index(keys.to_numpy(dtype=object)).get_indexer(uniq)
    on_u = np.full(len(uniq) + 1, missing, dtype=object if vals.dtype == object else float)
    ok = pos >= 0
    on_u[:-1][ok] = vals[pos[ok]]
    return on_u[codes]  # code -1 (no USUBJID) takes the last slot: missing


def _dm_last(refs: Refs) -> pd.DataFrame | None:
    dm = refs.datasets.get("DM")
    if dm is None:
        return None
    return dm[~dm["USUBJID"].duplicated(keep="last")]  # dict(zip()) semantics: the last value wins


def dm_ref(refs: Refs, name: str) -> pd.Series:
    """A DM variable (reference dates) for each working row, by USUBJID ('' when absent)."""
    dm = _dm_last(refs)
    if dm is None or name not in dm.columns:
        return pd.Series("", index=refs.vars.index, dtype=str)
    out = per_subject(refs, dm["USUBJID"], dm[name].fillna("").astype(str).to_numpy(dtype=object), "")
    return pd.Series(out, index=refs.vars.index, dtype=str)


def dm_ref_clock(refs: Refs, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(days (SAS), minutes after midnight) of a DM reference date per working row, NaN where absent;
    parsed once per subject."""
    def build():
        dm = _dm_last(refs)
        if dm is None or name not in dm.columns:
            return np.full(len(refs.vars), np.nan), np.full(len(refs.vars), np.nan)
        days, mins = _dates.day_minutes(dm[name].fillna("").astype(str))
        return (per_subject(refs, dm["USUBJID"], days, np.nan).astype(float),
                per_subject(refs, dm["USUBJID"], mins, np.nan).astype(float))
    return refs.memo(("dm_clock", name), build)


def dm_ref_days(refs: Refs, name: str) -> np.ndarray:
    """Days (SAS) of a DM reference date per working row."""
    return dm_ref_clock(refs, name)[0]


def dtc_parts(refs: Refs, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(days, minutes, codes) of a --DTC variable per working row, parsed once per distinct value;
    the codes let EPOCH work on distinct (subject, date) pairs."""
    def build():
        codes, uniq = distinct_values(refs.var(name))   # missing -> '', so every code is >= 0
        days_u, mins_u = _dates.day_minutes(pd.Series(uniq, dtype=object))
        return days_u[codes], mins_u[codes], codes
    return refs.memo(("dtc", name), build)


def form_iso(refs: Refs, form: str, date_field: str) -> tuple[pd.Series, pd.Series]:
    """ISO dates (and error mask) of a raw form's date field, parsed once per build."""
    return refs.shared(("form_iso", form, date_field),
                       lambda: _dates.edc_date_to_iso(refs.raw[form].frame[date_field]))
