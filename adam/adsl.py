"""ADSL: one record per subject (ADaMIG 1.3), every study-specific choice a spec parameter.

Entry point `derive_adsl(sdtm, dataset)`: the dataset's `derivation` is rule "adsl" with
`AdslParams`. Whole-frame merges and groupbys only; no per-subject Python loop.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, model_validator

from adam.derive_common import SpecParams, last_by, member, missing_columns, num_col, text_col
from adam.select import Selection, select
from studyforge.dates import impute_date, impute_time, iso_to_sas_date
from studyforge.findings import Finding, Severity
from studyforge.spec.models import Dataset

DAY = 86400.0


class AgeGroups(SpecParams):
    """AGEGRy from AGE: breaks [65] with labels ['<65', '>=65'] means AGE < 65 and AGE >= 65."""

    breaks: list[float] = Field(min_length=1)
    labels: list[str]

    @model_validator(mode="after")
    def _sizes(self) -> "AgeGroups":
        if len(self.labels) != len(self.breaks) + 1:
            raise ValueError("labels must number one more than breaks")
        if self.breaks != sorted(set(self.breaks)):
            raise ValueError("breaks must be strictly increasing")
        return self


class Exposure(SpecParams):
    """Which EX records are a valid dose (admiral: EXDOSE > 0, or 0 for a placebo EXTRT)."""

    dataset: str = "EX"
    treatments: list[str] = Field(min_length=1, description="EXTRT values counted as study treatment")
    min_dose_exclusive: float = 0.0
    zero_dose_treatments: list[str] = Field(default_factory=list, description="EXTRT values whose EXDOSE 0 is a "
                                            "valid dose (admiral: placebo)")


class Source(SpecParams):
    """A value taken from one SDTM dataset: rows matching `where`, column `variable`."""

    dataset: str
    where: Selection | None = None
    variable: str


class SuppSource(SpecParams):
    """A SUPP-- QNAM value attached to parent records selected by `parent_where` (or subject-level)."""

    dataset: str = Field(description="e.g. SUPPMH")
    parent: str = Field(description="e.g. MH")
    parent_where: Selection | None = None
    qnam: str


class Characteristic(SpecParams):
    """One baseline disease characteristic: an ADSL variable from a parent variable or a SUPP QNAM."""

    name: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,7}$")
    source: Source | None = None
    supp: SuppSource | None = None
    numeric: bool = False

    @model_validator(mode="after")
    def _one(self) -> "Characteristic":
        if (self.source is None) == (self.supp is None):
            raise ValueError("give exactly one of source / supp")
        return self


class BaselineFinding(SpecParams):
    """Baseline = last non-missing value on or before TRTSDT (date level; same-day counts as pre-dose)."""

    name: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,7}$")
    dataset: str
    where: Selection | None = None
    value: str = Field(description="numeric result variable, e.g. LBSTRESN")
    date: str = Field(description="--DTC variable")


class DateSource(SpecParams):
    """A date contributing to LSTALVDT: complete dates of `variable` in rows matching `where`."""

    dataset: str
    variable: str
    where: Selection | None = None


class Disposition(SpecParams):
    """A status / date / reason triple from one kind of DS disposition record (ADaMIG 1.3 ADSL).

    EOSSTT/EOSDT/DCSREAS from the end-of-study records, EOTSTT/DCTREAS from the end-of-treatment ones:
    COMPLETED when DSDECOD is one of `completed`, else DISCONTINUED with DSDECOD as the reason;
    `ongoing` when the subject has no such record.
    """

    dataset: str = "DS"
    where: Selection = Field(description="the disposition records of this kind, e.g. DSCAT/DSSCAT CT terms")
    completed: list[str] = Field(default_factory=lambda: ["COMPLETED"])
    status_var: str = Field("EOSSTT", pattern=r"^[A-Z][A-Z0-9_]{0,7}$")
    date_var: str | None = Field("EOSDT", pattern=r"^[A-Z][A-Z0-9_]{0,7}$")
    reason_var: str | None = Field("DCSREAS", pattern=r"^[A-Z][A-Z0-9_]{0,7}$")
    ongoing: str = "ONGOING"
    blank_for: list[str] = Field(default_factory=list, description="DSDECOD values giving a blank status, date "
                                 "and reason (admiral: SCREEN FAILURE has no end-of-study status)")


class ReferenceDate(SpecParams):
    """A subject-level date (e.g. RANDDT) from any declared source: the first (or last) complete date."""

    name: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,7}DT$")
    dataset: str
    where: Selection | None = None
    variable: str = Field(description="--DTC variable, e.g. DSSTDTC")
    pick: Literal["first", "last"] = "first"


class Cohort(SpecParams):
    """A Y/N flag: Y when a SUPP QNAM takes one of `supp_values` or the subject has an SE element in `se_etcd`."""

    name: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,7}$")
    supp_dataset: str | None = "SUPPEX"
    qnam: str | None = "EXADMIN"
    supp_values: list[str] = Field(default_factory=list)
    se_dataset: str | None = "SE"
    se_etcd: list[str] = Field(default_factory=list)


class Measurable(SpecParams):
    """EFFFL: a TARGET lesion in TU by the named evaluator at the baseline assessment (date <= TRTSDT)."""

    dataset: str = "TU"
    where: Selection | None = Field(default_factory=lambda: Selection.model_validate(
        {"TUTESTCD": ["TUMIDENT"], "TUORRES": ["TARGET"]}))
    evaluator_var: str = "TUEVAL"
    evaluators: list[str] = Field(default_factory=lambda: ["INDEPENDENT ASSESSOR"])
    date: str = "TUDTC"
    baseline_visits: list[str] = Field(default_factory=lambda: ["SCREENING", "BASELINE"],
                                       description="without a date variable, lesions at these VISITs are baseline")


class AdslParams(SpecParams):
    dm: str = "DM"
    age_groups: dict[str, AgeGroups] = Field(default_factory=dict, description="AGEGR1 -> groups; AGEGR1N = 1..n")
    exposure: Exposure
    fas_requires_arm: bool = Field(True, description="FASFL needs a non-empty ARMCD (enrolled)")
    fas_requires_dose: bool = Field(True, description="FASFL needs SAFFL = Y (dosed)")
    measurable: Measurable | None = None
    disposition: list[Disposition] = Field(min_length=1, description="EOS (and EOT) status triples, in order")
    reference_dates: list[ReferenceDate] = Field(default_factory=list, description="e.g. RANDDT from DS")
    death_cause: list[Source] = Field(default_factory=list, description="tried in order; first non-empty wins")
    death_date_fill: Literal["first", "mid", "last"] = "first"
    alive_sources: list[DateSource] = Field(default_factory=list)
    cohorts: list[Cohort] = Field(default_factory=list)
    characteristics: list[Characteristic] = Field(default_factory=list)
    baselines: list[BaselineFinding] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _one_disposition(cls, data):
        """A single `disposition:` mapping is the end-of-study triple."""
        if isinstance(data, dict) and isinstance(data.get("disposition"), dict):
            data = {**data, "disposition": [data["disposition"]]}
        return data


RULES: dict[str, type[BaseModel]] = {"adsl": AdslParams}

DM_COPY = ["STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "AGEU", "SEX", "RACE", "ETHNIC", "COUNTRY",
           "ARM", "ARMCD", "ACTARM", "ACTARMCD", "DTHFL"]
# Always derived (later datasets read them); a spec that does not list one simply leaves it out of ADSL.
# Variables named by params (age groups, cohorts, characteristics, baselines, EFFFL) must be in the spec.
STANDARD_OUTPUTS = frozenset(DM_COPY) | {
    "TRT01P", "TRT01A", "TRTSDT", "TRTSDTM", "TRTSTMF", "TRTEDT", "TRTEDTM", "TRTETMF", "TRTDURD", "SAFFL", "FASFL",
    "EOSSTT", "EOSDT", "DCSREAS", "DTHDT", "DTHDTF", "DTHCAUS", "LSTALVDT"}


def _empty(sdtm: dict[str, pd.DataFrame], name: str) -> pd.DataFrame:
    return sdtm.get(name, pd.DataFrame({"USUBJID": pd.Series([], dtype="str")}))


def exposure_dates(ex: pd.DataFrame, p: Exposure, idx: pd.Index) -> tuple[pd.DataFrame, list[Finding]]:
    """TRTSDTM/TRTEDTM (admiral: first dose time imputed 00:00:00, last 23:59:59) and their TMF flags."""
    findings = missing_columns(ex, ["USUBJID", "EXTRT", "EXDOSE", "EXSTDTC"], p.dataset, "ADSL-EX")
    out = pd.DataFrame(index=idx, columns=["TRTSDTM", "TRTSTMF", "TRTEDTM", "TRTETMF"])
    if findings:
        return out.assign(TRTSDTM=np.nan, TRTEDTM=np.nan, TRTSTMF="", TRTETMF=""), findings
    dose = num_col(ex, "EXDOSE")
    trt = text_col(ex, "EXTRT")
    _, findings = select(ex, Selection.model_validate({"EXTRT": p.treatments}), dataset=p.dataset,
                         where="ADSL.derivation.params.exposure.treatments")
    valid = trt.isin(p.treatments) & ((dose > p.min_dose_exclusive) | (trt.isin(p.zero_dose_treatments) & (dose == 0)))
    e = ex.loc[valid]
    st = text_col(e, "EXSTDTC")
    en = text_col(e, "EXENDTC")
    en = en.where(en != "", st)
    sdtm_, stmf = impute_time(st, fill="first")
    edtm, etmf = impute_time(en, fill="last")
    bad = sdtm_.isna() & (st != "")
    for u, q, v in zip(text_col(e, "USUBJID")[bad], text_col(e, "EXSEQ")[bad], st[bad]):
        findings.append(Finding(Severity.WARNING, "ADSL-EXDATE", "dose date is partial or invalid; not used for TRTSDT/TRTEDT",
                                dataset=p.dataset, variable="EXSTDTC", usubjid=u, record=f"EXSEQ={q}", value=v))
    f = pd.DataFrame({"USUBJID": text_col(e, "USUBJID"), "S": sdtm_, "SF": stmf, "E": edtm, "EF": etmf})
    first = last_by(f.dropna(subset=["S"]).assign(neg=lambda d: -d["S"]), "USUBJID", ["neg"]).set_index("USUBJID")
    last = last_by(f.dropna(subset=["E"]), "USUBJID", ["E"]).set_index("USUBJID")
    out["TRTSDTM"] = first["S"].reindex(idx).astype(float)
    out["TRTSTMF"] = first["SF"].reindex(idx).fillna("").astype("str")
    out["TRTEDTM"] = last["E"].reindex(idx).astype(float)
    out["TRTETMF"] = last["EF"].reindex(idx).fillna("").astype("str")
    return out, findings


def age_group(age: pd.Series, groups: AgeGroups) -> tuple[pd.Series, pd.Series]:
    """(AGEGRy, AGEGRyN): group k holds breaks[k-1] <= AGE < breaks[k]; missing AGE -> '' / NaN."""
    code = np.searchsorted(np.asarray(groups.breaks, dtype=float), age.to_numpy(dtype=float), side="right")
    labels = np.asarray(groups.labels, dtype=object)[code]
    miss = age.isna().to_numpy()
    return (pd.Series(np.where(miss, "", labels), index=age.index, dtype="str"),
            pd.Series(np.where(miss, np.nan, code + 1.0), index=age.index, dtype=float))


def disposition(ds: pd.DataFrame, p: Disposition, idx: pd.Index,
                where: str = "ADSL.derivation.params.disposition") -> tuple[pd.DataFrame, list[Finding]]:
    """Status (COMPLETED / DISCONTINUED from the selected record, `ongoing` if none), date and reason."""
    findings = missing_columns(ds, ["USUBJID", "DSDECOD", "DSSTDTC"], p.dataset, "ADSL-DS")
    out = pd.DataFrame(index=idx)
    out["EOSSTT"] = p.ongoing
    out["EOSDT"] = np.nan
    out["DCSREAS"] = ""
    if findings:
        return _named(out, p), findings
    m, findings = select(ds, p.where, dataset=p.dataset, where=f"{where}.where")
    d = ds.loc[m]
    d = pd.DataFrame({"USUBJID": text_col(d, "USUBJID"), "DSDECOD": text_col(d, "DSDECOD"),
                      "DT": iso_to_sas_date(text_col(d, "DSSTDTC")), "SEQ": text_col(d, "DSSEQ")})
    n = d.groupby("USUBJID").size()
    dups = d[member(d.USUBJID, n[n > 1].index)].groupby("USUBJID")["DSDECOD"].agg(", ".join)
    findings += [Finding(Severity.ERROR, "ADSL-EOS-DUP", f"more than one disposition record for {p.status_var}; "
                         f"{p.status_var} left {p.ongoing} until resolved", dataset=p.dataset, variable="DSDECOD",
                         usubjid=subj, value=val) for subj, val in dups.items()]
    one = d[member(d.USUBJID, n[n == 1].index)].set_index("USUBJID").reindex(idx)
    has = one["DSDECOD"].notna() & (one["DSDECOD"] != "")
    comp = one["DSDECOD"].isin(p.completed)
    out["EOSSTT"] = np.where(has, np.where(comp, "COMPLETED", "DISCONTINUED"), p.ongoing)
    out["EOSDT"] = one["DT"].astype(float)
    out["DCSREAS"] = np.where(has & ~comp, one["DSDECOD"].fillna(""), "")
    blank = one["DSDECOD"].isin(p.blank_for).to_numpy()
    out.loc[blank, ["EOSSTT", "DCSREAS"]] = ""
    out.loc[blank, "EOSDT"] = np.nan
    bad = has & one["DT"].isna()
    for subj in idx[bad.to_numpy()]:
        findings.append(Finding(Severity.WARNING, "ADSL-EOS-DATE", f"disposition date is partial or missing; "
                                f"{p.date_var or p.status_var} date left missing", dataset=p.dataset,
                                variable="DSSTDTC", usubjid=subj, record=f"DSSEQ={one.loc[subj, 'SEQ']}"))
    return _named(out, p), findings


def _named(out: pd.DataFrame, p: Disposition) -> pd.DataFrame:
    """The triple under the variable names the spec gives (a None name is not derived)."""
    names = {"EOSSTT": p.status_var, "EOSDT": p.date_var, "DCSREAS": p.reason_var}
    return out[[k for k, v in names.items() if v]].rename(columns=names)


def reference_date(sdtm: dict[str, pd.DataFrame], r: ReferenceDate, idx: pd.Index,
                   where: str) -> tuple[pd.Series, list[Finding]]:
    """The first/last complete date of the selected records (e.g. RANDDT: DS DSDECOD RANDOMIZED)."""
    df = sdtm.get(r.dataset)
    if df is None:
        return pd.Series(np.nan, index=idx), [Finding(Severity.WARNING, "ADSL-REFDATE", f"no {r.dataset} dataset: "
                                                      f"{r.name} left missing", dataset=r.dataset, variable=r.name)]
    m, findings = select(df, r.where, dataset=r.dataset, where=f"{where}.where")
    d = df.loc[m]
    dtc = text_col(d, r.variable)
    dt = iso_to_sas_date(dtc)
    bad = dt.isna().to_numpy() & (dtc != "").to_numpy()  # partial or invalid: not a complete date, say so
    findings = findings + [Finding(Severity.WARNING, "ADSL-REFDATE-PARTIAL", f"{r.name}: date is partial or invalid; "
                                   "record not used", dataset=r.dataset, variable=r.variable, usubjid=u, value=v)
                           for u, v in zip(text_col(d, "USUBJID")[bad], dtc[bad])]
    got = pd.Series(dt.to_numpy(), index=text_col(d, "USUBJID").to_numpy()).dropna()
    got = got.groupby(level=0).min() if r.pick == "first" else got.groupby(level=0).max()
    return got.reindex(idx).astype(float), findings


def _complete_dates(sdtm: dict[str, pd.DataFrame], sources: list[DateSource],
                    findings: list[Finding] | None = None) -> pd.DataFrame:
    parts = []
    for i, s in enumerate(sources):
        df = sdtm.get(s.dataset)
        if df is None or s.variable not in df.columns:  # a source that names nothing is a fact to report
            if findings is not None:
                findings.append(Finding(Severity.WARNING, "ADSL-ALIVE-SOURCE", f"alive source {s.dataset}.{s.variable} "
                                        "is not in the SDTM input: not used for LSTALVDT", dataset=s.dataset,
                                        variable=s.variable))
            continue
        m, f = select(df, s.where, dataset=s.dataset, where=f"ADSL.derivation.params.alive_sources.{i}.where")
        if findings is not None:
            findings += f
        d = df.loc[m]
        parts.append(pd.DataFrame({"USUBJID": text_col(d, "USUBJID"), "DT": iso_to_sas_date(text_col(d, s.variable))}))
    if not parts:
        return pd.DataFrame({"USUBJID": pd.Series([], dtype="str"), "DT": pd.Series([], dtype=float)})
    return pd.concat(parts, ignore_index=True).dropna(subset=["DT"])


def _source_values(sdtm: dict[str, pd.DataFrame], s: Source, where: str = "",
                   findings: list[Finding] | None = None, severity: Severity = Severity.WARNING) -> pd.DataFrame:
    df = sdtm.get(s.dataset)
    if df is None or s.variable not in df.columns:
        return pd.DataFrame({"USUBJID": pd.Series([], dtype="str"), "V": pd.Series([], dtype="str")})
    m, f = select(df, s.where, dataset=s.dataset, where=where, severity=severity)
    if findings is not None:
        findings += f
    d = df.loc[m]
    return pd.DataFrame({"USUBJID": text_col(d, "USUBJID"), "V": text_col(d, s.variable)})


def _one_per_subject(vals: pd.DataFrame, idx: pd.Index, name: str, dataset: str) -> tuple[pd.Series, list[Finding]]:
    """The single value per subject; conflicting values are an ERROR finding and stay missing (no guess)."""
    v = vals[vals["V"] != ""].drop_duplicates(["USUBJID", "V"])
    n = v.groupby("USUBJID").size()
    many = v[member(v.USUBJID, n[n > 1].index)].groupby("USUBJID")["V"].agg(" | ".join)
    findings = [Finding(Severity.ERROR, "ADSL-CONFLICT", f"conflicting source values for {name}; left missing",
                        dataset=dataset, variable=name, usubjid=s, value=val) for s, val in many.items()]
    ok = v[member(v.USUBJID, n[n == 1].index)].set_index("USUBJID")["V"]
    return ok.reindex(idx).fillna("").astype("str"), findings


def characteristic(sdtm: dict[str, pd.DataFrame], c: Characteristic, idx: pd.Index,
                   where: str = "") -> tuple[pd.Series, list[Finding]]:
    sel_found: list[Finding] = []
    if c.source is not None:
        vals, dataset = _source_values(sdtm, c.source, f"{where}.source.where", sel_found), c.source.dataset
    else:
        s = c.supp
        supp = sdtm.get(s.dataset, pd.DataFrame())
        parent = sdtm.get(s.parent, pd.DataFrame())
        q = supp.loc[text_col(supp, "QNAM") == s.qnam] if len(supp) else supp
        q = pd.DataFrame({"USUBJID": text_col(q, "USUBJID"), "IDVAR": text_col(q, "IDVAR"),
                          "IDVARVAL": text_col(q, "IDVARVAL"), "V": text_col(q, "QVAL")})
        subj_level = q[q.IDVAR == ""]
        rec = q[q.IDVAR != ""]
        linked = []
        if len(rec) and len(parent):
            m, f = select(parent, s.parent_where, dataset=s.parent, where=f"{where}.supp.parent_where")
            sel_found += f
            par = parent.loc[m]
            for idvar in rec.IDVAR.unique():  # a handful of distinct IDVARs, not rows
                keys = pd.DataFrame({"USUBJID": text_col(par, "USUBJID"), "IDVARVAL": text_col(par, idvar)})
                linked.append(rec[rec.IDVAR == idvar].merge(keys, on=["USUBJID", "IDVARVAL"]))
        vals = pd.concat([subj_level, *linked], ignore_index=True)[["USUBJID", "V"]]
        dataset = s.dataset
    out, findings = _one_per_subject(vals, idx, c.name, dataset)
    findings = sel_found + findings
    if c.numeric:
        num = pd.to_numeric(out.where(out != ""), errors="coerce")
        for subj in out.index[(out != "") & num.isna()]:
            findings.append(Finding(Severity.ERROR, "ADSL-NUM", f"{c.name} source value is not numeric",
                                    dataset=dataset, variable=c.name, usubjid=subj, value=out[subj]))
        return num.astype(float), findings
    return out, findings


def baseline_value(sdtm: dict[str, pd.DataFrame], b: BaselineFinding, trtsdt: pd.Series,
                   where: str = "") -> tuple[pd.Series, list[Finding]]:
    """Last non-missing value dated on/before TRTSDT; two differing values on that date -> ERROR, missing."""
    df = sdtm.get(b.dataset)
    idx = trtsdt.index
    if df is None:
        return pd.Series(np.nan, index=idx, dtype=float), []
    found = missing_columns(df, ["USUBJID", b.value, b.date], b.dataset, "ADSL-BASE")
    if found:
        return pd.Series(np.nan, index=idx, dtype=float), found
    m, sel_found = select(df, b.where, dataset=b.dataset, where=f"{where}.where")
    d = df.loc[m]
    d = pd.DataFrame({"USUBJID": text_col(d, "USUBJID"), "V": num_col(d, b.value),
                      "DT": iso_to_sas_date(text_col(d, b.date)), "SEQ": text_col(d, f"{b.dataset[:2]}SEQ")})
    d = d.dropna(subset=["V", "DT"])
    d = d[d["DT"].to_numpy() <= trtsdt.reindex(d["USUBJID"]).to_numpy()]
    last_dt = d.groupby("USUBJID")["DT"].transform("max")
    d = d[d["DT"] == last_dt]
    stats = d.groupby("USUBJID")["V"].agg(["min", "max", "size"])
    tied = d[member(d.USUBJID, stats.index[stats["min"] != stats["max"]])]
    seqname = f"{b.dataset[:2]}SEQ="
    recs = (seqname + tied["SEQ"]).groupby(tied["USUBJID"]).agg(", ".join)
    vals = tied["V"].map("{:g}".format).groupby(tied["USUBJID"]).agg(" | ".join)
    findings = [Finding(Severity.ERROR, "ADSL-BASE-TIE", f"{b.name}: different values on the last pre-dose date; "
                        "baseline left missing", dataset=b.dataset, variable=b.value, usubjid=s,
                        record=recs[s], value=vals[s]) for s in recs.index]
    val = stats["min"].where(stats["min"] == stats["max"])
    return val.reindex(idx).astype(float), sel_found + findings


def cohort_flag(sdtm: dict[str, pd.DataFrame], c: Cohort, idx: pd.Index,
                where: str = "ADSL.derivation.params.cohorts") -> tuple[pd.Series, list[Finding]]:
    """Y/N; a QNAM absent from the SUPP dataset is a WARNING, values nobody has are a NOTICE (plausible)."""
    hit = pd.Series(False, index=idx)
    findings: list[Finding] = []
    supp = sdtm.get(c.supp_dataset or "", None)
    if supp is not None and c.qnam and c.supp_values:
        q, f = select(supp, Selection.model_validate({"QNAM": [c.qnam]}), dataset=c.supp_dataset, where=f"{where}.qnam")
        m, g = select(supp.loc[q], Selection.model_validate({"QVAL": c.supp_values}), dataset=c.supp_dataset,
                      where=f"{where}.supp_values", severity=Severity.NOTICE)
        findings += f + (g if not f else [])
        hit |= member(idx, text_col(supp.loc[q].loc[m], "USUBJID").unique())
    se = sdtm.get(c.se_dataset or "", None)
    if se is not None and c.se_etcd:
        m, f = select(se, Selection.model_validate({"ETCD": c.se_etcd}), dataset=c.se_dataset,
                      where=f"{where}.se_etcd", severity=Severity.NOTICE)
        findings += f
        hit |= member(idx, text_col(se.loc[m], "USUBJID").unique())
    return pd.Series(np.where(hit, "Y", "N"), index=idx, dtype="str"), findings


def measurable_flag(sdtm: dict[str, pd.DataFrame], m: Measurable, trtsdt: pd.Series) -> tuple[pd.Series, list[Finding]]:
    """Y when a selected lesion record is dated on/before TRTSDT; undated ones cannot count and are reported."""
    idx = trtsdt.index
    tu = sdtm.get(m.dataset)
    if tu is None:
        return pd.Series("N", index=idx, dtype="str"), []
    sel, findings = select(tu, m.where, dataset=m.dataset, where="ADSL.derivation.params.measurable.where")
    t = tu.loc[sel & text_col(tu, m.evaluator_var).isin(m.evaluators)]
    dtc = text_col(t, m.date)
    dt = iso_to_sas_date(dtc)
    ok = dt.to_numpy() <= trtsdt.reindex(text_col(t, "USUBJID")).to_numpy()
    bad = dt.isna()
    if m.date not in tu.columns:  # TUDTC is Expected, not Required: a stated default, one NOTICE
        findings.append(Finding(Severity.NOTICE, "ADSL-EFF-DATE", f"{m.dataset} has no {m.date}: lesions at VISIT "
                                f"{', '.join(m.baseline_visits)} are taken as baseline", dataset=m.dataset,
                                variable=m.date))
        ok = text_col(t, "VISIT").isin(m.baseline_visits).to_numpy()
        bad = pd.Series(False, index=t.index)
    seq = text_col(t, f"{m.dataset[:2]}SEQ")
    findings += [Finding(Severity.WARNING, "ADSL-EFF-DATE", "lesion record without a complete date cannot show "
                        "baseline measurable disease", dataset=m.dataset, variable=m.date, usubjid=u,
                        record=f"{m.dataset[:2]}SEQ={q}", value=v)
                for u, q, v in zip(text_col(t, "USUBJID")[bad], seq[bad], dtc[bad])]
    flag = np.where(member(idx, text_col(t, "USUBJID")[ok].unique()), "Y", "N")
    return pd.Series(flag, index=idx, dtype="str"), findings


def derive_adsl(sdtm: dict[str, pd.DataFrame], dataset: Dataset) -> tuple[pd.DataFrame, list[Finding]]:
    """ADSL from DM (one row per DM subject, DM order) plus EX, DS, TU, RS, LB, MH/SUPPMH, SE/SUPPEX, AE."""
    if dataset.derivation is None or dataset.derivation.rule != "adsl":
        raise ValueError(f"{dataset.name}: derivation rule must be 'adsl'")
    p = AdslParams.model_validate(dataset.derivation.params)
    findings: list[Finding] = []
    dm = sdtm.get(p.dm)
    if dm is None:
        return pd.DataFrame(), [Finding(Severity.ERROR, "ADSL-DM", f"no {p.dm} dataset in the SDTM input", dataset=p.dm)]
    findings += missing_columns(dm, ["STUDYID", "USUBJID"], p.dm, "ADSL-DM")
    if findings:
        return pd.DataFrame(), findings
    dup = text_col(dm, "USUBJID").duplicated(keep=False)
    for s in text_col(dm, "USUBJID")[dup].unique():
        findings.append(Finding(Severity.ERROR, "ADSL-DM-DUP", "USUBJID appears more than once in DM; first kept",
                                dataset=p.dm, variable="USUBJID", usubjid=s))
    dm = dm.loc[~text_col(dm, "USUBJID").duplicated()]
    idx = pd.Index(text_col(dm, "USUBJID").to_numpy(), name="USUBJID")
    a = pd.DataFrame(index=idx)
    for c in DM_COPY:
        a[c] = num_col(dm, c).to_numpy() if c == "AGE" else text_col(dm, c).to_numpy()
    for name, groups in p.age_groups.items():
        a[name], a[f"{name}N"] = age_group(a["AGE"], groups)
    a["TRT01P"] = a["ARM"].where(a["ARMCD"] != "", "")
    a["TRT01A"] = a["ACTARM"].where(a["ACTARMCD"] != "", "")

    ex, f = exposure_dates(_empty(sdtm, p.exposure.dataset), p.exposure, idx)
    findings += f
    a = a.join(ex)
    a["TRTSDT"] = np.floor(a["TRTSDTM"].astype(float) / DAY)
    a["TRTEDT"] = np.floor(a["TRTEDTM"].astype(float) / DAY)
    a["TRTDURD"] = a["TRTEDT"] - a["TRTSDT"] + 1
    a["SAFFL"] = np.where(a["TRTSDT"].notna(), "Y", "N")
    fas = pd.Series(True, index=idx)
    if p.fas_requires_arm:
        fas &= a["ARMCD"] != ""
    if p.fas_requires_dose:
        fas &= a["SAFFL"] == "Y"
    a["FASFL"] = np.where(fas, "Y", "N")
    if p.measurable is not None:
        meas, f = measurable_flag(sdtm, p.measurable, a["TRTSDT"])
        findings += f
        a["EFFFL"] = np.where(fas & (meas == "Y"), "Y", "N")

    for i, disp in enumerate(p.disposition):
        eos, f = disposition(_empty(sdtm, disp.dataset), disp, idx, f"ADSL.derivation.params.disposition.{i}")
        findings += f
        a = a.join(eos)
    for i, r in enumerate(p.reference_dates):
        a[r.name], f = reference_date(sdtm, r, idx, f"ADSL.derivation.params.reference_dates.{i}")
        findings += f

    alive = _complete_dates(sdtm, p.alive_sources, findings)
    alive_dt = alive.groupby("USUBJID")["DT"].max().reindex(idx)
    dthdtc = text_col(dm, "DTHDTC").set_axis(idx)
    dth, dthf = impute_date(dthdtc, fill=p.death_date_fill, min_dates=alive_dt.reset_index(drop=True).set_axis(idx))
    bad_dth = dth.isna() & (dthdtc != "")
    for s in idx[bad_dth.to_numpy()]:
        findings.append(Finding(Severity.ERROR, "ADSL-DTHDTC", "death date is not a valid ISO 8601 date",
                                dataset=p.dm, variable="DTHDTC", usubjid=s, value=dthdtc[s]))
    a["DTHDT"] = dth.to_numpy()
    a["DTHDTF"] = dthf.to_numpy()
    a["DTHFL"] = np.where((a["DTHFL"] == "Y") | a["DTHDT"].notna(), "Y", "")
    cause = pd.Series("", index=idx, dtype="str")
    for i, src in enumerate(p.death_cause):
        # no death in the data: an empty death-cause selection is expected (NOTICE), otherwise a WARNING
        sev = Severity.WARNING if (a["DTHFL"] == "Y").any() else Severity.NOTICE
        vals = _source_values(sdtm, src, f"ADSL.derivation.params.death_cause.{i}.where", findings, sev)
        v, f = _one_per_subject(vals, idx, "DTHCAUS", src.dataset)
        findings += f
        cause = cause.where(cause != "", v)
    a["DTHCAUS"] = np.where(a["DTHFL"] == "Y", cause, "")
    a["LSTALVDT"] = np.fmax(alive_dt.to_numpy(dtype=float), a["DTHDT"].to_numpy(dtype=float))

    for i, c in enumerate(p.cohorts):
        a[c.name], f = cohort_flag(sdtm, c, idx, f"ADSL.derivation.params.cohorts.{i}")
        findings += f
    for i, c in enumerate(p.characteristics):
        a[c.name], f = characteristic(sdtm, c, idx, f"ADSL.derivation.params.characteristics.{i}")
        findings += f
    for i, b in enumerate(p.baselines):
        a[b.name], f = baseline_value(sdtm, b, a["TRTSDT"], f"ADSL.derivation.params.baselines.{i}")
        findings += f
    for c in ("TRTSTMF", "TRTETMF"):
        a[c] = a[c].astype("str")
    return a.reset_index(drop=True), findings
