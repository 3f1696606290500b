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
    categorical,
    complete_date,
    finish_bds,
    from_flagged,
    obj,
    parameter_columns,
    range_indicator,
    record_order,
    text_codes,
    text_from_flagged,
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


def _direction(cols: dict[str, np.ndarray], crit: Criteria, high: bool, post: np.ndarray) -> np.ndarray:
    aval = cols["AVAL"]
    refs = {"ULN": cols["ANRHI"], "LLN": cols["ANRLO"], "BASE": cols["BASE"]}
    g = _grades(aval, refs, crit.grades)
    if crit.baseline_abnormal:
        base = refs["BASE"]
        with np.errstate(invalid="ignore"):
            abnormal = post & (base > refs["ULN"] if high else base < refs["LLN"])
        g = np.where(abnormal, _grades(aval, refs, crit.baseline_abnormal), g)
    return g


GRADE_TEXT = ["0", "1", "2", "3", "4", "5"]


def _grade_text(g: np.ndarray) -> pd.Categorical:
    return categorical(np.where(np.isnan(g), -1, np.nan_to_num(g)).astype(np.int64), GRADE_TEXT)


def toxicity(df: pd.DataFrame, tests: dict[str, LabTest], post: np.ndarray | None = None) -> pd.DataFrame:
    """ATOXGRL/H, ATOXDSCL/H, ATOXGR(N) per record, from the parameter's criteria (needs AVAL, ANRLO/HI, BASE).

    The baseline-abnormal criteria apply to post-baseline records (`post`) only: a baseline record
    has no earlier baseline of its own, so it is graded against the normal range.
    """
    n = len(df)
    post_ = np.zeros(n, dtype=bool) if post is None else np.asarray(post, dtype=bool)
    pid, puniq = pd.factorize(df["PARAMCD"])
    puniq = np.asarray(puniq, dtype=object)
    values = {c: df[c].to_numpy(float) for c in ("AVAL", "ANRLO", "ANRHI", "BASE")}
    grades = {"L": np.full(n, np.nan), "H": np.full(n, np.nan)}
    terms: list[str] = []
    term = {"L": np.full(n, -1), "H": np.full(n, -1)}       # index into `terms`; -1 = no criteria
    both = np.zeros(n, dtype=bool)
    for code, t in tests.items():
        hit = np.flatnonzero(puniq == code)
        if len(hit) == 0:
            continue
        rows = np.flatnonzero(pid == hit[0])
        sub = {c: v[rows] for c, v in values.items()}
        both[rows] = t.low is not None and t.high is not None
        for crit, side in ((t.low, "L"), (t.high, "H")):
            if crit is not None:
                grades[side][rows] = _direction(sub, crit, side == "H", post_[rows])
                term[side][rows] = len(terms)
                terms.append(crit.term)
    # ATOXGR: the grade of the graded direction; a test graded both ways takes the higher grade, and
    # is grade 0 only when both directions are known to be 0 (admiral derive_var_atoxgr)
    lo, hi = grades["L"], grades["H"]
    with np.errstate(invalid="ignore"):
        grade = np.fmax(lo, hi)
        unknown = both & (np.isnan(lo) | np.isnan(hi)) & ~(grade > 0)
    grade = np.where(unknown, np.nan, grade)
    return pd.DataFrame({"ATOXDSCL": categorical(term["L"], terms), "ATOXDSCH": categorical(term["H"], terms),
                         "ATOXGRL": _grade_text(lo), "ATOXGRH": _grade_text(hi), "ATOXGR": _grade_text(grade),
                         "ATOXGRN": grade}, index=df.index)


def shift(before, after, keep: np.ndarray) -> pd.Categorical:
    """'<before> to <after>' where `keep` and both are known (ADaMIG SHIFTy), else blank."""
    bc, bu = pd.factorize(before)
    ac, au = pd.factorize(after)
    bu, au = np.asarray(bu, dtype=object), np.asarray(au, dtype=object)
    ok = np.asarray(keep, dtype=bool) & (bc >= 0) & (ac >= 0)
    ok[ok] = (bu[bc[ok]] != "") & (au[ac[ok]] != "")
    # one string per distinct pair, shared by its records (millions of lab rows, a few dozen shifts)
    table = [f"{b} to {a}" for b in bu for a in au]
    return categorical(np.where(ok, bc * max(len(au), 1) + ac, -1), table)


def _unit_findings(ds: Dataset, src: LabSource, tests: dict[str, LabTest], params: list[str], pid: np.ndarray,
                   ucode: np.ndarray, uniq: np.ndarray, wrong: np.ndarray) -> list[Finding]:
    """One WARNING per parameter with results in a unit other than its standard one (the first such unit)."""
    out = []
    for k in np.unique(pid[wrong]):
        first = np.flatnonzero(wrong & (pid == k))[0]
        unit = uniq[ucode[first]] if ucode[first] >= 0 else ""
        code = params[k]
        out.append(Finding(Severity.WARNING, RULE, f"parameter {code}: {int((wrong & (pid == k)).sum())} result(s) in "
                           f"unit {unit!r}, not the standard {tests[code].unit!r}; AVAL left missing",
                           dataset=ds.name, variable=src.unit, value=unit))
    return out


