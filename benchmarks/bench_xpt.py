"""XPT v5 writer: studyforge.write_xpt vs pyreadstat.write_xport(v5) on a 1,000,000-row LB-like frame, per string layout."""

from __future__ import annotations

import os
import tempfile

from benchmarks.bench_sdtm import _digest
from benchmarks.common import STORAGES, layout_ratio, measure_in_child

ROWS = 1_000_000

# Builds the frame in the child so each writer's peak RSS is its own (frame + writer).
_FRAME = """
import numpy as np, pandas as pd
def lb_frame(n):
    rng = np.random.default_rng(20240601)
    subj = rng.integers(1, 44, n)
    tests = np.array(["ALB", "ALT", "AST", "BILI", "CREAT", "GLUC", "HGB", "PLAT", "WBC", "SODIUM"])
    names = np.array(["Albumin", "Alanine Aminotransferase", "Aspartate Aminotransferase", "Bilirubin",
                      "Creatinine", "Glucose", "Hemoglobin", "Platelets", "Leukocytes", "Sodium"])
    units = np.array(["g/L", "U/L", "U/L", "umol/L", "umol/L", "mmol/L", "g/L", "10^9/L", "10^9/L", "mmol/L"])
    t = rng.integers(0, len(tests), n)
    res = np.round(rng.normal(50, 15, n), 1)
    res_txt = res.astype(str)
    miss = rng.random(n) < 0.03
    res_txt[miss] = ""
    res[miss] = np.nan
    day = rng.integers(-14, 700, n).astype(float)
    dates = (np.datetime64("2021-06-01") + day.astype(int)).astype(str)
    df = pd.DataFrame({
        "STUDYID": "D-FR-52030-003",
        "DOMAIN": "LB",
        "USUBJID": pd.Series(subj).map(lambda s: f"D-FR-52030-003-{(s % 15) + 1:03d}-{s:04d}"),
        "LBSEQ": np.arange(1, n + 1, dtype=float),
        "LBTESTCD": tests[t],
        "LBTEST": names[t],
        "LBORRES": res_txt,
        "LBORRESU": units[t],
        "LBSTRESC": res_txt,
        "LBSTRESN": res,
        "LBSTNRLO": np.where(rng.random(n) < 0.1, np.nan, np.round(rng.normal(10, 2, n), 2)),
        "VISITNUM": np.floor(day / 28) + 1,
        "LBDTC": dates,
        "LBDY": np.where(day >= 0, day + 1, day),
    })
    for c in ["STUDYID", "DOMAIN", "USUBJID", "LBTESTCD", "LBTEST", "LBORRES", "LBORRESU", "LBSTRESC", "LBDTC"]:
        df[c] = df[c].astype("str")
    return df
"""


def _child(writer: str, path: str) -> str:
    call = {
        "studyforge": "from studyforge.xpt import write_xpt\n"
                      "write_xpt(df, PATH, name='LB', label='Laboratory Test Results')",
        "pyreadstat": "import pyreadstat\n"
                      "pyreadstat.write_xport(df, PATH, file_label='Laboratory Test Results', table_name='LB', "
                      "file_format_version=5)",
    }[writer]
    module = {"studyforge": "studyforge.xpt", "pyreadstat": "pyreadstat"}[writer]
    return _FRAME + f"""
import json, os, time
def _rss_kib():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS"))
import {module}  # the writer's code is loaded first
start_kib = _rss_kib()
PATH = {path!r}
df = lb_frame({ROWS})
frame_bytes = int(df.memory_usage(deep=True).sum())
import gc, ctypes, sys
gc.collect()
# hand the frame build's freed memory back to the OS (glibc's and Arrow's allocators keep it), so the
# peak below is interpreter + frame + writer, not leftovers of making the frame
if "pyarrow" in sys.modules:
    sys.modules["pyarrow"].default_memory_pool().release_unused()
try:
    ctypes.CDLL("libc.so.6").malloc_trim(0)
except OSError:
    pass
try:  # reset the peak-RSS counter so the peak measured is the writer's (frame + writer), not the frame build's
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
except OSError:
    pass
base_kib = _rss_kib()
t0 = time.perf_counter()
{call}
secs = time.perf_counter() - t0
print(json.dumps({{"secs": secs, "frame_mib": frame_bytes / 2**20, "size_mib": os.path.getsize(PATH) / 2**20,
                  "base_rss_mib": base_kib / 1024, "start_rss_mib": start_kib / 1024}}))
"""


TARGET = 40.0   # times pyreadstat, with either string layout (issue 16)


def run() -> dict:
    """Write the same frame with both writers, each in a fresh child, once per string layout;
    print and return the numbers (the ratios that count are those of one run)."""
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for storage in STORAGES:
            res = results[storage] = {}
            for writer in ("studyforge", "pyreadstat"):
                path = os.path.join(tmp, f"lb_{writer}_{storage}.xpt")
                r = measure_in_child(_child(writer, path), storage)
                res[writer] = r
                print(f"{storage:>8} strings {writer:>10}: {r['secs']:7.2f} s  {r['size_mib'] / r['secs']:8.1f} MB/s  "
                      f"file {r['size_mib']:.1f} MiB  frame {r['frame_mib']:.1f} MiB  "
                      f"peak RSS while writing {r['peak_rss_mib']:.1f} MiB = {r['peak_rss_mib'] / r['frame_mib']:.2f}x "
                      f"frame (RSS before writing {r['base_rss_mib']:.1f} MiB; writer's growth "
                      f"{(r['peak_rss_mib'] - r['base_rss_mib']) / r['frame_mib']:.2f}x frame; without the "
                      f"{r['start_rss_mib']:.0f} MiB interpreter: "
                      f"{(r['peak_rss_mib'] - r['start_rss_mib']) / r['frame_mib']:.2f}x frame)",
                      flush=True)
            res["ratio"] = res["pyreadstat"]["secs"] / res["studyforge"]["secs"]
            print(f"{storage:>8} strings: studyforge is {res['ratio']:.1f}x pyreadstat (target >= {TARGET:.0f}x)",
                  flush=True)
        same = len({_digest(os.path.join(tmp, f"lb_studyforge_{s}.xpt")) for s in STORAGES}) == 1
        print(f"studyforge files byte-identical across string layouts: {same}")
    layout_ratio("write_xpt", {s: results[s]["studyforge"]["secs"] for s in STORAGES})
    return results


if __name__ == "__main__":
    run()
