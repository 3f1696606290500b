"""Rules for collected values: copy, CT mapping, decode, constants, ISO 8601 dates, conditions, units.

Each value is decided by its own record (row-wise); problems are findings naming raw file, line, field
and value.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from studyforge.findings import Severity

from .. import _dates
from .._fast import row_codes, umap
from ..vocabulary import codelist_lookup, norm_key, spelled
from .base import FORM, LINE, Params, Refs, variable_rule


# -- copy -------------------------------------------------------------------------------------------
class CopyParams(Params):
    field: str = Field(description="raw field; '__form' is the source form name")
    upper: bool = False
    fallback: str | None = Field(default=None, description="raw field used where `field` is empty")


@variable_rule("copy", CopyParams, fields=lambda p: [p.field, p.fallback],
               method="Copied from raw field {field}{fallback}")
def copy(frame, p: CopyParams, refs: Refs):
    s = refs.field(frame, p.field)
    if p.fallback:
        s = s.where(s != "", refs.field(frame, p.fallback))
    return (umap(s, lambda u: u.astype(str).str.upper()) if p.upper else s), []   # once per distinct value


# -- CT mapping -------------------------------------------------------------------------------------
class CtMapParams(Params):
    field: str
    codelist: str | None = Field(default=None, description="default: the variable's codelist")


def map_to_codelist(raw: pd.Series, codelist_id: str | None, field: str, frame, refs: Refs):
    """Raw text -> CT submission values; unmapped: ERROR (non-extensible) or WARNING (kept as collected)."""
    var = refs.variable.name if refs.variable else ""
    cl = refs.codelist(codelist_id)
    if cl is None:
        return raw, [refs.finding(Severity.ERROR, "SD0201", f"variable {var} maps to codelist {codelist_id!r} "
                                  "which the spec does not define")]
    mapped = norm_key(raw).map(codelist_lookup(cl))
    miss = mapped.isna() & (raw != "")
    # mapped only through the blank/slash normalization, not through a spelling the codelist declares
    # (value, decode, synonym; case aside, as CT submission values are upper case): say so per record
    declared = {k.strip().upper() for t in cl.terms for k in (t.value, t.decode or "", *t.synonyms) if k.strip()}
    undeclared = umap(raw, lambda u: ~u.astype(str).str.strip().str.upper().isin(declared)).astype(bool)
    variant = mapped.notna() & undeclared
    notes = refs.row_findings(frame, variant, Severity.NOTICE, "SD0205",
                              f"spelling not declared in codelist {cl.id}; mapped to its term after normalizing "
                              "blanks and slashes", field, raw) if variant.any() else []
    if miss.any():
        sev = Severity.WARNING if cl.extensible else Severity.ERROR
        notes += refs.row_findings(frame, miss, sev, "SD0202" if not cl.extensible else "SD0203",
                                  f"value not in {'extensible' if cl.extensible else 'non-extensible'} codelist "
                                  f"{cl.id}" + ("; kept as collected" if cl.extensible else ""), field, raw)
    return mapped.fillna(raw).astype(str), notes


@variable_rule("ct_map", CtMapParams, fields=lambda p: [p.field],
               method="Raw field {field} mapped to controlled terminology{codelist}")
def ct_map(frame, p: CtMapParams, refs: Refs):
    raw = refs.field(frame, p.field)
    return map_to_codelist(raw, p.codelist or (refs.variable.codelist if refs.variable else None), p.field,
                           frame, refs)


# -- decode -----------------------------------------------------------------------------------------
class DecodeParams(Params):
    var: str = Field(description="coded variable already made, e.g. QSTESTCD")
    codelists: list[str] = Field(min_length=1, description="codelists whose term decodes give the text, in order")


@variable_rule("decode", DecodeParams, reads=lambda p: [p.var],
               method="Decode of {var} in codelist(s) {codelists}")
def decode(frame, p: DecodeParams, refs: Refs):
    """Text of a code: the decode of the term in the first listed codelist that has it."""
    codes = refs.var(p.var).astype(str)
    by_value: dict[str, str] = {}
    notes = []
    for cid in p.codelists:
        cl = refs.codelist(cid)
        if cl is None:
            notes.append(refs.finding(Severity.ERROR, "SD0201", f"codelist {cid!r} not in spec"))
            continue
        for t in cl.terms:
            by_value.setdefault(t.value, t.decode or t.value)
    out = codes.map(by_value)
    miss = out.isna() & (codes != "")
    if miss.any():
        notes += refs.row_findings(frame, miss, Severity.ERROR, "SD0204", f"no decode in {', '.join(p.codelists)}",
                                   p.var, codes)
    return out.astype(object).fillna("").astype(str), notes   # no decode at all maps to float NaN


# -- constant ---------------------------------------------------------------------------------------
class ConstantParams(Params):
    value: str | int | float


@variable_rule("constant", ConstantParams, method="Set to {value}")
def constant(frame, p: ConstantParams, refs: Refs):
    num = refs.variable is not None and refs.variable.type == "Num"
    return pd.Series(p.value, index=frame.index, dtype=object if num else str), []


# -- dates ------------------------------------------------------------------------------------------
class Iso8601Params(Params):
    date: str
    time: str | None = None
    format: Literal["edc", "iso", "declared"] = Field(
        default="edc", description="edc: DD MON YYYY with UN/UNK parts; iso: ISO 8601 as delivered; declared: the "
        "formats study.yaml raw: declares for the form and field (one finding per distinct unparseable value)")


_TIME = r"(?:[01]?\d|2[0-3]):[0-5]\d"


def iso_from_raw(raw: pd.Series, time: pd.Series | None, fmt: str, date_field: str, time_field: str | None,
                 frame, refs: Refs):
    """ISO 8601 text from raw date (+ time); partial kept partial; impossible -> ERROR, empty."""
    notes = []
    if fmt == "edc":
        iso, err = _dates.edc_date_to_iso(raw)
    else:
        iso = raw
        err = ~_dates.is_valid_iso8601(iso)
        iso = iso.where(~err, "")
    if err.any():
        notes += refs.row_findings(frame, err, Severity.ERROR, "SD0301", "unparseable or impossible date",
                                   date_field, raw)
    if time is not None:
        tok = umap(time, lambda u: u.astype(str).str.fullmatch(_TIME).fillna(False)).astype(bool)
        bad = (time != "") & ~tok
        if bad.any():
            notes += refs.row_findings(frame, bad, Severity.ERROR, "SD0302", "unparseable time", time_field, time)
        full = (iso.str.len() == 10) & tok
        if full.any():
            iso = iso.copy()
            iso[full] = iso[full] + "T" + time[full].str.zfill(5)
    return iso.astype(str), notes


@variable_rule("iso8601", Iso8601Params, fields=lambda p: [p.date, p.time],
               method="ISO 8601 from raw date {date} (time {time}); partial dates kept partial")
def iso8601(frame, p: Iso8601Params, refs: Refs):
    if p.format == "declared":
        return declared_dtc(frame, p, refs)
    time = refs.field(frame, p.time) if p.time else None
    return iso_from_raw(refs.field(frame, p.date), time, p.format, p.date, p.time, frame, refs)


def declared_dtc(frame, p: Iso8601Params, refs: Refs):
    """ISO 8601 from the date (and time) formats the study declares per form and field (studyforge/spec/raw.py);
    each form's records are parsed with that form's settings."""
    out = pd.Series("", index=frame.index, dtype=object)
    notes = []
    forms = frame[FORM].to_numpy(dtype=object) if FORM in frame.columns else np.full(len(frame), "", dtype=object)
    codes, names = pd.factorize(forms)
    var = refs.variable.name if refs.variable else ""
    for k, form in enumerate(names):
        rows = np.flatnonzero(codes == k)
        sub = frame if len(names) == 1 else frame.iloc[rows]
        st = refs.spec.study.raw.for_form(str(form)) if form else refs.spec.study.raw
        rf = refs.form(str(form))
        iso, found = _dates.raw_to_iso(
            refs.field(sub, p.date), st.date_formats(p.date), lines=sub[LINE].to_numpy(),
            file=rf.path if rf is not None else refs.spec_file, field=p.date, unknown=st.unknown,
            year_pivot=st.year_pivot, times=refs.field(sub, p.time) if p.time else None,
            time_formats=st.time_formats(p.time) if p.time else ("HH:MM",), time_field=p.time or "")
        out.iloc[rows] = iso.to_numpy(dtype=object)
        notes += [replace(f, dataset=refs.dataset.name, variable=var) for f in found]
    return out.astype(str), notes


# -- condition --------------------------------------------------------------------------------------
class Case(Params):
    in_: list[str] = Field(alias="in")
    value: str


class ConditionParams(Params):
    field: str | None = Field(default=None, description="raw field (or '__form')")
    var: str | None = Field(default=None, description="or an SDTM variable made earlier")
    cases: list[Case] = Field(default_factory=list)
    nonempty: str | None = Field(default=None, description="value when the source is not empty")
    default: str = ""
    otherwise_source: bool = Field(default=False, description="unmatched -> the source value itself")


@variable_rule("condition", ConditionParams, reads=lambda p: [p.var], fields=lambda p: [p.field],
               method="From {field}{var}: {cases}; when not empty: {nonempty}; otherwise: {default}")
def condition(frame, p: ConditionParams, refs: Refs):
    if p.var:
        raw_src = refs.var(p.var)
        src = raw_src.astype(object).where(raw_src.notna(), "").astype(str)
    elif p.field:
        src = refs.field(frame, p.field)
    else:
        src = pd.Series("", index=frame.index, dtype=str)
    key = norm_key(src)
    out = pd.Series(np.where(p.otherwise_source, src, p.default), index=src.index, dtype=object) \
        if p.otherwise_source else pd.Series(p.default, index=src.index, dtype=object)
    if p.nonempty is not None:
        out = out.where(src == "", p.nonempty)
    for case in reversed(p.cases):
        out = out.where(~key.isin({spelled(v) for v in case.in_}), case.value)
    return out.astype(str), []


# -- unit conversion --------------------------------------------------------------------------------
class UnitRow(Params):
    testcd: str
    from_unit: str
    to_unit: str
    factor: float
    offset: float = Field(default=0.0, description="standard = (original + offset) * factor")


class UnitConvertParams(Params):
    value: str = Field(description="raw field with the original result/limit")
    unit: str = Field(description="raw field with the original unit")
    unit_var: str | None = Field(default=None, description="variable with the CT-mapped original unit (preferred)")
    testcd: str = Field(description="variable holding the test code")
    output: Literal["number", "text", "unit"]
    table: list[UnitRow] | str = Field(description="the rows, or the name of a study-level table (study.yaml units:)",
                                       json_schema_extra={"study_ref": "units"})
    decimals: int = 4


def _fmt_num(x: pd.Series, decimals: int) -> tuple[pd.Series, np.ndarray]:
    """(text, the text read back as a number) of numbers rounded to `decimals`, trailing zeros dropped;
    formatted once per distinct value."""
    codes, uniq = pd.factorize(x.round(decimals).to_numpy(dtype=float), use_na_sentinel=True)
    text = np.array([f"{v:.{decimals}f}".rstrip("0").rstrip(".") for v in uniq] + [""], dtype=object)
    back = np.append(pd.to_numeric(pd.Series(text[:-1], dtype=object)).to_numpy(dtype=float), np.nan)
    return pd.Series(text[codes], index=x.index, dtype=str), back[codes]


def unit_table(p: UnitConvertParams, refs: Refs) -> list[UnitRow]:
    """The conversion rows: given inline, or the study-level table the params name (one table serves
    the result, the unit and both range limits). An unknown name is a spec error."""
    if not isinstance(p.table, str):
        return list(p.table)
    tables = refs.spec.study.units
    if p.table not in tables:
        raise ValueError(f"unit table {p.table!r} is not in study.yaml units: (known: {', '.join(sorted(tables))})")
    return [UnitRow.model_validate(r) for r in tables[p.table]]


def _unit_rows(frame, p: UnitConvertParams, refs: Refs) -> pd.DataFrame:
    """Conversion-table row (to_unit, factor, offset) of each working row by (test code, unit);
    --STRESC/--STRESN/--STRESU and the standard range limits share one lookup per dataset."""
    rows = unit_table(p, refs)
    table = tuple((r.testcd, r.from_unit, r.to_unit, r.factor, r.offset) for r in rows)

    def build():
        unit = norm_key(refs.var(p.unit_var).astype(str) if p.unit_var else refs.field(frame, p.unit))
        testcd = refs.var(p.testcd).astype(str)
        tab = pd.DataFrame([r.model_dump() for r in rows], columns=list(UnitRow.model_fields))
        tab["from_key"] = norm_key(tab["from_unit"])
        # one lookup per distinct (test, unit) pair, broadcast to the rows
        left = pd.DataFrame({"testcd": testcd.to_numpy(), "from_key": unit.to_numpy()})
        pair, first, codes = np.unique(row_codes(left, ["testcd", "from_key"]), return_index=True,
                                       return_inverse=True)
        merged = left.iloc[first].merge(tab[["testcd", "from_key", "to_unit", "factor", "offset"]]
                                        .drop_duplicates(["testcd", "from_key"]), on=["testcd", "from_key"],
                                        how="left")
        merged = merged.iloc[codes.ravel()]
        merged.index = frame.index
        return merged
    return refs.memo(("unit_rows", p.unit_var, None if p.unit_var else p.unit, p.testcd, table), build)


@variable_rule("unit_convert", UnitConvertParams, reads=lambda p: [p.unit_var, p.testcd],
               fields=lambda p: [p.value, p.unit],
               method="{value} in {unit} converted to the standard unit of the test ({testcd}) with the "
                      "study's conversion table: standard = (original + offset) x factor, rounded to {decimals} "
                      "decimals; the number is the rounded text read back (--STRESN = --STRESC as a number)")
def unit_convert(frame, p: UnitConvertParams, refs: Refs):
    """Standardize a result with the spec's unit table; a unit missing from the table -> WARNING."""
    val = refs.field(frame, p.value)
    merged = _unit_rows(frame, p, refs)
    num = umap(val, lambda u: pd.to_numeric(u, errors="coerce").astype(float))   # once per distinct text
    has_val = val != ""
    known = merged["factor"].notna()
    if p.output == "unit":
        var = refs.variable.name if refs.variable else ""
        bad = has_val & ~known & var.endswith("STRESU")
        notes = refs.row_findings(frame, bad, Severity.WARNING, "SD0401", "unit not in the spec's conversion table "
                                  "for this test; standard result left empty", p.unit, refs.field(frame, p.unit)) \
            if bad.any() else []
        return merged["to_unit"].where(known & has_val, "").fillna("").astype(str), notes
    conv = (num + merged["offset"]) * merged["factor"]
    txt, back = _fmt_num(conv, p.decimals)
    if p.output == "number":  # --STRESN is --STRESC read as a number (SDTMIG 3.4 4.5.1): same rounding
        text = has_val & num.isna() & known  # a result that is not a number arrives as text only: say so
        limit = text & umap(val, lambda u: u.astype(str).str.match(r"^\s*[<>]=?\s*[-+]?(\d+\.?\d*|\.\d+)\s*$")
                            .astype(bool)).astype(bool)
        var = refs.variable.name if refs.variable else ""
        notes = refs.row_findings(frame, limit, Severity.NOTICE, "SD0402", f"result is a limit, not a number: "
                                  f"{var} left empty, the text kept in the character result", p.value, val) \
            + refs.row_findings(frame, text & ~limit, Severity.WARNING, "SD0403", f"result is not a number: {var} "
                                "left empty, the text kept in the character result", p.value, val) \
            if text.any() else []
        return pd.Series(back, index=frame.index, dtype=float), notes
    # text: converted number, or the original text when it is not numeric (e.g. "<5")
    return txt.where(num.notna() | ~has_val, val).where(known | ~has_val, "").astype(str), []
