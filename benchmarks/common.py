"""Shared measuring helpers for benchmarks: wall time and peak RSS of a child process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def measure_in_child(code: str) -> dict:
    """Run `code` in a fresh interpreter; it must print one JSON object as its last line.

    The child's peak RSS (ru_maxrss, KiB on Linux) is added as `peak_rss_mib`, so each measured
    step starts from a clean process and one step's memory does not hide another's.
    """
    wrapper = textwrap.dedent(code) + textwrap.dedent(
        """
        import resource as _r, json as _j
        print(_j.dumps({"__peak_rss_kib": _r.getrusage(_r.RUSAGE_SELF).ru_maxrss}))
        """
    )
    out = subprocess.run([sys.executable, "-c", wrapper], check=True, capture_output=True, text=True)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    result = json.loads(lines[-2]) if len(lines) >= 2 else {}
    result["peak_rss_mib"] = json.loads(lines[-1])["__peak_rss_kib"] / 1024
    return result
