"""The spec gate the stages run first (`sdtm`, `adam`, `build`): load and check a spec, and refuse it when
anything is an error, listing every problem as one `file:line: object: message` line (never a traceback)."""

from __future__ import annotations

from pathlib import Path

from studyforge.findings import Severity
from studyforge.spec.loader import Located, SpecError, load_spec_with_locations
from studyforge.spec.models import Spec

__all__ = ["SpecError", "default_registries", "load_checked"]


def default_registries() -> dict[str, dict]:
    """The derivation rules each stage publishes (purpose -> {rule name: params model})."""
    from adam.registry import RULES as ADAM_RULES
    from sdtm.registry import RULES as SDTM_RULES

    return {"Tabulation": SDTM_RULES, "Analysis": ADAM_RULES}


def load_checked(spec_dir: Path | str, registries: dict[str, dict] | None = None) -> Spec:
    """The loaded spec when `spec check` finds no error; else SpecError with every error located
    (load errors: YAML syntax, unknown keys, bad values; check errors: unknown rules, bad params, dangling
    codelist/method references, IG type contradictions ...). Warnings do not stop a stage."""
    from studyforge.spec.check import check_spec

    spec, locations = load_spec_with_locations(spec_dir)
    findings = check_spec(spec, locations, default_registries() if registries is None else registries)
    errors = [Located(f.file or str(spec_dir), f.line or 1, "", f.message)
              for f in findings if f.severity is Severity.ERROR]
    if errors:
        raise SpecError(errors)
    return spec
