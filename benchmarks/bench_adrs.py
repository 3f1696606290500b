"""ADRS: derive_adrs on 10,000 subjects x 10 assessments x 2 evaluators (200,000 RS rows), PALACE spec."""

from __future__ import annotations

from benchmarks.common import STORAGES, layout_ratio, measure_in_child

SUBJECTS = 10_000
VISITS = 10

_CODE = f"""
import json, time
import numpy as np, pandas as pd
from adam.adrs import derive_adrs
from studyforge.spec.loader import load_spec

spec = load_spec("specs/palace").datasets["ADRS"]   # the spec as the build reads it (IG metadata inherited)
n, k = {SUBJECTS}, {VISITS}
rng = np.random.default_rng(20240601)
subj = np.repeat(np.arange(n), 2 * k)
ev = np.tile(np.repeat([0, 1], k), n)
vis = np.tile(np.arange(k), 2 * n)
day = vis * 56 + 57 + rng.integers(-5, 6, size=len(subj))
trt = 22432.0  # 2021-06-01
dates = (np.datetime64("2021-06-01") + (day - 1).astype(int)).astype(str)
resp = rng.choice(["CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE"], p=[.05, .15, .5, .1, .1, .1], size=len(subj))
ids = np.array([f"PALACE-{{100 + i % 15:03d}}-{{i:05d}}" for i in range(n)])
rs = pd.DataFrame({{"USUBJID": ids[subj], "RSSEQ": np.arange(len(subj)) + 1.0, "RSCAT": "RECIST 1.1",
                   "RSTESTCD": "OVRLRESP", "RSEVAL": np.where(ev == 0, "INVESTIGATOR", "INDEPENDENT ASSESSOR"),
                   "RSACPTFL": np.where(ev == 0, "", "Y"), "RSSTRESC": resp, "RSDTC": dates,
                   "VISIT": pd.Series(vis).map(lambda v: f"WEEK {{8 * (v + 1)}}").to_numpy(), "VISITNUM": vis + 1.0}})
tu = pd.DataFrame({{"USUBJID": ids, "TUSEQ": 1.0, "TUTESTCD": "TUMIDENT", "TUEVAL": "INVESTIGATOR",
                   "TUSTRESC": "TARGET", "TUDTC": "2021-05-20"}})
adsl = pd.DataFrame({{"STUDYID": "PALACE", "USUBJID": ids, "SUBJID": ids, "SITEID": "101", "TRTSDT": trt,
                     "DTHDT": np.nan}})
t0 = time.perf_counter()
out, findings = derive_adrs({{"RS": rs, "TU": tu}}, adsl, spec)
print(json.dumps({{"rs_rows": len(rs), "adrs_rows": len(out), "findings": len(findings),
                  "seconds": round(time.perf_counter() - t0, 2)}}))
"""


def run() -> None:
    secs = {}
    for storage in STORAGES:
        r = measure_in_child(_CODE, storage)
        secs[storage] = r["seconds"]
        print(f"{storage:>7} strings: derive_adrs: {r['rs_rows']:,} RS rows -> {r['adrs_rows']:,} ADRS rows in "
              f"{r['seconds']} s, peak RSS {r['peak_rss_mib']:.0f} MiB ({r['findings']} findings)", flush=True)
    layout_ratio("derive_adrs", secs)
