"""Shared measuring helpers for benchmarks: wall time and peak RSS of a child process, per string layout.

pandas 3 stores text as Python objects or, when pyarrow is installed, as Arrow strings; users do not
choose which, so every benchmark runs each measurement once per layout (`STORAGES`) in the same run
and prints the ratio between them.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap

STORAGES = ("python", "pyarrow") if importlib.util.find_spec("pyarrow") else ("python",)


def measure_in_child(code: str, storage: str | None = None, cwd: str | None = None) -> dict:
    """Run `code` in a fresh interpreter; it must print one JSON object as its last line.

    `storage` ("python" | "pyarrow") sets pandas' string storage before `code` runs, so every text
    column the child makes has that layout.  The child's peak RSS (VmHWM of /proc/self/status) is added as
    `peak_rss_mib`, so each measured step starts from a clean process and one step's memory does not
    hide another's.  `cwd`: the source tree to run in (its packages shadow the installed ones).
    """
    prefix = "" if storage is None else (
        f"import pandas as _pd\n_pd.options.mode.string_storage = {storage!r}\n"
        f"assert _pd.Series(['x']).dtype.storage == {storage!r}\n")
    wrapper = prefix + textwrap.dedent(code) + textwrap.dedent(
        """
        import json as _j
        # VmHWM, not ru_maxrss: the latter starts from the parent's peak (exec keeps it), so a bench
        # process that once held a big file made every later child look as big
        print(_j.dumps({"__peak_rss_kib": next(int(_l.split()[1]) for _l in open("/proc/self/status")
                                               if _l.startswith("VmHWM"))}))
        """
    )
    out = subprocess.run([sys.executable, "-c", wrapper], check=True, capture_output=True, text=True, cwd=cwd)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    result = json.loads(lines[-2]) if len(lines) >= 2 else {}
    result["peak_rss_mib"] = json.loads(lines[-1])["__peak_rss_kib"] / 1024
    return result


def layout_ratio(what: str, seconds: dict[str, float]) -> None:
    """Print how much slower (>1) or faster (<1) the Arrow layout was than the Python one."""
    if "python" in seconds and "pyarrow" in seconds and seconds["python"] > 0:
        print(f"{what}: pyarrow / python strings = {seconds['pyarrow'] / seconds['python']:.2f}x time", flush=True)
