"""The shared date module (studyforge.dates) applied once per distinct value: raw date columns
repeat a lot, so the parsing cost is O(distinct dates) rather than O(records)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from studyforge import dates as _shared

from ._fast import text_series, umap


def _text(s: pd.Series) -> pd.Series:
    return text_series(s)


def edc_date_to_iso(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """EDC text ('24 MAY 2021', 'UN MAY 2021', 'UNK UNK 2021', '') -> (ISO text, error mask)."""
    codes, uniques = pd.factorize(_text(text).to_numpy(dtype=object))
    if len(uniques) == 0:
        return pd.Series([], index=text.index, dtype=str), pd.Series([], index=text.index, dtype=bool)
    iso, err = _shared.edc_date_to_iso(pd.Series(uniques, dtype=object))
    iso_arr = iso.astype(str).to_numpy(dtype=object)
    err_arr = err.to_numpy(dtype=bool)
    return (pd.Series(iso_arr[codes], index=text.index, dtype=str),
            pd.Series(err_arr[codes], index=text.index, dtype=bool))


def is_valid_iso8601(values: pd.Series) -> pd.Series:
    return umap(_text(values), lambda u: _shared.is_valid_iso8601(u).astype(bool)).astype(bool)


def sas_days(values: pd.Series) -> np.ndarray:
    """Days since 1960-01-01 of complete dates (NaN for partial/invalid/empty)."""
    return umap(_text(values), lambda u: _shared.iso_to_sas_date(u).astype(float)).to_numpy(dtype=float)


def complete_date(values: pd.Series) -> pd.Series:
    """datetime64 of complete dates; NaT otherwise."""
    d = sas_days(values)
    return pd.Series(pd.to_datetime(d, unit="D", origin=pd.Timestamp("1960-01-01")), index=values.index)


def study_day(dtc: pd.Series, ref_dtc: pd.Series) -> pd.Series:
    """SDTM --DY from studyforge.dates.study_day, evaluated once per distinct (dtc, ref) pair."""
    c1, u1 = pd.factorize(_text(dtc).to_numpy(dtype=object))
    c2, u2 = pd.factorize(_text(ref_dtc).to_numpy(dtype=object))
    if len(c1) == 0:
        return pd.Series([], index=dtc.index, dtype="Int64")
    pair, inverse = np.unique(c1.astype(np.int64) * max(len(u2), 1) + c2, return_inverse=True)
    a = pd.Series(u1[pair // max(len(u2), 1)], dtype=object)
    b = pd.Series(u2[pair % max(len(u2), 1)], dtype=object)
    dy = _shared.study_day(a, b).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return pd.Series(dy[inverse.ravel()], index=dtc.index).astype("Int64")
