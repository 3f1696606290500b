"""CDISC Dataset-JSON 1.1: writer and reader (the FDA-piloted successor of XPT v5 transport).

Rules followed (Dataset-JSON 1.1 specification, "Supported Column Data Type Combinations"):
- attributes are written in the order the specification lists them (streaming readers rely on it);
- missing values are JSON null, empty text stays "";
- SAS numeric dates/datetimes/times (ADaM *DT, *DTM, *TM) are exchanged as ISO 8601 strings with
  dataType date/datetime/time and targetDataType "integer"; the reader turns them back into SAS
  numbers (days or seconds since 1960-01-01), so a round trip through JSON gives the XPT values;
- every numeric column reads back as float64 (SAS semantics, the same as an XPT read); text as `str`;
  decimal columns (exchanged as text) read back as float64 too, and must be written from text.
Output bytes are deterministic: timestamps come from the caller (the spec), never from the clock.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from studyforge import __version__
from studyforge.fileio import write_bytes_atomic
from studyforge.xpt import factorize_text, text_layout

DATASET_JSON_VERSION = "1.1.0"
DATA_TYPES = ("string", "integer", "decimal", "float", "double", "boolean", "datetime", "date", "time", "URI")
TARGET_DATA_TYPES = ("integer", "decimal")
SAS_EPOCH = np.datetime64("1960-01-01T00:00:00", "s")
# ISO 8601 without expanded representation covers years 0001-9999 only.
MIN_SAS_DAY = int((np.datetime64("0001-01-01") - np.datetime64("1960-01-01")).astype(int))
MAX_SAS_DAY = int((np.datetime64("9999-12-31") - np.datetime64("1960-01-01")).astype(int))

# SAS format families whose numeric values are dates, datetimes or times.
_DATE_FORMATS = ("DATE", "E8601DA", "YYMMDD", "MMDDYY", "DDMMYY", "IS8601DA", "B8601DA", "WORDDATE", "MONYY")
_DATETIME_FORMATS = ("DATETIME", "E8601DT", "IS8601DT", "B8601DT", "DATEAMPM")
_TIME_FORMATS = ("TIME", "E8601TM", "IS8601TM", "B8601TM", "HHMM", "TOD")

# Define-XML DataType -> Dataset-JSON dataType for text (ISO 8601) variables.
_DEFINE_TO_JSON = {
    "text": "string", "integer": "integer", "float": "float",
    "date": "date", "datetime": "datetime", "time": "time",
    "partialDate": "date", "partialTime": "time", "partialDatetime": "datetime",
    "incompleteDatetime": "datetime", "durationDatetime": "string", "intervalDatetime": "string",
}


class DatasetJSONError(ValueError):
    """A frame or file that cannot be written or read as Dataset-JSON; the message names column and row."""


@dataclass(frozen=True)
class ColumnMeta:
    """One entry of `columns`: what a reader needs to rebuild the variable."""

    name: str
    label: str
    data_type: str
    length: int | None = None
    display_format: str | None = None
    key_sequence: int | None = None
    target_data_type: str | None = None
    item_oid: str | None = None

    def __post_init__(self) -> None:
        if self.data_type not in DATA_TYPES:
            raise DatasetJSONError(f"column {self.name}: dataType {self.data_type!r} not one of {', '.join(DATA_TYPES)}")
        if self.target_data_type is not None and self.target_data_type not in TARGET_DATA_TYPES:
            raise DatasetJSONError(f"column {self.name}: targetDataType {self.target_data_type!r} not integer/decimal")


def sas_format_kind(fmt: str | None) -> str | None:
    """'date', 'datetime' or 'time' when a SAS display format shows a numeric as such, else None."""
    if not fmt:
        return None
    head = fmt.upper().rstrip(".0123456789")
    for kind, fams in (("datetime", _DATETIME_FORMATS), ("date", _DATE_FORMATS), ("time", _TIME_FORMATS)):
        if head in fams:
            return kind
    return None


def columns_from_spec(dataset: Any, df: pd.DataFrame) -> list[ColumnMeta]:
    """Column metadata for `df` from a spec Dataset (studyforge.spec.models.Dataset), in the frame's order.

    Text lengths are the data's maximum byte length (FDA TCG: no padding), at least 1.
    """
    by_name = {v.name: v for v in dataset.variables}
    keys = {k: i + 1 for i, k in enumerate(dataset.keys)}
    out: list[ColumnMeta] = []
    for col in df.columns:
        v = by_name.get(col)
        if v is None:
            raise DatasetJSONError(f"{dataset.name}: column {col} is not in the spec")
        ddt = v.define_data_type
        if v.type == "Num":
            kind = ddt if ddt in ("date", "datetime", "time") else sas_format_kind(v.format)
            if kind:
                out.append(ColumnMeta(col, v.label, kind, None, v.format, keys.get(col), "integer",
                                      f"IT.{dataset.name}.{col}"))
            else:
                out.append(ColumnMeta(col, v.label, "integer" if ddt == "integer" else "float", None,
                                      v.format, keys.get(col), None, f"IT.{dataset.name}.{col}"))
        else:
            out.append(ColumnMeta(col, v.label, _DEFINE_TO_JSON.get(ddt, "string"), text_length(df[col]),
                                  v.format, keys.get(col), None, f"IT.{dataset.name}.{col}"))
    return out


def text_length(s: pd.Series) -> int:
    """Maximum UTF-8 byte length of a text column (at least 1: XPT cannot store length 0)."""
    vals = s.dropna().astype(str)
    if vals.empty:
        return 1
    return max(1, int(vals.str.encode("utf-8").str.len().max()))


def _iso(ts: dt.datetime | str | None, what: str) -> str:
    if ts is None:
        sde = os.environ.get("SOURCE_DATE_EPOCH")
        if sde is None:
            raise DatasetJSONError(f"{what} is required (or SOURCE_DATE_EPOCH): output must not depend on the clock")
        ts = dt.datetime.fromtimestamp(int(sde), tz=dt.timezone.utc).replace(tzinfo=None)
    if isinstance(ts, str):
        ts = dt.datetime.fromisoformat(ts)
    if ts.tzinfo is not None:
        return ts.isoformat(timespec="seconds").replace("+00:00", "Z")
    return ts.isoformat(timespec="seconds")


def _as_meta(c: ColumnMeta | Mapping[str, Any]) -> ColumnMeta:
    if isinstance(c, ColumnMeta):
        return c
    return ColumnMeta(**dict(c))


def _bad_rows(name: str, mask: np.ndarray, values: np.ndarray, why: str) -> DatasetJSONError:
    idx = np.flatnonzero(mask)
    first = np.asarray(values)[idx[:5]].tolist()          # native Python values for the message
    shown = ", ".join(f"row {i + 1} value={v!r}" for i, v in zip(idx[:5], first))
    more = f" and {len(idx) - 5} more" if len(idx) > 5 else ""
    return DatasetJSONError(f"column {name}: {why}: {shown}{more}")


def _by_value(values: np.ndarray, encode: Any, missing: np.ndarray | None = None) -> list[str]:
    """JSON text of each value, encoding each distinct value once (-1 codes and `missing` -> null)."""
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    return _gather([encode(u) for u in np.asarray(uniq, dtype=object).tolist()], codes, missing)


def _gather(texts: list[str], codes: np.ndarray, missing: np.ndarray | None) -> list[str]:
    table = np.array(texts + ["null"], dtype=object)    # code -1 takes the last entry
    out = table[codes]
    if missing is not None and missing.any():
        out[missing] = "null"
    return out.tolist()


_dump_value = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def _cells_json(s: pd.Series, meta: ColumnMeta) -> list[str]:
    """One column as the JSON text of each cell (null for missing), every check vectorized and every
    distinct value encoded once; the text is what json.dumps gives for the cell's Python value."""
    missing = s.isna().to_numpy()
    if meta.target_data_type == "integer" and meta.data_type in ("date", "datetime", "time"):
        num = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64")
        bad = ~missing & (~np.isfinite(num) | (num != np.round(num)))
        if bad.any():
            raise _bad_rows(meta.name, bad, s.to_numpy(object), f"{meta.data_type} must be a whole SAS number")
        whole = np.where(missing, 0, num).astype("int64")
        days = whole if meta.data_type == "date" else whole // 86400
        if meta.data_type != "time" and ((days < MIN_SAS_DAY) | (days > MAX_SAS_DAY))[~missing].any():
            raise _bad_rows(meta.name, ~missing & ((days < MIN_SAS_DAY) | (days > MAX_SAS_DAY)), num,
                            "outside years 0001-9999 (ISO 8601)")
        if meta.data_type == "time" and ((whole < 0) | (whole >= 86400))[~missing].any():
            raise _bad_rows(meta.name, ~missing & ((whole < 0) | (whole >= 86400)), num, "time outside 0-86399 s")
        codes, uniq = pd.factorize(whole)               # ISO text made once per distinct SAS number
        uniq = np.asarray(uniq, dtype="int64")
        if meta.data_type == "date":
            text = np.datetime_as_string(SAS_EPOCH + uniq.astype("timedelta64[D]").astype("timedelta64[s]"), unit="D")
        elif meta.data_type == "datetime":
            text = np.datetime_as_string(SAS_EPOCH + uniq.astype("timedelta64[s]"), unit="s")
        else:
            text = _hms(uniq)
        return _gather([f'"{t}"' for t in text.tolist()], codes, missing)
    if meta.data_type in ("integer", "float", "double"):
        num = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64")
        nonnum = ~missing & np.isnan(num)
        if nonnum.any():
            raise _bad_rows(meta.name, nonnum, s.to_numpy(object), "not a number")
        if (~missing & ~np.isfinite(num)).any():
            raise _bad_rows(meta.name, ~missing & ~np.isfinite(num), num, "infinite value")
        if meta.data_type == "integer":
            frac = ~missing & (num != np.round(num))
            if frac.any():
                raise _bad_rows(meta.name, frac, num, "integer column holds a fraction")
            return _by_value(np.where(missing, 0, num).astype("int64"), str, missing)
        # floats by their bits, so that 0.0 and -0.0 stay apart as json.dumps writes them
        bits = np.ascontiguousarray(np.where(missing, 0.0, num)).view(np.uint64)
        codes, uniq = pd.factorize(bits)
        return _gather([repr(x) for x in np.asarray(uniq, dtype=np.uint64).view(np.float64).tolist()], codes, missing)
    if meta.data_type == "boolean":
        return _by_value(s.astype(object).to_numpy(dtype=object), _dump_value, missing)
    if meta.data_type == "decimal" and pd.api.types.is_numeric_dtype(s):
        # 1.1 exchanges decimals as text to keep every digit; a binary float has already lost them
        raise DatasetJSONError(f"column {meta.name}: decimal columns must be given as text (e.g. '30.8983'), "
                               "not as binary floats")
    if pd.api.types.is_numeric_dtype(s) and not missing.all():
        raise _bad_rows(meta.name, ~missing, s.to_numpy(), f"{meta.data_type} column holds numbers")
    if text_layout(s.dtype) is not None:
        codes, uniq = factorize_text(s)                 # Arrow strings: no Python string per row
    else:
        codes, uniq = pd.factorize(s.astype(object).to_numpy(dtype=object), use_na_sentinel=True)
        uniq = np.asarray(uniq, dtype=object)
        if pd.api.types.infer_dtype(uniq, skipna=True) not in ("string", "empty"):
            nonstr = ~missing & ~s.map(lambda x: isinstance(x, str)).to_numpy(dtype=bool)  # error path only
            raise _bad_rows(meta.name, nonstr, s.to_numpy(object), "text column holds a non-text value")
    return _gather([_dump_value(u) for u in uniq.tolist()], codes, missing)


