"""Shared scaffolding of the ADLB/ADQS/ADSYM golden tests: the PALACE spec with patched parameters,
a hand-built ADSL, and SDTM rows written by study day."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd

from studyforge.spec.models import Dataset
from tests.adam.conftest import load_dataset, sas

S = sas("2021-01-10")        # TRTSDT of every test subject
E = sas("2021-06-01")        # TRTEDT


def iso(day: int) -> str:
    """ISO date of study day `day` (day 1 = S, no day 0)."""
    offset = day - 1 if day > 0 else day
    return (pd.Timestamp("2021-01-10") + pd.Timedelta(days=offset)).strftime("%Y-%m-%d")


def spec_with(name: str, **params: Any) -> Dataset:
    """The PALACE dataset spec with some dataset-level derivation params replaced."""
    ds = load_dataset(name)
    merged = copy.deepcopy(ds.derivation.params)
    merged.update(params)
    return ds.model_copy(update={"derivation": ds.derivation.model_copy(update={"params": merged})})


def adsl(*usubjids: str, trtsdt: float = S, trtedt: float = E) -> pd.DataFrame:
    return pd.DataFrame([{"STUDYID": "PALACE", "USUBJID": u, "SUBJID": u[-3:], "SITEID": "101", "SAFFL": "Y",
                          "FASFL": "Y", "TRTSDT": trtsdt, "TRTEDT": trtedt} for u in usubjids])


def rows_by(df: pd.DataFrame, **where: Any) -> pd.DataFrame:
    mask = np.ones(len(df), dtype=bool)
    for k, v in where.items():
        mask &= (df[k] == v).to_numpy()
    return df.loc[mask]


def one(df: pd.DataFrame, **where: Any) -> pd.Series:
    hit = rows_by(df, **where)
    assert len(hit) == 1, (where, len(hit))
    return hit.iloc[0]
