"""Shared fixtures: paths that work in CI (../shared beside the clone) and for users (packaged copy).

String backend: pandas 3 stores text as Python objects or, when pyarrow is installed, as Arrow
strings, and users do not choose which.  STUDYFORGE_STRING_STORAGE=python|pyarrow fixes the layout
for a whole run (set here, before any test module builds a frame); `make test` runs the suite with
"python" and the XPT, Dataset-JSON and SDTM tests a second time with "pyarrow"."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

STRING_STORAGE = os.environ.get("STUDYFORGE_STRING_STORAGE", "python")
if STRING_STORAGE not in ("python", "pyarrow"):
    raise pytest.UsageError(f"STUDYFORGE_STRING_STORAGE={STRING_STORAGE!r}: expected python or pyarrow")
if STRING_STORAGE == "pyarrow" and importlib.util.find_spec("pyarrow") is None:
    raise pytest.UsageError("STUDYFORGE_STRING_STORAGE=pyarrow needs pyarrow installed (pip install -e '.[test]')")
pd.options.mode.string_storage = STRING_STORAGE


def pytest_report_header(config: pytest.Config) -> str:
    return f"pandas {pd.__version__}, text stored as {pd.Series(['x']).dtype.storage} strings"


@pytest.fixture(scope="session")
def string_storage() -> str:
    """The layout of pandas' default `str` dtype in this run: "python" or "pyarrow"."""
    return pd.Series(["x"]).dtype.storage


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def palace_spec_dir() -> Path:
    return ROOT / "specs" / "palace"
