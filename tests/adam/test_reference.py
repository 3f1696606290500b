"""The ADaM derived from the committed reference SDTM equals the committed reference ADaM.

Hand-checked subjects (BICR, RECIST 1.1 / admiralonco / FDA PFS censoring), see the issue note:
PALACE-102-002 (SD, SD, SD, then PR on day 335 with no later scan: BOR PR, CBOR SD from day 82,
CBR24/CBR48 Y, PFS censored at day 335); PALACE-101-002 (PD at the first scan, day 88: BOR PD, PFS
event 88); PALACE-101-003, -103-001, -105-003 (off study before week 12: BOR MISSING, PFS censored
at first dose, AVAL 1, OS censored at the last visit).
"""

from __future__ import annotations

import pytest

from studyforge.compare import assert_datasets_equal
from tests.adam.reference import REF_ADAM, SPEC_DIR, derive_reference, read_typed_csv


@pytest.fixture(scope="module")
def spec():
    from studyforge.spec.loader import load_spec

    return load_spec(SPEC_DIR)


@pytest.fixture(scope="module")
def derived(spec):
    return derive_reference(spec)


def test_same_datasets_as_reference(derived):
    assert sorted(p.stem.upper() for p in REF_ADAM.glob("*.csv")) == sorted(derived)


@pytest.mark.parametrize("name", sorted(p.stem.upper() for p in REF_ADAM.glob("*.csv")))
def test_dataset_equals_reference(spec, derived, name):
    ds = spec.datasets[name]
    expected = read_typed_csv(REF_ADAM / f"{name.lower()}.csv", ds)
    keys = [k for k in ds.keys if k in expected.columns]
    assert_datasets_equal(derived[name], expected, keys=keys, tolerance=1e-9)


def test_hand_checked_subjects(derived):
    """Values worked out by hand from the reference RS records (dates as SAS day numbers)."""
    adrs = derived["ADRS"].set_index(["USUBJID", "PARAMCD"])
    assert adrs.loc[("PALACE-102-002", "BOR"), "AVALC"] == "PR"     # best of SD, SD, SD, PR
    assert adrs.loc[("PALACE-102-002", "CBOR"), "AVALC"] == "SD"    # PR on the last scan is unconfirmed
    assert adrs.loc[("PALACE-102-002", "CBR48"), "AVALC"] == "Y"    # PR within 336 +/- 14, no PD
    assert adrs.loc[("PALACE-101-002", "BOR"), "AVALC"] == "PD"
    assert adrs.loc[("PALACE-103-001", "BOR"), "AVALC"] == "MISSING"
    tte = derived["ADTTE"].set_index(["USUBJID", "PARAMCD"])
    assert tuple(tte.loc[("PALACE-101-002", "PFS"), ["AVAL", "CNSR"]]) == (88.0, 0.0)   # 22656 - 22569 + 1
    assert tuple(tte.loc[("PALACE-102-002", "PFS"), ["AVAL", "CNSR"]]) == (335.0, 2.0)  # 22814 - 22480 + 1
    assert tuple(tte.loc[("PALACE-103-001", "PFS"), ["AVAL", "CNSR"]]) == (1.0, 1.0)    # censored at first dose
