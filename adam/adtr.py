"""ADTR (BDS): RECIST 1.1 sum of diameters of the target lesions per assessment and evaluator.

The sum is derived from the individual target-lesion diameters in TR (never taken from a sponsor's
SDTM sum), for the lesions each evaluator identified as targets in TU. An assessment that lacks a
measurement of any of those lesions has no sum (RECIST 1.1, section 4.4.2: a time point with a subset
of lesion measurements is not evaluable); its record is kept with AVAL missing so nothing is dropped
unseen. Baseline, change, the nadir (smallest sum so far, baseline included: RECIST 1.1 section 4.3.1)
and the record of the best (lowest) percent change follow admiralonco's ADTR template.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from adam.bds import analysis_day, change, complete_date, flag_text, from_flagged, percent_change, pick
from adam.derive_common import missing_columns, num_col, text_col
from studyforge.findings import Finding, Severity
from studyforge.spec.models import Dataset

RULE = "ADTR"


class _P(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrEvaluator(_P):
    """Which TR/TU records make one evaluator's sums (PARCAT2 names it)."""

    eval: list[str] = Field(min_length=1, description="TREVAL/TUEVAL values, e.g. ['INDEPENDENT ASSESSOR']")
    accepted_only: bool = Field(False, description="several readers: keep the reader whose RS records carry "
                                "RSACPTFL = 'Y' (the adjudicated read); a subject with one reader keeps it")
    parcat2: str = Field(min_length=1)


class AdtrParams(_P):
    """Dataset-level rule `adtr`."""

    tr_dataset: str = "TR"
    tu_dataset: str = "TU"
    rs_dataset: str = "RS"
    diameter_testcd: str = Field("LDIAM", description="TRTESTCD of a target lesion's diameter (short axis for nodes)")
    tu_testcd: str = "TUMIDENT"
    tu_target: str = Field("TARGET", description="TUORRES of a target lesion")
    adsl_vars: list[str] = Field(default_factory=lambda: ["STUDYID", "USUBJID", "SUBJID", "SITEID"])
    reference_var: str = Field("TRTSDT", description="ADSL date baseline and ADY are taken against; the baseline "
                               "is the last sum on or before it, change is measured after it")
    evaluators: dict[str, TrEvaluator] = Field(min_length=1)
    parcat1: str = "Target Lesion(s)"
    parcat3: str = "RECIST 1.1"


class SdiamParams(_P):
    """Parameter rule `adtr_sdiam`: the sum of target-lesion diameters of one evaluator."""

    evaluator: str = Field(min_length=1, description="a key of the dataset-level `evaluators`")


RULES: dict[str, type[BaseModel]] = {"adtr": AdtrParams, "adtr_sdiam": SdiamParams}


def _err(msg: str, sev: Severity = Severity.ERROR, **kw) -> Finding:
    return Finding(sev, RULE, msg, dataset=kw.pop("dataset", "ADTR"), **kw)


def _accepted_readers(tr: pd.DataFrame, rs: pd.DataFrame | None, ev: TrEvaluator) -> tuple[pd.DataFrame, list[Finding]]:
    """(USUBJID, EVALID) of the read to keep per subject: the RSACPTFL 'Y' reader, else the only reader."""
    readers = tr[["USUBJID", "EVALID"]].drop_duplicates()
    if not ev.accepted_only:
        return readers, []
    acc = pd.DataFrame(columns=["USUBJID", "EVALID"], dtype=object)
    read: set[str] = set()
    if rs is not None and {"RSEVAL", "RSEVALID", "RSACPTFL"} <= set(rs.columns):
        ours = text_col(rs, "RSEVAL").isin(ev.eval)
        read = set(text_col(rs, "USUBJID")[ours])
        hit = ours & (text_col(rs, "RSACPTFL") == "Y")
        acc = pd.DataFrame({"USUBJID": text_col(rs, "USUBJID")[hit], "EVALID": text_col(rs, "RSEVALID")[hit]})
        acc = acc.drop_duplicates()
    findings = []
    many = acc.groupby("USUBJID").size()
    for u in many[many > 1].index:
        findings.append(_err(f"more than one accepted reader ({', '.join(sorted(acc.loc[acc.USUBJID == u, 'EVALID']))}"
                             f"); the first is used", Severity.WARNING, usubjid=u, variable="RSACPTFL"))
    acc = acc.sort_values(["USUBJID", "EVALID"]).drop_duplicates("USUBJID")
    n_readers = readers.groupby("USUBJID").size()
    single = readers[readers["USUBJID"].map(n_readers) == 1]
    single = single[~single["USUBJID"].isin(acc["USUBJID"])]
    unsure = sorted(set(n_readers[n_readers > 1].index) - set(acc["USUBJID"]))
    for u in unsure:  # without any RS read of this evaluator there is no read to accept: a notice, not a warning
        findings.append(_err("several readers and none accepted (RSACPTFL"
                             + ("" if u in read else "; no RS response of this evaluator at all")
                             + "); no sum of diameters for this evaluator",
                             Severity.WARNING if u in read else Severity.NOTICE, usubjid=u, variable="RSACPTFL"))
    return pd.concat([acc, single], ignore_index=True), findings


