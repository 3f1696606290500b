"""Build one dataset from its spec: rows from the dataset's builder, then every variable's rule in
phases, subject check against DM, SUPP-- from the spec's qualifiers, shaping and checks."""

from __future__ import annotations

import re
from typing import Callable

import numpy as np
import pandas as pd

from studyforge.findings import Finding, Severity
from studyforge.spec.models import Dataset, Derivation, Variable

from . import derivations as D
from . import vocabulary as V
from ._fast import TEXT, text_series, umap
from .context import FILE, FORM, LINE, Context
from .registry import PHASE, FormsParams, SuppParams, parse_params

VARIABLE_IMPL: dict[str, Callable] = {
    "copy": V.copy, "ct_map": V.ct_map, "decode": V.decode, "constant": V.constant, "iso8601": V.iso8601,
    "condition": V.condition, "unit_convert": V.unit_convert,
    "usubjid": D.usubjid, "seq": D.seq, "study_day": D.study_day, "epoch": D.epoch, "visit": D.visit,
    "lobxfl": D.lobxfl, "subject_date": D.subject_date, "age": D.age, "arm": D.arm, "nrind": D.nrind,
}
BOOKKEEPING = [FORM, FILE, LINE]
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


# -- row builders ----------------------------------------------------------------------------
def dedupe_form(ctx: Context, frame: pd.DataFrame, unique: list[str], form: str) -> pd.DataFrame:
    """Drop exact duplicate records (WARNING) and later records repeating a key (ERROR); both are
    reported with file/line and recorded in the reconciliation."""
    # RECORDPOSITION is EDC bookkeeping: the same content entered twice is a duplicate record
    data_cols = [c for c in frame.columns if c not in BOOKKEEPING and c != "RECORDPOSITION"]
    exact = frame.duplicated(subset=data_cols, keep="first")
    if exact.any():
        for file, line, s in zip(frame.loc[exact, FILE], frame.loc[exact, LINE], frame.loc[exact, "SUBJID"]):
            ctx.findings.append(Finding(Severity.WARNING, "SD0801", "exact duplicate of an earlier record; dropped",
                                        dataset=ctx.ds.name, usubjid=s, file=file, line=int(line)))
        ctx.recon.add_unmapped(frame[exact], "duplicate record", ctx.ds.name)
        frame = frame[~exact]
    keys = [k for k in unique if k in frame.columns]
    if keys:
        dup = frame.duplicated(subset=keys, keep="first")
        if dup.any():
            for (_, row) in frame[dup].iterrows():
                ctx.findings.append(Finding(
                    Severity.ERROR, "SD0802", f"duplicate key ({', '.join(keys)}) with different values; "
                    "the first record is kept", dataset=ctx.ds.name, usubjid=row["SUBJID"], file=row[FILE],
                    line=int(row[LINE]), field=",".join(keys), value="/".join(str(row[k]) for k in keys)))
            ctx.recon.add_unmapped(frame[dup], "duplicate key", ctx.ds.name)
            frame = frame[~dup]
    return frame


def tagged(ctx: Context, form: str) -> pd.DataFrame | None:
    rf = ctx.form(form)
    if rf is None:
        return None
    f = rf.frame.copy()
    f[FORM] = form
    f[FILE] = rf.path
    f[LINE] = rf.lines
    return f


def build_forms(ctx: Context, p: FormsParams) -> pd.DataFrame:
    parts = []
    for part in p.parts:
        f = tagged(ctx, part.form)
        if f is None:
            if not part.optional:
                ctx.error("SD0101", f"raw form {part.form!r} is missing ({part.form}.csv expected)",
                          file=ctx.spec_file, field=part.form)
            continue
        if part.where_field:
            if part.where_field not in f.columns:
                ctx.error("SD0102", f"required column {part.where_field!r} missing in raw form {part.form}",
                          file=ctx.raw[part.form].path, field=part.where_field)
                continue
            f = f[V.norm_key(f[part.where_field]).isin([v.upper() for v in part.where_in])]
        for k, v in part.set.items():
            f[k] = v
        parts.append(dedupe_form(ctx, f, part.unique, part.form))
    if not parts:
        return pd.DataFrame(columns=BOOKKEEPING + ["SUBJID"])
    out = pd.concat(parts, ignore_index=True, sort=False)
    return out.fillna("")