def _hms(seconds: np.ndarray) -> np.ndarray:
    h = (seconds // 3600).astype(str)
    m = (seconds // 60 % 60).astype(str)
    sec = (seconds % 60).astype(str)
    return np.char.add(np.char.add(np.char.add(np.char.add(np.char.zfill(h, 2), ":"), np.char.zfill(m, 2)), ":"),
                       np.char.zfill(sec, 2))


def dataset_json_bytes(
    df: pd.DataFrame,
    *,
    name: str,
    label: str,
    columns_meta: Sequence[ColumnMeta | Mapping[str, Any]],
    study_oid: str,
    metadata_version_oid: str,
    metadata_ref: str | None = "define.xml",
    created: dt.datetime | str | None = None,
    db_last_modified: dt.datetime | str | None = None,
    originator: str = "studyforge",
    file_oid: str | None = None,
    item_group_oid: str | None = None,
) -> bytes:
    """The Dataset-JSON 1.1 document for `df` as UTF-8 bytes (one row per line, attributes in spec order)."""
    metas = [_as_meta(c) for c in columns_meta]
    names = [m.name for m in metas]
    if names != list(df.columns):
        raise DatasetJSONError(f"{name}: columns_meta {names} do not match the frame's columns {list(df.columns)}")
    created_s = _iso(created, "created")
    modified_s = _iso(db_last_modified, "db_last_modified") if db_last_modified is not None else created_s
    if modified_s > created_s:
        raise DatasetJSONError(f"{name}: dbLastModifiedDateTime {modified_s} is after datasetJSONCreationDateTime {created_s}")
    header: dict[str, Any] = {
        "datasetJSONCreationDateTime": created_s,
        "datasetJSONVersion": DATASET_JSON_VERSION,
        "fileOID": file_oid or f"{study_oid}/{metadata_version_oid}/{name}",
        "dbLastModifiedDateTime": modified_s,
        "originator": originator,
        "sourceSystem": {"name": "studyforge", "version": __version__},
        "studyOID": study_oid,
        "metaDataVersionOID": metadata_version_oid,
    }
    if metadata_ref:
        header["metaDataRef"] = metadata_ref
    header["itemGroupOID"] = item_group_oid or f"IG.{name}"
    header["records"] = int(len(df))
    header["name"] = name
    header["label"] = label
    header["columns"] = [_column_json(m, name) for m in metas]
    cols = [_cells_json(df.iloc[:, i], m) for i, m in enumerate(metas)]
    head = json.dumps(header, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # rows as json.dumps writes a list (compact separators), one per line
    cells = map(",".join, zip(*cols)) if cols else ("" for _ in range(len(df)))
    body = "[" + "],\n[".join(cells) + "]\n" if len(df) else ""
    text = head[:-1] + ',"rows":[\n' + body + "]}\n"
    return text.encode("utf-8")


def _column_json(m: ColumnMeta, dataset: str) -> dict[str, Any]:
    d: dict[str, Any] = {"itemOID": m.item_oid or f"IT.{dataset}.{m.name}", "name": m.name, "label": m.label,
                         "dataType": m.data_type}
    if m.target_data_type:
        d["targetDataType"] = m.target_data_type
    if m.length is not None:
        d["length"] = int(m.length)
    if m.display_format:
        d["displayFormat"] = m.display_format
    if m.key_sequence is not None:
        d["keySequence"] = int(m.key_sequence)
    return d


def write_dataset_json(
    df: pd.DataFrame,
    path: Path | str,
    *,
    name: str,
    label: str,
    columns_meta: Sequence[ColumnMeta | Mapping[str, Any]],
    study_oid: str,
    metadata_version_oid: str,
    metadata_ref: str | None = "define.xml",
    created: dt.datetime | str | None = None,
    originator: str = "studyforge",
    db_last_modified: dt.datetime | str | None = None,
) -> None:
    """Write `df` as a Dataset-JSON 1.1 file, atomically (a failed write leaves no partial file)."""
    data = dataset_json_bytes(df, name=name, label=label, columns_meta=columns_meta, study_oid=study_oid,
                              metadata_version_oid=metadata_version_oid, metadata_ref=metadata_ref,
                              created=created, db_last_modified=db_last_modified, originator=originator)
    write_bytes_atomic(path, data)


def read_dataset_json(path: Path | str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a Dataset-JSON 1.1 file: (frame, metadata without rows). Numerics are float64, text `str`."""
    path = Path(path)
    try:
        doc = json.loads(path.read_bytes())
    except json.JSONDecodeError as exc:
        raise DatasetJSONError(f"{path}: not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    if not isinstance(doc, dict) or "columns" not in doc:
        raise DatasetJSONError(f"{path}: not a Dataset-JSON document (no 'columns')")
    meta = {k: v for k, v in doc.items() if k != "rows"}
    columns = doc["columns"]
    rows = doc.get("rows") or []
    names = [c["name"] for c in columns]
    width = len(names)
    bad = [i for i, r in enumerate(rows) if len(r) != width]
    if bad:
        raise DatasetJSONError(f"{path}: row {bad[0] + 1} has {len(rows[bad[0]])} values, expected {width}")
    if "records" in doc and doc["records"] != len(rows) and rows:
        raise DatasetJSONError(f"{path}: records={doc['records']} but {len(rows)} rows")
    raw = np.array(rows, dtype=object).reshape(len(rows), width)
    data = {c["name"]: _read_column(raw[:, i], c, path) for i, c in enumerate(columns)}
    return pd.DataFrame(data, columns=names, index=pd.RangeIndex(len(rows))), meta


def _read_column(vals: np.ndarray, col: Mapping[str, Any], path: Path) -> pd.Series:
    dtype, target = col.get("dataType"), col.get("targetDataType")
    missing = pd.isna(vals).astype(bool)
    if target == "integer" and dtype in ("date", "datetime", "time"):
        s = pd.Series(vals, dtype=object)
        if dtype == "time":
            ok = s.where(~missing, "00:00:00").astype(str).str.fullmatch(r"\d\d:\d\d:\d\d(\.\d+)?").to_numpy(bool)
            if (~ok).any():
                raise _bad_rows(col["name"], ~ok, vals, f"{path}: not an ISO 8601 time hh:mm:ss")
            parts = s.where(~missing, "00:00:00").astype(str).str.split(":", expand=True)
            secs = (parts.astype("float64") * [3600, 60, 1]).sum(axis=1).to_numpy() if len(s) else np.zeros(0)
        else:
            # complete values only: a partial date cannot become a SAS number without an imputation rule
            pattern = r"\d{4}-\d\d-\d\d" if dtype == "date" else r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?"
            shaped = s.where(~missing, "").astype(str).str.fullmatch(pattern).to_numpy(bool)
            ts = pd.to_datetime(s.where(~missing & shaped, None), errors="coerce", format="ISO8601")
            badv = ~missing & (ts.isna().to_numpy() | ~shaped)
            if badv.any():
                raise _bad_rows(col["name"], badv, vals, f"not an ISO 8601 {dtype}")
            delta = (ts - pd.Timestamp("1960-01-01")).dt.total_seconds().to_numpy()
            secs = delta / 86400.0 if dtype == "date" else delta
        out = np.where(missing, np.nan, secs).astype("float64")
        return pd.Series(out, name=col["name"])
    if dtype in ("integer", "float", "double", "decimal"):
        num = pd.to_numeric(pd.Series(vals, dtype=object), errors="coerce").to_numpy(dtype="float64")
        badv = ~missing & np.isnan(num)
        if badv.any():
            raise _bad_rows(col["name"], badv, vals, f"{path}: not a number")
        return pd.Series(num, name=col["name"])
    if dtype == "boolean":
        return pd.Series(vals, name=col["name"], dtype="boolean")
    return pd.Series(vals, name=col["name"], dtype="str")



def iter_columns(meta: Mapping[str, Any]) -> Iterable[ColumnMeta]:
    """The `columns` of read metadata as ColumnMeta (for re-writing a file read from elsewhere)."""
    for c in meta.get("columns", []):
        yield ColumnMeta(c["name"], c.get("label", ""), c["dataType"], c.get("length"), c.get("displayFormat"),
                         c.get("keySequence"), c.get("targetDataType"), c.get("itemOID"))


def write_spec_dataset_json(df: pd.DataFrame, path: Path | str, spec: Any, dataset: str, *,
                            metadata_ref: str | None = "define.xml") -> None:
    """Write a spec dataset as Dataset-JSON with the OIDs its define.xml uses (study, MDV, IG, IT)."""
    from studyforge.define.model import metadata_version_oid, study_oid

    ds = spec.datasets[dataset]
    write_dataset_json(df, path, name=ds.name, label=ds.label, columns_meta=columns_from_spec(ds, df),
                       study_oid=study_oid(spec), metadata_version_oid=metadata_version_oid(spec, ds.purpose),
                       metadata_ref=metadata_ref, created=spec.study.xpt_created)
