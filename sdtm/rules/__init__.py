"""SDTM rules: each module here (and in sdtm/domains/, rules a spec cannot express such as RECIST
lesion linking) registers its rules with `sdtm.rules.base` (one registration per rule). Every module
of both packages is imported on first use, so a new rule needs only its file."""

from __future__ import annotations

import importlib
import pkgutil

from .base import REGISTRY, Rule, parse_params, rule

_LOADED = False


def load_all() -> dict[str, Rule]:
    """Import every rule module of the package (once) and return the registry."""
    global _LOADED
    if not _LOADED:
        from .. import domains

        for pkg in (importlib.import_module(__name__), domains):
            for mod in sorted(m.name for m in pkgutil.iter_modules(pkg.__path__)):
                if mod not in ("base", "order") and not mod.startswith("_"):
                    importlib.import_module(f"{pkg.__name__}.{mod}")
        _LOADED = True
    return REGISTRY


__all__ = ["REGISTRY", "Rule", "load_all", "parse_params", "rule"]
