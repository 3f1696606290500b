"""Tumour model: baseline lesions, latent size trajectory, and three readers' measurements and responses.

Readers: INV (investigator), RADIOLOGIST 1, RADIOLOGIST 2 (BICR). Each chooses targets by RECIST 1.1
(measurable, at most 5, at most 2 per organ, largest first; a BICR reader sometimes prefers other
lesions), measures with their own noise, and applies the simulator's own RECIST engine (recist.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import SimConfig
from .fmt import pick, rng_for
from .recist import timepoint_responses

READERS = ["INV", "RADIOLOGIST 1", "RADIOLOGIST 2"]


def baseline_lesions(cfg: SimConfig, subj: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Lesions present at baseline, one row per (sidx, lesion): organ, nodal, true baseline size (mm)."""
    rng = rng_for(seed, "lesions")
    ds = cfg.disease
    n = len(subj)
    counts = rng.integers(ds.lesions_min, ds.lesions_max + 1, size=n)
    sidx = np.repeat(subj["sidx"].to_numpy(), counts)
    k = len(sidx)
    organ = pick(rng, list(ds.lesion_organs), k, list(ds.lesion_organs.values()))
    first = np.r_[0, np.cumsum(counts)[:-1]]
    organ[first] = "LIVER"  # every enrolled subject has measurable disease (inclusion criterion)
    nodal = organ == "LYMPH NODE"
    size = np.where(
        nodal,
        np.exp(rng.normal(ds.node_short_axis_logmean, 0.25, k)),
        np.exp(rng.normal(ds.baseline_diam_logmean, ds.baseline_diam_logsd, k)),
    )
    size = np.where(nodal, np.clip(size, 10.5, 60.0), np.clip(size, 6.0, 120.0))
    size[first] = np.maximum(size[first], 14.0)
    lid = np.arange(k) - np.repeat(first, counts)
    return pd.DataFrame({
        "sidx": sidx, "lid": lid, "organ": organ, "nodal": nodal, "base": size,
        "h": np.clip(rng.normal(1.0, 0.25, k), 0.3, 1.8),
        "measurable": np.where(nodal, size >= 15.0, (size >= 10.0) & (organ != "BONE")),
    })


