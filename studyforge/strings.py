"""One text layout inside studyforge's row-heavy stages, whatever pandas' default.

pandas 3 stores text as Python objects or, when pyarrow is installed, as Arrow strings, and users do not
choose which.  Arrow strings are fast to scan but slow to gather row by row (a random take of 2.2 million
short strings costs ~0.3 s against ~0.02 s for object pointers), and building and writing SDTM reorders,
filters and broadcasts rows all the time.  So those stages normalise at their edges: they run with
Python-object text, and a frame handed over in Arrow strings is converted on the way in.  Outputs are
byte-identical either way (tests/test_string_backends.py)."""

from __future__ import annotations

import functools
from typing import Callable

import pandas as pd

from studyforge.xpt import text_layout


def python_strings(fn: Callable) -> Callable:
    """Run `fn` with pandas' default text dtype stored as Python objects."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        with pd.option_context("mode.string_storage", "python"):
            return fn(*args, **kwargs)
    return run


def with_python_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """frame with any Arrow-backed text column converted to Python-object `str` (frame itself when none)."""
    arrow = [c for c in frame.columns if text_layout(frame[c].dtype) == "arrow"]
    if not arrow:
        return frame
    with pd.option_context("mode.string_storage", "python"):
        return frame.astype({c: str for c in arrow})
