"""Build one dataset from its spec: the working rows from the dataset's builder, every variable by its
rule in dependency order (row-wise rules, then the check against DM, then rules across records),
SUPP-- from the spec's qualifiers, shaping and checks.

The engine is the only place that collects: rules return values and notes (findings, records used,
records left out); the engine adds them to the build's findings and reconciliation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from studyforge.findings import Finding, Severity
from studyforge.spec.models import Dataset, Derivation, Spec, Variable

from ._fast import distinct_values, duplicated_rows, text_series, umap
from .context import Reconciliation
from .rules import load_all, rule
from .rules.base import FILE, FORM, LINE, SUBJECT, RawIdentity, Refs, Unmapped, Used
from .rules.builders import SuppParams
from .rules.order import OrderError, Plan, order_problems, plan

_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@dataclass
class Build:
    """One build's inputs and what it collects."""

    spec: Spec
    raw: dict
    identities: dict[str, RawIdentity]
    default_identity: RawIdentity | None
    recon: Reconciliation
    findings: list[Finding] = field(default_factory=list)
    datasets: dict[str, pd.DataFrame] = field(default_factory=dict)
    shared: dict = field(default_factory=dict)

    def refs(self, ds: Dataset, vars: pd.DataFrame) -> Refs:
        return Refs(spec=self.spec, dataset=ds, raw=self.raw, datasets=self.datasets, vars=vars,
                    identities=self.identities, default_identity=self.default_identity,
                    spec_file=f"sdtm/{ds.name}.yaml", memo_build=self.shared)

    def take(self, notes, ds: Dataset, target: str = "") -> None:
        """Findings to the build, records used / left out to the reconciliation."""
        for n in notes:
            if isinstance(n, Finding):
                self.findings.append(n)
            elif isinstance(n, Used):
                self.recon.add_used(n.form, n.target or target, n.records)
            elif isinstance(n, Unmapped):
                self.recon.add_unmapped(n.rows, n.reason, ds.name)
            else:
                raise TypeError(f"a rule returned {type(n).__name__}; expected Finding, Used or Unmapped")


# -- variables -------------------------------------------------------------------------------------------
def _missing_fields(frame: pd.DataFrame, names, refs: Refs, var: Variable) -> list[Finding]:
    out = []
    for name in dict.fromkeys(n for n in names if n):
        if name in frame.columns:
            continue
        forms = sorted(set(frame[FORM])) if FORM in frame.columns and len(frame) else []
        out.append(refs.finding(Severity.ERROR, "SD0102", f"required column {name!r} missing in raw form(s) "
                                f"{', '.join(forms) or '?'}", variable=var.name, field=name,
                                file=refs.raw[forms[0]].path if forms and forms[0] in refs.raw else refs.spec_file))
    return out


def derive(frame: pd.DataFrame, var: Variable, der: Derivation | None, refs: Refs) -> tuple[pd.Series, list]:
    """One variable's values for the working rows, and its notes."""
    if der is None:  # made by the dataset's builder, or empty
        if var.name in frame.columns:
            s = frame[var.name]
            return (s if var.type == "Num" else s.fillna("").astype(str)), []
        return pd.Series(np.nan if var.type == "Num" else "", index=frame.index), []
    r = rule(der.rule)
    if r.kind != "variable":
        raise KeyError(f"{refs.dataset.name}.{var.name}: rule {der.rule!r} is not a variable rule")
    p = r.parse(der.params)
    refs = refs.for_variable(var, refs.vars)
    notes = _missing_fields(frame, r.fields(p), refs, var)
    values, got = r.fn(frame, p, refs)
    return values, notes + list(got)


def _run(build: Build, ds: Dataset, frame: pd.DataFrame, result: pd.DataFrame, names: list[str],
         refs: Refs) -> None:
    for name in names:
        var = ds.variable(name)
        values, notes = derive(frame, var, var.derivation, refs.for_variable(var, result))
        result[name] = values
        build.take(notes, ds, f"{ds.name}.{name}")


def _drop_unknown_subjects(build: Build, ds: Dataset, frame: pd.DataFrame, result: pd.DataFrame, refs: Refs):
    """Records of subjects absent from DM are errors; they leave the dataset and go to the report."""
    dm = build.datasets.get("DM")
    if dm is None or "USUBJID" not in result.columns or ds.name == "DM":
        return frame, result
    bad = ~result["USUBJID"].isin(set(dm["USUBJID"]))
    if not bad.any():
        return frame, result
    forms = sorted(set(frame.loc[bad, FORM]) & set(build.raw))
    field = "/".join(dict.fromkeys(c for f in forms for c in refs.identity(f).subject)) or "subject"
    build.findings += refs.for_variable(None, result).row_findings(
        frame, bad, Severity.ERROR, "SD0901", "subject unknown to DM; record not mapped", field,
        frame.get(SUBJECT, result["USUBJID"]), "USUBJID")
    build.recon.add_unmapped(frame[bad], "subject not in DM", ds.name)
    keep = ~bad
    return frame[keep], result[keep]


