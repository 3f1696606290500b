"""ADQS (BDS, ADaMIG 1.3): EORTC questionnaire scale scores, baseline, change and responder flags.

Each spec parameter is a scale: rule `qs_scale` (QsScale: its QSCAT, its items, scale kind and item
range) scored per the EORTC QLQ-C30 Scoring Manual, 3rd ed. (2001), section 2 (raw score = mean of the
answered items; linear transformation to 0-100) and section 4 (a scale needs at least half its items),
or rule `qs_summary` (QsSummary: the QLQ-C30 summary score of Giesinger et al., J Clin Epidemiol
2016;69:79-88: the mean of 13 scale scores with symptom scores reversed). Whole-frame groupbys only.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, model_validator

from adam.bds import BdsCommon, categorical, complete_date, finish_bds, obj, parameter_columns, recode, text_codes
from adam.derive_common import SpecParams, input_frame, num_col, where_mask
from studyforge.findings import Finding, Severity
from studyforge.spec.models import Dataset

RULE = "ADQS"


class QsSource(SpecParams):
    dataset: str = "QS"
    where: dict[str, list[str]] = Field(default_factory=dict)
    category: str = "QSCAT"
    testcd: str = "QSTESTCD"
    value: str = Field("QSSTRESN", description="the item's numeric response (1-4, or 1-7)")
    date: str = "QSDTC"
    visit: str = Field("VISITNUM", description="separates two questionnaires on one date")


class QsScale(SpecParams):
    """Rule `qs_scale`: one scale or single item (scoring manual section 2)."""

    category: str = Field(min_length=1, description="QSCAT of the instrument")
    items: list[str] = Field(min_length=1, description="QSTESTCD of the scale's items")
    kind: Literal["functional", "symptom", "global"] = Field(
        description="functional: (1-(RS-1)/range)x100; symptom and global: ((RS-1)/range)x100")
    range: float = Field(3, gt=0, description="highest minus lowest possible item response")
    min_fraction: float = Field(0.5, gt=0, le=1, description="share of items that must be answered")

    @model_validator(mode="after")
    def _unique(self) -> "QsScale":
        if len(set(self.items)) != len(self.items):
            raise ValueError("an item is listed twice")
        return self

    @property
    def higher_is_better(self) -> bool:
        return self.kind in ("functional", "global")


class QsSummary(SpecParams):
    """Rule `qs_summary`: mean of component scales, `reverse` ones as 100 - score (Giesinger 2016)."""

    components: list[str] = Field(min_length=2, description="PARAMCDs of qs_scale parameters")
    reverse: list[str] = Field(default_factory=list, description="components entered as 100 - score")
    min_components: int | None = Field(None, ge=1, description="default: every component must be scored")

    @model_validator(mode="after")
    def _subset(self) -> "QsSummary":
        extra = sorted(set(self.reverse) - set(self.components))
        if extra:
            raise ValueError(f"reverse names non-components: {', '.join(extra)}")
        return self


class Responder(SpecParams):
    """CRIT1 (deterioration) and CRIT2 (improvement): |CHG| >= threshold in the worse/better direction."""

    threshold: float = Field(10, gt=0, description="points on the 0-100 scale")
    deterioration: str = "Deterioration: worse than baseline by >= 10 points"
    improvement: str = "Improvement: better than baseline by >= 10 points"

    @model_validator(mode="after")
    def _text_states_threshold(self) -> "Responder":
        t = f"{self.threshold:g}"
        for text in (self.deterioration, self.improvement):
            if t not in text:
                raise ValueError(f"criterion text {text!r} must state the threshold {t}")
        return self


class AdqsParams(BdsCommon):
    source: QsSource = Field(default_factory=QsSource)
    responder: Responder = Field(default_factory=Responder)


RULES: dict[str, type[BaseModel]] = {"adqs": AdqsParams, "qs_scale": QsScale, "qs_summary": QsSummary}


def _group_sums(key: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct keys, sum and count of the non-missing values per key (sort + bincount)."""
    uk, inv = np.unique(key, return_inverse=True)
    ok = ~np.isnan(values)
    return uk, np.bincount(inv, weights=np.where(ok, values, 0.0), minlength=len(uk)), \
        np.bincount(inv, weights=ok.astype(float), minlength=len(uk))


