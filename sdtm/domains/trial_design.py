"""TS (with SSTDTC from the data) and SE (subject elements from consent, dosing, cohort entry and
disposition dates)."""

from __future__ import annotations

import pandas as pd

from .. import _dates
from ..context import FILE, FORM, LINE, Context
from ..registry import SeParams, TrialSummaryParams
from ..vocabulary import norm_key


def build_ts(ctx: Context, p: TrialSummaryParams) -> pd.DataFrame:
    """Static TS rows from the spec plus SSTDTC = earliest informed consent in DM (FDA TCG: SSTDTC
    is required; its absence is a technical rejection) and ACTSUB = subjects dosed (DM ACTARMCD)."""
    rows = [dict(r) for r in p.rows if r.get("TSPARMCD") != "SSTDTC"]
    ds_name, var = p.sstdtc_from.split(".")
    src = ctx.out.get(ds_name)
    dates = src[var][src[var].str.len() >= 10].str.slice(0, 10) if src is not None and var in src.columns else pd.Series([], dtype=str)
    if len(dates):
        rows.append({"TSPARMCD": "SSTDTC", "TSPARM": "Study Start Date", "TSVAL": dates.min()})
    else:
        rows.append({"TSPARMCD": "SSTDTC", "TSPARM": "Study Start Date", "TSVAL": "", "TSVALNF": "UNK"})
        ctx.error("SD1201", "SSTDTC cannot be derived: no complete date in " + p.sstdtc_from, variable="TSVAL",
                  file=ctx.spec_file)
    dm = ctx.out.get("DM")
    if dm is not None and "ACTARMCD" in dm.columns:  # actual number of subjects: those dosed, from DM
        for r in rows:
            if r.get("TSPARMCD") == "ACTSUB":
                r["TSVAL"] = str(int((dm["ACTARMCD"] != "").sum()))
    df = pd.DataFrame(rows).fillna("")
    df["TSSEQ"] = df.groupby("TSPARMCD").cumcount() + 1.0
    df["TSVAL"] = df["TSVAL"].astype(str)
    df[FORM], df[FILE], df[LINE] = "", ctx.spec_file, 0
    return df


def build_se(ctx: Context, p: SeParams) -> pd.DataFrame:
    """Elements per subject: SCRN [consent, first dose), HCPINJ [first dose, cohort entry or end of
    treatment), SELFINJ [cohort entry, end of treatment), FU [end of treatment, end of participation].
    SEENDTC of an element is the SESTDTC of the next (contiguous elements, SDTMIG 3.4 SE)."""
    dm = ctx.out["DM"]
    te = ctx.spec.datasets["TE"].derivation.params["rows"]
    ta = ctx.spec.datasets["TA"].derivation.params["rows"]
    element = {r["ETCD"]: r["ELEMENT"] for r in te}
    order = {r["ETCD"]: (float(r["TAETORD"]), r["EPOCH"]) for r in ta}
    subj = dm["SUBJID"]

    def per_subject(form: str, date: str, agg: str, where_field: str | None = None,
                    where_in: list[str] | None = None) -> pd.Series:
        rf = ctx.form(form)
        if rf is None or date not in rf.frame.columns:
            return pd.Series("", index=dm.index)
        f = rf.frame
        keep = norm_key(f[where_field]).isin(where_in) if where_field and where_field in f.columns else True
        iso, err = _dates.edc_date_to_iso(f[date])
        t = pd.DataFrame({"SUBJID": f["SUBJID"], "d": iso})[keep & ~err & (iso.str.len() >= 10)]
        ctx.recon.add_used(form, "SE.SESTDTC", len(t))
        return subj.map(t.groupby("SUBJID")["d"].agg(agg)).fillna("")

    consent = dm["RFICDTC"].str.slice(0, 10)
    first = dm["RFXSTDTC"]  # with the dose time when collected: pre-dose Day 1 data stay in SCREENING
    cohort = per_subject(p.switch_form, p.switch_date, "min")
    eot = per_subject(p.end_form, p.end_date, "max", p.end_where_field, p.end_where_in)
    pend = dm["RFPENDTC"].str.slice(0, 10)
    # no end-of-treatment record: the treatment element is open (ends at end of participation, if any)
    starts = pd.DataFrame({"SCRN": consent, "HCPINJ": first, "SELFINJ": cohort.where(first != "", ""),
                           "FU": eot.where((first != "") & (eot != pend) & (eot > first.str.slice(0, 10)), "")}, index=dm.index)
    long = starts.assign(USUBJID=dm["USUBJID"], SUBJID=subj).melt(
        id_vars=["USUBJID", "SUBJID"], var_name="ETCD", value_name="SESTDTC")
    long = long[long["SESTDTC"] != ""].copy()
    long["TAETORD"] = long["ETCD"].map(lambda e: order[e][0])
    long["EPOCH"] = long["ETCD"].map(lambda e: order[e][1])
    long["ELEMENT"] = long["ETCD"].map(element)
    long = long.sort_values(["USUBJID", "TAETORD"], kind="mergesort")
    nxt = long.groupby("USUBJID")["SESTDTC"].shift(-1)
    end = nxt.fillna(long["USUBJID"].map(dict(zip(dm["USUBJID"], pend))))
    long["SEENDTC"] = end.fillna("")
    long[FORM], long[FILE], long[LINE] = "", ctx.spec_file, 0
    return long.reset_index(drop=True)
