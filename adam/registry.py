"""The ADaM stage's derivation rules: rule name -> pydantic model of its params (for `spec check`).

Every module is imported directly: a broken module fails with its own error, never as "unknown rule".
"""

from __future__ import annotations

from pydantic import BaseModel

from adam.adae import RULES as ADAE_RULES
from adam.adex import RULES as ADEX_RULES
from adam.adlb import RULES as ADLB_RULES
from adam.adqs import RULES as ADQS_RULES
from adam.adrs import RULES as ADRS_RULES
from adam.adsl import RULES as ADSL_RULES
from adam.adsym import RULES as ADSYM_RULES
from adam.adtr import RULES as ADTR_RULES
from adam.adtte import RULES as ADTTE_RULES


def _merged() -> dict[str, type[BaseModel] | None]:
    rules: dict[str, type[BaseModel] | None] = {}
    for part in (ADSL_RULES, ADTTE_RULES, ADRS_RULES, ADAE_RULES, ADEX_RULES, ADLB_RULES, ADQS_RULES, ADSYM_RULES,
                 ADTR_RULES):
        clash = sorted(set(rules) & set(part))
        if clash:
            raise RuntimeError(f"ADaM rule name(s) defined twice: {', '.join(clash)}")
        rules.update(part)
    return rules


RULES: dict[str, type[BaseModel] | None] = _merged()
