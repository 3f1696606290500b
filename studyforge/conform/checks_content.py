"""SDTM content checks a reviewer runs: results that agree with themselves, QRS responses as collected,
test codes as CT defines them, timing variables of the right class, Expected variables present.

Each check reads only the package (and the shipped SDTMIG 3.4 metadata and SDTM CT), never the study
spec, so it also judges a package studyforge did not make, and a spec that omits something.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from studyforge import standards
from studyforge.conform.emit import dataset_finding, records, row_findings, text
from studyforge.conform.package import PackageView
from studyforge.conform.rules import register
from studyforge.findings import Finding, Severity

IG = "SDTMIG 3.4 section"
QRS_DOMAINS = ("QS", "RS", "FT")  # domains whose tests the CDISC QRS supplements describe


def _number_text(s: pd.Series) -> pd.Series:
    """--STRESC read as a plain number (no comparator, no text): NaN where it is not one."""
    t = text(s).str.strip()
    plain = t.str.fullmatch(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?").fillna(False)
    return pd.to_numeric(t.where(plain, None), errors="coerce").astype(float)


@register("SF-VL-0101", "--STRESN is --STRESC as a number (and null when --STRESC is not a number)", Severity.ERROR,
          f"{IG} 4.5.1 (--STRESN: numeric form of --STRESC; null for a result with a comparator or text)", "SDTM")
def stresn_is_stresc(view: PackageView) -> list[Finding]:
    rule = stresn_is_stresc.rule
    out: list[Finding] = []
    for ds in view.by_standard("SDTM"):
        c, n = f"{ds.prefix}STRESC", f"{ds.prefix}STRESN"
        if not ds.prefix or c not in ds.frame.columns or n not in ds.frame.columns:
            continue
        want = _number_text(ds.frame[c]).to_numpy(dtype=float)
        got = pd.to_numeric(ds.frame[n], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        # XPT stores IBM floats (56-bit mantissa): compare to 1e-12 relative, far below any reported digit
        same = (np.isnan(want) & np.isnan(got)) | np.isclose(got, want, rtol=1e-12, atol=0.0)
        msg = f"{n} " + text(ds.frame[n]) + f" is not {c} '" + text(ds.frame[c]) + "' as a number"
        out += row_findings(rule, ds, ~same, msg, variable=n)
    return out


# --- QRS: the collected response text in --ORRES ---------------------------------------------------

@lru_cache(maxsize=None)
def _ct_response_lists() -> dict[str, frozenset[str]]:
    """CT codelists named <TESTCD>OR / <TESTCD>STR (QRS original and standardized responses, e.g. ECOG101OR)."""
    ct = standards.sdtm_ct()
    cl = ct[ct["Codelist Submission Value"].str.fullmatch(r"[A-Z0-9]+(?:OR|STR)")]
    return {k: frozenset(g["Term Submission Value"]) for k, g in cl.groupby("Codelist Submission Value")}


@register("SF-CT-0101", "QRS responses use the test's CT response codelists (<TESTCD>OR in --ORRES, "
          "<TESTCD>STR in --STRESC)", Severity.ERROR,
          "CDISC QRS supplements (--ORRES: response text as collected; --STRESC: standardized code); SDTM CT "
          "QRS response codelists", "SDTM")
def qrs_ct_responses(view: PackageView) -> list[Finding]:
    rule = qrs_ct_responses.rule
    lists = _ct_response_lists()
    out: list[Finding] = []
    for ds in view.by_standard("SDTM"):
        p = ds.prefix
        code = f"{p}TESTCD"
        if p not in QRS_DOMAINS or code not in ds.frame.columns:
            continue
        tc = text(ds.frame[code])
        for testcd in sorted(set(tc)):
            rows = (tc == testcd).to_numpy()
            for suffix, var in (("OR", f"{p}ORRES"), ("STR", f"{p}STRESC")):
                allowed = lists.get(f"{testcd}{suffix}")
                if allowed is None or var not in ds.frame.columns:
                    continue
                vals = text(ds.frame[var])
                bad = rows & (vals != "").to_numpy() & ~vals.isin(allowed).to_numpy()
                what = "response text as collected" if suffix == "OR" else "standardized response"
                out += row_findings(rule, ds, bad, f"{var} of {testcd} is not a term of CT {testcd}{suffix} ({what})",
                                    variable=var)
    return out


@register("SF-VL-0102", "A questionnaire's --ORRES holds the collected response text, not only the coded score",
          Severity.WARNING,
          "CDISC QRS supplements (e.g. EORTC QLQ-C30: QSORRES 'Quite a bit', QSSTRESC '3', QSSTRESN 3)", "SDTM")
def qrs_orres_text(view: PackageView) -> list[Finding]:
    """An instrument (QSCAT) whose every --ORRES is a number equal to --STRESC: the codes were copied
    where the supplement puts the response text (a pure numeric rating scale would be a false alarm)."""
    rule = qrs_orres_text.rule
    out: list[Finding] = []
    for ds in view.by_standard("SDTM"):
        p = ds.prefix
        cols = [f"{p}CAT", f"{p}ORRES", f"{p}STRESC", f"{p}STRESN"]
        if p not in QRS_DOMAINS or any(c not in ds.frame.columns for c in cols):
            continue
        f = pd.DataFrame({"cat": text(ds.frame[cols[0]]), "o": text(ds.frame[cols[1]]),
                          "c": text(ds.frame[cols[2]]), "n": pd.to_numeric(ds.frame[cols[3]], errors="coerce")})
        f = f[f["o"] != ""]
        f["coded"] = (f["o"] == f["c"]) & f["n"].notna()
        per_cat = f.groupby("cat", sort=True)["coded"].all()
        for cat in per_cat[per_cat].index:
            first = f.index[f["cat"] == cat][0]
            out.append(dataset_finding(rule, ds, f"every {cols[1]} of {cols[0]} {cat!r} equals its {cols[2]} score: "
                                       "the response text as collected belongs in --ORRES (QRS supplement)",
                                       variable=cols[1], value=cat,
                                       record=records(ds, np.array([ds.frame.index.get_loc(first)]))[0]))
    return out


# --- test codes as CT defines them -----------------------------------------------------------------

NY_RESULTS = frozenset({"Y", "N", "U", "NA"})


@lru_cache(maxsize=None)
def _indicator_twins() -> dict[str, str]:
    """Test code -> the CT indicator test of the same codelist that asks its yes/no question: NEWLPROG (New
    Lesion Progression) -> NEWLIND (New Lesion Indicator). Matched on the name without its last word."""
    ct = standards.sdtm_ct()
    tc = ct[ct["Codelist Submission Value"].str.endswith(("TESTCD", "TSCD", "TC"))]
    out: dict[str, str] = {}
    for _, g in tc.groupby("Codelist Code"):
        names = dict(zip(g["Term Submission Value"], g["Preferred Term"].str.strip()))
        ind = {n[: -len(" Indicator")].upper(): c for c, n in names.items() if n.endswith(" Indicator")}
        for c, n in names.items():
            stem = n.rsplit(" ", 1)[0].upper()
            if not n.endswith(" Indicator") and stem in ind:
                out[c] = ind[stem]
    return out


@register("SF-CT-0102", "A yes/no question is recorded under the CT indicator test, not its sibling "
          "(e.g. new lesions Y/N: NEWLIND, not NEWLPROG)", Severity.ERROR,
          "SDTM CT ONCRTSCD (NEWLIND C142362 'whether new lesions are present'; NEWLPROG C103420 'equivocality "
          "of progression'); SDTMIG 3.4 section 4.3", "SDTM")
def indicator_test_codes(view: PackageView) -> list[Finding]:
    rule = indicator_test_codes.rule
    twins = _indicator_twins()
    out: list[Finding] = []
    for ds in view.by_standard("SDTM"):
        code, res = f"{ds.prefix}TESTCD", f"{ds.prefix}STRESC"
        if not ds.prefix or code not in ds.frame.columns:
            continue
        if res not in ds.frame.columns:
            res = f"{ds.prefix}ORRES"
        if res not in ds.frame.columns:
            continue
        tc, vals = text(ds.frame[code]), text(ds.frame[res]).str.upper()
        for testcd in sorted(set(tc) & set(twins)):
            rows = (tc == testcd).to_numpy()
            answered = rows & (vals != "").to_numpy()
            if answered.any() and vals[answered].isin(NY_RESULTS).all():
                out += row_findings(rule, ds, answered, f"{testcd} answered Y/N: CT gives that question to "
                                    f"{twins[testcd]}", variable=code, values=ds.frame[code])
    return out


# --- timing variables of the right class -----------------------------------------------------------

@register("SF-DT-0101", "Each study-day variable sits beside its date: --DY with --DTC, --STDY with --STDTC, "
          "--ENDY with --ENDTC", Severity.ERROR,
          f"{IG} 4.4.4 (study day of --DTC, --STDTC, --ENDTC); SDTM v2.0 timing variables (--DY: day of "
          "visit/collection; --STDY/--ENDY: start/end of observation)", "SDTM")
def study_day_pairs(view: PackageView) -> list[Finding]:
    rule = study_day_pairs.rule
    out: list[Finding] = []
    for ds in view.by_standard("SDTM"):
        p = ds.prefix
        if not p:
            continue
        cols = set(ds.frame.columns)
        for dy, dtc in ((f"{p}DY", f"{p}DTC"), (f"{p}STDY", f"{p}STDTC"), (f"{p}ENDY", f"{p}ENDTC")):
            if dy in cols and dtc not in cols:
                other = [d for d in (f"{p}STDTC", f"{p}ENDTC", f"{p}DTC") if d in cols and d != dtc]
                hint = f"; the dataset's date is {', '.join(other)} (its study day is " \
                       f"{', '.join(d[:-3] + 'DY' for d in other)})" if other else ""
                out.append(dataset_finding(rule, ds, f"{dy} is the study day of {dtc}, which the dataset does not "
                                           f"have{hint}", variable=dy))
    return out


# --- Expected variables ----------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _ig_expected(domain: str) -> tuple[str, ...]:
    v = standards.sdtmig_variables()
    rows = v[(v["Dataset Name"] == ("SUPPQUAL" if domain.startswith("SUPP") else domain)) & (v["Core"] == "Exp")]
    return tuple(rows["Variable Name"])


@register("SF-SD-0101", "SDTMIG Expected variables of the domain are present (even when empty), whatever the "
          "spec says", Severity.WARNING,
          f"{IG} 4.1.5 (Core Exp: included in the dataset even when it has no values); FDA TCG section 4.1.4", "SDTM")
def ig_expected_present(view: PackageView) -> list[Finding]:
    rule = ig_expected_present.rule
    out: list[Finding] = []
    for ds in view.by_standard("SDTM"):
        name = ds.name if ds.name.startswith("SUPP") or not ds.prefix else ds.prefix
        out += [dataset_finding(rule, ds, "SDTMIG 3.4 Expected variable is missing (include it, null if not "
                                "collected)", variable=v) for v in _ig_expected(name) if v not in ds.frame.columns]
    return out

