"""ADSYM (BDS): NET symptom-diary averages per analysis window, change from baseline and responders.

Daily diary counts (SDTM XD: bowel movements, flushing episodes) are placed in the spec's windows by
study day; AVAL is the mean daily count over the diary days of a window that have a value (at least
`min_days` of them). Baseline is the average of the baseline (screening diary) window. CRIT1 flags a
responder: PCHG <= -threshold (e.g. a 30% reduction in daily bowel movements, the carcinoid-syndrome
responder definition of the TELESTAR trial). Whole-frame groupbys only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, model_validator

from adam.bds import BdsCommon, analysis_day, complete_date, finish_bds, study_windows
from adam.derive_common import SpecParams, input_frame, num_col, text_col, where_mask
from studyforge.findings import Finding, Severity
from studyforge.spec.models import Dataset

RULE = "ADSYM"


class DiarySource(SpecParams):
    dataset: str = "XD"
    where: dict[str, list[str]] = Field(default_factory=dict)
    testcd: str = "XDTESTCD"
    value: str = "XDSTRESN"
    date: str = "XDDTC"


class DiaryAverage(SpecParams):
    """Rule `diary_average`: one diary item averaged per window."""

    testcd: str = Field(min_length=1)
    min_days: int = Field(4, ge=1, description="diary days with a value a window needs for an average")


class Responder(SpecParams):
    threshold_pct: float = Field(30, gt=0, le=100, description="reduction from baseline, percent")
    text: str = "Responder: reduction from baseline >= 30%"

    @model_validator(mode="after")
    def _text_states_threshold(self) -> "Responder":
        if f"{self.threshold_pct:g}" not in self.text:
            raise ValueError(f"criterion text {self.text!r} must state the threshold {self.threshold_pct:g}")
        return self


class AdsymParams(BdsCommon):
    source: DiarySource = Field(default_factory=DiarySource)
    responder: Responder = Field(default_factory=Responder)


RULES: dict[str, type[BaseModel]] = {"adsym": AdsymParams, "diary_average": DiaryAverage}


def window_averages(daily: pd.DataFrame, min_days: dict[str, int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean daily value per subject/parameter/window, and the windows with too few diary days.

    `daily` has USUBJID, PARAMCD, ADT, VALUE and the window columns. ADT of an average is its last
    diary day with a value.
    """
    win = ["AVISIT", "AVISITN", "AWTARGET", "AWLO", "AWHI", "AWU"]
    d = daily.loc[(daily["AVISIT"] != "") & daily["VALUE"].notna()]
    g = d.groupby(["USUBJID", "PARAMCD", *win], sort=False, observed=True)
    agg = g.agg(AVAL=("VALUE", "mean"), NDAYS=("VALUE", "count"), ADT=("ADT", "max")).reset_index()
    enough = agg["NDAYS"] >= agg["PARAMCD"].map(min_days)
    return agg.loc[enough].drop(columns="NDAYS"), agg.loc[~enough]


def derive_adsym(sdtm: dict[str, pd.DataFrame], adsl: pd.DataFrame, ds: Dataset) -> tuple[pd.DataFrame, list[Finding]]:
    """ADSYM records: one per subject, parameter and window with enough diary days."""
    p = AdsymParams.model_validate(ds.derivation.params if ds.derivation else {})
    src = p.source
    xd, miss = input_frame(sdtm, src.dataset, ["USUBJID", src.testcd, src.value, src.date], rule=RULE, target=ds.name)
    if xd is None:
        return pd.DataFrame(), miss
    items = {prm.paramcd: DiaryAverage.model_validate(prm.derivation.params)
             for prm in ds.parameters if prm.derivation is not None and prm.derivation.rule == "diary_average"}
    findings: list[Finding] = []
    sel = xd.loc[where_mask(xd, src.where)]
    testcd = text_col(sel, src.testcd)
    for code, it in items.items():
        if not (testcd == it.testcd).any():
            findings.append(Finding(Severity.WARNING, RULE, f"parameter {code}: no {src.dataset} record with "
                                    f"{src.testcd} = {it.testcd}", dataset=ds.name, variable="PARAMCD", value=code))
    to_param = {it.testcd: code for code, it in items.items()}
    sel = sel.loc[testcd.isin(list(to_param))]
    adt = complete_date(text_col(sel, src.date))
    daily = pd.DataFrame({"USUBJID": text_col(sel, "USUBJID"), "PARAMCD": text_col(sel, src.testcd).map(to_param),
                          "ADT": adt, "VALUE": num_col(sel, src.value)})
    ref = p.baseline.ref_var
    daily = daily.merge(adsl[["USUBJID", ref]].drop_duplicates("USUBJID"), on="USUBJID", how="inner", sort=False)
    daily = pd.concat([daily, study_windows(analysis_day(daily["ADT"], daily[ref]), p.windows)], axis=1)
    outside = (daily["AVISIT"] == "") & daily["VALUE"].notna()
    if outside.any():
        findings.append(Finding(Severity.NOTICE, RULE, f"{int(outside.sum())} diary value(s) outside every analysis "
                                "window (or undated); not averaged", dataset=ds.name, variable=src.date))
    recs, short = window_averages(daily.drop(columns=[ref]), {c: it.min_days for c, it in items.items()})
    for code, n in short.groupby("PARAMCD", sort=True).size().items():
        findings.append(Finding(Severity.NOTICE, RULE, f"parameter {code}: {n} window(s) with fewer than "
                                f"{items[code].min_days} diary days; no average", dataset=ds.name,
                                variable="AVAL", value=code))
    meta = {prm.paramcd: prm for prm in ds.parameters}
    order = {prm.paramcd: i + 1 for i, prm in enumerate(ds.parameters)}
    recs["PARAM"] = recs["PARAMCD"].map({c: m.param for c, m in meta.items()}).astype("str")
    recs["PARAMN"] = recs["PARAMCD"].map(order).astype(float)
    recs["PARCAT1"] = recs["PARAMCD"].map({c: m.parcat1 or "" for c, m in meta.items()}).astype("str")
    recs["AWTDIFF"] = np.nan  # an average has no single analysis day to measure from the target (not written)
    out = finish_bds(recs.reset_index(drop=True), adsl, p, windowed=True)
    thr = p.responder.threshold_pct
    has = out["PCHG"].notna()
    crit = np.full(len(out), "", dtype=object)
    crit[has.to_numpy()] = p.responder.text
    out["CRIT1"] = crit
    out["CRIT1FL"] = np.where(has, np.where(out["PCHG"] <= -thr, "Y", "N"), "").astype(object)
    return out, findings
