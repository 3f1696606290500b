"""Shared test helpers: a writable copy of the example spec and exact text edits on it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "spec_example"


def copy_example(dest: Path) -> Path:
    target = dest / "spec"
    shutil.copytree(EXAMPLE, target)
    return target


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    """Replace `old` by `new` in a file; fail loudly when `old` is not there (a test must not pass vacuously)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= count, f"{old!r} not found {count} time(s) in {path}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    """1-based line number of the n-th line containing `needle`."""
    hits = [i + 1 for i, ln in enumerate(path.read_text(encoding="utf-8").splitlines()) if needle in ln]
    assert len(hits) >= occurrence, f"{needle!r} not in {path}"
    return hits[occurrence - 1]


class Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class ConstantParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: str


class AgeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    birth: str
    ref: str


SDTM_RULES = ["constant", "concat", "copy", "first_dose_dtc", "last_dose_dtc", "iso8601", "flag_if_present",
              "ct_map", "decode", "actual_arm", "subject_key", "sequence", "epoch", "study_day"]


def registries() -> dict[str, dict[str, Any]]:
    """A stand-in for the stages' registries covering every rule the example spec uses."""
    tab: dict[str, Any] = {r: Loose for r in SDTM_RULES}
    tab.update({"constant": ConstantParams, "age_years": AgeParams, "last_contact_dtc": None,
                "arm_null_reason": None})
    return {"Tabulation": tab, "Analysis": {"population_flag": Loose, "sas_date": Loose}}
