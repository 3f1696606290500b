"""Subject-level rules: USUBJID from the study's raw identity, dates taken from other forms (DM
reference dates, DTHDTC), AGE, and the arm a subject was assigned to and received."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from studyforge.findings import Severity

from .. import _dates
from ..derivations import form_iso, sort_codes
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
    format: Literal["edc", "iso", "declared"] = Field(
        default="edc", description="edc: DD MON YYYY with UN/UNK parts; iso: ISO 8601 as delivered; declared: the "
        "formats study.yaml raw: declares for the form and field (time joined when complete)")
    text: bool = Field(default=False, description="take the field as text (not a date) for the chosen record")


def _per_usubjid(frame, values: pd.Series) -> pd.Series:
    """A per-USUBJID Series mapped onto the working rows ('' where absent)."""
    return refs_subject(frame).map(values).astype(object).fillna("").astype(str)


def _extreme_per_subject(t: pd.DataFrame, agg: str) -> pd.Series:
    """t.groupby("S")["iso"].agg("min" | "max") by one sort instead of pandas' per-group Python fallback
    for text (minutes at 10,000 subjects): missing values and keys skipped, as groupby does."""
    t = t[t["S"].notna() & t["iso"].notna()]
    order = sort_codes(t, ["S", "iso"])                  # by subject, then date text
    subj = t["S"].to_numpy(dtype=object)[order]
    if not len(subj):
        return pd.Series([], dtype=object)
    edge = np.r_[True, subj[1:] != subj[:-1]] if agg == "min" else np.r_[subj[1:] != subj[:-1], True]
    rows = order[edge]
    return pd.Series(t["iso"].to_numpy(dtype=object)[rows], index=t["S"].to_numpy(dtype=object)[rows])


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
    keep, notes = refs.select(p.form, f, p.where_field, p.where_in)
    if keep is None:
        return blank, notes
    if p.text:
        t = pd.DataFrame({"S": subj, "iso": f[p.date]})[keep]
        return _per_usubjid(frame, _extreme_per_subject(t, p.agg)), [Used(p.form, len(t)), *notes]
    if p.format == "declared":  # declared formats: the time is joined by the parser (date and time fields)
        iso, _ = refs.shared(("form_dtc", p.form, p.date, p.time), lambda: _dates.form_dtc(
            rf, refs.spec.study.raw.for_form(p.form), p.date, p.time if p.time in f.columns else None))
        t = pd.DataFrame({"S": subj, "iso": iso})[keep & (iso != "")]
        return _per_usubjid(frame, _extreme_per_subject(t, p.agg)), [Used(p.form, len(t)), *notes]
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
    return _per_usubjid(frame, _extreme_per_subject(t, p.agg)), [Used(p.form, len(t)), *notes]


class AgeParams(Params):
    birth: str | None = Field(default=None, description="raw birth date field (EDC text, DD MON YYYY)")
    birth_var: str | None = Field(default=None, description="or the birth date variable made earlier (BRTHDTC, "
                                  "ISO 8601, partial dates kept partial): the raw date is parsed once, as declared")
    ref: str = Field(description="reference date variable, e.g. RFICDTC")
    partial: Literal["unambiguous", "missing", "youngest"] = Field(
        default="unambiguous",
        description="partial birth date: unambiguous (age only when every possible birth date gives the same "
                    "age), missing (no age unless the birth date is complete), youngest (age from the latest "
                    "possible birth date: the last day of the known month, else 31 December; never overstates "
                    "age)")

    @model_validator(mode="after")
    def _one_birth(self):
        if (self.birth is None) == (self.birth_var is None):
            raise ValueError("give exactly one of birth (raw field) and birth_var (variable)")
        return self


def _age_method(p: AgeParams) -> str:
    partial = {
        "unambiguous": "a partial birth date gives an age only when every possible birth date in it gives the "
                       "same age; otherwise AGE is empty",
        "missing": "a partial birth date gives no age",
        "youngest": "a partial birth date is imputed to its latest possible day (last day of the known month, "
                    "else 31 December of the known year), i.e. the youngest age the subject can have, so AGE "
                    "never overstates age; BRTHDTC keeps the partial date as collected",
    }[p.partial]
    return f"Whole years from {p.birth or p.birth_var} to {p.ref}, birthday not yet reached counting one year less; " \
           f"{partial}"


@variable_rule("age", AgeParams, reads=lambda p: [p.ref, p.birth_var], fields=lambda p: [p.birth],
               method=_age_method)
def age(frame, p: AgeParams, refs: Refs):
    """Whole years from birth to the reference date. A partial birth date gives an age only when
    every possible birth date in it gives the same age ('unambiguous'), never ('missing'), or from its
    latest possible day ('youngest', a NOTICE per imputed age); otherwise empty + WARNING."""
    if p.birth_var:  # already ISO 8601 (its own parse findings were raised where it was made)
        raw = refs.var(p.birth_var).astype(object).where(refs.var(p.birth_var).notna(), "").astype(str)
        iso, notes = raw, []
    else:
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
    if p.partial == "youngest":
        imputed = y.notna() & ref.notna() & out.isna() & a_old.notna()
        notes += refs.row_findings(frame, imputed, Severity.NOTICE, "SD0702", "partial birth date: AGE from the "
                                   "latest possible birth date (youngest possible age)", p.birth or p.birth_var, raw)
        out = a_old
    amb = y.notna() & ref.notna() & out.isna()
    notes += refs.row_findings(frame, amb, Severity.WARNING, "SD0701", "partial birth date: age not determinable "
                               "unambiguously; AGE left empty", p.birth or p.birth_var, raw)
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
    notes = [refs.finding(Severity.WARNING, "SD0703", f"{param} form {form!r} was not delivered: no subject "
                          f"counts as {what}", value=form)
             for param, form, what in (("treated_form", p.treated_form, "treated"),
                                       ("screen_fail_form", p.screen_fail_form, "a screen failure"))
             if form and refs.form(form) is None]
    treated = subj.isin(refs.usubjid_of(p.treated_form).unique()) if refs.form(p.treated_form) is not None else none
    sf = subj.isin(refs.usubjid_of(p.screen_fail_form).unique()) \
        if p.screen_fail_form and refs.form(p.screen_fail_form) is not None else none
    sf = sf & ~treated
    if p.output in ("ARMCD", "ARM"):
        val = p.armcd if p.output == "ARMCD" else p.arm
        return pd.Series(np.where(sf, "", val), index=subj.index).astype(str), notes
    if p.output in ("ACTARMCD", "ACTARM"):
        val = p.armcd if p.output == "ACTARMCD" else p.arm
        return pd.Series(np.where(treated, val, ""), index=subj.index).astype(str), notes
    return pd.Series(np.select([sf, ~treated], ["SCREEN FAILURE", "ASSIGNED, NOT TREATED"], ""),
                     index=subj.index).astype(str), notes
