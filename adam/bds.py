"""Shared BDS building blocks: AVAL/AVALC, ADT/ADTF/ADY, AVISIT, analysis flags, traceability, ASEQ.

General on purpose (ADRS, ADTTE, ADLB ... use them): every function works on whole frames and
takes the study-specific choices (imputation, ordering, keys) as arguments.
"""

from __future__ import annotations

from typing import Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from adam.derive_common import num_col as number  # noqa: F401  (re-exported: the BDS helpers' name)
from adam.derive_common import text_col
from studyforge.dates import impute_date, parse_iso8601


def text(df: pd.DataFrame, name: str, *, strip: bool = True) -> pd.Series:
    """A character column as str with '' for missing (stripped: XPT pads with blanks); absent -> all ''."""
    s = text_col(df, name)
    return s.str.strip() if strip else s


def aval_from_avalc(avalc: pd.Series, coding: Mapping[str, float]) -> pd.Series:
    """AVAL from AVALC through a fixed coding (e.g. CR 1 ... MISSING 7); unknown values -> NaN."""
    return avalc.map(dict(coding)).astype(float)


def analysis_date(
    dtc: pd.Series,
    *,
    imputation: Literal["first", "mid", "last", "none"] = "first",
    min_dates: pd.Series | None = None,
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """ADT, ADTF and a validity mask from ISO 8601 --DTC (partial dates imputed per the spec).

    `imputation="none"` keeps only complete dates. `min_dates` (SAS dates, aligned) raises an
    imputed date to the reference date when the partial date's range contains it (admiral).
    Invalid text gives NaN and valid=False so the caller can report file/record/value.
    """
    dtc = dtc.astype("str").fillna("")
    parsed = parse_iso8601(dtc.reset_index(drop=True))
    valid = pd.Series(parsed["valid"].to_numpy(dtype=bool), index=dtc.index)
    if imputation == "none":
        adt, adtf = impute_date(dtc.reset_index(drop=True), fill="first")
        complete = (parsed["precision"].isin(["day", "hour", "minute", "second"])).to_numpy()
        adt = adt.where(complete, np.nan)
        adtf = adtf.where(complete, "")
    else:
        mins = None if min_dates is None else pd.Series(np.asarray(min_dates, dtype=float))
        adt, adtf = impute_date(dtc.reset_index(drop=True), fill=imputation, min_dates=mins)
    return (pd.Series(adt.to_numpy(dtype=float), index=dtc.index),
            pd.Series(adtf.to_numpy(dtype=object), index=dtc.index, dtype="str"),
            valid)


def analysis_day(adt: pd.Series, ref: pd.Series) -> pd.Series:
    """ADY: ADT - ref + 1 on or after the reference date, ADT - ref before it (no day 0)."""
    a = np.asarray(adt, dtype=float)
    b = np.asarray(ref, dtype=float)
    diff = a - b
    return pd.Series(np.where(diff >= 0, diff + 1, diff), index=adt.index, dtype=float)


def extreme_flag(
    df: pd.DataFrame,
    by: Sequence[str],
    order: Sequence[str],
    *,
    mask: pd.Series | None = None,
    last: bool = False,
) -> pd.Series:
    """'Y' on the first (or last) record per `by` group in `order` among `mask` rows, else ''."""
    keep = pd.Series(True, index=df.index) if mask is None else mask.astype(bool)
    sub = df.loc[keep, list(by) + list(order)]
    sub = sub.sort_values(list(by) + list(order), kind="mergesort")
    chosen = sub.drop_duplicates(list(by), keep="last" if last else "first").index
    out = pd.Series("", index=df.index, dtype="str")
    out.loc[chosen] = "Y"
    return out


def sequence_number(df: pd.DataFrame, by: Sequence[str], order: Sequence[str]) -> pd.Series:
    """ASEQ: 1..n within `by` after a stable sort by `order` (deterministic for equal keys)."""
    ordered = df.sort_values(list(by) + list(order), kind="mergesort")
    seq = ordered.groupby(list(by), sort=False).cumcount() + 1
    return seq.reindex(df.index).astype(float)


def merge_subject_vars(df: pd.DataFrame, adsl: pd.DataFrame, names: Sequence[str],
                       key: str = "USUBJID") -> pd.DataFrame:
    """Copy ADSL variables onto BDS records by subject (Predecessor origin), keeping row order."""
    take = [n for n in names if n in adsl.columns and n != key and n not in df.columns]
    if not take:
        return df
    right = adsl[[key, *take]].drop_duplicates(key)
    out = df.merge(right, on=key, how="left", sort=False)
    out.index = df.index
    return out


def traceability(df: pd.DataFrame, srcdom: str, srcvar: str, seq: pd.Series) -> pd.DataFrame:
    """SRCDOM/SRCVAR/SRCSEQ; blank where the record has no single source record (seq NaN)."""
    out = df.copy()
    has = seq.notna()
    out["SRCDOM"] = pd.Series(np.where(has, srcdom, ""), index=df.index, dtype="str")
    out["SRCVAR"] = pd.Series(np.where(has, srcvar, ""), index=df.index, dtype="str")
    out["SRCSEQ"] = seq.astype(float)
    return out
