"""PROC COMPARE-style comparison of two datasets, for double-programming QC and reference tests.

Rules (stated in every report):
* Observations are matched by the key variables. When a key value repeats (a BY group of several
  records), its records are paired in record order within the group, as PROC COMPARE does with
  duplicate BY values, and a WARNING names the repeated key values. Repeated keys alone do not make
  the datasets unequal: a dataset compared with itself is equal. Unequal group sizes show as
  observations in one dataset only, which do.
* Numeric values are equal when both are missing (NaN == NaN) or |base - compare| <= tolerance
  (absolute criterion, PROC COMPARE METHOD=ABSOLUTE). A missing value never equals a number.
* Character values are compared exactly after trailing blanks are stripped; a missing character
  value is the same as blank (SAS semantics).
* A variable that is numeric in one dataset and character in the other is reported as an
  attribute difference and its values are not compared.
* Attributes (type, length, label, format) are compared where both sides have metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from studyforge.datasets_io import read_dataset
from studyforge.fileio import write_text_atomic

ATTRIBUTES = ("type", "length", "label", "format")
_OCC = "__sf_occ__"
_MERGE = "_merge"


# --- metadata -------------------------------------------------------------------------------

@dataclass
class DatasetAttrs:
    """What is known about a dataset besides its values: its label and per-variable attributes."""

    name: str = ""
    label: str | None = None
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {type,length,label,format}


def _type_of(s: pd.Series) -> str:
    return "Num" if (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)) else "Char"


def dataset_attrs(df: pd.DataFrame, meta: Any = None, name: str = "") -> DatasetAttrs:
    """Normalize metadata: a spec Dataset, studyforge.xpt XptMetadata, pyreadstat metadata, a Dataset-JSON header dict,
    a {label, variables: {NAME: {...}}} dict, or None (types from the frame only)."""
    out = DatasetAttrs(name=name)
    out.variables = {c: {"type": _type_of(df[c])} for c in df.columns}
    if meta is None:
        return out
    if isinstance(meta, DatasetAttrs):
        return meta
    if isinstance(meta, Mapping):
        out.name = str(meta.get("name") or name)
        out.label = meta.get("label")
        cols = meta.get("columns")
        if isinstance(cols, list):  # Dataset-JSON
            for c in cols:
                num = c.get("dataType") in ("integer", "decimal", "float", "double", "boolean") or c.get("targetDataType")
                out.variables.setdefault(c["name"], {}).update(
                    {"type": "Num" if num else "Char", "length": c.get("length"), "label": c.get("label"),
                     "format": c.get("displayFormat")})
        for vname, attrs in (meta.get("variables") or {}).items():
            out.variables.setdefault(vname, {}).update({k: v for k, v in attrs.items() if k in ATTRIBUTES})
        return out
    if hasattr(meta, "variables") and hasattr(meta, "purpose"):  # studyforge.spec.models.Dataset
        out.name, out.label = meta.name, meta.label
        for v in meta.variables:
            out.variables.setdefault(v.name, {}).update(
                {"type": v.type, "length": v.length, "label": v.label, "format": v.format})
        return out
    vars_ = getattr(meta, "variables", None)
    if isinstance(vars_, list) and all(hasattr(v, "length") and hasattr(v, "type") for v in vars_):
        out.name, out.label = getattr(meta, "name", name) or name, getattr(meta, "label", None)  # XptMetadata
        for v in vars_:
            out.variables.setdefault(v.name, {}).update(
                {"type": v.type, "length": v.length, "label": v.label, "format": v.format or None})
        return out
    if hasattr(meta, "column_names_to_labels"):  # pyreadstat metadata container
        out.name = getattr(meta, "table_name", None) or name
        out.label = getattr(meta, "file_label", None)
        widths = getattr(meta, "variable_storage_width", {}) or {}
        fmts = getattr(meta, "original_variable_types", {}) or {}
        rtypes = getattr(meta, "readstat_variable_types", {}) or {}
        for vname, lab in meta.column_names_to_labels.items():
            d = out.variables.setdefault(vname, {})
            d["label"] = lab
            if vname in widths:
                d["length"] = widths[vname]
            if fmts.get(vname):
                d["format"] = fmts[vname]
            if vname in rtypes:
                d["type"] = "Char" if rtypes[vname] == "string" else "Num"
        return out
    raise TypeError(f"unsupported metadata object {type(meta).__name__}")


# --- result -------------------------------------------------------------------------------

@dataclass
class CompareResult:
    """Everything a QC programmer reads in a PROC COMPARE listing, as data."""

    base_name: str
    compare_name: str
    keys: list[str]
    tolerance: float
    base_nobs: int
    compare_nobs: int
    base_nvar: int
    compare_nvar: int
    label_diff: tuple[str | None, str | None] | None
    only_in_base_vars: list[str]
    only_in_compare_vars: list[str]
    attr_diffs: pd.DataFrame          # variable, attribute, base, compare
    base_only_obs: pd.DataFrame       # key values
    compare_only_obs: pd.DataFrame
    base_dup_keys: pd.DataFrame       # key values + count
    compare_dup_keys: pd.DataFrame
    n_common_obs: int
    n_obs_unequal: int
    compared_vars: list[str]
    diff_counts: dict[str, int]       # variable -> number of unequal values (only > 0)
    max_diff: dict[str, float]        # numeric variables with differences -> max |diff|
    value_diffs: dict[str, pd.DataFrame]  # variable -> first max_diffs rows: keys, BASE, COMPARE, DIFF
    max_diffs: int = 10

    @property
    def equal(self) -> bool:
        return not (self.label_diff or self.only_in_base_vars or self.only_in_compare_vars
                    or len(self.attr_diffs) or len(self.base_only_obs) or len(self.compare_only_obs)
                    or self.diff_counts or self.base_nobs != self.compare_nobs)

    def report(self) -> str:
        return _render(self)


# --- comparison -----------------------------------------------------------------------------

def _char(s: pd.Series) -> pd.Series:
    if not len(s):   # pandas 3.1: an empty Arrow-backed result of .str has no chunks, and merge fails on it
        return pd.Series([], index=s.index, dtype="string")
    return s.astype("string").fillna("").str.rstrip(" ")


def _dups(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    counts = df.groupby(keys, dropna=False, sort=True).size().rename("COUNT").reset_index()
    return counts[counts["COUNT"] > 1].reset_index(drop=True)


def _key_frame(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return df[keys].sort_values(keys, kind="stable").reset_index(drop=True)


def compare_datasets(
    base: pd.DataFrame,
    compare: pd.DataFrame,
    *,
    keys: list[str],
    tolerance: float = 0.0,
    base_meta: Any = None,
    compare_meta: Any = None,
    max_diffs: int = 10,
    base_name: str = "BASE",
    compare_name: str = "COMPARE",
) -> CompareResult:
    """Compare two datasets matched on `keys` (see the module docstring for the equality rules)."""
    keys = list(keys)
    if not keys:
        raise ValueError("at least one key variable is needed")
    if tolerance < 0 or not np.isfinite(tolerance):
        raise ValueError(f"tolerance must be a finite number >= 0, not {tolerance!r}")
    for what, df in ((base_name, base), (compare_name, compare)):
        missing = [k for k in keys if k not in df.columns]
        if missing:
            raise ValueError(f"{what}: key variable(s) not in dataset: {', '.join(missing)}")
    ba = dataset_attrs(base, base_meta, base_name)
    ca = dataset_attrs(compare, compare_meta, compare_name)

    only_b = [c for c in base.columns if c not in compare.columns]
    only_c = [c for c in compare.columns if c not in base.columns]
    common = [c for c in base.columns if c in compare.columns]

    rows = []
    for v in common:
        for a in ATTRIBUTES:
            x, y = ba.variables.get(v, {}).get(a), ca.variables.get(v, {}).get(a)
            if x is None or y is None:
                continue
            if (x.rstrip() if isinstance(x, str) else x) != (y.rstrip() if isinstance(y, str) else y):
                rows.append({"variable": v, "attribute": a, "base": x, "compare": y})
    attr_diffs = pd.DataFrame(rows, columns=["variable", "attribute", "base", "compare"])
    type_conflict = set(attr_diffs.loc[attr_diffs["attribute"] == "type", "variable"])
    type_conflict |= {v for v in common if v not in keys and _type_of(base[v]) != _type_of(compare[v])}
    for k in keys:
        if _type_of(base[k]) != _type_of(compare[k]):
            raise ValueError(f"key variable {k} is {_type_of(base[k])} in {base_name} and "
                             f"{_type_of(compare[k])} in {compare_name}")

    label_diff = None
    if ba.label is not None and ca.label is not None and str(ba.label).rstrip() != str(ca.label).rstrip():
        label_diff = (ba.label, ca.label)

    b = base[common].copy()
    c = compare[common].copy()
    for k in keys:  # key values compared like any value: trailing blanks ignored, missing = blank
        if _type_of(b[k]) == "Char":
            b[k], c[k] = _char(b[k]), _char(c[k])
    b[_OCC] = b.groupby(keys, dropna=False, sort=False).cumcount()
    c[_OCC] = c.groupby(keys, dropna=False, sort=False).cumcount()
    m = b.merge(c, on=keys + [_OCC], how="outer", suffixes=("__b", "__c"), indicator=True, sort=False)
    m = m.sort_values(keys + [_OCC], kind="stable").reset_index(drop=True)
    both = m[m[_MERGE] == "both"].reset_index(drop=True)

    compared = [v for v in common if v not in keys and v not in type_conflict]
    diff_counts: dict[str, int] = {}
    max_diff: dict[str, float] = {}
    value_diffs: dict[str, pd.DataFrame] = {}
    any_unequal = np.zeros(len(both), dtype=bool)
    for v in compared:
        x, y = both[f"{v}__b"], both[f"{v}__c"]
        if _type_of(base[v]) == "Num":
            xf = pd.to_numeric(x, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            yf = pd.to_numeric(y, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                d = yf - xf
                same = (np.isnan(xf) & np.isnan(yf)) | (np.abs(d) <= tolerance)
            if np.isinf(xf).any() or np.isinf(yf).any():
                same |= (xf == yf)
            neq = ~same
            diff_col = d
        else:
            neq = (_char(x) != _char(y)).to_numpy(dtype=bool)
            diff_col = None
        n = int(neq.sum())
        if not n:
            continue
        any_unequal |= neq
        diff_counts[v] = n
        sub = both.loc[neq, keys].head(max_diffs).copy()
        sub["BASE"] = x[neq].head(max_diffs).to_numpy()
        sub["COMPARE"] = y[neq].head(max_diffs).to_numpy()
        if diff_col is not None:
            dd = diff_col[neq]
            sub["DIFF"] = dd[:max_diffs]
            finite = dd[~np.isnan(dd)]
            max_diff[v] = float(np.abs(finite).max()) if len(finite) else float("nan")
        value_diffs[v] = sub.reset_index(drop=True)

    return CompareResult(
        base_name=base_name, compare_name=compare_name, keys=keys, tolerance=float(tolerance),
        base_nobs=len(base), compare_nobs=len(compare), base_nvar=base.shape[1], compare_nvar=compare.shape[1],
        label_diff=label_diff, only_in_base_vars=only_b, only_in_compare_vars=only_c, attr_diffs=attr_diffs,
        base_only_obs=m.loc[m[_MERGE] == "left_only", keys].reset_index(drop=True),
        compare_only_obs=m.loc[m[_MERGE] == "right_only", keys].reset_index(drop=True),
        base_dup_keys=_dups(b, keys), compare_dup_keys=_dups(c, keys),
        n_common_obs=len(both), n_obs_unequal=int(any_unequal.sum()), compared_vars=compared,
        diff_counts=diff_counts, max_diff=max_diff, value_diffs=value_diffs, max_diffs=max_diffs,
    )


# --- report ---------------------------------------------------------------------------------

def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return "."
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.12g}"
    return str(v)


def _table(df: pd.DataFrame) -> list[str]:
    cols = [str(c) for c in df.columns]
    cells = [[_fmt(v) for v in row] for row in df.itertuples(index=False, name=None)]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(cols)]
    line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, widths)).rstrip()  # noqa: E731
    return [line(cols), line(["-" * w for w in widths])] + [line(r) for r in cells]


def _render(r: CompareResult) -> str:
    out: list[str] = []
    add = out.append
    add("The COMPARE Procedure (studyforge)")
    add(f"Comparison of {r.base_name} with {r.compare_name}")
    add(f"(Method=Absolute, Criterion={r.tolerance:g}; BY {', '.join(r.keys)})")
    add("Character values compared exactly after trailing blanks are stripped; missing = blank.")
    add("Numeric values equal when both missing or |base - compare| <= criterion.")
    add("")
    add("Data Set Summary")
    summary = pd.DataFrame({"Dataset": [r.base_name, r.compare_name], "NVar": [r.base_nvar, r.compare_nvar],
                            "NObs": [r.base_nobs, r.compare_nobs]})
    out.extend(_table(summary))
    if r.label_diff:
        add(f"Dataset labels differ: {r.base_name} {r.label_diff[0]!r}, {r.compare_name} {r.label_diff[1]!r}")
    add("")
    add("Variables Summary")
    add(f"Number of Variables in Common: {r.base_nvar - len(r.only_in_base_vars)}.")
    add(f"Number of Variables in {r.base_name} but not in {r.compare_name}: {len(r.only_in_base_vars)}."
        + (f" ({', '.join(r.only_in_base_vars)})" if r.only_in_base_vars else ""))
    add(f"Number of Variables in {r.compare_name} but not in {r.base_name}: {len(r.only_in_compare_vars)}."
        + (f" ({', '.join(r.only_in_compare_vars)})" if r.only_in_compare_vars else ""))
    nattr = r.attr_diffs["variable"].nunique() if len(r.attr_diffs) else 0
    add(f"Number of Variables with Differing Attributes: {nattr}.")
    if nattr:
        add("")
        add("Listing of Common Variables with Differing Attributes")
        out.extend(_table(r.attr_diffs.rename(columns={"base": r.base_name, "compare": r.compare_name})))
    add("")
    add("Observation Summary")
    add(f"Total Number of Observations Read from {r.base_name}: {r.base_nobs}.")
    add(f"Total Number of Observations Read from {r.compare_name}: {r.compare_nobs}.")
    add(f"Number of Observations in Common: {r.n_common_obs}.")
    add(f"Number of Observations in {r.base_name} but not in {r.compare_name}: {len(r.base_only_obs)}.")
    add(f"Number of Observations in {r.compare_name} but not in {r.base_name}: {len(r.compare_only_obs)}.")
    for name, dups in ((r.base_name, r.base_dup_keys), (r.compare_name, r.compare_dup_keys)):
        if len(dups):
            add(f"WARNING: {len(dups)} key value(s) occur more than once in {name} (BY values not unique); "
                f"records compared in record order within each BY group:")
            out.extend(_table(dups.head(r.max_diffs)))
    add(f"Number of Observations with Some Compared Variables Unequal: {r.n_obs_unequal}.")
    add(f"Number of Observations with All Compared Variables Equal: {r.n_common_obs - r.n_obs_unequal}.")
    for name, obs in ((r.base_name, r.base_only_obs), (r.compare_name, r.compare_only_obs)):
        if len(obs):
            add("")
            add(f"Observations only in {name} (first {min(len(obs), r.max_diffs)} of {len(obs)})")
            out.extend(_table(obs.head(r.max_diffs)))
    add("")
    add("Values Comparison Summary")
    add(f"Number of Variables Compared with All Observations Equal: {len(r.compared_vars) - len(r.diff_counts)}.")
    add(f"Number of Variables Compared with Some Observations Unequal: {len(r.diff_counts)}.")
    add(f"Total Number of Values which Compare Unequal: {sum(r.diff_counts.values())}.")
    if r.max_diff:
        add(f"Maximum Difference: {_fmt(max(r.max_diff.values()))}.")
    if r.diff_counts:
        add("")
        add("Variables with Unequal Values")
        t = pd.DataFrame({"Variable": list(r.diff_counts), "Ndif": list(r.diff_counts.values()),
                          "MaxDif": [r.max_diff.get(v, np.nan) for v in r.diff_counts]})
        out.extend(_table(t))
        add("")
        add("Value Comparison Results for Variables")
        for v, sub in r.value_diffs.items():
            add("")
            add(f"|| {v}  ({r.diff_counts[v]} unequal; first {len(sub)} shown)")
            out.extend(_table(sub))
    add("")
    add("NOTE: No unequal values were found. All values compared are equal." if r.equal
        else "NOTE: The datasets differ.")
    return "\n".join(out) + "\n"


def assert_datasets_equal(actual: pd.DataFrame, expected: pd.DataFrame, keys: Sequence[str],
                          tolerance: float = 0.0, **kw: Any) -> None:
    """pytest helper: raise AssertionError carrying the full compare report when the frames differ."""
    kw.setdefault("base_name", "EXPECTED")
    kw.setdefault("compare_name", "ACTUAL")
    r = compare_datasets(expected, actual, keys=list(keys), tolerance=tolerance, **kw)
    if not r.equal:
        raise AssertionError("\n" + r.report())


# --- files ----------------------------------------------------------------------------------

def side_names(base: Path, compare: Path) -> tuple[str, str]:
    """How the report names each side: the file name, or the path as given when both share a name."""
    if base.name != compare.name:
        return base.name, compare.name
    if str(base) != str(compare):
        return str(base), str(compare)
    return f"{base} (BASE)", f"{compare} (COMPARE)"


def compare_command(base_path: Path, compare_path: Path, *, keys: list[str], tolerance: float = 0.0,
                    report: Path | None = None) -> int:
    """CLI `studyforge compare`: print the report (and write it); 0 when equal, 1 when different."""
    if report is not None and Path(report).resolve() in (Path(base_path).resolve(), Path(compare_path).resolve()):
        print(f"ERROR: --report {report} is one of the datasets compared; refusing to overwrite it")
        return 2
    base_name, compare_name = side_names(Path(base_path), Path(compare_path))
    try:
        b, bm = read_dataset(base_path)
        c, cm = read_dataset(compare_path)
        r = compare_datasets(b, c, keys=keys, tolerance=tolerance, base_meta=bm, compare_meta=cm,
                             base_name=base_name, compare_name=compare_name)
    except (ValueError, TypeError) as exc:   # OSError goes to the CLI: one line naming the file, exit 2
        print(f"ERROR: {exc}")
        return 2
    text = r.report()
    print(text, end="")
    if report is not None:
        write_text_atomic(report, text)
    return 0 if r.equal else 1
