"""The mapping vocabulary: copy, CT mapping, constants, ISO 8601 dates, conditions, unit tables.

Each rule takes the build context, the target variable and its validated params, and returns one
value per working row. Problems become findings that name raw file, line, field and value.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from studyforge.findings import Severity
from studyforge.spec.models import Codelist, Variable

from . import _dates
from ._fast import umap
from .context import FORM, Context
from .registry import (
    ConditionParams,
    ConstantParams,
    CopyParams,
    CtMapParams,
    DecodeParams,
    Iso8601Params,
    UnitConvertParams,
)

_WS = re.compile(r"\s+")
_SLASH = re.compile(r"\s*/\s*")


def norm_key(s: pd.Series) -> pd.Series:
    """Upper case, blanks collapsed: the form in which raw spellings are matched (per distinct value)."""
    return umap(s, lambda u: u.astype(str).str.strip().str.upper().str.replace(_WS, " ", regex=True)
                .str.replace(_SLASH, "/", regex=True))


def codelist_lookup(cl: Codelist) -> dict[str, str]:
    """Normalized spelling (value, decode, synonyms) -> submission value."""
    m: dict[str, str] = {}
    for t in cl.terms:
        for k in [t.value, t.decode or "", *t.synonyms]:
            k = _SLASH.sub("/", _WS.sub(" ", k.strip().upper()))
            if k:
                m.setdefault(k, t.value)
    return m


def _source(ctx: Context, field: str, var: Variable | None) -> pd.Series:
    if field == FORM:
        return ctx.frame[FORM].astype(str)
    return ctx.field(field, var)


def copy(ctx: Context, var: Variable, p: CopyParams) -> pd.Series:
    s = _source(ctx, p.field, var)
    if p.fallback:
        s = s.where(s != "", _source(ctx, p.fallback, var))
    return s.str.upper() if p.upper else s


def map_to_codelist(ctx: Context, var: Variable, raw: pd.Series, codelist_id: str | None, field: str) -> pd.Series:
    """Map raw text to CT submission values; unmapped: ERROR (non-extensible) or WARNING (kept)."""
    if not codelist_id or codelist_id not in ctx.spec.codelists:
        ctx.error("SD0201", f"variable {var.name} maps to codelist {codelist_id!r} which the spec does not define",
                  variable=var.name, file=ctx.spec_file)
        return raw
    cl = ctx.spec.codelists[codelist_id]
    mapped = norm_key(raw).map(codelist_lookup(cl))
    miss = mapped.isna() & (raw != "")
    if miss.any():
        sev = Severity.WARNING if cl.extensible else Severity.ERROR
        ctx.row_findings(miss, sev, "SD0202" if not cl.extensible else "SD0203",
                         f"value not in {'extensible' if cl.extensible else 'non-extensible'} codelist {cl.id}"
                         + ("; kept as collected" if cl.extensible else ""), var.name, field, raw)
    return mapped.fillna(raw).astype(str)


def ct_map(ctx: Context, var: Variable, p: CtMapParams) -> pd.Series:
    raw = _source(ctx, p.field, var)
    return map_to_codelist(ctx, var, raw, p.codelist or var.codelist, p.field)


def decode(ctx: Context, var: Variable, p: DecodeParams) -> pd.Series:
    """Text of a code: the decode of the term, or for paired TESTCD/TEST codelists the term of the
    same NCI code in the paired list (e.g. EOR01TC -> EOR01TN)."""
    codes = ctx.var(p.var).astype(str)
    by_value: dict[str, str] = {}
    for cid in p.codelists:
        cl = ctx.spec.codelists.get(cid)
        if cl is None:
            ctx.error("SD0201", f"codelist {cid!r} not in spec", variable=var.name, file=ctx.spec_file)
            continue
        for t in cl.terms:
            by_value.setdefault(t.value, t.decode or t.value)
    out = codes.map(by_value)
    miss = out.isna() & (codes != "")
    if miss.any():
        ctx.row_findings(miss, Severity.ERROR, "SD0204", f"no decode in {', '.join(p.codelists)}", var.name,
                         p.var, codes)
    return out.fillna("").astype(str)


def constant(ctx: Context, var: Variable, p: ConstantParams) -> pd.Series:
    return pd.Series(p.value, index=ctx.frame.index, dtype=object if var.type == "Num" else str)


def iso_from_raw(ctx: Context, var: Variable, date_field: str, time_field: str | None, fmt: str) -> pd.Series:
    """ISO 8601 text from raw date (+ time); partial kept partial; impossible -> ERROR, empty."""
    raw = ctx.field(date_field, var)
    if fmt == "edc":
        iso, err = _dates.edc_date_to_iso(raw)
    else:
        iso = raw
        err = ~_dates.is_valid_iso8601(iso)
        iso = iso.where(~err, "")
    if err.any():
        ctx.row_findings(err, Severity.ERROR, "SD0301", "unparseable or impossible date", var.name, date_field, raw)
    if time_field:
        t = ctx.field(time_field, var)
        tok = umap(t, lambda u: u.astype(str).str.fullmatch(r"(?:[01]?\d|2[0-3]):[0-5]\d").fillna(False)).astype(bool)
        bad = (t != "") & ~tok
        if bad.any():
            ctx.row_findings(bad, Severity.ERROR, "SD0302", "unparseable time", var.name, time_field, t)
        full = (iso.str.len() == 10) & tok
        if full.any():
            iso = iso.copy()
            iso[full] = iso[full] + "T" + t[full].str.zfill(5)
    return iso.astype(str)


def iso8601(ctx: Context, var: Variable, p: Iso8601Params) -> pd.Series:
    return iso_from_raw(ctx, var, p.date, p.time, p.format)


def condition(ctx: Context, var: Variable, p: ConditionParams) -> pd.Series:
    if p.var:
        raw_src = ctx.var(p.var)
        src = raw_src.astype(object).where(raw_src.notna(), "").astype(str)
    elif p.field:
        src = _source(ctx, p.field, var)
    else:
        src = pd.Series("", index=ctx.frame.index, dtype=str)
    key = norm_key(src)
    out = pd.Series(np.where(p.otherwise_source, src, p.default), index=src.index, dtype=object) \
        if p.otherwise_source else pd.Series(p.default, index=src.index, dtype=object)
    if p.nonempty is not None:
        out = out.where(src == "", p.nonempty)
    for case in reversed(p.cases):
        keys = {_SLASH.sub("/", _WS.sub(" ", v.strip().upper())) for v in case.in_}
        out = out.where(~key.isin(keys), case.value)
    return out.astype(str)


def _fmt_num(x: pd.Series, decimals: int) -> pd.Series:
    r = x.round(decimals)
    return umap(r, lambda u: u.map(lambda v: "" if v == "" or pd.isna(v) else f"{float(v):.{decimals}f}".rstrip("0").rstrip(".")))


def _unit_rows(ctx: Context, var: Variable, p: UnitConvertParams) -> pd.DataFrame:
    """Conversion-table row (to_unit, factor, offset) of each working row by (test code, unit).
    --STRESC/--STRESN/--STRESU and the standard range limits share one lookup per dataset."""
    table = tuple((r.testcd, r.from_unit, r.to_unit, r.factor, r.offset) for r in p.table)
    made = tuple(v in ctx.result.columns for v in (p.unit_var, p.testcd))  # inputs not yet made: no reuse
    key = (ctx.ds.name, len(ctx.frame), "unit_rows", p.unit_var, None if p.unit_var else p.unit, p.testcd, made,
           table)
    if key in ctx.cache:
        return ctx.cache[key]
    unit = norm_key(ctx.var(p.unit_var).astype(str) if p.unit_var else ctx.field(p.unit, var))
    testcd = ctx.var(p.testcd).astype(str)
    tab = pd.DataFrame([r.model_dump() for r in p.table])
    tab["from_key"] = norm_key(tab["from_unit"])
    left = pd.DataFrame({"testcd": testcd.to_numpy(), "from_key": unit.to_numpy()})
    merged = left.merge(tab[["testcd", "from_key", "to_unit", "factor", "offset"]].drop_duplicates(["testcd", "from_key"]),
                        on=["testcd", "from_key"], how="left")
    merged.index = ctx.frame.index
    ctx.cache[key] = merged
    return merged


def unit_convert(ctx: Context, var: Variable, p: UnitConvertParams) -> pd.Series:
    """Standardize a result with the spec's unit table; a unit missing from the table -> WARNING."""
    val = ctx.field(p.value, var)
    merged = _unit_rows(ctx, var, p)
    num = pd.to_numeric(val, errors="coerce")
    has_val = val != ""
    known = merged["factor"].notna()
    if p.output == "unit":
        bad = has_val & ~known & (var.name.endswith("STRESU"))
        if bad.any():
            ctx.row_findings(bad, Severity.WARNING, "SD0401", "unit not in the spec's conversion table for this "
                             "test; standard result left empty", var.name, p.unit, ctx.field(p.unit, var))
        return merged["to_unit"].where(known & has_val, "").fillna("").astype(str)
    conv = (num + merged["offset"]) * merged["factor"]
    if p.output == "number":
        return conv.astype(float)
    # text: converted number, or the original text when it is not numeric (e.g. "<5")
    txt = _fmt_num(conv, p.decimals)
    return txt.where(num.notna() | ~has_val, val).where(known | ~has_val, "").astype(str)
