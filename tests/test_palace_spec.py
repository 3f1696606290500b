"""The shipped PALACE spec is valid (no errors, no warnings) and in canonical `spec fmt` form."""

from __future__ import annotations

from studyforge.cli import rule_registries
from studyforge.spec.check import check_spec
from studyforge.spec.fmt import format_spec_dir
from studyforge.spec.loader import load_spec_with_locations


def test_palace_spec_checks_clean(palace_spec_dir):
    spec, locations = load_spec_with_locations(palace_spec_dir)
    findings = check_spec(spec, locations, rule_registries())
    serious = [str(f) for f in findings if f.severity.value in ("ERROR", "WARNING")]
    assert serious == []
    assert {"DM", "AE", "EX", "LB", "QS", "RS", "TR", "TU", "TS", "ADSL", "ADRS", "ADTTE"} <= set(spec.datasets)


def test_palace_spec_is_canonical(palace_spec_dir):
    assert format_spec_dir(palace_spec_dir, write=False) == []
