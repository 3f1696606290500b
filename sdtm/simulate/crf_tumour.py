"""Tumour forms: investigator tl/ntl/nl/rsinv (EDC) and the BICR vendor transfer (lesions, responses, adjudication)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .fmt import edc_date, integer, iso_date, rng_for
from .model import World

_NTL_TEXT = {"PRESENT": "Present", "ABSENT": "Absent", "UNEQUIVOCAL PROGRESSION": "Unequivocal progression",
             "NOT EVALUABLE": "Not evaluable"}
BICR = ["RADIOLOGIST 1", "RADIOLOGIST 2"]


def _with_tp(w: World, d: pd.DataFrame) -> pd.DataFrame:
    d = d.merge(w.tps[["sidx", "tp", "folder", "date"]], on=["sidx", "tp"], how="left")
    mri = w.subj.set_index("sidx")["mri"].reindex(d["sidx"]).to_numpy(dtype=bool)
    d["method"] = np.where(mri, "MRI", "CT")
    return d


def tl(w: World) -> pd.DataFrame:
    d = _with_tp(w, w.tl[w.tl["reader"] == "INV"])
    return pd.DataFrame({"sidx": d["sidx"], "FOLDER": d["folder"], "_k": d["date"], "_l": d["lesid"],
                         "TRDAT": edc_date(d["date"]).to_numpy(), "LESID": d["lesid"], "LESLOC": d["organ"],
                         "LESNODE": np.where(d["nodal"], "Y", "N"), "TRMETHOD": d["method"],
                         "DIAM": integer(d["meas"]).to_numpy(), "LESSTAT": d["tstatus"]})


def ntl(w: World) -> pd.DataFrame:
    d = _with_tp(w, w.ntl[w.ntl["reader"] == "INV"])
    return pd.DataFrame({"sidx": d["sidx"], "FOLDER": d["folder"], "_k": d["date"], "_l": d["lesid"],
                         "TRDAT": edc_date(d["date"]).to_numpy(), "LESID": d["lesid"], "LESLOC": d["organ"],
                         "TRMETHOD": d["method"], "NTLSTAT": d["status"].map(_NTL_TEXT)})


def nl(w: World) -> pd.DataFrame:
    d = _with_tp(w, w.nl[w.nl["reader"] == "INV"])
    return pd.DataFrame({"sidx": d["sidx"], "FOLDER": d["folder"], "_k": d["date"], "_l": d["lesid"],
                         "TRDAT": edc_date(d["date"]).to_numpy(), "LESID": d["lesid"], "LESLOC": d["organ"],
                         "TRMETHOD": d["method"], "NLSTAT": d["status"].str.capitalize()})


def rsinv(w: World) -> pd.DataFrame:
    d = _with_tp(w, w.resp[w.resp["reader"] == "INV"])
    return pd.DataFrame({"sidx": d["sidx"], "FOLDER": d["folder"], "_k": d["date"],
                         "RSDAT": edc_date(d["date"]).to_numpy(), "TRGRESP": d["TRGRESP"], "NTRGRESP": d["NTRGRESP"],
                         "NEWLES": d["NEWLES"], "OVRLRESP": d["OVRLRESP"]})


def bicr_lesions(w: World) -> pd.DataFrame:
    t = _with_tp(w, w.tl[w.tl["reader"].isin(BICR)])
    t = t.assign(LESIONTYPE="TARGET", MEASMM=integer(t["meas"]).to_numpy(),
                 LESSTATUS=np.where(t["tstatus"] == "", "MEASURED", t["tstatus"]))
    n = _with_tp(w, w.ntl[w.ntl["reader"].isin(BICR)])
    n = n.assign(LESIONTYPE="NON-TARGET", MEASMM="", LESSTATUS=n["status"])
    e = _with_tp(w, w.nl[w.nl["reader"].isin(BICR)])
    e = e.assign(LESIONTYPE="NEW", MEASMM="", LESSTATUS=e["status"])
    d = pd.concat([t, n, e], ignore_index=True)
    d["_ty"] = d["LESIONTYPE"].map({"TARGET": 0, "NON-TARGET": 1, "NEW": 2})
    return pd.DataFrame({"sidx": d["sidx"], "READER": d["reader"], "_k": d["date"], "_ty": d["_ty"], "_l": d["lesid"],
                         "TIMEPOINT": d["folder"], "SCANDATE": iso_date(d["date"]).to_numpy(), "LESIONID": d["lesid"],
                         "LESIONTYPE": d["LESIONTYPE"], "LOCATION": d["organ"],
                         "NODAL": np.where(d["nodal"].astype(bool), "Y", "N"), "MEASMM": d["MEASMM"],
                         "LESSTATUS": d["LESSTATUS"]})


def bicr_response(w: World) -> pd.DataFrame:
    d = _with_tp(w, w.resp[w.resp["reader"].isin(BICR)])
    return pd.DataFrame({"sidx": d["sidx"], "READER": d["reader"], "_k": d["date"], "TIMEPOINT": d["folder"],
                         "SCANDATE": iso_date(d["date"]).to_numpy(), "TARGETRESP": d["TRGRESP"],
                         "NONTARGETRESP": d["NTRGRESP"], "NEWLESION": d["NEWLES"], "OVERALLRESP": d["OVRLRESP"]})


def adjudication(w: World) -> pd.DataFrame:
    """Subjects whose readers disagree on the first progression time point or on whether PR/CR was seen."""
    rng = rng_for(w.seed, "adjudication")
    r = w.resp[w.resp["reader"].isin(BICR)]
    first_pd = r[r["OVRLRESP"] == "PD"].groupby(["sidx", "reader"])["tp"].min().unstack().reindex(columns=BICR)
    resp = r[r["OVRLRESP"].isin(["PR", "CR"])].groupby(["sidx", "reader"]).size().unstack().reindex(columns=BICR)
    subs = np.unique(r["sidx"])
    fp = first_pd.reindex(subs).fillna(-1)
    rs = resp.reindex(subs).fillna(0) > 0
    pd_diff = (fp[BICR[0]] != fp[BICR[1]]).to_numpy()
    bor_diff = (rs[BICR[0]] != rs[BICR[1]]).to_numpy()
    adj = pd_diff | bor_diff
    last = w.tps.groupby("sidx")["date"].max().reindex(subs).to_numpy()
    sel = subs[adj]
    return pd.DataFrame({"sidx": sel, "ADJUDICATOR": "ADJUDICATOR 1",
                         "ACCEPTEDREADER": np.where(rng.random(len(sel)) < 0.5, BICR[0], BICR[1]),
                         "ADJDATE": iso_date(last[adj] + rng.integers(14, 61, len(sel))).to_numpy(),
                         "ADJREASON": np.where(pd_diff[adj], "DATE OF PROGRESSION", "BEST OVERALL RESPONSE")})
