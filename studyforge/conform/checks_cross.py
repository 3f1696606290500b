"""Cross-dataset SDTM checks: subjects in DM, exposure within participation, lesion links, SUPPQUAL parents,
DM exposure dates vs EX.

Dates are compared as complete dates only (a partial date is never imputed here, so it can neither
pass nor fail these window checks; SF-DT-0001 still checks its syntax).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from studyforge import dates
from studyforge.conform.emit import blank, row_findings, text
from studyforge.conform.package import PackageView
from studyforge.conform.rules import register
from studyforge.findings import Finding, Severity

IG = "SDTMIG 3.4 section"
NO_SUBJECT = {"TS", "TA", "TE", "TV", "TI", "TD", "TM", "DM"}


def _dm(view: PackageView) -> pd.DataFrame | None:
    dm = view.get("DM")
    return dm.frame if dm is not None and "USUBJID" in dm.frame.columns else None


@register("SF-ID-0003", "Every USUBJID of an SDTM dataset is in DM", Severity.ERROR,
          f"{IG} 5.2 (DM: one record per subject); FDA TCG section 4.1.2", "SDTM")
def usubjid_in_dm(view: PackageView) -> list[Finding]:
    rule = usubjid_in_dm.rule
    dm = _dm(view)
    if dm is None:
        return []
    known = set(text(dm["USUBJID"]))
    out: list[Finding] = []
    for ds in view.by_standard("SDTM"):
        if ds.name in NO_SUBJECT or "USUBJID" not in ds.frame.columns:
            continue
        u = text(ds.frame["USUBJID"])
        out += row_findings(rule, ds, (u != "").to_numpy() & ~u.isin(known).to_numpy(), "USUBJID is not in DM",
                            variable="USUBJID")
    return out


def _by_subject(dm: pd.DataFrame, var: str) -> pd.Series:
    f = dm.drop_duplicates("USUBJID")
    return pd.Series(f[var].to_numpy() if var in f.columns else "", index=f["USUBJID"].to_numpy())


@register("SF-XD-0001", "Every EX record lies within the subject's participation (RFICDTC..RFPENDTC)", Severity.ERROR,
          f"{IG} 5.2 (RFICDTC, RFPENDTC) and 6.1.3 (EX)", "SDTM")
def ex_within_participation(view: PackageView) -> list[Finding]:
    rule = ex_within_participation.rule
    dm, ex = _dm(view), view.get("EX")
    if dm is None or ex is None or "USUBJID" not in ex.frame.columns:
        return []
    f = ex.frame
    lo = dates.iso_to_sas_date(f["USUBJID"].map(_by_subject(dm, "RFICDTC")).fillna("")).to_numpy()
    hi = dates.iso_to_sas_date(f["USUBJID"].map(_by_subject(dm, "RFPENDTC")).fillna("")).to_numpy()
    out: list[Finding] = []
    for var in ("EXSTDTC", "EXENDTC"):
        if var not in f.columns:
            continue
        d = view.parsed_dates(ex, var)["sas"].to_numpy()
        with np.errstate(invalid="ignore"):
            before = d < lo
            after = d > hi
        out += row_findings(rule, ex, before, f"{var} is before the subject's informed consent (DM.RFICDTC)", variable=var)
        out += row_findings(rule, ex, after, f"{var} is after the subject's end of participation (DM.RFPENDTC)",
                            variable=var)
    return out


@register("SF-XD-0002", "Every TRLNKID links to a TULNKID of the same subject and evaluator", Severity.ERROR,
          f"{IG} 6.3.13 (TU/TR relationship via --LNKID)", "SDTM")
def tr_links_tu(view: PackageView) -> list[Finding]:
    rule = tr_links_tu.rule
    tr, tu = view.get("TR"), view.get("TU")
    if tr is None or "TRLNKID" not in tr.frame.columns:
        return []
    has = ~blank(tr.frame["TRLNKID"])
    if tu is None or "TULNKID" not in tu.frame.columns:
        return row_findings(rule, tr, has, "TRLNKID given but there is no TU.TULNKID to link to", variable="TRLNKID")
    pairs = [("USUBJID", "USUBJID"), ("TRLNKID", "TULNKID")]
    pairs += [(f"TR{e}", f"TU{e}") for e in ("EVAL", "EVALID")
              if f"TR{e}" in tr.frame.columns and f"TU{e}" in tu.frame.columns]
    left = pd.DataFrame({b: text(tr.frame[a]).to_numpy() for a, b in pairs})
    right = pd.DataFrame({b: text(tu.frame[b]).to_numpy() for _, b in pairs}).drop_duplicates()
    right["_hit"] = True
    hit = left.merge(right, on=[b for _, b in pairs], how="left")["_hit"].fillna(False).to_numpy(dtype=bool)
    what = " and ".join(b for _, b in pairs[2:])
    msg = "TRLNKID has no TU record with the same USUBJID and TULNKID" + (f" and {what}" if what else "")
    return row_findings(rule, tr, has & ~hit, msg, variable="TRLNKID")


@register("SF-XD-0003", "Every SUPPQUAL record points to an existing parent record (RDOMAIN/IDVAR/IDVARVAL)",
          Severity.ERROR, f"{IG} 8.4 (supplemental qualifiers)", "SDTM")
def suppqual_parents(view: PackageView) -> list[Finding]:
    rule = suppqual_parents.rule
    out: list[Finding] = []
    for sp in view.by_standard("SDTM"):
        f = sp.frame
        if not (sp.name.startswith("SUPP") and {"RDOMAIN", "USUBJID"} <= set(f.columns)):
            continue
        rdom = text(f["RDOMAIN"])
        idvar = text(f["IDVAR"]) if "IDVAR" in f.columns else pd.Series("", index=f.index)
        idval = text(f["IDVARVAL"]) if "IDVARVAL" in f.columns else pd.Series("", index=f.index)
        for dom in sorted(rdom.unique()):
            parents = [d for d in view.by_standard("SDTM")
                       if not d.name.startswith("SUPP") and (d.name == dom or d.prefix == dom)]
            in_dom = (rdom == dom).to_numpy()
            if not parents:
                out += row_findings(rule, sp, in_dom, f"parent domain {dom!r} is not in the package", variable="RDOMAIN")
                continue
            parent = pd.concat([p.frame for p in parents], ignore_index=True)
            for iv in sorted(idvar[in_dom].unique()):
                rows = in_dom & (idvar == iv).to_numpy()
                if iv and iv not in parent.columns:
                    out += row_findings(rule, sp, rows, f"IDVAR {iv} is not a variable of {dom}", variable="IDVAR")
                    continue
                keys = pd.DataFrame({"USUBJID": text(parent["USUBJID"]),
                                     "V": text(parent[iv]) if iv else ""}).drop_duplicates()
                keys["_hit"] = True
                probe = pd.DataFrame({"USUBJID": text(f["USUBJID"]), "V": idval if iv else ""})
                hit = probe.merge(keys, on=["USUBJID", "V"], how="left")["_hit"].fillna(False).to_numpy(dtype=bool)
                desc = f"no {dom} record with this USUBJID" + (f" and {iv} = IDVARVAL" if iv else "")
                out += row_findings(rule, sp, rows & ~hit, desc, variable="IDVARVAL" if iv else "USUBJID",
                                    values=idval if iv else None)
    return out


@register("SF-XD-0004", "DM.RFXSTDTC/RFXENDTC equal the first EXSTDTC / last EXENDTC of the subject", Severity.ERROR,
          f"{IG} 5.2 (RFXSTDTC, RFXENDTC: first/last study treatment)", "SDTM")
def dm_exposure_dates(view: PackageView) -> list[Finding]:
    rule = dm_exposure_dates.rule
    dmv, ex = view.get("DM"), view.get("EX")
    if dmv is None or ex is None or "USUBJID" not in dmv.frame.columns or "EXSTDTC" not in ex.frame.columns:
        return []
    e = ex.frame
    st = pd.Series(view.parsed_dates(ex, "EXSTDTC")["sas"].to_numpy(), index=e.index)
    en = pd.Series(view.parsed_dates(ex, "EXENDTC")["sas"].to_numpy(), index=e.index) if "EXENDTC" in e.columns else st
    en = en.where(en.notna(), st)
    agg = pd.DataFrame({"U": text(e["USUBJID"]), "st": st, "en": en}).groupby("U").agg(st=("st", "min"), en=("en", "max"))
    out: list[Finding] = []
    dm = dmv.frame
    for var, col in (("RFXSTDTC", "st"), ("RFXENDTC", "en")):
        if var not in dm.columns:
            continue
        want = text(dm["USUBJID"]).map(agg[col]).to_numpy(dtype=float, na_value=np.nan)
        got = view.parsed_dates(dmv, var)["sas"].to_numpy()
        bad = ~((np.isnan(want) & np.isnan(got)) | (want == got))
        shown = dates.sas_date_to_iso(pd.Series(want)).replace("", "no EX date").to_numpy()
        msg = pd.Series([f"{var} should be {s} ({'first EXSTDTC' if col == 'st' else 'last EXENDTC'})" for s in shown],
                        index=dm.index)
        out += row_findings(rule, dmv, bad, msg, variable=var)
    return out
