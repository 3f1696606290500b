"""Rule `converted_result`: --STRESC, --STRESN and --STRESU (or a standard range limit) from an original
result in any unit, through the study's unit table, so that --STRESN is always --STRESC as a number.

`standard_result` standardizes the text of a result that is already in the standard unit; `unit_convert`
converts a point-decimal number but leaves --STRESC and --STRESN at different precisions and cannot read
`88,4` or `<0,5`. This rule does both, in decimal arithmetic: the collected value (decimal point or comma)
is converted, standard = (original + offset) x factor, then rounded half up per test, and --STRESN is that
text read as a number (SDTMIG 3.4 section 4.5.1). A result with a comparator keeps it in --STRESC with
--STRESN null (SDTMIG 3.4 4.5.1); its limit is converted too (rounded like a result only when the unit
changes). Declared text results (`ND`) map to their --STRESC. A (test, unit) the table lacks leaves the
standard result empty and is a WARNING per record (SD0401); a value that is none of the above is a WARNING
(SD1201) and is kept as text.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from studyforge.findings import Finding, Severity

from .._fast import row_codes, umap
from ..vocabulary import norm_key
from ._common import Source, column, raw_field, row_findings, source_text
from .base import Params, Refs, variable_rule
from .collected import UnitRow, unit_table
from .numeric import _NUM, _WS, Precision, _decimal, _empty_or_declared, _round, _text_of


class ConvertedResultParams(Params):
    source: Source = Field(description="the original result or range limit, e.g. {var: LBORRES}")
    unit: Source = Field(description="the original unit, e.g. {var: LBORRESU} (CT-mapped)")
    testcd: str = Field(description="variable with the test code, e.g. LBTESTCD")
    table: list[UnitRow] | str = Field(description="the rows, or the name of a study-level table (study.yaml units:)",
                                       json_schema_extra={"study_ref": "units"})
    output: Literal["text", "number", "unit"] = Field(description="text -> --STRESC, number -> --STRESN or a "
                                                      "standard range limit, unit -> --STRESU")
    precision: Precision | None = Field(default=None, description="all tests; none: the collected decimals")
    per_test: dict[str, Precision] = Field(default_factory=dict, description="test code -> precision")
    decimal_mark: Literal["point", "comma", "either"] = "point"
    text_results: dict[str, str] = Field(default_factory=dict,
                                         description="non-numeric result as collected -> --STRESC (STRESN null)")

    @model_validator(mode="after")
    def _unit_source(self):
        if self.unit.value is not None:
            raise ValueError("unit: give the field or variable holding the original unit")
        return self


def _convert(d: Decimal, factor: float, offset: float) -> Decimal:
    return (d + Decimal(repr(offset))) * Decimal(repr(factor))


def _one(value: str, row: tuple | None, p: Precision | None, params: ConvertedResultParams,
         declared: dict[str, str]) -> tuple[str, str]:
    """(--STRESC, kind) of one distinct (value, table row, precision)."""
    known = _empty_or_declared(value, declared)
    if known is not None:
        return known
    v = value.strip()
    if row is None:
        return "", "no unit"
    factor, offset = row
    identity = factor == 1.0 and offset == 0.0
    num = _NUM[params.decimal_mark]
    try:
        if re.fullmatch(num, v):
            d = _decimal(v)
            # no declared precision: the collected decimals (a converted value cannot be more precise)
            prec = p or Precision(decimals=max(0, -d.as_tuple().exponent))
            return _text_of(_round(_convert(d, factor, offset), prec)), "number"
        m = re.fullmatch(rf"(<=|>=|<|>)\s*({num})", v)
        if m:
            d = _decimal(m.group(2))
            limit = d if identity else _round(_convert(d, factor, offset), p)
            return m.group(1) + _text_of(limit), "comparator"
    except InvalidOperation:
        pass
    return v, "unusable"


def _testcd(frame: pd.DataFrame, params: ConvertedResultParams, refs: Refs) -> pd.Series:
    """The test code of each row, trimmed and upper-cased once per distinct value."""
    return umap(column(frame, refs, params.testcd, True), lambda u: u.astype(str).str.strip().str.upper())


def _table_rows(frame: pd.DataFrame, params: ConvertedResultParams, refs: Refs) -> tuple[pd.Series, list]:
    """Per row: index of its (test code, unit) conversion row (-1 when none), looked up once per distinct
    pair; and the rows."""
    rows = unit_table(params, refs)  # an unknown table name is a spec error (spec check), ValueError here
    lookup: dict[tuple[str, str], int] = {}
    for i, r in enumerate(rows):
        lookup.setdefault((r.testcd.strip().upper(), norm_key(pd.Series([r.from_unit])).iloc[0]), i)
    keys = pd.DataFrame({"t": _testcd(frame, params, refs), "u": norm_key(source_text(frame, refs, params.unit))},
                        index=frame.index)
    _, first, inverse = np.unique(row_codes(keys, ["t", "u"]), return_index=True, return_inverse=True)
    t, u = keys["t"].to_numpy(dtype=object)[first], keys["u"].to_numpy(dtype=object)[first]
    found = np.array([lookup.get(k, -1) for k in zip(t, u)], dtype=np.int64)
    return pd.Series(found[inverse.ravel()] if len(first) else found, index=frame.index), rows


@variable_rule("converted_result", ConvertedResultParams,
               reads=lambda p: [x for x in (p.source.var, p.unit.var, p.testcd) if x],
               fields=lambda p: [x for x in (p.source.field, p.unit.field) if x],
               method=lambda p: (
                   f"{p.output.capitalize()} of the standard result from {p.source.describe()} in "
                   f"{p.unit.describe()}, converted with the study's unit table "
                   f"({p.table if isinstance(p.table, str) else 'given inline'}) by {p.testcd}: standard = "
                   "(original + offset) x factor, in decimal arithmetic, then rounded half up to "
                   + (p.precision.describe() if p.precision else "the collected decimals")
                   + ("; " + "; ".join(f"{k}: {x.describe()}" for k, x in p.per_test.items()) if p.per_test else "")
                   + f"; decimal mark {p.decimal_mark}. --STRESN is --STRESC read as a number. A result with a "
                   "comparator (e.g. <0.5) keeps it in --STRESC and --STRESN is null (SDTMIG 3.4 4.5.1)."
                   + (" Declared text results: " + ", ".join(f"{k} -> '{v}'" for k, v in p.text_results.items())
                      + "." if p.text_results else "")))
def converted_result(frame: pd.DataFrame, params: ConvertedResultParams,
                     refs: Refs) -> tuple[pd.Series, list[Finding]]:
    raw = source_text(frame, refs, params.source)
    ridx, rows = _table_rows(frame, params, refs)
    if params.output == "unit":
        to = pd.Series(np.array([r.to_unit for r in rows] + [""], dtype=object)[ridx.to_numpy()], index=frame.index)
        given = umap(raw, lambda x: x.astype(str).str.strip() != "").astype(bool)
        out = to.where(given, "").astype(str)
        miss = (ridx < 0) & given
        unit = source_text(frame, refs, params.unit)
        notes = row_findings(frame, refs, miss, Severity.WARNING, "SD0401", "unit not in the spec's conversion "
                             "table for this test; standard result left empty", raw_field(frame, params.unit), unit)
        return out, notes
    pos = {k.strip().upper(): i for i, k in enumerate(params.per_test, start=1)}
    precisions = [params.precision, *params.per_test.values()]
    pidx = umap(_testcd(frame, params, refs), lambda u: u.map(pos).fillna(0).astype(np.int64)).astype(int)
    declared = {_WS.sub(" ", k.strip().upper()): t for k, t in params.text_results.items()}
    triples = pd.MultiIndex.from_arrays([raw.to_numpy(dtype=object), ridx.to_numpy(), pidx.to_numpy()])
    codes, uniq = pd.factorize(triples)
    done = [_one(v, (rows[r].factor, rows[r].offset) if r >= 0 else None, precisions[k], params, declared)
            for v, r, k in uniq]
    txt = np.array([t for t, _ in done] + [""], dtype=object)[codes]
    kind = pd.Series(np.array([k for _, k in done] + [""], dtype=object)[codes], index=frame.index)
    notes = row_findings(frame, refs, kind == "unusable", Severity.WARNING, "SD1201",
                         "result is not a number (decimal mark " + params.decimal_mark + "), a comparator with a "
                         "number, or a declared text result; kept as text, no standard number",
                         raw_field(frame, params.source), raw)
    if params.output == "text":
        return pd.Series(txt, index=frame.index, dtype=str), notes
    number = pd.to_numeric(pd.Series(np.where(kind == "number", txt, ""), index=frame.index), errors="coerce")
    return number.astype(float), notes
