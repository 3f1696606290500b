"""A fresh build of the default study (simulated, default seed) equals the committed reference SDTM.

Regenerate after an intended change: studyforge simulate --out /tmp/raw43 &&
.venv/bin/python -m sdtm.tools.reference /tmp/raw43   (then review the git diff).
"""

from __future__ import annotations

import contextlib
import io

import pytest

from sdtm.command import run_sdtm
from sdtm.tools.reference import REF, compare_keys, read_reference
from studyforge.compare import assert_datasets_equal


@pytest.fixture(scope="module")
def fresh(project_root, tmp_path_factory):
    from sdtm.simulate.command import simulate_command

    raw = tmp_path_factory.mktemp("raw43")
    with contextlib.redirect_stdout(io.StringIO()):
        assert simulate_command(project_root / "specs" / "palace", subjects=None, seed=None, out_dir=raw,
                                overrides=()) == 0
    datasets, findings, recon, spec = run_sdtm(raw, project_root / "specs" / "palace")
    return datasets, spec


def test_same_datasets_as_reference(fresh):
    datasets, _ = fresh
    assert sorted(p.stem.upper() for p in REF.glob("*.csv")) == sorted(datasets)


@pytest.mark.parametrize("name", sorted(p.stem.upper() for p in REF.glob("*.csv")))
def test_dataset_equals_reference(fresh, name):
    datasets, spec = fresh
    ds = spec.datasets[name]
    actual = datasets[name]
    expected = read_reference(ds)
    assert_datasets_equal(actual, expected, keys=compare_keys(ds, actual), tolerance=1e-9)
