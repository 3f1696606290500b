"""The study's raw identity as the rules see it: per form, who and where each raw record is (the
`raw:` section of study.yaml, studyforge/spec/raw.py)."""

from __future__ import annotations

from studyforge.spec.models import Spec

from .rules.base import RawIdentity


def raw_identities(spec: Spec, raw: dict) -> tuple[dict[str, RawIdentity], RawIdentity]:
    """(identity per raw form delivered or overridden, the study default)."""
    settings = spec.study.raw
    names = set(raw) | set(settings.forms)
    return {n: RawIdentity.of(settings.for_form(n)) for n in sorted(names)}, RawIdentity.of(settings)