def scale_scores(q: np.ndarray, k: np.ndarray, value: np.ndarray, scales: list[QsScale]) -> tuple[np.ndarray, ...]:
    """Scores per (questionnaire q, scale k) from item rows: (q, k, S) of the scored and (k,) of the too sparse.

    EORTC QLQ-C30 Scoring Manual 3rd ed., section 2: RS = mean of the answered items; functional
    S = (1 - (RS-1)/range) x 100, symptom/global S = (RS-1)/range x 100; section 4: scored when the
    answered items are at least min_fraction of the scale's items.
    """
    ns = len(scales)
    uk, sums, counts = _group_sums(q.astype(np.int64) * ns + k, value)
    qk, kk = uk // ns, uk % ns
    n_items = np.array([len(s.items) for s in scales], dtype=float)[kk]
    need = np.array([s.min_fraction for s in scales])[kk] * n_items
    scored = counts >= need - 1e-9
    with np.errstate(invalid="ignore", divide="ignore"):
        rs = sums / counts
    rng = np.array([s.range for s in scales], dtype=float)[kk]
    lin = (rs - 1) / rng * 100
    functional = np.array([s.kind == "functional" for s in scales])[kk]
    score = np.where(functional, 100 - lin, lin)
    return qk[scored], kk[scored], score[scored], kk[~scored]


