"""The trial/subject design checks (studyforge/conform/checks_design.py): registered with ID, source and
scope, and the PALACE spec built on the hand-written raw kit is clean of them. Each class has its failing
and passing hand-built cases in tests/sdtm/test_design_<class>.py."""

from __future__ import annotations

import pandas as pd

from studyforge.conform.engine import run_checks
from studyforge.conform.package import PackageView
from studyforge.conform.rules import all_rules

DESIGN_CHECKS = {"SF-XD-0201", "SF-XD-0202", "SF-XD-0203", "SF-VL-0201", "SF-VL-0202", "SF-CT-0201", "SF-FDA-0201"}


def findings(rule: str, **frames: pd.DataFrame) -> list:
    """Findings of one design rule on hand-built SDTM frames (no spec)."""
    return list(run_checks(PackageView.from_frames(sdtm=frames), [rule]))


def test_design_checks_are_registered():
    rules = all_rules()
    for rid in DESIGN_CHECKS:
        r = rules[rid]
        assert r.check is not None and r.source and r.applies_to == "SDTM" and r.description


def test_palace_spec_on_the_raw_kit_is_clean_of_design_findings(kit_build, sdtm_spec):
    view = PackageView.from_frames(sdtm=kit_build[0], spec=sdtm_spec)
    assert [str(f) for f in run_checks(view, sorted(DESIGN_CHECKS))] == []