def select_targets(cfg: SimConfig, les: pd.DataFrame, subj: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Per reader and lesion: role TARGET / NON-TARGET and the reader's lesion id (T01.., NT01..)."""
    rng = rng_for(seed, "selection")
    ds = cfg.disease
    parts = []
    differs = rng.random((len(subj), len(READERS))) < ds.reader_selection_diff
    differs[:, 0] = False
    diff_by_sidx = pd.DataFrame(differs, index=subj["sidx"].to_numpy())
    for r, reader in enumerate(READERS):
        d = les.copy()
        d["reader"] = reader
        jitter = rng.normal(0.0, 0.6, len(d))
        use = diff_by_sidx[r].reindex(d["sidx"]).to_numpy()
        d["prio"] = np.log(d["base"]) + np.where(use, jitter, 0.0)
        d = d.sort_values(["sidx", "prio", "lid"], ascending=[True, False, True], kind="stable")
        elig = d["measurable"].to_numpy()
        organ_rank = d.assign(e=elig).groupby(["sidx", "organ", "e"], sort=False).cumcount().to_numpy()
        cand = elig & (organ_rank < ds.max_targets_per_organ)
        cand_rank = d.assign(c=cand).groupby(["sidx", "c"], sort=False).cumcount().to_numpy()
        d["role"] = np.where(cand & (cand_rank < ds.max_targets), "TARGET", "NON-TARGET")
        role_rank = d.groupby(["sidx", "role"], sort=False).cumcount().to_numpy() + 1
        d["lesid"] = np.where(d["role"] == "TARGET", "T", "NT") + pd.Series(role_rank).astype(str).str.zfill(2).to_numpy()
        parts.append(d.drop(columns=["prio"]))
    return pd.concat(parts, ignore_index=True)


def latent_log_size(subj_rows: pd.DataFrame, weeks: np.ndarray, cfg: SimConfig) -> np.ndarray:
    """Subject-level log size ratio at `weeks` (relative to baseline), before progression effects."""
    ds = cfg.disease
    t = np.maximum(weeks, 0.0)
    shrink = -np.minimum(ds.pr_weekly_shrink * t, -np.log(1.0 - ds.pr_max_shrink))
    return np.where(subj_rows["pr"].to_numpy(), shrink, subj_rows["drift"].to_numpy() * t)


def reads(cfg: SimConfig, subj: pd.DataFrame, tps: pd.DataFrame, seed: int) -> dict[str, pd.DataFrame]:
    """Lesion rows and responses for every reader at every imaging time point in `tps`.

    tps: sidx, tp (0 = baseline), week (relative to Day 1). Returns frames tl, ntl, nl (per reader) and
    resp (per reader and post-baseline time point).
    """
    rng = rng_for(seed, "reads")
    ds = cfg.disease
    les = baseline_lesions(cfg, subj, seed)
    sel = select_targets(cfg, les, subj, seed)
    s = subj.set_index("sidx")
    # non-target progression needs a non-target lesion the investigator follows; otherwise a new lesion shows it
    inv_nt = sel[(sel["reader"] == "INV") & (sel["role"] == "NON-TARGET")]["sidx"].unique()
    pd_type = s["pd_type"].copy()
    pd_type[(pd_type == "nontarget") & ~pd_type.index.isin(inv_nt)] = "new"

    x = sel.merge(tps[["sidx", "tp", "week"]], on="sidx", how="inner")
    sr = s.loc[x["sidx"]]
    week = x["week"].to_numpy(dtype="float64")
    after_pd = (x["tp"].to_numpy() > 0) & (week >= sr["pd_week"].to_numpy())
    ptype = pd_type.reindex(x["sidx"]).to_numpy()
    logs = latent_log_size(sr, week, cfg) * x["h"].to_numpy()
    grow = after_pd & (ptype == "target")
    logs = logs + np.where(grow, np.log(ds.target_growth_at_pd) + 0.01 * (week - sr["pd_week"].to_numpy()), 0.0)
    true = x["base"].to_numpy() * np.exp(logs)
    meas = np.rint(true * np.exp(rng.normal(0.0, ds.reader_noise_sd, len(x))))
    meas = np.maximum(meas, 1.0)
    x["tsm"] = (~x["nodal"].to_numpy()) & (meas < 5)
    meas = np.where(x["tsm"], 5.0, meas)  # RECIST: too small to measure counts as 5 mm
    ne = (x["tp"].to_numpy() > 0) & (rng.random(len(x)) < ds.lesion_not_evaluable)
    x["meas"] = np.where(ne, np.nan, meas)
    x["tstatus"] = np.select([ne, x["tsm"].to_numpy()], ["NOT EVALUABLE", "TOO SMALL TO MEASURE"], default="")
    tl = x[x["role"] == "TARGET"].copy()

    nt = x[x["role"] == "NON-TARGET"].copy()
    # the first non-target lesion of each reader carries unequivocal progression once it happens
    nt_after = after_pd[(x["role"] == "NON-TARGET").to_numpy()] & (ptype[(x["role"] == "NON-TARGET").to_numpy()] == "nontarget")
    first_nt = nt["lesid"].eq("NT01").to_numpy()
    seen = rng.random(len(nt)) >= ds.reader_miss_new_lesion
    nt_ne = (nt["tp"].to_numpy() > 0) & (rng.random(len(nt)) < ds.lesion_not_evaluable)
    gone = (nt["tp"].to_numpy() > 0) & (true[(x["role"] == "NON-TARGET").to_numpy()] < 4.0)
    nt["status"] = np.select(
        [nt_after & first_nt & seen, nt_ne, gone], ["UNEQUIVOCAL PROGRESSION", "NOT EVALUABLE", "ABSENT"], default="PRESENT"
    )

    # new lesions: one unequivocal lesion after progression (type new, or some target progressions),
    # seen by each reader with probability 1 - reader_miss_new_lesion; equivocal findings at random
    tpr = tps[["sidx", "tp", "week"]].merge(pd.DataFrame({"reader": READERS}), how="cross")
    tsr = s.loc[tpr["sidx"]]
    tw = tpr["week"].to_numpy(dtype="float64")
    tptype = pd_type.reindex(tpr["sidx"]).to_numpy()
    has_new = (tpr["tp"].to_numpy() > 0) & (tw >= tsr["pd_week"].to_numpy()) & (
        (tptype == "new") | ((tptype == "target") & tsr["pd_new_too"].to_numpy())
    )
    see = rng.random(len(tpr)) >= ds.reader_miss_new_lesion
    organ_new = np.where(rng.random(len(tpr)) < 0.7, "LIVER", pick(rng, ["LYMPH NODE", "BONE", "LUNG", "PERITONEUM"], len(tpr)))
    unq = tpr[has_new & see].assign(status="UNEQUIVOCAL", organ=organ_new[has_new & see], lesid="NEW01", nodal=False)
    eq_mask = (tpr["tp"].to_numpy() > 0) & (rng.random(len(tpr)) < ds.equivocal_new_lesion)
    eq = tpr[eq_mask].assign(status="EQUIVOCAL", organ=organ_new[eq_mask], nodal=False)
    eq["lesid"] = "NEW" + (eq.groupby(["sidx", "reader"]).cumcount() + 2).astype(str).str.zfill(2)
    nl = pd.concat([unq, eq], ignore_index=True)
    nl["nodal"] = nl["organ"].eq("LYMPH NODE")
    # a subject's real new lesion keeps its location across time points and readers
    loc = nl[nl["lesid"] == "NEW01"].groupby("sidx")["organ"].first()
    m01 = nl["lesid"] == "NEW01"
    nl.loc[m01, "organ"] = loc.reindex(nl.loc[m01, "sidx"]).to_numpy()
    nl["nodal"] = nl["organ"].eq("LYMPH NODE")

    resp = timepoint_responses(tl, nt, nl, tpr)
    # the investigator occasionally records a response the measurements do not support (never PD)
    inv = (resp["reader"] == "INV").to_numpy()
    flip = inv & (rng.random(len(resp)) < ds.investigator_override) & (resp["OVRLRESP"] != "PD").to_numpy()
    alt = np.where(resp["OVRLRESP"].to_numpy() == "SD", np.where(rng.random(len(resp)) < 0.5, "PR", "NE"), "SD")
    resp["OVRLRESP"] = np.where(flip, alt, resp["OVRLRESP"].to_numpy())
    resp["override"] = flip
    return {"tl": tl, "ntl": nt, "nl": nl, "resp": resp, "lesions": les}
