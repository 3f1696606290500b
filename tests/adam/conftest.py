"""Fixtures for the ADSL/ADTTE/pipeline tests: the PALACE ADaM specs read straight from YAML.

The spec loader (studyforge.spec.loader) is another engineer's; these tests build the models from
the YAML themselves so that they test the ADaM stage alone.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from studyforge.dates import iso_to_sas_date
from studyforge.spec.loader import load_dataset_file
from studyforge.spec.models import Dataset

ADAM_SPEC = Path(__file__).resolve().parents[2] / "specs" / "palace" / "adam"


def load_dataset(name: str) -> Dataset:
    return load_dataset_file(ADAM_SPEC / f"{name}.yaml")  # with the ADaMIG metadata the YAML inherits


def sas(iso: str) -> float:
    """SAS date number of a complete ISO date (the tests' way to write expected dates readably)."""
    return float(iso_to_sas_date(pd.Series([iso])).iloc[0])


@pytest.fixture(scope="session")
def adsl_spec() -> Dataset:
    return load_dataset("ADSL")


@pytest.fixture(scope="session")
def adtte_spec() -> Dataset:
    return load_dataset("ADTTE")
