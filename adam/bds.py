"""Shared BDS building blocks: AVAL/AVALC, ADT/ADTF/ADY, AVISIT, analysis flags, traceability, ASEQ.

General on purpose (ADRS, ADTTE, ADLB ... use them): every function works on whole frames and
takes the study-specific choices (imputation, ordering, keys) as arguments.
"""

from __future__ import annotations

from typing import Literal, Mapping, Sequence

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from adam.derive_common import SpecParams, text_col
from adam.derive_common import num_col as number  # noqa: F401  (re-exported: the BDS helpers' name)
from studyforge.dates import impute_date, parse_iso8601
from studyforge.xpt import factorize_text, text_layout


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
    """Copy ADSL variables onto records by subject (Predecessor origin), keeping row order (BDS and OCCDS)."""
    take = [n for n in names if n in adsl.columns and n != key and n not in df.columns]
    if not take:
        return df
    right = adsl[[key, *take]].drop_duplicates(key).assign(**{key: text_col(adsl.drop_duplicates(key), key)})
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


class Window(SpecParams):
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


class Windows(SpecParams):
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


def window_columns(ady, spec: Windows) -> dict[str, np.ndarray | pd.Categorical]:
    """AVISIT, AVISITN, AWTARGET, AWLO, AWHI, AWTDIFF, AWU for each ADY (blank outside every window);
    the text columns are Categoricals (one small code per record: millions of lab records, a few windows)."""
    a = np.asarray(ady, dtype=float)
    idx = np.full(len(a), -1)
    for i, w in enumerate(spec.windows):
        idx = np.where((a >= w.lo) & (a <= w.hi) & (idx < 0), i, idx)

    def num(values: list) -> np.ndarray:
        return np.append(np.asarray(values, dtype=float), np.nan)[idx]     # -1 takes the appended NaN

    target = num([w.target for w in spec.windows])
    return {"AVISIT": categorical(idx, [w.avisit for w in spec.windows]),
            "AVISITN": num([w.avisitn for w in spec.windows]),
            "AWTARGET": target,
            "AWLO": num([w.lo for w in spec.windows]),
            "AWHI": num([w.hi for w in spec.windows]),
            "AWTDIFF": np.abs(a - target),
            "AWU": categorical(np.where(idx >= 0, 0, -1), [spec.unit])}


def study_windows(ady: pd.Series, spec: Windows) -> pd.DataFrame:
    """window_columns as a frame on ADY's index."""
    return pd.DataFrame(window_columns(ady, spec), index=ady.index)


def pick(group: np.ndarray, keys: Sequence[np.ndarray], mask: np.ndarray, *, last: bool) -> np.ndarray:
    """True on the first (or last) masked row of each group after sorting by `keys` (most significant first)."""
    out = np.zeros(len(group), dtype=bool)
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return out
    srt = idx[np.lexsort(tuple(np.asarray(k)[idx] for k in reversed(keys)) + (group[idx],))]
    g = group[srt]
    edge = np.r_[g[1:] != g[:-1], True] if last else np.r_[True, g[1:] != g[:-1]]
    out[srt[edge]] = True
    return out


def from_flagged(group: np.ndarray, flag: np.ndarray, values: np.ndarray, missing=np.nan) -> np.ndarray:
    """The value of each group's flagged record on every record of the group (BASE from AVAL ...)."""
    values = np.asarray(values)
    table = np.full(int(group.max()) + 2 if len(group) else 1, missing, dtype=values.dtype if values.dtype == object
                    else float)
    table[group[flag]] = values[flag]
    return table[np.where(group >= 0, group, len(table) - 1)]


def text_from_flagged(group: np.ndarray, flag: np.ndarray, values) -> pd.Categorical:
    """from_flagged for a text column (BNRIND from ANRIND ...): the flagged record's text, '' when none;
    works on the codes, so no string is made per record."""
    cat = pd.Categorical(values)
    got = from_flagged(group, flag, cat.codes.astype(float))
    return categorical(np.where(np.isnan(got), -1, got).astype(np.int64), cat.categories)


