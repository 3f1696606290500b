"""Dataset builders that make the working rows: raw forms (filtered, stacked), rows written in the
spec (trial design), wide forms transposed to one record per item; and the SUPP-- parameter model.

Every raw record read is tagged with its identity (FORM, FILE, LINE, SUBJECT, SUBJECT_ID, VISIT,
POSITION) from the study's raw identity, so no rule needs to know the raw key columns' names.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from studyforge.findings import Finding, Severity
from studyforge.xpt import text_layout

from .._fast import duplicated_rows, text_series
from .base import (
    BOOKKEEPING,
    FILE,
    FORM,
    LINE,
    POSITION,
    SUBJECT,
    SUBJECT_ID,
    VISIT,
    Params,
    Refs,
    Unmapped,
    compose_usubjid,
    dataset_rule,
    subject_key,
)

Duplicates = Literal["drop", "keep"]
DUPLICATES_HELP = "exact duplicate raw records: drop (WARNING per record, reconciled) or keep (NOTICE per record)"


def tagged(refs: Refs, form: str) -> pd.DataFrame | None:
    """A raw form's records with the bookkeeping columns (None when the form was not delivered)."""
    rf = refs.form(form)
    if rf is None:
        return None
    ident = refs.identity(form)
    f = rf.frame.copy()
    f[FORM] = form
    f[FILE] = rf.path
    f[LINE] = rf.lines
    f[SUBJECT] = subject_key(rf.frame, ident)
    f[SUBJECT_ID] = compose_usubjid(rf.frame, ident, refs.spec.study.id)
    blank = pd.Series("", index=f.index, dtype=str)
    f[VISIT] = text_series(rf.frame[ident.visit]) if ident.visit and ident.visit in rf.frame.columns else blank
    f[POSITION] = text_series(rf.frame[ident.position]) if ident.position and ident.position in rf.frame.columns \
        else blank
    return f


def missing_form(refs: Refs, form: str) -> Finding:
    return refs.finding(Severity.ERROR, "SD0101", f"raw form {form!r} is missing ({form}.csv expected)", field=form)


def empty_rows() -> pd.DataFrame:
    return pd.DataFrame(columns=BOOKKEEPING)


def dedupe_form(refs: Refs, frame: pd.DataFrame, unique: list[str], form: str,
                duplicates: Duplicates = "drop") -> tuple[pd.DataFrame, list]:
    """Exact duplicate records (same content; the record position is EDC bookkeeping): dropped with a
    WARNING, or kept with a NOTICE, as the spec says. Later records repeating a `unique` key with
    different values: ERROR, the first kept. Dropped records go to the reconciliation."""
    position = refs.identity(form).position
    data_cols = [c for c in frame.columns if c not in BOOKKEEPING and c != position]
    exact = pd.Series(duplicated_rows(frame, data_cols), index=frame.index)
    notes: list = []
    if exact.any():
        if duplicates == "keep":
            notes += [refs.finding(Severity.NOTICE, "SD0804", "exact duplicate of an earlier record; kept "
                                   "(duplicates: keep)", usubjid=s, file=file, line=int(line), variable="")
                      for file, line, s in zip(frame.loc[exact, FILE], frame.loc[exact, LINE],
                                               frame.loc[exact, SUBJECT])]
        else:
            notes += [refs.finding(Severity.WARNING, "SD0801", "exact duplicate of an earlier record; dropped",
                                   usubjid=s, file=file, line=int(line), variable="")
                      for file, line, s in zip(frame.loc[exact, FILE], frame.loc[exact, LINE],
                                               frame.loc[exact, SUBJECT])]
            notes.append(Unmapped(frame[exact], "duplicate record"))
            frame = frame[~exact]
    keys = [k for k in unique if k in frame.columns]
    if keys:
        dup = pd.Series(duplicated_rows(frame, keys), index=frame.index)
        if dup.any():
            for _, row in frame[dup].iterrows():
                notes.append(refs.finding(
                    Severity.ERROR, "SD0802", f"duplicate key ({', '.join(keys)}) with different values; "
                    "the first record is kept", usubjid=row[SUBJECT], file=row[FILE], variable="",
                    line=int(row[LINE]), field=",".join(keys), value="/".join(str(row[k]) for k in keys)))
            notes.append(Unmapped(frame[dup], "duplicate key"))
            frame = frame[~dup]
    return frame, notes


