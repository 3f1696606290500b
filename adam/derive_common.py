"""Small generic helpers the ADSL and ADTTE derivations share (column access, filters, shaping).

adam/bds.py builds on these (text, number); keep column access in one place.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from studyforge.findings import Finding, Severity


class SpecParams(BaseModel):
    """Base of every ADaM rule's parameter model: a key the model does not know is a spec error."""

    model_config = ConfigDict(extra="forbid")


def input_frame(sdtm: Mapping[str, pd.DataFrame], name: str, need: Iterable[str], *, rule: str, target: str,
                absent: Severity = Severity.ERROR) -> tuple[pd.DataFrame | None, list[Finding]]:
    """The SDTM dataset a derivation reads, or None with the findings why (dataset or variables missing)."""
    df = sdtm.get(name)
    if df is None:
        return None, [Finding(absent, rule, f"input dataset {name} is missing; {target} not derived", dataset=name)]
    miss = missing_columns(df, need, name, rule)
    return (None if miss else df), miss


def text_col(df: pd.DataFrame, name: str) -> pd.Series:
    """A character column as str with '' for missing (an absent column reads as all '')."""
    if name not in df.columns:
        return pd.Series("", index=df.index, dtype="str")
    s = df[name]
    if pd.api.types.is_numeric_dtype(s):  # e.g. --SEQ read from XPT as float: 3.0 -> "3" (IDVARVAL form)
        num = s.astype(float).to_numpy()
        ok = np.isfinite(num)
        integral = ok & (np.mod(np.where(ok, num, 0), 1) == 0)
        as_int = np.where(integral, num, 0).astype(np.int64).astype(str)
        txt = np.where(integral, as_int, num.astype(str))
        return pd.Series(np.where(ok, txt, ""), index=df.index, dtype="str")
    if isinstance(s.dtype, pd.StringDtype):  # already text (XPT readers strip trailing blanks): no copy work
        return s.fillna("") if s.hasnans else s
    return s.astype("str").fillna("").str.rstrip()


def num_col(df: pd.DataFrame, name: str) -> pd.Series:
    """A numeric column as float64 (text is converted; blanks and non-numbers become NaN)."""
    if name not in df.columns:
        return pd.Series(np.nan, index=df.index, dtype=float)
    return pd.to_numeric(df[name], errors="coerce").astype(float)


def where_mask(df: pd.DataFrame, where: Mapping[str, Iterable[str]] | None) -> pd.Series:
    """Rows where every named variable takes one of the listed values (an empty filter keeps all)."""
    mask = pd.Series(True, index=df.index)
    for var, values in (where or {}).items():
        mask &= text_col(df, var).isin([str(v) for v in values])
    return mask


def member(values, universe) -> np.ndarray | pd.Series:
    """`values.isin(universe)` through one hash lookup per value.

    pandas' isin on Arrow-backed text converts every element of `universe` to an Arrow scalar in Python,
    which costs seconds when the universe is every subject; an object Index lookup does not. A Series
    in gives a Series (same index) out, anything else a boolean array.
    """
    look = pd.Index(pd.unique(np.asarray(universe, dtype=object)), dtype=object)
    hit = look.get_indexer(np.asarray(values, dtype=object)) >= 0
    return pd.Series(hit, index=values.index) if isinstance(values, pd.Series) else hit


def missing_columns(df: pd.DataFrame, cols: Iterable[str], dataset: str, rule: str) -> list[Finding]:
    """ERROR findings for input columns a derivation needs but the SDTM dataset lacks."""
    return [
        Finding(Severity.ERROR, rule, f"input dataset {dataset} has no variable {c}", dataset=dataset, variable=c)
        for c in cols if c not in df.columns
    ]


def subject_frame(usubjid: pd.Series) -> pd.DataFrame:
    """An empty per-subject frame indexed by USUBJID, the skeleton that merges attach to."""
    return pd.DataFrame(index=pd.Index(usubjid.to_numpy(), name="USUBJID"))


def last_by(df: pd.DataFrame, key: str, order: list[str]) -> pd.DataFrame:
    """The last row per key after sorting by `order` (stable, so input order breaks remaining ties)."""
    return df.sort_values([key, *order], kind="mergesort").drop_duplicates(key, keep="last")
