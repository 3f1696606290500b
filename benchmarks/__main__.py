"""`make bench`: run every benchmarks/bench_*.py module's run() and print what each measured.

Benchmarks report numbers; they never fail the test suite. `python -m benchmarks NAME` runs one.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import benchmarks


def main(argv: list[str]) -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))
    if argv:
        names = [n for n in names if any(a in n for a in argv)]
    for name in names:
        mod = importlib.import_module(f"benchmarks.{name}")
        print(f"\n=== {name}: {(mod.__doc__ or '').strip().splitlines()[0] if mod.__doc__ else ''}", flush=True)
        t0 = time.perf_counter()
        mod.run()
        print(f"--- {name} done in {time.perf_counter() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
