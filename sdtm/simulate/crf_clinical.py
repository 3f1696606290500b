"""Clinical forms: ae (MedDRA-coded), lb (site units and ranges), qlqc30, ginet21, diary."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .crf_admin import fatal_term_index
from .fmt import edc_date, hhmm, integer, num, rng_for
from .messiness import mark
from .model import World

_NOTDONE_REASONS = np.array(["Sample haemolysed", "Sample not collected", "Insufficient sample"], dtype=object)


def _enrolled(w: World) -> pd.DataFrame:
    return w.subj[~w.subj["sf"]].reset_index(drop=True)


def _terms_table(terms) -> pd.DataFrame:
    return pd.DataFrame([{
        "pt": t.pt, "ptcd": t.ptcd, "llt": t.llt or t.pt, "lltcd": t.lltcd or t.ptcd, "hlt": t.hlt, "hltcd": t.hltcd,
        "hlgt": t.hlgt, "hlgtcd": t.hlgtcd, "soc": t.soc, "soccd": t.soccd, "zh": t.zh, "nverb": len(t.verbatim),
        "rate": t.rate, "serious": t.serious, "related": t.related, "early": t.early, "glucose_link": t.glucose_link,
    } for t in terms])


def ae_events(w: World) -> pd.DataFrame:
    """Adverse events as values (day numbers, term index, grade ...), before text formatting."""
    rng = rng_for(w.seed, "ae")
    s = _enrolled(w)
    terms = w.cfg.meddra.terms
    tt = _terms_table(terms)
    n, k = len(s), len(terms)
    d1 = s["d1"].to_numpy()
    win_end = np.minimum(s["eot_date"].to_numpy() + 28, s["eos"].to_numpy()).astype("int64")
    expo = np.clip((win_end - d1) / 336.0, 0.05, 1.5)
    p = 1.0 - (1.0 - tt["rate"].to_numpy()[None, :]) ** expo[:, None]
    ii, ti = np.nonzero(rng.random((n, k)) < p)
    m = len(ii)
    span = np.maximum(win_end[ii] - d1[ii], 0)
    early = tt["early"].to_numpy()[ti]
    start = d1[ii] + np.where(early, np.minimum(rng.exponential(25.0, m), span), rng.random(m) * span).astype("int64")
    grades = np.array([t.grades for t in terms])[ti]
    grade = 1 + (rng.random(m)[:, None] > np.cumsum(grades, axis=1)).sum(axis=1)
    ev = pd.DataFrame({"sidx": s["sidx"].to_numpy()[ii], "ti": ti, "fatal": False, "start": start,
                       "dur": 1 + rng.exponential(12.0, m).astype("int64") * np.where(grade >= 3, 2, 1),
                       "grade": np.minimum(grade, 4), "serious": rng.random(m) < tt["serious"].to_numpy()[ti],
                       "related": rng.random(m) < tt["related"].to_numpy()[ti], "acn": "Dose not changed",
                       "verb": (rng.random(m) * tt["nverb"].to_numpy()[ti]).astype("int64")})
    # the adverse event behind an AE discontinuation
    a = s[s["eot_reason"] == "Adverse event"]
    if len(a):
        w_ = tt["rate"].to_numpy() / tt["rate"].sum()
        ta = rng.choice(k, size=len(a), p=w_)
        st = np.maximum(a["eot_date"].to_numpy() - rng.integers(0, 15, len(a)), a["d1"].to_numpy())
        ev = pd.concat([ev, pd.DataFrame({
            "sidx": a["sidx"].to_numpy(), "ti": ta, "fatal": False, "start": st, "dur": 10 + rng.integers(0, 40, len(a)),
            "grade": 3, "serious": rng.random(len(a)) < 0.3, "related": rng.random(len(a)) < 0.6,
            "acn": "Drug withdrawn", "verb": np.zeros(len(a), dtype="int64")})], ignore_index=True)
    # fatal adverse events (non-progression deaths)
    f = s[s["death_cause"] == "Adverse event"]
    if len(f):
        death = f["death"].to_numpy().astype("int64")
        st = np.maximum(death - rng.integers(0, 7, len(f)), f["d1"].to_numpy())
        ev = pd.concat([ev, pd.DataFrame({
            "sidx": f["sidx"].to_numpy(), "ti": fatal_term_index(w, f["sidx"].to_numpy()), "fatal": True, "start": st,
            "dur": death - st, "grade": 5, "serious": True, "related": False, "acn": "Not applicable",
            "verb": np.zeros(len(f), dtype="int64")})], ignore_index=True)
    se = s.set_index("sidx")
    eos = se["eos"].reindex(ev["sidx"]).to_numpy()
    ev["start"] = np.minimum(ev["start"].to_numpy(), eos).astype("int64")
    end = ev["start"].to_numpy() + ev["dur"].to_numpy()
    ev["ongoing"] = (end > eos) & ~ev["fatal"].to_numpy()
    ev["end"] = np.where(ev["ongoing"], np.nan, np.minimum(end, eos))
    after_tx = ev["start"].to_numpy() > se["eot_date"].reindex(ev["sidx"]).to_numpy()
    ev.loc[after_tx & (ev["acn"] == "Dose not changed").to_numpy(), "acn"] = "Not applicable"
    return ev.sort_values(["sidx", "start", "ti"], kind="stable").reset_index(drop=True)


def ae(w: World, ev: pd.DataFrame) -> pd.DataFrame:
    rng = rng_for(w.seed, "ae-text")
    cfg = w.cfg.meddra
    reg, fat = _terms_table(cfg.terms), _terms_table(cfg.fatal_terms)
    fatal = ev["fatal"].to_numpy(dtype=bool)
    cols = ["pt", "ptcd", "llt", "lltcd", "hlt", "hltcd", "hlgt", "hlgtcd", "soc", "soccd", "zh"]
    t = pd.DataFrame(np.where(fatal[:, None], fat[cols].to_numpy(dtype=object)[ev["ti"].to_numpy() % len(fat)],
                              reg[cols].to_numpy(dtype=object)[np.where(fatal, 0, ev["ti"].to_numpy())]), columns=cols)
    verb_all = [list(x.verbatim) for x in cfg.terms]
    fverb = [list(x.verbatim) for x in cfg.fatal_terms]
    flat = np.array([v for vs in verb_all for v in vs], dtype=object)
    offs = np.r_[0, np.cumsum([len(v) for v in verb_all])[:-1]]
    fflat = np.array([v for vs in fverb for v in vs], dtype=object)
    foffs = np.r_[0, np.cumsum([len(v) for v in fverb])[:-1]]
    ti = ev["ti"].to_numpy()
    verbatim = np.where(fatal, fflat[foffs[ti % len(fverb)]], flat[offs[np.where(fatal, 0, ti)] + ev["verb"].to_numpy()])
    yn = lambda b: np.where(b, "Yes", "No")  # noqa: E731
    ser = ev["serious"].to_numpy(dtype=bool)
    hosp = ser & ~fatal & (rng.random(len(ev)) < 0.75)
    mie = ser & ~fatal & ~hosp
    crit = lambda b: np.where(ser, yn(b), "")  # noqa: E731  criteria are asked only for serious events
    rel = ev["related"].to_numpy(dtype=bool)
    ongoing = ev["ongoing"].to_numpy(dtype=bool)
    out_txt = np.where(fatal, "Fatal", np.where(ongoing, "Not recovered/not resolved",
                       np.where(rng.random(len(ev)) < 0.04, "Recovered/resolved with sequelae", "Recovered/resolved")))
    return pd.DataFrame({
        "sidx": ev["sidx"].to_numpy(), "FOLDER": w.cfg.schedule.log_folder, "_k": ev["start"].to_numpy(),
        "AETERM": verbatim, "AELLT": t["llt"].to_numpy(), "AELLTCD": t["lltcd"].astype(str).to_numpy(),
        "AEDECOD": t["pt"].to_numpy(), "AEPTCD": t["ptcd"].astype(str).to_numpy(),
        "AEHLT": t["hlt"].to_numpy(), "AEHLTCD": t["hltcd"].astype(str).to_numpy(),
        "AEHLGT": t["hlgt"].to_numpy(), "AEHLGTCD": t["hlgtcd"].astype(str).to_numpy(),
        "AESOC": t["soc"].to_numpy(), "AESOCCD": t["soccd"].astype(str).to_numpy(),
        "AESTDAT": edc_date(ev["start"]).to_numpy(), "AEENDAT": edc_date(ev["end"]).to_numpy(),
        "AEONGO": yn(ongoing), "AESER": yn(ser), "AESDTH": crit(fatal), "AESLIFE": crit(np.zeros(len(ev), bool)),
        "AESHOSP": crit(hosp), "AESDISAB": crit(np.zeros(len(ev), bool)), "AESCONG": crit(np.zeros(len(ev), bool)),
        "AESMIE": crit(mie), "AETOXGR": ev["grade"].astype(int).astype(str).to_numpy(),
        "AEREL": np.where(rel, np.where(rng.random(len(ev)) < 0.6, "Related", "Possibly related"), "Not related"),
        "AEACN": ev["acn"].to_numpy(), "AEOUT": out_txt, "_zh": t["zh"].to_numpy(),
    })


def _latent_marker(w: World, v: pd.DataFrame) -> np.ndarray:
    """Log tumour burden relative to baseline at each visit (drives CgA / 5-HIAA and symptoms)."""
    s = w.subj.set_index("sidx").reindex(v["sidx"])
    t = np.maximum(v["week"].to_numpy(dtype="float64"), 0.0)
    ds = w.cfg.disease
    shrink = -np.minimum(ds.pr_weekly_shrink * t, -np.log(1.0 - ds.pr_max_shrink))
    base = np.where(s["pr"].to_numpy(dtype=bool), shrink, s["drift"].to_numpy() * t)
    prog = v["date"].to_numpy() >= s["pd_date"].fillna(np.inf).to_numpy()
    return base + np.where(prog, np.log(ds.target_growth_at_pd), 0.0)


def lb(w: World, ev: pd.DataFrame) -> pd.DataFrame:
    rng = rng_for(w.seed, "lb")
    labs, mess = w.cfg.labs, w.cfg.messiness
    v = w.visits[w.visits["lab"]].reset_index(drop=True)
    tests = labs.tests
    nt = len(tests)
    vi = np.repeat(np.arange(len(v)), nt)
    ti = np.tile(np.arange(nt), len(v))
    n = len(vi)
    sidx = v["sidx"].to_numpy()[vi]
    s = w.subj.set_index("sidx").reindex(sidx)
    mean = np.array([t.mean for t in tests])[ti]
    cv = np.array([t.cv for t in tests])[ti]
    vcv = np.array([t.visit_cv for t in tests])[ti]
    # subject effect per (subject, test): drawn on the subject x test grid, then looked up
    subj_ids = np.unique(sidx)
    eff = rng.normal(0.0, 1.0, (len(subj_ids), nt))
    z = eff[np.searchsorted(subj_ids, sidx), ti]
    logv = np.log(mean) + np.sqrt(np.log1p(cv ** 2)) * z + np.sqrt(np.log1p(vcv ** 2)) * rng.normal(0.0, 1.0, n)
    week = v["week"].to_numpy()[vi]
    on_tx = np.clip(week / 12.0, 0.0, 1.0)
    link = np.array([t.disease_link for t in tests])[ti]
    marker = _latent_marker(w, v)[vi]
    func = s["functioning"].to_numpy(dtype=bool)
    logv = logv + link * (marker + np.where(func, np.log(2.5), 0.0) - 0.25 * on_tx)
    logv = logv + np.array([t.treatment_drift for t in tests])[ti] * on_tx
    # subjects with a glucose-type adverse event: higher glucose/HbA1c from its onset
    gl_terms = [i for i, t in enumerate(w.cfg.meddra.terms) if t.glucose_link]
    g = ev[(~ev["fatal"]) & ev["ti"].isin(gl_terms)].groupby("sidx")["start"].min()
    gstart = g.reindex(sidx).fillna(np.inf).to_numpy()
    codes = np.array([t.code for t in tests], dtype=object)[ti]
    after = v["date"].to_numpy()[vi] >= gstart
    logv = logv + np.where(after & (codes == "GLUC"), 0.45, 0.0) + np.where(after & (codes == "HBA1C"), 0.15, 0.0)
    value = np.exp(logv)
    # site units and reference ranges
    central = np.array([t.central for t in tests])[ti]
    prof = np.where(central, w.cfg.sites.central_lab.lab_profile, s["lab_profile"].to_numpy())
    jitter = np.where(central, 1.0, s["range_jitter"].to_numpy())
    unit = np.array([t.unit for t in tests], dtype=object)[ti]
    factor = np.ones(n)
    offset = np.zeros(n)
    dec = np.array([t.decimals for t in tests])[ti]
    for pname, pmap in labs.unit_profiles.items():  # a loop over a handful of unit variants
        for code, uv in pmap.items():
            sel = (prof == pname) & (codes == code)
            unit[sel] = uv.unit
            factor[sel] = uv.factor
            offset[sel] = uv.offset
            if uv.decimals is not None:
                dec[sel] = uv.decimals
    lo = (np.array([t.lo for t in tests])[ti] + offset) * factor * jitter
    hi = (np.array([t.hi for t in tests])[ti] + offset) * factor * jitter
    res = (value + offset) * factor
    oor = rng.random(n) < mess.out_of_range
    res = np.where(oor, hi * rng.uniform(4.2, 8.0, n), res)  # stays >= 4 x the rounded limit
    notdone = rng.random(n) < mess.missing_values
    res = np.where(notdone, np.nan, res)
    site_lab = np.array([x.name + " Clinical Laboratory" for x in w.cfg.sites.sites], dtype=object)[s["site_idx"].to_numpy()]
    return pd.DataFrame({
        "sidx": sidx, "FOLDER": v["folder"].to_numpy()[vi], "_k": v["date"].to_numpy()[vi], "_t": ti,
        "LBDAT": edc_date(v["date"].to_numpy()[vi]).to_numpy(),
        "LBTIM": np.repeat(hhmm(rng.integers(7 * 60, 12 * 60, len(v))).to_numpy(), nt),
        "LBCAT": np.array([t.cat for t in tests], dtype=object)[ti],
        "LBTEST": np.array([t.name for t in tests], dtype=object)[ti],
        "LBORRES": num(res, dec).to_numpy(), "LBORRESU": np.where(notdone, "", unit),
        "LBORNRLO": num(lo, dec).to_numpy(), "LBORNRHI": num(hi, dec).to_numpy(),
        "LBSPEC": np.array([t.spec for t in tests], dtype=object)[ti],
        "LBNAM": np.where(central, w.cfg.sites.central_lab.name, site_lab),
        "LBSTAT": np.where(notdone, "NOT DONE", ""),
        "LBREASND": np.where(notdone, _NOTDONE_REASONS[rng.integers(0, 3, n)], ""),
        mark("out_of_range", "LBORRES"): oor & ~notdone, mark("not_done", "LBSTAT"): notdone,
    })


def _qs(w: World, stream: str, prefix: str, count: int, wide7: int) -> pd.DataFrame:
    rng = rng_for(w.seed, stream)
    q = w.cfg.qol
    v = w.visits[w.visits["qs"]].reset_index(drop=True)
    s = w.subj.set_index("sidx").reindex(v["sidx"])
    prog = v["date"].to_numpy() >= s["pd_date"].fillna(np.inf).to_numpy()
    burden = (s["qol_base"].to_numpy() + q.pd_worsening * prog
              + q.functioning_symptom_shift * s["functioning"].to_numpy(dtype=bool) * (1 - 0.5 * np.clip(v["week"].to_numpy() / 12, 0, 1)))
    offs = rng_for(w.seed, stream + "-items").uniform(-0.6, 0.4, count)
    raw = 1.0 + burden[:, None] + offs[None, :] + rng.normal(0.0, q.item_noise_sd, (len(v), count))
    resp = np.clip(np.rint(raw), 1, 4)
    if wide7:
        g = 6.0 - 1.5 * burden[:, None] + rng.normal(0.0, q.item_noise_sd * 1.5, (len(v), wide7))
        resp[:, count - wide7:] = np.clip(np.rint(g), 1, 7)
    notdone = rng.random(len(v)) < w.cfg.messiness.missing_values
    resp[notdone, :] = np.nan
    out = pd.DataFrame({"sidx": v["sidx"].to_numpy(), "FOLDER": v["folder"].to_numpy(), "_k": v["date"].to_numpy(),
                        "QSDAT": edc_date(v["date"]).to_numpy()})
    items = pd.DataFrame({f"{prefix}{j + 1:02d}": integer(resp[:, j]).to_numpy() for j in range(count)})
    out = pd.concat([out, items], axis=1)
    out["QSSTAT"] = np.where(notdone, "NOT DONE", "")
    out["QSREASND"] = np.where(notdone, np.where(rng.random(len(v)) < 0.5, "Subject refused", "Subject too unwell"), "")
    out[mark("not_done", "QSSTAT")] = notdone
    return out


def qlqc30(w: World) -> pd.DataFrame:
    return _qs(w, "qlqc30", "Q", 30, 2)


def ginet21(w: World) -> pd.DataFrame:
    return _qs(w, "ginet21", "G", 21, 0)


def diary(w: World) -> pd.DataFrame:
    rng = rng_for(w.seed, "diary")
    dc = w.cfg.diary
    v = w.visits[w.visits["diary"]].reset_index(drop=True)
    vi = np.repeat(np.arange(len(v)), 7)
    back = np.tile(np.arange(7, 0, -1), len(v))
    date = v["date"].to_numpy()[vi] - back
    s = w.subj.set_index("sidx").reindex(v["sidx"].to_numpy()[vi])
    week = (date - s["d1"].to_numpy() + 1) / 7.0
    eff = 1.0 - dc.treatment_effect * np.clip(week / 12.0, 0.0, 1.0)
    func = s["functioning"].to_numpy(dtype=bool)
    prog = date >= s["pd_date"].fillna(np.inf).to_numpy()
    lam_s = np.where(func, dc.stools_functioning, dc.stools_base) * eff * np.where(prog, 1.3, 1.0)
    lam_f = np.where(func, dc.flush_functioning, dc.flush_nonfunctioning) * eff * np.where(prog, 1.3, 1.0)
    stools = rng.poisson(lam_s).astype(float)
    flush = rng.poisson(lam_f).astype(float)
    miss = rng.random(len(vi)) < w.cfg.messiness.missing_values
    stools[miss] = np.nan
    flush[miss] = np.nan
    return pd.DataFrame({"sidx": v["sidx"].to_numpy()[vi], "FOLDER": v["folder"].to_numpy()[vi], "_k": date,
                         "DIARYDAT": edc_date(date).to_numpy(), "STOOLS": integer(stools).to_numpy(),
                         "FLUSH": integer(flush).to_numpy(), mark("missing_value", "STOOLS"): miss,
                         mark("missing_value", "FLUSH"): miss})

