"""Subject-level latent state: site, identifiers, key dates, demographics, tumour biology, fate."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import SimConfig
from .fmt import day_number, pick, rng_for


def subject_table(cfg: SimConfig, n_enrolled: int, seed: int) -> pd.DataFrame:
    """One row per screened subject (enrolled first in consent order, screen failures flagged `sf`).

    All dates are day numbers (days since 1970-01-01); weeks are relative to Day 1.
    """
    rng = rng_for(seed, "subjects")
    st, ds = cfg.study, cfg.disease
    n_sf = int(round(n_enrolled * st.screen_fail_ratio))
    m = n_enrolled + n_sf
    sites = cfg.sites.sites
    site_idx = rng.choice(len(sites), size=m, p=np.array([s.weight for s in sites]) / sum(s.weight for s in sites))
    consent = day_number(st.enrolment_start) + np.sort(rng.integers(0, st.enrolment_days, size=m))
    consent[0] = day_number(st.enrolment_start)  # first subject consents on the enrolment start date
    sf = np.zeros(m, dtype=bool)
    if n_sf:
        sf[rng.choice(m, size=n_sf, replace=False)] = True
    df = pd.DataFrame({"site_idx": site_idx, "consent": consent, "sf": sf})
    df["SITEID"] = np.array([s.siteid for s in sites], dtype=object)[site_idx]
    seq = df.groupby("site_idx", sort=False).cumcount().to_numpy() + 1
    width = max(3, len(str(int(seq.max()))))
    df["SUBJID"] = df["SITEID"] + "-" + pd.Series(seq).astype(str).str.zfill(width)
    df["lab_profile"] = np.array([s.lab_profile for s in sites], dtype=object)[site_idx]
    df["range_jitter"] = np.array([s.range_jitter for s in sites])[site_idx]
    df["scr"] = consent + rng.integers(0, 4, size=m)
    df["d1"] = df["scr"].to_numpy() + rng.integers(7, st.screening_max_days + 1, size=m)
    age = rng.integers(st.age_range[0], st.age_range[1] + 1, size=m)
    df["age"] = age
    df["brth"] = consent - np.floor(age * 365.25).astype("int64") - rng.integers(1, 365, size=m)
    df["sex"] = np.where(rng.random(m) < st.male_fraction, "Male", "Female")
    df["primsite"] = pick(rng, list(ds.primsite_probs), m, list(ds.primsite_probs.values()))
    g2 = rng.random(m) < ds.g2_fraction
    df["grade"] = np.where(g2, "G2", "G1")
    df["ki67"] = np.where(g2, rng.uniform(3.0, 20.0, m), rng.uniform(0.5, 2.9, m)).round(1)
    df["functioning"] = rng.random(m) < ds.functioning_fraction
    df["diag"] = consent - rng.integers(30, 2500, size=m)
    # latent tumour behaviour
    df["pr"] = rng.random(m) < ds.pr_fraction
    df["drift"] = rng.normal(0.0, ds.sd_weekly_drift_sd, m)
    hazard = ds.pd_weekly_hazard * np.where(g2, ds.pd_hazard_g2_multiplier, 1.0)
    df["pd_week"] = rng.exponential(1.0, m) / np.maximum(hazard, 1e-12)
    df["pd_type"] = pick(rng, list(ds.pd_type_probs), m, list(ds.pd_type_probs.values()))
    df["pd_new_too"] = rng.random(m) < 0.3  # target progression that also shows a new lesion
    df["mri"] = rng.random(m) < ds.mri_fraction
    # fate other than progression: earliest competing dropout
    reasons = list(ds.dropout_weekly_hazard)
    if reasons:
        rates = np.array([ds.dropout_weekly_hazard[r] for r in reasons])
        times = rng.exponential(1.0, (m, len(reasons))) / np.maximum(rates, 1e-12)
        first = times.argmin(axis=1)
        df["dropout_week"] = times[np.arange(m), first]
        df["dropout_reason"] = np.array(reasons, dtype=object)[first]
    else:
        df["dropout_week"] = np.inf
        df["dropout_reason"] = ""
    death_nopd = rng.random(m) < ds.death_without_pd
    df["death_nopd_week"] = np.where(death_nopd, rng.uniform(2.0, 70.0, m), np.inf)
    df["u_cohort"] = rng.random(m)
    df["partner"] = rng.random(m) < cfg.design.partner_fraction
    df["u_death_pd"] = rng.random(m)
    df["death_pd_delay"] = rng.integers(ds.death_after_pd_days[0], ds.death_after_pd_days[1] + 1, size=m)
    df["u_subs"] = rng.random(m)
    df["qol_base"] = rng.normal(0.6, 0.45, m)
    df["ecog_base"] = np.where(rng.random(m) < 0.62, 0, 1)
    # enrolled subjects first (their order is the consent order), then screen failures
    df = df.sort_values(["sf", "consent", "SUBJID"], kind="stable").reset_index(drop=True)
    df["sidx"] = np.arange(m)
    return df
