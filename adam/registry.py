"""The ADaM stage's derivation rules: rule name -> pydantic model of its params (for `spec check`).

ADRS rules come from adam.adrs.RULES, imported defensively so this registry works before and
after that module lands (and while it is broken, which a spec check then reports as unknown rules).
"""

from __future__ import annotations

from pydantic import BaseModel

from adam.adae import RULES as ADAE_RULES
from adam.adex import RULES as ADEX_RULES
from adam.adlb import RULES as ADLB_RULES
from adam.adqs import RULES as ADQS_RULES
from adam.adsl import RULES as ADSL_RULES
from adam.adsym import RULES as ADSYM_RULES
from adam.adtr import RULES as ADTR_RULES
from adam.adtte import RULES as ADTTE_RULES


def _adrs_rules() -> dict[str, type[BaseModel] | None]:
    try:
        from adam.adrs import RULES as ADRS_RULES  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a missing or half-written ADRS module must not break ADSL/ADTTE
        return {}
    return dict(ADRS_RULES)


def _merged() -> dict[str, type[BaseModel] | None]:
    rules: dict[str, type[BaseModel] | None] = {}
    for part in (ADSL_RULES, ADTTE_RULES, _adrs_rules(), ADAE_RULES, ADEX_RULES, ADLB_RULES, ADQS_RULES, ADSYM_RULES,
                 ADTR_RULES):
        clash = sorted(set(rules) & set(part))
        if clash:
            raise RuntimeError(f"ADaM rule name(s) defined twice: {', '.join(clash)}")
        rules.update(part)
    return rules


RULES: dict[str, type[BaseModel] | None] = _merged()
