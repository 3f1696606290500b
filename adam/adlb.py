"""ADLB (BDS, ADaMIG 1.3): one parameter per lab test in standard units, baseline, change, analysis
windows, reference-range indicators, CTCAE grades and shifts.

The dataset rule `adlb` (AdlbParams) says where LB is and how windows, baseline and ONTRTFL work;
each spec parameter names rule `lab_test` (LabTest): its LBTESTCD, its standard unit, and its
CTCAE criteria as data (grade thresholds against ULN, LLN, baseline or an absolute value).
Whole-frame operations only.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from adam.bds import BdsCommon, baseline_values, complete_date, finish_bds, range_indicator, traceability
from adam.derive_common import missing_columns, num_col, text_col, where_mask
from studyforge.findings import Finding, Severity
from studyforge.spec.models import Dataset

RULE = "ADLB"


class _P(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LabSource(_P):
    """The SDTM variables ADLB reads (SDTMIG 3.4 LB names by default)."""

    dataset: str = "LB"
    where: dict[str, list[str]] = Field(default_factory=dict, description="records taken (an empty filter: all)")
    testcd: str = "LBTESTCD"
    value: str = "LBSTRESN"
    value_char: str = "LBSTRESC"
    unit: str = "LBSTRESU"
    date: str = "LBDTC"
    low: str = "LBSTNRLO"
    high: str = "LBSTNRHI"
    seq: str = "LBSEQ"


class Grade(_P):
    """A grade is met when AVAL <op> factor x ref (ref VALUE: factor is the threshold itself)."""

    grade: int = Field(ge=1, le=5)
    op: Literal["gt", "ge", "lt", "le"]
    factor: float
    ref: Literal["ULN", "LLN", "BASE", "VALUE"]


class Criteria(_P):
    """One CTCAE v5.0 term in one direction; the highest grade met wins, none met is grade 0."""

    term: str = Field(min_length=1, description="CTCAE term, e.g. 'Alanine aminotransferase increased'")
    grades: list[Grade] = Field(min_length=1)
    baseline_abnormal: list[Grade] = Field(
        default_factory=list, description="used instead when BASE is beyond the normal range in this direction")


class LabTest(_P):
    """Parameter rule `lab_test`: the LB test, its standard unit and its toxicity criteria."""

    testcd: str = Field(min_length=1)
    unit: str = Field(description="standard unit (LBSTRESU); a result in another unit is reported, not used")
    low: Criteria | None = None
    high: Criteria | None = None


class AdlbParams(BdsCommon):
    source: LabSource = Field(default_factory=LabSource)
    toxicity_scale: str = "CTCAE v5.0"


RULES: dict[str, type[BaseModel]] = {"adlb": AdlbParams, "lab_test": LabTest}


def _grades(aval: np.ndarray, refs: dict[str, np.ndarray], rows: list[Grade]) -> np.ndarray:
    """Highest grade whose condition holds; 0 when none does and the grade-1 references are known."""
    out = np.zeros(len(aval))
    for g in rows:
        thr = g.factor * (refs[g.ref] if g.ref != "VALUE" else 1.0)
        with np.errstate(invalid="ignore"):
            met = {"gt": aval > thr, "ge": aval >= thr, "lt": aval < thr, "le": aval <= thr}[g.op]
        out = np.where(met & (out < g.grade), g.grade, out)
    first = min(rows, key=lambda g: g.grade)
    known = np.isfinite(aval) & (np.isfinite(refs[first.ref]) if first.ref != "VALUE" else True)
    return np.where(known | (out > 0), out, np.nan)


def _direction(df: pd.DataFrame, crit: Criteria, high: bool, post: np.ndarray) -> np.ndarray:
    aval = df["AVAL"].to_numpy(float)
    refs = {"ULN": df["ANRHI"].to_numpy(float), "LLN": df["ANRLO"].to_numpy(float),
            "BASE": df["BASE"].to_numpy(float)}
    g = _grades(aval, refs, crit.grades)
    if crit.baseline_abnormal:
        base = refs["BASE"]
        with np.errstate(invalid="ignore"):
            abnormal = post & (base > refs["ULN"] if high else base < refs["LLN"])
        g = np.where(abnormal, _grades(aval, refs, crit.baseline_abnormal), g)
    return g


def _grade_text(g: pd.Series) -> pd.Series:
    return pd.Series(np.where(g.notna(), g.fillna(0).astype(int).astype(str), ""), index=g.index, dtype="str")


def toxicity(df: pd.DataFrame, tests: dict[str, LabTest], post: pd.Series | None = None) -> pd.DataFrame:
    """ATOXGRL/H, ATOXDSCL/H, ATOXGR(N) per record, from the parameter's criteria (needs AVAL, ANRLO/HI, BASE).

    The baseline-abnormal criteria apply to post-baseline records (`post`) only: a baseline record
    has no earlier baseline of its own, so it is graded against the normal range.
    """
    post_ = np.zeros(len(df), dtype=bool) if post is None else post.to_numpy(bool)
    out = pd.DataFrame(index=df.index)
    for var in ("ATOXGRLN", "ATOXGRHN"):
        out[var] = np.nan
    for var in ("ATOXDSCL", "ATOXDSCH"):
        out[var] = ""
    for paramcd, t in tests.items():
        rows = df["PARAMCD"].to_numpy() == paramcd
        if not rows.any():
            continue
        sub = df.loc[rows]
        for crit, high in ((t.low, False), (t.high, True)):
            if crit is None:
                continue
            out.loc[rows, "ATOXGRHN" if high else "ATOXGRLN"] = _direction(sub, crit, high, post_[rows])
            out.loc[rows, "ATOXDSCH" if high else "ATOXDSCL"] = crit.term
    # ATOXGR: the grade of the graded direction; a test graded both ways takes the higher grade, and
    # is grade 0 only when both directions are known to be 0 (admiral derive_var_atoxgr)
    lo, hi = out["ATOXGRLN"].to_numpy(float), out["ATOXGRHN"].to_numpy(float)
    grade = np.fmax(lo, hi)
    both = df["PARAMCD"].isin([c for c, t in tests.items() if t.low is not None and t.high is not None]).to_numpy()
    unknown = both & (np.isnan(lo) | np.isnan(hi)) & ~(grade > 0)
    out["ATOXGRN"] = np.where(unknown, np.nan, grade)
    for n, c in (("ATOXGRLN", "ATOXGRL"), ("ATOXGRHN", "ATOXGRH"), ("ATOXGRN", "ATOXGR")):
        out[c] = _grade_text(out[n])
    return out


def shift(before: pd.Series, after: pd.Series) -> pd.Series:
    """'<before> to <after>' where both are known (ADaMIG SHIFTy), else blank."""
    both = (before != "") & (after != "")
    return pd.Series(np.where(both, before + " to " + after, ""), index=before.index, dtype="str")


def derive_adlb(sdtm: dict[str, pd.DataFrame], adsl: pd.DataFrame, ds: Dataset) -> tuple[pd.DataFrame, list[Finding]]:
    """ADLB records for the spec's parameters; problems with the input are findings, never guesses."""
    p = AdlbParams.model_validate(ds.derivation.params if ds.derivation else {})
    src = p.source
    findings: list[Finding] = []
    lb = sdtm.get(src.dataset)
    if lb is None:
        return pd.DataFrame(), [Finding(Severity.ERROR, RULE, f"input dataset {src.dataset} is missing; ADLB not derived",
                                        dataset=ds.name)]
    need = ["USUBJID", src.testcd, src.value, src.unit, src.date]
    miss = missing_columns(lb, need, src.dataset, RULE)
    if miss:
        return pd.DataFrame(), miss
    tests = {prm.paramcd: LabTest.model_validate(prm.derivation.params)
             for prm in ds.parameters if prm.derivation is not None and prm.derivation.rule == "lab_test"}
    if not tests:
        return pd.DataFrame(), [Finding(Severity.ERROR, RULE, "no parameter with rule 'lab_test'", dataset=ds.name)]
    sel = lb.loc[where_mask(lb, src.where)]
    testcd = text_col(sel, src.testcd)
    to_param = {t.testcd: code for code, t in tests.items()}
    chosen = sel.loc[testcd.isin(list(to_param))]
    for code, t in tests.items():
        if not (testcd == t.testcd).any():
            findings.append(Finding(Severity.WARNING, RULE, f"parameter {code}: no {src.dataset} record with "
                                    f"{src.testcd} = {t.testcd}", dataset=ds.name, variable="PARAMCD", value=code))
    frame = pd.DataFrame({"USUBJID": text_col(chosen, "USUBJID"),
                          "PARAMCD": text_col(chosen, src.testcd).map(to_param)}, index=chosen.index)
    aval = num_col(chosen, src.value)
    unit = text_col(chosen, src.unit)
    expected = frame["PARAMCD"].map({c: t.unit for c, t in tests.items()})
    wrong = aval.notna() & (unit != expected)
    for code, grp in frame.loc[wrong].groupby("PARAMCD", sort=True):
        bad = unit.loc[grp.index]
        findings.append(Finding(Severity.WARNING, RULE, f"parameter {code}: {len(grp)} result(s) in unit "
                                f"{bad.iloc[0]!r}, not the standard {tests[code].unit!r}; AVAL left missing",
                                dataset=ds.name, variable=src.unit, value=bad.iloc[0]))
    frame["AVAL"] = aval.where(~wrong)
    frame["AVALC"] = text_col(chosen, src.value_char).where(~wrong, "")
    adt = complete_date(text_col(chosen, src.date))
    undated = (text_col(chosen, src.date) != "") & adt.isna()
    if undated.any():
        findings.append(Finding(Severity.WARNING, RULE, f"{int(undated.sum())} record(s) with an incomplete or invalid "
                                f"{src.date}: no ADT, so no window, baseline or change", dataset=ds.name,
                                variable=src.date, value=text_col(chosen, src.date)[undated].iloc[0]))
    frame["ADT"] = adt
    frame["ANRLO"] = num_col(chosen, src.low)
    frame["ANRHI"] = num_col(chosen, src.high)
    seq = num_col(chosen, src.seq)
    frame = traceability(frame, src.dataset, src.value, seq)
    order = {prm.paramcd: i + 1 for i, prm in enumerate(ds.parameters)}
    meta = {prm.paramcd: prm for prm in ds.parameters}
    frame["PARAM"] = frame["PARAMCD"].map({c: m.param for c, m in meta.items()}).astype("str")
    frame["PARAMN"] = frame["PARAMCD"].map(order).astype(float)
    frame["PARCAT1"] = frame["PARAMCD"].map({c: m.parcat1 or "" for c, m in meta.items()}).astype("str")
    adsl_subjects = set(text_col(adsl, "USUBJID"))
    orphan = ~frame["USUBJID"].isin(adsl_subjects)
    if orphan.any():
        findings.append(Finding(Severity.WARNING, RULE, f"{int(orphan.sum())} record(s) of subjects not in ADSL; "
                                "not used", dataset=ds.name, variable="USUBJID",
                                value=frame.loc[orphan, "USUBJID"].iloc[0]))
        frame = frame.loc[~orphan]
    out = finish_bds(frame.reset_index(drop=True), adsl, p, order=["SRCSEQ"])
    out["ANRIND"] = range_indicator(out["AVAL"], out["ANRLO"], out["ANRHI"])
    by = ["USUBJID", "PARAMCD"]
    out["BNRIND"] = baseline_values(out, by, out["ABLFL"], {"ANRIND": "BNRIND"})["BNRIND"].fillna("").astype("str")
    post = out["ADT"] > out[p.baseline.ref_var]
    out = pd.concat([out, toxicity(out, tests, post)], axis=1)
    base = baseline_values(out, by, out["ABLFL"], {"ATOXGR": "BTOXGR", "ATOXGRN": "BTOXGRN", "ATOXGRL": "BTOXGRL",
                                                    "ATOXGRH": "BTOXGRH"})
    for c in base.columns:
        out[c] = base[c].fillna("").astype("str") if c != "BTOXGRN" else base[c].astype(float)
    out["SHIFT1"] = shift(out["BNRIND"], out["ANRIND"]).where(post, "")
    graded = out["ATOXDSCL"].ne("") | out["ATOXDSCH"].ne("")
    out["SHIFT2"] = shift(out["BTOXGR"], out["ATOXGR"]).where(post & graded, "")
    out = out.sort_values(["USUBJID", "ASEQ"], kind="mergesort").reset_index(drop=True)
    return out, findings