def build_rows(ctx: Context, params) -> pd.DataFrame:
    df = pd.DataFrame(params.rows)
    df[FORM], df[FILE], df[LINE] = "", ctx.spec_file, 0
    return df


def build_transpose(ctx: Context, params) -> pd.DataFrame:
    """Wide questionnaires/diaries -> one record per item (QS and the diary domain)."""
    parts = []
    for ins in params.instruments:
        f = tagged(ctx, ins.form)
        if f is None:
            ctx.error("SD0101", f"raw form {ins.form!r} is missing ({ins.form}.csv expected)",
                      file=ctx.spec_file, field=ins.form)
            continue
        f = dedupe_form(ctx, f, ["SUBJID", "FOLDER", "RECORDPOSITION"] if "RECORDPOSITION" in f.columns
                        else ["SUBJID", "FOLDER"], ins.form)
        missing = [c for c in ins.items if c not in f.columns]
        for c in missing:
            ctx.error("SD0102", f"required column {c!r} missing in raw form {ins.form}", file=ctx.raw[ins.form].path,
                      field=c)
        items = [c for c in ins.items if c in f.columns]
        keep_cols = [c for c in ("STUDYID", "SITEID", "SUBJID", "FOLDER", "RECORDPOSITION", ins.date, ins.stat,
                                 ins.reasnd, FORM, FILE, LINE) if c and c in f.columns]
        parts.append(_long_records(f, ins, items, keep_cols))
    if not parts:
        return pd.DataFrame(columns=BOOKKEEPING + ["SUBJID"])
    forms = [ins.form for ins in params.instruments if ins.form in ctx.raw][:len(parts)]
    columns = list(dict.fromkeys(c for p in parts for c in p.columns))  # union, in spec order
    if len(set(forms)) == len(parts) == len(forms):
        # one instrument per form and each part already in raw line order: order parts by form
        parts = [p for _, p in sorted(zip(forms, parts), key=lambda fp: fp[0])]
    out = pd.concat(parts, ignore_index=True, sort=False)[columns] if len(parts) > 1 else parts[0]
    order = np.lexsort((out["__order"].to_numpy(dtype=np.int64), out[LINE].to_numpy(dtype=np.int64),
                        pd.factorize(out[FORM].to_numpy(dtype=object), sort=True)[0]))
    if np.array_equal(order, np.arange(len(order))):  # already in order (one instrument): no copy
        return out.reset_index(drop=True)
    return out.iloc[order].reset_index(drop=True)


def _long_records(f: pd.DataFrame, ins, items: list[str], keep_cols: list[str]) -> pd.DataFrame:
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
    return pd.DataFrame(cols)


def _text_array(values) -> pd.api.extensions.ExtensionArray:
    return pd.array(np.asarray(values, dtype=object), dtype=str)


def _take(col: pd.Series, rows: np.ndarray):
    """Rows of a raw column, keeping its dtype (a take on text needs no re-validation)."""
    return col.array.take(rows) if col.dtype == TEXT else col.to_numpy()[rows]


# -- variables -------------------------------------------------------------------------------
def _rule_of(var: Variable) -> tuple[str, object] | None:
    if var.derivation is None:
        return None
    return var.derivation.rule, parse_params(var.derivation.rule, var.derivation.params)


def apply_variable(ctx: Context, var: Variable, deriv: Derivation | None) -> pd.Series:
    if deriv is None:
        if var.name in ctx.frame.columns:
            s = ctx.frame[var.name]
            return s if var.type == "Num" else s.fillna("").astype(str)
        return pd.Series(np.nan if var.type == "Num" else "", index=ctx.frame.index)
    params = parse_params(deriv.rule, deriv.params)
    if deriv.rule not in VARIABLE_IMPL:
        raise KeyError(f"{ctx.ds.name}.{var.name}: rule {deriv.rule!r} is not a variable rule")
    return VARIABLE_IMPL[deriv.rule](ctx, var, params)


def run_variables(ctx: Context, ds: Dataset, phases: tuple[int, ...]) -> None:
    for var in ds.variables:
        ph = PHASE.get(var.derivation.rule, 1) if var.derivation else 1
        if ph in phases:
            ctx.result[var.name] = apply_variable(ctx, var, var.derivation)