def assessment_sums(lesions: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """One row per subject/evaluator/reader/visit: the sum of the target diameters when every target lesion of
    that reader (`targets`: USUBJID, EVALID, LNKID) has a value, else NaN; ADT = earliest complete lesion date.

    `lesions`: USUBJID, EVALID, VISITNUM, VISIT, LNKID, DIAM, ADT (one row per lesion measurement)."""
    keys = ["USUBJID", "EVALID"]
    n_expected = targets.groupby(keys).size().rename("NEXP").reset_index()
    lz = lesions.merge(targets.assign(_T=True), on=keys + ["LNKID"], how="left")
    lz = lz[lz["_T"].notna()]
    by = keys + ["VISITNUM"]
    g = lz.groupby(by, sort=True, dropna=False)
    out = g.agg(VISIT=("VISIT", "first"), ADT=("ADT", "min"), SUM=("DIAM", "sum"),
                NMEAS=("DIAM", "count"), NLES=("LNKID", "nunique")).reset_index()
    out = out.merge(n_expected, on=keys, how="left")
    complete = out["NMEAS"].eq(out["NEXP"]) & out["NLES"].eq(out["NEXP"])
    out["AVAL"] = np.where(complete, out["SUM"], np.nan)
    return out.drop(columns=["SUM", "NLES"])


def nadir(group: np.ndarray, adt: np.ndarray, aval: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The smallest AVAL among the earlier `counts` records of the same group (NaN when there is none).

    Rows must be sorted by group, then ADT."""
    v = pd.Series(np.where(counts & ~np.isnan(aval), aval, np.inf))
    running = v.groupby(group).cummin()
    before = running.groupby(group).shift(1).to_numpy(dtype=float)
    return np.where(np.isfinite(before), before, np.nan)


def derive_adtr(sdtm: dict[str, pd.DataFrame], adsl: pd.DataFrame, ds: Dataset) -> tuple[pd.DataFrame, list[Finding]]:
    """ADTR records: one per subject, sum-of-diameters parameter and assessment."""
    p = AdtrParams.model_validate(ds.derivation.params if ds.derivation else {})
    tr, tu = sdtm.get(p.tr_dataset), sdtm.get(p.tu_dataset)
    for name, df in ((p.tr_dataset, tr), (p.tu_dataset, tu)):
        if df is None:
            return pd.DataFrame(), [_err(f"input dataset {name} is missing; ADTR not derived")]
    miss = (missing_columns(tr, ["USUBJID", "TRTESTCD", "TRLNKID", "TRSTRESN", "TREVAL", "VISITNUM", "TRDTC"],
                            p.tr_dataset, RULE)
            + missing_columns(tu, ["USUBJID", "TUTESTCD", "TULNKID", "TUORRES", "TUEVAL"], p.tu_dataset, RULE))
    if miss:
        return pd.DataFrame(), miss
    findings: list[Finding] = []
    params = [(prm, SdiamParams.model_validate(prm.derivation.params)) for prm in ds.parameters
              if prm.derivation is not None and prm.derivation.rule == "adtr_sdiam"]
    for prm, sp in params:
        if sp.evaluator not in p.evaluators:
            findings.append(_err(f"parameter {prm.paramcd}: unknown evaluator {sp.evaluator!r}", variable="PARAMCD",
                                 value=prm.paramcd))
    tr_les = tr.loc[text_col(tr, "TRTESTCD") == p.diameter_testcd]
    lesions = pd.DataFrame({"USUBJID": text_col(tr_les, "USUBJID"), "EVAL": text_col(tr_les, "TREVAL"),
                            "EVALID": text_col(tr_les, "TREVALID"), "VISITNUM": num_col(tr_les, "VISITNUM"),
                            "VISIT": text_col(tr_les, "VISIT"), "LNKID": text_col(tr_les, "TRLNKID"),
                            "DIAM": num_col(tr_les, "TRSTRESN"), "ADT": complete_date(text_col(tr_les, "TRDTC"))})
    tu_t = tu.loc[(text_col(tu, "TUTESTCD") == p.tu_testcd) & (text_col(tu, "TUORRES") == p.tu_target)]
    targets = pd.DataFrame({"USUBJID": text_col(tu_t, "USUBJID"), "EVAL": text_col(tu_t, "TUEVAL"),
                            "EVALID": text_col(tu_t, "TUEVALID"), "LNKID": text_col(tu_t, "TULNKID")}).drop_duplicates()
    parts = []
    for prm, sp in params:
        ev = p.evaluators.get(sp.evaluator)
        if ev is None:
            continue
        les = lesions[lesions["EVAL"].isin(ev.eval)]
        keep, f = _accepted_readers(les, sdtm.get(p.rs_dataset), ev)
        findings += f
        les = les.merge(keep, on=["USUBJID", "EVALID"], how="inner")
        tgt = targets[targets["EVAL"].isin(ev.eval)].drop(columns="EVAL")
        stray = les.merge(tgt.assign(_T=True), on=["USUBJID", "EVALID", "LNKID"], how="left")
        stray = stray[stray["_T"].isna()]
        for (u, lnk), _ in stray.groupby(["USUBJID", "LNKID"], sort=True):
            findings.append(_err(f"{prm.paramcd}: {p.diameter_testcd} of lesion {lnk} that {p.tu_dataset} does not "
                                 "identify as a target lesion; not summed", Severity.WARNING, usubjid=u,
                                 variable="TRLNKID", value=lnk))
        s = assessment_sums(les.drop(columns="EVAL"), tgt)
        s["PARAMCD"], s["PARAM"], s["PARCAT2"] = prm.paramcd, prm.param, ev.parcat2
        parts.append(s)
    if not parts:
        return pd.DataFrame(), findings + [_err("no parameter with rule adtr_sdiam; ADTR not derived")]
    recs = pd.concat(parts, ignore_index=True)
    incomplete = recs["AVAL"].isna()
    for code, n in recs[incomplete].groupby("PARAMCD", sort=True).size().items():
        findings.append(_err(f"parameter {code}: {n} assessment(s) lack a measurement of a target lesion; no sum "
                             "(RECIST 1.1 4.4.2), AVAL left missing", Severity.NOTICE, variable="AVAL", value=code))
    return finish_adtr(recs, adsl, p, [prm.paramcd for prm, _ in params]), findings


def finish_adtr(recs: pd.DataFrame, adsl: pd.DataFrame, p: AdtrParams, param_order: list[str]) -> pd.DataFrame:
    """ADSL variables, ADY, ABLFL/BASE/CHG/PCHG, NADIR/CHGNAD/PCHGNAD, ANL01FL, ANL02FL (best % change), ASEQ."""
    ref = p.reference_var
    take = [c for c in dict.fromkeys([*p.adsl_vars, ref]) if c in adsl.columns]
    out = recs.merge(adsl[take].drop_duplicates("USUBJID"), on="USUBJID", how="inner", sort=False)
    order = {c: i for i, c in enumerate(param_order)}
    out["PARAMN"] = out["PARAMCD"].map(order).astype(float) + 1
    out["_ADT"] = out["ADT"].fillna(np.inf)
    out = out.sort_values(["USUBJID", "PARAMN", "_ADT", "VISITNUM"], kind="mergesort").reset_index(drop=True)
    n = len(out)
    g = pd.factorize(out["USUBJID"].astype(str) + "\x00" + out["PARAMCD"].astype(str))[0].astype(np.int64)
    adt, refd, aval = (out[c].to_numpy(dtype=float) for c in ("ADT", ref, "AVAL"))
    pos = np.arange(n, dtype=float)
    out["ADY"] = analysis_day(out["ADT"], out[ref]).to_numpy()
    with np.errstate(invalid="ignore"):
        pre, post = adt <= refd, adt > refd
    abl = pick(g, [adt, pos], pre & ~np.isnan(aval), last=True)
    base = from_flagged(g, abl, aval)
    out["ABLFL"] = flag_text(abl)
    out["BASE"] = base
    out["CHG"] = np.where(post, change(aval, base), np.nan)
    out["PCHG"] = np.where(post, percent_change(aval, base), np.nan)
    anl = (abl | post) & ~np.isnan(aval) & ~np.isnan(base)
    out["ANL01FL"] = flag_text(anl)
    nad = nadir(g, adt, aval, anl)
    out["NADIR"] = np.where(post & anl, nad, np.nan)
    out["CHGNAD"] = np.where(post & anl, change(aval, out["NADIR"]), np.nan)
    out["PCHGNAD"] = np.where(post & anl, percent_change(aval, out["NADIR"]), np.nan)
    pchg = out["PCHG"].to_numpy(dtype=float)
    best = pick(g, [pchg, adt, pos], post & anl & ~np.isnan(pchg), last=False)
    out["ANL02FL"] = flag_text(best)
    out["AVISIT"], out["AVISITN"] = out["VISIT"], out["VISITNUM"]
    out["PARCAT1"], out["PARCAT3"] = p.parcat1, p.parcat3
    out["ASEQ"] = out.groupby("USUBJID", sort=False).cumcount().astype(float) + 1
    return out.drop(columns=["_ADT", "VISIT", "VISITNUM", "NMEAS", "NEXP", "EVALID"])
