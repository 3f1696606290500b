"""Timing rules that look past the record: --DY from a DM reference date, EPOCH from SE, VISITNUM /
VISIT from the TV schedule (unscheduled visits numbered from the study's visit-date form)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from studyforge.findings import Severity

from .. import _dates
from .._fast import umap
from ..derivations import dm_ref_days, dtc_parts, subject_codes
from ..vocabulary import norm_key
from .base import FORM, SUBJECT_ID, VISIT, Params, Refs, variable_rule


# -- study day --------------------------------------------------------------------------------------
class StudyDayParams(Params):
    dtc: str = Field(description="the --DTC variable of this dataset")
    ref: str = Field(default="RFSTDTC", pattern=r"^RF[A-Z]*DTC$",
                     description="DM reference date: RFSTDTC (SDTMIG) or e.g. RFXSTDTC")


@variable_rule("study_day", StudyDayParams, reads=lambda p: [p.dtc], row_wise=False,
               method="{dtc} minus DM.{ref}, plus 1 when on or after {ref} (no day 0); only when both dates are "
                      "complete; {dtc} itself is never imputed or altered")
def study_day(frame, p: StudyDayParams, refs: Refs):
    """--DY = date - reference (+1 on/after); only complete dates; the --DTC itself is never altered."""
    notes = []
    dm = refs.datasets.get("DM")
    if dm is not None and p.ref not in dm.columns:
        notes.append(refs.finding(Severity.ERROR, "SD0503", f"study day reference DM.{p.ref} is not a DM variable; "
                                  f"{refs.variable.name if refs.variable else '--DY'} left empty", value=p.ref))
    d, _, _ = dtc_parts(refs, p.dtc)
    diff = d - dm_ref_days(refs, p.ref)
    return pd.Series(np.where(diff >= 0, diff + 1, diff), index=frame.index, dtype=float), notes


# -- epoch ------------------------------------------------------------------------------------------
class EpochParams(Params):
    dtc: str


@variable_rule("epoch", EpochParams, reads=lambda p: [p.dtc], row_wise=False,
               method="EPOCH of the subject's SE element with SESTDTC <= {dtc} < SEENDTC (last element: end "
                      "inclusive); compared as datetimes when both have a time; on a boundary day otherwise a "
                      "timed boundary (first dose) gives the day to the element it starts and a date-only "
                      "boundary to the element it ends. A partial {dtc} gets the EPOCH only when its first and "
                      "last possible day (e.g. 2021-06: 1 to 30 June) fall in the same SE element, so every date "
                      "it allows lies in that element (same boundary-day convention); otherwise EPOCH is empty. "
                      "{dtc} itself is never imputed or altered.")
def epoch(frame, p: EpochParams, refs: Refs):
    """EPOCH of the SE element whose [SESTDTC, SEENDTC) holds the observation (last element: end
    inclusive). Compared on datetimes when both sides have a time (a pre-dose Day 1 sample stays in
    SCREENING). On a boundary day otherwise: a boundary with a time (first dose) gives the day to the
    element it starts; a date-only boundary (end of treatment) to the element it ends, so the last
    injection and end-of-treatment assessments stay in TREATMENT. A partial --DTC gets the EPOCH of
    an element only when its first and last possible day both fall in that one element (conservative:
    every date it allows lies there); otherwise none."""
    se = refs.datasets.get("SE")
    idx = frame.index
    if se is None or se.empty:
        return pd.Series("", index=idx, dtype=str), []
    # the SE frame lives in the build's datasets for the whole build: its identity names it
    grid, ep, last, subjects = refs.shared(("epoch_grid", id(se)), lambda: _se_grid(se))
    d, dmin, dcodes = dtc_parts(refs, p.dtc)
    ucodes, usubj = subject_codes(refs)
    row_subj = np.append(pd.Index(subjects).get_indexer(usubj), -1)[ucodes]
    # EPOCH depends only on (subject, --DTC): decide each distinct pair once, then broadcast
    pair = (row_subj.astype(np.int64) + 1) * (int(dcodes.max(initial=-1)) + 2) + dcodes
    pcodes, puniq = pd.factorize(pair)
    rep = np.empty(len(puniq), dtype=np.int64)
    rep[pcodes[::-1]] = np.arange(len(pcodes) - 1, -1, -1)
    rs, d_u = row_subj[rep], d[rep]
    k_u = _element_of(grid, last, rs, d_u, dmin[rep])
    lo, hi = refs.memo(("dtc_range", p.dtc), lambda: _dates.partial_day_range(refs.var(p.dtc).astype(str)))
    part = np.isnan(d_u) & ~np.isnan(lo[rep]) if len(rep) else np.zeros(0, dtype=bool)
    if part.any():  # partial date: the element of its first and of its last possible day must agree
        no_time = np.full(int(part.sum()), np.nan)
        k_lo = _element_of(grid, last, rs[part], lo[rep][part], no_time)
        k_hi = _element_of(grid, last, rs[part], hi[rep][part], no_time)
        k_u[part] = np.where(k_lo == k_hi, k_lo, -1)
    out_u = np.where(k_u >= 0, ep[np.where(rs >= 0, rs, 0), np.maximum(k_u, 0)], "")
    return pd.Series(out_u[pcodes] if len(pcodes) else out_u[:0], index=idx).astype(str), []


def _se_grid(se: pd.DataFrame) -> tuple[dict, np.ndarray, np.ndarray, pd.Index]:
    """SE as (subjects x element position) arrays of start/end days and minutes, EPOCH and last-element
    flags, made once per build (every dataset's EPOCH reads the same SE)."""
    s = se[["USUBJID", "SESTDTC", "SEENDTC", "EPOCH", "TAETORD"]].copy()
    s["st"], s["stm"] = _dates.day_minutes(s["SESTDTC"])
    s["en"], s["enm"] = _dates.day_minutes(s["SEENDTC"])
    s = s.sort_values(["USUBJID", "TAETORD"], kind="mergesort")
    s["k"] = s.groupby("USUBJID").cumcount()
    s["last"] = s.groupby("USUBJID")["k"].transform("max") == s["k"]
    kmax = int(s["k"].max()) + 1
    subj_codes, subjects = pd.factorize(s["USUBJID"], sort=True)
    grid = {c: np.full((len(subjects), kmax), np.nan) for c in ("st", "stm", "en", "enm")}
    ep = np.full((len(subjects), kmax), "", dtype=object)
    last = np.zeros((len(subjects), kmax), dtype=bool)
    kk = s["k"].to_numpy()
    for c in grid:
        grid[c][subj_codes, kk] = s[c].to_numpy(dtype=float)
    ep[subj_codes, kk] = s["EPOCH"].to_numpy(dtype=object)
    last[subj_codes, kk] = s["last"].to_numpy()
    return grid, ep, last, pd.Index(subjects)


def _element_of(grid: dict, last: np.ndarray, row_subj: np.ndarray, d: np.ndarray, dm: np.ndarray) -> np.ndarray:
    """Position of the SE element per (subject position in the grid, day, minutes), -1 for none; see
    epoch() for the boundary rules."""
    has = row_subj >= 0
    rs = np.where(has, row_subj, 0)
    out = np.full(len(rs), -1, dtype=np.int64)
    done = ~has | np.isnan(d)
    for k in range(last.shape[1]):
        st, stm, en, enm = (grid[c][rs, k] for c in ("st", "stm", "en", "enm"))
        timed_st = ~np.isnan(dm) & ~np.isnan(stm)
        timed_en = ~np.isnan(dm) & ~np.isnan(enm)
        # boundary day: by time when both have one; else a timed boundary (first dose) gives the day
        # to the element it starts, a date-only boundary (end of treatment) to the element it ends
        on_start = np.where(timed_st, dm >= stm, ~np.isnan(stm) | (k == 0))
        on_end = np.where(timed_en, dm < enm, np.isnan(enm))
        after_start = (d > st) | ((d == st) & on_start)
        before_end = (d < en) | ((d == en) & on_end)
        inside = ~done & ~np.isnan(st) & after_start & (before_end | (last[rs, k] & (d <= en)) | np.isnan(en))
        out[inside] = k
        done |= inside
    return out


# -- visits -----------------------------------------------------------------------------------------
class UnscheduledParams(Params):
    """Where unscheduled visits are recognized and dated (SDTMIG: previous scheduled VISITNUM + .01, .02 ...)."""

    prefix: str = Field(min_length=1, description="raw visit names starting with this are unscheduled")
    form: str = Field(description="raw form with one record per visit and its date, e.g. sv")
    date: str = Field(description="the visit date field of that form")
    label: str | None = Field(default=None, description="VISIT text before the number; default the prefix")


class VisitParams(Params):
    field: str | None = Field(default=None, description="raw visit field; default the raw identity's visit")
    output: Literal["visitnum", "visit"]
    unscheduled: UnscheduledParams | None = None


def visit_schedule(refs: Refs) -> pd.DataFrame:
    """TV rows of the spec: planned VISITNUM/VISIT (raw visit names are the VISIT names)."""
    tv = refs.spec.datasets.get("TV")
    rows = tv.derivation.params.get("rows", []) if tv and tv.derivation else []
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=["VISITNUM", "VISIT"])
    return df[["VISITNUM", "VISIT"]].drop_duplicates("VISIT")


