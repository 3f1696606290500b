"""Trial design and subject-design checks: SV covers every visit with data, IE criteria are TI's, treated
subjects have an AGE, TS speaks CDISC CT and holds the parameters the FDA expects, EPOCH is given
wherever the record's (possibly partial) date lies wholly inside one SE element.

Each check stays quiet when the datasets it compares are absent (their absence is SF-SD-0001's or
SF-FDA-0002's finding), so a package that lacks, say, SE is not reported twice.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from studyforge import dates, standards
from studyforge.conform.emit import blank, dataset_finding, row_findings, text
from studyforge.conform.package import DatasetView, PackageView
from studyforge.conform.rules import register
from studyforge.findings import Finding, Severity

IG = "SDTMIG 3.4 section"
NOT_SUBJECT_DATA = {"SV", "SE", "DM", "TS", "TA", "TE", "TV", "TI", "TD", "TM", "RELREC"}


def _frame(view: PackageView, name: str) -> pd.DataFrame | None:
    ds = view.get(name)
    return ds.frame if ds is not None else None


# --- SV: one record per actual visit ----------------------------------------------------------

@register("SF-XD-0201", "Every subject/visit with records in a subject dataset has an SV record", Severity.ERROR,
          f"{IG} 5.4 (SV: one record per actual visit per subject; assumption 1)", "SDTM")
def sv_covers_visits(view: PackageView) -> list[Finding]:
    rule = sv_covers_visits.rule
    sv = _frame(view, "SV")
    if sv is None or not {"USUBJID", "VISITNUM"} <= set(sv.columns):
        return []
    have = pd.MultiIndex.from_arrays([text(sv["USUBJID"]), text(sv["VISITNUM"])])
    out: list[Finding] = []
    for ds in view.by_standard("SDTM"):
        f = ds.frame
        if ds.name in NOT_SUBJECT_DATA or ds.name.startswith("SUPP") or not {"USUBJID", "VISITNUM"} <= set(f.columns):
            continue
        u, v = text(f["USUBJID"]), text(f["VISITNUM"])
        key = pd.MultiIndex.from_arrays([u, v])
        missing = (u != "").to_numpy() & (v != "").to_numpy() & ~key.isin(have)
        first = missing & ~key.duplicated(keep="first")  # one finding per subject and visit
        visit = text(f["VISIT"]) if "VISIT" in f.columns else v
        msg = pd.Series([f"USUBJID/VISITNUM {vn} ({vi}) has {ds.name} records but no SV record" for vn, vi in
                         zip(v, visit)], index=f.index)
        out += row_findings(rule, ds, first, msg, variable="VISITNUM")
    return out


# --- IE criteria are TI's ---------------------------------------------------------------------

@register("SF-XD-0202", "Every IE criterion (IETESTCD) is in TI with the same IETEST and IECAT", Severity.ERROR,
          f"{IG} 7.4.1 (TI: all inclusion/exclusion criteria) and 6.3.4 (IE: IETEST as in TI)", "SDTM")
def ie_criteria_in_ti(view: PackageView) -> list[Finding]:
    rule = ie_criteria_in_ti.rule
    ie = view.get("IE")
    if ie is None or "IETESTCD" not in ie.frame.columns or ie.frame.empty:
        return []
    ti = _frame(view, "TI")
    if ti is None or "IETESTCD" not in ti.columns:
        return [dataset_finding(rule, ie, "IE has criteria but there is no TI dataset listing the trial's criteria",
                                variable="IETESTCD")]
    f = ie.frame
    code = text(f["IETESTCD"])
    table = ti.drop_duplicates("IETESTCD").assign(IETESTCD=lambda d: text(d["IETESTCD"])).set_index("IETESTCD")
    known = code.isin(table.index).to_numpy()
    out = row_findings(rule, ie, (code != "").to_numpy() & ~known, "IETESTCD is not a criterion of TI",
                       variable="IETESTCD")
    for var in ("IETEST", "IECAT"):
        if var not in f.columns or var not in table.columns:
            continue
        want = code.map(text(table[var])).fillna("")
        got = text(f[var])
        bad = known & (got != want).to_numpy()
        msg = pd.Series([f"{var} differs from TI's for IETESTCD {c}: TI has {w!r}" for c, w in zip(code, want)],
                        index=f.index)
        out += row_findings(rule, ie, bad, msg, variable=var)
    return out


# --- AGE of treated subjects -------------------------------------------------------------------

NOT_TREATED_ARMS = {"", "SCRNFAIL", "NOTASSGN", "NOTTRT"}


@register("SF-VL-0201", "Every treated subject has AGE, or a stated reason (SUPPDM AGE* qualifier or a define "
          "comment on DM.AGE)", Severity.ERROR,
          f"{IG} 5.2 (DM: AGE Expected, AGEU with AGE); FDA TCG section 4.1.1.2 (demographic subgroups)", "SDTM")
def treated_subjects_have_age(view: PackageView) -> list[Finding]:
    rule = treated_subjects_have_age.rule
    dmv = view.get("DM")
    if dmv is None or not {"USUBJID", "AGE"} <= set(dmv.frame.columns):
        return []
    dm = dmv.frame
    treated = np.zeros(len(dm), dtype=bool)
    if "RFXSTDTC" in dm.columns:
        treated |= ~blank(dm["RFXSTDTC"])
    if "ACTARMCD" in dm.columns:
        treated |= ~text(dm["ACTARMCD"]).isin(NOT_TREATED_ARMS).to_numpy()
    if view.spec is not None and "DM" in view.spec.datasets:
        age = next((v for v in view.spec.datasets["DM"].variables if v.name == "AGE"), None)
        if age is not None and getattr(age, "comment", None):
            return []  # the reason is stated in define.xml for every subject without AGE
    supp = _frame(view, "SUPPDM")
    explained = np.zeros(len(dm), dtype=bool)
    if supp is not None and {"USUBJID", "QNAM"} <= set(supp.columns):
        who = set(text(supp.loc[text(supp["QNAM"]).str.startswith("AGE").to_numpy(), "USUBJID"]))
        explained = text(dm["USUBJID"]).isin(who).to_numpy()
    return row_findings(rule, dmv, treated & blank(dm["AGE"]) & ~explained,
                        "treated subject has no AGE and no stated reason (impute per a documented rule, or give "
                        "the reason in SUPPDM/define.xml)", variable="AGE")


# --- TS: controlled terminology and null flavors -----------------------------------------------

TS_VALUE_CODELISTS = standards.TS_VALUE_CODELISTS
# ISO 21090 NullFlavor terms (SDTMIG 3.4 TS assumptions)
NULL_FLAVORS = {"NI", "INV", "OTH", "PINF", "NINF", "UNC", "DER", "UNK", "ASKU", "NAV", "NASK", "QS", "TRC",
                "MSK", "NA", "NP"}
# parameters whose TSVAL is an ISO 8601 date or duration
ISO_PARAMS = {"AGEMIN", "AGEMAX", "LENGTH", "CRMDUR", "SDMDUR", "PLNTRDUR", "PTRTDUR", "SSTDTC", "SENDTC",
              "DCUTDTC", "TRGFUDUR"}


@lru_cache(maxsize=1)
def _ct_tables() -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, str]], set[str]]:
    """(TSPARMCD -> C-code, C-code -> TSPARM, codelist -> {term: C-code}, every term C-code) of the shipped CT."""
    by_cl = standards.sdtm_ct_terms()
    parm = by_cl.get("TSPARM", {})
    return by_cl.get("TSPARMCD", {}), {c: t for t, c in parm.items()}, by_cl, set(standards.sdtm_ct()["Term Code"])


def _pinned_ct(view: PackageView) -> str | None:
    if view.spec is None:
        return None
    for s in getattr(view.spec.study, "standards", []) or []:
        get = s.get if isinstance(s, dict) else (lambda k, s=s: getattr(s, k, None))
        if str(get("type") or "").upper() == "CT" and str(get("publishing_set") or "").upper() == "SDTM":
            return str(get("version"))
    return None


def _ts(view: PackageView):
    """The TS dataset when it has parameter codes (the TS checks read nothing else without them)."""
    ts = view.get("TS")
    return ts if ts is not None and "TSPARMCD" in ts.frame.columns else None


def _ts_col(f: pd.DataFrame, name: str) -> pd.Series:
    return text(f[name]) if name in f.columns else pd.Series("", index=f.index, dtype="str")


@register("SF-CT-0201", "TS parameters and coded values agree with CDISC CT (TSPARMCD/TSPARM pair; TSVAL, TSVALCD "
          "and TSVCDREF/TSVCDVER where CT controls the value)", Severity.ERROR,
          f"{IG} 7.6.1 (TS assumptions 5-9); CDISC CT TSPARMCD/TSPARM and value codelists", "SDTM")
def ts_codes_in_ct(view: PackageView) -> list[Finding]:
    rule = ts_codes_in_ct.rule
    ts = _ts(view)
    if ts is None:
        return []
    f = ts.frame
    parmcd_code, parm_of, by_cl, all_codes = _ct_tables()
    pcd, parm, val = _ts_col(f, "TSPARMCD"), _ts_col(f, "TSPARM"), _ts_col(f, "TSVAL")
    vcd, ref, ver = _ts_col(f, "TSVALCD"), _ts_col(f, "TSVCDREF"), _ts_col(f, "TSVCDVER")
    out: list[Finding] = []
    # TSPARMCD and TSPARM name the same CT term
    want_parm = pcd.map(lambda c: parm_of.get(parmcd_code.get(c, ""), ""))
    bad = ((want_parm != "") & (parm != want_parm)).to_numpy()
    out += row_findings(rule, ts, bad, pd.Series([f"TSPARM for TSPARMCD {c} is {w!r} in CDISC CT" for c, w in
                                                  zip(pcd, want_parm)], index=f.index), variable="TSPARM")
    # a CT-controlled value: TSVAL a term of its codelist, TSVALCD its code, TSVCDREF CDISC CT
    cl = pcd.map(TS_VALUE_CODELISTS).fillna("")
    has_val = (val != "").to_numpy()
    want_code = pd.Series([by_cl.get(c, {}).get(v, "") for c, v in zip(cl, val)], index=f.index, dtype="str")
    controlled = (cl != "").to_numpy() & has_val
    not_term = controlled & (want_code == "").to_numpy()
    out += row_findings(rule, ts, not_term, pd.Series([f"TSVAL is not a term of CDISC CT codelist {c} (the value "
                                                       f"codelist of {p})" for c, p in zip(cl, pcd)], index=f.index),
                        variable="TSVAL")
    wrong_code = controlled & ~not_term & (vcd != want_code).to_numpy()
    out += row_findings(rule, ts, wrong_code, pd.Series([f"TSVALCD should be {w} (CDISC CT {c} code of {v!r})"
                                                         for w, c, v in zip(want_code, cl, val)], index=f.index),
                        variable="TSVALCD")
    wrong_ref = controlled & (ref != "CDISC CT").to_numpy()
    out += row_findings(rule, ts, wrong_ref, "TSVCDREF should be 'CDISC CT' (the value is CDISC controlled "
                        "terminology)", variable="TSVCDREF")
    # any CDISC CT code must exist in the CT, with the version it was taken from
    cdisc = (ref == "CDISC CT").to_numpy()
    unknown = cdisc & ~controlled & (vcd != "").to_numpy() & ~vcd.isin(all_codes).to_numpy()
    out += row_findings(rule, ts, unknown, "TSVALCD is not a code of the pinned CDISC CT", variable="TSVALCD")
    pinned = _pinned_ct(view)
    want_ver = (ver != pinned).to_numpy() if pinned else (ver == "").to_numpy()
    out += row_findings(rule, ts, cdisc & want_ver,
                        f"TSVCDVER should be the pinned CDISC CT version{' ' + pinned if pinned else ''}",
                        variable="TSVCDVER")
    return out


@register("SF-VL-0202", "TSVAL and TSVALNF follow the SDTMIG rules (one of them; a NullFlavor term; no code with a "
          "null flavor; ISO 8601 for dates and durations)", Severity.ERROR,
          f"{IG} 7.6.1 (TS: TSVAL null only when TSVALNF is populated; assumptions 10-12)", "SDTM")
def ts_value_or_null_flavor(view: PackageView) -> list[Finding]:
    rule = ts_value_or_null_flavor.rule
    ts = _ts(view)
    if ts is None:
        return []
    f = ts.frame
    pcd, val, nf = _ts_col(f, "TSPARMCD"), _ts_col(f, "TSVAL"), _ts_col(f, "TSVALNF")
    has_val, has_nf = (val != "").to_numpy(), (nf != "").to_numpy()
    out = row_findings(rule, ts, ~has_val & ~has_nf, "TSVAL is null and TSVALNF gives no null flavor",
                       variable="TSVAL")
    out += row_findings(rule, ts, has_val & has_nf, "TSVALNF is populated although TSVAL has a value",
                        variable="TSVALNF")
    out += row_findings(rule, ts, has_nf & ~nf.isin(NULL_FLAVORS).to_numpy(),
                        "TSVALNF is not an ISO 21090 NullFlavor term", variable="TSVALNF")
    coded = (_ts_col(f, "TSVALCD") != "").to_numpy() | (_ts_col(f, "TSVCDREF") != "").to_numpy()
    out += row_findings(rule, ts, has_nf & ~has_val & coded, "TSVALCD/TSVCDREF given for a null value",
                        variable="TSVALCD")
    iso = pcd.isin(ISO_PARAMS).to_numpy() & has_val
    if iso.any():
        ok = dates.is_valid_iso8601(val).to_numpy(dtype=bool) | val.str.fullmatch(
            r"P(?:\d+Y)?(?:\d+M)?(?:\d+W)?(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+S)?)?").fillna(False).to_numpy(bool)
        ok &= (val != "P").to_numpy()
        out += row_findings(rule, ts, iso & ~ok, "TSVAL is not an ISO 8601 date or duration", variable="TSVAL")
    return out


# --- TS: the parameters the FDA expects ----------------------------------------------------------

# FDA Study Data Technical Conformance Guide, TS parameter table (clinical): parameters expected of every
# study, and in addition of interventional studies; cross-checked with SDTMIG 3.4 TS Example 1. Conditional
# parameters (CURTRT when added on, COMPTRT when controlled) are expected too: TSVALNF "NA" says they do not apply.
TCG_ALL_STUDIES = ("ACTSUB", "AGEMAX", "AGEMIN", "DCUTDTC", "FCNTRY", "HLTSUBJI", "INDIC", "LENGTH", "NARMS",
                   "OBJPRIM", "OUTMSPRI", "PLANSUB", "REGID", "SDTIGVER", "SDTMVER", "SENDTC", "SEXPOP", "SPONSOR",
                   "SSTDTC", "STYPE", "TDIGRP", "TITLE", "TPHASE")
TCG_INTERVENTIONAL = ("ADAPT", "ADDON", "COMPTRT", "CURTRT", "DOSE", "DOSFRQ", "DOSU", "EXTTIND", "INTMODEL",
                      "INTTYPE", "PCLAS", "RANDOM", "ROUTE", "STOPRULE", "TBLIND", "TCNTRL", "TINDTP", "TRT",
                      "TTYPE")
# tumour response studies (RS overall response records): the response duration rules (SDTMIG 3.4 TS Example 1)
TCG_RESPONSE = ("CRMDUR",)


@register("SF-FDA-0201", "TS holds the parameters the FDA Technical Conformance Guide expects for the study type",
          Severity.WARNING, "FDA Study Data Technical Conformance Guide, TS parameter table (clinical); "
          f"{IG} 7.6.1 Example 1", "SDTM")
def ts_expected_parameters(view: PackageView) -> list[Finding]:
    rule = ts_expected_parameters.rule
    ts = _ts(view)
    if ts is None:
        return []
    f = ts.frame
    pcd = _ts_col(f, "TSPARMCD")
    stype = set(_ts_col(f, "TSVAL")[pcd == "STYPE"])  # no STYPE: the list for every study (STYPE among them)
    want = list(TCG_ALL_STUDIES)
    if "INTERVENTIONAL" in stype:
        want += TCG_INTERVENTIONAL
    rs = _frame(view, "RS")
    if rs is not None and "RSTESTCD" in rs.columns and (text(rs["RSTESTCD"]) == "OVRLRESP").any():
        want += TCG_RESPONSE
    have = set(pcd)
    return [dataset_finding(rule, ts, f"TS parameter {p} is missing (expected of {_expected_of(p)}; TSVALNF "
                            "gives the reason when it does not apply)", variable="TSPARMCD", value=p)
            for p in want if p not in have]


def _expected_of(parmcd: str) -> str:
    if parmcd in TCG_INTERVENTIONAL:
        return "an interventional study"
    return "a tumour response study" if parmcd in TCG_RESPONSE else "every study"


# --- EPOCH wherever the date lies wholly inside one element --------------------------------------

def _day_bounds(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """First and last possible day (SAS) of each ISO date, partial ones included; NaN when unusable."""
    lo, _ = dates.impute_date(values, fill="first")
    hi, _ = dates.impute_date(values, fill="last")
    return lo.to_numpy(dtype=float), hi.to_numpy(dtype=float)


def _timing_var(ds: DatasetView) -> str | None:
    p = ds.prefix
    return next((c for c in (f"{p}DTC", f"{p}STDTC") if p and c in ds.frame.columns), None)


@register("SF-XD-0203", "EPOCH is given (and right) when every date the record's --DTC allows lies inside one SE "
          "element", Severity.ERROR,
          f"{IG} 4.1.3.1 (EPOCH) and 5.3 (SE: SESTDTC/SEENDTC); partial dates per 4.4.2", "SDTM")
def epoch_inside_one_element(view: PackageView) -> list[Finding]:
    rule = epoch_inside_one_element.rule
    sev = view.get("SE")
    if sev is None or not {"USUBJID", "SESTDTC", "SEENDTC", "EPOCH"} <= set(sev.frame.columns):
        return []
    se = sev.frame
    st, _ = _day_bounds(text(se["SESTDTC"]))
    _, en = _day_bounds(text(se["SEENDTC"]))
    # an open last element (no SEENDTC) ends with its own start: nothing later is placed in it
    en = np.where(np.isnan(en), st, en)
    elements = pd.DataFrame({"U": text(se["USUBJID"]).to_numpy(), "st": st, "en": en,
                             "EP": text(se["EPOCH"]).to_numpy(),
                             "ETCD": text(se["ETCD"]).to_numpy() if "ETCD" in se.columns else ""})
    elements = elements[~np.isnan(elements["st"])]
    out: list[Finding] = []
    for ds in view.by_standard("SDTM"):
        f = ds.frame
        var = _timing_var(ds)
        if ds.name in NOT_SUBJECT_DATA or ds.name.startswith("SUPP") or "EPOCH" not in f.columns or var is None \
                or "USUBJID" not in f.columns:
            continue
        pairs = pd.DataFrame({"U": text(f["USUBJID"]).to_numpy(), "D": text(f[var]).to_numpy()})
        codes, uniq = pd.factorize(pd.MultiIndex.from_frame(pairs))
        u = pd.DataFrame(list(uniq), columns=["U", "D"]) if len(uniq) else pd.DataFrame(columns=["U", "D"])
        u["lo"], u["hi"] = _day_bounds(u["D"]) if len(u) else (np.array([]), np.array([]))
        u["pid"] = np.arange(len(u))
        m = u[~np.isnan(u["lo"].to_numpy(dtype=float))].merge(elements, on="U", how="inner")
        overlap = (m["st"] <= m["hi"]) & (m["lo"] <= m["en"])
        contains = (m["st"] <= m["lo"]) & (m["hi"] <= m["en"])
        m = m[overlap.to_numpy()].assign(contains=contains[overlap].to_numpy())
        g = m.groupby("pid").agg(n=("EP", "size"), contains=("contains", "all"), EP=("EP", "first"),
                                 ETCD=("ETCD", "first"), st=("st", "first"), en=("en", "first"))
        g = g[(g["n"] == 1) & g["contains"]]  # overlaps exactly one element, and lies inside it
        expected = np.full(len(u), "", dtype=object)
        expected[g.index.to_numpy(dtype=np.int64)] = g["EP"].to_numpy(dtype=object)
        where = np.full(len(u), "", dtype=object)
        where[g.index.to_numpy(dtype=np.int64)] = [
            f"{e} ({a}..{b})" for e, a, b in zip(g["ETCD"], dates.sas_date_to_iso(g["st"]),
                                                 dates.sas_date_to_iso(g["en"]))]
        exp_r, where_r = expected[codes], where[codes]
        got = text(f["EPOCH"]).to_numpy(dtype=object)
        bad = (exp_r != "") & (got != exp_r)
        msg = pd.Series([f"EPOCH should be {e}: every date {var} {d!r} allows lies inside SE element {w}"
                         for e, d, w in zip(exp_r, pairs["D"], where_r)], index=f.index)
        out += row_findings(rule, ds, bad, msg, variable="EPOCH")
    return out
