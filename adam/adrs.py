"""ADRS: RECIST 1.1 tumour response analysis dataset (ADaMIG 1.3 BDS), built from RS, TU and ADSL.

The dataset-level rule `adrs` names the inputs, the evaluators (BICR, investigator) and the RECIST
conventions; each `parameters:` entry of the spec names one rule below with its evaluator, and
carries PARAMCD/PARAM/PARCATs. The response logic lives in adam/recist.py.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
from pydantic import BaseModel, ValidationError

from adam import recist
from adam.adrs_params import (
    AdrsParams,
    BorParams,
    ClinBenefitParams,
    DeathParams,
    Evaluator,
    FirstPdParams,
    LastAssessmentParams,
    MeasurableParams,
    OvrParams,
    ResponseParams,
    TimepointParams,
)
from adam.bds import analysis_date, analysis_day, aval_from_avalc, merge_subject_vars, number, sequence_number, text
from adam.derive_common import member
from adam.select import Selection, select
from studyforge.findings import Finding, Severity
from studyforge.spec.models import Dataset, Parameter

RULES: dict[str, type[BaseModel]] = {
    "adrs": AdrsParams,
    "adrs_ovr": OvrParams,
    "adrs_bor": BorParams,
    "adrs_response": ResponseParams,
    "adrs_clinbenefit": ClinBenefitParams,
    "adrs_pd": FirstPdParams,
    "adrs_lsta": LastAssessmentParams,
    "adrs_mdis": MeasurableParams,
    "adrs_death": DeathParams,
    "adrs_timepoint": TimepointParams,
}

KEYS = ["USUBJID"]
RS_REQUIRED = ["USUBJID", "RSSEQ", "RSTESTCD", "RSEVAL", "RSSTRESC", "RSDTC"]
TU_REQUIRED = ["USUBJID", "TUSEQ", "TUTESTCD", "TUEVAL"]
DS = "ADRS"


OVR_COLUMNS = ["USUBJID", "EVALKEY", "RSSEQ", "AVALC", "ADT", "ADTF", "REFDT", "AVISIT", "AVISITN",
               "ANL01FL", "ANL02FL"]


def _empty_ovr() -> pd.DataFrame:
    num = ("RSSEQ", "ADT", "REFDT", "AVISITN")
    return pd.DataFrame({c: pd.Series(dtype=float if c in num else "str") for c in OVR_COLUMNS})


class AdrsSpecError(ValueError):
    """The ADRS spec cannot be used (missing or invalid dataset-level rule)."""


def _err(rule: str, msg: str, sev: Severity = Severity.ERROR, **kw) -> Finding:
    return Finding(sev, rule, msg, dataset=kw.pop("dataset", DS), **kw)


def _dataset_params(spec: Dataset) -> AdrsParams:
    if spec.derivation is None or spec.derivation.rule != "adrs":
        raise AdrsSpecError(f"{spec.name}: dataset-level derivation must be rule 'adrs'")
    try:
        return AdrsParams.model_validate(spec.derivation.params)
    except ValidationError as e:
        raise AdrsSpecError(f"{spec.name}: invalid params of rule 'adrs': {e}") from e


class _Inputs:
    """The analysis frames shared by all parameters (built once, cached per evaluator)."""

    def __init__(self, sdtm: dict[str, pd.DataFrame], adsl: pd.DataFrame, p: AdrsParams,
                 findings: list[Finding]):
        self.p = p
        self.findings = findings
        self.subjects = self._subjects(adsl)
        self.ovr = self._ovr(sdtm.get(p.rs_dataset))
        self.tu = sdtm.get(p.tu_dataset)
        self.refdt = self.subjects.set_index("USUBJID")["REFDT"]
        self._cache: dict[tuple, pd.DataFrame] = {}

    # --- inputs ------------------------------------------------------------------------------
    def _subjects(self, adsl: pd.DataFrame) -> pd.DataFrame:
        p = self.p
        for var in ("USUBJID", p.reference_var):
            if var not in adsl.columns:
                self.findings.append(_err("ADRS-INPUT", f"ADSL has no variable {var}", dataset="ADSL", variable=var))
        if p.death_var and p.death_var not in adsl.columns:  # read as no deaths otherwise, without a word
            self.findings.append(_err("ADRS-INPUT", f"ADSL has no variable {p.death_var}: no death is seen",
                                      Severity.WARNING, dataset="ADSL", variable=p.death_var))
        s = pd.DataFrame({"USUBJID": text(adsl, "USUBJID"), "REFDT": number(adsl, p.reference_var),
                          "DTHDT": number(adsl, p.death_var)})
        return s.drop_duplicates("USUBJID").reset_index(drop=True)

    def _visitn(self, o: pd.DataFrame, rs: pd.DataFrame) -> pd.Series:
        """AVISITN = VISITNUM where the record has a VISIT, else empty like AVISIT: AVISITN is the numeric
        form of AVISIT (ADaMIG 1.3), so it is never set without it. VISIT is Permissible in RS (SDTMIG 3.4)
        and is not guessed from VISITNUM; the records left without either are stated."""
        visitn = number(o, "VISITNUM")
        bare = (text(o, "VISIT") == "") & visitn.notna()
        if bare.any():
            why = "has no VISIT (Permissible)" if "VISIT" not in rs.columns else "has records with VISITNUM but no VISIT"
            self.findings.append(_err("ADRS-AVISIT", f"{self.p.rs_dataset} {why}: AVISIT and AVISITN left empty on "
                                      f"{int(bare.sum())} record(s) (AVISITN is the numeric form of AVISIT)",
                                      Severity.NOTICE, dataset=self.p.rs_dataset, variable="VISIT",
                                      value=_fmt(visitn[bare].iloc[0])))
        return visitn.where(~bare, np.nan)

    def _ovr(self, rs: pd.DataFrame | None) -> pd.DataFrame:
        p = self.p
        if rs is None:
            self.findings.append(_err("ADRS-INPUT", f"input dataset {p.rs_dataset} is missing", dataset=p.rs_dataset))
            return _empty_ovr()
        missing = [c for c in RS_REQUIRED if c not in rs.columns]
        for c in missing:
            self.findings.append(_err("ADRS-INPUT", f"{p.rs_dataset} has no variable {c}", dataset=p.rs_dataset, variable=c))
        if missing:
            return _empty_ovr()
        records = {"RSTESTCD": [p.ovr_testcd]}
        if "RSCAT" in rs.columns:
            records = {"RSCAT": [p.rscat], **records}
        else:  # RSCAT is Permissible (SDTMIG 3.4): its absence is stated, never silently fatal
            self.findings.append(_err("ADRS-RSCAT", f"{p.rs_dataset} has no RSCAT (Permissible): every "
                                      f"RSTESTCD={p.ovr_testcd} record is read as {p.rscat}", Severity.NOTICE,
                                      dataset=p.rs_dataset, variable="RSCAT"))
        m, f = select(rs, Selection.model_validate(records), dataset=p.rs_dataset, where="ADRS.derivation.params.rscat")
        self.findings.extend(f)
        base = rs[m]
        parts = []
        for name, ev in p.evaluators.items():  # a handful of evaluators, not rows
            m, f = select(base, Selection.model_validate({"RSEVAL": ev.rseval}), dataset=p.rs_dataset,
                          where=f"ADRS.derivation.params.evaluators.{name}.rseval")
            self.findings.extend(f)
            sub = base[m]
            if ev.accepted_only:
                sub = self._accepted_reads(sub, name)
            parts.append(sub.assign(EVALKEY=name))
        o = pd.concat(parts) if parts else base.iloc[0:0].assign(EVALKEY="")
        o = o.reset_index(names="_RSROW")
        out = pd.DataFrame({"USUBJID": text(o, "USUBJID"), "EVALKEY": text(o, "EVALKEY"), "RSSEQ": number(o, "RSSEQ"),
                            "AVALC": text(o, "RSSTRESC"), "AVISIT": text(o, "VISIT"),
                            "AVISITN": self._visitn(o, rs), "RSDTC": text(o, "RSDTC")})
        out = out.merge(self.subjects[["USUBJID", "REFDT"]], on="USUBJID", how="left", sort=False)
        known = member(out["USUBJID"], self.subjects["USUBJID"])
        for r in out[~known].itertuples():
            self.findings.append(_err("ADRS-SUBJECT", "RS record of a subject not in ADSL: not analysed",
                                      dataset=p.rs_dataset, variable="USUBJID", usubjid=r.USUBJID,
                                      record=f"RSSEQ={_fmt(r.RSSEQ)}", value=r.USUBJID))
        out = out[known].reset_index(drop=True)
        if not p.before_reference_counts:
            for u in out.loc[out["REFDT"].isna(), "USUBJID"].drop_duplicates():
                self.findings.append(_err("ADRS-REFDT", f"subject has responses but no ADSL.{p.reference_var}: "
                                          "none of its assessments is analysed", Severity.WARNING, dataset="ADSL",
                                          variable=p.reference_var, usubjid=u))
        adt, adtf, valid = analysis_date(out["RSDTC"], imputation=p.date_imputation,
                                         min_dates=out["REFDT"] if p.clamp_to_reference else None)
        out["ADT"], out["ADTF"] = adt, adtf
        for r in out[~valid].itertuples():
            self.findings.append(_err("ADRS-DATE", "RSDTC is not a valid ISO 8601 date: record not analysed",
                                      dataset=p.rs_dataset, variable="RSDTC", usubjid=r.USUBJID,
                                      record=f"RSSEQ={_fmt(r.RSSEQ)}", value=r.RSDTC))
        for r in out[valid & out["ADT"].isna()].itertuples():
            self.findings.append(_err("ADRS-DATE", "no usable assessment date (RSDTC missing or year only "
                                      "with imputation 'none'): record not analysed", Severity.WARNING,
                                      dataset=p.rs_dataset, variable="RSDTC", usubjid=r.USUBJID,
                                      record=f"RSSEQ={_fmt(r.RSSEQ)}", value=r.RSDTC))
        known_resp = out["AVALC"].isin(recist.RESPONSES)
        for r in out[~known_resp].itertuples():
            self.findings.append(_err("ADRS-RESPONSE", "RSSTRESC is not a RECIST 1.1 response "
                                      f"({', '.join(recist.RESPONSES)}): record not analysed",
                                      Severity.ERROR if r.AVALC else Severity.WARNING, dataset=p.rs_dataset,
                                      variable="RSSTRESC", usubjid=r.USUBJID, record=f"RSSEQ={_fmt(r.RSSEQ)}",
                                      value=r.AVALC))
        eligible = known_resp & out["ADT"].notna()
        if not p.before_reference_counts:
            eligible &= out["ADT"] >= out["REFDT"]
        keys = KEYS + ["EVALKEY"]
        dup = out[eligible].groupby(keys + ["ADT"], sort=True).size()
        for (u, ev, adt_), n in dup[dup > 1].items():
            self.findings.append(_err("ADRS-DUPDATE", f"{n} {ev} overall responses on one date: the worst is "
                                      "flagged ANL01FL", Severity.WARNING, dataset=p.rs_dataset,
                                      variable="RSSTRESC", usubjid=u, value=_iso(adt_)))
        anl01 = recist.worst_per_date(out, keys, eligible)
        anl02 = anl01 if p.responses_after_pd else recist.up_to_first_pd(out, keys, anl01)
        out["ANL01FL"] = np.where(anl01, "Y", "")
        out["ANL02FL"] = np.where(anl02, "Y", "")
        self._signal_cr_pr(out[anl02], keys)
        return out.drop(columns="RSDTC")[OVR_COLUMNS]

    def _accepted_reads(self, rs: pd.DataFrame, name: str) -> pd.DataFrame:
        """The reads that count when several assessors may read one time point (SDTMIG 3.4 RSACPTFL).

        Per subject and time point (VISITNUM, else the RSDTC date): the RSACPTFL 'Y' read(s) when one is
        flagged (two readers plus an adjudicator); every read when one reader read it (RSACPTFL is only
        set with several assessors); one read (lowest RSSEQ) when several readers agree and none is
        flagged; none, with an ERROR, when they disagree and none is flagged (no guess).
        """
        if rs.empty:
            return rs
        visit = text(rs, "VISITNUM")
        tp = np.where(visit != "", "V" + visit, "D" + text(rs, "RSDTC").str[:10])
        g = pd.DataFrame({"U": text(rs, "USUBJID").to_numpy(), "T": tp, "ACC": (text(rs, "RSACPTFL") == "Y").to_numpy(),
                          "R": text(rs, "RSEVALID").to_numpy(), "V": text(rs, "RSSTRESC").to_numpy(),
                          "SEQ": number(rs, "RSSEQ").to_numpy()})
        by = g.groupby(["U", "T"], sort=False)
        has_acc = by["ACC"].transform("any").to_numpy()
        readers = by["R"].transform("nunique").to_numpy()
        values = by["V"].transform("nunique").to_numpy()
        lowest = g.sort_values(["U", "T", "SEQ"], kind="mergesort").drop_duplicates(["U", "T"]).index
        first = g.index.isin(lowest)
        several = readers > 1
        keep = np.where(has_acc, g["ACC"].to_numpy(), np.where(~several, True, (values == 1) & first))
        bad = g[~has_acc & several & (values > 1)].drop_duplicates(["U", "T"])
        for r in bad.itertuples():
            vals = " | ".join(sorted(g.loc[(g["U"] == r.U) & (g["T"] == r.T), "V"].unique()))
            self.findings.append(_err("ADRS-READERS", f"{name}: readers disagree at this time point and no read is "
                                      "accepted (RSACPTFL): the time point is not analysed", dataset=self.p.rs_dataset,
                                      variable="RSACPTFL", usubjid=r.U, record=f"RSSEQ={_fmt(r.SEQ)}", value=vals))
        agreed = int((~has_acc & several & (values == 1) & first).sum())
        if agreed:
            self.findings.append(_err("ADRS-READERS-AGREE", f"{name}: {agreed} time point(s) read by several readers "
                                      "who agree, none flagged RSACPTFL: the agreed response is used once",
                                      Severity.NOTICE, dataset=self.p.rs_dataset, variable="RSACPTFL"))
        return rs[keep]

    def _signal_cr_pr(self, ana: pd.DataFrame, keys: list[str]) -> None:
        """admiralonco signal_crpr: a PR after a CR is a data issue (RECIST 1.1 Table 3 note)."""
        a = ana.sort_values(keys + ["ADT"], kind="mergesort")
        cr_before = (a["AVALC"] == "CR").astype(int).groupby([a[k] for k in keys], sort=False).cummax()
        bad = a[(a["AVALC"] == "PR") & (cr_before.shift(1, fill_value=0).astype(bool))
                & (a.groupby(keys, sort=False).cumcount() > 0)]
        for r in bad.drop_duplicates(keys).itertuples():
            self.findings.append(_err("ADRS-CRPR", f"PR after CR ({r.EVALKEY} evaluator): neither is confirmed by the "
                                      "other; check the response data", Severity.WARNING, variable="AVALC",
                                      usubjid=r.USUBJID, record=f"RSSEQ={_fmt(r.RSSEQ)}", value="PR"))

    # --- per-evaluator analysis frames --------------------------------------------------------
    def analysis(self, ev: str) -> pd.DataFrame:
        key = ("ana", ev)
        if key not in self._cache:
            o = self.ovr
            self._cache[key] = o[(o["EVALKEY"] == ev) & (o["ANL02FL"] == "Y")]
        return self._cache[key]

    def confirmed(self, ev: str) -> pd.DataFrame:
        key = ("conf", ev)
        if key not in self._cache:
            p = self.p
            self._cache[key] = recist.confirmed_responses(self.analysis(ev), KEYS, confirm_days=p.confirm_days,
                                                          max_ne=p.max_ne_between, accept_sd=p.accept_sd)
        return self._cache[key]

    def bor(self, ev: str, confirmed: bool) -> pd.DataFrame:
        key = ("bor", ev, confirmed)
        if key not in self._cache:
            p = self.p
            if confirmed:
                r = recist.confirmed_best_overall_response(self.analysis(ev), self.subjects, KEYS,
                                                           confirmed=self.confirmed(ev), min_sd_days=p.min_sd_days,
                                                           missing_as_ne=p.missing_as_ne)
            else:
                r = recist.best_overall_response(self.analysis(ev), self.subjects, KEYS,
                                                 min_sd_days=p.min_sd_days, missing_as_ne=p.missing_as_ne)
            self._cache[key] = r
        return self._cache[key]

    def responses(self, ev: str, confirmed: bool) -> pd.DataFrame:
        """Candidate response records (first one decides RSP/CRSP): CR/PR, or confirmed CR/PR."""
        if confirmed:
            return self.confirmed(ev)
        a = self.analysis(ev)
        return a[a["AVALC"].isin(["CR", "PR"])].assign(ROW=lambda d: np.asarray(d.index, dtype=float))


# --- parameter builders: each returns keys + AVALC, ADT, ROW (+ optional extras) ---------------

def _ovr_records(inp: _Inputs, prm: OvrParams) -> pd.DataFrame:
    o = inp.ovr[inp.ovr["EVALKEY"] == prm.evaluator]
    return o.assign(ROW=np.asarray(o.index, dtype=float))


def _bor(inp: _Inputs, prm: BorParams) -> pd.DataFrame:
    return inp.bor(prm.evaluator, prm.confirmed)


def _response(inp: _Inputs, prm: ResponseParams) -> pd.DataFrame:
    if prm.from_bor:
        b = inp.bor(prm.evaluator, prm.confirmed)
        return recist.response_flag(b[b["AVALC"].isin(["CR", "PR"])], inp.subjects, KEYS)
    return recist.response_flag(inp.responses(prm.evaluator, prm.confirmed), inp.subjects, KEYS)


def _clinbenefit(inp: _Inputs, prm: ClinBenefitParams) -> pd.DataFrame:
    return recist.clinical_benefit(inp.analysis(prm.evaluator), inp.responses(prm.evaluator, prm.confirmed),
                                   inp.subjects, KEYS, min_sd_days=inp.p.min_sd_days)


def _first_pd(inp: _Inputs, prm: FirstPdParams) -> pd.DataFrame:
    return recist.first_pd(inp.analysis(prm.evaluator), inp.subjects, KEYS)


def _lsta(inp: _Inputs, prm: LastAssessmentParams) -> pd.DataFrame:
    return recist.last_assessment(inp.analysis(prm.evaluator), inp.subjects, KEYS,
                                  missing="NE" if inp.p.missing_as_ne else "MISSING")


def _timepoint(inp: _Inputs, prm: TimepointParams) -> pd.DataFrame:
    return recist.timepoint_endpoint(inp.analysis(prm.evaluator), inp.confirmed(prm.evaluator), inp.subjects, KEYS,
                                     endpoint=prm.endpoint, target_day=prm.target_day,
                                     window_before=prm.window_before, window_after=prm.window_after,
                                     min_sd_days=inp.p.min_sd_days,
                                     confirmed_response_qualifies=prm.confirmed_response_qualifies)


def _death(inp: _Inputs, prm: DeathParams) -> pd.DataFrame:
    s = inp.subjects
    dead = s["DTHDT"].notna()
    return pd.DataFrame({"USUBJID": s["USUBJID"], "AVALC": np.where(dead, "Y", "N"), "ADT": s["DTHDT"],
                         "ROW": np.nan, "SRCDOM": np.where(dead, "ADSL", ""),
                         "SRCVAR": np.where(dead, inp.p.death_var, "")})


def _mdis(inp: _Inputs, prm: MeasurableParams) -> pd.DataFrame:
    """Y when the evaluator recorded a TARGET lesion dated on/before the reference date (TU)."""
    p, tu = inp.p, inp.tu
    ev: Evaluator = p.evaluators[prm.evaluator]
    if tu is None or any(c not in tu.columns for c in TU_REQUIRED):
        missing = [p.tu_dataset] if tu is None else [c for c in TU_REQUIRED if c not in tu.columns]
        inp.findings.append(_err("ADRS-INPUT", f"MDIS cannot be derived: {p.tu_dataset} or its variables "
                                 f"{', '.join(missing)} missing", dataset=p.tu_dataset))
        return None  # type: ignore[return-value]
    res = text(tu, "TUSTRESC") if "TUSTRESC" in tu.columns else text(tu, "TUORRES")
    t = tu[(text(tu, "TUTESTCD") == p.tu_testcd) & text(tu, "TUEVAL").isin(ev.tueval) & (res == p.tu_target)]
    t = pd.DataFrame({"USUBJID": text(t, "USUBJID"), "TUSEQ": number(t, "TUSEQ"), "TUDTC": text(t, "TUDTC"),
                      "VISIT": text(t, "VISIT")},
                     index=t.index).merge(inp.subjects, on="USUBJID", how="inner", sort=False)
    adt, _, valid = analysis_date(t["TUDTC"], imputation="first")
    if "TUDTC" not in tu.columns:  # Expected, not Required: a stated default instead of no MDIS at all
        inp.findings.append(_err("ADRS-TUDTC", f"{p.tu_dataset} has no TUDTC: lesions recorded at VISIT "
                                 f"{', '.join(p.tu_baseline_visits)} are taken as baseline", Severity.NOTICE,
                                 dataset=p.tu_dataset, variable="TUDTC"))
        adt = pd.Series(np.where(t["VISIT"].isin(p.tu_baseline_visits), t["REFDT"], np.nan), index=t.index)
        valid = pd.Series(True, index=t.index)
    t["ADT"] = adt
    for r in t[~valid | adt.isna()].itertuples():
        inp.findings.append(_err("ADRS-DATE", "TARGET lesion without a usable TUDTC: not counted for MDIS",
                                 Severity.WARNING, dataset=p.tu_dataset, variable="TUDTC", usubjid=r.USUBJID,
                                 record=f"TUSEQ={_fmt(r.TUSEQ)}", value=r.TUDTC))
    base = t[t["ADT"] <= t["REFDT"]].sort_values(["USUBJID", "ADT", "TUSEQ"], ascending=[True, False, True],
                                                 kind="mergesort").drop_duplicates("USUBJID")
    chosen = base.assign(AVALC="Y", ROW=base["TUSEQ"])
    out = recist._result(inp.subjects, KEYS, chosen, "N")
    has = out["ROW"].notna()
    out["SRCDOM"] = np.where(has, p.tu_dataset, "")
    out["SRCVAR"] = np.where(has, "TUSTRESC" if "TUSTRESC" in tu.columns else "TUORRES", "")
    out["SRCSEQ"] = out["ROW"]
    return out


BUILDERS: dict[str, Callable[[_Inputs, BaseModel], pd.DataFrame]] = {
    "adrs_ovr": _ovr_records, "adrs_bor": _bor, "adrs_response": _response, "adrs_clinbenefit": _clinbenefit,
    "adrs_pd": _first_pd, "adrs_lsta": _lsta, "adrs_mdis": _mdis, "adrs_death": _death,
    "adrs_timepoint": _timepoint,
}
RESPONSE_VALUED = {"adrs_ovr", "adrs_bor", "adrs_lsta"}


def _records(inp: _Inputs, par: Parameter, prm: BaseModel, rule: str) -> pd.DataFrame | None:
    recs = BUILDERS[rule](inp, prm)
    if recs is None:
        return None
    recs = recs.copy()
    ovr = inp.ovr
    is_ovr = rule == "adrs_ovr"
    if "SRCSEQ" in recs.columns:
        recs["ADTF"] = ""
    else:
        row = recs["ROW"]
        has = row.notna()
        idx = row.fillna(-1).astype(np.int64).to_numpy()
        safe = np.clip(idx, 0, max(len(ovr) - 1, 0))

        def take(col: str, fill: object) -> np.ndarray:
            """The OVR value of each record's source row (ROW indexes inp.ovr), `fill` without one."""
            if not len(ovr):
                return np.full(len(recs), fill, dtype=object)
            return np.where(has, ovr[col].to_numpy()[safe], fill)

        recs["SRCSEQ"] = pd.Series(take("RSSEQ", np.nan), index=recs.index, dtype=float)
        recs["ADTF"] = pd.Series(take("ADTF", ""), index=recs.index, dtype="str")
        if "SRCDOM" not in recs.columns:
            recs["SRCDOM"] = np.where(has, inp.p.rs_dataset, "")
            recs["SRCVAR"] = np.where(has, "RSSTRESC", "")
    if not is_ovr:
        recs["AVISIT"], recs["AVISITN"] = "", np.nan
        recs["ANL01FL"], recs["ANL02FL"] = "Y", ""
    recs["REFDT"] = recs["USUBJID"].map(inp.refdt).astype(float)
    coding = recist.AVAL_RESP if rule in RESPONSE_VALUED else recist.AVAL_YN
    recs["AVAL"] = aval_from_avalc(recs["AVALC"], coding)
    recs["ADY"] = analysis_day(recs["ADT"], recs["REFDT"])
    recs["PARAMCD"], recs["PARAM"] = par.paramcd, par.param
    ev = getattr(prm, "evaluator", None)
    recs["PARCAT1"] = par.parcat1 if par.parcat1 is not None else (
        prm.parcat1 if isinstance(prm, DeathParams) else inp.p.parcat1)
    recs["PARCAT2"] = par.parcat2 if par.parcat2 is not None else (inp.p.evaluators[ev].parcat2 if ev else "")
    recs["PARCAT3"] = par.parcat3 if par.parcat3 is not None else (inp.p.parcat3 if ev else "")
    keep = ["USUBJID", "PARAMCD", "PARAM", "PARCAT1", "PARCAT2", "PARCAT3", "AVAL", "AVALC", "ADT", "ADTF", "ADY",
            "AVISIT", "AVISITN", "ANL01FL", "ANL02FL", "SRCDOM", "SRCVAR", "SRCSEQ"]
    return recs[keep]