def _unscheduled_table(refs: Refs, u: UnscheduledParams, sched: dict[str, float]) -> pd.DataFrame:
    """(USUBJID, visit) -> VISITNUM for unscheduled visits: previous scheduled visit + .01, .02 ... in the
    order of the visit dates of the visit-date form."""
    def build():
        rf = refs.form(u.form)
        vcol = refs.identity(u.form).visit if rf is not None else None
        if rf is None or u.date not in rf.frame.columns or not vcol or vcol not in rf.frame.columns:
            return pd.DataFrame(columns=["S", "V", "VNUM"])
        f = rf.frame
        iso, _ = _dates.edc_date_to_iso(f[u.date])
        t = pd.DataFrame({"S": refs.usubjid_of(u.form), "V": norm_key(f[vcol]), "d": _dates.sas_days(iso)})
        t["sched"] = t["V"].map(sched)
        t = t.sort_values(["S", "d"], kind="mergesort", na_position="last")
        t["prev"] = t.groupby("S")["sched"].ffill()
        un = t[t["V"].str.startswith(u.prefix.upper())].copy()
        un["prev"] = un["prev"].fillna(0.0)
        un["k"] = un.groupby(["S", "prev"]).cumcount() + 1
        un["VNUM"] = (un["prev"] + un["k"] * 0.01).round(2)
        return un[["S", "V", "VNUM"]].drop_duplicates(["S", "V"])
    return refs.shared(("unscheduled", u.form, u.date, u.prefix, tuple(sorted(sched.items()))), build)