def drop_unknown_subjects(ctx: Context) -> None:
    """Records of subjects absent from DM are errors; they leave the dataset and go to the report."""
    dm = ctx.out.get("DM")
    if dm is None or "USUBJID" not in ctx.result.columns or ctx.ds.name == "DM":
        return
    known = set(dm["USUBJID"])
    bad = ~ctx.result["USUBJID"].isin(known)
    if not bad.any():
        return
    ctx.row_findings(bad, Severity.ERROR, "SD0901", "subject unknown to DM; record not mapped",
                     "USUBJID", "SUBJID", ctx.frame.get("SUBJID", ctx.result["USUBJID"]))
    ctx.recon.add_unmapped(ctx.frame[bad], "subject not in DM", ctx.ds.name)
    keep = ~bad
    ctx.frame = ctx.frame[keep]
    ctx.result = ctx.result[keep]


# -- SUPP-- and text over 200 characters -------------------------------------------------------
def _split_words(text: str, width: int = 200) -> list[str]:
    """Split at word boundaries into pieces of at most `width` characters (no word is lost)."""
    pieces, rest = [], text
    while len(rest) > width:
        cut = rest.rfind(" ", 0, width + 1)
        if cut <= 0:
            cut = width
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip(" ") if rest[cut:cut + 1] == " " else rest[cut:]
    pieces.append(rest)
    return pieces


def build_supp(ctx: Context, supp: Dataset) -> pd.DataFrame:
    """SUPP-- records from the qualifiers the spec declares on the parent (non-empty values only)."""
    p: SuppParams = parse_params(supp.derivation.rule, supp.derivation.params)
    res = ctx.result
    idvals = (res[p.idvar].map(lambda v: "" if pd.isna(v) else f"{v:.0f}" if isinstance(v, float) else str(v))
              if p.idvar else pd.Series("", index=res.index))
    frames = []
    for q in p.qualifiers:
        qv = Variable(name=q.qnam, label=q.qlabel, type="Char", origin={"type": "Collected"},
                      codelist=q.derivation.get("params", {}).get("codelist"))
        vals = apply_variable(ctx, qv, Derivation.model_validate(q.derivation)).fillna("").astype(str)
        keep = vals != ""
        frames.append(pd.DataFrame({"USUBJID": res["USUBJID"][keep], "IDVARVAL": idvals[keep], "QNAM": q.qnam,
                                    "QLABEL": q.qlabel, "QVAL": vals[keep], "QORIG": q.qorig, "QEVAL": q.qeval,
                                    "__row": np.flatnonzero(keep.to_numpy())}))
    for vname in p.split_text:
        if vname not in res.columns:
            continue
        s = res[vname].astype(str)
        long = s.str.len() > 200
        if not long.any():
            continue
        label = ctx.ds.variable(vname).label
        pieces = s[long].map(_split_words)
        res.loc[long, vname] = pieces.map(lambda x: x[0])
        for pos, (i, parts) in enumerate(pieces.items()):
            for k, part in enumerate(parts[1:], start=1):
                frames.append(pd.DataFrame({"USUBJID": [res.at[i, "USUBJID"]], "IDVARVAL": [idvals.at[i]],
                                            "QNAM": [f"{vname[:7]}{k}"], "QLABEL": [f"{label[:36]} {k}"],
                                            "QVAL": [part], "QORIG": ["CRF"], "QEVAL": [""],
                                            "__row": [res.index.get_loc(i)]}))
    cols = ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG", "QEVAL"]
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)
    out["STUDYID"] = ctx.spec.study.id
    out["RDOMAIN"] = ctx.ds.name
    out["IDVAR"] = p.idvar
    out = out.sort_values(["USUBJID", "__row", "QNAM"], kind="mergesort")
    return out[cols + ["__row"]].reset_index(drop=True)


# -- shaping and checks ----------------------------------------------------------------------
def _to_text(s: pd.Series) -> pd.Series:
    return text_series(s)


