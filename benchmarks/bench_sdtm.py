"""SDTM stage: raw -> SDTM for 1,000 and 10,000 subjects, stage by stage (read, spec, build, write) with peak RSS,
once per string layout (the raw files are simulated once per size)."""

from __future__ import annotations

import os
import tempfile

from benchmarks.common import STORAGES, layout_ratio, measure_in_child

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


TARGET_10K = 46.0   # seconds, spec + read + build + write, with either string layout (issue 16)


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
            totals = {}
            for storage in STORAGES:
                out = os.path.join(tmp, f"out-{storage}")
                res = measure_in_child(_CHILD.replace("RAW", repr(raw)).replace("OUT", repr(out)), storage)
                total = totals[storage] = res["spec_s"] + res["read_s"] + res["build_s"] + res["write_s"]
                print(f"{n:>6} subjects, {storage:>7} strings: simulate {sim['simulate_s']:.1f} s (not counted) | "
                      f"spec {res['spec_s']:.1f} s, read {res['read_s']:.1f} s, build {res['build_s']:.1f} s, "
                      f"write {res['write_s']:.1f} s = {total:.1f} s"
                      f"{f' (target <= {TARGET_10K:.0f} s)' if n == 10_000 else ''}; raw {res['raw_records']:,} -> "
                      f"SDTM {res['sdtm_records']:,} records; {res['findings']:,} findings; "
                      f"peak RSS {res['peak_rss_mib']:.0f} MiB", flush=True)
            outs = [os.path.join(tmp, f"out-{s}") for s in STORAGES]
            same = all(open(os.path.join(outs[0], f), "rb").read() == open(os.path.join(o, f), "rb").read()
                       for o in outs[1:] for f in sorted(os.listdir(outs[0])))
            print(f"{n:>6} subjects: XPT files byte-identical across string layouts: {same}", flush=True)
            layout_ratio(f"raw -> SDTM, {n} subjects", totals)


if __name__ == "__main__":
    run()