def categorical(codes: np.ndarray, values, missing: str = "") -> pd.Categorical:
    """values[codes] (code -1: `missing`) as a Categorical with sorted, distinct, used categories.

    Text with few distinct values (flags, visits, parameters, subjects) costs one small integer per
    record instead of a pointer or an Arrow string each: this is what keeps ADLB's millions of
    records within memory. Sorted categories sort and compare as the text does.
    """
    table = np.append(np.asarray(values, dtype=object), missing)
    codes = np.asarray(codes, dtype=np.int64)
    used = np.bincount(codes + 1, minlength=len(table)) > 0 if len(codes) else np.zeros(len(table), dtype=bool)
    used = np.roll(used, -1)                    # bincount slot 0 is code -1, i.e. the appended `missing`
    tcodes, cats = pd.factorize(np.where(used, table, missing), sort=True)
    keep = np.zeros(len(cats), dtype=bool)
    keep[tcodes[used]] = True                   # a category no record uses (e.g. an unused `missing`) is dropped
    remap = np.cumsum(keep) - 1
    return pd.Categorical.from_codes(remap[tcodes][codes], categories=pd.Index(np.asarray(cats, dtype=object)[keep],
                                                                               dtype="str"))


def text_codes(df: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct values) of a character column as text_col reads it ('' for missing, so equal text is
    an equal code), without a Python string per record: each layout's hash kernel (studyforge.xpt)."""
    if name not in df.columns:
        return np.zeros(len(df), dtype=np.int64), np.array([""], dtype=object)
    s = df[name]
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes, uniq = s.cat.codes.to_numpy().astype(np.int64), np.asarray(s.cat.categories, dtype=object)
    elif text_layout(s.dtype) is not None:
        codes, uniq = factorize_text(s)
        codes = codes.astype(np.int64)
    else:
        codes, uniq = pd.factorize(text_col(df, name).to_numpy(dtype=object))
        return codes, np.asarray(uniq, dtype=object)
    missing = codes < 0
    if missing.any():                                   # missing reads as '': one code with any '' present
        blank = np.flatnonzero(uniq == "")
        if len(blank) == 0:
            uniq, blank = np.append(uniq, ""), [len(uniq)]
        codes[missing] = blank[0]
    return codes, uniq


def flag_text(mask: np.ndarray) -> pd.Categorical:
    """'Y' where `mask`, else '' (a Categorical: one byte per record)."""
    return categorical(np.asarray(mask, dtype=bool).astype(np.int64) - 1, ["Y"])


def change(aval: np.ndarray, base: np.ndarray) -> np.ndarray:
    """CHG = AVAL - BASE (missing when either is)."""
    return np.asarray(aval, dtype=float) - np.asarray(base, dtype=float)


def percent_change(aval: np.ndarray, base: np.ndarray) -> np.ndarray:
    """PCHG = (AVAL - BASE) / BASE x 100; missing when BASE is 0 or missing (ADaMIG 1.3, PCHG)."""
    b = np.asarray(base, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, (np.asarray(aval, dtype=float) - b) / b * 100, np.nan)


def range_indicator(aval, lo, hi) -> pd.Categorical:
    """ANRIND: LOW below ANRLO, HIGH above ANRHI, NORMAL otherwise; blank without a value or range."""
    a, lo_, hi_ = (np.asarray(x, dtype=float) for x in (aval, lo, hi))
    known = np.isfinite(a) & (np.isfinite(lo_) | np.isfinite(hi_))
    with np.errstate(invalid="ignore"):
        code = np.select([known & (a < lo_), known & (a > hi_), known], [0, 1, 2], -1)
    return categorical(code, ["LOW", "HIGH", "NORMAL"])


def on_treatment_flag(adt, start, end, *, days_after: int, include_start_day: bool) -> np.ndarray:
    """ONTRTFL: 'Y' when start <= ADT <= end + days_after (start day itself only if asked)."""
    a, s, e = (np.asarray(x, dtype=float) for x in (adt, start, end))
    e = np.where(np.isfinite(e), e, np.inf)  # still on treatment: no end yet
    with np.errstate(invalid="ignore"):
        lower = (a >= s) if include_start_day else (a > s)
        on = np.isfinite(a) & np.isfinite(s) & lower & (a <= e + days_after)
    return flag_text(on)


class BaselineRule(SpecParams):
    """ABLFL: last non-missing value dated on or before the reference date (same day counts if asked)."""

    ref_var: str = Field("TRTSDT", description="ADSL date variable the baseline is taken against")
    include_ref_day: bool = True


class OnTreatment(SpecParams):
    """ONTRTFL window: TRTSDT (<= or <) ADT <= TRTEDT + days_after."""

    start_var: str = "TRTSDT"
    end_var: str = "TRTEDT"
    days_after: int = Field(0, ge=0)
    include_start_day: bool = False


class BdsCommon(SpecParams):
    """What every BDS dataset here decides the same way: ADSL variables, baseline, windows, ONTRTFL."""

    adsl_vars: list[str] = Field(default_factory=lambda: ["STUDYID", "USUBJID", "SUBJID", "SITEID"])
    baseline: BaselineRule = Field(default_factory=BaselineRule)
    windows: Windows
    on_treatment: OnTreatment | None = None


