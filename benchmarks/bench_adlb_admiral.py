"""ADLB against admiral's anchor: the CDISC pilot SDTM replicated to ~2.76 million lab rows.

Anchor (issue 13, measured on this machine): admiral's ad_adlb template takes 616 s and 8.9 GB for
2.76 million LB rows (the pilot SDTM replicated to 10,000 subjects). Here the 11 pilot subjects of
tests/data/cdiscpilot01 are copied under new USUBJIDs until LB has about as many rows, ADSL is built
(not timed: admiral's template reads a finished ADSL), and ADLB is derived with specs/cdiscpilot01's
ADLB spec. Goal: at least 20x faster (<= 30.8 s) at no more than a quarter of the memory (<= 2.2 GB).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import STORAGES, layout_ratio, measure_in_child

ROOT = Path(__file__).resolve().parents[1]
ADMIRAL_SECONDS = 616.0
ADMIRAL_GB = 8.9
TARGET_LB_ROWS = 2_760_000


def pilot_frames() -> dict[str, pd.DataFrame]:
    """The pilot SDTM subset as the pilot test reads it (numeric --SEQ, --DY, --STRESN, ranges, AGE, EXDOSE)."""
    from tests.adam.test_cdiscpilot import pilot_sdtm

    return pilot_sdtm()


def _renamed(values: pd.Series, copies: int) -> np.ndarray:
    """`values` repeated `copies` times, copy k's values suffixed -kkkk; one string object per distinct value
    (as R's global string cache holds them, so the anchor and this run keep text alike in memory)."""
    codes, uniq = pd.factorize(values.to_numpy(dtype=object))
    names = np.array([f"{u}-{k:04d}" for k in range(copies) for u in uniq], dtype=object)
    return names[np.repeat(np.arange(copies), len(values)) * len(uniq) + np.tile(codes, copies)]


def replicate(frames: dict[str, pd.DataFrame], copies: int) -> dict[str, pd.DataFrame]:
    """Every frame `copies` times, copy k's subjects renamed <USUBJID>-<k> (whole-array repeat, no loop over rows)."""
    out = {}
    for name, df in frames.items():
        rep = df.iloc[np.tile(np.arange(len(df)), copies)].reset_index(drop=True)
        for col in ("USUBJID", "SUBJID"):
            if col in rep.columns:
                rep[col] = _renamed(df[col], copies)
        out[name] = rep
    return out


def measure(target_rows: int = TARGET_LB_ROWS) -> dict:
    """Replicate, build ADSL (untimed), then time ADLB (wall and CPU) on the replicated LB."""
    import time

    from adam.adlb import derive_adlb
    from adam.adsl import derive_adsl
    from studyforge.spec.loader import load_spec

    spec = load_spec(ROOT / "specs" / "cdiscpilot01")
    base = pilot_frames()
    copies = max(1, round(target_rows / len(base["LB"])))
    sdtm = replicate(base, copies)
    del base
    adsl, _ = derive_adsl(sdtm, spec.datasets["ADSL"])
    t0, c0 = time.perf_counter(), time.process_time()
    adlb, findings = derive_adlb(sdtm, adsl, spec.datasets["ADLB"])
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"lb_rows": len(sdtm["LB"]), "subjects": len(adsl), "adlb_rows": len(adlb), "seconds": round(secs, 2),
            "cpu_seconds": round(cpu, 2), "findings": len(findings)}


def run() -> None:
    secs = {}
    for storage in STORAGES:
        res = measure_in_child(f"""
            import json
            from benchmarks.bench_adlb_admiral import measure
            print(json.dumps(measure({TARGET_LB_ROWS})))
        """, storage)
        secs[storage] = res["seconds"]
        gb = res["peak_rss_mib"] * 1024 * 1024 / 1e9
        print(f"{storage:>7} strings: {json.dumps(res)}")
        print(f"{storage:>7} strings: ADLB for {res['lb_rows']:,} pilot LB rows ({res['subjects']:,} subjects): "
              f"{res['seconds']:.1f} s ({res['cpu_seconds']:.1f} s CPU), peak RSS {gb:.2f} GB (whole process); "
              f"admiral {ADMIRAL_SECONDS:.0f} s / {ADMIRAL_GB} GB -> {ADMIRAL_SECONDS / res['seconds']:.1f}x faster "
              f"by wall time ({ADMIRAL_SECONDS / res['cpu_seconds']:.1f}x by CPU time: the wall clock of a shared "
              f"machine counts other jobs) (goal >= 20x), {ADMIRAL_GB / gb:.1f}x less memory (goal >= 4x); "
              f"load average {os.getloadavg()[0]:.1f}",
              flush=True)
    layout_ratio("ADLB (admiral anchor)", secs)
