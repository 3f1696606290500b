"""SV's working rows: one record per subject and visit of the visit form, plus every subject/visit that
has collected records on other forms but no visit-form record (SDTMIG 3.4 SV: one record per actual
visit per subject; a screen failure's screening visit is an actual visit even when its visit page
was never entered)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from studyforge.findings import Severity

from .. import _dates
from .._fast import duplicated_rows
from ..derivations import sort_codes
from .base import BOOKKEEPING, FORM, LINE, SUBJECT_ID, VISIT, Params, Refs, Used, dataset_rule
from .builders import dedupe_form, empty_rows, missing_form, tagged


class VisitEvidence(Params):
    """A form whose records show that a visit took place."""

    form: str
    date: str | None = Field(default=None, description="the form's date field; the earliest of a subject's "
                                                        "records at the visit dates the visit (none: undated)")


class SubjectVisitsParams(Params):
    form: str = Field(description="the visit form: one record per subject and visit, with its date")
    date: str = Field(description="the visit date field of that form")
    unique: list[str] = Field(default_factory=list, description="raw key of the visit form; later duplicates "
                                                                "are errors")
    also: list[VisitEvidence] = Field(default_factory=list, description="other forms whose records show that a "
                                                                        "visit took place (first listed first)")


def _method(p: SubjectVisitsParams) -> str:
    also = ", ".join(f"{e.form}" + (f" ({e.date})" if e.date else "") for e in p.also) or "no other form"
    return (f"One record per subject and visit of raw form {p.form} (visit date {p.date}). A subject/visit with "
            f"collected records on {also} but no {p.form} record also gets a record (SDTMIG 3.4 SV: every actual "
            f"visit), dated by the earliest complete date of those records on the first form listed that has "
            f"one (empty when none)")


@dataset_rule("subject_visits", SubjectVisitsParams, method=_method)
def build_subject_visits(p: SubjectVisitsParams, refs: Refs):
    notes: list = []
    base = tagged(refs, p.form)
    if base is None:
        notes.append(missing_form(refs, p.form))
        base = empty_rows()
    else:
        base, got = dedupe_form(refs, base, p.unique, p.form)  # exact duplicates dropped, reported
        notes += got
    seen = pd.MultiIndex.from_arrays([base[SUBJECT_ID].astype(str), base[VISIT].astype(str)])
    extra = []
    for ev in p.also:
        got, n_used = _first_per_visit(refs, ev, p.date, notes)
        if got is None:
            continue
        key = pd.MultiIndex.from_arrays([got[SUBJECT_ID].astype(str), got[VISIT].astype(str)])
        new = got[~key.isin(seen)]
        if len(new):
            notes.append(Used(ev.form, n_used, f"{refs.dataset.name}.VISITNUM"))
            extra.append(new)
            seen = seen.append(key[~key.isin(seen)])
    if not extra:
        return base.reset_index(drop=True), notes
    out = pd.concat([base, *extra], ignore_index=True, sort=False)
    return out.fillna("").reset_index(drop=True), notes


def _first_per_visit(refs: Refs, ev: VisitEvidence, date_col: str, notes: list) -> tuple[pd.DataFrame | None, int]:
    """One row per subject and visit of an evidence form: its earliest dated record (then the first by
    line), with the visit date written into the visit form's date column. FORM is left blank: the
    record stays mapped to its own domain; SV only consulted it (reported as Used)."""
    f = tagged(refs, ev.form)
    if f is None:
        notes.append(refs.finding(Severity.WARNING, "SD0103", f"raw form {ev.form!r} absent: its visits cannot "
                                  "be added to SV", field=ev.form))
        return None, 0
    f = f[(f[SUBJECT_ID] != "") & (f[VISIT] != "")]
    if ev.date:
        if ev.date not in f.columns:
            notes.append(refs.finding(Severity.ERROR, "SD0102", f"required column {ev.date!r} missing in raw form "
                                      f"{ev.form}", file=refs.raw[ev.form].path, field=ev.date))
            iso = pd.Series("", index=f.index, dtype=str)
        else:
            iso, err = _dates.edc_date_to_iso(f[ev.date])
            iso = iso.where(~err & (iso.str.len() >= 10), "")
    else:
        iso = pd.Series("", index=f.index, dtype=str)
    keys = pd.DataFrame({"s": f[SUBJECT_ID], "v": f[VISIT], "undated": (iso == "").to_numpy(), "iso": iso,
                         "line": f[LINE].to_numpy(dtype=np.int64)}, index=f.index)
    order = sort_codes(keys, ["s", "v", "undated", "iso", "line"])
    first = f.iloc[order[~duplicated_rows(keys.iloc[order], ["s", "v"])]]
    ident = refs.identity(ev.form)
    keep = [c for c in dict.fromkeys([*ident.subject, *(ident.site.columns if ident.site else []),
                                      ident.visit, *BOOKKEEPING]) if c and c in first.columns]
    out = first[keep].copy()
    dated = iso.loc[first.index]
    out[date_col] = first[ev.date].where(dated != "", "") if ev.date and ev.date in first.columns else ""
    out[FORM] = ""
    return out, len(f)
