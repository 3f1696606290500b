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


# --- BDS, OCCDS and exposure structure (SF-AD-0300..0399) ------------------------------------------
# Each check looks only at the variables it names and is silent on a dataset that lacks them.

BDS_NOTES = "ADaMIG 1.3 Table 3.3.4.1 BDS variable notes"
OCCDS = "ADaM Structure for Occurrence Data (OCCDS) v1.1 section 3"


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _group(df: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """One integer per distinct key combination (text of each key; absent keys ignored)."""
    present = [k for k in keys if k in df.columns]
    if not present:
        return np.zeros(len(df), dtype=np.int64)
    codes, _ = pd.factorize(pd.MultiIndex.from_arrays([text(df[k]).to_numpy() for k in present]))
    return codes


def _bds(view: PackageView, *need: str) -> list:
    return [ds for ds in view.by_standard("ADaM") if {"USUBJID", "PARAMCD", *need} <= set(ds.frame.columns)]


def _flag(df: pd.DataFrame, col: str) -> np.ndarray:
    return (text(df[col]).str.strip() == "Y").to_numpy()


def _dup_flag(rule, ds, flag_col: str, keys: list[str], what: str, among: np.ndarray | None = None) -> list[Finding]:
    """Every flagged row (of the `among` rows) of a key group that has more than one flagged row."""
    df = ds.frame
    y = _flag(df, flag_col) if among is None else _flag(df, flag_col) & among
    g = _group(df, keys)
    counts = np.bincount(g[y], minlength=int(g.max()) + 1 if len(g) else 0)
    bad = y & (counts[g] > 1) if len(g) else y
    return row_findings(rule, ds, bad, f"more than one {flag_col} = 'Y' per {what}", variable=flag_col)


@register("SF-AD-0300", "At most one baseline record (ABLFL = 'Y') per USUBJID, PARAMCD and BASETYPE", Severity.ERROR,
          f"{BDS_NOTES} (ABLFL: the baseline record for each subject, parameter and BASETYPE)", "ADaM")
def one_baseline_record(view: PackageView) -> list[Finding]:
    out: list[Finding] = []
    for ds in _bds(view, "ABLFL"):
        out += _dup_flag(one_baseline_record.rule, ds, "ABLFL", ["USUBJID", "PARAMCD", "BASETYPE"],
                         "USUBJID/PARAMCD(/BASETYPE)")
    return out


@register("SF-AD-0301", "BASE is constant within USUBJID, PARAMCD and BASETYPE and equals the baseline record's AVAL",
          Severity.ERROR, f"{BDS_NOTES} (BASE: AVAL copied from the record with ABLFL = 'Y')", "ADaM")
def base_from_baseline(view: PackageView) -> list[Finding]:
    out: list[Finding] = []
    for ds in _bds(view, "BASE", "AVAL"):
        df = ds.frame
        g = _group(df, ["USUBJID", "PARAMCD", "BASETYPE"])
        base = _num(df, "BASE")
        frame = pd.DataFrame({"g": g, "b": base})
        many = frame.dropna().drop_duplicates().groupby("g").size()
        varies = np.isin(g, many[many > 1].index.to_numpy()) & ~np.isnan(base)
        out += row_findings(base_from_baseline.rule, ds, varies, "BASE differs within USUBJID/PARAMCD(/BASETYPE)",
                            variable="BASE")
        if "ABLFL" in df.columns:
            abl = _flag(df, "ABLFL")
            aval = _num(df, "AVAL")
            with np.errstate(invalid="ignore"):
                wrong = abl & ~np.isclose(aval, base, rtol=1e-9, atol=1e-9) & ~(np.isnan(aval) & np.isnan(base))
            out += row_findings(base_from_baseline.rule, ds, wrong, "BASE is not the AVAL of this baseline record "
                                "(ABLFL = 'Y')", variable="BASE")
    return out


@register("SF-AD-0302", "CHG = AVAL - BASE wherever CHG is populated", Severity.ERROR,
          f"{BDS_NOTES} (CHG: equal to AVAL - BASE)", "ADaM")
def change_is_difference(view: PackageView) -> list[Finding]:
    out: list[Finding] = []
    for ds in _bds(view, "CHG", "AVAL", "BASE"):
        df = ds.frame
        chg, aval, base = _num(df, "CHG"), _num(df, "AVAL"), _num(df, "BASE")
        with np.errstate(invalid="ignore"):
            bad = ~np.isnan(chg) & ~np.isclose(chg, aval - base, rtol=1e-9, atol=1e-9)
        out += row_findings(change_is_difference.rule, ds, bad, "CHG is not AVAL - BASE", variable="CHG")
    return out


@register("SF-AD-0303", "PCHG = (AVAL - BASE) / BASE x 100 wherever PCHG is populated (never with BASE = 0)",
          Severity.ERROR, f"{BDS_NOTES} (PCHG: equal to ((AVAL-BASE)/BASE)*100)", "ADaM")
def percent_change_consistent(view: PackageView) -> list[Finding]:
    out: list[Finding] = []
    for ds in _bds(view, "PCHG", "AVAL", "BASE"):
        df = ds.frame
        pchg, aval, base = _num(df, "PCHG"), _num(df, "AVAL"), _num(df, "BASE")
        with np.errstate(invalid="ignore", divide="ignore"):
            want = np.where(base != 0, (aval - base) / base * 100, np.nan)
            bad = ~np.isnan(pchg) & ~np.isclose(pchg, want, rtol=1e-9, atol=1e-9)
        out += row_findings(percent_change_consistent.rule, ds, bad, "PCHG is not (AVAL - BASE) / BASE x 100 "
                            "(or BASE is 0 or missing)", variable="PCHG")
    return out


@register("SF-AD-0304", "At most one ANL01FL = 'Y' record per USUBJID, PARAMCD and analysis window", Severity.ERROR,
          f"{BDS_NOTES} (ANLzzFL; AWTARGET/AWLO/AWHI analysis windows): the flag picks the record that "
          "represents a window", "ADaM")
def one_record_per_window(view: PackageView) -> list[Finding]:
    out: list[Finding] = []
    for ds in _bds(view, "ANL01FL", "AVISIT", "AWTARGET"):
        windowed = text(ds.frame["AVISIT"]).str.strip().to_numpy() != ""  # records outside every window: none
        out += _dup_flag(one_record_per_window.rule, ds, "ANL01FL", ["USUBJID", "PARAMCD", "BASETYPE", "AVISIT"],
                         "USUBJID/PARAMCD/AVISIT", among=windowed)
    return out


@register("SF-AD-0305", "AVISITN and AVISIT are one-to-one", Severity.ERROR,
          f"{BDS_NOTES} (AVISITN: numeric representation of AVISIT)", "ADaM")
def avisitn_avisit(view: PackageView) -> list[Finding]:
    out: list[Finding] = []
    for ds in view.by_standard("ADaM"):
        out += _one_to_one(avisitn_avisit.rule, ds, "AVISITN", "AVISIT")
    return out


@register("SF-AD-0306", "The baseline record (ABLFL = 'Y') has an analysis value", Severity.ERROR,
          f"{BDS_NOTES} (ABLFL, BASE: BASE is the AVAL of the baseline record)", "ADaM")
def baseline_has_value(view: PackageView) -> list[Finding]:
    out: list[Finding] = []
    for ds in _bds(view, "ABLFL", "AVAL"):
        df = ds.frame
        empty = np.isnan(_num(df, "AVAL")) & (blank(df["AVALC"]) if "AVALC" in df.columns else True)
        out += row_findings(baseline_has_value.rule, ds, _flag(df, "ABLFL") & empty,
                            "baseline record without AVAL/AVALC", variable="AVAL")
    return out


@register("SF-AD-0307", "First-occurrence flags: at most one AOCCFL per subject, AOCCSFL per subject and SOC, "
          "AOCCPFL per subject, SOC and PT", Severity.ERROR, f"{OCCDS} (AOCCzzFL occurrence flags)", "ADaM")
def first_occurrence_unique(view: PackageView) -> list[Finding]:
    out: list[Finding] = []
    levels = (("AOCCFL", ["USUBJID"], "USUBJID"), ("AOCCSFL", ["USUBJID", "AEBODSYS"], "USUBJID/AEBODSYS"),
              ("AOCCPFL", ["USUBJID", "AEBODSYS", "AEDECOD"], "USUBJID/AEBODSYS/AEDECOD"))
    for ds in view.by_standard("ADaM"):
        for flag, keys, what in levels:
            if {flag, *keys} <= set(ds.frame.columns):
                out += _dup_flag(first_occurrence_unique.rule, ds, flag, keys, what)
    return out


@register("SF-AD-0308", "Occurrence flags (TRTEMFL, AOCCzzFL, ANLzzFL) are 'Y' or null", Severity.ERROR,
          f"{OCCDS} (TRTEMFL, AOCCzzFL); ADaMIG 1.3 section 3.1.4 (flag variables: Y/null)", "ADaM")
def occurrence_flag_values(view: PackageView) -> list[Finding]:
    out: list[Finding] = []
    for ds in view.by_standard("ADaM"):
        if "AOCCFL" not in ds.frame.columns and "TRTEMFL" not in ds.frame.columns:
            continue  # OCCDS datasets only (BDS ANLzzFL are checked by the values rules)
        for col in [c for c in ds.frame.columns if c in ("TRTEMFL", "AOCCFL", "AOCCSFL", "AOCCPFL", "ANL01FL")]:
            v = text(ds.frame[col]).str.strip()
            out += row_findings(occurrence_flag_values.rule, ds, ((v != "") & (v != "Y")).to_numpy(),
                                f"{col} must be 'Y' or null", variable=col)
    return out


@register("SF-AD-0309", "A flagged first occurrence is an analysed record (AOCCzzFL = 'Y' only where ANL01FL = "
          "'Y' when the dataset has ANL01FL)", Severity.WARNING, f"{OCCDS} (AOCCzzFL are derived among the records "
          "selected for analysis)", "ADaM")
def occurrence_within_analysis(view: PackageView) -> list[Finding]:
    out: list[Finding] = []
    for ds in view.by_standard("ADaM"):
        df = ds.frame
        if "ANL01FL" not in df.columns or "AOCCFL" not in df.columns:
            continue
        anl = _flag(df, "ANL01FL")
        for col in [c for c in ("AOCCFL", "AOCCSFL", "AOCCPFL") if c in df.columns]:
            out += row_findings(occurrence_within_analysis.rule, ds, _flag(df, col) & ~anl,
                                f"{col} = 'Y' on a record not flagged ANL01FL", variable=col)
    return out


@register("SF-AD-0310", "ADEX: one record per subject and summary parameter, with a non-negative AVAL",
          Severity.ERROR, f"{BDS_NOTES} (PARAMCD, AVAL: a subject-level summary parameter has one value per subject)",
          "ADaM")
def exposure_summary(view: PackageView) -> list[Finding]:
    ds = view.get("ADEX")
    if ds is None or not {"USUBJID", "PARAMCD", "AVAL"} <= set(ds.frame.columns):
        return []
    df = ds.frame
    if any(c in df.columns for c in ("AVISIT", "ADT", "ASTDT")):
        return []  # a record-level exposure dataset: several records per parameter are expected
    g = _group(df, ["USUBJID", "PARAMCD"])
    dup = pd.Series(g).duplicated(keep=False).to_numpy()
    out = row_findings(exposure_summary.rule, ds, dup, "more than one record for this subject and exposure parameter",
                       variable="PARAMCD")
    with np.errstate(invalid="ignore"):
        neg = _num(df, "AVAL") < 0
    return out + row_findings(exposure_summary.rule, ds, neg, "negative exposure value", variable="AVAL")


@register("SF-AD-0311", "Scores on a 0-100 scale (PARAM ending '(0-100)') lie within 0 and 100", Severity.ERROR,
          "EORTC QLQ-C30 Scoring Manual 3rd ed. section 2 (linear transformation to 0-100)", "ADaM")
def score_range(view: PackageView) -> list[Finding]:
    out: list[Finding] = []
    for ds in _bds(view, "PARAM", "AVAL"):
        df = ds.frame
        scaled = text(df["PARAM"]).str.strip().str.endswith("(0-100)").to_numpy()
        aval = _num(df, "AVAL")
        with np.errstate(invalid="ignore"):
            bad = scaled & ((aval < 0) | (aval > 100))
        out += row_findings(score_range.rule, ds, bad, "score outside 0-100", variable="AVAL")
    return out


@register("SF-AD-0312", "CRITyFL is 'Y' or 'N' and only where CRITy states the criterion", Severity.ERROR,
          f"{BDS_NOTES} (CRITy / CRITyFL pairs)", "ADaM")
def criterion_flags(view: PackageView) -> list[Finding]:
    out: list[Finding] = []
    for ds in view.by_standard("ADaM"):
        df = ds.frame
        for col in [c for c in df.columns if c.startswith("CRIT") and c.endswith("FL")]:
            v = text(df[col]).str.strip()
            crit = col[:-2]
            odd = ((v != "") & ~v.isin(["Y", "N"])).to_numpy()
            out += row_findings(criterion_flags.rule, ds, odd, f"{col} must be 'Y', 'N' or null", variable=col)
            if crit in df.columns:
                alone = (v != "").to_numpy() & blank(df[crit])
                out += row_findings(criterion_flags.rule, ds, alone, f"{col} is set but {crit} is blank", variable=col)
    return out
