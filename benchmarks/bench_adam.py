"""The whole ADaM stage (every PALACE dataset) on 10,000 synthetic subjects: wall time and peak RSS.

The SDTM frames are synthesised here with numpy (not by the simulator), shaped as the SDTM contract
says, with lab, questionnaire and symptom-diary rows at PALACE's schedule (the tests, items and diary
codes are read from the PALACE ADaM spec). Targets (issue 13): <= 30 s and <= 4 GiB.
"""

from __future__ import annotations

import functools
import json
import os

import numpy as np
import pandas as pd

from benchmarks.common import STORAGES, layout_ratio, measure_in_child

N_SUBJECTS = 10_000


def _iso(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(np.datetime64("2021-01-04") + days.astype("timedelta64[D]"), unit="D")


def synthesize(n: int = N_SUBJECTS, seed: int = 1) -> dict[str, pd.DataFrame]:
    """SDTM-shaped frames for n subjects: DM EX SUPPEX SE DS RS TU LB AE MH SUPPMH CM (whole-array numpy)."""
    rng = np.random.default_rng(seed)
    site = 101 + rng.integers(0, 15, n)
    subjid = np.char.add(np.char.add(site.astype(str), "-"), np.char.zfill(np.arange(1, n + 1).astype(str), 5))
    usub = np.char.add("PALACE-", subjid)
    start = rng.integers(0, 400, n)
    ndose = rng.integers(1, 14, n)
    dead = rng.random(n) < 0.15
    dth = start + ndose * 28 + rng.integers(1, 120, n)
    dm = pd.DataFrame({"STUDYID": "PALACE", "USUBJID": usub, "SUBJID": subjid, "SITEID": site.astype(str),
                       "AGE": rng.integers(20, 85, n).astype(float), "AGEU": "YEARS",
                       "SEX": rng.choice(["M", "F"], n), "RACE": "ASIAN", "ETHNIC": "NOT HISPANIC OR LATINO",
                       "COUNTRY": "CHN", "ARMCD": "LAN120", "ARM": "Lanreotide Autogel 120 mg", "ACTARMCD": "LAN120",
                       "ACTARM": "Lanreotide Autogel 120 mg", "DTHDTC": np.where(dead, _iso(dth), ""),
                       "DTHFL": np.where(dead, "Y", "")})
    ei = np.repeat(np.arange(n), ndose)
    k = np.arange(len(ei)) - np.repeat(np.cumsum(ndose) - ndose, ndose)
    edt = _iso(start[ei] + 28 * k)
    ex = pd.DataFrame({"USUBJID": usub[ei], "EXSEQ": (k + 1).astype(float), "EXTRT": "LANREOTIDE", "EXDOSE": 120.0,
                       "EXSTDTC": np.char.add(edt, "T09:00"), "EXENDTC": np.char.add(edt, "T09:00")})
    selfc = rng.random(n) < 0.3
    suppex = pd.DataFrame({"USUBJID": usub[ei], "RDOMAIN": "EX", "IDVAR": "EXSEQ", "IDVARVAL": (k + 1).astype(str),
                           "QNAM": "EXADMIN", "QVAL": np.where(selfc[ei] & (k >= 12), "SELF", "HEALTHCARE PROFESSIONAL")})
    se = pd.DataFrame({"USUBJID": usub, "ETCD": np.where(selfc, "SELFINJ", "HCPINJ"), "SESTDTC": _iso(start)})
    ds = pd.DataFrame({"USUBJID": usub, "DSSEQ": 1.0, "DSCAT": "DISPOSITION EVENT", "DSSCAT": "END OF STUDY",
                       "DSDECOD": np.where(dead, "DEATH", rng.choice(["COMPLETED", "PROGRESSIVE DISEASE"], n)),
                       "DSTERM": np.where(dead, "DISEASE PROGRESSION", ""), "DSSTDTC": _iso(np.where(dead, dth, start + 400))})
    nvis = np.minimum(rng.integers(0, 9, n), (ndose * 28) // 84 + 1)
    ri = np.repeat(np.arange(n), nvis)
    v = np.arange(len(ri)) - np.repeat(np.cumsum(nvis) - nvis, nvis)
    resp = rng.choice(["SD", "PR", "CR", "NE", "PD", "NON-CR/NON-PD"], len(ri), p=[0.6, 0.12, 0.03, 0.08, 0.07, 0.1])
    rdt = _iso(start[ri] + 84 * (v + 1) + rng.integers(-5, 6, len(ri)))
    parts = []
    for ev, evid, acpt in (("INDEPENDENT ASSESSOR", "RADIOLOGIST 1", "Y"), ("INVESTIGATOR", "", "")):
        parts.append(pd.DataFrame({"USUBJID": usub[ri], "RSCAT": "RECIST 1.1", "RSTESTCD": "OVRLRESP", "RSORRES": resp,
                                   "RSSTRESC": resp, "RSSTRESN": np.nan, "RSEVAL": ev, "RSEVALID": evid, "RSACPTFL": acpt,
                                   "RSDTC": rdt, "VISITNUM": (v + 2).astype(float)}))
    parts.append(pd.DataFrame({"USUBJID": usub, "RSCAT": "ECOG", "RSTESTCD": "ECOG101", "RSORRES": "1", "RSSTRESC": "1",
                               "RSSTRESN": rng.integers(0, 2, n).astype(float), "RSEVAL": "", "RSEVALID": "",
                               "RSACPTFL": "", "RSDTC": _iso(start - 3), "VISITNUM": 1.0}))
    rs = pd.concat(parts, ignore_index=True)
    rs["RSSEQ"] = rs.groupby("USUBJID").cumcount() + 1.0
    tu = pd.DataFrame({"USUBJID": np.repeat(usub, 2), "TUSEQ": np.tile([1.0, 2.0], n), "TUTESTCD": "TUMIDENT",
                       "TUORRES": "TARGET", "TUEVAL": np.tile(["INDEPENDENT ASSESSOR", "INVESTIGATOR"], n),
                       "TULNKID": "T01", "TUDTC": _iso(np.repeat(start - 7, 2))})
    lb, qs, xd = _findings(rng, usub, start, ndose)
    nae = rng.integers(0, 6, n)
    ai = np.repeat(np.arange(n), nae)
    ast = start[ai] + rng.integers(1, 300, len(ai))
    ae = pd.DataFrame({"USUBJID": usub[ai], "AESEQ": 1.0, "AEDECOD": "DIARRHOEA", "AEOUT": "RECOVERED/RESOLVED",
                       "AESTDTC": _iso(ast), "AEENDTC": _iso(ast + 5)})
    mh = pd.DataFrame({"USUBJID": usub, "MHSEQ": 1.0, "MHCAT": "PRIMARY DIAGNOSIS", "MHTERM": "NET",
                       "MHLOC": rng.choice(["PANCREAS", "MIDGUT", "HINDGUT", "STOMACH"], n)})
    suppmh = pd.DataFrame({"USUBJID": np.repeat(usub, 3), "RDOMAIN": "MH", "IDVAR": "MHSEQ", "IDVARVAL": "1",
                           "QNAM": np.tile(["MHGRADE", "KI67", "FUNCSTAT"], n),
                           "QVAL": np.ravel(np.column_stack([rng.choice(["G1", "G2"], n),
                                                             rng.integers(1, 20, n).astype(str),
                                                             rng.choice(["FUNCTIONING", "NON-FUNCTIONING"], n)]))})
    newt = rng.random(n) < 0.1
    cm = pd.DataFrame({"USUBJID": usub[newt], "CMSEQ": 1.0, "CMCAT": "SUBSEQUENT ANTI-CANCER THERAPY",
                       "CMSTDTC": _iso(start[newt] + rng.integers(100, 500, int(newt.sum())))})
    return {"DM": dm, "EX": ex, "SUPPEX": suppex, "SE": se, "DS": ds, "RS": rs, "TU": tu, "LB": lb, "AE": ae,
            "MH": mh, "SUPPMH": suppmh, "CM": cm, "QS": qs, "XD": xd}


def _schedule(rng, start: np.ndarray, counts: np.ndarray, first: int, step: int, jitter: int = 0):
    """Subject index, visit number and study date (days) of `counts[i]` visits from start+first every `step` days."""
    si = np.repeat(np.arange(len(start)), counts)
    k = np.arange(len(si)) - np.repeat(np.cumsum(counts) - counts, counts)
    day = start[si] + first + step * k + (rng.integers(-jitter, jitter + 1, len(si)) if jitter else 0)
    return si, k, day


def _findings(rng, usub: np.ndarray, start: np.ndarray, ndose: np.ndarray):
    """LB (PALACE's 11 tests every 4 weeks), QS (QLQ-C30 + GI.NET21 every 12 weeks), XD (daily diary)."""
    spec = palace_adam_spec().datasets
    tests = [(p.derivation.params["testcd"], p.derivation.params["unit"]) for p in spec["ADLB"].parameters]
    n = len(usub)
    # labs: screening, then every 28 days while dosed, plus end of treatment
    si, k, day = _schedule(rng, start, ndose + 2, -14, 28, jitter=3)
    nt = len(tests)
    li = np.repeat(si, nt)
    t = np.tile(np.arange(nt), len(si))
    val = np.round(rng.lognormal(3, 0.8, len(li)), 2)
    lb = pd.DataFrame({"USUBJID": usub[li], "LBSEQ": 0.0, "LBTESTCD": np.array([c for c, _ in tests])[t],
                       "LBSTRESN": val, "LBSTRESC": val.astype(str), "LBSTRESU": np.array([u for _, u in tests])[t],
                       "LBSTNRLO": 5.0, "LBSTNRHI": 40.0, "LBDTC": _iso(np.repeat(day, nt))})
    lb["LBSEQ"] = lb.groupby("USUBJID", sort=False).cumcount() + 1.0
    # questionnaires: every item of every qs_scale parameter, at screening and every 12 weeks while dosed
    items = sorted({(p.derivation.params["category"], i, p.derivation.params.get("range", 3))
                    for p in spec["ADQS"].parameters if p.derivation and p.derivation.rule == "qs_scale"
                    for i in p.derivation.params["items"]})
    si, k, day = _schedule(rng, start, ndose // 3 + 1, -7, 84, jitter=5)
    ni = len(items)
    qi = np.repeat(si, ni)
    it = np.tile(np.arange(ni), len(si))
    top = np.array([1 + r for _, _, r in items])[it]
    qs = pd.DataFrame({"USUBJID": usub[qi], "QSCAT": np.array([c for c, _, _ in items], dtype=object)[it],
                       "QSTESTCD": np.array([i for _, i, _ in items], dtype=object)[it],
                       "QSSTRESN": np.floor(rng.random(len(qi)) * top) + 1.0, "QSDTC": _iso(np.repeat(day, ni)),
                       "VISITNUM": np.repeat(k + 1.0, ni)})
    # symptom diary: 14 screening days, then the 7 days before each dose
    codes = [p.derivation.params["testcd"] for p in spec["ADSYM"].parameters]
    di = np.repeat(np.arange(n), 14 + 7 * ndose)
    o = np.arange(len(di)) - np.repeat(np.cumsum(14 + 7 * ndose) - (14 + 7 * ndose), 14 + 7 * ndose)
    dday = start[di] + np.where(o < 14, o - 14, 28 * ((o - 14) // 7 + 1) - 7 + (o - 14) % 7)
    nc = len(codes)
    xi = np.repeat(di, nc)
    xd = pd.DataFrame({"USUBJID": usub[xi], "XDTESTCD": np.tile(np.array(codes, dtype=object), len(di)),
                       "XDSTRESN": rng.poisson(3, len(xi)).astype(float), "XDDTC": _iso(np.repeat(dday, nc))})
    return lb, qs, xd


@functools.lru_cache(maxsize=1)
def palace_adam_spec():
    """The PALACE spec, as `studyforge adam` loads it."""
    from pathlib import Path

    from studyforge.spec.loader import load_spec

    return load_spec(Path(__file__).resolve().parents[1] / "specs" / "palace")


def measure(n: int = N_SUBJECTS) -> dict:
    """Synthesize, then time derive_adam (wall and CPU: the machine is shared) with each dataset's share."""
    import time

    from adam.pipeline import derive_adam

    sdtm = synthesize(n)
    spec = palace_adam_spec()
    stages: dict[str, float] = {}
    t0, c0 = time.perf_counter(), time.process_time()
    out, findings = derive_adam(sdtm, spec, timings=stages)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"subjects": n, "seconds": round(secs, 2), "cpu_seconds": round(cpu, 2), "stage_seconds": stages,
            "input_rows": {k: len(sdtm[k]) for k in ("LB", "QS", "XD")},
            "datasets": {k: len(v) for k, v in sorted(out.items())}, "findings": len(findings)}


def run() -> None:
    secs = {}
    for storage in STORAGES:
        res = measure_in_child(f"""
            import json
            from benchmarks.bench_adam import measure
            print(json.dumps(measure({N_SUBJECTS})))
        """, storage)
        secs[storage] = res["seconds"]
        print(f"{storage:>7} strings: {json.dumps(res, indent=None)}")
        print(f"{storage:>7} strings: whole ADaM stage for {res['subjects']} subjects: {res['seconds']:.1f} s "
              f"({res['cpu_seconds']:.1f} s CPU), peak RSS {res['peak_rss_mib']:.0f} MiB (goal <= 30 s, <= 4096 MiB; "
              f"load average {os.getloadavg()[0]:.1f})", flush=True)
    layout_ratio("ADaM", secs)
