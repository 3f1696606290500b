"""Record selections written as data (equals, in, contains, is missing, and / or / not), never evaluated text.

A spec writes a selection either in the short form `{VAR: [v1, v2], VAR2: [v3]}` (every variable takes
one of its values) or as a tree:

    all:                                  # and
      - {var: DSCAT, equals: DISPOSITION EVENT}
      - any:                              # or
          - {var: DSTERM, contains: DEATH DUE TO}
          - {var: DSDECOD, in: [DEATH]}
      - not: {var: DSSCAT, missing: true}

A selection that matches no record is a WARNING naming where the spec wrote it and the values that do
occur, because an empty filter silently turns every subject into "no event" or "ongoing".
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from adam.derive_common import text_col
from studyforge.findings import Finding, Severity

TESTS = ("equals", "in_", "contains", "missing")
LOGIC = ("all", "any", "not_")
SHOWN_VALUES = 12


class Selection(BaseModel):
    """One node: a test on one variable (`var` + one of equals / in / contains / missing) or and / or / not."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    var: str | None = Field(None, pattern=r"^[A-Z][A-Z0-9_]{0,7}$")
    equals: str | None = None
    in_: list[str] | None = Field(None, alias="in", min_length=1)
    contains: str | None = Field(None, min_length=1)
    missing: bool | None = None
    all: list["Selection"] | None = Field(None, min_length=1)
    any: list["Selection"] | None = Field(None, min_length=1)
    not_: "Selection | None" = Field(None, alias="not")

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        """`{VAR: [values], ...}` (the short form) -> all of `VAR in values`."""
        if isinstance(data, dict) and data and not (set(data) & {"var", "all", "any", "not", "in", "equals",
                                                                   "contains", "missing", "in_", "not_"}):
            items = [{"var": str(k), "in": [str(x) for x in (v if isinstance(v, list) else [v])]}
                     for k, v in data.items()]
            return {"all": items}
        if isinstance(data, dict) and isinstance(data.get("equals"), (int, float)):
            data = {**data, "equals": str(data["equals"])}
        return data

    @model_validator(mode="after")
    def _one_kind(self) -> "Selection":
        tests = [t for t in TESTS if getattr(self, t) is not None]
        logic = [t for t in LOGIC if getattr(self, t) is not None]
        if self.var is not None:
            if len(tests) != 1 or logic:
                raise ValueError(f"a test on {self.var} needs exactly one of equals, in, contains, missing")
        elif tests or len(logic) != 1:
            raise ValueError("a selection is either {var: ..., equals|in|contains|missing: ...} or one of all/any/not")
        return self

    def variables(self) -> list[str]:
        """The variables the selection reads, in order of appearance, each once."""
        out: list[str] = []
        for node in self._nodes():
            if node.var and node.var not in out:
                out.append(node.var)
        return out

    def _nodes(self):
        yield self
        for child in (self.all or []) + (self.any or []) + ([self.not_] if self.not_ else []):
            yield from child._nodes()

    def describe(self) -> str:
        """Readable text for method texts and findings, e.g. `DSCAT = 'X' and DSTERM contains 'Y'`."""
        if self.var is not None:
            if self.equals is not None:
                return f"{self.var} = '{self.equals}'"
            if self.in_ is not None and len(self.in_) == 1:
                return f"{self.var} = '{self.in_[0]}'"
            if self.in_ is not None:
                return f"{self.var} in ({', '.join(repr(v) for v in self.in_)})"
            if self.contains is not None:
                return f"{self.var} contains '{self.contains}'"
            return f"{self.var} is {'missing' if self.missing else 'not missing'}"
        if self.not_ is not None:
            return f"not ({self.not_.describe()})"
        parts, word = (self.all, " and ") if self.all else (self.any, " or ")
        return word.join(p.describe() if p.var else f"({p.describe()})" for p in parts)


def mask(df: pd.DataFrame, sel: Selection | None) -> pd.Series:
    """Rows the selection keeps (no selection keeps all); an absent variable reads as all missing."""
    if sel is None:
        return pd.Series(True, index=df.index)
    if sel.var is not None:
        v = text_col(df, sel.var)
        if sel.equals is not None:
            return v == sel.equals
        if sel.in_ is not None:
            return v.isin(sel.in_)
        if sel.contains is not None:
            return v.str.contains(sel.contains, regex=False)
        return (v == "") if sel.missing else (v != "")
    if sel.not_ is not None:
        return ~mask(df, sel.not_)
    parts = [mask(df, s).to_numpy() for s in (sel.all or sel.any)]
    combined = np.logical_and.reduce(parts) if sel.all else np.logical_or.reduce(parts)
    return pd.Series(combined, index=df.index)


def occurring_values(df: pd.DataFrame, variables: list[str]) -> str:
    """`VAR: a, b, c; VAR2: (not in dataset)` for the finding of an empty selection."""
    parts = []
    for var in variables:
        if var not in df.columns:
            parts.append(f"{var}: (not in dataset)")
            continue
        vals = sorted(set(text_col(df, var).unique()))
        shown = ", ".join(repr(v) if v else "(missing)" for v in vals[:SHOWN_VALUES])
        more = f", ... ({len(vals)} values)" if len(vals) > SHOWN_VALUES else ""
        parts.append(f"{var}: {shown or '(no records)'}{more}")
    return "; ".join(parts)


def select(df: pd.DataFrame, sel: Selection | None, *, dataset: str, where: str,
           severity: Severity = Severity.WARNING) -> tuple[pd.Series, list[Finding]]:
    """(mask, findings): a selection that keeps no record of `dataset` is a WARNING.

    `where` is the spec location `<ADaM dataset>.<path.to.selection>`; `locate` turns it into file:line.
    A caller lowers `severity` to NOTICE only where an empty match is expected (no deaths in the study).
    """
    m = mask(df, sel)
    if sel is None or bool(m.any()):
        return m, []
    what = f"{dataset} is empty" if len(df) == 0 else f"values that occur: {occurring_values(df, sel.variables())}"
    return m, [Finding(severity, "ADAM-SELECT-EMPTY", f"selection [{sel.describe()}] matches no {dataset} "
                       f"record; {what}", dataset=dataset, field=where, value=sel.describe())]


def locate(findings: list[Finding], locations: Any) -> list[Finding]:
    """Fill file and line of selection findings from a loader SourceMap (`load_spec_with_locations`)."""
    out = []
    for f in findings:
        if f.rule != "ADAM-SELECT-EMPTY" or not f.field or locations is None:
            out.append(f)
            continue
        name, _, path = f.field.partition(".")
        keys: list[Any] = ["datasets", name]
        for part in path.split("."):
            keys.append(int(part) if part.isdigit() else part)
        loc = locations.get(tuple(keys))
        out.append(replace(f, file=loc[0], line=loc[1]) if loc else f)
    return out
