"""`make bench`: run every benchmarks/bench_*.py module's run() and print what each measured.

Benchmarks report numbers; they never fail the test suite. `python -m benchmarks NAME` runs one;
`--baseline REV` also runs the raw -> SDTM bench on git revision REV (a temporary worktree) in the same
run and prints the ratios; `--sizes 10000` limits the SDTM bench to those subject counts.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import subprocess
import sys
import time

import benchmarks


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks")
    ap.add_argument("names", nargs="*", help="run the benchmarks whose module name contains one of these")
    ap.add_argument("--baseline", metavar="REV", help="git revision to measure raw -> SDTM against, same run")
    ap.add_argument("--sizes", metavar="N,N", help="subject counts for the SDTM bench (default 1000,10000)")
    args = ap.parse_args(argv)
    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))
    if args.names:
        names = [n for n in names if any(a in n for a in args.names)]
    options = {"baseline": args.baseline or None,
               "sizes": tuple(int(x) for x in args.sizes.split(",")) if args.sizes else None}
    from studyforge import xpt
    print("compiled loops (studyforge/_speedups.c): "
          + ("on" if xpt._speedups is not None else "OFF - not built or STUDYFORGE_NO_SPEEDUPS set"), flush=True)
    failed = []
    for name in names:
        mod = importlib.import_module(f"benchmarks.{name}")
        print(f"\n=== {name}: {(mod.__doc__ or '').strip().splitlines()[0] if mod.__doc__ else ''}", flush=True)
        accepted = inspect.signature(mod.run).parameters
        kwargs = {k: v for k, v in options.items() if v is not None and k in accepted}
        t0 = time.perf_counter()
        try:
            mod.run(**kwargs)
        except subprocess.CalledProcessError as exc:     # one broken bench must not hide the others' numbers
            last = (exc.stderr or "").strip().splitlines()[-1:] or ["?"]
            print(f"--- {name} FAILED: {last[0]}", flush=True)
            failed.append(name)
            continue
        print(f"--- {name} done in {time.perf_counter() - t0:.1f} s", flush=True)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
