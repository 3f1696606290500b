"""The SDTM stage's rules as `studyforge spec check` sees them: rule name -> parameter model, plus the
derivation-order check. Every rule is registered once, in its own module (sdtm/rules/base.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from studyforge.spec.models import Dataset, Spec

from .rules import load_all
from .rules.base import parse_params
from .rules.order import order_problems as _order_problems


class RuleTable(dict):
    """{rule name: params model}; `order_problems(ds, spec)` gives the (variable, message) of each read
    that cannot be satisfied and each cycle among a dataset's derivations."""

    def order_problems(self, ds: Dataset, spec: Spec | None = None) -> list[tuple[str, str]]:
        if ds.derivation is None or ds.derivation.rule == "suppqual":
            return []
        supp = spec.datasets.get(f"SUPP{ds.name}") if spec is not None else None
        return _order_problems(ds, supp)


def rule_table() -> RuleTable:
    return RuleTable({name: r.params for name, r in sorted(load_all().items())})


RULES: RuleTable = rule_table()


def method(rule_name: str, params: dict[str, Any]) -> str:
    """The method text of a derivation, for define.xml."""
    from .rules import rule

    r = rule(rule_name)
    return r.method_text(r.parse(params))


__all__ = ["RULES", "RuleTable", "method", "parse_params", "BaseModel"]
