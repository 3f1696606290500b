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
from pydantic import BaseModel, ConfigDict, Field, model_validator

from adam.bds import BdsCommon, complete_date, finish_bds
from adam.derive_common import missing_columns, num_col, text_col, where_mask
from studyforge.findings import Finding, Severity
from studyforge.spec.models import Dataset

RULE = "ADQS"
KEY = ["USUBJID", "_CAT", "_VISITNUM", "_DTC"]


class _P(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QsSource(_P):
    dataset: str = "QS"
    where: dict[str, list[str]] = Field(default_factory=dict)
    category: str = "QSCAT"
    testcd: str = "QSTESTCD"
    value: str = Field("QSSTRESN", description="the item's numeric response (1-4, or 1-7)")
    date: str = "QSDTC"
    visit: str = Field("VISITNUM", description="separates two questionnaires on one date")


class QsScale(_P):
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


class QsSummary(_P):
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


class Responder(_P):
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


def scale_scores(items: pd.DataFrame, scales: dict[str, QsScale]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Transformed scores per questionnaire and scale, and the questionnaires too sparse to score.

    `items` has KEY columns, _TESTCD and _VALUE (numeric). Scoring manual 3rd ed., section 2:
    RS = mean of answered items; functional S = (1 - (RS-1)/range) x 100, symptom/global
    S = (RS-1)/range x 100; section 4: scored when answered items >= min_fraction x items.
    """
    member = pd.DataFrame([(s.category, i, code) for code, s in scales.items() for i in s.items],
                          columns=["_CAT", "_TESTCD", "PARAMCD"])
    m = items.merge(member, on=["_CAT", "_TESTCD"], how="inner", sort=False)
    g = m.groupby([*KEY, "PARAMCD"], sort=False, observed=True)["_VALUE"]
    agg = pd.DataFrame({"RS": g.mean(), "ANSWERED": g.count()}).reset_index()
    n_items = agg["PARAMCD"].map({c: len(s.items) for c, s in scales.items()})
    need = agg["PARAMCD"].map({c: s.min_fraction for c, s in scales.items()}) * n_items
    scored = agg["ANSWERED"] >= need - 1e-9
    rng = agg["PARAMCD"].map({c: s.range for c, s in scales.items()}).astype(float)
    functional = agg["PARAMCD"].map({c: s.kind == "functional" for c, s in scales.items()}).astype(bool)
    lin = (agg["RS"] - 1) / rng * 100
    agg["AVAL"] = np.where(functional, 100 - lin, lin)
    return agg.loc[scored, [*KEY, "PARAMCD", "AVAL"]], agg.loc[~scored, [*KEY, "PARAMCD"]]


def summary_scores(scores: pd.DataFrame, summaries: dict[str, QsSummary]) -> pd.DataFrame:
    """Giesinger et al. 2016: mean of the component scores, symptom components as 100 - score."""
    out = []
    for code, s in summaries.items():
        part = scores.loc[scores["PARAMCD"].isin(s.components)].copy()
        part["AVAL"] = np.where(part["PARAMCD"].isin(s.reverse), 100 - part["AVAL"], part["AVAL"])
        g = part.groupby(KEY, sort=False, observed=True)["AVAL"]
        agg = pd.DataFrame({"AVAL": g.mean(), "N": g.count()}).reset_index()
        agg = agg.loc[agg["N"] >= (s.min_components or len(s.components))].drop(columns="N")
        agg["PARAMCD"] = code
        out.append(agg)
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=[*KEY, "PARAMCD", "AVAL"])


def responder_flags(chg: pd.Series, better_up: pd.Series, r: Responder) -> pd.DataFrame:
    """CRIT1/CRIT1FL (deterioration) and CRIT2/CRIT2FL (improvement) where CHG is known, else blank."""
    has = chg.notna()
    signed = np.where(better_up.to_numpy(bool), chg, -chg)  # > 0 means better
    worse = has & (signed <= -r.threshold)
    better = has & (signed >= r.threshold)
    blank = pd.Series("", index=chg.index, dtype="str")
    return pd.DataFrame({
        "CRIT1": blank.where(~has, r.deterioration), "CRIT1FL": blank.where(~has, np.where(worse, "Y", "N")),
        "CRIT2": blank.where(~has, r.improvement), "CRIT2FL": blank.where(~has, np.where(better, "Y", "N")),
    }, index=chg.index).astype("str")


def derive_adqs(sdtm: dict[str, pd.DataFrame], adsl: pd.DataFrame, ds: Dataset) -> tuple[pd.DataFrame, list[Finding]]:
    """ADQS records of the spec's scales; missing inputs and unscorable questionnaires are findings."""
    p = AdqsParams.model_validate(ds.derivation.params if ds.derivation else {})
    src = p.source
    qs = sdtm.get(src.dataset)
    if qs is None:
        return pd.DataFrame(), [Finding(Severity.ERROR, RULE, f"input dataset {src.dataset} is missing; ADQS not derived",
                                        dataset=ds.name)]
    miss = missing_columns(qs, ["USUBJID", src.category, src.testcd, src.value, src.date], src.dataset, RULE)
    if miss:
        return pd.DataFrame(), miss
    scales = {prm.paramcd: QsScale.model_validate(prm.derivation.params)
              for prm in ds.parameters if prm.derivation is not None and prm.derivation.rule == "qs_scale"}
    summaries = {prm.paramcd: QsSummary.model_validate(prm.derivation.params)
                 for prm in ds.parameters if prm.derivation is not None and prm.derivation.rule == "qs_summary"}
    findings: list[Finding] = []
    for code, s in summaries.items():
        unknown = sorted(set(s.components) - set(scales))
        if unknown:
            findings.append(Finding(Severity.ERROR, RULE, f"summary {code}: components without a qs_scale parameter: "
                                    f"{', '.join(unknown)}", dataset=ds.name, variable="PARAMCD", value=code))
    sel = qs.loc[where_mask(qs, src.where)]
    items = pd.DataFrame({"USUBJID": text_col(sel, "USUBJID"), "_CAT": text_col(sel, src.category),
                          "_VISITNUM": num_col(sel, src.visit).fillna(-1.0), "_DTC": text_col(sel, src.date),
                          "_TESTCD": text_col(sel, src.testcd), "_VALUE": num_col(sel, src.value)})
    for code, s in scales.items():
        present = set(items.loc[items["_CAT"] == s.category, "_TESTCD"].unique())
        absent = [i for i in s.items if i not in present]
        if absent:
            findings.append(Finding(Severity.WARNING, RULE, f"scale {code}: item(s) never found in {src.dataset} "
                                    f"({src.category} = {s.category}): {', '.join(absent)}", dataset=ds.name,
                                    variable=src.testcd, value=absent[0]))
    bad = items["_VALUE"].notna()
    for code, s in scales.items():
        top = 1 + s.range
        out_of_range = bad & (items["_CAT"] == s.category) & items["_TESTCD"].isin(s.items) & \
            ((items["_VALUE"] < 1) | (items["_VALUE"] > top))
        if out_of_range.any():
            findings.append(Finding(Severity.ERROR, RULE, f"scale {code}: {int(out_of_range.sum())} response(s) outside "
                                    f"1..{top:g}; not scored", dataset=ds.name, variable=src.value,
                                    value=str(items.loc[out_of_range, "_VALUE"].iloc[0])))
            items.loc[out_of_range, "_VALUE"] = np.nan
    scores, sparse = scale_scores(items, scales)
    for code, n in sparse.groupby("PARAMCD", sort=True).size().items():
        findings.append(Finding(Severity.NOTICE, RULE, f"scale {code}: {n} questionnaire(s) with fewer than the required "
                                "share of items answered; not scored (scoring manual section 4)", dataset=ds.name,
                                variable="AVAL", value=code))
    recs = pd.concat([scores, summary_scores(scores, summaries)], ignore_index=True)
    adt = complete_date(recs["_DTC"])
    undated = adt.isna()
    if undated.any():
        findings.append(Finding(Severity.WARNING, RULE, f"{int(undated.sum())} score(s) from questionnaires without a "
                                f"complete {src.date}: no ADT, so no window, baseline or change", dataset=ds.name,
                                variable=src.date, value=recs.loc[undated, "_DTC"].iloc[0]))
    recs["ADT"] = adt
    meta = {prm.paramcd: prm for prm in ds.parameters}
    order = {prm.paramcd: i + 1 for i, prm in enumerate(ds.parameters)}
    recs["PARAM"] = recs["PARAMCD"].map({c: m.param for c, m in meta.items()}).astype("str")
    recs["PARAMN"] = recs["PARAMCD"].map(order).astype(float)
    recs["PARCAT1"] = recs["PARAMCD"].map({c: m.parcat1 or "" for c, m in meta.items()}).astype("str")
    recs["PARCAT2"] = recs["PARAMCD"].map({c: m.parcat2 or "" for c, m in meta.items()}).astype("str")
    recs = recs.loc[recs["USUBJID"].isin(set(text_col(adsl, "USUBJID")))]
    recs = recs.sort_values(["USUBJID", "PARAMN", "ADT", "_VISITNUM"], kind="mergesort")
    out = finish_bds(recs.drop(columns=["_CAT", "_DTC"]).reset_index(drop=True), adsl, p, order=["_VISITNUM"])
    better_up = out["PARAMCD"].map({**{c: s.higher_is_better for c, s in scales.items()},
                                    **{c: True for c in summaries}}).astype(bool)
    out = pd.concat([out, responder_flags(out["CHG"], better_up, p.responder)], axis=1)
    out = out.drop(columns=["_VISITNUM"]).sort_values(["USUBJID", "ASEQ"], kind="mergesort").reset_index(drop=True)
    return out, findings
