"""Raw-data simulator: wall time, rows and peak RSS for 1,000 and 10,000 subjects (target: 10,000 < 60 s)."""

from __future__ import annotations

from benchmarks.common import STORAGES, layout_ratio, measure_in_child

SIZES = (1_000, 10_000)

CHILD = """
import json, tempfile, time
from pathlib import Path
from sdtm.simulate.command import simulate
with tempfile.TemporaryDirectory() as out:
    t0 = time.perf_counter()
    m = simulate(Path("specs/palace"), Path(out), subjects={n}, seed=20210524)
    sec = time.perf_counter() - t0
rows = sum(e["rows"] for e in m["forms"].values())
print(json.dumps({{"subjects": {n}, "seconds": round(sec, 2), "rows": rows}}))
"""


def run(sizes: tuple[int, ...] = SIZES) -> list[dict]:
    """Simulate each size in a fresh process per string layout and print seconds, rows and peak RSS."""
    results = []
    for n in sizes:
        secs = {}
        for storage in STORAGES:
            r = measure_in_child(CHILD.format(n=n), storage)
            r["storage"] = storage
            results.append(r)
            secs[storage] = r["seconds"]
            print(f"simulate {n:>7,} subjects, {storage:>7} strings: {r['seconds']:7.2f} s  {r['rows']:>10,} rows  "
                  f"peak RSS {r['peak_rss_mib']:8.1f} MiB", flush=True)
        layout_ratio(f"simulate {n} subjects", secs)
    return results
