"""Spec-driven dataset writing: shape a frame to its spec (reporting every mismatch as a Finding),
then write it as XPORT v5 with the spec's names, labels, lengths and formats.

Rules (conservative readings, stated so reviewers can check them):
  * Output columns are exactly the spec variables, in spec order.
  * A spec variable absent from the frame is created empty ("" / NaN); Req -> ERROR finding,
    Exp -> NOTICE, Perm/Cond/unspecified -> no finding (SDTMIG: Perm may be null).
  * A frame column that the spec does not define is an ERROR finding and is not written
    (reported, never silently dropped).
  * Char: str dtype, missing -> "".  Values over the spec length (or over 200 bytes when no
    length is given), and non-ASCII values, are ERROR findings naming row and USUBJID; the value
    is kept so write_xpt refuses it rather than cutting it.  A numeric column in a Char
    variable is an ERROR finding and is converted with str().
  * Num: float64.  bool -> 0/1; nullable integers -> NaN for missing; datetime64 -> SAS days
    (data_type date or a date format) or seconds (datetime) from 1960-01-01; timedelta64 ->
    seconds; text that does not parse as a number is an ERROR finding and becomes missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from studyforge.findings import Finding, Severity
from studyforge.ordering import lex_order, text_ranks
from studyforge.spec.models import Dataset, Study, Variable
from studyforge.strings import python_strings
from studyforge.xpt import MAX_CHAR, XptError, XptVariable, _write_xpt_info, factorize_text, parse_format, text_layout

__all__ = ["shape_to_spec", "write_dataset_xpt", "XptInfo"]

MAX_ROW_FINDINGS = 50   # per variable and rule; one summary finding counts the rest
_EPOCH_NS = np.datetime64("1960-01-01T00:00:00", "ns")


@dataclass(frozen=True)
class XptInfo:
    """What was written: define.xml's ItemDefs and the build report are made from this."""

    name: str
    label: str
    path: Path
    records: int
    variables: tuple[XptVariable, ...]
    findings: tuple[Finding, ...] = field(default_factory=tuple)


def _usubjids(df: pd.DataFrame) -> pd.Series | None:
    """The USUBJID column for naming rows in findings (read only for the few rows reported)."""
    return df["USUBJID"] if "USUBJID" in df.columns else None


def _usubjid_at(subj: pd.Series | None, i: int) -> str:
    if subj is None:
        return ""
    v = subj.iloc[int(i)]
    return "" if pd.isna(v) else str(v)


def _row_findings(rows: np.ndarray, ds: Dataset, var: str, rule: str, message: str,
                  values: pd.Series, subj: pd.Series | None) -> list[Finding]:
    out = []
    for i in rows[:MAX_ROW_FINDINGS]:
        out.append(Finding(Severity.ERROR, rule, message, dataset=ds.name, variable=var,
                           usubjid=_usubjid_at(subj, i), record=str(int(i) + 1),
                           value=str(values.iloc[int(i)])))
    if len(rows) > MAX_ROW_FINDINGS:
        out.append(Finding(Severity.ERROR, rule, f"{message}: {len(rows) - MAX_ROW_FINDINGS} more row(s) "
                           f"not listed ({len(rows)} in all)", dataset=ds.name, variable=var))
    return out


def _date_kind(v: Variable) -> str | None:
    if v.data_type in ("date", "datetime", "time"):
        return v.data_type
    if v.format:
        try:
            kind = parse_format(v.format).kind
        except XptError:
            return None
        return kind if kind in ("date", "datetime", "time") else None
    return None


