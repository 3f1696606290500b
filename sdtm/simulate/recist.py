"""A small, independent RECIST 1.1 time-point response engine for the simulator's readers.

Deliberately separate from adam/ (the code under test): the simulator's readers apply the rules of
Eisenhauer et al. 2009 to their own measurements, so recorded responses follow recorded diameters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KEYS = ["sidx", "reader", "tp"]


def target_response(tl: pd.DataFrame) -> pd.DataFrame:
    """TRGRESP per (sidx, reader, tp) from target rows with columns KEYS + meas (NaN = not evaluable), nodal.

    tp 0 is baseline. PD: sum >= 1.2 x smallest earlier sum (baseline included) and >= 5 mm above it;
    CR: every non-nodal target 0 mm and every nodal < 10 mm; PR: sum <= 0.7 x baseline; NE: a target
    not evaluable (unless PD is met anyway); otherwise SD.
    """
    t = tl[KEYS + ["meas", "nodal"]].copy()
    t["ne"] = t["meas"].isna()
    t["notcr"] = np.where(t["nodal"], t["meas"].fillna(99) >= 10, t["meas"].fillna(99) > 0)
    g = t.groupby(KEYS, sort=True).agg(total=("meas", "sum"), ne=("ne", "any"), notcr=("notcr", "any")).reset_index()
    g.loc[g["ne"], "total_ok"] = np.nan
    g.loc[~g["ne"], "total_ok"] = g.loc[~g["ne"], "total"]
    base = g[g["tp"] == 0].set_index(["sidx", "reader"])["total"]
    g["base"] = pd.MultiIndex.from_frame(g[["sidx", "reader"]]).map(base).to_numpy(dtype="float64")
    # nadir before this time point: running minimum of evaluable sums, shifted by one
    g["nadir"] = g.groupby(["sidx", "reader"], sort=False)["total_ok"].cummin()
    g["nadir"] = g.groupby(["sidx", "reader"], sort=False)["nadir"].shift(1)
    g["nadir"] = g.groupby(["sidx", "reader"], sort=False)["nadir"].ffill()
    pd_met = (g["total"] >= 1.2 * g["nadir"]) & (g["total"] - g["nadir"] >= 5)
    resp = np.select(
        [pd_met, g["ne"], ~g["notcr"], g["total"] <= 0.7 * g["base"]],
        ["PD", "NE", "CR", "PR"],
        default="SD",
    )
    g["TRGRESP"] = resp
    return g[KEYS + ["TRGRESP", "total"]]


def nontarget_response(ntl: pd.DataFrame) -> pd.DataFrame:
    """NTRGRESP per (sidx, reader, tp) from rows with KEYS + status (PRESENT/ABSENT/UNEQUIVOCAL PROGRESSION/NOT EVALUABLE)."""
    s = ntl[KEYS].copy()
    s["pd"] = ntl["status"].eq("UNEQUIVOCAL PROGRESSION").to_numpy()
    s["ne"] = ntl["status"].eq("NOT EVALUABLE").to_numpy()
    s["present"] = ~ntl["status"].eq("ABSENT").to_numpy()
    g = s.groupby(KEYS, sort=True).agg(pd=("pd", "any"), ne=("ne", "any"), present=("present", "any")).reset_index()
    g["NTRGRESP"] = np.select([g["pd"], g["ne"], ~g["present"]], ["PD", "NE", "CR"], default="NON-CR/NON-PD")
    return g[KEYS + ["NTRGRESP"]]


def overall_response(trg: pd.Series, ntrg: pd.Series, new: pd.Series) -> np.ndarray:
    """RECIST 1.1 Table 1 (targets +/- non-targets) and the non-target-only table; '' = not applicable."""
    trg = trg.fillna("").to_numpy(dtype=object)
    ntrg = ntrg.fillna("").to_numpy(dtype=object)
    newl = new.fillna("N").to_numpy(dtype=object) == "Y"
    has_t = trg != ""
    return np.select(
        [
            newl | (trg == "PD") | (ntrg == "PD"),
            has_t & (trg == "CR") & ((ntrg == "CR") | (ntrg == "")),
            has_t & (trg == "CR"),
            has_t & (trg == "PR"),
            has_t & (trg == "SD"),
            has_t,  # NE targets, no PD anywhere
            ntrg == "CR",
            ntrg == "NON-CR/NON-PD",
        ],
        ["PD", "CR", "PR", "PR", "SD", "NE", "CR", "NON-CR/NON-PD"],
        default="NE",
    )


def timepoint_responses(tl: pd.DataFrame, ntl: pd.DataFrame, nl: pd.DataFrame, tps: pd.DataFrame) -> pd.DataFrame:
    """All four responses for each post-baseline (sidx, reader, tp) row of `tps`.

    nl rows carry KEYS + status (EQUIVOCAL/UNEQUIVOCAL); only unequivocal new lesions mean PD.
    """
    out = tps[KEYS].copy()
    trg = target_response(tl)
    ntrg = nontarget_response(ntl) if len(ntl) else pd.DataFrame(columns=KEYS + ["NTRGRESP"])
    out = out.merge(trg, on=KEYS, how="left").merge(ntrg, on=KEYS, how="left")
    unq = nl.loc[nl["status"].eq("UNEQUIVOCAL"), KEYS].drop_duplicates()
    unq["NEWLES"] = "Y"
    out = out.merge(unq, on=KEYS, how="left")
    out["NEWLES"] = out["NEWLES"].fillna("N")
    out["TRGRESP"] = out["TRGRESP"].fillna("")
    out["NTRGRESP"] = out["NTRGRESP"].fillna("")
    out["OVRLRESP"] = overall_response(out["TRGRESP"], out["NTRGRESP"], out["NEWLES"])
    return out[out["tp"] > 0].reset_index(drop=True)