# -- SUPP-- and text over 200 characters -----------------------------------------------------------------
def _split_words(text: str, width: int = 200) -> list[str]:
    """Split at word boundaries into pieces of at most `width` characters (no word is lost)."""
    pieces, rest = [], text
    while len(rest) > width:
        cut = rest.rfind(" ", 0, width + 1)
        if cut <= 0:
            cut = width
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip(" ") if rest[cut:cut + 1] == " " else rest[cut:]
    pieces.append(rest)
    return pieces


def _id_text(s: pd.Series) -> pd.Series:
    """IDVARVAL text of the parent's --SEQ (numbers without decimals; '' when missing), formatted once
    per distinct value."""
    codes, uniq = pd.factorize(s.to_numpy(dtype=object), use_na_sentinel=True)
    text = np.array(["" if pd.isna(v) else f"{v:.0f}" if isinstance(v, float) else str(v) for v in uniq] + [""],
                    dtype=object)
    return pd.Series(text[codes], index=s.index, dtype=str)


def build_supp(build: Build, ds: Dataset, supp: Dataset, frame: pd.DataFrame, res: pd.DataFrame,
               refs: Refs) -> pd.DataFrame:
    """SUPP-- records from the qualifiers the spec declares on the parent (non-empty values only); text
    over 200 characters in the declared variables is split (the parent keeps the first piece)."""
    p: SuppParams = rule(supp.derivation.rule).parse(supp.derivation.params)
    idvals = _id_text(res[p.idvar]) if p.idvar else pd.Series("", index=res.index)
    frames = []
    for q in p.qualifiers:
        der = Derivation.model_validate(q.derivation)
        qv = Variable(name=q.qnam, label=q.qlabel, type="Char", origin={"type": "Collected"},
                      codelist=der.params.get("codelist"))
        vals, notes = derive(frame, qv, der, refs.for_variable(qv, res))
        build.take(notes, ds, f"{ds.name}.{q.qnam}")
        vals = vals.fillna("").astype(str)
        keep = vals != ""
        frames.append(pd.DataFrame({"USUBJID": res["USUBJID"][keep], "IDVARVAL": idvals[keep], "QNAM": q.qnam,
                                    "QLABEL": q.qlabel, "QVAL": vals[keep], "QORIG": q.qorig, "QEVAL": q.qeval,
                                    "__row": np.flatnonzero(keep.to_numpy())}))
    for vname in p.split_text:
        if vname not in res.columns:
            continue
        s = res[vname].astype(str)
        long = s.str.len() > 200
        if not long.any():
            continue
        label = ds.variable(vname).label
        pieces = s[long].map(_split_words)
        res.loc[long, vname] = pieces.map(lambda x: x[0])
        for i, parts in pieces.items():
            for k, part in enumerate(parts[1:], start=1):
                frames.append(pd.DataFrame({"USUBJID": [res.at[i, "USUBJID"]], "IDVARVAL": [idvals.at[i]],
                                            "QNAM": [f"{vname[:7]}{k}"], "QLABEL": [f"{label[:36]} {k}"],
                                            "QVAL": [part], "QORIG": ["CRF"], "QEVAL": [""],
                                            "__row": [res.index.get_loc(i)]}))
    cols = ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG", "QEVAL"]
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)
    out["STUDYID"] = build.spec.study.id
    out["RDOMAIN"] = ds.name
    out["IDVAR"] = p.idvar
    out = out.sort_values(["USUBJID", "__row", "QNAM"], kind="mergesort")
    return out[cols + ["__row"]].reset_index(drop=True)


