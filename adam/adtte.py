"""ADTTE (BDS time-to-event): every parameter an ordered, declarative list of event and censoring sources.

The model is admiral's `event_source` / `censor_source` (source dataset, selection, date, CNSR,
EVNTDESC, CNSDTDSC, SRCDOM/SRCVAR/SRCSEQ), extended with the FDA PFS censoring rules written as data
(FDA guidance "Clinical Trial Endpoints for the Approval of Cancer Drugs and Biologics", 2018, PFS
censoring table): an intervening event (new anticancer therapy) and an event after missed assessments.
Dataset level (`adtte`): the named date sources. Parameter level (`tte`): start, assessments, events,
censors. One vectorized pass per parameter; no per-subject loop. AVAL = ADT - STARTDT + 1.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, model_validator

from adam.derive_common import SpecParams, member, num_col, text_col
from adam.select import Selection, select
from studyforge.dates import impute_date, iso_to_sas_date
from studyforge.findings import Finding, Severity
from studyforge.spec.models import Dataset, Parameter

NAME = r"^[A-Z][A-Z0-9_]{0,7}$"


class DateSource(SpecParams):
    """Dates per subject from one dataset (an ADaM dataset built before ADTTE, else SDTM)."""

    dataset: str = Field(pattern=NAME)
    where: Selection | None = None
    date: str = Field(pattern=NAME, description="SAS date variable (ADaM) or ISO 8601 --DTC (SDTM)")
    fill: Literal["none", "first", "mid", "last"] = Field("none", description="imputation of a partial --DTC")
    date_flag: str | None = Field(None, pattern=NAME, description="variable copied to ADTF, e.g. DTHDTF")
    seq: str | None = Field(None, pattern=NAME, description="variable copied to SRCSEQ, e.g. SRCSEQ or CMSEQ")
    srcdom: str | None = Field(None, description="SRCDOM (default: dataset)")
    srcvar: str | None = Field(None, description="SRCVAR (default: date)")
    description: str | None = Field(None, description="CNSDTDSC when a censoring date comes from here")
    relative_to_start: bool = Field(True, description="only dates after the start date count")


class Event(SpecParams):
    source: str
    evntdesc: str = Field(min_length=1)


class CensorCode(SpecParams):
    cnsr: int = Field(ge=1)
    evntdesc: str = Field(min_length=1)


class Censor(CensorCode):
    """One censoring rule; the first (in list order) that applies to a subject decides.

    intervening: `source` date on/after start and before the event -> last assessment on/before it.
    missed_assessments: event more than `max_gap_days` after the last assessment before it (or start)
      -> censored at that assessment (`without_assessment` code at start when there is none).
    source: no event and a `source` record -> its latest date (`at: date`, never before start) or the
      last assessment (`at: last_assessment`). last_assessment: no event -> last assessment.
    start: no event -> start date. Every list ends with a `start` censor, so no subject is undecided.
    """

    kind: Literal["intervening", "missed_assessments", "source", "last_assessment", "start"]
    source: str | None = None
    at: Literal["date", "last_assessment"] = "date"
    max_gap_days: int | None = Field(None, ge=1)
    without_assessment: CensorCode | None = None

    @model_validator(mode="after")
    def _fields(self) -> "Censor":
        if self.kind in ("intervening", "source") and not self.source:
            raise ValueError(f"a {self.kind} censor needs `source`")
        if self.kind == "missed_assessments" and self.max_gap_days is None:
            raise ValueError("a missed_assessments censor needs `max_gap_days`")
        return self


class AdtteParams(SpecParams):
    adsl_vars: list[str] = Field(default_factory=lambda: ["STUDYID", "USUBJID", "SUBJID", "SITEID"])
    sources: dict[str, DateSource] = Field(min_length=1, description="named date sources the parameters use")


class TteParams(SpecParams):
    """One ADTTE parameter (admiral derive_param_tte): start, assessments, events, censors."""

    start: str = Field(description="source of STARTDT: an ADSL date, or the earliest selected date (DOR)")
    assessments: str | None = Field(None, description="adequate assessments (censoring at the last one)")
    start_day_counts: bool = Field(False, description="assessments and events on the start date count (DOR)")
    events: list[Event] = Field(min_length=1, description="earliest date wins; a tie goes to the first listed")
    censors: list[Censor] = Field(min_length=1)

    @model_validator(mode="after")
    def _ends_at_start(self) -> "TteParams":
        if self.censors[-1].kind != "start":
            raise ValueError("the last censor must be kind 'start' (every subject without an event is censored)")
        needs = [c.kind for c in self.censors if c.kind in ("intervening", "missed_assessments", "last_assessment")
                 or (c.kind == "source" and c.at == "last_assessment")]
        if needs and not self.assessments:
            raise ValueError(f"censors {', '.join(needs)} need `assessments`")
        return self


RULES: dict[str, type[BaseModel]] = {"adtte": AdtteParams, "tte": TteParams}

# Always derived; a spec that does not list one leaves it out (params-named ADSL copies must be listed).
STANDARD_OUTPUTS = frozenset({"STARTDT", "ADT", "ADTF", "CNSR", "EVNTDESC", "CNSDTDSC", "SRCDOM", "SRCVAR", "SRCSEQ",
                              "ASEQ", "AVAL", "PARAMCD", "PARAM", "PARCAT1"})
COLS = ["ADT", "ADTF", "SRCSEQ", "SRCDOM", "SRCVAR", "CNSDTDSC"]


def _source_frame(name: str, s: DateSource, frames: dict[str, pd.DataFrame], where: str
                  ) -> tuple[pd.DataFrame | None, list[Finding]]:
    """USUBJID, DT, DTF, SEQ of the selected records with a usable date (None: dataset absent)."""
    df = frames.get(s.dataset)
    if df is None:
        return None, []
    m, findings = select(df, s.where, dataset=s.dataset, where=f"{where}.{name}.where")
    if s.date not in df.columns:
        return None, findings + [Finding(Severity.ERROR, "ADTTE-SOURCE", f"source {name}: {s.dataset} has no "
                                         f"variable {s.date}", dataset=s.dataset, variable=s.date)]
    d = df.loc[m]
    seq = num_col(d, s.seq) if s.seq else pd.Series(np.nan, index=d.index)
    flag = text_col(d, s.date_flag) if s.date_flag else pd.Series("", index=d.index, dtype="str")
    if pd.api.types.is_numeric_dtype(d[s.date]):
        dt = num_col(d, s.date)
    else:
        dtc = text_col(d, s.date)
        if s.fill == "none":
            dt = iso_to_sas_date(dtc)
        else:
            dt, flag = impute_date(dtc, fill=s.fill)
        bad = dt.isna() & (dtc != "")
        seqs = text_col(d, s.seq) if s.seq else pd.Series("", index=d.index)
        findings += [Finding(Severity.ERROR, "ADTTE-DATE", f"source {name}: date missing, partial or invalid; "
                             "record not used", dataset=s.dataset, variable=s.date, usubjid=u,
                             record=f"{s.seq}={q}" if s.seq else "", value=v)
                     for u, q, v in zip(text_col(d, "USUBJID")[bad], seqs[bad], dtc[bad])]
    out = pd.DataFrame({"USUBJID": text_col(d, "USUBJID").to_numpy(), "DT": np.asarray(dt, dtype=float),
                        "DTF": np.asarray(flag, dtype=object), "SEQ": seq.to_numpy(dtype=float)})
    return out.dropna(subset=["DT"]), findings


def _first(f: pd.DataFrame, idx: pd.Index, last: bool = False) -> pd.DataFrame:
    """Per subject of idx, the row with the earliest (or latest) DT; stable on input order."""
    f = f[member(f["USUBJID"], idx)].sort_values(["USUBJID", "DT"], kind="mergesort")
    return f.drop_duplicates("USUBJID", keep="last" if last else "first").set_index("USUBJID").reindex(idx)


def _last_before(a: pd.DataFrame, cutoff: np.ndarray, idx: pd.Index, inclusive: bool) -> pd.DataFrame:
    """Per subject, the last assessment dated on/before (or strictly before) a cutoff."""
    c = pd.Series(cutoff, index=idx).reindex(a["USUBJID"]).to_numpy(dtype=float)
    keep = (a["DT"].to_numpy() <= c) if inclusive else (a["DT"].to_numpy() < c)
    return _first(a.loc[keep], idx, last=True)


def tte_parameter(tp: TteParams, srcs: dict[str, DateSource], data: dict[str, pd.DataFrame],
                  subjects: pd.Index) -> pd.DataFrame:
    """One record per subject with a start date: ADT, ADTF, CNSR, EVNTDESC, CNSDTDSC, SRC*, STARTDT."""
    st = _first(data[tp.start], subjects)
    idx = st.index[st["DT"].notna()]
    n = len(idx)
    start = st.loc[idx, "DT"].to_numpy(dtype=float)
    s_of = pd.Series(start, index=idx)

    def timed(f: pd.DataFrame, relative: bool) -> pd.DataFrame:
        f = f[member(f["USUBJID"], idx)]
        if not relative:
            return f
        s = s_of.reindex(f["USUBJID"]).to_numpy()
        return f[(f["DT"].to_numpy() >= s) if tp.start_day_counts else (f["DT"].to_numpy() > s)]

    a_src = srcs[tp.assessments] if tp.assessments else None
    a = timed(data[tp.assessments], a_src.relative_to_start) if a_src else None
    evs = []
    for k, e in enumerate(tp.events):
        evs.append(timed(data[e.source], srcs[e.source].relative_to_start).assign(K=k))
    ev = _first(pd.concat(evs, ignore_index=True).sort_values(["USUBJID", "DT", "K"], kind="mergesort"), idx)
    ev_dt = ev["DT"].to_numpy(dtype=float)
    has_ev = ~np.isnan(ev_dt)

    out = pd.DataFrame(index=idx)
    out["ADT"], out["SRCSEQ"], out["CNSR"] = np.nan, np.nan, np.nan
    for c in ("ADTF", "SRCDOM", "SRCVAR", "CNSDTDSC", "EVNTDESC"):
        out[c] = ""
    decided = np.zeros(n, dtype=bool)
    early_any = np.zeros(n, dtype=bool)

    def put(mask: np.ndarray, when: np.ndarray, seq, src: DateSource, code: CensorCode, flag=None) -> None:
        m = mask & ~decided
        out.loc[m, "ADT"] = when[m]
        out.loc[m, "SRCSEQ"] = np.broadcast_to(np.asarray(seq, dtype=float), (n,))[m]
        out.loc[m, "ADTF"] = "" if flag is None else flag[m]
        out.loc[m, ["SRCDOM", "SRCVAR", "CNSDTDSC"]] = [src.srcdom or src.dataset, src.srcvar or src.date,
                                                         src.description or ""]
        out.loc[m, ["CNSR", "EVNTDESC"]] = [float(code.cnsr), code.evntdesc]
        decided[:] |= m

    def at_assessment(mask: np.ndarray, la: pd.DataFrame, code: CensorCode, fallback: CensorCode) -> None:
        got = la["DT"].notna().to_numpy()
        put(mask & got, la["DT"].to_numpy(dtype=float), la["SEQ"].to_numpy(dtype=float), a_src, code)
        put(mask & ~got, start, st.loc[idx, "SEQ"].to_numpy(dtype=float), srcs[tp.start], fallback)

    for c in tp.censors:  # a handful of rules, each a whole-frame assignment
        if c.kind == "intervening":
            t = _first(timed_on_or_after(data[c.source], s_of), idx)["DT"].to_numpy(dtype=float)
            hit = ~np.isnan(t) & (~has_ev | (t < np.where(has_ev, ev_dt, np.inf)))
            at_assessment(hit, _last_before(a, t, idx, True), c, c)
        elif c.kind == "missed_assessments":
            la = _last_before(a, ev_dt, idx, False)
            ref = np.where(la["DT"].notna(), la["DT"].to_numpy(dtype=float), start)
            at_assessment(has_ev & ((ev_dt - ref) > c.max_gap_days), la, c, c.without_assessment or c)
        elif c.kind == "source":
            rec = _first(data[c.source], idx, last=True)
            has = rec["DT"].notna().to_numpy() & ~has_ev
            if c.at == "last_assessment":
                at_assessment(has, _last_before(a, np.full(n, np.inf), idx, True), c, c)
            else:
                when = rec["DT"].to_numpy(dtype=float)
                early = has & (when < start)  # admiral: censoring before the start date -> at the start date
                early_any |= early & ~decided
                put(has & ~early, when, rec["SEQ"].to_numpy(dtype=float), srcs[c.source], c,
                    rec["DTF"].fillna("").to_numpy(dtype=object))
                put(early, start, np.nan, srcs[tp.start], c)
        elif c.kind == "last_assessment":
            la = _last_before(a, np.full(n, np.inf), idx, True)
            put(~has_ev & la["DT"].notna().to_numpy(), la["DT"].to_numpy(dtype=float),
                la["SEQ"].to_numpy(dtype=float), a_src, c)
        else:
            put(~has_ev, start, st.loc[idx, "SEQ"].to_numpy(dtype=float), srcs[tp.start], c)
    m = ~decided & has_ev
    k = ev["K"].to_numpy()
    for i, e in enumerate(tp.events):
        mi = m & (k == i)
        s = srcs[e.source]
        out.loc[mi, ["ADT", "SRCSEQ"]] = ev.loc[mi, ["DT", "SEQ"]].to_numpy()
        out.loc[mi, "ADTF"] = ev.loc[mi, "DTF"].fillna("").to_numpy(dtype=object)
        out.loc[mi, ["CNSR", "EVNTDESC", "SRCDOM", "SRCVAR", "CNSDTDSC"]] = [0.0, e.evntdesc, s.srcdom or s.dataset,
                                                                            s.srcvar or s.date, ""]
    out["STARTDT"] = start
    out["_EARLY"] = early_any
    return out


def timed_on_or_after(f: pd.DataFrame, start: pd.Series) -> pd.DataFrame:
    """Records dated on or after the subject's start (an intervening event on the start day counts)."""
    f = f[member(f["USUBJID"], start.index)]
    return f[f["DT"].to_numpy() >= start.reindex(f["USUBJID"]).to_numpy()]


