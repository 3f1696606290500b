"""The registry of conformance rules: stable ID, one-line description, severity, source, scope, check.

A check is a pure function `PackageView -> list[Finding]` that reports one rule. IDs never change
meaning once published; a retired rule keeps its ID unused.

ID families: SF-PK package layout · SF-FDA FDA Technical Rejection Criteria · SF-SD structure vs
spec/standard · SF-DX structure vs define.xml · SF-CT controlled terminology · SF-DT dates ·
SF-ID identifiers and keys · SF-VL values · SF-XD cross-dataset (SDTM) · SF-AD ADaM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

from studyforge.findings import Finding, Severity

AppliesTo = Literal["SDTM", "ADaM", "package"]


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    severity: Severity
    source: str
    applies_to: AppliesTo
    check: Callable[..., list[Finding]] | None = None


RULES: dict[str, Rule] = {}


def register(id: str, description: str, severity: Severity, source: str, applies_to: AppliesTo):
    """Decorator: add a check function to the registry under a stable rule ID."""

    def deco(fn: Callable[..., list[Finding]]) -> Callable[..., list[Finding]]:
        if id in RULES:
            raise ValueError(f"rule {id} registered twice")
        RULES[id] = Rule(id, description, severity, source, applies_to, fn)
        fn.rule = RULES[id]  # type: ignore[attr-defined]
        return fn

    return deco


def declare(id: str, description: str, severity: Severity, source: str, applies_to: AppliesTo) -> Rule:
    """A rule reported outside the check functions (package loading)."""
    RULES[id] = Rule(id, description, severity, source, applies_to, None)
    return RULES[id]


declare("SF-PK-0001", "Package follows the eCTD m5/datasets/<study>/ folder layout", Severity.ERROR,
        "FDA Study Data Technical Conformance Guide section 7 (eCTD)", "package")
declare("SF-PK-0002", "Every dataset file can be read as SAS XPORT v5", Severity.ERROR,
        "FDA TCG section 3.3.1 (SAS XPORT v5)", "package")
declare("SF-PK-0003", "Dataset file names are the lower-case dataset name", Severity.ERROR,
        "FDA TCG section 4.1.1.1", "package")


def all_rules() -> dict[str, Rule]:
    """Every registered rule, in ID order (importing the check modules registers them)."""
    from studyforge.conform import (  # noqa: F401
        checks_adam,
        checks_content,
        checks_cross,
        checks_design,
        checks_fda,
        checks_structure,
        checks_values,
    )

    return dict(sorted(RULES.items()))