# -- forms ------------------------------------------------------------------------------------------
class FormPart(Params):
    form: str
    where_field: str | None = None
    where_in: list[str] = Field(default_factory=list)
    unique: list[str] = Field(default_factory=list, description="raw key; later duplicates are errors")
    optional: bool = False
    set: dict[str, str] = Field(default_factory=dict, description="constant fields added to this form's records")
    duplicates: Duplicates = Field(default="drop", description=DUPLICATES_HELP)


class FormsParams(Params):
    parts: list[FormPart] = Field(min_length=1)


@dataset_rule("forms", FormsParams, method="Records of raw form(s) {parts}")
def build_forms(p: FormsParams, refs: Refs):
    parts, notes = [], []
    for part in p.parts:
        f = tagged(refs, part.form)
        if f is None:
            if not part.optional:
                notes.append(missing_form(refs, part.form))
            continue
        keep, got = refs.select(part.form, f, part.where_field, part.where_in)
        notes += got
        if keep is None:
            continue
        f = f[keep]
        for k, v in part.set.items():
            f[k] = v
        f, got = dedupe_form(refs, f, part.unique, part.form, part.duplicates)
        parts.append(f)
        notes += got
    if not parts:
        return empty_rows(), notes
    if len(parts) == 1:                  # raw text has '' for missing already: nothing to fill
        return parts[0].reset_index(drop=True), notes
    out = pd.concat(parts, ignore_index=True, sort=False)
    holes = [c for c in out.columns if out[c].hasnans]    # only columns one part lacked have missing values
    return (out.fillna({c: "" for c in holes}) if holes else out), notes


# -- rows written in the spec -------------------------------------------------------------------------
class RowsParams(Params):
    rows: list[dict[str, Any]]


@dataset_rule("rows", RowsParams, method="Rows given in the study specification")
def build_rows(p: RowsParams, refs: Refs):
    df = pd.DataFrame(p.rows)
    df[FORM], df[FILE], df[LINE] = "", refs.spec_file, 0
    return df, []


# -- wide forms, one record per item ------------------------------------------------------------------
class Instrument(Params):
    form: str
    cat: str
    date: str
    items: dict[str, str] = Field(description="raw column -> --TESTCD")
    stat: str | None = None
    reasnd: str | None = None
    duplicates: Duplicates = Field(default="drop", description=DUPLICATES_HELP)


class TransposeParams(Params):
    instruments: list[Instrument]


@dataset_rule("transpose", TransposeParams, method="Items of {instruments}, one record per item")
def build_transpose(p: TransposeParams, refs: Refs):
    """Wide questionnaires/diaries -> one record per item (QS and the diary domain)."""
    parts, notes = [], []
    for ins in p.instruments:
        f = tagged(refs, ins.form)
        if f is None:
            notes.append(missing_form(refs, ins.form))
            continue
        ident = refs.identity(ins.form)
        f, got = dedupe_form(refs, f, [SUBJECT, VISIT, POSITION] if ident.position else [SUBJECT, VISIT],
                             ins.form, ins.duplicates)
        notes += got
        missing = [c for c in ins.items if c not in f.columns]
        for c in missing:
            notes.append(refs.finding(Severity.ERROR, "SD0102", f"required column {c!r} missing in raw form "
                                      f"{ins.form}", file=refs.raw[ins.form].path, field=c))
        items = [c for c in ins.items if c in f.columns]
        raw_ids = [*ident.subject, *(ident.site.columns if ident.site else []), ident.visit, ident.position]
        keep_cols = [c for c in dict.fromkeys([*raw_ids, ins.date, ins.stat, ins.reasnd, *BOOKKEEPING])
                     if c and c in f.columns]
        parts.append(_long_records(f, ins, items, keep_cols))
    if not parts:
        return empty_rows(), notes
    forms = [ins.form for ins in p.instruments if ins.form in refs.raw][:len(parts)]
    columns = list(dict.fromkeys(c for part in parts for c in part.columns))  # union, in spec order
    if len(set(forms)) == len(parts) == len(forms):
        # one instrument per form and each part already in raw line order: order parts by form
        parts = [part for _, part in sorted(zip(forms, parts), key=lambda fp: fp[0])]
    out = pd.concat(parts, ignore_index=True, sort=False)[columns] if len(parts) > 1 else parts[0]
    order = np.lexsort((out["__order"].to_numpy(dtype=np.int64), out[LINE].to_numpy(dtype=np.int64),
                        pd.factorize(out[FORM].to_numpy(dtype=object), sort=True)[0]))
    if np.array_equal(order, np.arange(len(order))):  # already in order (one instrument): no copy
        return out.reset_index(drop=True), notes
    return out.iloc[order].reset_index(drop=True), notes