def _text_factorized(s: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """(codes, uniques) of a text column (str/string dtype of either storage, or object holding
    only str/missing); None for anything else, which takes the general path."""
    if text_layout(s.dtype) is not None:
        return factorize_text(s)
    if s.dtype == object:
        try:
            codes, uniq = pd.factorize(s.to_numpy(), use_na_sentinel=True)
        except TypeError:                      # unhashable values: the general path reports them
            return None
        uniq = np.asarray(uniq, dtype=object)
        if all(isinstance(x, str) for x in uniq):
            return codes, uniq
    return None


def _char_fast(s: pd.Series, v: Variable, ds: Dataset, subj: pd.Series | None,
               codes: np.ndarray, uniq: np.ndarray) -> tuple[pd.Series, list[Finding], tuple[np.ndarray, np.ndarray]]:
    """_as_char on a text column, every check done once per distinct value (same findings)."""
    findings: list[Finding] = []
    if s.dtype == object:
        uniq = np.array([str(x) for x in uniq] + [""], dtype=object)[:-1]   # str subclasses -> str
    miss = codes < 0
    if miss.any() or s.dtype == object or s.dtype.na_value is pd.NA:    # only `str` itself is kept as is
        table = pd.array(np.append(uniq, ""), dtype="str")
        out = pd.Series(table.take(codes), index=s.index, dtype="str")   # -1 takes the appended ""
    else:
        out = s
    joined = "".join(uniq)
    ascii_u = np.ones(len(uniq), dtype=bool) if joined.isascii() else \
        np.fromiter((x.isascii() for x in uniq), dtype=bool, count=len(uniq))
    nbytes_u = np.fromiter(map(len, uniq), dtype=np.int64, count=len(uniq))
    if not ascii_u.all():
        findings.extend(_row_findings(np.flatnonzero(np.isin(codes, np.flatnonzero(~ascii_u))), ds, v.name,
                                      "XPT_NON_ASCII", "non-ASCII characters (XPORT v5 is ASCII only)", out, subj))
        nbytes_u[~ascii_u] = [len(x.encode("utf-8")) for x in uniq[~ascii_u]]
    limit = v.length if v.length is not None else MAX_CHAR
    over_u = nbytes_u > limit
    if over_u.any():
        why = f"spec length {v.length}" if v.length is not None else "the 200-byte XPORT v5 limit"
        findings.extend(_row_findings(np.flatnonzero(np.isin(codes, np.flatnonzero(over_u))), ds, v.name,
                                      "SPEC_LENGTH_EXCEEDED",
                                      f"value longer than {why} (split per SDTMIG, never cut)", out, subj))
    return out, findings, (codes, uniq)


def _as_char(s: pd.Series, v: Variable, ds: Dataset, subj: pd.Series | None) -> tuple[pd.Series, list[Finding]]:
    findings: list[Finding] = []
    if not (pd.api.types.is_string_dtype(s.dtype) or s.dtype == object or isinstance(s.dtype, pd.CategoricalDtype)):
        findings.append(Finding(Severity.ERROR, "SPEC_TYPE_MISMATCH",
                                f"spec type Char but the data are {s.dtype}; converted with str()",
                                dataset=ds.name, variable=v.name))
    obj = s.astype(object)
    miss = obj.isna().to_numpy()
    if not miss.all():
        nonstr = ~miss & ~obj.map(lambda x: isinstance(x, str)).to_numpy(dtype=bool) \
            if s.dtype == object else np.zeros(len(s), dtype=bool)
        if nonstr.any():
            findings.extend(_row_findings(np.flatnonzero(nonstr), ds, v.name, "SPEC_TYPE_MISMATCH",
                                          "non-text value in a Char variable; converted with str()", obj, subj))
    filled = obj.where(~miss, "")
    if findings or s.dtype == object:
        filled = filled.map(str)
    out = pd.Series(filled, index=s.index, dtype="str")
    ascii_ok = out.str.isascii().to_numpy(dtype=bool)
    if not ascii_ok.all():
        findings.extend(_row_findings(np.flatnonzero(~ascii_ok), ds, v.name, "XPT_NON_ASCII",
                                      "non-ASCII characters (XPORT v5 is ASCII only)", out, subj))
    nbytes = np.array(out.str.len().to_numpy(dtype=np.int64))   # writable copy (copy-on-write)
    if not ascii_ok.all():
        nbytes[~ascii_ok] = out[~ascii_ok].str.encode("utf-8").str.len().to_numpy(dtype=np.int64)
    limit = v.length if v.length is not None else MAX_CHAR
    over = nbytes > limit
    if over.any():
        why = f"spec length {v.length}" if v.length is not None else "the 200-byte XPORT v5 limit"
        findings.extend(_row_findings(np.flatnonzero(over), ds, v.name, "SPEC_LENGTH_EXCEEDED",
                                      f"value longer than {why} (split per SDTMIG, never cut)", out, subj))
    return out, findings


def _as_num(s: pd.Series, v: Variable, ds: Dataset, subj: pd.Series | None) -> tuple[pd.Series, list[Finding]]:
    findings: list[Finding] = []
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        kind = _date_kind(v)
        if s.dt.tz is not None or kind not in ("date", "datetime"):
            findings.append(Finding(Severity.ERROR, "SPEC_TYPE_MISMATCH",
                                    "datetime values need data_type date/datetime or a date/datetime format "
                                    "(and no time zone); left missing", dataset=ds.name, variable=v.name))
            return pd.Series(np.nan, index=s.index, dtype="float64"), findings
        secs = (s.to_numpy(dtype="datetime64[ns]") - _EPOCH_NS) / np.timedelta64(1, "s")
        if kind == "date":
            days = secs / 86400.0
            frac = ~np.isnan(days) & (days != np.floor(days))
            if frac.any():
                findings.extend(_row_findings(np.flatnonzero(frac), ds, v.name, "SPEC_TYPE_MISMATCH",
                                              "date variable holds a time part; kept as a fractional day", s, subj))
            return pd.Series(days, index=s.index, dtype="float64"), findings
        return pd.Series(secs, index=s.index, dtype="float64"), findings
    if pd.api.types.is_timedelta64_dtype(s.dtype):
        return pd.Series(s.to_numpy(dtype="timedelta64[ns]") / np.timedelta64(1, "s"),
                         index=s.index, dtype="float64"), findings
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        return pd.Series(s.to_numpy(dtype=np.float64, na_value=np.nan), index=s.index, dtype="float64"), findings
    text = s.astype(object).where(s.notna(), None)
    num = pd.to_numeric(text.map(lambda x: x.strip() if isinstance(x, str) else x), errors="coerce")
    blank = text.map(lambda x: x is None or (isinstance(x, str) and x.strip() == "")).to_numpy(dtype=bool)
    bad = num.isna().to_numpy() & ~blank
    findings.append(Finding(Severity.ERROR, "SPEC_TYPE_MISMATCH", f"spec type Num but the data are {s.dtype}; "
                            f"converted to numbers", dataset=ds.name, variable=v.name))
    if bad.any():
        findings.extend(_row_findings(np.flatnonzero(bad), ds, v.name, "SPEC_TYPE_MISMATCH",
                                      "value is not a number; left missing", s, subj))
    return pd.Series(num.to_numpy(dtype=np.float64), index=s.index, dtype="float64"), findings


def shape_to_spec(df: pd.DataFrame, dataset: Dataset) -> tuple[pd.DataFrame, list[Finding]]:
    """The frame with exactly the spec's variables, in spec order and types, plus what did not fit."""
    shaped, findings, _ = _shape(df, dataset)
    return shaped, findings


def _shape(df: pd.DataFrame, dataset: Dataset) -> tuple[pd.DataFrame, list[Finding],
                                                         dict[str, tuple[np.ndarray, np.ndarray]]]:
    """shape_to_spec, plus (codes, uniques) of each text column shaped, for the writer to reuse."""
    findings: list[Finding] = []
    factorized: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    spec_names = [v.name for v in dataset.variables]
    for col in df.columns:
        if col not in spec_names:
            findings.append(Finding(Severity.ERROR, "SPEC_EXTRA_VARIABLE",
                                    "column not defined in the spec; not written", dataset=dataset.name,
                                    variable=str(col)))
    dupes = sorted({str(c) for c in df.columns if list(df.columns).count(c) > 1})
    for c in dupes:
        findings.append(Finding(Severity.ERROR, "SPEC_DUPLICATE_COLUMN", "column appears more than once; "
                                "the first is written", dataset=dataset.name, variable=c))
    frame = (df.loc[:, ~df.columns.duplicated()] if dupes else df).reset_index(drop=True)   # no copy when unique
    subj = _usubjids(frame)
    cols: dict[str, pd.Series] = {}
    for v in dataset.variables:
        if v.name not in frame.columns:
            if v.core == "Req":
                findings.append(Finding(Severity.ERROR, "SPEC_REQ_MISSING", "required variable absent; created empty",
                                        dataset=dataset.name, variable=v.name))
            elif v.core == "Exp":
                findings.append(Finding(Severity.NOTICE, "SPEC_EXP_MISSING", "expected variable absent; created empty",
                                        dataset=dataset.name, variable=v.name))
            cols[v.name] = pd.Series("" if v.type == "Char" else np.nan, index=frame.index,
                                     dtype="str" if v.type == "Char" else "float64")
            continue
        fz = _text_factorized(frame[v.name]) if v.type == "Char" else None
        if fz is not None:
            cols[v.name], f, factorized[v.name] = _char_fast(frame[v.name], v, dataset, subj, *fz)
        else:
            conv = _as_char if v.type == "Char" else _as_num
            cols[v.name], f = conv(frame[v.name], v, dataset, subj)
        findings.extend(f)
    return pd.DataFrame(cols, index=frame.index, copy=False), findings, factorized   # columns not copied


def _in_order(cols: list[np.ndarray]) -> bool:
    """Whether consecutive rows already follow the keys (each row <= the next, comparing key by key)."""
    before = np.zeros(len(cols[0]) - 1, dtype=bool)    # row i already precedes row i+1 on an earlier key
    for c in cols:
        a, b = c[:-1], c[1:]
        if not (before | (a <= b)).all():
            return False
        before |= a < b
    return True


def sort_by_keys(df: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
    """The rows in the order of the dataset's key variables (FDA TCG: datasets sorted by the keys that
    define.xml declares). Numbers sort as numbers and text as text, except that a text key whose values
    are all numbers (SUPP-- IDVARVAL) sorts numerically; missing first; stable. Unchanged when sorted."""
    keys = [k for k in dataset.keys if k in df.columns]
    if not keys or len(df) < 2:
        return df
    cols = []
    for k in keys:
        col = df[k]
        if pd.api.types.is_numeric_dtype(col):
            v = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
            cols.append(np.where(np.isnan(v), -np.inf, v))
            continue
        codes, uniq = text_ranks(col)
        text = pd.Series(uniq, dtype=object).astype(str)
        nums = pd.to_numeric(text.where(text != ""), errors="coerce")
        if len(uniq) and nums.notna().sum() == (text != "").sum():
            rank = np.argsort(np.argsort(np.where(nums.isna(), -np.inf, nums.to_numpy(dtype=float)), kind="stable"),
                              kind="stable")
            codes = rank[codes]
        cols.append(codes)
    if _in_order(cols):                     # the usual case (SDTM is built in key order): no sort at all
        return df
    order = lex_order(cols)
    return df.iloc[order].reset_index(drop=True)


@python_strings
def write_dataset_xpt(df: pd.DataFrame, dataset: Dataset, study: Study, path: Path | str) -> XptInfo:
    """Shape `df` to `dataset` and write it as XPORT v5 (lengths: spec, else the data's maximum).

    `XptInfo.findings` are the shaping findings (none for a frame already shaped); a value that
    cannot be written (too long, non-ASCII) raises XptError naming the row rather than being cut.
    """
    shaped, findings, factorized = _shape(sort_by_keys(df, dataset), dataset)
    lengths: dict[str, int] = {}
    for v in dataset.variables:
        if v.length is not None:
            lengths[v.name] = v.length
        elif v.type == "Char":
            if v.name in factorized:    # the longest value (in characters) is the longest distinct one
                longest = max(map(len, factorized[v.name][1]), default=0)
            else:
                longest = int(shaped[v.name].str.len().max()) if len(shaped) else 0
            lengths[v.name] = max(longest if len(shaped) else 0, 1)
    meta = _write_xpt_info(
        shaped, path, name=dataset.name, label=dataset.label,
        labels={v.name: v.label for v in dataset.variables},
        lengths=lengths,
        formats={v.name: v.format for v in dataset.variables if v.format},
        created=study.xpt_created,
        factorized=factorized,
    )
    return XptInfo(dataset.name, dataset.label, Path(path), meta.records, tuple(meta.variables), tuple(findings))
