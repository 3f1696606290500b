"""Shared fixtures: paths that work in CI (../shared beside the clone) and for users (packaged copy)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def palace_spec_dir() -> Path:
    return ROOT / "specs" / "palace"
