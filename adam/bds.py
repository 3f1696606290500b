"""Shared BDS building blocks: AVAL/AVALC, ADT/ADTF/ADY, AVISIT, analysis flags, traceability, ASEQ.

General on purpose (ADRS, ADTTE, ADLB ... use them): every function works on whole frames and
takes the study-specific choices (imputation, ordering, keys) as arguments.
"""

from __future__ import annotations

from typing import Literal, Mapping, Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

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


# --- BDS analysis-value building blocks shared by ADLB, ADQS and ADSYM ---------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Window(_Strict):
    """One analysis window on the ADY scale (ADaMIG 1.3 AWTARGET/AWLO/AWHI, both ends inclusive)."""

    avisit: str = Field(min_length=1)
    avisitn: float
    target: float
    lo: float
    hi: float
    baseline: bool = Field(False, description="the pre-treatment window: its representative is the ABLFL record")

    @model_validator(mode="after")
    def _ordered(self) -> "Window":
        if not self.lo <= self.target <= self.hi:
            raise ValueError(f"window {self.avisit}: need lo <= target <= hi")
        return self


class Windows(_Strict):
    """Analysis windows (non-overlapping) and which record represents a window (ANL01FL)."""

    unit: str = "DAYS"
    windows: list[Window] = Field(min_length=1)
    tie: Literal["later", "earlier"] = Field(
        "later", description="two records equally near the target: keep the later (or earlier) one")

    @model_validator(mode="after")
    def _no_overlap(self) -> "Windows":
        spans = sorted((w.lo, w.hi, w.avisit) for w in self.windows)
        for (_, hi1, a1), (lo2, _, a2) in zip(spans, spans[1:]):
            if lo2 <= hi1:
                raise ValueError(f"windows {a1} and {a2} overlap")
        return self


def study_windows(ady: pd.Series, spec: Windows) -> pd.DataFrame:
    """AVISIT, AVISITN, AWTARGET, AWLO, AWHI, AWTDIFF, AWU for each ADY (blank outside every window)."""
    a = np.asarray(ady, dtype=float)
    n = len(a)
    idx = np.full(n, -1)
    for i, w in enumerate(spec.windows):
        idx = np.where((a >= w.lo) & (a <= w.hi) & (idx < 0), i, idx)
    hit = idx >= 0
    safe = np.where(hit, idx, 0)

    def col(values: list, char: bool) -> np.ndarray:
        arr = np.asarray(values, dtype=object if char else float)[safe]
        return np.where(hit, arr, "" if char else np.nan)

    target = col([w.target for w in spec.windows], False).astype(float)
    out = pd.DataFrame({
        "AVISIT": pd.Series(col([w.avisit for w in spec.windows], True), index=ady.index, dtype="str"),
        "AVISITN": col([w.avisitn for w in spec.windows], False).astype(float),
        "AWTARGET": target,
        "AWLO": col([w.lo for w in spec.windows], False).astype(float),
        "AWHI": col([w.hi for w in spec.windows], False).astype(float),
        "AWTDIFF": np.abs(a - target),
        "AWU": np.where(hit, spec.unit, ""),
    }, index=ady.index)
    out["AWU"] = out["AWU"].astype("str")
    return out


def baseline_flag(df: pd.DataFrame, by: Sequence[str], *, adt: str, ref: str, value: str,
                  include_ref_day: bool = True, order: Sequence[str] = ()) -> pd.Series:
    """ABLFL: 'Y' on the last record with a non-missing value dated on or before the reference date.

    `include_ref_day=False` makes the rule strictly before the reference date. `order` breaks ties
    on the same date (e.g. --SEQ): the last record in that order wins.
    """
    d = np.asarray(df[adt], dtype=float)
    r = np.asarray(df[ref], dtype=float)
    eligible = np.isfinite(d) & np.isfinite(r) & df[value].notna().to_numpy()
    eligible &= (d <= r) if include_ref_day else (d < r)
    return extreme_flag(df, by, [adt, *order], mask=pd.Series(eligible, index=df.index), last=True)


