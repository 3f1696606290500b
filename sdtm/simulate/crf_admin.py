"""Subject-administration forms: ic, ie, dm, pd, ecog, cmprior, cmsubs, sv, ex, selfinj, ds, dd."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .fmt import edc_date, hhmm, num, pick, rng_for
from .forms import blank
from .messiness import mark
from .model import World

_MET = {"LIVER": "METLIVER", "LYMPH NODE": "METLN", "BONE": "METBONE", "LUNG": "METLUNG", "PERITONEUM": "METPERIT"}
_PRIMARY_ORGAN = {"Pancreas": "PANCREAS", "Stomach": "STOMACH"}


def _enrolled(w: World) -> pd.DataFrame:
    return w.subj[~w.subj["sf"]].reset_index(drop=True)


def _screening_folder(w: World) -> str:
    return w.cfg.schedule.visits[0].folder


def ic(w: World) -> pd.DataFrame:
    s = w.subj
    return pd.DataFrame({"sidx": s["sidx"], "FOLDER": _screening_folder(w), "DSSTDAT": edc_date(s["consent"]).to_numpy(),
                         "ICVERS": w.cfg.study.protocol_version})


def ie(w: World) -> pd.DataFrame:
    rng = rng_for(w.seed, "ie")
    sf = w.subj[w.subj["sf"]]
    crit = w.cfg.ie_criteria
    n_fail = rng.integers(1, 3, len(sf))
    sidx = np.repeat(sf["sidx"].to_numpy(), n_fail)
    # distinct criteria per subject: a random permutation rank per subject
    c = rng.random((len(sf), len(crit))).argsort(axis=1)
    which = c[:, :2][np.stack([np.ones(len(sf), dtype=bool), n_fail == 2], axis=1)]
    cats = np.array([x.cat for x in crit], dtype=object)[which]
    return pd.DataFrame({"sidx": sidx, "FOLDER": _screening_folder(w), "_o": which,
                         "IETESTCD": np.array([x.code for x in crit], dtype=object)[which],
                         "IETEST": np.array([x.text for x in crit], dtype=object)[which], "IECAT": cats,
                         "IEORRES": np.where(cats == "INCLUSION", "N", "Y")})


def dm(w: World) -> pd.DataFrame:
    s = w.subj
    return pd.DataFrame({"sidx": s["sidx"], "FOLDER": _screening_folder(w), "BRTHDAT": edc_date(s["brth"]).to_numpy(),
                         "SEX": s["sex"].to_numpy(), "RACE": "Asian", "ETHNIC": "Not Hispanic or Latino"})


def pd_form(w: World) -> pd.DataFrame:
    s = _enrolled(w)
    base = pd.concat([w.tl, w.ntl])
    base = base[(base["reader"] == "INV") & (base["tp"] == 0)][["sidx", "organ"]]
    out = pd.DataFrame({"sidx": s["sidx"], "FOLDER": _screening_folder(w), "DIAGDAT": edc_date(s["diag"]).to_numpy(),
                        "PRIMSITE": s["primsite"].to_numpy(), "WHOGRADE": s["grade"].to_numpy(),
                        "KI67": num(s["ki67"].to_numpy(), 1).to_numpy(),
                        "FUNCSTAT": np.where(s["functioning"], "Functioning", "Non-functioning")})
    for organ, col in _MET.items():
        has = set(base.loc[base["organ"] == organ, "sidx"])
        out[col] = np.where(out["sidx"].isin(has), "Y", "N")
    prim = s.set_index("sidx")["primsite"].map(_PRIMARY_ORGAN)
    other = base[~base["organ"].isin(list(_MET))].copy()
    other = other[other["organ"].to_numpy() != prim.reindex(other["sidx"]).to_numpy()]
    spec = other.drop_duplicates().sort_values(["sidx", "organ"]).groupby("sidx")["organ"].agg(", ".join)
    out["METOTH"] = np.where(out["sidx"].isin(spec.index), "Y", "N")
    out["METOTHSP"] = spec.reindex(out["sidx"]).fillna("").to_numpy()
    return out


def ecog(w: World) -> pd.DataFrame:
    rng = rng_for(w.seed, "ecog")
    v = w.visits[w.visits["ecog"]]
    s = w.subj.set_index("sidx")
    after_pd = v["date"].to_numpy() >= s["pd_date"].reindex(v["sidx"]).fillna(np.inf).to_numpy()
    score = s["ecog_base"].reindex(v["sidx"]).to_numpy() + (rng.random(len(v)) < 0.08) + (after_pd & (rng.random(len(v)) < 0.5))
    return pd.DataFrame({"sidx": v["sidx"].to_numpy(), "FOLDER": v["folder"].to_numpy(), "_k": v["date"].to_numpy(),
                         "ECOGDAT": edc_date(v["date"]).to_numpy(), "ECOG": np.clip(score, 0, 4).astype(int).astype(str)})


def cmprior(w: World) -> pd.DataFrame:
    rng = rng_for(w.seed, "cmprior")
    s = _enrolled(w)
    pool = w.cfg.prior_therapies
    ssa = [i for i, p in enumerate(pool) if p.clas == "Somatostatin analogue"]
    oth = [i for i, p in enumerate(pool) if p.clas != "Somatostatin analogue"]
    has_ssa = rng.random(len(s)) < w.cfg.design.prior_ssa_fraction
    has_oth = rng.random(len(s)) < 0.15
    rows = []
    for mask, choices in ((has_ssa, ssa), (has_oth, oth)):
        if choices and mask.any():
            rows.append(pd.DataFrame({"sidx": s["sidx"].to_numpy()[mask],
                                      "ti": np.array(choices)[rng.integers(0, len(choices), int(mask.sum()))]}))
    d = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame({"sidx": [], "ti": []}, dtype="int64")
    ss = s.set_index("sidx")
    consent = ss["consent"].reindex(d["sidx"]).to_numpy()
    diag = ss["diag"].reindex(d["sidx"]).to_numpy()
    end = consent - rng.integers(35, 400, len(d))
    start = np.maximum(diag + rng.integers(7, 200, len(d)), end - rng.integers(60, 900, len(d)))
    start = np.minimum(start, end - 28)
    return pd.DataFrame({"sidx": d["sidx"].to_numpy(), "FOLDER": _screening_folder(w), "_k": start,
                         "CMTRT": np.array([pool[i].trt for i in d["ti"]], dtype=object),
                         "CMCLAS": np.array([pool[i].clas for i in d["ti"]], dtype=object),
                         "CMDOSE": num(np.array([pool[i].dose for i in d["ti"]], dtype=float), 0).to_numpy(),
                         "CMDOSU": np.array([pool[i].unit for i in d["ti"]], dtype=object),
                         "CMSTDAT": edc_date(start).to_numpy(), "CMENDAT": edc_date(end).to_numpy(),
                         "_zh": np.array([pool[i].zh for i in d["ti"]], dtype=object)})


def cmsubs(w: World) -> pd.DataFrame:
    rng = rng_for(w.seed, "cmsubs")
    s = _enrolled(w)
    room = s["eos"].to_numpy() - s["eot_date"].to_numpy()
    take = (s["eot_reason"].to_numpy() == "Progressive disease") & (s["u_subs"].to_numpy() < w.cfg.design.subsequent_therapy_fraction) & (room >= 8)
    t = s[take]
    room_t = room[take].astype("int64")
    start = t["eot_date"].to_numpy() + 7 + np.floor(rng.random(len(t)) * (room_t - 7)).astype("int64")
    return pd.DataFrame({"sidx": t["sidx"].to_numpy(), "FOLDER": w.cfg.schedule.log_folder, "_k": start,
                         "CMTRT": pick(rng, w.cfg.design.subsequent_therapies, len(t)),
                         "CMSTDAT": edc_date(start).to_numpy(), "CMENDAT": blank(len(t))})


def sv(w: World) -> pd.DataFrame:
    v = w.visits[w.visits["sv"]]
    unscheduled = v["folder"].astype(str).str.startswith(w.cfg.schedule.unscheduled_prefix).to_numpy()
    return pd.DataFrame({"sidx": v["sidx"].to_numpy(), "FOLDER": v["folder"].to_numpy(), "_k": v["date"].to_numpy(),
                         "VISDAT": edc_date(v["date"]).to_numpy(), mark("out_of_window", "VISDAT"): v["oow"].to_numpy(),
                         mark("unscheduled_visit", "FOLDER"): unscheduled})


def ex(w: World) -> pd.DataFrame:
    rng = rng_for(w.seed, "ex")
    d = w.cfg.design
    v = w.visits[w.visits["ex"]].reset_index(drop=True)
    s = w.subj.set_index("sidx")
    n_inj = v.groupby("sidx").cumcount().to_numpy()
    partner = s["partner"].reindex(v["sidx"]).to_numpy().astype(bool)
    admin = np.where(v["cohort_period"].to_numpy(), np.where(partner, "Partner", "Self"), "Healthcare professional")
    lot = np.clip((v["date"].to_numpy() - v["date"].min()) // 150, 0, len(d.lot_numbers) - 1) if len(v) else np.array([], int)
    return pd.DataFrame({"sidx": v["sidx"].to_numpy(), "FOLDER": v["folder"].to_numpy(), "_k": v["date"].to_numpy(),
                         "EXSTDAT": edc_date(v["date"]).to_numpy(),
                         "EXSTTIM": hhmm(rng.integers(8 * 60, 16 * 60 + 30, len(v))).to_numpy(),
                         "EXDOSE": num(np.full(len(v), d.dose), 0).to_numpy(), "EXDOSU": d.dose_unit,
                         "EXLOC": np.array(d.injection_sites, dtype=object)[n_inj % len(d.injection_sites)],
                         "EXADMIN": admin, "EXLOT": np.array(d.lot_numbers, dtype=object)[lot]})


def selfinj(w: World) -> pd.DataFrame:
    s = _enrolled(w)
    c = s[s["cohort"].astype(bool)]
    k_main = next(i for i, v in enumerate(w.cfg.schedule.visits) if v.eot == "main")
    folder = w.cfg.schedule.visits[k_main].folder
    vd = w.visits[(w.visits["folder"] == folder)].set_index("sidx")["date"]
    return pd.DataFrame({"sidx": c["sidx"].to_numpy(), "FOLDER": folder,
                         "SISTDAT": edc_date(vd.reindex(c["sidx"]).to_numpy()).to_numpy(),
                         "SIADMIN": np.where(c["partner"].astype(bool), "Partner", "Self")})


_DSTERM = {
    "Completed": "Completed the planned treatment period",
    "Progressive disease": "Radiological progression per RECIST 1.1 (investigator)",
    "Adverse event": "Adverse event led to discontinuation",
    "Death": "Subject died",
    "Withdrawal by subject": "Subject withdrew consent",
    "Lost to follow-up": "Subject could not be contacted",
    "Physician decision": "Investigator decision",
}


def ds(w: World) -> pd.DataFrame:
    s = _enrolled(w)
    eot = pd.DataFrame({"sidx": s["sidx"], "FOLDER": "END OF TREATMENT", "_k": 0, "DSSCAT": "END OF TREATMENT",
                        "DSDECOD": s["eot_reason"].to_numpy(), "DSSTDAT": edc_date(s["eot_date"]).to_numpy()})
    eos = pd.DataFrame({"sidx": s["sidx"], "FOLDER": "END OF STUDY", "_k": 1, "DSSCAT": "END OF STUDY",
                        "DSDECOD": s["eos_reason"].to_numpy(), "DSSTDAT": edc_date(s["eos"]).to_numpy()})
    out = pd.concat([eot, eos], ignore_index=True)
    out["DSTERM"] = out["DSDECOD"].map(_DSTERM).fillna("")
    out.loc[out["DSSCAT"].eq("END OF STUDY") & out["DSDECOD"].eq("Completed"), "DSTERM"] = "Completed study follow-up"
    return out


def fatal_term_index(w: World, sidx: np.ndarray) -> np.ndarray:
    """Which fatal MedDRA term a non-progression death uses (stable per subject)."""
    return np.asarray(sidx, dtype="int64") % len(w.cfg.meddra.fatal_terms)


def dd(w: World) -> pd.DataFrame:
    s = _enrolled(w)
    d = s[s["death"].notna()]
    fatal = np.array([t.pt for t in w.cfg.meddra.fatal_terms], dtype=object)[fatal_term_index(w, d["sidx"].to_numpy())]
    cause = d["death_cause"].to_numpy()
    return pd.DataFrame({"sidx": d["sidx"].to_numpy(), "FOLDER": "DEATH", "DTHDAT": edc_date(d["death"]).to_numpy(),
                         "DTHCAUS": cause,
                         "DTHCAUSP": np.where(cause == "Adverse event", fatal, "Progression of neuroendocrine tumour")})
