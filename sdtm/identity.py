"""The study's raw identity as the rules see it: per form, who and where each raw record is."""

from __future__ import annotations

from studyforge.spec.models import Spec

from .rules.base import RawIdentity

# TODO(raw): until the study spec declares `raw:` (branch raw), PALACE's EDC identity stands in here.
_LEGACY = RawIdentity(subject=("SUBJID",), site="SITEID", visit="FOLDER", position="RECORDPOSITION")
_LEGACY_FORMS = {
    "bicr_lesions": RawIdentity(subject=("SUBJID",), visit="TIMEPOINT"),
    "bicr_response": RawIdentity(subject=("SUBJID",), visit="TIMEPOINT"),
    "bicr_adjudication": RawIdentity(subject=("SUBJID",)),
}


def raw_identities(spec: Spec, raw: dict) -> tuple[dict[str, RawIdentity], RawIdentity | None]:
    """(identity per raw form, the study default) from the study spec."""
    return {name: _LEGACY_FORMS.get(name, _LEGACY) for name in raw} | dict(_LEGACY_FORMS), _LEGACY