def baseline_values(df: pd.DataFrame, by: Sequence[str], flag: pd.Series,
                    columns: Mapping[str, str]) -> pd.DataFrame:
    """Columns of the flagged baseline record copied to every record of its group (BASE from AVAL ...)."""
    src = df.loc[flag == "Y", list(by) + list(columns)].rename(columns=dict(columns))
    src = src.drop_duplicates(list(by))
    out = df[list(by)].merge(src, on=list(by), how="left", sort=False)
    out.index = df.index
    return out[list(columns.values())]


def change(aval: pd.Series, base: pd.Series) -> pd.Series:
    """CHG = AVAL - BASE (missing when either is)."""
    return aval.astype(float) - base.astype(float)


def percent_change(aval: pd.Series, base: pd.Series) -> pd.Series:
    """PCHG = (AVAL - BASE) / BASE x 100; missing when BASE is 0 or missing (ADaMIG 1.3, PCHG)."""
    b = base.astype(float)
    return ((aval.astype(float) - b) / b.where(b != 0) * 100).astype(float)


def representative_flag(df: pd.DataFrame, by: Sequence[str], *, value: str, tie: str = "later",
                        baseline_flag_col: str = "ABLFL", baseline_windows: Sequence[str] = ()) -> pd.Series:
    """ANL01FL: per subject/parameter/window the record nearest AWTARGET with a non-missing value.

    Ties on AWTDIFF go to the later (or earlier) ADT, then the later source order. In a baseline
    window the representative is the baseline record itself, so ANL01FL and ABLFL agree.
    """
    inwin = (df["AVISIT"] != "") & df[value].notna()
    base_win = df["AVISIT"].isin(list(baseline_windows))
    normal = inwin & ~base_win
    key = df[["AWTDIFF", "ADT"]].copy()
    key["_neg_adt"] = -key["ADT"] if tie == "later" else key["ADT"]
    key["_pos"] = -np.arange(len(df), dtype=float)
    work = pd.concat([df[list(by) + ["AVISIT"]], key[["AWTDIFF", "_neg_adt", "_pos"]]], axis=1)
    flag = extreme_flag(work, [*by, "AVISIT"], ["AWTDIFF", "_neg_adt", "_pos"], mask=normal)
    flag = flag.where(~base_win, np.where(df[baseline_flag_col] == "Y", "Y", ""))
    return flag.astype("str")


def range_indicator(aval: pd.Series, lo: pd.Series, hi: pd.Series) -> pd.Series:
    """ANRIND: LOW below ANRLO, HIGH above ANRHI, NORMAL otherwise; blank without a value or range."""
    a = np.asarray(aval, dtype=float)
    lo_ = np.asarray(lo, dtype=float)
    hi_ = np.asarray(hi, dtype=float)
    known = np.isfinite(a) & (np.isfinite(lo_) | np.isfinite(hi_))
    out = np.select([known & np.isfinite(lo_) & (a < lo_), known & np.isfinite(hi_) & (a > hi_), known],
                    ["LOW", "HIGH", "NORMAL"], "")
    return pd.Series(out, index=aval.index, dtype="str")


def on_treatment_flag(adt: pd.Series, start: pd.Series, end: pd.Series, *, days_after: int,
                      include_start_day: bool) -> pd.Series:
    """ONTRTFL: 'Y' when start <= ADT <= end + days_after (start day itself only if asked)."""
    a = np.asarray(adt, dtype=float)
    s = np.asarray(start, dtype=float)
    e = np.asarray(end, dtype=float)
    e = np.where(np.isfinite(e), e, np.inf)  # still on treatment: no end yet
    lower = (a >= s) if include_start_day else (a > s)
    on = np.isfinite(a) & np.isfinite(s) & lower & (a <= e + days_after)
    return pd.Series(np.where(on, "Y", ""), index=adt.index, dtype="str")


class BaselineRule(_Strict):
    """ABLFL: last non-missing value dated on or before the reference date (same day counts if asked)."""

    ref_var: str = Field("TRTSDT", description="ADSL date variable the baseline is taken against")
    include_ref_day: bool = True


