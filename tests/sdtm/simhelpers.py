"""Shared helpers for the simulator tests: clean-run overrides and an independent EDC date parser."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

import pandas as pd

from sdtm.simulate.config import load_config
from sdtm.simulate.generate import generate_forms

SPEC = Path(__file__).resolve().parents[2] / "specs" / "palace"

CLEAN = (
    "messiness.partial_dates=0", "messiness.missed_visits=0", "messiness.unscheduled_visits=0",
    "messiness.out_of_window=0", "messiness.unit_variants=0", "messiness.codelist_variants=0",
    "messiness.duplicate_records=0", "messiness.out_of_range=0", "messiness.missing_values=0",
    "messiness.non_ascii=false", "messiness.impossible_dates=false",
)


@lru_cache(maxsize=16)
def run(overrides: tuple[str, ...] = (), subjects: int = 40, seed: int = 7) -> dict[str, pd.DataFrame]:
    """All forms in memory (same frames the CSV writer gets)."""
    cfg, forms = load_config(SPEC, overrides)
    return dict(generate_forms(cfg, forms, subjects, seed))


def edc(text: str) -> dt.date:
    """Parse a complete EDC date "DD MON YYYY" (independent of the simulator's formatter)."""
    return dt.datetime.strptime(text.title(), "%d %b %Y").date()
