from __future__ import annotations

from pathlib import Path

import pytest

from sdtm.pipeline import build_sdtm
from sdtm.readers import read_raw_dir
from studyforge.spec.loader import load_spec

from .rawkit import base_forms, write_forms

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def sdtm_spec():
    return load_spec(ROOT / "specs" / "palace")


@pytest.fixture(scope="session")
def kit_build(sdtm_spec, tmp_path_factory):
    """The hand-written raw kit built once: (datasets, findings, reconciliation, raw folder)."""
    folder = write_forms(base_forms(), tmp_path_factory.mktemp("rawkit"))
    raw, read_findings = read_raw_dir(folder)
    ds, findings, recon = build_sdtm(raw, sdtm_spec)
    return ds, read_findings + findings, recon, folder


def build_with(sdtm_spec, tmp_path, edit):
    """Build the kit after `edit(forms)` changed the raw forms; returns (datasets, findings, recon)."""
    forms = base_forms()
    edit(forms)
    folder = write_forms(forms, tmp_path / "raw")
    raw, rf = read_raw_dir(folder)
    ds, findings, recon = build_sdtm(raw, sdtm_spec)
    return ds, rf + findings, recon
