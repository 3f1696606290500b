"""The simulated study world: visit calendar, tumour reads, and each subject's end of treatment and study.

Generation is vectorized over subjects: the calendar is an (subjects x visits) array built visit by
visit (at most ~20 steps), then exploded to long frames with numpy masks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import SimConfig
from .fmt import rng_for
from .subjects import subject_table
from .tumour import reads

FLAGS = ["sv", "ex", "ecog", "imaging", "lab", "qs", "diary"]


@dataclass
class World:
    """Everything the form builders need; dates are day numbers."""

    cfg: SimConfig
    seed: int
    subj: pd.DataFrame       # all screened subjects (sf = screen failure) with end-of-study columns for enrolled
    visits: pd.DataFrame     # attended visits of enrolled subjects (incl. unscheduled and follow-up)
    tl: pd.DataFrame         # reader target-lesion rows (kept time points only)
    ntl: pd.DataFrame
    nl: pd.DataFrame
    resp: pd.DataFrame       # reader time-point responses (post-baseline)
    tps: pd.DataFrame        # imaging time points kept (sidx, tp, folder, date, week)


def _calendar(cfg: SimConfig, subj: pd.DataFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Visit dates (n x K) with the +/- window chain, then missed-visit mask and out-of-window shifts."""
    visits = cfg.schedule.visits
    k_all = len(visits)
    n = len(subj)
    p = np.array([v.day for v in visits], dtype="int64")
    d1 = subj["d1"].to_numpy()
    w = cfg.design.visit_window_days
    dates = np.zeros((n, k_all), dtype="int64")
    dates[:, 0] = subj["scr"].to_numpy()
    dates[:, 1] = d1
    for k in range(2, k_all):  # a loop over visits, vectorized over subjects
        cand = dates[:, k - 1] + (p[k] - p[k - 1]) + rng.integers(-w, w + 1, n)
        planned = d1 + p[k] - 1
        dates[:, k] = np.clip(cand, planned - w, planned + w)
    mess = cfg.messiness
    eot = np.array([v.eot is not None for v in visits])
    missed = rng.random((n, k_all)) < mess.missed_visits
    missed[:, :2] = False
    missed[:, eot] = False
    oow = (rng.random((n, k_all)) < mess.out_of_window) & ~missed
    oow[:, :2] = False
    shift = rng.integers(w + 1, w + 8, (n, k_all))
    dates = dates + np.where(oow, shift, 0)
    return dates, missed, oow


