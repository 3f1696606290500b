"""Reading a folder of SDTM datasets (XPT v5 and Dataset-JSON) into frames, whoever made them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Character columns as str with '' for missing, numerics as float64 (the ADaM stage's input contract)."""
    out = {}
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            out[str(c).upper()] = s.astype(float)
        else:
            out[str(c).upper()] = s.astype("str").where(s.notna(), "").str.rstrip()
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)))


def _read_xpt(path: Path) -> pd.DataFrame:
    try:
        from studyforge.xpt import read_xpt  # type: ignore[attr-defined]
    except ImportError:
        read_xpt = None
    if read_xpt is not None:
        return read_xpt(path)[0]
    import pyreadstat

    df, _ = pyreadstat.read_xport(str(path))
    return df


def _read_json(path: Path) -> pd.DataFrame | None:
    try:
        from studyforge.datasetjson import read_dataset_json  # type: ignore[attr-defined]
    except ImportError:
        return None
    return read_dataset_json(path)[0]


def read_sdtm_folder(path: Path | str) -> dict[str, pd.DataFrame]:
    """Every *.xpt (and *.json when the Dataset-JSON reader exists) as NAME -> frame; XPT wins a tie.

    Files are read in sorted order so the result does not depend on directory listing order.
    """
    folder = Path(path)
    out: dict[str, pd.DataFrame] = {}
    for f in sorted(folder.glob("*.json")):
        df = _read_json(f)
        if df is not None:
            out[f.stem.upper()] = _normalise(df)
    for f in sorted(list(folder.glob("*.xpt")) + list(folder.glob("*.XPT"))):
        out[f.stem.upper()] = _normalise(_read_xpt(f))
    return out