# -- shaping and checks ----------------------------------------------------------------------------------
def _to_number(s: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(s):
        return s.astype("float64")
    # text numbers repeat (scores, visit numbers): parse each distinct value once
    return umap(s, lambda u: pd.to_numeric(u, errors="coerce").astype("float64")).astype("float64")


def shape(ds: Dataset, df: pd.DataFrame) -> pd.DataFrame:
    """Spec order and types: Num -> float64, Char -> str with '' for missing."""
    cols = {}
    for v in ds.variables:
        s = df[v.name] if v.name in df.columns else pd.Series(np.nan if v.type == "Num" else "", index=df.index)
        cols[v.name] = _to_number(s) if v.type == "Num" else text_series(s)
    return pd.DataFrame(cols, index=df.index)


def check_text(build: Build, ds: Dataset, df: pd.DataFrame, frame: pd.DataFrame | None, split: set[str]) -> None:
    """Non-ASCII values (XPT v5 is ASCII) and values over 200 characters that were not split."""
    for v in ds.variables:
        if v.type != "Char":
            continue
        s = df[v.name]
        codes, uniq = distinct_values(s)    # tested once per distinct value
        text = pd.Series(uniq, dtype=object).astype(str)
        bad_u = text.str.contains(_NON_ASCII, regex=True).to_numpy(dtype=bool)
        bad = pd.Series(bad_u[codes] if bad_u.any() else np.zeros(len(s), dtype=bool), index=s.index)
        field = (v.derivation.params.get("field", "") if v.derivation else "") or v.name
        if bad.any():
            s = _ascii_or_held_back(build, ds, df, frame, v.name, field, bad)
            codes, uniq = distinct_values(s)
            text = pd.Series(uniq, dtype=object).astype(str)
        if v.name not in split:
            long_u = (text.str.len() > 200).to_numpy(dtype=bool)
            if long_u.any():
                long = pd.Series(long_u[codes], index=s.index)
                _row_findings(build, ds, df, frame, long, "SD1002", "value over 200 characters and not declared "
                              "for splitting into SUPP--", v.name, field, s.str.slice(0, 60))


def _ascii_or_held_back(build: Build, ds, df, frame, var, field, bad) -> pd.Series:
    """Non-ASCII values: replaced per the spec's raw.ascii_replacements (WARNING per record), else held
    back, i.e. written empty (ERROR per record naming file, line, field, value), so the rest of the
    dataset is still written. df[var] is updated in place; the new column is returned."""
    s = df[var]
    table = build.spec.study.raw.ascii_replacements

    def replace(u: pd.Series) -> pd.Series:
        u = u.astype(str)
        for k in sorted(table, key=len, reverse=True):  # longest first: "ß" never pre-empts "ßt"
            u = u.str.replace(k, table[k], regex=False)
        return u

    fixed = umap(s, replace).astype(object) if table else s.astype(object)
    still = bad & fixed.astype(str).str.contains(_NON_ASCII, regex=True)
    replaced = bad & ~still
    if replaced.any():
        _row_findings(build, ds, df, frame, replaced, "SD1003", "non-ASCII character replaced per the spec's "
                      "raw.ascii_replacements (now {new})", var, field, s, new=fixed, severity=Severity.WARNING)
    if still.any():
        _row_findings(build, ds, df, frame, still, "SD1001", "non-ASCII character (XPT v5 requires ASCII) and no "
                      "replacement in raw.ascii_replacements: value held back (written empty)", var, field, s)
    out = fixed.where(~still, "").astype(str)
    df[var] = out
    return out


def _row_findings(build: Build, ds, df, frame, mask, rule_id, msg, var, field, values, new=None,
                  severity=Severity.ERROR) -> None:
    for i in mask[mask].index:
        file = str(frame.at[i, FILE]) if frame is not None and i in frame.index else ""
        line = int(frame.at[i, LINE]) if frame is not None and i in frame.index else None
        text = msg.replace("{new}", repr(str(new.at[i]))) if new is not None else msg
        build.findings.append(Finding(severity, rule_id, text, dataset=ds.name, variable=var,
                                      usubjid=str(df.at[i, "USUBJID"]) if "USUBJID" in df.columns else "",
                                      file=file, line=line, field=field, value=str(values.at[i])))


def check_keys(build: Build, ds: Dataset, df: pd.DataFrame, frame: pd.DataFrame | None) -> None:
    keys = [k for k in ds.keys if k in df.columns]
    if not keys or df.empty:
        return
    dup = pd.Series(duplicated_rows(df, keys, keep=False), index=df.index)
    if dup.any():
        _row_findings(build, ds, df, frame, dup, "SD0803", f"duplicate natural key ({', '.join(keys)})",
                      keys[-1], keys[-1], df[keys].astype(str).agg("/".join, axis=1))


# -- one dataset -----------------------------------------------------------------------------------------
def derivation_plan(build: Build, ds: Dataset, supp: Dataset | None):
    """The two derivation passes; a spec whose reads cannot be ordered is reported (spec check says the
    same at file:line) and its variables run in spec order."""
    try:
        return plan(ds)
    except OrderError:
        for var, msg in order_problems(ds, supp):
            build.findings.append(Finding(Severity.ERROR, "SD0001", msg, dataset=ds.name, variable=var,
                                          file=f"sdtm/{ds.name}.yaml"))
        return Plan([], [v.name for v in ds.variables])


def build_dataset(build: Build, ds: Dataset, supp: Dataset | None) -> tuple[pd.DataFrame, pd.DataFrame,
                                                                             pd.DataFrame | None, set[str]]:
    """(frame, result, supp rows, split variables) of one dataset: working rows and derived variables."""
    load_all()
    empty = pd.DataFrame()
    refs = build.refs(ds, empty)
    builder = rule(ds.derivation.rule)
    frame, notes = builder.fn(builder.parse(ds.derivation.params), refs)
    build.take(notes, ds)
    frame = frame.reset_index(drop=True)
    result = pd.DataFrame(index=frame.index)
    steps = derivation_plan(build, ds, supp)
    refs = build.refs(ds, result)
    _run(build, ds, frame, result, steps.first, refs)
    frame, result = _drop_unknown_subjects(build, ds, frame, result, refs)
    refs = build.refs(ds, result)  # a fresh memo: the rows changed
    _run(build, ds, frame, result, steps.second, refs)
    sp, split = None, set()
    if supp is not None:
        sp = build_supp(build, ds, supp, frame, result, refs)
        split = set(rule(supp.derivation.rule).parse(supp.derivation.params).split_text)
    return frame, result, sp, split


__all__ = ["Build", "build_dataset", "build_supp", "check_keys", "check_text", "derive", "shape",
           "order_problems", "_split_words", "text_series"]
