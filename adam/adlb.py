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
from pydantic import BaseModel, Field

from adam.bds import (
    BdsCommon,
    complete_date,
    finish_bds,
    from_flagged,
    obj,
    parameter_columns,
    range_indicator,
    recode,
    record_order,
)
from adam.derive_common import SpecParams, input_frame, num_col, where_mask
from studyforge.findings import Finding, Severity
from studyforge.spec.models import Dataset

RULE = "ADLB"


class LabSource(SpecParams):
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


class Grade(SpecParams):
    """A grade is met when AVAL <op> factor x ref (ref VALUE: factor is the threshold itself)."""

    grade: int = Field(ge=1, le=5)
    op: Literal["gt", "ge", "lt", "le"]
    factor: float
    ref: Literal["ULN", "LLN", "BASE", "VALUE"]


class Criteria(SpecParams):
    """One CTCAE v5.0 term in one direction; the highest grade met wins, none met is grade 0."""

    term: str = Field(min_length=1, description="CTCAE term, e.g. 'Alanine aminotransferase increased'")
    grades: list[Grade] = Field(min_length=1)
    baseline_abnormal: list[Grade] = Field(
        default_factory=list, description="used instead when BASE is beyond the normal range in this direction")


class LabTest(SpecParams):
    """Parameter rule `lab_test`: the LB test, its standard unit and its toxicity criteria."""

    testcd: str = Field(min_length=1)
    unit: str = Field(description="standard unit (LBSTRESU); a result in another unit is reported, not used")
    low: Criteria | None = None
    high: Criteria | None = None


class AdlbParams(BdsCommon):
    source: LabSource = Field(default_factory=LabSource)


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


GRADE_TEXT = np.array(["0", "1", "2", "3", "4", "5", ""], dtype=object)


def _grade_text(g: np.ndarray) -> np.ndarray:
    return GRADE_TEXT[np.where(np.isnan(g), 6, np.nan_to_num(g)).astype(int)]


def toxicity(df: pd.DataFrame, tests: dict[str, LabTest], post: np.ndarray | None = None) -> pd.DataFrame:
    """ATOXGRL/H, ATOXDSCL/H, ATOXGR(N) per record, from the parameter's criteria (needs AVAL, ANRLO/HI, BASE).

    The baseline-abnormal criteria apply to post-baseline records (`post`) only: a baseline record
    has no earlier baseline of its own, so it is graded against the normal range.
    """
    n = len(df)
    post_ = np.zeros(n, dtype=bool) if post is None else np.asarray(post, dtype=bool)
    pid, puniq = pd.factorize(np.asarray(df["PARAMCD"], dtype=object))
    grades = {"L": np.full(n, np.nan), "H": np.full(n, np.nan)}
    terms = {"L": np.full(n, "", dtype=object), "H": np.full(n, "", dtype=object)}
    both = np.zeros(n, dtype=bool)
    for code, t in tests.items():
        hit = np.flatnonzero(np.asarray(puniq, dtype=object) == code)
        if len(hit) == 0:
            continue
        rows = pid == hit[0]
        sub = df.loc[rows]
        both |= rows & (t.low is not None and t.high is not None)
        for crit, side in ((t.low, "L"), (t.high, "H")):
            if crit is not None:
                grades[side][rows] = _direction(sub, crit, side == "H", post_[rows])
                terms[side][rows] = crit.term
    # ATOXGR: the grade of the graded direction; a test graded both ways takes the higher grade, and
    # is grade 0 only when both directions are known to be 0 (admiral derive_var_atoxgr)
    lo, hi = grades["L"], grades["H"]
    with np.errstate(invalid="ignore"):
        grade = np.fmax(lo, hi)
        unknown = both & (np.isnan(lo) | np.isnan(hi)) & ~(grade > 0)
    grade = np.where(unknown, np.nan, grade)
    return pd.DataFrame({"ATOXDSCL": terms["L"], "ATOXDSCH": terms["H"], "ATOXGRL": _grade_text(lo),
                         "ATOXGRH": _grade_text(hi), "ATOXGR": _grade_text(grade), "ATOXGRN": grade}, index=df.index)