def derive_adrs(sdtm: dict[str, pd.DataFrame], adsl: pd.DataFrame,
                spec_dataset: Dataset) -> tuple[pd.DataFrame, list[Finding]]:
    """ADRS per the spec: per-visit OVR records plus subject-level response parameters per evaluator."""
    p = _dataset_params(spec_dataset)
    findings: list[Finding] = []
    inp = _Inputs(sdtm, adsl, p, findings)
    frames = []
    for par in spec_dataset.parameters:  # one pass per PARAMCD (tens), each vectorized over subjects
        d = par.derivation
        if d is None or d.rule not in BUILDERS:
            findings.append(_err("ADRS-SPEC", f"parameter has no known rule (one of {', '.join(sorted(BUILDERS))})",
                                 variable="PARAMCD", value=f"{par.paramcd}: {d.rule if d else ''}"))
            continue
        try:
            prm = RULES[d.rule].model_validate(d.params)
        except ValidationError as e:
            findings.append(_err("ADRS-SPEC", f"invalid params of rule {d.rule}: {e}", variable="PARAMCD",
                                 value=par.paramcd))
            continue
        ev = getattr(prm, "evaluator", None)
        if ev is not None and ev not in p.evaluators:
            findings.append(_err("ADRS-SPEC", f"unknown evaluator {ev!r} (dataset params define "
                                 f"{', '.join(p.evaluators)})", variable="PARAMCD", value=par.paramcd))
            continue
        recs = _records(inp, par, prm, d.rule)
        if recs is not None:
            frames.append(recs)
    cols = ["USUBJID", "PARAMCD", "PARAM", "PARCAT1", "PARCAT2", "PARCAT3", "AVAL", "AVALC", "ADT", "ADTF", "ADY",
            "AVISIT", "AVISITN", "ANL01FL", "ANL02FL", "SRCDOM", "SRCVAR", "SRCSEQ"]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    out = _finish(out, adsl, spec_dataset, findings)
    return out, findings


