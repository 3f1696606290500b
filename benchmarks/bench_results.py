"""Results stage (ARD, ARS, report, figures, trace page) on 10,000 subjects: wall time and peak RSS.

The ADaM inputs are built once, untimed: the PALACE build (simulator -> SDTM -> ADaM, 43 subjects) is
run into a temporary folder, and its ADaM datasets and lineage table are replicated in the child to
10,000 subjects (new USUBJIDs; ADTTE times and change values shifted per copy so that the statistics
see many distinct values). Only `write_results` is timed. Target: <= 10 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import STORAGES, layout_ratio, measure_in_child

N_SUBJECTS = 10_000
TARGET_S = 10.0

_CODE = """
import datetime as dt, json, shutil, time
from pathlib import Path
import numpy as np, pandas as pd
from studyforge.datasets_io import read_dataset_folder
from results.stage import read_lineage, write_results

pkg = Path({pkg!r})
frames = read_dataset_folder(pkg / "m5" / "datasets" / "palace" / "analysis" / "adam" / "datasets")
lineage = read_lineage(pkg)
base = frames["ADSL"]["USUBJID"].astype(str).to_numpy(dtype=object)
copies = -(-{n} // len(base))


def widen(df):
    # one copy of every record per replicate k, USUBJID suffixed -k; numbers shifted by k so values differ
    if "USUBJID" not in df.columns:
        return df
    k = np.repeat(np.arange(copies), len(df))
    out = pd.concat([df] * copies, ignore_index=True)
    out["USUBJID"] = (out["USUBJID"].astype(str).to_numpy(dtype=object) + "-"
                      + pd.Series(k).astype(str).str.zfill(4).to_numpy(dtype=object))
    for c in ("AVAL", "CHG", "PCHG"):
        if c in out.columns and pd.api.types.is_numeric_dtype(out[c]) and "CNSR" not in out.columns:
            out[c] = out[c] * (1 + (k % 11) / 100)
    if "CNSR" in out.columns:
        out["AVAL"] = out["AVAL"] + (k % 29)
    return out


wide = {{name: widen(df) for name, df in frames.items()}}
adsl_ids = wide["ADSL"]["USUBJID"].drop_duplicates().iloc[:{n}]
wide = {{name: (df[df["USUBJID"].isin(adsl_ids)] if "USUBJID" in df.columns else df) for name, df in wide.items()}}
lin = widen(lineage)
lin = lin[lin["USUBJID"].isin(adsl_ids)]
out = Path({out!r})
shutil.rmtree(out, ignore_errors=True)
out.mkdir(parents=True)
t0, c0 = time.perf_counter(), time.process_time()
findings = write_results("specs/palace", wide, out, "PALACE", dt.datetime(2024, 1, 1), lin)
seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
sizes = {{p.name: p.stat().st_size for p in sorted(out.iterdir())}}
print(json.dumps({{"subjects": int(wide["ADSL"]["USUBJID"].nunique()),
                  "records": {{k: len(v) for k, v in sorted(wide.items())}}, "lineage_rows": len(lin),
                  "findings": len(findings), "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
                  "output_mib": round(sum(sizes.values()) / 2**20, 1)}}))
"""


def build_inputs(folder: Path) -> Path:
    """The 43-subject PALACE package (untimed), built by the CLI as a user would."""
    pkg = folder / "palace"
    cli = Path(sys.executable).with_name("studyforge")
    subprocess.run([str(cli), "build", "--study", "specs/palace", "--out", str(pkg)], check=True, capture_output=True,
                   text=True)
    return pkg


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="bench_results_") as tmp:
        pkg = build_inputs(Path(tmp))
        seconds = {}
        for storage in STORAGES:
            r = measure_in_child(_CODE.format(pkg=str(pkg), n=N_SUBJECTS, out=str(Path(tmp) / f"out_{storage}")),
                                 storage)
            seconds[storage] = r["seconds"]
            verdict = "ok" if r["seconds"] <= TARGET_S else f"over the {TARGET_S:g} s target"
            print(f"results stage, {r['subjects']} subjects, {storage} strings: {r['seconds']:.2f} s wall, "
                  f"{r['cpu_seconds']:.2f} s CPU ({verdict}); load average {os.getloadavg()[0]:.1f}; "
                  f"peak RSS {r['peak_rss_mib']:.0f} MiB; outputs {r['output_mib']} MiB; "
                  f"records {r['records']}; lineage rows {r['lineage_rows']}", flush=True)
        layout_ratio("results stage", seconds)


if __name__ == "__main__":
    run()
