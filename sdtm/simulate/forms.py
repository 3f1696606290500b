"""The forms dictionary (forms.yaml): field lists per form, the dictionary.csv frame, and row finishing."""

from __future__ import annotations

import numpy as np
import pandas as pd

COMMON = ["STUDYID", "SITEID", "SUBJID", "FOLDER", "RECORDPOSITION"]
DICT_COLUMNS = ["form", "field", "label", "type", "codelist", "required"]


class FormsError(ValueError):
    """forms.yaml is malformed (names the form and field)."""


def _expand(form: str, field: dict) -> list[dict]:
    if "repeat" not in field:
        missing = {"name", "label", "type"} - set(field)
        if missing:
            raise FormsError(f"forms.yaml: form {form}: field {field!r} lacks {sorted(missing)}")
        return [field]
    rep = field["repeat"]
    out = []
    for i in range(1, int(rep["count"]) + 1):
        cl = rep.get("codelist", "")
        if rep.get("codelist_last2") and i > int(rep["count"]) - 2:
            cl = rep["codelist_last2"]
        out.append({"name": f"{rep['prefix']}{i:0{int(rep.get('width', 2))}d}", "label": rep["label"].format(n=i),
                    "type": rep["type"], "codelist": cl, "required": rep.get("required", "N")})
    return out


def form_fields(forms: dict, form: str) -> list[dict]:
    """Field dicts of one form in file order, repeats expanded (common fields not included)."""
    spec = forms["forms"].get(form)
    if spec is None:
        raise FormsError(f"forms.yaml: no form {form!r}")
    return [f for raw in spec["fields"] for f in _expand(form, raw)]


def form_columns(forms: dict, form: str) -> list[str]:
    """CSV column order of a form: common fields for EDC forms, then the form's own fields."""
    own = [f["name"] for f in form_fields(forms, form)]
    return (COMMON + own) if forms["forms"][form].get("edc", True) else own


def dictionary_frame(forms: dict) -> pd.DataFrame:
    """dictionary.csv: one row per (form, field) in CSV column order."""
    common = {f["name"]: f for f in forms["common_fields"]}
    rows = []
    for form in sorted(forms["forms"]):
        own = {f["name"]: f for f in form_fields(forms, form)}
        for col in form_columns(forms, form):
            f = own.get(col) or common[col]
            rows.append({"form": form, "field": col, "label": f["label"], "type": f["type"],
                         "codelist": f.get("codelist", "") or "", "required": f.get("required", "N")})
    known = set(forms.get("codelists", {}))
    bad = [r for r in rows if r["codelist"] and r["codelist"] not in known]
    if bad:
        raise FormsError(f"forms.yaml: form {bad[0]['form']} field {bad[0]['field']}: unknown codelist {bad[0]['codelist']!r}")
    return pd.DataFrame(rows, columns=DICT_COLUMNS)


def finish(df: pd.DataFrame, subj: pd.DataFrame, studyid: str, columns: list[str], order: list[str] | None = None) -> pd.DataFrame:
    """Add the common EDC fields, number RECORDPOSITION within subject/folder, order rows and columns.

    df carries sidx, FOLDER (EDC forms), optional sort keys `order`, and the form's fields.
    """
    return finish_sorted(sorted_rows(df, subj, order), subj, studyid, columns)


def sorted_rows(df: pd.DataFrame, subj: pd.DataFrame, order: list[str] | None = None) -> pd.DataFrame:
    """The form's rows in file order (SUBJID, then the sort keys `order`); every column kept, so that
    row marks (the messiness ledger's) follow their rows into the file."""
    rank = subj.set_index("sidx")["SUBJID"].rank(method="first")  # site, then subject number
    df = df.assign(_srank=rank.reindex(df["sidx"]).to_numpy())
    return df.sort_values(["_srank"] + (order or []), kind="stable").reset_index(drop=True)


def finish_sorted(df: pd.DataFrame, subj: pd.DataFrame, studyid: str, columns: list[str]) -> pd.DataFrame:
    """finish() on rows already in file order (sorted_rows)."""
    s = subj.set_index("sidx")
    out = pd.DataFrame(index=df.index)
    if "STUDYID" in columns:
        out["STUDYID"] = studyid
        out["SITEID"] = s["SITEID"].reindex(df["sidx"]).to_numpy()
        out["SUBJID"] = s["SUBJID"].reindex(df["sidx"]).to_numpy()
        out["FOLDER"] = df["FOLDER"].to_numpy()
        out["RECORDPOSITION"] = (df.groupby(["sidx", "FOLDER"], sort=False).cumcount() + 1).astype(str).to_numpy()
    elif "SUBJID" in columns:
        out["SUBJID"] = s["SUBJID"].reindex(df["sidx"]).to_numpy()
    for c in columns:
        if c in out.columns:
            continue
        if c not in df.columns:
            raise FormsError(f"simulator does not produce field {c}")
        out[c] = df[c].to_numpy()
    clean = {}
    for c in columns:  # plain Python str objects, missing -> ""
        v = out[c].to_numpy(dtype=object)
        miss = pd.isna(v)
        if miss.any():
            v = v.copy()
            v[miss] = ""
        clean[c] = v
    return pd.DataFrame(clean, columns=columns, dtype=object)


def blank(n: int) -> np.ndarray:
    """An object array of empty strings (a field left empty on every row)."""
    out = np.empty(n, dtype=object)
    out[:] = ""
    return out