def shift(before: np.ndarray, after: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """'<before> to <after>' where `keep` and both are known (ADaMIG SHIFTy), else blank."""
    bc, bu = pd.factorize(np.asarray(before, dtype=object))
    ac, au = pd.factorize(np.asarray(after, dtype=object))
    bu, au = np.asarray(bu, dtype=object), np.asarray(au, dtype=object)
    ok = np.asarray(keep, dtype=bool) & (bc >= 0) & (ac >= 0)
    ok[ok] = (bu[bc[ok]] != "") & (au[ac[ok]] != "")
    # one string per distinct pair, shared by its records (millions of lab rows, a few dozen shifts)
    table = np.array([f"{b} to {a}" for b in bu for a in au] + [""], dtype=object)
    return table[np.where(ok, bc * max(len(au), 1) + ac, len(table) - 1)]


def derive_adlb(sdtm: dict[str, pd.DataFrame], adsl: pd.DataFrame, ds: Dataset) -> tuple[pd.DataFrame, list[Finding]]:
    """ADLB records for the spec's parameters; problems with the input are findings, never guesses."""
    p = AdlbParams.model_validate(ds.derivation.params if ds.derivation else {})
    src = p.source
    findings: list[Finding] = []
    lb, miss = input_frame(sdtm, src.dataset, ["USUBJID", src.testcd, src.value, src.unit, src.date], rule=RULE,
                           target=ds.name)
    if lb is None:
        return pd.DataFrame(), miss
    tests = {prm.paramcd: LabTest.model_validate(prm.derivation.params)
             for prm in ds.parameters if prm.derivation is not None and prm.derivation.rule == "lab_test"}
    if not tests:
        return pd.DataFrame(), [Finding(Severity.ERROR, RULE, "no parameter with rule 'lab_test'", dataset=ds.name)]
    sel = lb.loc[where_mask(lb, src.where)] if src.where else lb
    testcd = obj(sel, src.testcd)
    to_param = {t.testcd: code for code, t in tests.items()}
    paramcd = recode(testcd, to_param)
    keep = paramcd != ""
    present = set(pd.unique(testcd))
    for code, t in tests.items():
        if t.testcd not in present:
            findings.append(Finding(Severity.WARNING, RULE, f"parameter {code}: no {src.dataset} record with "
                                    f"{src.testcd} = {t.testcd}", dataset=ds.name, variable="PARAMCD", value=code))
    usubjid = obj(sel, "USUBJID")[keep]
    known = pd.Index(obj(adsl, "USUBJID")).get_indexer(usubjid) >= 0
    if not known.all():
        findings.append(Finding(Severity.WARNING, RULE, f"{int((~known).sum())} record(s) of subjects not in ADSL; "
                                "not used", dataset=ds.name, variable="USUBJID", value=usubjid[~known][0]))
    rows = np.flatnonzero(keep)[known]
    usubjid, paramcd = usubjid[known], paramcd[rows]
    dtc = pd.Series(obj(sel, src.date)[rows], dtype=object)
    adt = complete_date(dtc).to_numpy()
    # take the records in ADaM order (finish_bds then keeps them as they are: no second copy of the frame)
    order = record_order(usubjid, paramcd, adt, [num_col(sel, src.seq).to_numpy()[rows]])
    rows, usubjid, paramcd, adt, dtc = rows[order], usubjid[order], paramcd[order], adt[order], dtc.iloc[order]
    cols = [c for c in dict.fromkeys([src.value, src.value_char, src.unit, src.low, src.high, src.seq])
            if c in sel.columns]
    chosen = sel[cols].iloc[rows]
    frame = pd.DataFrame({"USUBJID": usubjid, "PARAMCD": paramcd})
    aval = num_col(chosen, src.value).to_numpy()
    unit = obj(chosen, src.unit)
    expected = recode(paramcd, {c: t.unit for c, t in tests.items()})
    wrong = ~np.isnan(aval) & (unit != expected)
    if wrong.any():
        bad = pd.DataFrame({"PARAMCD": paramcd[wrong], "UNIT": unit[wrong]})
        for code, grp in bad.groupby("PARAMCD", sort=True):
            findings.append(Finding(Severity.WARNING, RULE, f"parameter {code}: {len(grp)} result(s) in unit "
                                    f"{grp['UNIT'].iloc[0]!r}, not the standard {tests[code].unit!r}; AVAL left "
                                    "missing", dataset=ds.name, variable=src.unit, value=grp["UNIT"].iloc[0]))
    frame["AVAL"] = np.where(wrong, np.nan, aval)
    frame["AVALC"] = np.where(wrong, "", obj(chosen, src.value_char))
    dtc = dtc.reset_index(drop=True)
    undated = (dtc.to_numpy(dtype=object) != "") & np.isnan(adt)
    if undated.any():
        findings.append(Finding(Severity.WARNING, RULE, f"{int(undated.sum())} record(s) with an incomplete or invalid "
                                f"{src.date}: no ADT, so no window, baseline or change", dataset=ds.name,
                                variable=src.date, value=dtc[undated].iloc[0]))
    frame["ADT"] = adt
    frame["ANRLO"] = num_col(chosen, src.low).to_numpy()
    frame["ANRHI"] = num_col(chosen, src.high).to_numpy()
    frame["SRCDOM"] = src.dataset
    frame["SRCVAR"] = src.value
    frame["SRCSEQ"] = num_col(chosen, src.seq).to_numpy()
    del chosen
    for c, v in parameter_columns(paramcd, ds.parameters).items():
        frame[c] = v
    out = finish_bds(frame, adsl, p, order=["SRCSEQ"])
    g = out["_G"].to_numpy()
    abl = out["ABLFL"].to_numpy(dtype=object) == "Y"
    out["ANRIND"] = range_indicator(out["AVAL"], out["ANRLO"], out["ANRHI"])
    out["BNRIND"] = from_flagged(g, abl, out["ANRIND"].to_numpy(dtype=object), "")
    post = (out["ADT"] > out[p.baseline.ref_var]).to_numpy()
    tox = toxicity(out, tests, post)
    graded = (tox["ATOXDSCL"].to_numpy(dtype=object) != "") | (tox["ATOXDSCH"].to_numpy(dtype=object) != "")
    for c in tox.columns:
        out[c] = tox[c].to_numpy()
    del tox
    for a, b in (("ATOXGR", "BTOXGR"), ("ATOXGRL", "BTOXGRL"), ("ATOXGRH", "BTOXGRH")):
        out[b] = from_flagged(g, abl, out[a].to_numpy(dtype=object), "")
    out["BTOXGRN"] = from_flagged(g, abl, out["ATOXGRN"].to_numpy(float))
    out["SHIFT1"] = shift(out["BNRIND"], out["ANRIND"], post)
    out["SHIFT2"] = shift(out["BTOXGR"], out["ATOXGR"], post & graded)
    return out, findings
