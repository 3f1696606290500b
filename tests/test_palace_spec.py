"""The shipped PALACE spec is valid (no errors, no warnings), in canonical `spec fmt` form, slim (it says only
what the study decides), and `spec diff` shows SDTM changes in words."""

from __future__ import annotations

import shutil
from pathlib import Path

from studyforge.cli import rule_registries
from studyforge.spec.check import check_spec
from studyforge.spec.diff import diff_specs
from studyforge.spec.fmt import format_spec_dir
from studyforge.spec.loader import load_spec, load_spec_with_locations


def test_palace_spec_checks_clean(palace_spec_dir):
    spec, locations = load_spec_with_locations(palace_spec_dir)
    findings = check_spec(spec, locations, rule_registries())
    serious = [str(f) for f in findings if f.severity.value in ("ERROR", "WARNING")]
    assert serious == []
    assert {"DM", "AE", "EX", "LB", "QS", "RS", "TR", "TU", "TS", "ADSL", "ADRS", "ADTTE"} <= set(spec.datasets)


def test_palace_spec_is_canonical(palace_spec_dir):
    assert format_spec_dir(palace_spec_dir, write=False) == []


def test_palace_sdtm_spec_inherits_instead_of_copying(palace_spec_dir):
    """No SDTM variable block repeats a label the IG gives; the whole SDTM spec shrank from 5,097 lines
    (generated, every label/type/role/core copied) to about a third."""
    files = sorted((Path(palace_spec_dir) / "sdtm").glob("*.yaml"))
    lines = sum(len(p.read_text().splitlines()) for p in files)
    assert lines <= 5097 * 0.34
    spec = load_spec(palace_spec_dir)
    assert spec.datasets["LB"].variable("LBSTRESN").label == "Numeric Result/Finding in Standard Units"
    assert "label: Numeric Result/Finding in Standard Units" not in (Path(palace_spec_dir) / "sdtm" / "LB.yaml").read_text()


def test_spec_diff_shows_an_sdtm_change_in_words(palace_spec_dir, tmp_path):
    """A hand edit of a rule parameter and a label override in the SDTM YAML is what `spec diff` reports."""
    new = tmp_path / "palace"
    shutil.copytree(palace_spec_dir, new, ignore=shutil.ignore_patterns("simulation"))
    lb = new / "sdtm" / "LB.yaml"
    text = lb.read_text()
    old_seq = "derivation: {rule: seq, params: {sort: [LBCAT, LBTESTCD, LBSPEC, LBDTC]}}"
    assert old_seq in text
    text = text.replace(old_seq, "derivation: {rule: seq, params: {sort: [LBTESTCD, LBDTC]}}")
    text = text.replace("  - name: LBCAT\n", "  - name: LBCAT\n    label: Category for Laboratory Test\n")
    lb.write_text(text)
    lines = diff_specs(load_spec(palace_spec_dir), load_spec(new))
    assert lines == [
        "LB.LBSEQ derivation: params.sort: [LBCAT, LBTESTCD, LBSPEC, LBDTC] -> [LBTESTCD, LBDTC]",
        'LB.LBCAT label: "Category for Lab Test" -> "Category for Laboratory Test"',
    ]
