"""What the vocabulary rules share: a value source (raw field, earlier variable or literal), text
access with '' for missing, and findings at raw file and line when the raw field varies per record."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from studyforge.findings import Finding, Severity

from .._fast import text_series, umap
from .base import Params, Refs

# raw result field of each record made by the wide-form builder (findings name the raw cell)
FIELD = "__field"


class Source(Params):
    """Where a value comes from: a raw field, a variable made earlier, or a literal (data, never code)."""

    field: str | None = Field(default=None, description="raw field of the source form")
    var: str | None = Field(default=None, description="SDTM variable derived earlier")
    value: str | None = Field(default=None, description="literal text")

    @model_validator(mode="after")
    def _one(self):
        if sum(x is not None for x in (self.field, self.var, self.value)) != 1:
            raise ValueError("give exactly one of field, var, value")
        return self

    @property
    def name(self) -> str:
        return self.field or self.var or ""

    def describe(self) -> str:
        return f"'{self.value}'" if self.value is not None else (self.var or f"raw {self.field}")


def as_text(s: pd.Series) -> pd.Series:
    """A column as text, '' for missing; numbers as written (1.0 -> '1', 2.5 -> '2.5')."""
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return umap(s, lambda u: u.map(lambda v: "" if v == "" or pd.isna(v) else
                                       (str(int(v)) if float(v).is_integer() else repr(float(v))))).astype(str)
    return text_series(s)


def column(frame: pd.DataFrame, refs: Refs, name: str, is_var: bool) -> pd.Series:
    """A raw field of the working rows or a variable derived earlier, as text."""
    return as_text(refs.var(name)) if is_var else refs.field(frame, name)


def source_text(frame: pd.DataFrame, refs: Refs, src: Source) -> pd.Series:
    if src.value is not None:
        return pd.Series(src.value, index=frame.index, dtype=str)
    return column(frame, refs, src.name, src.var is not None)


def row_findings(frame: pd.DataFrame, refs: Refs, mask, severity: Severity, rule_id: str, message: str,
                 field: str | pd.Series, values: pd.Series) -> list[Finding]:
    """refs.row_findings, with a field that may differ per record (one call per distinct field)."""
    m = pd.Series(np.asarray(mask, dtype=bool), index=frame.index)
    if not m.any():
        return []
    if isinstance(field, str):
        return refs.row_findings(frame, m, severity, rule_id, message, field, values)
    out: list[Finding] = []
    for name in pd.unique(field[m]):
        out += refs.row_findings(frame, m & (field == name), severity, rule_id, message, str(name), values)
    return out


def raw_field(frame: pd.DataFrame, src: Source) -> str | pd.Series:
    """The raw field a value came from: the source field, or for a variable of records made by the
    wide-form builder the per-record raw result field."""
    if src.field:
        return src.field
    if FIELD in frame.columns:
        return text_series(frame[FIELD]).where(frame[FIELD] != "", src.name)
    return src.name
