"""Subject-level rules: USUBJID from the study's raw identity, dates taken from other forms (DM
reference dates, DTHDTC), AGE, and the arm a subject was assigned to and received."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from studyforge.findings import Severity

from .. import _dates
from ..derivations import form_iso
from ..vocabulary import norm_key
from .base import SUBJECT_ID, Params, Refs, Used, variable_rule


class UsubjidParams(Params):
    """No parameters: the composition (study id, site, subject columns, separator) is the study's raw identity."""


@variable_rule("usubjid", UsubjidParams,
               method="Composed from the study's raw identity (study identifier, subject identifier)")
def usubjid(frame, p: UsubjidParams, refs: Refs):
    return refs.field(frame, SUBJECT_ID), []


class SubjectDateParams(Params):
    form: str
    date: str
    time: str | None = None
    agg: Literal["min", "max"]
    where_field: str | None = None
    where_in: list[str] = Field(default_factory=list)
    format: Literal["edc", "iso"] = "edc"
    text: bool = Field(default=False, description="take the field as text (not a date) for the chosen record")


def _per_usubjid(frame, values: pd.Series) -> pd.Series:
    """A per-USUBJID Series mapped onto the working rows ('' where absent)."""
    return refs_subject(frame).map(values).astype(object).fillna("").astype(str)


def _extreme_per_subject(t: pd.DataFrame, agg: str) -> pd.Series:
    """t.groupby("S")["iso"].agg("min" | "max") by one sort instead of pandas' per-group Python fallback
    for text (minutes at 10,000 subjects): missing values and keys skipped, as groupby does."""
    t = t[t["S"].notna() & t["iso"].notna()]
    o = t.sort_values(["S", "iso"], kind="mergesort")
    pick = o.drop_duplicates("S", keep="first" if agg == "min" else "last")
    return pd.Series(pick["iso"].to_numpy(), index=pick["S"].to_numpy())


def refs_subject(frame) -> pd.Series:
    return frame[SUBJECT_ID] if SUBJECT_ID in frame.columns else pd.Series("", index=frame.index, dtype=str)


@variable_rule("subject_date", SubjectDateParams,
               method="The {agg} of {form}.{date} (time {time}) per subject{where_field} {where_in}")
def subject_date(frame, p: SubjectDateParams, refs: Refs):
    """Earliest/latest date per subject from another raw form (DM reference dates, DTHDTC)."""
    rf = refs.form(p.form)
    blank = pd.Series("", index=frame.index, dtype=str)
    if rf is None:
        var = refs.variable.name if refs.variable else ""
        return blank, [refs.finding(Severity.WARNING, "SD0103", f"raw form {p.form!r} absent: {var} left empty")]
    f = rf.frame
    if p.date not in f.columns:
        return blank, [refs.finding(Severity.ERROR, "SD0102", f"required column {p.date!r} missing in raw form "
                                    f"{p.form}", file=rf.path, field=p.date)]
    subj = refs.usubjid_of(p.form)
    keep = pd.Series(True, index=f.index)
    if p.where_field:
        keep = norm_key(f.get(p.where_field, pd.Series("", index=f.index))).isin([v.upper() for v in p.where_in])
    if p.text:
        t = pd.DataFrame({"S": subj, "iso": f[p.date]})[keep]
        return _per_usubjid(frame, _extreme_per_subject(t, p.agg)), [Used(p.form, len(t))]
    if p.format == "edc":
        iso, err = form_iso(refs, p.form, p.date)
    else:
        iso = f[p.date]
        err = ~_dates.is_valid_iso8601(iso)
    if p.time and p.time in f.columns:
        t = f[p.time]
        okt = t.str.match(r"^\d{2}:\d{2}$")
        iso = iso.where(~(okt & (iso.str.len() == 10)), iso + "T" + t)
    t = pd.DataFrame({"S": subj, "iso": iso})[keep & ~err & (iso != "")]
    return _per_usubjid(frame, _extreme_per_subject(t, p.agg)), [Used(p.form, len(t))]