def _long_records(f: pd.DataFrame, ins: Instrument, items: list[str], keep_cols: list[str]) -> pd.DataFrame:
    """One instrument wide -> long on numpy arrays: each record once per item (items in spec order),
    empty responses dropped when the form has a status field; a NOT DONE record becomes one QSALL
    record (SDTMIG). Rows come out by raw line, then item order (QSALL first), built in one go."""
    stat = f[ins.stat].str.upper() if ins.stat and ins.stat in f.columns else pd.Series("", index=f.index)
    k = len(items)
    not_done = (stat == "NOT DONE").to_numpy(dtype=bool)
    resp = f[items].to_numpy(dtype=object).ravel() if k else np.array([], dtype=object)
    keep = ~np.repeat(not_done, k)
    if ins.stat:
        keep &= resp != ""
    # row r of the long table comes from record r // k (item r % k); NOT DONE records add one row each
    rec = np.concatenate([np.flatnonzero(keep) // max(k, 1), np.flatnonzero(not_done)])
    item = np.concatenate([np.flatnonzero(keep) % max(k, 1), np.full(int(not_done.sum()), -1)])
    is_nd = item < 0
    order = np.lexsort((item, rec))  # by record (= raw line order), QSALL (-1) before items
    rec, item, is_nd = rec[order], item[order], is_nd[order]
    pick = np.where(is_nd, k, item)  # position in [*items, <QSALL/blank>]
    cols = {c: _take(f[c], rec) for c in keep_cols}
    cols["__item"] = _text_array([*items, ""]).take(pick)
    cols["__resp"] = _text_array(np.append(resp[rec[~is_nd] * k + item[~is_nd]], "")).take(
        np.where(is_nd, (~is_nd).sum(), np.cumsum(~is_nd) - 1))
    cols["__testcd"] = _text_array([*(ins.items[c] for c in items), "QSALL"]).take(pick)
    cols["__cat"] = _text_array([ins.cat]).take(np.zeros(len(rec), dtype=np.int64))
    cols["__date"] = cols[ins.date] if ins.date in cols else _text_array([""]).take(np.zeros(len(rec), dtype=np.int64))
    cols["__order"] = np.where(is_nd, -1, item).astype(np.int64)
    return pd.DataFrame(cols, copy=False)


def _text_array(values) -> pd.api.extensions.ExtensionArray:
    return pd.array(np.asarray(values, dtype=object), dtype=str)


def _take(col: pd.Series, rows: np.ndarray):
    """Rows of a raw column, keeping its dtype (a take on text needs no re-validation)."""
    return col.array.take(rows) if text_layout(col.dtype) is not None else col.to_numpy()[rows]


# -- SUPP-- ---------------------------------------------------------------------------------------------
class Qualifier(Params):
    qnam: str = Field(pattern=r"^[A-Z][A-Z0-9]{0,7}$")
    qlabel: str = Field(max_length=40)
    qorig: str = "CRF"
    qeval: str = ""
    derivation: dict[str, Any]


class SuppParams(Params):
    idvar: str = Field(description="e.g. AESEQ; empty for subject-level (DM)")
    qualifiers: list[Qualifier] = Field(default_factory=list)
    split_text: list[str] = Field(default_factory=list, description="Char variables split over 200 chars")


@dataset_rule("suppqual", SuppParams, method="Supplemental qualifiers of the parent domain, linked by {idvar}")
def build_suppqual(p: SuppParams, refs: Refs):
    """SUPP-- is made with its parent dataset (sdtm.engine.build_supp); never built on its own."""
    raise TypeError("SUPP-- datasets are built with their parent")
