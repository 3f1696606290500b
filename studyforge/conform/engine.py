"""Run the registered rules over a package view and order the findings deterministically."""

from __future__ import annotations

from typing import Iterable

from studyforge.conform.package import PackageView
from studyforge.conform.rules import Rule, all_rules
from studyforge.findings import Finding, Findings, Severity

SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.NOTICE: 2}


def run_checks(view: PackageView, rule_ids: Iterable[str] | None = None) -> Findings:
    """All findings of the selected rules (all by default), errors first, then by rule and dataset.

    A check that raises is reported as an ERROR of its own rule (never a silent skip).
    """
    rules = all_rules()
    selected: list[Rule] = [rules[r] for r in rule_ids] if rule_ids is not None else list(rules.values())
    found: list[Finding] = [f for f in view.layout_problems if rule_ids is None or f.rule in set(rule_ids)]
    for rule in selected:
        if rule.check is None:
            continue
        try:
            found.extend(rule.check(view))
        except Exception as exc:  # noqa: BLE001 - reported, not swallowed
            found.append(Finding(Severity.ERROR, rule.id, f"check could not run: {type(exc).__name__}: {exc}"))
    found.sort(key=lambda f: (SEVERITY_ORDER[f.severity], f.rule, f.dataset))
    return Findings(found)