def _subject_columns(out: pd.DataFrame, sid: np.ndarray, suniq: np.ndarray, adsl: pd.DataFrame,
                     names: Sequence[str]) -> None:
    """ADSL variables onto the records by subject (numpy take through an indexer, no string merge)."""
    a = adsl.drop_duplicates("USUBJID")
    where = pd.Index(np.asarray(a["USUBJID"], dtype=object)).get_indexer(suniq)
    row = where[sid] if len(sid) else np.zeros(0, dtype=np.int64)
    absent = row < 0
    for c in names:
        if c in out.columns or c not in a.columns:
            continue
        if pd.api.types.is_numeric_dtype(a[c]):
            out[c] = np.append(a[c].to_numpy().astype(float), np.nan)[np.where(absent, len(a), row)]
        else:
            codes, uniq = text_codes(a, c)              # per subject, then a code per record
            out[c] = categorical(np.where(absent, -1, codes[row]), uniq)


def sorted_codes(values) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct values) numbered in sorted order, as pd.factorize(sort=True), taking a Categorical's
    codes as they are when its categories are sorted (no text compared per record)."""
    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype) and values.cat.categories.is_monotonic_increasing:
        codes, dense = pd.factorize(values.cat.codes.to_numpy(), sort=True)
        return codes, np.asarray(values.cat.categories, dtype=object)[dense]
    codes, uniq = pd.factorize(np.asarray(values, dtype=object), sort=True)
    return codes, np.asarray(uniq, dtype=object)


def _order(sid: np.ndarray, pid: np.ndarray, adt: np.ndarray, extra: Sequence[np.ndarray]) -> np.ndarray:
    keys = [sid, pid, np.where(np.isnan(adt), np.inf, adt), *extra, np.arange(len(sid))]
    return np.lexsort(tuple(reversed(keys)))


def record_order(usubjid: np.ndarray, paramcd: np.ndarray, adt: np.ndarray, extra: Sequence[np.ndarray] = ()) -> np.ndarray:
    """The BDS record order (ASEQ order): USUBJID, PARAMCD, ADT (undated last), `extra`, input order."""
    sid, _ = pd.factorize(np.asarray(usubjid, dtype=object), sort=True)
    pid, _ = pd.factorize(np.asarray(paramcd, dtype=object), sort=True)
    return _order(sid, pid, np.asarray(adt, dtype=float), [np.asarray(e, dtype=float) for e in extra])


def finish_bds(df: pd.DataFrame, adsl: pd.DataFrame, common: BdsCommon, *,
               order: Sequence[str] = (), windowed: bool = False) -> pd.DataFrame:
    """ADY, windows, ABLFL, BASE/CHG/PCHG, ANL01FL, ONTRTFL and ASEQ on records that carry USUBJID,
    PARAMCD, ADT and AVAL (whole frame at once, integer keys). `order` breaks same-date ties (e.g.
    SRCSEQ). Returns the records sorted by USUBJID and ASEQ, with `_G` the subject/parameter code.

    `windowed=True`: the records are already one per window (AVISIT ... AWU given, e.g. averages of
    daily records); the baseline is then the record of the baseline window, not the last before the date.
    """
    n = len(df)
    sid, suniq = sorted_codes(df["USUBJID"])
    pid, puniq = sorted_codes(df["PARAMCD"])
    # sort once, first, while the frame is narrow; every later step works on the sorted records, so the wide
    # result is never copied to reorder it (and records already in order are not copied at all)
    srt = _order(sid, pid, df["ADT"].to_numpy(float), [df[o].to_numpy(float) for o in order])
    if (srt == np.arange(n)).all():
        out = df.reset_index(drop=True).copy(deep=False)
    else:
        out = df.iloc[srt].reset_index(drop=True)
        sid, pid = sid[srt], pid[srt]
    g = sid.astype(np.int64) * max(len(puniq), 1) + pid
    del srt, pid                                    # each a column's worth: ADLB has millions of records
    ref = common.baseline.ref_var
    names = [ref, *common.adsl_vars]
    if common.on_treatment is not None:
        names += [common.on_treatment.start_var, common.on_treatment.end_var]
    _subject_columns(out, sid, suniq, adsl, list(dict.fromkeys(names)))
    adt = out["ADT"].to_numpy(float)
    refd = out[ref].to_numpy(float)
    aval = out["AVAL"].to_numpy(float)
    out["ADY"] = analysis_day(out["ADT"], out[ref]).to_numpy()
    base_windows = [w.avisit for w in common.windows.windows if w.baseline]
    if not windowed:
        for c, v in window_columns(out["ADY"], common.windows).items():
            out[c] = v
    vid, vuniq = text_codes(out, "AVISIT")
    in_window = np.append(vuniq != "", False)[vid] & ~np.isnan(aval)
    base_win = np.append(np.isin(vuniq, base_windows), False)[vid]
    pos = np.arange(n, dtype=float)
    if windowed:
        abl = pick(g, [adt], in_window & base_win, last=True)
    else:
        with np.errstate(invalid="ignore"):
            before = adt <= refd if common.baseline.include_ref_day else adt < refd
        eligible = before & ~np.isnan(aval)
        abl = pick(g, [adt, *(out[o].to_numpy(float) for o in order), pos], eligible, last=True)
        del before, eligible
    out["ABLFL"] = flag_text(abl)
    base = from_flagged(g, abl, aval)
    out["BASE"] = base
    # change from baseline only on post-baseline records: after the reference date (or from it on, when
    # the baseline must precede it); undated records get none
    with np.errstate(invalid="ignore"):
        post = adt > refd if common.baseline.include_ref_day else adt >= refd
    out["CHG"] = np.where(post, change(aval, base), np.nan)
    out["PCHG"] = np.where(post, percent_change(aval, base), np.nan)
    del base, post
    later = -adt if common.windows.tie == "later" else adt
    gw = g * (len(vuniq) + 1) + vid
    anl = pick(gw, [out["AWTDIFF"].to_numpy(float), later, -pos], in_window & ~base_win, last=False)
    out["ANL01FL"] = flag_text(anl | (base_win & abl))
    if common.on_treatment is not None:
        ot = common.on_treatment
        out["ONTRTFL"] = on_treatment_flag(adt, out[ot.start_var], out[ot.end_var],
                                           days_after=ot.days_after, include_start_day=ot.include_start_day)
    start = np.r_[0, np.flatnonzero(sid[1:] != sid[:-1]) + 1] if n else np.zeros(0, dtype=np.int64)
    seq = np.arange(n) - np.repeat(start, np.diff(np.r_[start, n])) + 1
    out["ASEQ"] = seq.astype(float)
    out["_G"] = g
    return out


TIME_PART = r"(T\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?)?"


def complete_date(dtc: pd.Series) -> pd.Series:
    """ADT from ISO 8601 text without imputation: the date of a complete date (or datetime), else NaN.

    Parses each distinct date once (many records share few dates); a malformed time part voids the value.
    """
    codes, uniq = pd.factorize(np.asarray(dtc.astype("str").fillna(""), dtype=object))
    u = pd.Series(np.asarray(uniq, dtype=object), dtype=object)
    day = u.str.slice(0, 10)
    time_ok = u.str.slice(10).str.fullmatch(TIME_PART).fillna(False).to_numpy(dtype=bool)
    dcodes, duniq = pd.factorize(day.to_numpy(dtype=object))
    adt, _, _ = analysis_date(pd.Series(np.asarray(duniq, dtype=object), dtype="str"), imputation="none")
    per_unique = np.where(time_ok, adt.to_numpy(dtype=float)[dcodes] if len(duniq) else np.nan, np.nan)
    out = np.append(per_unique, np.nan)[codes]
    return pd.Series(out, index=dtc.index, dtype=float)


def obj(df: pd.DataFrame, name: str) -> np.ndarray:
    """A character column as an object array of str ('' for missing; absent -> all '')."""
    return text_col(df, name).to_numpy(dtype=object)


def recode(values: np.ndarray, mapping: Mapping[str, object], default: object = "") -> np.ndarray:
    """mapping[v] for each value, computed once per distinct value (whole-array take)."""
    codes, uniq = pd.factorize(values)
    table = np.array([mapping.get(u, default) for u in uniq] + [default], dtype=object)
    return table[codes]


def parameter_columns(paramcd, ds_parameters) -> dict[str, np.ndarray | pd.Categorical]:
    """PARAM, PARAMN, PARCAT1, PARCAT2 from the spec's parameter list, by PARAMCD (text as Categoricals)."""
    meta = {p.paramcd: p for p in ds_parameters}
    codes, uniq = pd.factorize(paramcd)
    uniq = np.asarray(uniq, dtype=object)

    def text(of) -> pd.Categorical:
        return categorical(codes, [of(meta[u]) if u in meta else "" for u in uniq])

    rank = {c: float(i + 1) for i, c in enumerate(meta)}
    return {"PARAM": text(lambda m: m.param),
            "PARAMN": np.append(np.array([rank.get(u, np.nan) for u in uniq], dtype=float), np.nan)[codes],
            "PARCAT1": text(lambda m: m.parcat1 or ""),
            "PARCAT2": text(lambda m: m.parcat2 or "")}
