"""Analysis methods: one registration each (parameters, computation, trace roles, method text).

A method receives the analysis records of one group (already restricted to the analysis set, the
parameter and the where clause) and the analysis-set subjects of that group, and returns statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from . import stats
from .model import Where
from .where import describe as describe_where
from .where import evaluate


class P(BaseModel):
    model_config = ConfigDict(extra="forbid")


Stat = tuple[str, str, float]  # (name, label, value)


@dataclass(frozen=True)
class Method:
    name: str
    params: type[BaseModel]
    compute: Callable[[pd.DataFrame, pd.Index, BaseModel], list[Stat]]
    roles: Callable[[pd.DataFrame, BaseModel], pd.Series]
    text: Callable[[BaseModel], str]
    prepare: Callable[[pd.DataFrame, BaseModel], pd.DataFrame] = lambda r, p: r


METHODS: dict[str, Method] = {}


def register(m: Method) -> Method:
    METHODS[m.name] = m
    return m


# -- proportion with an exact CI --------------------------------------------------------------
class ProportionParams(P):
    response: Where = Field(description="records that count as a response")
    conf: float = Field(default=0.95, gt=0, lt=1)
    missing_as_failure: bool = Field(default=True, description="analysis-set subjects without a record count "
                                     "in the denominator as non-responders (else they are left out)")


def _responders(records: pd.DataFrame, p: ProportionParams) -> pd.Series:
    return pd.Series(evaluate(records, p.response), index=records.index)


def _proportion(records: pd.DataFrame, subjects: pd.Index, p: ProportionParams) -> list[Stat]:
    hit = _responders(records, p)
    x = records.loc[hit, "USUBJID"].nunique()
    n = len(subjects) if p.missing_as_failure else records["USUBJID"].nunique()
    lo, hi = stats.clopper_pearson(x, n, p.conf)
    pct = int(round(p.conf * 100))
    return [("n", "Responders (n)", float(x)), ("N", "Subjects (N)", float(n)),
            ("rate", "Rate", x / n if n else np.nan),
            ("lcl", f"{pct}% CI lower (Clopper-Pearson)", lo), ("ucl", f"{pct}% CI upper (Clopper-Pearson)", hi)]


register(Method(
    "proportion", ProportionParams, _proportion,
    lambda r, p: _responders(r, p).map({True: "numerator", False: "denominator"}),
    lambda p: (f"Proportion of analysis-set subjects with a record where {describe_where(p.response)}, "
               f"with a two-sided {p.conf:.0%} exact Clopper-Pearson confidence interval; "
               + ("subjects without an evaluable record count as non-responders." if p.missing_as_failure
                  else "subjects without a record are left out of the denominator."))))


# -- Kaplan-Meier ------------------------------------------------------------------------------
class Timepoint(P):
    label: str = Field(pattern=r"^[A-Z0-9]{1,8}$")
    days: float = Field(gt=0)


class KMParams(P):
    conf: float = Field(default=0.95, gt=0, lt=1)
    timepoints: list[Timepoint] = Field(default_factory=list)
    time_var: str = "AVAL"
    censor_var: str = "CNSR"


def _km(records: pd.DataFrame, subjects: pd.Index, p: KMParams) -> list[Stat]:
    t = pd.to_numeric(records[p.time_var], errors="coerce").to_numpy(dtype=float)
    ev = (pd.to_numeric(records[p.censor_var], errors="coerce").to_numpy() == 0).astype(int)
    km = stats.kaplan_meier(t, ev, p.conf)
    pct = int(round(p.conf * 100))
    med, mlo, mhi = km.quantile(0.5)
    q1 = km.quantile(0.25)[0]
    q3 = km.quantile(0.75)[0]
    out: list[Stat] = [
        ("N", "Subjects (N)", float(len(t))), ("events", "Events (n)", float(ev.sum())),
        ("censored", "Censored (n)", float(len(t) - ev.sum())),
        ("median", "Median (days)", med),
        ("median_lcl", f"Median {pct}% CI lower (Brookmeyer-Crowley, log-log)", mlo),
        ("median_ucl", f"Median {pct}% CI upper (Brookmeyer-Crowley, log-log)", mhi),
        ("q1", "25th percentile (days)", q1), ("q3", "75th percentile (days)", q3)]
    for tp in p.timepoints:
        s, lo, hi = km.at(tp.days)
        out += [(f"surv_{tp.label}", f"Event-free rate at {tp.label} ({tp.days:g} days)", s),
                (f"surv_{tp.label}_lcl", f"{tp.label} {pct}% CI lower (Greenwood, log-log)", lo),
                (f"surv_{tp.label}_ucl", f"{tp.label} {pct}% CI upper (Greenwood, log-log)", hi)]
    return out


register(Method(
    "kaplan_meier", KMParams, _km,
    lambda r, p: (pd.to_numeric(r[p.censor_var], errors="coerce") == 0).map({True: "event", False: "censored"}),
    lambda p: (f"Kaplan-Meier product-limit estimate of {p.time_var} (event when {p.censor_var} = 0); median "
               f"and quartiles with {p.conf:.0%} Brookmeyer-Crowley CIs on the log(-log) scale; event-free rates "
               + (" at " + ", ".join(f"{t.label} ({t.days:g} days)" for t in p.timepoints) if p.timepoints else "")
               + " with Greenwood variance and log(-log) CIs.")))


# -- descriptive statistics --------------------------------------------------------------------
class SummaryParams(P):
    var: str = Field(description="numeric analysis variable, e.g. CHG")
    decimals: int | None = Field(default=None, ge=0, le=6, description="display precision in the report")


def _summary(records: pd.DataFrame, subjects: pd.Index, p: SummaryParams) -> list[Stat]:
    d = stats.describe(pd.to_numeric(records[p.var], errors="coerce").to_numpy(dtype=float))
    labels = {"n": "n", "mean": "Mean", "sd": "SD", "median": "Median", "q1": "Q1", "q3": "Q3", "min": "Min",
              "max": "Max"}
    return [(k, labels[k], v) for k, v in d.items()]


register(Method(
    "summary", SummaryParams, _summary,
    lambda r, p: pd.to_numeric(r[p.var], errors="coerce").notna().map({True: "value", False: "missing"}),
    lambda p: (f"n, mean, SD, median, quartiles (SAS QNTLDEF=5), minimum and maximum of {p.var} over the "
               "records of the analysis set that meet the where clause.")))


# -- subject incidence -------------------------------------------------------------------------
class IncidenceParams(P):
    worst: str | None = Field(default=None, description="count each subject once, at the worst level of the "
                              "first grouping variable (e.g. ATOXGR), ordered by `order`")
    order: list[str] = Field(default_factory=list, description="levels from best to worst")


def _incidence(records: pd.DataFrame, subjects: pd.Index, p: IncidenceParams) -> list[Stat]:
    n = records["USUBJID"].nunique()
    total = len(subjects)
    return [("n", "Subjects (n)", float(n)), ("N", "Subjects in analysis set (N)", float(total)),
            ("pct", "Percent", 100.0 * n / total if total else np.nan)]


def _worst_only(records: pd.DataFrame, p: IncidenceParams) -> pd.DataFrame:
    """Each subject's records at its worst level of `p.worst` (levels not in `order` rank below all)."""
    if not p.worst:
        return records
    rank = records[p.worst].astype(object).map({v: i for i, v in enumerate(p.order)}).fillna(-1)
    return records[rank == rank.groupby(records["USUBJID"]).transform("max")]


register(Method(
    "incidence", IncidenceParams, _incidence,
    lambda r, p: pd.Series("subject record", index=r.index),
    lambda p: ("Number and percent of analysis-set subjects with at least one record meeting the where clause, "
               "each subject counted once per group"
               + (f", at the worst {p.worst} in the order {' < '.join(p.order)}." if p.worst else ".")),
    _worst_only))