def summary_scores(q: np.ndarray, k: np.ndarray, score: np.ndarray, codes: list[str],
                   summaries: dict[str, QsSummary]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Giesinger et al. 2016: per questionnaire the mean of the component scores, symptom ones as 100 - S."""
    out = []
    for code, s in summaries.items():
        comp = np.isin(k, [codes.index(c) for c in s.components if c in codes])
        rev = np.isin(k, [codes.index(c) for c in s.reverse if c in codes])
        val = np.where(rev, 100 - score, score)[comp]
        uq, sums, counts = _group_sums(q[comp], val)
        full = counts >= (s.min_components or len(s.components))
        out.append((code, uq[full], sums[full] / counts[full]))
    return out


def responder_flags(chg: np.ndarray, better_up: np.ndarray, r: Responder) -> dict[str, np.ndarray]:
    """CRIT1/CRIT1FL (deterioration) and CRIT2/CRIT2FL (improvement) where CHG is known, else blank."""
    has = ~np.isnan(chg)
    signed = np.where(better_up, chg, -chg)  # > 0 means better
    with np.errstate(invalid="ignore"):
        worse, better = has & (signed <= -r.threshold), has & (signed >= r.threshold)

    def text(mask: np.ndarray, value: str) -> np.ndarray:
        out = np.full(len(chg), "", dtype=object)
        out[mask] = value
        return out

    return {"CRIT1": text(has, r.deterioration), "CRIT1FL": np.where(worse, "Y", np.where(has, "N", "")).astype(object),
            "CRIT2": text(has, r.improvement), "CRIT2FL": np.where(better, "Y", np.where(has, "N", "")).astype(object)}


def derive_adqs(sdtm: dict[str, pd.DataFrame], adsl: pd.DataFrame, ds: Dataset) -> tuple[pd.DataFrame, list[Finding]]:
    """ADQS records of the spec's scales; missing inputs and unscorable questionnaires are findings."""
    p = AdqsParams.model_validate(ds.derivation.params if ds.derivation else {})
    src = p.source
    qs, miss = input_frame(sdtm, src.dataset, ["USUBJID", src.category, src.testcd, src.value, src.date], rule=RULE,
                           target=ds.name)
    if qs is None:
        return pd.DataFrame(), miss
    scale_map = {prm.paramcd: QsScale.model_validate(prm.derivation.params)
                 for prm in ds.parameters if prm.derivation is not None and prm.derivation.rule == "qs_scale"}
    summaries = {prm.paramcd: QsSummary.model_validate(prm.derivation.params)
                 for prm in ds.parameters if prm.derivation is not None and prm.derivation.rule == "qs_summary"}
    codes, scales = list(scale_map), list(scale_map.values())
    findings: list[Finding] = []
    for code, s in summaries.items():
        unknown = sorted(set(s.components) - set(scale_map))
        if unknown:
            findings.append(Finding(Severity.ERROR, RULE, f"summary {code}: components without a qs_scale parameter: "
                                    f"{', '.join(unknown)}", dataset=ds.name, variable="PARAMCD", value=code))
    sel = qs.loc[where_mask(qs, src.where)] if src.where else qs
    cat_c, cat_u = text_codes(sel, src.category)       # codes, not a Python string per item response
    tc_c, tc_u = text_codes(sel, src.testcd)
    cat_pos = {c: i for i, c in enumerate(cat_u)}
    tc_pos = {t: i for i, t in enumerate(tc_u)}
    nt = max(len(tc_u), 1)
    pair = cat_c.astype(np.int64) * nt + tc_c
    member = [(cat_pos[s.category] * nt + tc_pos[i], k) for k, s in enumerate(scales) for i in s.items
              if s.category in cat_pos and i in tc_pos]
    present = {(s.category, i) for s in scales for i in s.items if s.category in cat_pos and i in tc_pos}
    for code, s in scale_map.items():
        absent = [i for i in s.items if (s.category, i) not in present]
        if absent:
            findings.append(Finding(Severity.WARNING, RULE, f"scale {code}: item(s) never found in {src.dataset} "
                                    f"({src.category} = {s.category}): {', '.join(absent)}", dataset=ds.name,
                                    variable=src.testcd, value=absent[0]))
    mem = pd.DataFrame(member, columns=["pair", "k"], dtype=np.int64)
    rows = np.flatnonzero(np.isin(pair, mem["pair"].to_numpy()))
    s_codes, s_uniq = text_codes(sel, "USUBJID")
    usubjid = s_codes[rows]
    d_codes, d_uniq = text_codes(sel, src.date)
    dtc = d_codes[rows]
    visit = num_col(sel, src.visit).to_numpy()[rows] if src.visit in sel.columns else np.full(len(rows), -1.0)
    # one questionnaire = subject, instrument, visit and date
    parts = [usubjid, cat_c[rows], pd.factorize(np.nan_to_num(visit, nan=-1.0))[0], dtc]
    qkey = np.zeros(len(rows), dtype=np.int64)
    for part in parts:
        qkey = qkey * (int(part.max()) + 1 if len(part) else 1) + part
    qid, _ = pd.factorize(qkey)
    items = pd.DataFrame({"pair": pair[rows], "row": np.arange(len(rows))}).merge(mem, on="pair", how="inner")
    r, k = items["row"].to_numpy(), items["k"].to_numpy()
    value = num_col(sel, src.value).to_numpy()[rows][r]
    top = 1 + np.array([s.range for s in scales])[k]
    with np.errstate(invalid="ignore"):
        bad = (value < 1) | (value > top)
    for kk in np.unique(k[bad]):
        hit = bad & (k == kk)
        findings.append(Finding(Severity.ERROR, RULE, f"scale {codes[kk]}: {int(hit.sum())} response(s) outside "
                                f"1..{1 + scales[kk].range:g}; not scored", dataset=ds.name, variable=src.value,
                                value=f"{value[hit][0]:g}"))
    value = np.where(bad, np.nan, value)
    sq, sk, score, sparse = scale_scores(qid[r], k, value, scales)
    for kk, n in zip(*np.unique(sparse, return_counts=True)):
        findings.append(Finding(Severity.NOTICE, RULE, f"scale {codes[kk]}: {n} questionnaire(s) with fewer than the "
                                "required share of items answered; not scored (scoring manual section 4)",
                                dataset=ds.name, variable="AVAL", value=codes[kk]))
    rec_q = [sq]
    rec_code = [np.asarray(codes, dtype=object)[sk]]
    rec_val = [score]
    for code, uq, val in summary_scores(sq, sk, score, codes, summaries):
        rec_q.append(uq)
        rec_code.append(np.full(len(uq), code, dtype=object))
        rec_val.append(val)
    q_all = np.concatenate(rec_q)
    first = np.full(int(qid.max()) + 1 if len(qid) else 0, 0, dtype=np.int64)
    first[qid[::-1]] = np.arange(len(qid))[::-1]          # a row of each questionnaire
    at = first[q_all]
    recs = pd.DataFrame({"USUBJID": categorical(usubjid[at], s_uniq), "PARAMCD": np.concatenate(rec_code),
                         "AVAL": np.concatenate(rec_val), "_VISITNUM": np.nan_to_num(visit[at], nan=-1.0)})
    rec_dtc = dtc[at]
    adt = complete_date(pd.Series(d_uniq, dtype=object)).to_numpy()[rec_dtc]    # each distinct date parsed once
    undated = np.isnan(adt)
    if undated.any():
        findings.append(Finding(Severity.WARNING, RULE, f"{int(undated.sum())} score(s) from questionnaires without a "
                                f"complete {src.date}: no ADT, so no window, baseline or change", dataset=ds.name,
                                variable=src.date, value=d_uniq[rec_dtc[undated][0]]))
    recs["ADT"] = adt
    for c, v in parameter_columns(recs["PARAMCD"].to_numpy(), ds.parameters).items():
        recs[c] = v
    known = (pd.Index(obj(adsl, "USUBJID")).get_indexer(s_uniq) >= 0)[usubjid[at]]
    out = finish_bds(recs.loc[known], adsl, p, order=["_VISITNUM"])
    better = {**{c: s.higher_is_better for c, s in scale_map.items()}, **{c: True for c in summaries}}
    better_up = recode(out["PARAMCD"].to_numpy(), better, True).astype(bool)
    for c, v in responder_flags(out["CHG"].to_numpy(float), better_up, p.responder).items():
        out[c] = v
    return out.drop(columns=["_VISITNUM"]), findings