def _finish(df: pd.DataFrame, adsl: pd.DataFrame, spec: Dataset, findings: list[Finding]) -> pd.DataFrame:
    """ADSL variables, ASEQ, spec column order and types, sorted by the spec keys."""
    names = [v.name for v in spec.variables]
    df = merge_subject_vars(df, adsl, [n for n in names if n not in df.columns])
    if "ASEQ" in names:
        df["ASEQ"] = sequence_number(df, ["USUBJID"], ["PARAMCD", "ADT", "AVISITN", "SRCSEQ"])
    cols = {}
    for v in spec.variables:
        if v.name not in df.columns:
            findings.append(_err("ADRS-SHAPE", "variable in the spec is neither derived by ADRS nor in ADSL",
                                 variable=v.name))
            cols[v.name] = (pd.Series("", index=df.index, dtype="str") if v.type == "Char"
                            else pd.Series(np.nan, index=df.index, dtype=float))
        else:
            col = df[v.name]
            if v.type == "Char":
                ready = pd.api.types.is_string_dtype(col) and not col.hasnans
                cols[v.name] = col if ready else text(df, v.name, strip=False)
            else:
                cols[v.name] = col.astype(float) if pd.api.types.is_numeric_dtype(col) else number(df, v.name)
    out = pd.DataFrame(cols, index=df.index)
    keys = [k for k in spec.keys if k in out.columns]
    return out.sort_values(keys, kind="mergesort", na_position="first").reset_index(drop=True)


def _fmt(x: float) -> str:
    return "" if pd.isna(x) else (str(int(x)) if float(x).is_integer() else str(x))


def _iso(x: float) -> str:
    from studyforge.dates import sas_date_to_iso

    return sas_date_to_iso(pd.Series([x])).iloc[0]