def _to_number(s: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(s):
        return s.astype("float64")
    # text numbers repeat (scores, visit numbers): parse each distinct value once
    return umap(s, lambda u: pd.to_numeric(u, errors="coerce").astype("float64")).astype("float64")


def shape(ds: Dataset, df: pd.DataFrame) -> pd.DataFrame:
    """Spec order and types: Num -> float64, Char -> str with '' for missing."""
    cols = {}
    for v in ds.variables:
        s = df[v.name] if v.name in df.columns else pd.Series(np.nan if v.type == "Num" else "", index=df.index)
        cols[v.name] = _to_number(s) if v.type == "Num" else _to_text(s)
    return pd.DataFrame(cols, index=df.index)


def check_text(ctx: Context, ds: Dataset, df: pd.DataFrame, frame: pd.DataFrame | None,
               split: set[str]) -> None:
    """Non-ASCII values (XPT v5 is ASCII) and values over 200 characters that were not split."""
    for v in ds.variables:
        if v.type != "Char":
            continue
        s = df[v.name]
        uniq = pd.Series(s.unique(), dtype=object).astype(str)
        bad_vals = set(uniq[uniq.str.contains(_NON_ASCII, regex=True)])
        bad = s.isin(bad_vals) if bad_vals else pd.Series(False, index=s.index)
        field = (v.derivation.params.get("field", "") if v.derivation else "") or v.name
        if bad.any():
            s = _ascii_or_held_back(ctx, ds, df, frame, v.name, field, bad)
        if v.name not in split:
            long_vals = set(uniq[uniq.str.len() > 200])
            long = s.isin(long_vals) if long_vals else pd.Series(False, index=s.index)
            if long.any():
                _row_findings(ctx, ds, df, frame, long, "SD1002", "value over 200 characters and not declared "
                              "for splitting into SUPP--", v.name, field, s.str.slice(0, 60))


def _ascii_or_held_back(ctx, ds, df, frame, var, field, bad) -> pd.Series:
    """Non-ASCII values: replaced per the spec's raw.ascii_replacements (WARNING per record), else held
    back, i.e. written empty (ERROR per record naming file, line, field, value), so the rest of the
    dataset is still written. df[var] is updated in place; the new column is returned."""
    s = df[var]
    table = ctx.spec.study.raw.ascii_replacements

    def replace(u: pd.Series) -> pd.Series:
        u = u.astype(str)
        for k in sorted(table, key=len, reverse=True):  # longest first: "ß" never pre-empts "ßt"
            u = u.str.replace(k, table[k], regex=False)
        return u

    fixed = umap(s, replace).astype(object) if table else s.astype(object)
    still = bad & fixed.astype(str).str.contains(_NON_ASCII, regex=True)
    replaced = bad & ~still
    if replaced.any():
        _row_findings(ctx, ds, df, frame, replaced, "SD1003", "non-ASCII character replaced per the spec's "
                      "raw.ascii_replacements (now {new})", var, field, s, new=fixed, severity=Severity.WARNING)
    if still.any():
        _row_findings(ctx, ds, df, frame, still, "SD1001", "non-ASCII character (XPT v5 requires ASCII) and no "
                      "replacement in raw.ascii_replacements: value held back (written empty)", var, field, s)
    out = fixed.where(~still, "").astype(str)
    df[var] = out
    return out


def _row_findings(ctx, ds, df, frame, mask, rule, msg, var, field, values, new=None,
                  severity=Severity.ERROR) -> None:
    idx = mask[mask].index
    for i in idx:
        file = str(frame.at[i, FILE]) if frame is not None and i in frame.index else ""
        line = int(frame.at[i, LINE]) if frame is not None and i in frame.index else None
        text = msg.replace("{new}", repr(str(new.at[i]))) if new is not None else msg
        ctx.findings.append(Finding(severity, rule, text, dataset=ds.name, variable=var,
                                    usubjid=str(df.at[i, "USUBJID"]) if "USUBJID" in df.columns else "",
                                    file=file, line=line, field=field, value=str(values.at[i])))


def check_keys(ctx: Context, ds: Dataset, df: pd.DataFrame, frame: pd.DataFrame | None) -> None:
    keys = [k for k in ds.keys if k in df.columns]
    if not keys or df.empty:
        return
    dup = df.duplicated(subset=keys, keep=False)
    if dup.any():
        _row_findings(ctx, ds, df, frame, dup, "SD0803", f"duplicate natural key ({', '.join(keys)})",
                      keys[-1], keys[-1], df[keys].astype(str).agg("/".join, axis=1))
