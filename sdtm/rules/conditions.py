"""Rule `when`: a value chosen by conditions over raw fields and variables derived earlier.

Cases are tried in order and the first that holds wins; rows no case holds take `otherwise`.
A condition is data (equals / in / contains / missing, nested with all / any / not), never an
evaluated expression. Text is compared as raw spellings are matched elsewhere: blanks trimmed and
collapsed, upper case, unless `exact: true`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from studyforge.findings import Finding, Severity

from .._fast import umap
from ._common import Source, column, source_text
from .base import Params, Refs, variable_rule

_WS = re.compile(r"\s+")
_OPS = ("equals", "in_", "contains", "missing")


class Condition(Params):
    """A test on one column, or all / any / not of nested conditions."""

    field: str | None = Field(default=None, description="raw field tested")
    var: str | None = Field(default=None, description="or a variable derived earlier")
    equals: str | None = None
    in_: list[str] | None = Field(default=None, alias="in")
    contains: str | None = None
    missing: bool | None = Field(default=None, description="true: is missing (empty); false: is not missing")
    exact: bool = Field(default=False, description="compare case and blanks as collected")
    all: list[Condition] | None = None
    any: list[Condition] | None = None
    not_: Condition | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _shape(self):
        groups = [g for g in (self.all, self.any, self.not_) if g is not None]
        ops = [o for o in _OPS if getattr(self, o) is not None]
        if groups:
            if len(groups) > 1 or ops or self.field or self.var:
                raise ValueError("a condition is one of: a test on field/var, all, any, not")
            if (self.all is not None and not self.all) or (self.any is not None and not self.any):
                raise ValueError("all / any need at least one condition")
            return self
        if (self.field is None) == (self.var is None):
            raise ValueError("a test names exactly one of field, var")
        if len(ops) != 1:
            raise ValueError("a test has exactly one of equals, in, contains, missing")
        return self

    def columns(self) -> list[tuple[str, bool]]:
        """(name, is_variable) of every column tested, nested ones included."""
        if self.not_ is not None:
            return self.not_.columns()
        if self.all or self.any:
            return [c for sub in (self.all or self.any) for c in sub.columns()]
        return [(self.var, True)] if self.var else [(self.field, False)]

    def describe(self) -> str:
        if self.not_ is not None:
            return f"not ({self.not_.describe()})"
        if self.all or self.any:
            joint = " and " if self.all else " or "
            return "(" + joint.join(c.describe() for c in (self.all or self.any)) + ")"
        who = self.var or f"raw {self.field}"
        if self.missing is not None:
            return f"{who} is {'missing' if self.missing else 'not missing'}"
        if self.equals is not None:
            return f"{who} = '{self.equals}'"
        if self.in_ is not None:
            return f"{who} in (" + ", ".join(f"'{v}'" for v in self.in_) + ")"
        return f"{who} contains '{self.contains}'"


class Case(Params):
    if_: Condition = Field(alias="if")
    then: Source


class WhenParams(Params):
    cases: list[Case] = Field(min_length=1, description="tried in order; the first that holds wins")
    otherwise: Source = Field(default=Source(value=""), description="value where no case holds")


def _norm(s: pd.Series) -> pd.Series:
    return s.str.strip().str.upper().str.replace(_WS, " ", regex=True)


def _norm1(v: str) -> str:
    return _WS.sub(" ", v.strip().upper())


def holds(frame: pd.DataFrame, refs: Refs, c: Condition) -> np.ndarray:
    """Boolean mask of the rows where the condition holds (a missing column reads as empty)."""
    if c.not_ is not None:
        return ~holds(frame, refs, c.not_)
    if c.all is not None:
        return np.logical_and.reduce([holds(frame, refs, s) for s in c.all])
    if c.any is not None:
        return np.logical_or.reduce([holds(frame, refs, s) for s in c.any])
    raw = column(frame, refs, c.var or c.field, c.var is not None)
    return umap(raw, lambda u: _test(u.astype(str), c)).to_numpy(dtype=bool)  # once per distinct value


def _test(u: pd.Series, c: Condition) -> pd.Series:
    """One leaf condition on distinct values."""
    if c.missing is not None:
        empty = u.str.strip() == ""
        return empty if c.missing else ~empty
    s, norm = (u, str) if c.exact else (_norm(u), _norm1)
    if c.equals is not None:
        return s == norm(c.equals)
    if c.in_ is not None:
        return s.isin([norm(v) for v in c.in_])
    return s.str.contains(norm(c.contains), regex=False)


def reads(params: WhenParams) -> set[str]:
    """Variables (not raw fields) the rule reads: they must be derived before it."""
    out = {n for case in params.cases for n, is_var in case.if_.columns() if is_var}
    return out | {s.var for s in [*(c.then for c in params.cases), params.otherwise] if s.var}


def fields(params: WhenParams) -> set[str]:
    out = {n for case in params.cases for n, is_var in case.if_.columns() if not is_var}
    return out | {s.field for s in [*(c.then for c in params.cases), params.otherwise] if s.field}


def method(params: WhenParams) -> str:
    text = "; else ".join(f"if {c.if_.describe()} then {c.then.describe()}" for c in params.cases)
    return "I" + text[1:] + f"; otherwise {params.otherwise.describe()} (first matching case wins)."


@variable_rule("when", WhenParams, method=method, reads=reads, fields=fields)
def when(frame: pd.DataFrame, params: WhenParams, refs: Refs) -> tuple[pd.Series, list[Finding]]:
    """First matching case's value per row, else `otherwise`; a case that wins no row is a NOTICE."""
    findings: list[Finding] = []
    masks = [holds(frame, refs, case.if_) for case in params.cases]
    values = [source_text(frame, refs, case.then).to_numpy(dtype=object) for case in params.cases]
    other = source_text(frame, refs, params.otherwise).to_numpy(dtype=object)
    out = np.select(masks, values, other)
    taken = np.zeros(len(frame), dtype=bool)
    for i, m in enumerate(masks, start=1):
        if not (m & ~taken).any():
            findings.append(refs.finding(Severity.NOTICE, "SD1002", f"when: case {i} "
                                         f"({params.cases[i - 1].if_.describe()}) decides no record"))
        taken |= m
    return pd.Series(out, index=frame.index, dtype=str), findings
