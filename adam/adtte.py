"""ADTTE (BDS time-to-event): PFS, PFS by investigator, TTP, DOR, OS.

Follows admiral's derive_param_tte conventions (AVAL = ADT - STARTDT + 1; CNSR 0 = event,
distinct positive integers per censoring reason; EVNTDESC, CNSDTDSC, SRCDOM/SRCVAR/SRCSEQ) and the
FDA guidance "Clinical Trial Endpoints for the Approval of Cancer Drugs and Biologics" (2018),
Table: PFS censoring. Every threshold and code is a spec parameter. All subjects at once.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from adam.derive_common import missing_columns, num_col, text_col, where_mask
from studyforge.dates import impute_date
from studyforge.findings import Finding, Severity
from studyforge.spec.models import Dataset, Parameter

CENSOR_KEYS = ("no_adequate_assessment", "no_event", "new_therapy", "missed_assessments",
               "death_without_progression", "alive")


class _P(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CensorReason(_P):
    cnsr: int = Field(ge=1)
    evntdesc: str = Field(min_length=1)


class NewTherapy(_P):
    """Start of subsequent anticancer therapy; a partial start date is imputed (earliest, conservative)."""

    dataset: str = "CM"
    where: dict[str, list[str]] = Field(default_factory=lambda: {"CMCAT": ["SUBSEQUENT ANTI-CANCER THERAPY"]})
    date: str = "CMSTDTC"
    fill: Literal["first", "mid", "last"] = "first"


class AdtteParams(_P):
    adsl_vars: list[str] = Field(default_factory=lambda: ["STUDYID", "USUBJID", "SUBJID", "SITEID"])
    start_var: str = "TRTSDT"
    adrs: str = "ADRS"
    analysis_flag: str = Field("ANL01FL", description="ADRS flag selecting one record per subject/date")
    adequate: list[str] = Field(default_factory=lambda: ["CR", "PR", "SD", "NON-CR/NON-PD", "PD"])
    progression: list[str] = Field(default_factory=lambda: ["PD"])
    scheduled_interval_days: int = Field(84, ge=1)
    window_days: int = Field(7, ge=0)
    max_missed: int = Field(2, ge=1, description="this many consecutive missed assessments void a later event")
    new_therapy: NewTherapy | None = Field(default_factory=NewTherapy)
    assessment_source: tuple[str, str] = ("RS", "RSDTC")
    event_desc: dict[Literal["progression", "death"], str] = Field(
        default_factory=lambda: {"progression": "DISEASE PROGRESSION", "death": "DEATH"})
    date_desc: dict[Literal["start", "last_adequate", "last_alive"], str] = Field(
        default_factory=lambda: {"start": "TREATMENT START DATE", "last_adequate": "LAST ADEQUATE TUMOR ASSESSMENT",
                                 "last_alive": "LAST KNOWN ALIVE DATE"})
    censors: dict[str, CensorReason]

    @model_validator(mode="after")
    def _codes(self) -> "AdtteParams":
        missing = [k for k in CENSOR_KEYS if k not in self.censors]
        unknown = [k for k in self.censors if k not in CENSOR_KEYS]
        if missing or unknown:
            raise ValueError(f"censors must name exactly {', '.join(CENSOR_KEYS)}")
        codes = [c.cnsr for c in self.censors.values()]
        if len(set(codes)) != len(codes):
            raise ValueError("each censoring reason needs its own CNSR value")
        return self

    @property
    def max_gap(self) -> int:
        """Days from the last adequate assessment beyond which `max_missed` visits were missed."""
        return self.max_missed * self.scheduled_interval_days + self.window_days


class TteRecistParams(_P):
    """PFS (death is an event), TTP (death censored) or DOR (start at the first confirmed response)."""

    kind: Literal["PFS", "TTP", "DOR"]
    adrs_paramcd: str = Field(description="per-visit overall response PARAMCD in ADRS, e.g. OVR / OVRINV")
    response_paramcd: str | None = Field(None, description="DOR: responder PARAMCD in ADRS, e.g. CRSP")
    response_value: str = "Y"

    @model_validator(mode="after")
    def _dor(self) -> "TteRecistParams":
        if self.kind == "DOR" and not self.response_paramcd:
            raise ValueError("DOR needs response_paramcd")
        return self


class TteOsParams(_P):
    """OS: death (ADSL DTHDT) is the event; alive subjects are censored at ADSL LSTALVDT."""

    death_var: str = "DTHDT"
    death_flag_var: str = "DTHDTF"
    alive_var: str = "LSTALVDT"


RULES: dict[str, type[BaseModel]] = {"adtte": AdtteParams, "tte_recist": TteRecistParams, "tte_os": TteOsParams}

# Always derived; a spec that does not list one leaves it out (params-named ADSL copies must be listed).
STANDARD_OUTPUTS = frozenset({"STARTDT", "ADT", "ADTF", "CNSR", "EVNTDESC", "CNSDTDSC", "SRCDOM", "SRCVAR", "SRCSEQ",
                              "ASEQ", "AVAL", "PARAMCD", "PARAM", "PARCAT1"})


def _last_on_or_before(adq: pd.DataFrame, cutoff: pd.Series, inclusive: bool) -> pd.DataFrame:
    """Per subject, the last adequate assessment (ADT, SRCSEQ) dated on/before (or before) a cutoff."""
    c = cutoff.reindex(adq["USUBJID"]).to_numpy(dtype=float)
    keep = (adq["ADT"].to_numpy() <= c) if inclusive else (adq["ADT"].to_numpy() < c)
    a = adq.loc[keep].sort_values(["USUBJID", "ADT"], kind="mergesort").drop_duplicates("USUBJID", keep="last")
    return a.set_index("USUBJID")[["ADT", "SRCSEQ"]].reindex(cutoff.index)


def recist_tte(subj: pd.DataFrame, ovr: pd.DataFrame, therapy: pd.Series, kind: str,
               p: AdtteParams) -> pd.DataFrame:
    """One TTE row per subject of `subj` (index USUBJID; columns START, DTH, DTHF).

    `ovr`: per-date overall responses (USUBJID, ADT, AVALC, SRCSEQ). Rules, in order (FDA table):
    1. new anticancer therapy before the event -> censored at the last adequate assessment on/before it;
    2. PD/death more than max_missed*interval+window days after the last adequate assessment (or start)
       -> censored there (FDA: event after two or more missed visits);
    3. otherwise PD (or death, PFS/DOR) -> event; 4. TTP death without PD -> censored at last adequate;
    5. no event -> censored at the last adequate assessment, or at start when there is none.
    """
    idx = subj.index
    start = subj["START"]
    o = ovr[ovr["USUBJID"].isin(idx)]
    st = start.reindex(o["USUBJID"]).to_numpy(dtype=float)
    post = (o["ADT"].to_numpy() >= st) if kind == "DOR" else (o["ADT"].to_numpy() > st)
    adq = o.loc[post & o["AVALC"].isin(p.adequate).to_numpy()]
    prog = adq[adq["AVALC"].isin(p.progression)].sort_values(["USUBJID", "ADT"], kind="mergesort")
    prog = prog.drop_duplicates("USUBJID").set_index("USUBJID")[["ADT", "SRCSEQ"]].reindex(idx)
    pd_dt = prog["ADT"].to_numpy(dtype=float)
    dth = subj["DTH"].to_numpy(dtype=float)
    death_event = kind in ("PFS", "DOR")
    if death_event:
        ev = np.fmin(pd_dt, dth)
        ev_is_pd = ~np.isnan(pd_dt) & ~(dth < pd_dt)
    else:
        ev, ev_is_pd = pd_dt, ~np.isnan(pd_dt)
    ev_s = pd.Series(ev, index=idx)
    t = therapy.reindex(idx).to_numpy(dtype=float)
    t = np.where(t >= start.to_numpy(dtype=float), t, np.nan)
    t_eff = ~np.isnan(t) & (np.isnan(ev) | (t < ev))

    la_all = _last_on_or_before(adq, pd.Series(np.inf, index=idx), True)
    la_t = _last_on_or_before(adq, pd.Series(t, index=idx), True)
    la_e = _last_on_or_before(adq, ev_s, False)
    ref = np.where(la_e["ADT"].notna(), la_e["ADT"], start)
    has_ev = ~np.isnan(ev)
    gap = has_ev & ((ev - ref) > p.max_gap)
    ttp_death = (kind == "TTP") & np.isnan(pd_dt) & ~np.isnan(dth)

    had_la = la_e["ADT"].notna().to_numpy()
    conds = [t_eff, gap & had_la, gap, has_ev & ev_is_pd, has_ev, ttp_death, la_all["ADT"].notna().to_numpy()]
    case = np.select(conds, ["therapy", "gap", "no_adequate", "pd", "death", "ttp_death", "no_event"], "no_adequate")
    la_for = {"therapy": la_t, "gap": la_e, "ttp_death": la_all, "no_event": la_all}
    out = pd.DataFrame(index=idx)
    out["ADT"], out["SRCSEQ"] = np.nan, np.nan
    out["CNSR"], out["EVNTDESC"], out["CNSDTDSC"] = np.nan, "", ""
    out["SRCDOM"], out["SRCVAR"], out["ADTF"] = "", "", ""
    srcdom, srcvar = p.assessment_source
    reason = {"therapy": "new_therapy", "gap": "missed_assessments", "ttp_death": "death_without_progression",
              "no_event": "no_event", "no_adequate": "no_adequate_assessment"}
    for name, la in la_for.items():  # a fixed handful of cases, each a whole-frame assignment
        m = case == name
        got = m & la["ADT"].notna().to_numpy()
        out.loc[got, ["ADT", "SRCSEQ"]] = la.loc[got, ["ADT", "SRCSEQ"]].to_numpy()
        out.loc[got, ["SRCDOM", "SRCVAR", "CNSDTDSC"]] = [srcdom, srcvar, p.date_desc["last_adequate"]]
    at_start = np.isin(case, list(reason)) & out["ADT"].isna().to_numpy()
    out.loc[at_start, "ADT"] = start.to_numpy(dtype=float)[at_start]
    out.loc[at_start, ["SRCDOM", "SRCVAR", "CNSDTDSC"]] = ["ADSL", p.start_var, p.date_desc["start"]]
    if kind == "DOR":  # the response date itself is the origin: it stays traceable to the response record
        out.loc[at_start, ["SRCDOM", "SRCVAR", "CNSDTDSC"]] = [srcdom, srcvar, p.date_desc["last_adequate"]]
    for name, key in reason.items():
        m = case == name
        out.loc[m, "CNSR"] = float(p.censors[key].cnsr)
        out.loc[m, "EVNTDESC"] = p.censors[key].evntdesc
    m = case == "pd"
    out.loc[m, ["ADT", "SRCSEQ"]] = prog.loc[m, ["ADT", "SRCSEQ"]].to_numpy()
    out.loc[m, ["CNSR", "EVNTDESC", "SRCDOM", "SRCVAR"]] = [0.0, p.event_desc["progression"], srcdom, srcvar]
    m = case == "death"
    out.loc[m, "ADT"] = dth[m]
    out.loc[m, "ADTF"] = subj["DTHF"].to_numpy()[m]
    out.loc[m, ["CNSR", "EVNTDESC", "SRCDOM", "SRCVAR"]] = [0.0, p.event_desc["death"], "ADSL", "DTHDT"]
    out["STARTDT"] = start
    return out


def os_tte(subj: pd.DataFrame, p: AdtteParams) -> tuple[pd.DataFrame, list[Finding]]:
    """OS: event at DTHDT; otherwise censored at LSTALVDT (at start, with a WARNING, if that is missing)."""
    out = pd.DataFrame(index=subj.index)
    dead = subj["DTH"].notna()
    alive_ok = subj["LSTALV"].notna()
    out["STARTDT"] = subj["START"]
    out["ADT"] = np.where(dead, subj["DTH"], np.where(alive_ok, subj["LSTALV"], subj["START"]))
    out["ADTF"] = np.where(dead, subj["DTHF"], "")
    out["CNSR"] = np.where(dead, 0.0, float(p.censors["alive"].cnsr))
    out["EVNTDESC"] = np.where(dead, p.event_desc["death"], p.censors["alive"].evntdesc)
    out["CNSDTDSC"] = np.where(dead, "", np.where(alive_ok, p.date_desc["last_alive"], p.date_desc["start"]))
    out["SRCDOM"] = "ADSL"
    out["SRCVAR"] = np.where(dead, "DTHDT", np.where(alive_ok, "LSTALVDT", p.start_var))
    out["SRCSEQ"] = np.nan
    findings = [Finding(Severity.WARNING, "ADTTE-OS-LSTALV", "alive without LSTALVDT; OS censored at start",
                        dataset="ADTTE", variable="LSTALVDT", usubjid=s) for s in subj.index[~dead & ~alive_ok]]
    return out, findings


def _therapy_start(sdtm: dict[str, pd.DataFrame], p: AdtteParams) -> tuple[pd.Series, list[Finding]]:
    nt = p.new_therapy
    if nt is None or nt.dataset not in sdtm:
        return pd.Series(dtype=float), []
    df = sdtm[nt.dataset]
    found = missing_columns(df, ["USUBJID", nt.date], nt.dataset, "ADTTE-THERAPY")
    if found:
        return pd.Series(dtype=float), found
    d = df.loc[where_mask(df, nt.where)]
    dtc = text_col(d, nt.date)
    dt, _ = impute_date(dtc, fill=nt.fill)
    findings = [Finding(Severity.ERROR, "ADTTE-THERAPY-DATE", "subsequent therapy start date missing or invalid; "
                        "not used for censoring", dataset=nt.dataset, variable=nt.date,
                        usubjid=str(u), record=f"CMSEQ={q}", value=v)
                for u, q, v in zip(text_col(d, "USUBJID")[dt.isna()], text_col(d, "CMSEQ")[dt.isna()], dtc[dt.isna()])]
    return pd.DataFrame({"USUBJID": text_col(d, "USUBJID").to_numpy(), "T": dt.to_numpy()}).groupby("USUBJID")["T"].min(), findings


def _ovr(adrs: pd.DataFrame, paramcd: str, flag: str) -> pd.DataFrame:
    a = adrs.loc[(text_col(adrs, "PARAMCD") == paramcd) & (text_col(adrs, flag) == "Y")]
    return pd.DataFrame({"USUBJID": text_col(a, "USUBJID").to_numpy(), "ADT": num_col(a, "ADT").to_numpy(),
                         "AVALC": text_col(a, "AVALC").to_numpy(), "SRCSEQ": num_col(a, "SRCSEQ").to_numpy()}
                        ).dropna(subset=["ADT"])


def derive_adtte(sdtm: dict[str, pd.DataFrame], adsl: pd.DataFrame, adrs: pd.DataFrame | None,
                 dataset: Dataset) -> tuple[pd.DataFrame, list[Finding]]:
    """All ADTTE parameters of the spec, one record per subject and parameter (subjects with a start date)."""
    if dataset.derivation is None or dataset.derivation.rule != "adtte":
        raise ValueError(f"{dataset.name}: derivation rule must be 'adtte'")
    p = AdtteParams.model_validate(dataset.derivation.params)
    findings: list[Finding] = missing_columns(adsl, [p.start_var, "USUBJID"], "ADSL", "ADTTE-ADSL")
    if findings:
        return pd.DataFrame(), findings
    base = adsl.set_index(text_col(adsl, "USUBJID").to_numpy())
    subj = pd.DataFrame({"START": num_col(base, p.start_var), "DTH": num_col(base, "DTHDT"),
                         "DTHF": text_col(base, "DTHDTF"), "LSTALV": num_col(base, "LSTALVDT")}, index=base.index)
    no_start = subj.index[subj["START"].isna()]
    if len(no_start):
        findings.append(Finding(Severity.NOTICE, "ADTTE-NOSTART", f"{len(no_start)} subject(s) without {p.start_var} "
                                "(not dosed) have no ADTTE records", dataset="ADTTE", variable=p.start_var,
                                value=", ".join(no_start[:20])))
    subj = subj[subj["START"].notna()]
    adrs = adrs if adrs is not None else pd.DataFrame(columns=["USUBJID", "PARAMCD"])
    therapy, f = _therapy_start(sdtm, p)
    findings += f
    parts = []
    for order, prm in enumerate(dataset.parameters):  # one pass per PARAMCD, never per subject
        part, f = _parameter(prm, subj, adrs, therapy, p)
        findings += f
        parts.append(part.assign(PARAMCD=prm.paramcd, PARAM=prm.param, PARCAT1=prm.parcat1 or "", _order=order))
    if not parts:
        return pd.DataFrame(), findings
    tte = pd.concat(parts).rename_axis("USUBJID").reset_index()
    tte["AVAL"] = tte["ADT"] - tte["STARTDT"] + 1
    keep = [v for v in p.adsl_vars if v != "USUBJID"]
    tte = tte.merge(base[keep].rename_axis("USUBJID").reset_index() if keep else base.index.to_frame(name="USUBJID"),
                    on="USUBJID", how="left")
    tte = tte.sort_values(["USUBJID", "_order"], kind="mergesort").drop(columns="_order").reset_index(drop=True)
    tte["ASEQ"] = tte.groupby("USUBJID").cumcount() + 1.0
    neg = tte["AVAL"] < 1
    for r in tte.loc[neg].itertuples():
        findings.append(Finding(Severity.ERROR, "ADTTE-AVAL", "analysis date before start date", dataset="ADTTE",
                                variable="AVAL", usubjid=r.USUBJID, record=f"PARAMCD={r.PARAMCD}", value=f"{r.AVAL:g}"))
    return tte, findings


def _parameter(prm: Parameter, subj: pd.DataFrame, adrs: pd.DataFrame, therapy: pd.Series,
               p: AdtteParams) -> tuple[pd.DataFrame, list[Finding]]:
    if prm.derivation is None or prm.derivation.rule not in ("tte_recist", "tte_os"):
        raise ValueError(f"ADTTE parameter {prm.paramcd}: derivation rule must be tte_recist or tte_os")
    if prm.derivation.rule == "tte_os":
        TteOsParams.model_validate(prm.derivation.params)
        return os_tte(subj, p)
    rp = TteRecistParams.model_validate(prm.derivation.params)
    ovr = _ovr(adrs, rp.adrs_paramcd, p.analysis_flag)
    findings: list[Finding] = []
    if ovr.empty and len(subj):
        findings.append(Finding(Severity.WARNING, "ADTTE-NO-ADRS", f"no ADRS records with PARAMCD={rp.adrs_paramcd} "
                                f"and {p.analysis_flag}=Y: {prm.paramcd} has no tumor assessments to use", dataset="ADRS",
                                variable="PARAMCD", value=rp.adrs_paramcd))
    s = subj
    if rp.kind == "DOR":
        r = adrs.loc[(text_col(adrs, "PARAMCD") == rp.response_paramcd) & (text_col(adrs, "AVALC") == rp.response_value)]
        rdt = pd.Series(num_col(r, "ADT").to_numpy(), index=text_col(r, "USUBJID").to_numpy()).dropna()
        rdt = rdt.groupby(level=0).min()
        s = subj.loc[subj.index.isin(rdt.index)].assign(START=lambda d: rdt.reindex(d.index))
    return recist_tte(s, ovr, therapy, rp.kind, p), findings