class AgeParams(Params):
    birth: str = Field(description="raw birth date field (EDC text)")
    ref: str = Field(description="reference date variable, e.g. RFICDTC")
    partial: Literal["unambiguous", "missing"] = "unambiguous"


@variable_rule("age", AgeParams, reads=lambda p: [p.ref], fields=lambda p: [p.birth],
               method="Whole years from {birth} to {ref}; a partial birth date gives an age only when every "
                      "possible birth date in it gives the same age ({partial})")
def age(frame, p: AgeParams, refs: Refs):
    """Whole years from birth to the reference date. A partial birth date gives an age only when
    every possible birth date in it gives the same age ('unambiguous'); otherwise empty + WARNING."""
    raw = refs.field(frame, p.birth)
    iso, err = _dates.edc_date_to_iso(raw)
    notes = refs.row_findings(frame, err, Severity.ERROR, "SD0301", "unparseable or impossible date", p.birth, raw)
    ref = _dates.complete_date(refs.var(p.ref).astype(str))
    parts = iso.str.extract(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$").apply(pd.to_numeric, errors="coerce")
    y, m, d = parts[0], parts[1], parts[2]

    def years(by, bm, bd):
        return ref.dt.year - by - ((ref.dt.month < bm) | ((ref.dt.month == bm) & (ref.dt.day < bd))).astype(int)
    lo_m, hi_m = m.fillna(1), m.fillna(12)
    last_day = pd.to_datetime(pd.DataFrame({"year": y.fillna(2000), "month": hi_m.fillna(12), "day": 1}),
                              errors="coerce") + pd.offsets.MonthEnd(0)
    lo_d, hi_d = d.fillna(1), d.fillna(last_day.dt.day)
    a_old = years(y, hi_m, hi_d)   # latest possible birth -> youngest
    a_young = years(y, lo_m, lo_d)
    out = a_old.where(a_old == a_young)
    if p.partial == "missing":
        out = out.where(d.notna())
    amb = y.notna() & ref.notna() & out.isna()
    notes += refs.row_findings(frame, amb, Severity.WARNING, "SD0701", "partial birth date: age not determinable "
                               "unambiguously; AGE left empty", p.birth, raw)
    return out.astype(float), notes


class ArmParams(Params):
    output: Literal["ARMCD", "ARM", "ACTARMCD", "ACTARM", "ARMNRS"]
    armcd: str
    arm: str
    treated_form: str = Field(description="form whose records show the subject was treated")
    screen_fail_form: str | None = Field(default=None, description="form listing failed eligibility")


@variable_rule("arm", ArmParams,
               method="{output}: single arm {armcd} ({arm}); treated = any record in {treated_form}; screen "
                      "failure = in {screen_fail_form} and never treated")
def arm(frame, p: ArmParams, refs: Refs):
    """Single-arm assignment: treated subjects (any record in the dosing form) get the arm; screen
    failures (rows in the eligibility form and never treated) get ARMNRS 'SCREEN FAILURE'."""
    subj = refs_subject(frame)
    none = pd.Series(False, index=subj.index)
    treated = subj.isin(refs.usubjid_of(p.treated_form).unique()) if refs.form(p.treated_form) is not None else none
    sf = subj.isin(refs.usubjid_of(p.screen_fail_form).unique()) \
        if p.screen_fail_form and refs.form(p.screen_fail_form) is not None else none
    sf = sf & ~treated
    if p.output in ("ARMCD", "ARM"):
        val = p.armcd if p.output == "ARMCD" else p.arm
        return pd.Series(np.where(sf, "", val), index=subj.index).astype(str), []
    if p.output in ("ACTARMCD", "ACTARM"):
        val = p.armcd if p.output == "ACTARMCD" else p.arm
        return pd.Series(np.where(treated, val, ""), index=subj.index).astype(str), []
    return pd.Series(np.select([sf, ~treated], ["SCREEN FAILURE", "ASSIGNED, NOT TREATED"], ""),
                     index=subj.index).astype(str), []
