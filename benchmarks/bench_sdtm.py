"""SDTM stage: raw -> SDTM for 1,000 and 10,000 subjects, stage by stage (read, spec, build, write) with peak RSS."""

from __future__ import annotations

import os
import tempfile

from benchmarks.common import measure_in_child

SIZES = (1_000, 10_000)

_CHILD = """
import json, time, contextlib, io
from pathlib import Path
t = {}
t0 = time.perf_counter()
from sdtm.readers import read_raw_dir
from studyforge.spec.loader import load_spec
from sdtm.pipeline import build_sdtm
from studyforge.dataset_writer import write_dataset_xpt
t['import_s'] = time.perf_counter() - t0
t0 = time.perf_counter(); spec = load_spec('specs/palace'); t['spec_s'] = time.perf_counter() - t0
t0 = time.perf_counter(); raw, _ = read_raw_dir(RAW); t['read_s'] = time.perf_counter() - t0
t0 = time.perf_counter(); ds, findings, recon = build_sdtm(raw, spec); t['build_s'] = time.perf_counter() - t0
t0 = time.perf_counter()
out = Path(OUT)
for name, df in ds.items():
    write_dataset_xpt(df, spec.datasets[name], spec.study, out / (name.lower() + '.xpt'))
t['write_s'] = time.perf_counter() - t0
t['raw_records'] = sum(len(r) for r in raw.values())
t['sdtm_records'] = sum(len(d) for d in ds.values())
t['findings'] = len(findings)
print(json.dumps(t))
"""


def run() -> None:
    for n in SIZES:
        with tempfile.TemporaryDirectory(prefix=f"bench-sdtm-{n}-") as tmp:
            raw = os.path.join(tmp, "raw")
            sim = measure_in_child(
                "import json, time, contextlib, io\nfrom pathlib import Path\n"
                "from sdtm.simulate.command import simulate_command\nt0 = time.perf_counter()\n"
                "with contextlib.redirect_stdout(io.StringIO()):\n"
                f"    simulate_command(Path('specs/palace'), subjects={n}, seed=None, out_dir=Path({raw!r}), overrides=())\n"
                "print(json.dumps({'simulate_s': time.perf_counter() - t0}))")
            res = measure_in_child(_CHILD.replace("RAW", repr(raw)).replace("OUT", repr(os.path.join(tmp, "out"))))
            total = res["spec_s"] + res["read_s"] + res["build_s"] + res["write_s"]
            print(f"{n:>6} subjects: simulate {sim['simulate_s']:.1f} s (not counted) | spec {res['spec_s']:.1f} s, "
                  f"read {res['read_s']:.1f} s, build {res['build_s']:.1f} s, write {res['write_s']:.1f} s = "
                  f"{total:.1f} s; raw {res['raw_records']:,} -> SDTM {res['sdtm_records']:,} records; "
                  f"{res['findings']:,} findings; peak RSS {res['peak_rss_mib']:.0f} MiB", flush=True)


if __name__ == "__main__":
    run()