def build_world(cfg: SimConfig, n_enrolled: int, seed: int) -> World:
    """Simulate subjects, calendar and tumour reads, then cut each subject's data at their end of treatment."""
    rng = rng_for(seed, "calendar")
    allsubj = subject_table(cfg, n_enrolled, seed)
    subj = allsubj[~allsubj["sf"]].reset_index(drop=True)
    n = len(subj)
    visits = cfg.schedule.visits
    k_all = len(visits)
    dates, missed, oow = _calendar(cfg, subj, rng)
    d1 = subj["d1"].to_numpy()
    k_main = next(i for i, v in enumerate(visits) if v.eot == "main")
    k_coh = next(i for i, v in enumerate(visits) if v.eot == "cohort")
    cohort_visit = np.array([v.cohort for v in visits])

    # one unscheduled visit (imaging, labs, ECOG) for some subjects, between two main-period visits
    uns = rng.random(n) < cfg.messiness.unscheduled_visits
    anchor = rng.integers(2, k_main, n)
    uns_date = dates[np.arange(n), anchor] + rng.integers(7, 15, n)

    # imaging time points (all planned ones; cut later at the end of treatment)
    img = np.array(["imaging" in v.assessments for v in visits])
    ii, kk = np.nonzero(img[None, :] & ~missed)
    tps = pd.DataFrame({"sidx": subj["sidx"].to_numpy()[ii], "k": kk.astype("float64"), "date": dates[ii, kk],
                        "folder": np.array([v.folder for v in visits], dtype=object)[kk]})
    ui = np.nonzero(uns)[0]
    tps_u = pd.DataFrame({"sidx": subj["sidx"].to_numpy()[ui], "k": anchor[ui] + 0.5, "date": uns_date[ui],
                          "folder": f"{cfg.schedule.unscheduled_prefix} 1"})
    tps = pd.concat([tps, tps_u], ignore_index=True).sort_values(["sidx", "date", "k"], kind="stable")
    tps["tp"] = tps.groupby("sidx").cumcount()
    pos = pd.Series(np.arange(n), index=subj["sidx"].to_numpy())
    tps["week"] = np.where(tps["tp"] > 0, (tps["date"] - d1[pos[tps["sidx"]].to_numpy()] + 1) / 7.0, 0.0)
    r = reads(cfg, subj, tps, seed)

    # investigator's first progression -> end of treatment at that visit
    inv = r["resp"][(r["resp"]["reader"] == "INV") & (r["resp"]["OVRLRESP"] == "PD")]
    inv = inv.merge(tps[["sidx", "tp", "date"]], on=["sidx", "tp"])
    big = np.iinfo("int64").max // 4
    pd_date = inv.groupby("sidx")["date"].min().reindex(subj["sidx"]).fillna(big).to_numpy(dtype="int64")

    attended = ~missed & ~cohort_visit[None, :]
    def last_before(limit: np.ndarray) -> np.ndarray:
        cand = np.where(attended & (dates < limit[:, None]), dates, -1)
        return np.maximum(cand.max(axis=1), d1)

    drop_date = d1 + np.floor(np.minimum(subj["dropout_week"].to_numpy(), 10_000) * 7).astype("int64")
    death0_date = d1 + np.floor(np.minimum(subj["death_nopd_week"].to_numpy(), 10_000) * 7).astype("int64")
    main_eot = dates[:, k_main]
    # the cohort: a fixed share of the subjects still on treatment at the main end-of-treatment visit
    eligible = (pd_date > main_eot) & (drop_date > main_eot) & (death0_date > main_eot)
    n_coh = int(round(cfg.design.cohort_fraction * eligible.sum()))
    u = np.where(eligible, subj["u_cohort"].to_numpy(), np.inf)
    cohort = np.zeros(n, dtype=bool)
    cohort[np.argsort(u, kind="stable")[:n_coh]] = True
    attended = ~missed & (~cohort_visit[None, :] | cohort[:, None])
    cap = np.where(cohort, dates[:, k_coh], main_eot)
    cands = np.stack([
        pd_date,
        np.where(death0_date <= cap, last_before(death0_date), big),
        np.where(drop_date <= cap, last_before(drop_date), big),
        cap,
    ], axis=1)
    why = cands.argmin(axis=1)  # ties: progression, then death, then dropout, then completion
    end_visit = cands[np.arange(n), why]
    eot_reason = np.array(["Progressive disease", "Death", "", "Completed"], dtype=object)[why]
    eot_reason = np.where(why == 2, subj["dropout_reason"].to_numpy(), eot_reason)
    death = np.full(n, np.nan)
    death = np.where(why == 1, death0_date, death)
    dies_pd = (why == 0) & (subj["u_death_pd"].to_numpy() < cfg.disease.death_after_pd)
    death = np.where(dies_pd, end_visit + subj["death_pd_delay"].to_numpy(), death)
    fu_cfg = cfg.schedule.follow_up
    fu = end_visit + fu_cfg.days_after_eot + rng.integers(-fu_cfg.window_days, fu_cfg.window_days + 1, n)
    no_fu = np.isin(eot_reason, ["Lost to follow-up", "Withdrawal by subject", "Death"]) | (death <= fu)
    fu = np.where(no_fu, np.nan, fu.astype("float64"))
    eos = np.where(~np.isnan(death), death, np.where(np.isnan(fu), end_visit, fu))
    eos_reason = np.where(~np.isnan(death), "Death",
                          np.where(np.isin(eot_reason, ["Lost to follow-up", "Withdrawal by subject"]), eot_reason, "Completed"))
    eot_date = np.where(why == 1, death0_date, end_visit)
    subj = subj.assign(cohort=cohort, end_visit=end_visit, eot_reason=eot_reason, eot_date=eot_date,
                       death=death, death_cause=np.where(why == 1, "Adverse event", np.where(dies_pd, "Progressive disease", "")),
                       fu=fu, eos=eos, eos_reason=eos_reason, pd_date=np.where(pd_date < big, pd_date, np.nan))

    # attended visit rows, cut at the end of treatment
    keep = attended & (dates <= end_visit[:, None])
    ii, kk = np.nonzero(keep)
    flags = {f: np.array([f in v.assessments for v in visits]) for f in FLAGS}
    vis = pd.DataFrame({"sidx": subj["sidx"].to_numpy()[ii], "k": kk.astype("float64"), "date": dates[ii, kk],
                        "folder": np.array([v.folder for v in visits], dtype=object)[kk], "oow": oow[ii, kk]})
    for f in FLAGS:
        vis[f] = flags[f][kk]
    coh_ex = np.array(["ex" in v.cohort_assessments for v in visits])[kk] & cohort[ii]
    vis["ex"] = vis["ex"].to_numpy() | coh_ex
    at_pd = (why[ii] == 0) & (dates[ii, kk] == end_visit[ii])
    vis["ex"] = vis["ex"].to_numpy() & ~at_pd  # no injection at the visit that shows progression
    vis["cohort_period"] = cohort[ii] & (kk >= k_main)
    ukeep = uns & (uns_date <= end_visit)
    ui = np.nonzero(ukeep)[0]
    vu = pd.DataFrame({"sidx": subj["sidx"].to_numpy()[ui], "k": anchor[ui] + 0.5, "date": uns_date[ui],
                       "folder": f"{cfg.schedule.unscheduled_prefix} 1", "oow": False})
    for f in FLAGS:
        vu[f] = f in ("sv", "imaging", "lab", "ecog")
    vu["cohort_period"] = False
    fi = np.nonzero(~np.isnan(fu))[0]
    vf = pd.DataFrame({"sidx": subj["sidx"].to_numpy()[fi], "k": float(k_all), "date": fu[fi].astype("int64"),
                       "folder": fu_cfg.folder, "oow": False})
    for f in FLAGS:
        vf[f] = f == "sv"
    vf["cohort_period"] = False
    vis = pd.concat([vis, vu, vf], ignore_index=True).sort_values(["sidx", "date", "k"], kind="stable").reset_index(drop=True)
    vis["week"] = (vis["date"].to_numpy() - d1[pos[vis["sidx"]].to_numpy()] + 1) / 7.0

    # imaging kept up to the end of treatment
    tps = tps.merge(subj[["sidx", "end_visit"]], on="sidx")
    tps = tps[tps["date"] <= tps["end_visit"]].drop(columns="end_visit").reset_index(drop=True)
    kept = tps[["sidx", "tp"]]
    cut = {name: r[name].merge(kept, on=["sidx", "tp"]) for name in ("tl", "ntl", "nl", "resp")}
    allsubj = allsubj.merge(subj[["sidx", "cohort", "end_visit", "eot_reason", "eot_date", "death", "death_cause",
                                  "fu", "eos", "eos_reason", "pd_date"]], on="sidx", how="left")
    return World(cfg=cfg, seed=seed, subj=allsubj, visits=vis, tps=tps, **cut)
