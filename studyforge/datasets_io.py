"""Reading datasets from disk, whoever wrote them: XPT v5, Dataset-JSON 1.1 or CSV, one file or a folder.

Frames come back in one shape (`normalize`): character columns as str with "" for missing (SAS has
no null text), numerics as float64 with NaN, names upper-case.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from studyforge.datasetjson import read_dataset_json
from studyforge.xpt import read_xpt

SUFFIXES = (".xpt", ".json", ".csv")


def normalize(df: pd.DataFrame) -> pd.DataFrame:
    """Character missing values become "" (trailing blanks stripped); numerics float64; names upper-case."""
    out = {}
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            out[str(c).upper()] = s.astype(float)
        else:
            out[str(c).upper()] = s.astype("str").where(s.notna(), "").str.rstrip()
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)))


def read_dataset(path: Path | str) -> tuple[pd.DataFrame, Any]:
    """One dataset file as (frame, metadata); the metadata object depends on the format (None for CSV)."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext == ".xpt":
        return read_xpt(path)
    if ext == ".json":
        return read_dataset_json(path)
    if ext == ".csv":
        return pd.read_csv(path, keep_default_na=False, na_values=[""], encoding="utf-8-sig"), None
    raise ValueError(f"{path}: unsupported file type {ext!r} (expected .xpt, .json or .csv)")


def read_dataset_folder(folder: Path | str) -> dict[str, pd.DataFrame]:
    """Every *.xpt and *.json of a folder as NAME -> normalized frame; XPT wins when both exist.

    Files are read in sorted order so the result does not depend on directory listing order.
    """
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".xpt", ".json")
                   and p.name.lower() != "manifest.json")
    chosen: dict[str, Path] = {}
    for f in files:
        name = f.stem.upper()
        if name not in chosen or f.suffix.lower() == ".xpt":
            chosen[name] = f
    return {name: normalize(read_dataset(f)[0]) for name, f in sorted(chosen.items())}
