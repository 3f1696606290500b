"""Evaluate an ARS where clause on a frame, vectorized; the clause is data, never an expression."""

from __future__ import annotations

import numpy as np
import pandas as pd

from studyforge.xpt import factorize_text, text_layout

from .model import Condition, Where

Factorized = tuple[np.ndarray, np.ndarray]


def factorized(s: pd.Series) -> Factorized:
    """(codes, distinct values as objects) of a column, code -1 for missing: one hash pass, each string layout
    its native one (studyforge.xpt.factorize_text: Arrow's kernel, no Python string per record)."""
    if text_layout(s.dtype) is not None:
        return factorize_text(s)
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    return codes, np.asarray(uniq, dtype=object)


def coded_text(s: pd.Series, raw: Factorized | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(codes, texts): each value's stripped text is texts[codes]; missing is ''. The text is made once per
    distinct value, so a condition on a million records costs one hash pass, whatever the string layout.
    `raw`: factorized(s), when the caller kept it."""
    codes, uniq = factorized(s) if raw is None else raw
    texts = np.array([str(u).strip() for u in uniq] + [""], dtype=object)
    return np.where(codes < 0, len(texts) - 1, codes), texts


def text_in(s: pd.Series, values: list[str], raw: Factorized | None = None) -> np.ndarray:
    """Rows whose stripped text is one of `values`."""
    codes, texts = coded_text(s, raw)
    return np.isin(texts, values)[codes]


def member_of(s: pd.Series, universe, raw: Factorized | None = None) -> np.ndarray:
    """`s.isin(universe)` (USUBJID in an analysis set ...) as one hash lookup per distinct value: pandas' isin
    on Arrow-backed text makes a Python object per universe value, seconds per call on 10,000 subjects."""
    codes, uniq = factorized(s) if raw is None else raw
    look = pd.Index(pd.unique(np.asarray(universe, dtype=object)), dtype=object)
    return np.append(look.get_indexer(uniq) >= 0, False)[codes]      # missing (-1) takes the appended False


def _condition(df: pd.DataFrame, c: Condition) -> np.ndarray:
    if c.variable not in df.columns:
        raise KeyError(c.variable)
    s = df[c.variable]
    codes, texts = coded_text(s)
    missing = (texts == "")[codes]
    if c.comparator == "MISSING":
        return missing
    if c.comparator == "NOTMISSING":
        return ~missing
    numeric = pd.api.types.is_numeric_dtype(s)
    if c.comparator in ("GT", "GE", "LT", "LE"):
        x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
        v = float(c.value[0])
        with np.errstate(invalid="ignore"):
            out = {"GT": x > v, "GE": x >= v, "LT": x < v, "LE": x <= v}[c.comparator]
        return out & ~np.isnan(x)
    if numeric:
        hit = pd.to_numeric(s, errors="coerce").isin([float(v) for v in c.value]).to_numpy()
    else:
        hit = np.isin(texts, [str(v) for v in c.value])[codes]
    return ~hit & ~missing if c.comparator in ("NE", "NOTIN") else hit


def evaluate(df: pd.DataFrame, w: Where | None) -> np.ndarray:
    """Boolean mask of the rows the clause selects (all rows when there is none). A missing value is
    never equal, in, or not equal to a value: NE/NOTIN keep only non-missing rows (ARS semantics)."""
    if w is None:
        return np.ones(len(df), dtype=bool)
    if w.condition is not None:
        return _condition(df, w.condition)
    parts = [evaluate(df, c) for c in w.clauses]
    if w.op == "NOT":
        return ~parts[0]
    return np.logical_and.reduce(parts) if w.op == "AND" else np.logical_or.reduce(parts)


def variables(w: Where | None) -> set[str]:
    """Every variable a clause reads."""
    if w is None:
        return set()
    if w.condition is not None:
        return {w.condition.variable}
    return set().union(*(variables(c) for c in w.clauses))


def describe(w: Where | None) -> str:
    """Readable text of a clause, for method text and the report."""
    if w is None:
        return "all records"
    if w.condition is not None:
        c = w.condition
        vals = ", ".join(f'"{v}"' if isinstance(v, str) else f"{v:g}" for v in c.value)
        word = {"EQ": "=", "NE": "≠", "IN": "in", "NOTIN": "not in", "GT": ">", "GE": "≥", "LT": "<", "LE": "≤",
                "MISSING": "is missing", "NOTMISSING": "is not missing"}[c.comparator]
        return f"{c.variable} {word} ({vals})" if c.comparator in ("IN", "NOTIN") else f"{c.variable} {word} {vals}".rstrip()
    if w.op == "NOT":
        return f"not ({describe(w.clauses[0])})"
    return f" {w.op.lower()} ".join(f"({describe(c)})" for c in w.clauses)
