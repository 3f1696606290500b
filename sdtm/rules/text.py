"""Rule `compose`: text built from parts. Each part is a raw field, a variable made earlier or a
literal separator; a part may be trimmed, cut by position or by a regex capture, zero padded and
upper-cased, in that order. The whole result may be trimmed and upper-cased as well."""

from __future__ import annotations

import re
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator

from studyforge.findings import Finding, Severity

from .._fast import umap
from ._common import Source, row_findings, source_text
from .base import Params, Refs, variable_rule


class Part(Source):
    trim: bool = Field(default=False, description="strip leading/trailing blanks")
    start: int | None = Field(default=None, ge=1, description="substring: first character (1-based)")
    length: int | None = Field(default=None, ge=1, description="substring: number of characters")
    regex: str | None = Field(default=None, description="keep the first capture group of a match")
    pad: int | None = Field(default=None, ge=1, le=200, description="zero pad on the left to this width")
    upper: bool = False

    @field_validator("regex")
    @classmethod
    def _one_group(cls, v):
        if v is None:
            return v
        try:
            groups = re.compile(v).groups
        except re.error as e:
            raise ValueError(f"not a regular expression: {e}") from None
        if groups != 1:
            raise ValueError("regex needs exactly one capture group")
        return v

    @model_validator(mode="after")
    def _cut(self):
        if self.regex and (self.start or self.length):
            raise ValueError("cut a part by position or by regex, not both")
        if self.length and not self.start:
            raise ValueError("length needs start")
        return self

    def describe(self) -> str:
        d = super().describe()
        steps = (["trimmed"] if self.trim else []) \
            + ([f"characters {self.start}" + (f"-{self.start + self.length - 1}" if self.length else " on")]
               if self.start else []) \
            + ([f"first group of /{self.regex}/"] if self.regex else []) \
            + ([f"zero padded to {self.pad}"] if self.pad else []) + (["upper case"] if self.upper else [])
        return d + (f" ({', '.join(steps)})" if steps else "")


class ComposeParams(Params):
    parts: list[Part] = Field(min_length=1)
    trim: bool = Field(default=False, description="strip the composed text")
    upper: bool = Field(default=False, description="upper-case the composed text")
    if_missing: Literal["empty", "keep"] = Field(
        default="empty", description="a field/var part empty: the whole result empty, or composed without it")


def _shape(u: pd.Series, p: Part) -> pd.Series:
    """The part's steps on distinct values; a regex miss becomes NaN (reported by the caller)."""
    u = u.astype(str)
    if p.trim:
        u = u.str.strip()
    if p.start:
        u = u.str.slice(p.start - 1, p.start - 1 + p.length if p.length else None)
    if p.regex:
        got = u.str.extract(p.regex, expand=False)
        u = got.where(got.notna() | (u != ""), "")
    if p.pad:
        u = u.where(u.isna() | (u == ""), u.str.zfill(p.pad))  # an empty value stays empty, not '000'
    if p.upper:
        u = u.str.upper()
    return u.astype(object)


def _part(frame: pd.DataFrame, refs: Refs, p: Part) -> tuple[pd.Series, list[Finding]]:
    s = source_text(frame, refs, p)
    if p.value is not None:
        return pd.Series(_shape(pd.Series([p.value]), p).fillna("").iloc[0], index=frame.index, dtype=str), []
    shaped = umap(s, lambda u: _shape(u, p))  # once per distinct value
    miss = shaped.isna()
    findings = row_findings(frame, refs, miss, Severity.WARNING, "SD1011",
                            f"compose: value does not match /{p.regex}/; part left empty", p.name, s) \
        if miss.any() else []
    return shaped.fillna("").astype(str), findings


def reads(params: ComposeParams) -> set[str]:
    return {p.var for p in params.parts if p.var}


def fields(params: ComposeParams) -> set[str]:
    return {p.field for p in params.parts if p.field}


def method(params: ComposeParams) -> str:
    text = " + ".join(p.describe() for p in params.parts)
    extra = [w for w, on in (("trimmed", params.trim), ("upper case", params.upper)) if on]
    return (f"Concatenation of {text}" + (f", {' and '.join(extra)}" if extra else "")
            + ("; empty when any source part is empty." if params.if_missing == "empty" else "."))


@variable_rule("compose", ComposeParams, method=method, reads=reads, fields=fields)
def compose(frame: pd.DataFrame, params: ComposeParams, refs: Refs) -> tuple[pd.Series, list[Finding]]:
    """Parts concatenated per row; with if_missing=empty a row with any empty field/var part gives ''."""
    findings: list[Finding] = []
    out = pd.Series("", index=frame.index, dtype=str)
    gap = np.zeros(len(frame), dtype=bool)
    for p in params.parts:
        s, f = _part(frame, refs, p)
        findings += f
        if p.value is None:
            gap |= (s == "").to_numpy(dtype=bool)
        out = out + s
    if params.trim:
        out = out.str.strip()
    if params.upper:
        out = out.str.upper()
    if params.if_missing == "empty":
        out = out.where(~gap, "")
    return out.astype(str), findings