def derive_adlb(sdtm: dict[str, pd.DataFrame], adsl: pd.DataFrame, ds: Dataset) -> tuple[pd.DataFrame, list[Finding]]:
    """ADLB records for the spec's parameters; problems with the input are findings, never guesses.

    Text is handled as codes from end to end (each distinct LBTESTCD, USUBJID, LBDTC ... read once;
    the text columns of the result are Categoricals): millions of lab records stay within a quarter
    of the memory admiral's template takes, with either pandas string layout.
    """
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
    used = [c for c in dict.fromkeys(["USUBJID", src.testcd, src.value, src.value_char, src.unit, src.date, src.low,
                                      src.high, src.seq]) if c in lb.columns]
    sel = lb.loc[where_mask(lb, src.where), used] if src.where else lb
    tc_codes, tc_uniq = text_codes(sel, src.testcd)
    for code, t in tests.items():
        if t.testcd not in set(tc_uniq):
            findings.append(Finding(Severity.WARNING, RULE, f"parameter {code}: no {src.dataset} record with "
                                    f"{src.testcd} = {t.testcd}", dataset=ds.name, variable="PARAMCD", value=code))
    params = sorted(tests)                              # PARAMCD codes in sorted order (the record order's)
    to_param = {t.testcd: params.index(code) for code, t in tests.items()}
    pid = np.array([to_param.get(u, -1) for u in tc_uniq] + [-1])[tc_codes]
    keep = pid >= 0
    s_codes, s_uniq = text_codes(sel, "USUBJID")
    known_subject = np.append(pd.Index(obj(adsl, "USUBJID")).get_indexer(s_uniq) >= 0, False)
    known = known_subject[s_codes[keep]]
    if not known.all():
        first = s_codes[np.flatnonzero(keep)[~known][0]]
        findings.append(Finding(Severity.WARNING, RULE, f"{int((~known).sum())} record(s) of subjects not in ADSL; "
                                "not used", dataset=ds.name, variable="USUBJID",
                                value=s_uniq[first] if first >= 0 else ""))
    rows = np.flatnonzero(keep)[known]
    del keep, known
    s_rank = np.empty(len(s_uniq), dtype=np.int64)
    s_rank[np.argsort(s_uniq.astype(str), kind="stable")] = np.arange(len(s_uniq))
    sid, pid = s_rank[s_codes[rows]], pid[rows]
    d_codes, d_uniq = text_codes(sel, src.date)
    d_uniq = np.append(d_uniq, "")
    adt = np.append(complete_date(pd.Series(d_uniq, dtype=object)).to_numpy(), np.nan)[d_codes[rows]]
    seq = num_col(sel, src.seq).to_numpy()[rows]
    # take the records in ADaM order (finish_bds then keeps them as they are: no second copy of the frame)
    order = record_order(sid, pid, adt, [seq])
    rows, sid, pid, adt, seq = rows[order], sid[order], pid[order], adt[order], seq[order]
    frame = pd.DataFrame({"USUBJID": pd.Categorical.from_codes(sid, categories=pd.Index(np.sort(s_uniq.astype(str)),
                                                                                          dtype="str")),
                          "PARAMCD": categorical(pid, params)})
    aval = num_col(sel, src.value).to_numpy()[rows]
    u_codes, u_uniq = text_codes(sel, src.unit)
    ucode = u_codes[rows]
    standard = np.array([tests[c].unit for c in params], dtype=object)[:, None] == np.append(u_uniq, "")[None, :]
    wrong = ~np.isnan(aval) & ~standard[pid, ucode]     # code -1 (missing unit) takes the appended ""
    findings += _unit_findings(ds, src, tests, params, pid, ucode, u_uniq, wrong)
    frame["AVAL"] = np.where(wrong, np.nan, aval)
    vc_codes, vc_uniq = text_codes(sel, src.value_char)
    frame["AVALC"] = categorical(np.where(wrong, -1, vc_codes[rows]), vc_uniq)
    del aval, ucode, vc_codes, u_codes
    dcode = d_codes[rows]
    undated = (d_uniq[dcode] != "") & np.isnan(adt)
    if undated.any():
        findings.append(Finding(Severity.WARNING, RULE, f"{int(undated.sum())} record(s) with an incomplete or invalid "
                                f"{src.date}: no ADT, so no window, baseline or change", dataset=ds.name,
                                variable=src.date, value=d_uniq[dcode[undated][0]]))
    del d_codes, dcode, undated
    frame["ADT"] = adt
    frame["ANRLO"] = num_col(sel, src.low).to_numpy()[rows]
    frame["ANRHI"] = num_col(sel, src.high).to_numpy()[rows]
    frame["SRCDOM"] = categorical(np.zeros(len(rows), dtype=np.int64), [src.dataset])
    frame["SRCVAR"] = categorical(np.zeros(len(rows), dtype=np.int64), [src.value])
    frame["SRCSEQ"] = seq
    for c, v in parameter_columns(frame["PARAMCD"].array, ds.parameters).items():
        frame[c] = v
    del sel, rows, s_codes
    out = finish_bds(frame, adsl, p, order=["SRCSEQ"])
    del frame
    g = out["_G"].to_numpy()
    abl = (out["ABLFL"] == "Y").to_numpy()
    out["ANRIND"] = range_indicator(out["AVAL"], out["ANRLO"], out["ANRHI"])
    out["BNRIND"] = text_from_flagged(g, abl, out["ANRIND"].array)
    post = (out["ADT"] > out[p.baseline.ref_var]).to_numpy()
    tox = toxicity(out, tests, post)
    graded = ((tox["ATOXDSCL"] != "") | (tox["ATOXDSCH"] != "")).to_numpy()
    for c in tox.columns:
        out[c] = tox[c].array
    del tox
    for a, b in (("ATOXGR", "BTOXGR"), ("ATOXGRL", "BTOXGRL"), ("ATOXGRH", "BTOXGRH")):
        out[b] = text_from_flagged(g, abl, out[a].array)
    out["BTOXGRN"] = from_flagged(g, abl, out["ATOXGRN"].to_numpy(float))
    out["SHIFT1"] = shift(out["BNRIND"].array, out["ANRIND"].array, post)
    out["SHIFT2"] = shift(out["BTOXGR"].array, out["ATOXGR"].array, post & graded)
    return out, findings
