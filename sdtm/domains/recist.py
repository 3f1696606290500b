"""RECIST 1.1 records for TU, TR and RS from the investigator forms and the BICR vendor transfer.

Each builder returns working rows with neutral column names (SUBJID, FOLDER, DATE, LNKID, LOC,
METHOD, TESTCD, ORRES, EVAL, EVALID, NODAL, STAT, ACPTFL, CAT, TEST) that the spec maps to SDTM
variables (with CT mapping there). Links: TULNKID = lesion id (T01, NT01, NEW01) per assessor;
TR/RS rows carry the same id in LNKID.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._fast import umap
from ..context import FILE, FORM, LINE, Context
from ..engine import dedupe_form, tagged
from ..registry import RecistParams
from ..vocabulary import norm_key

_BK = [FORM, FILE, LINE]
INVESTIGATOR, BICR = "INVESTIGATOR", "INDEPENDENT ASSESSOR"


def _form(ctx: Context, form: str | None, keys: list[str]) -> pd.DataFrame | None:
    if not form:
        return None
    f = tagged(ctx, form)
    if f is None:
        ctx.error("SD0101", f"raw form {form!r} is missing ({form}.csv expected)", file=ctx.spec_file, field=form)
        return None
    return dedupe_form(ctx, f, keys, form)


def _col(f: pd.DataFrame, name: str) -> pd.Series:
    return f[name] if name in f.columns else pd.Series("", index=f.index, dtype=str)


def _frame(f: pd.DataFrame, **cols) -> pd.DataFrame:
    out = pd.DataFrame({k: (v if isinstance(v, pd.Series) else pd.Series(v, index=f.index)) for k, v in cols.items()},
                       index=f.index)
    for b in _BK:
        out[b] = f[b]
    return out


def _investigator_lesions(ctx: Context, p: RecistParams) -> list[pd.DataFrame]:
    out = []
    key = ["SUBJID", "FOLDER", "LESID"]
    for role, kind, stat_field in (("target", "TARGET", "LESSTAT"), ("nontarget", "NON-TARGET", "NTLSTAT"),
                                   ("new", "NEW", "NLSTAT")):
        f = _form(ctx, p.investigator.get(role), key)
        if f is None:
            continue
        out.append(_frame(f, SUBJID=_col(f, "SUBJID"), FOLDER=_col(f, "FOLDER"), DATE=_col(f, "TRDAT"),
                          LNKID=_col(f, "LESID"), LOC=_col(f, "LESLOC"), METHOD=_col(f, "TRMETHOD"),
                          KIND=kind, NODAL=_col(f, "LESNODE"), MEAS=_col(f, "DIAM"),
                          STATUS=_col(f, stat_field).str.upper(), EVAL=INVESTIGATOR, EVALID=""))
    return out


def _bicr_lesions(ctx: Context, p: RecistParams) -> list[pd.DataFrame]:
    f = _form(ctx, p.bicr.get("lesions"), ["SUBJID", "READER", "TIMEPOINT", "LESIONID"])
    if f is None:
        return []
    return [_frame(f, SUBJID=_col(f, "SUBJID"), FOLDER=_col(f, "TIMEPOINT"), DATE=_col(f, "SCANDATE"),
                   LNKID=_col(f, "LESIONID"), LOC=_col(f, "LOCATION"), METHOD="", KIND=norm_key(_col(f, "LESIONTYPE")),
                   NODAL=_col(f, "NODAL"), MEAS=_col(f, "MEASMM"), STATUS=norm_key(_col(f, "LESSTATUS")),
                   EVAL=BICR, EVALID=norm_key(_col(f, "READER")))]


def _lesions(ctx: Context, p: RecistParams) -> pd.DataFrame:
    parts = _investigator_lesions(ctx, p) + _bicr_lesions(ctx, p)
    if not parts:
        return pd.DataFrame(columns=["SUBJID", "FOLDER", "DATE", "LNKID", "EVAL", "EVALID", *_BK])
    return pd.concat(parts, ignore_index=True).fillna("")


def _iso_sortable(date: pd.Series) -> pd.Series:
    from .. import _dates

    iso, _ = _dates.edc_date_to_iso(date)
    return iso


def build_tu(ctx: Context, p: RecistParams) -> pd.DataFrame:
    """One TU record per lesion per assessor: the first time it was recorded (identification)."""
    les = _lesions(ctx, p)
    if les.empty:
        return les
    les["__iso"] = _iso_sortable(les["DATE"])
    les = les.sort_values(["SUBJID", "EVAL", "EVALID", "LNKID", "__iso", LINE], kind="mergesort")
    first = ~les.duplicated(["SUBJID", "EVAL", "EVALID", "LNKID"], keep="first")
    tu = les[first].copy()
    tu["ORRES"] = tu["KIND"]
    tu["TESTCD"] = "TUMIDENT"
    return tu.reset_index(drop=True)


def build_tr(ctx: Context, p: RecistParams) -> pd.DataFrame:
    """TR: LDIAM per target (short axis for nodes: MEASAXIS in SUPPTR), TUMSTATE per non-target and
    new lesion, and SUMDIAM per assessor and visit when every target of that visit has a diameter."""
    les = _lesions(ctx, p)
    if les.empty:
        return les
    tgt = les["KIND"] == "TARGET"
    les["TESTCD"] = np.where(tgt, "LDIAM", "TUMSTATE")
    meas = pd.to_numeric(les["MEAS"], errors="coerce")
    status = les["STATUS"]
    not_eval = status.isin(["NOT EVALUABLE"])
    # targets: the diameter (5 mm recorded when too small to measure, per RECIST 1.1); NE -> not done
    les["ORRES"] = np.where(tgt, les["MEAS"], status.where(~not_eval, ""))
    les["ORRESU"] = np.where(tgt & (les["MEAS"] != ""), "mm", "")
    les["STAT"] = np.where(not_eval | (tgt & (les["MEAS"] == "")), "NOT DONE", "")
    les["REASND"] = np.where(les["STAT"] == "NOT DONE", np.where(not_eval, "NOT EVALUABLE", "NOT MEASURED"), "")
    les["AXIS"] = np.where(tgt & (norm_key(les["NODAL"]) == "Y"), "SHORT AXIS", "")
    les["TMTSTAT"] = np.where(tgt & status.isin(["TOO SMALL TO MEASURE"]), "TOO SMALL TO MEASURE", "")
    bad = tgt & (les["MEAS"] != "") & meas.isna()
    if bad.any():
        for file, line, v in zip(les.loc[bad, FILE], les.loc[bad, LINE], les.loc[bad, "MEAS"]):
            ctx.error("SD1101", "target lesion measurement is not a number", file=file, line=int(line),
                      field="DIAM/MEASMM", value=v, variable="TRORRES")
    # SUMDIAM: sum of the visit's target diameters per assessor (derived, only when all are measured)
    t = les[tgt].copy()
    t["__m"] = meas[tgt]
    t["__miss"] = t["__m"].isna().astype(int)
    g = t.groupby(["SUBJID", "FOLDER", "EVAL", "EVALID"], sort=True)
    sums = g.agg(__sum=("__m", "sum"), __n=("__m", "size"), __nmiss=("__miss", "sum"),
                 DATE=("DATE", "first"), METHOD=("METHOD", "first"), **{FORM: (FORM, "first"), FILE: (FILE, "first"),
                                                                       LINE: (LINE, "min")}).reset_index()
    sums = sums[sums["__nmiss"] == 0]
    sums["TESTCD"] = "SUMDIAM"
    sums["ORRES"] = umap(sums["__sum"], lambda u: u.map(lambda v: f"{v:.0f}" if float(v).is_integer() else f"{v:g}"))
    sums["ORRESU"] = "mm"
    sums["LNKID"] = ""
    for c in ("STAT", "REASND", "AXIS", "TMTSTAT", "LOC", "KIND"):
        sums[c] = ""
    out = pd.concat([les, sums.drop(columns=["__sum", "__n", "__nmiss"])], ignore_index=True).fillna("")
    out["__iso"] = _iso_sortable(out["DATE"])
    return out.reset_index(drop=True)


def _accepted_reader(ctx: Context, p: RecistParams) -> dict[str, str]:
    f = _form(ctx, p.bicr.get("adjudication"), ["SUBJID"])
    if f is None:
        return {}
    ctx.recon.add_used(p.bicr["adjudication"], "RS.RSACPTFL", len(f))
    return dict(zip(_col(f, "SUBJID"), norm_key(_col(f, "ACCEPTEDREADER"))))


def build_rs(ctx: Context, p: RecistParams) -> pd.DataFrame:
    """RS: OVRLRESP, TRGRESP, NTRGRESP, NEWLPROG per assessor and visit (RSCAT RECIST 1.1);
    RSACPTFL Y on the accepted BICR reader's records (adjudication, else the default reader), N on
    the other reader's; and ECOG (RSCAT ECOG)."""
    parts = []
    tests = [("OVRLRESP", "OVRLRESP", "OVERALLRESP"), ("TRGRESP", "TRGRESP", "TARGETRESP"),
             ("NTRGRESP", "NTRGRESP", "NONTARGETRESP"), ("NEWLPROG", "NEWLES", "NEWLESION")]
    inv = _form(ctx, p.investigator.get("response"), ["SUBJID", "FOLDER"])
    if inv is not None:
        for testcd, fld, _ in tests:
            parts.append(_frame(inv, SUBJID=_col(inv, "SUBJID"), FOLDER=_col(inv, "FOLDER"), DATE=_col(inv, "RSDAT"),
                                TESTCD=testcd, ORRES=_col(inv, fld), EVAL=INVESTIGATOR, EVALID="", ACPTFL="",
                                CAT="RECIST 1.1", __src=fld))
    bic = _form(ctx, p.bicr.get("response"), ["SUBJID", "READER", "TIMEPOINT"])
    if bic is not None:
        acc = _accepted_reader(ctx, p)
        reader = norm_key(_col(bic, "READER"))
        chosen = _col(bic, "SUBJID").map(acc).astype(object).fillna(p.default_accepted_reader)  # no adjudication rows: float NaN
        flag = pd.Series(np.where(reader == chosen, "Y", "N"), index=bic.index)
        for testcd, _, fld in tests:
            parts.append(_frame(bic, SUBJID=_col(bic, "SUBJID"), FOLDER=_col(bic, "TIMEPOINT"),
                                DATE=_col(bic, "SCANDATE"), TESTCD=testcd, ORRES=_col(bic, fld), EVAL=BICR,
                                EVALID=reader, ACPTFL=flag, CAT="RECIST 1.1", __src=fld))
    ecog = _form(ctx, p.ecog_form, ["SUBJID", "FOLDER"])
    if ecog is not None:
        parts.append(_frame(ecog, SUBJID=_col(ecog, "SUBJID"), FOLDER=_col(ecog, "FOLDER"), DATE=_col(ecog, "ECOGDAT"),
                            TESTCD="ECOG101", ORRES=_col(ecog, "ECOG"), EVAL="INVESTIGATOR", EVALID="", ACPTFL="",
                            CAT="ECOG", __src="ECOG"))
    if not parts:
        return pd.DataFrame(columns=["SUBJID", "FOLDER", "DATE", "TESTCD", "ORRES", *_BK])
    out = pd.concat(parts, ignore_index=True).fillna("")
    # a response left blank on the form (e.g. no non-target lesions) gives no RS record for that test;
    # the raw record itself still reaches RS through its other tests (else the reconciliation lists it)
    return out[out["ORRES"] != ""].reset_index(drop=True)
