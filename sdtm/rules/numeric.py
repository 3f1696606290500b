"""Rule `standard_result`: --STRESC and --STRESN from an original result, so that the two agree.

The text is made first (rounded per test) and the number is that text read as a number, so
--STRESN is always --STRESC as a number (SDTMIG 3.4 section 4.5.1). Rounding is half up on the
collected decimal digits, as SAS ROUND does, never on a binary float. A result with a comparator
(`<0.5`, `>= 10`) keeps the comparator in --STRESC and leaves --STRESN null (SDTMIG 3.4 section 4.5.1:
"the value with the greater than (>) or less than (<) sign attached should be moved to the --STRESC
variable, and --STRESN should be null"). Text results the spec declares (`ND`, `NEGATIVE`) map to
the declared --STRESC; anything else that is not a number is a finding and is kept as text.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from studyforge.findings import Finding, Severity

from .._fast import umap
from ._common import Source, column, raw_field, row_findings, source_text
from .base import Params, Refs, variable_rule

_WS = re.compile(r"\s+")
_NUM = {
    "point": r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?",
    "comma": r"[+-]?(?:\d+,?\d*|,\d+)",
    "either": r"[+-]?(?:\d+[.,]?\d*|[.,]\d+)",
}


class Precision(Params):
    decimals: int | None = Field(default=None, ge=0, le=12, description="digits after the decimal mark")
    significant: int | None = Field(default=None, ge=1, le=15, description="significant digits")

    @model_validator(mode="after")
    def _one(self):
        if (self.decimals is None) == (self.significant is None):
            raise ValueError("give exactly one of decimals, significant")
        return self

    def describe(self) -> str:
        return f"{self.decimals} decimals" if self.decimals is not None else f"{self.significant} significant digits"


class StandardResultParams(Params):
    source: Source = Field(description="the original result, e.g. {var: LBORRES}")
    output: Literal["text", "number"] = Field(description="text -> --STRESC, number -> --STRESN")
    testcd: str | None = Field(default=None, description="variable with the test code (for per_test)")
    precision: Precision | None = Field(default=None, description="all tests; none: digits as collected")
    per_test: dict[str, Precision] = Field(default_factory=dict, description="test code -> precision")
    decimal_mark: Literal["point", "comma", "either"] = "point"
    text_results: dict[str, str] = Field(default_factory=dict,
                                         description="non-numeric result as collected -> --STRESC (STRESN null)")
    number: str | None = Field(default=None, description="output text: the --STRESN variable it must agree with")

    @model_validator(mode="after")
    def _testcd(self):
        if self.per_test and not self.testcd:
            raise ValueError("per_test needs testcd")
        if self.number and self.output != "text":
            raise ValueError("number (the --STRESN to agree with) is for output: text")
        return self


def _round(d: Decimal, p: Precision | None) -> Decimal:
    if p is None:
        return d
    if p.decimals is not None:
        return d.quantize(Decimal(1).scaleb(-p.decimals), rounding=ROUND_HALF_UP)
    if d == 0:
        return d
    r = d.quantize(Decimal(1).scaleb(d.adjusted() - (p.significant - 1)), rounding=ROUND_HALF_UP)
    if r.adjusted() > d.adjusted():  # rounding carried into a new digit (99.96 -> 100.0): one digit fewer
        r = r.quantize(Decimal(1).scaleb(r.adjusted() - (p.significant - 1)), rounding=ROUND_HALF_UP)
    return r


def _decimal(num: str) -> Decimal:
    return Decimal(num.replace(",", ".").lstrip("+"))


def _text_of(d: Decimal) -> str:
    out = format(d, "f")
    return out.lstrip("-") if d == 0 else out  # no '-0.0'


def _empty_or_declared(value: str, declared: dict[str, str]) -> tuple[str, str] | None:
    """(--STRESC, kind) of a missing or a declared text result (e.g. ND); None for anything else."""
    v = value.strip()
    if v == "":
        return "", "missing"
    key = _WS.sub(" ", v.upper())
    return (declared[key], "text") if key in declared else None


def _one(value: str, p: Precision | None, params: StandardResultParams, declared: dict[str, str]) -> tuple[str, str]:
    """(--STRESC, kind) of one distinct collected value under one precision."""
    known = _empty_or_declared(value, declared)
    if known is not None:
        return known
    v = value.strip()
    num = _NUM[params.decimal_mark]
    try:
        if re.fullmatch(num, v):
            return _text_of(_round(_decimal(v), p)), "number"
        m = re.fullmatch(rf"(<=|>=|<|>)\s*({num})", v)
        if m:  # the limit as collected (decimal mark normalized): rounding could move it
            return m.group(1) + _text_of(_decimal(m.group(2))), "comparator"
    except InvalidOperation:
        pass
    return v, "unusable"


def standard_results(frame: pd.DataFrame, params: StandardResultParams, refs: Refs) -> tuple[pd.DataFrame, np.ndarray]:
    """(text, number, kind) per row; the work is done once per distinct (value, precision)."""
    raw = source_text(frame, refs, params.source)
    precisions = [params.precision, *params.per_test.values()]
    if params.per_test:
        pos = {k.strip().upper(): i for i, k in enumerate(params.per_test, start=1)}
        pidx = umap(column(frame, refs, params.testcd, True),
                    lambda u: u.str.strip().str.upper().map(pos).fillna(0).astype(int))
    else:
        pidx = pd.Series(0, index=frame.index)
    pairs = pd.DataFrame({"v": raw.to_numpy(dtype=object), "p": pidx.to_numpy()})
    codes, uniq = pd.factorize(pd.MultiIndex.from_frame(pairs)) if len(pairs) else (np.array([], int), [])
    declared = {_WS.sub(" ", k.strip().upper()): t for k, t in params.text_results.items()}
    done = [_one(v, precisions[i], params, declared) for v, i in uniq]
    txt = np.array([t for t, _ in done] + [""], dtype=object)[codes]
    kind = np.array([k for _, k in done] + [""], dtype=object)[codes]
    number = pd.to_numeric(pd.Series(np.where(kind == "number", txt, ""), index=frame.index), errors="coerce")
    return pd.DataFrame({"text": pd.Series(txt, index=frame.index, dtype=str), "number": number.astype(float),
                         "kind": kind}, index=frame.index), raw.to_numpy(dtype=object)


def reads(params: StandardResultParams) -> set[str]:
    return {v for v in (params.source.var, params.testcd, params.number) if v}


def fields(params: StandardResultParams) -> set[str]:
    return {params.source.field} if params.source.field else set()


def method(params: StandardResultParams) -> str:
    prec = params.precision.describe() if params.precision else "digits as collected"
    per = "; ".join(f"{k}: {p.describe()}" for k, p in params.per_test.items())
    head = (f"Standard result from {params.source.describe()}, rounded half up to {prec}"
            + (f" ({per} by {params.testcd})" if per else "") + f"; decimal mark {params.decimal_mark}.")
    tail = (" A result with a comparator (e.g. <0.5) keeps it in --STRESC and --STRESN is null (SDTMIG 3.4 4.5.1)."
            + (" Declared text results: " + ", ".join(f"{k} -> '{v}'" for k, v in params.text_results.items()) + "."
               if params.text_results else ""))
    which = " --STRESN is --STRESC read as a number." if params.output == "number" else ""
    return head + tail + which


@variable_rule("standard_result", StandardResultParams, method=method, reads=reads, fields=fields)
def standard_result(frame: pd.DataFrame, params: StandardResultParams, refs: Refs) -> tuple[pd.Series, list[Finding]]:
    """--STRESC (output text) or --STRESN (output number); unusable values: one WARNING each."""
    findings: list[Finding] = []
    res, raw = standard_results(frame, params, refs)
    bad = res["kind"] == "unusable"
    mark = {"point": "'.'", "comma": "','", "either": "'.' or ','"}[params.decimal_mark]
    effect = "--STRESC keeps it as text" if params.output == "text" else "--STRESN left empty"
    findings += row_findings(frame, refs, bad, Severity.WARNING, "SD1201",
                             f"result is not a number (decimal mark {mark}), a comparator with a number, or a "
                             f"declared text result; {effect}", raw_field(frame, params.source),
                             pd.Series(raw, index=frame.index))
    if params.testcd:
        seen = {str(v).strip().upper() for v in pd.unique(column(frame, refs, params.testcd, True))}
        for k in params.per_test:
            if k.strip().upper() not in seen:
                findings.append(refs.finding(Severity.NOTICE, "SD1202", f"standard_result: per_test {k!r} "
                                             f"matches no record of {params.testcd}", field=params.testcd, value=k))
    if params.number:  # the --STRESN derived with its own params: any disagreement is an error
        other = pd.to_numeric(refs.var(params.number), errors="coerce").to_numpy(dtype=float)
        mine = res["number"].to_numpy(dtype=float)
        differ = ~((np.isnan(other) & np.isnan(mine)) | (other == mine))
        findings += row_findings(frame, refs, differ, Severity.ERROR, "SD1203",
                                 f"--STRESC read as a number differs from {params.number}: their parameters "
                                 "disagree", raw_field(frame, params.source), pd.Series(raw, index=frame.index))
    return (res["text"] if params.output == "text" else res["number"]), findings