@variable_rule("visit", VisitParams, fields=lambda p: [p.field], row_wise=False,
               method="{output} of the raw visit name in the TV schedule; unscheduled visits ({unscheduled}) "
                      "numbered previous scheduled VISITNUM + .01, .02 ... by visit date")
def visit(frame, p: VisitParams, refs: Refs):
    """VISITNUM/VISIT from the TV schedule; unscheduled visits per SDTMIG: previous VISITNUM + .01 ..."""
    key = ("visit", p.field, p.unscheduled.model_dump_json() if p.unscheduled else None)
    num, label, notes = refs.memo(key, lambda: _visit_both(frame, p, refs))
    return (num.astype(float) if p.output == "visitnum" else label), notes  # same notes twice: deduplicated


def _visit_both(frame, p: VisitParams, refs: Refs) -> tuple[pd.Series, pd.Series, list]:
    tv = visit_schedule(refs)
    sched = {str(v).upper(): float(n) for n, v in zip(tv["VISITNUM"], tv["VISIT"])}
    field = p.field or VISIT
    folder = norm_key(refs.field(frame, field))
    num = umap(folder, lambda x: x.map(sched).astype(float))   # once per distinct visit name
    notes: list = []
    u = p.unscheduled
    uns = umap(folder, lambda x: x.astype(str).str.startswith(u.prefix.upper())).astype(bool) if u \
        else pd.Series(False, index=frame.index)
    shown = p.field or "/".join(sorted({refs.identity(f).visit or "" for f in set(refs.field(frame, FORM).unique())
                                         if f in refs.raw} - {""})) or "visit"
    if uns.any():
        tab = _unscheduled_table(refs, u, sched)
        at = np.flatnonzero(uns.to_numpy())     # only the unscheduled rows need the table
        key = pd.DataFrame({"S": refs.field(frame, SUBJECT_ID).to_numpy()[at], "V": folder.to_numpy()[at]})
        got = np.full(len(num), np.nan)
        got[at] = key.merge(tab, on=["S", "V"], how="left")["VNUM"].to_numpy(dtype=float)
        num = num.where(~uns, pd.Series(got, index=num.index))
        miss = uns & num.isna()
        notes += refs.row_findings(frame, miss, Severity.WARNING, "SD0502", f"unscheduled visit has no date in the "
                                   f"visit form ({u.form}); VISITNUM cannot be placed", shown, folder, "VISITNUM")
    unknown = ~uns & num.isna() & (folder != "")
    notes += refs.row_findings(frame, unknown, Severity.ERROR, "SD0501", "raw visit is not a visit of the TV "
                               "schedule", shown, folder, "VISITNUM")
    label = folder.where(num.notna(), "")
    if uns.any():
        text = (u.label or u.prefix).upper()
        label[uns] = umap(num[uns], lambda x: x.map(lambda v: "" if v == "" or pd.isna(v)
                                                    else f"{text} {float(v):.2f}"))
    return num.astype(float), label.astype(str), notes
