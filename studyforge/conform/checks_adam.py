"""ADaM checks: ADSL structure, PARAMCD/PARAM, time-to-event CNSR/EVNTDESC, ADT range, subjects in DM."""

from __future__ import annotations

import numpy as np
import pandas as pd

from studyforge import dates
from studyforge.conform.checks_values import _one_to_one
from studyforge.conform.emit import blank, row_findings, text
from studyforge.conform.package import PackageView
from studyforge.conform.rules import register
from studyforge.findings import Finding, Severity

AIG = "ADaMIG 1.3 section"


@register("SF-AD-0001", "ADSL has one record per subject", Severity.ERROR, f"{AIG} 3.1 (ADSL structure)", "ADaM")
def adsl_one_per_subject(view: PackageView) -> list[Finding]:
    ds = view.get("ADSL")
    if ds is None or "USUBJID" not in ds.frame.columns:
        return []
    dup = ds.frame["USUBJID"].duplicated(keep=False).to_numpy()
    return row_findings(adsl_one_per_subject.rule, ds, dup, "USUBJID occurs more than once in ADSL", variable="USUBJID")


@register("SF-AD-0002", "PARAMCD and PARAM are one-to-one", Severity.ERROR, f"{AIG} 3.3.4 (PARAM/PARAMCD)", "ADaM")
def paramcd_param(view: PackageView) -> list[Finding]:
    out: list[Finding] = []
    for ds in view.by_standard("ADaM"):
        out += _one_to_one(paramcd_param.rule, ds, "PARAMCD", "PARAM")
    return out


@register("SF-AD-0003", "CNSR is a non-negative integer on every record", Severity.ERROR,
          "ADaM Basic Data Structure for Time-to-Event Analyses v1.0 section 3.2 (CNSR: 0 event, >0 censored)", "ADaM")
def cnsr_integer(view: PackageView) -> list[Finding]:
    out: list[Finding] = []
    for ds in view.by_standard("ADaM"):
        if "CNSR" not in ds.frame.columns:
            continue
        v = pd.to_numeric(ds.frame["CNSR"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            bad = np.isnan(v) | (v < 0) | (v != np.round(v))
        out += row_findings(cnsr_integer.rule, ds, bad, "CNSR must be 0 (event) or a positive integer (censored)",
                            variable="CNSR")
    return out


@register("SF-AD-0004", "Event records (CNSR = 0) have EVNTDESC", Severity.WARNING,
          "ADaM Basic Data Structure for Time-to-Event Analyses v1.0 section 3.2 (EVNTDESC)", "ADaM")
def event_description(view: PackageView) -> list[Finding]:
    out: list[Finding] = []
    for ds in view.by_standard("ADaM"):
        if "CNSR" not in ds.frame.columns:
            continue
        event = (pd.to_numeric(ds.frame["CNSR"], errors="coerce") == 0).to_numpy()
        if "EVNTDESC" not in ds.frame.columns:
            missing = event
            msg = "event record but the dataset has no EVNTDESC variable"
        else:
            missing = event & blank(ds.frame["EVNTDESC"])
            msg = "event record (CNSR=0) with blank EVNTDESC"
        out += row_findings(event_description.rule, ds, missing, msg, variable="EVNTDESC")
    return out


def _cutoff(view: PackageView) -> float:
    """The data cutoff as a SAS date: TS DCUTDTC when submitted, else NaN."""
    ts = view.get("TS")
    if ts is None or not {"TSPARMCD", "TSVAL"} <= set(ts.frame.columns):
        return float("nan")
    vals = ts.frame.loc[text(ts.frame["TSPARMCD"]) == "DCUTDTC", "TSVAL"]
    sas = dates.iso_to_sas_date(vals).dropna()
    return float(sas.max()) if len(sas) else float("nan")


@register("SF-AD-0005", "ADT lies within the study: not before informed consent, not after the data cutoff "
          "(TS DCUTDTC) or, without one, the subject's end of participation", Severity.ERROR,
          f"{AIG} 3.3.3 (ADT); SDTMIG 3.4 section 5.2 (RFICDTC, RFPENDTC)", "ADaM")
def adt_within_study(view: PackageView) -> list[Finding]:
    dm = view.get("DM")
    subj = dm.frame if dm is not None and "USUBJID" in dm.frame.columns else None
    if subj is None:
        adsl = view.get("ADSL")
        subj = adsl.frame if adsl is not None and "USUBJID" in adsl.frame.columns else None
    if subj is None:
        return []
    subj = subj.drop_duplicates("USUBJID")
    u = text(subj["USUBJID"]).to_numpy()
    start = pd.Series(dates.iso_to_sas_date(subj["RFICDTC"]).to_numpy() if "RFICDTC" in subj.columns else np.nan, index=u)
    end = pd.Series(dates.iso_to_sas_date(subj["RFPENDTC"]).to_numpy() if "RFPENDTC" in subj.columns else np.nan, index=u)
    cutoff = _cutoff(view)
    out: list[Finding] = []
    for ds in view.by_standard("ADaM"):
        if "ADT" not in ds.frame.columns or "USUBJID" not in ds.frame.columns:
            continue
        adt = pd.to_numeric(ds.frame["ADT"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        us = text(ds.frame["USUBJID"])
        lo = us.map(start).to_numpy(dtype=float, na_value=np.nan)
        hi = np.full(len(adt), cutoff) if np.isfinite(cutoff) else us.map(end).to_numpy(dtype=float, na_value=np.nan)
        shown = dates.sas_date_to_iso(pd.Series(adt, index=ds.frame.index))
        with np.errstate(invalid="ignore"):
            out += row_findings(adt_within_study.rule, ds, adt < lo, "ADT is before informed consent (DM.RFICDTC)",
                                variable="ADT", values=shown)
            what = "the data cutoff (TS DCUTDTC)" if np.isfinite(cutoff) else "end of participation (DM.RFPENDTC)"
            out += row_findings(adt_within_study.rule, ds, adt > hi, f"ADT is after {what}", variable="ADT",
                                values=shown)
    return out


@register("SF-AD-0006", "Every USUBJID of an ADaM dataset is in SDTM DM", Severity.ERROR,
          f"{AIG} 1.2 (traceability to SDTM); FDA TCG section 4.1.2", "ADaM")
def adam_usubjid_in_dm(view: PackageView) -> list[Finding]:
    dm = view.get("DM")
    if dm is None or "USUBJID" not in dm.frame.columns:
        return []
    known = set(text(dm.frame["USUBJID"]))
    out: list[Finding] = []
    for ds in view.by_standard("ADaM"):
        if "USUBJID" not in ds.frame.columns:
            continue
        u = text(ds.frame["USUBJID"])
        out += row_findings(adam_usubjid_in_dm.rule, ds, (u != "").to_numpy() & ~u.isin(known).to_numpy(),
                            "USUBJID is not in SDTM DM", variable="USUBJID")
    return out
