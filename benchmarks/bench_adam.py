"""ADaM stage (ADSL + ADRS + ADTTE) on 10,000 synthetic subjects: wall time and peak RSS.

The SDTM frames are synthesised here with numpy (not by the simulator), shaped as the SDTM contract
says. Targets: <= 20 s and <= 4 GiB.
"""

from __future__ import annotations

import json

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
    nlab = 10
    li = np.repeat(np.arange(n), nlab * 2)
    lk = np.tile(np.arange(nlab * 2), n)
    lb = pd.DataFrame({"USUBJID": usub[li], "LBSEQ": (lk + 1).astype(float),
                       "LBTESTCD": np.where(lk % 2 == 0, "CGA", "IA5OHEXR"), "LBSTRESN": rng.lognormal(4, 1, len(li)),
                       "LBDTC": _iso(start[li] - 10 + 28 * (lk // 2))})
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
            "MH": mh, "SUPPMH": suppmh, "CM": cm}


def palace_adam_spec():
    """The PALACE spec, as `studyforge adam` loads it."""
    from pathlib import Path

    from studyforge.spec.loader import load_spec

    return load_spec(Path(__file__).resolve().parents[1] / "specs" / "palace")


def measure(n: int = N_SUBJECTS) -> dict:
    """Synthesize, then time derive_adam (wall and CPU: the machine is shared) and each stage alone."""
    import time

    from adam.adrs import derive_adrs
    from adam.adsl import derive_adsl
    from adam.adtte import derive_adtte
    from adam.pipeline import derive_adam

    sdtm = synthesize(n)
    spec = palace_adam_spec()
    t0, c0 = time.perf_counter(), time.process_time()
    out, findings = derive_adam(sdtm, spec)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    t1 = time.perf_counter()
    adsl, _ = derive_adsl(sdtm, spec.datasets["ADSL"])
    t2 = time.perf_counter()
    adrs, _ = derive_adrs(sdtm, adsl, spec.datasets["ADRS"])
    t3 = time.perf_counter()
    derive_adtte(sdtm, adsl, adrs, spec.datasets["ADTTE"])
    t4 = time.perf_counter()
    return {"subjects": n, "seconds": round(secs, 2), "cpu_seconds": round(cpu, 2),
            "stage_seconds": {"ADSL": round(t2 - t1, 2), "ADRS": round(t3 - t2, 2), "ADTTE": round(t4 - t3, 2)},
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
        print(f"{storage:>7} strings: ADaM (ADSL+ADRS+ADTTE) for {res['subjects']} subjects: {res['seconds']:.1f} s, "
              f"({res['cpu_seconds']:.1f} s CPU), peak RSS {res['peak_rss_mib']:.0f} MiB (targets 20 s, 4096 MiB)",
              flush=True)
    layout_ratio("ADaM", secs)
