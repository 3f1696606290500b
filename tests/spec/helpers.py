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


SDTM_RULES = ["copy", "ct_map", "iso8601", "subject_date", "condition", "arm", "seq", "epoch", "study_day"]


def registries() -> dict[str, dict[str, Any]]:
    """A stand-in for the stages' registries (same shape: rule -> params model or None) covering every rule the
    example spec uses; tests do not depend on the stages' work in progress."""
    tab: dict[str, Any] = {r: Loose for r in SDTM_RULES}
    tab.update({"constant": ConstantParams, "age": AgeParams, "usubjid": None})
    return {"Tabulation": tab, "Analysis": {"adsl": Loose}}
