"""SDTM stage: raw -> SDTM for 1,000 and 10,000 subjects, stage by stage (read, spec, build, write) with peak RSS,
once per string layout; with --baseline REV the same bench also runs on REV (a temporary git worktree) in the same run."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

from benchmarks.common import STORAGES, layout_ratio, measure_in_child

SIZES = (1_000, 10_000)
TARGET_10K = 46.0   # seconds, spec + read + build + write, with either string layout (issues 11 and 16)
LIMIT_MIB = 4096    # peak RSS at 10,000 subjects (issue 11)
ROOT = Path(__file__).resolve().parent.parent

# Runs in the source tree given as the child's working directory (this checkout or a baseline worktree):
# the folder's own packages shadow the installed ones.  The raw folder is read the way the CLI reads it
# (with the spec's raw settings) where the code has read_for_spec, else as the older code did.
_CHILD = """
import json, time, contextlib, io
from pathlib import Path
t = {}
t0 = time.perf_counter()
import sdtm.readers as _readers
from studyforge.spec.loader import load_spec
from sdtm.pipeline import build_sdtm
from studyforge.dataset_writer import write_dataset_xpt
t['import_s'] = time.perf_counter() - t0
t0 = time.perf_counter(); spec = load_spec('specs/palace'); t['spec_s'] = time.perf_counter() - t0
t0 = time.perf_counter()
raw, _ = _readers.read_for_spec(RAW, spec) if hasattr(_readers, 'read_for_spec') else _readers.read_raw_dir(RAW)
t['read_s'] = time.perf_counter() - t0
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

_SIMULATE = """
import json, time, contextlib, io
from pathlib import Path
from sdtm.simulate.command import simulate_command
t0 = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    simulate_command(Path('specs/palace'), subjects=NSUBJ, seed=None, out_dir=Path(RAW), overrides=())
print(json.dumps({'simulate_s': time.perf_counter() - t0}))
"""


@contextlib.contextmanager
def worktree(rev: str) -> Iterator[str]:
    """A temporary detached git worktree of `rev`, removed afterwards."""
    path = tempfile.mkdtemp(prefix="bench-baseline-")
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--force", path, rev],
                   check=True, capture_output=True, text=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", path], capture_output=True)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], capture_output=True)


def _digest(path: str) -> str:
    """SHA-256 of a file read 1 MiB at a time (this process stays small: its peak would show in the children's)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _one(tree: str, raw: str, out: str, storage: str) -> dict | None:
    try:
        return measure_in_child(_CHILD.replace("RAW", repr(raw)).replace("OUT", repr(out)), storage, cwd=tree)
    except subprocess.CalledProcessError as exc:   # an old revision may not run on this layout: say so
        last = (exc.stderr or "").strip().splitlines()[-1:] or ["?"]
        print(f"    failed: {last[0]}", flush=True)
        return None


def _line(label: str, n: int, storage: str, res: dict) -> float:
    total = res["spec_s"] + res["read_s"] + res["build_s"] + res["write_s"]
    target = f" (target <= {TARGET_10K:.0f} s, {LIMIT_MIB} MiB)" if n == 10_000 else ""
    print(f"{n:>6} subjects, {label:>9}, {storage:>7} strings: spec {res['spec_s']:.1f} s, read {res['read_s']:.1f} s, "
          f"build {res['build_s']:.1f} s, write {res['write_s']:.1f} s = {total:.1f} s{target}; raw "
          f"{res['raw_records']:,} -> SDTM {res['sdtm_records']:,} records; {res['findings']:,} findings; "
          f"peak RSS {res['peak_rss_mib']:.0f} MiB", flush=True)
    return total


def run(baseline: str | None = None, sizes: tuple[int, ...] = SIZES) -> dict:
    """Each size: simulate raw (not counted), then raw -> SDTM once per string layout; with `baseline`,
    the same on that revision (its own simulator, same subject count and default seed), and the ratios."""
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    results: dict = {}
    with contextlib.ExitStack() as stack:
        trees = {"this tree": str(ROOT)}
        if baseline:
            trees[f"@{baseline[:9]}"] = stack.enter_context(worktree(baseline))
        for n in sizes:
            with tempfile.TemporaryDirectory(prefix=f"bench-sdtm-{n}-") as tmp:
                totals: dict[str, dict[str, float]] = {}
                for label, tree in trees.items():
                    raw = os.path.join(tmp, f"raw-{len(totals)}")
                    sim = measure_in_child(_SIMULATE.replace("NSUBJ", str(n)).replace("RAW", repr(raw)), cwd=tree)
                    print(f"{n:>6} subjects, {label:>9}: simulated in {sim['simulate_s']:.1f} s (not counted)", flush=True)
                    totals[label] = {}
                    for storage in STORAGES:
                        out = os.path.join(tmp, f"out-{len(totals)}-{storage}")
                        res = _one(tree, raw, out, storage)
                        if res is not None:
                            totals[label][storage] = _line(label, n, storage, res)
                            results[(label, n, storage)] = res
                    if label == "this tree" and len(totals[label]) == len(STORAGES):
                        outs = [os.path.join(tmp, f"out-1-{s}") for s in STORAGES]
                        same = all(_digest(os.path.join(outs[0], f)) == _digest(os.path.join(o, f))
                                   for o in outs[1:] for f in sorted(os.listdir(outs[0])))
                        print(f"{n:>6} subjects: XPT files byte-identical across string layouts: {same}", flush=True)
                    layout_ratio(f"raw -> SDTM, {n} subjects, {label}", totals[label])
                for storage in STORAGES:
                    mine = totals["this tree"].get(storage)
                    if n == 10_000 and mine:
                        print(f"{n:>6} subjects, {storage:>7} strings: {mine:.1f} s = {mine / TARGET_10K:.2f}x the "
                              f"{TARGET_10K:.0f} s target", flush=True)
                    for label in list(trees)[1:]:
                        base = totals[label].get(storage)
                        if mine and base:
                            print(f"{n:>6} subjects, {storage:>7} strings: this tree / {label} = {mine / base:.2f}x time "
                                  f"({mine:.1f} s vs {base:.1f} s, same run)", flush=True)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    return results


if __name__ == "__main__":
    run()
