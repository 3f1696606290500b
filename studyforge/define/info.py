"""What was actually written for each dataset: the facts define.xml must agree with.

Built from the DataFrame that went into the XPT (plus its labels/formats), or read back from an XPT
file with pyreadstat (an independent reader, so the check does not trust our own writer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class VariableInfo:
    name: str
    type: str          # "Char" | "Num"
    length: int        # bytes in the XPT (text: the data's maximum, at least 1)
    label: str = ""
    format: str | None = None


@dataclass
class DatasetInfo:
    """One written dataset: file name, variables in file order, and the frame (for value checks)."""

    name: str
    file_name: str
    label: str
    variables: list[VariableInfo]
    records: int
    frame: pd.DataFrame | None = field(default=None, repr=False)

    def variable(self, name: str) -> VariableInfo | None:
        return next((v for v in self.variables if v.name == name), None)

    def names(self) -> list[str]:
        return [v.name for v in self.variables]

    def distinct(self, variable: str, mask: np.ndarray | None = None) -> list[str]:
        """Sorted distinct non-missing values of a variable (as text), optionally within a row mask."""
        if self.frame is None or variable not in self.frame.columns:
            return []
        s = self.frame[variable]
        if mask is not None:
            s = s[mask]
        s = s.dropna()
        if s.dtype.kind == "f":  # codes such as 1.0 are compared as "1"
            vals = s.to_numpy()
            whole = vals == np.round(vals)
            txt = pd.Series(np.where(whole, vals.astype("int64").astype(str), vals.astype(str)))
        else:
            txt = s.astype(str)
        txt = txt[txt != ""]
        return sorted(pd.unique(txt.to_numpy()).tolist())


def _text_length(s: pd.Series) -> int:
    vals = s.dropna().astype(str)
    if vals.empty:
        return 1
    return max(1, int(vals.str.encode("utf-8").str.len().max()))


def dataset_info(
    df: pd.DataFrame,
    name: str,
    *,
    label: str = "",
    labels: Mapping[str, str] | None = None,
    formats: Mapping[str, str | None] | None = None,
    lengths: Mapping[str, int] | None = None,
    file_name: str | None = None,
) -> DatasetInfo:
    """DatasetInfo for a frame as written: Char lengths from the data unless the writer's `lengths` are given."""
    labels = labels or {}
    formats = formats or {}
    lengths = lengths or {}
    out = []
    for col in df.columns:
        s = df[col]
        is_num = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        length = int(lengths[col]) if col in lengths else (8 if is_num else _text_length(s))
        out.append(VariableInfo(col, "Num" if is_num else "Char", length, labels.get(col, ""), formats.get(col) or None))
    return DatasetInfo(name.upper(), file_name or f"{name.lower()}.xpt", label, out, len(df), df)


def dataset_info_from_xpt(path: Path | str) -> DatasetInfo:
    """Read an XPT v5 file with pyreadstat and describe it (names, order, types, lengths, labels, formats)."""
    import pyreadstat

    path = Path(path)
    df, meta = pyreadstat.read_xport(str(path))
    types = meta.readstat_variable_types
    widths = meta.variable_storage_width
    labels = meta.column_names_to_labels
    formats = meta.original_variable_types or {}
    out = [VariableInfo(c, "Char" if types.get(c) == "string" else "Num", int(widths.get(c) or 8),
                        labels.get(c) or "", _clean_format(formats.get(c))) for c in df.columns]
    name = (meta.table_name or path.stem).upper()
    return DatasetInfo(name, path.name, meta.file_label or "", out, len(df), df)


def _clean_format(fmt: str | None) -> str | None:
    if not fmt or fmt in ("$", "NULL"):
        return None
    f = fmt.upper()
    return f if "." in f else f + "."


def package_infos(package_dir: Path | str) -> dict[str, DatasetInfo]:
    """DatasetInfo for every .xpt file in a folder, keyed by upper-case dataset name."""
    infos = [dataset_info_from_xpt(p) for p in sorted(Path(package_dir).glob("*.xpt"))]
    return {i.name: i for i in infos}


def dataset_info_from_meta(df: pd.DataFrame, meta: object, file_name: str | None = None) -> DatasetInfo:
    """DatasetInfo from the metadata `studyforge.xpt.write_xpt_info` returns (what the XPT headers say)."""
    variables = [VariableInfo(v.name, v.type, int(v.length), v.label or "", v.format or None)
                 for v in meta.variables]  # type: ignore[attr-defined]
    name = meta.name.upper()  # type: ignore[attr-defined]
    return DatasetInfo(name, file_name or f"{name.lower()}.xpt", meta.label or "", variables,  # type: ignore[attr-defined]
                       int(meta.records), df)  # type: ignore[attr-defined]
