"""The study spec: pydantic model (models), YAML loading with file:line errors (loader), and the
`spec check|fmt|diff` commands. Loader names are imported lazily so `studyforge.spec.models` stays light."""

from __future__ import annotations

from typing import Any

_LAZY = {"load_spec": "loader", "load_spec_with_locations": "loader", "SpecError": "loader",
         "SourceMap": "loader", "load_checked": "gate", "check_spec": "check", "diff_specs": "diff", "format_spec_dir": "fmt"}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"studyforge.spec.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'studyforge.spec' has no attribute {name!r}")