def _frames(sdtm: Mapping[str, pd.DataFrame], adam: dict[str, pd.DataFrame]) -> Mapping[str, pd.DataFrame]:
    """Datasets a source may name: the ADaM datasets built so far take precedence over SDTM (read on use)."""
    return ChainMap({k: v for k, v in adam.items() if v is not None}, sdtm)


def derive_adtte(sdtm: dict[str, pd.DataFrame], adsl: pd.DataFrame, adrs: pd.DataFrame | None,
                 dataset: Dataset, adam: dict[str, pd.DataFrame] | None = None) -> tuple[pd.DataFrame, list[Finding]]:
    """All ADTTE parameters of the spec, one record per subject and parameter (subjects with a start date)."""
    if dataset.derivation is None or dataset.derivation.rule != "adtte":
        raise ValueError(f"{dataset.name}: derivation rule must be 'adtte'")
    p = AdtteParams.model_validate(dataset.derivation.params)
    findings: list[Finding] = []
    if "USUBJID" not in adsl.columns:
        return pd.DataFrame(), [Finding(Severity.ERROR, "ADTTE-ADSL", "input dataset ADSL has no variable USUBJID",
                                        dataset="ADSL", variable="USUBJID")]
    base = adsl.set_index(text_col(adsl, "USUBJID").to_numpy())
    frames = _frames(sdtm, {**(adam or {}), "ADSL": adsl, "ADRS": adrs})
    where = f"{dataset.name}.derivation.params.sources"
    data: dict[str, pd.DataFrame] = {}
    absent: set[str] = set()
    for name, s in p.sources.items():
        f, found = _source_frame(name, s, frames, where)
        findings += found
        if f is None:
            absent.add(name)
            f = pd.DataFrame({"USUBJID": pd.Series([], dtype="str"), "DT": pd.Series([], dtype=float),
                              "DTF": pd.Series([], dtype=object), "SEQ": pd.Series([], dtype=float)})
        data[name] = f
    for ds_name in sorted({p.sources[n].dataset for n in absent}):
        users = sorted(n for n in absent if p.sources[n].dataset == ds_name)
        findings.append(Finding(Severity.WARNING, f"ADTTE-NO-{ds_name}", f"input dataset {ds_name} is not available: "
                                f"source(s) {', '.join(users)} have no records", dataset=ds_name))
    parts = []
    reported_start: set[str] = set()
    for order, prm in enumerate(dataset.parameters):  # one pass per PARAMCD, never per subject
        tp, f = _tte_params(prm, p)
        findings += f
        if tp is None:
            continue
        if all(e.source in absent for e in tp.events) or tp.start in absent:
            findings.append(Finding(Severity.WARNING, "ADTTE-PARAM-SKIPPED", f"{prm.paramcd}: none of its event "
                                    "sources (or its start) is available; parameter not derived", dataset="ADTTE",
                                    variable="PARAMCD", value=prm.paramcd))
            continue
        ssrc = p.sources[tp.start]
        if ssrc.dataset == "ADSL" and tp.start not in reported_start:
            reported_start.add(tp.start)
            no_start = base.index[num_col(base, ssrc.date).isna().to_numpy()]
            if len(no_start):
                findings.append(Finding(Severity.NOTICE, "ADTTE-NOSTART", f"{len(no_start)} subject(s) without "
                                        f"{ssrc.date} (not dosed) have no ADTTE records", dataset="ADTTE",
                                        variable=ssrc.date, value=", ".join(no_start[:20])))
        part = tte_parameter(tp, p.sources, data, base.index)
        findings += [Finding(Severity.WARNING, "ADTTE-CENSOR-BEFORE-START", f"{prm.paramcd}: censoring date before "
                             "the start date; censored at the start date (admiral)", dataset="ADTTE",
                             variable="ADT", usubjid=u, record=f"PARAMCD={prm.paramcd}")
                     for u in part.index[part["_EARLY"].to_numpy(dtype=bool)]]
        parts.append(part.drop(columns="_EARLY").assign(PARAMCD=prm.paramcd, PARAM=prm.param,
                                                         PARCAT1=prm.parcat1 or "", _order=order))
    if not parts:
        return pd.DataFrame(), findings
    tte = pd.concat(parts).rename_axis("USUBJID").reset_index()
    tte["AVAL"] = tte["ADT"] - tte["STARTDT"] + 1
    keep = [v for v in p.adsl_vars if v != "USUBJID"]
    missing = [v for v in keep if v not in base.columns]
    findings += [Finding(Severity.ERROR, "ADTTE-ADSL", f"input dataset ADSL has no variable {v}", dataset="ADSL",
                         variable=v) for v in missing]
    keep = [v for v in keep if v in base.columns]
    tte = tte.merge(base[keep].rename_axis("USUBJID").reset_index() if keep else base.index.to_frame(name="USUBJID"),
                    on="USUBJID", how="left")
    tte = tte.sort_values(["USUBJID", "_order"], kind="mergesort").drop(columns="_order").reset_index(drop=True)
    tte["ASEQ"] = tte.groupby("USUBJID").cumcount() + 1.0
    neg = tte["AVAL"] < 1
    for r in tte.loc[neg].itertuples():
        findings.append(Finding(Severity.ERROR, "ADTTE-AVAL", "analysis date before start date", dataset="ADTTE",
                                variable="AVAL", usubjid=r.USUBJID, record=f"PARAMCD={r.PARAMCD}", value=f"{r.AVAL:g}"))
    return tte, findings


def _tte_params(prm: Parameter, p: AdtteParams) -> tuple[TteParams | None, list[Finding]]:
    if prm.derivation is None or prm.derivation.rule != "tte":
        raise ValueError(f"ADTTE parameter {prm.paramcd}: derivation rule must be 'tte'")
    tp = TteParams.model_validate(prm.derivation.params)
    named = [tp.start, tp.assessments, *(e.source for e in tp.events), *(c.source for c in tp.censors)]
    unknown = sorted({n for n in named if n and n not in p.sources})
    if unknown:
        return None, [Finding(Severity.ERROR, "ADTTE-SOURCE", f"{prm.paramcd}: unknown source(s) "
                              f"{', '.join(unknown)} (not in the dataset-level `sources`)", dataset="ADTTE",
                              variable="PARAMCD", value=prm.paramcd)]
    return tp, []