class OnTreatment(_Strict):
    """ONTRTFL window: TRTSDT (<= or <) ADT <= TRTEDT + days_after."""

    start_var: str = "TRTSDT"
    end_var: str = "TRTEDT"
    days_after: int = Field(0, ge=0)
    include_start_day: bool = False


class BdsCommon(_Strict):
    """What every BDS dataset here decides the same way: ADSL variables, baseline, windows, ONTRTFL."""

    adsl_vars: list[str] = Field(default_factory=lambda: ["STUDYID", "USUBJID", "SUBJID", "SITEID"])
    baseline: BaselineRule = Field(default_factory=BaselineRule)
    windows: Windows
    on_treatment: OnTreatment | None = None


def finish_bds(df: pd.DataFrame, adsl: pd.DataFrame, common: BdsCommon, *,
               order: Sequence[str] = (), windowed: bool = False) -> pd.DataFrame:
    """ADY, windows, ABLFL, BASE/CHG/PCHG, ANL01FL, ONTRTFL and ASEQ on records that carry USUBJID,
    PARAMCD, ADT and AVAL (whole frame at once). `order` breaks same-date ties (e.g. SRCSEQ).

    `windowed=True`: the records are already one per window (AVISIT ... AWU given, e.g. averages of
    daily records); the baseline is then the record of the baseline window, not the last before the date.
    """
    by = ["USUBJID", "PARAMCD"]
    ref = common.baseline.ref_var
    need = [ref]
    if common.on_treatment is not None:
        need += [common.on_treatment.start_var, common.on_treatment.end_var]
    subj = adsl[["USUBJID", *[c for c in dict.fromkeys(need) if c in adsl.columns]]].drop_duplicates("USUBJID")
    out = df.merge(subj, on="USUBJID", how="left", sort=False)
    out = merge_subject_vars(out, adsl, common.adsl_vars)
    out["ADY"] = analysis_day(out["ADT"], out[ref])
    base = [w.avisit for w in common.windows.windows if w.baseline]
    if windowed:
        flag = out["AVISIT"].isin(base) & out["AVAL"].notna()
        out["ABLFL"] = extreme_flag(out, by, ["ADT"], mask=flag, last=True)
    else:
        out = pd.concat([out, study_windows(out["ADY"], common.windows)], axis=1)
        out["ABLFL"] = baseline_flag(out, by, adt="ADT", ref=ref, value="AVAL",
                                     include_ref_day=common.baseline.include_ref_day, order=order)
    out["BASE"] = baseline_values(out, by, out["ABLFL"], {"AVAL": "BASE"})["BASE"]
    # change from baseline only on post-baseline records: after the reference date (or from it on, when
    # the baseline must precede it); undated records get none
    post = out["ADT"].gt(out[ref]) if common.baseline.include_ref_day else out["ADT"].ge(out[ref])
    out["CHG"] = change(out["AVAL"], out["BASE"]).where(post)
    out["PCHG"] = percent_change(out["AVAL"], out["BASE"]).where(post)
    out["ANL01FL"] = representative_flag(out, by, value="AVAL", tie=common.windows.tie, baseline_windows=base)
    if common.on_treatment is not None:
        ot = common.on_treatment
        out["ONTRTFL"] = on_treatment_flag(out["ADT"], out[ot.start_var], out[ot.end_var],
                                           days_after=ot.days_after, include_start_day=ot.include_start_day)
    out["ASEQ"] = sequence_number(out, ["USUBJID"], ["PARAMCD", "ADT", *order])
    return out


def complete_date(dtc: pd.Series) -> pd.Series:
    """ADT from ISO 8601 text without imputation: the date of a complete date (or datetime), else NaN.

    Parses each distinct value once (a diary or questionnaire repeats few dates over many records).
    """
    codes, uniques = pd.factorize(dtc.astype("str").fillna(""), sort=False)
    adt, _, _ = analysis_date(pd.Series(uniques, dtype="str"), imputation="none")
    values = adt.to_numpy(dtype=float)
    out = np.where(codes >= 0, values[np.maximum(codes, 0)] if len(values) else np.nan, np.nan)
    return pd.Series(out, index=dtc.index, dtype=float)
