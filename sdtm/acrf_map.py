"""What each raw CRF field feeds: the annotations of the annotated CRF, read from the spec through the rule
registry (each rule declares the raw fields it reads), so the aCRF cannot disagree with the mapping."""

from __future__ import annotations

import csv
from pathlib import Path

from pydantic import ValidationError

from studyforge.acrf import CrfField, Layout, layout
from studyforge.spec.models import Spec

from .readers import SKIP_FILES
from .rules.base import REGISTRY


class AnnotationError(ValueError):
    """A derivation whose raw fields cannot be read (unknown rule, params the rule rejects): the spec
    check reports it first in a build; reaching here unchecked, it stops the aCRF instead of leaving a
    field unannotated without a word."""


def _fields_of(rule_name: str, params: dict, where: str) -> list[str]:
    if not rule_name:
        return []
    r = REGISTRY.get(rule_name)
    if r is None:
        raise AnnotationError(f"{where}: unknown rule {rule_name!r}; cannot annotate the CRF")
    try:
        parsed = r.parse(params)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise AnnotationError(f"{where}: rule {rule_name} rejects its params ({loc}: {first['msg']}); "
                              "cannot annotate the CRF") from None
    return list(r.fields(parsed))


def annotations(spec: Spec) -> dict[tuple[str, str], list[str]]:
    """(form, raw field) -> ["DATASET.VARIABLE", ...] for every SDTM variable made from a raw field."""
    from .engine import load_all

    load_all()
    out: dict[tuple[str, str], list[str]] = {}

    def add(forms: list[str], field: str, target: str) -> None:
        for form in forms:
            out.setdefault((form, field), [])
            if target not in out[(form, field)]:
                out[(form, field)].append(target)

    for ds in spec.sdtm():
        forms = list(ds.sources)
        for v in ds.variables:
            if v.derivation is not None:
                for f in _fields_of(v.derivation.rule, v.derivation.params, f"{ds.name}.{v.name}"):
                    add(forms, f, f"{ds.name}.{v.name}")
        if ds.derivation is not None:
            if ds.derivation.rule == "suppqual":
                parent = ds.domain or ds.name[4:]
                parent_ds = spec.datasets.get(parent)
                pforms = list(parent_ds.sources) if parent_ds else forms
                for q in ds.derivation.params.get("qualifiers", []):
                    d = q.get("derivation") or {}
                    for f in _fields_of(d.get("rule", ""), d.get("params", {}), f"{ds.name}.{q.get('qnam')}"):
                        add(pforms, f, f"{ds.name}.{q.get('qnam')}")
            else:
                for f in _fields_of(ds.derivation.rule, ds.derivation.params, ds.name):
                    add(forms, f, ds.name)
        for form in forms:
            for col in spec.study.raw.for_form(form).key_columns():
                add([form], col, f"{ds.name}.USUBJID")
    return out


def crf_layout(raw_dir: Path, spec: Spec) -> tuple[Layout, dict[str, str]]:
    """The aCRF layout: fields from the EDC data dictionary (dictionary.csv: form, field, label, type) when the
    delivery has one, else each raw CSV's header; annotated from the spec."""
    notes = annotations(spec)
    forms: dict[str, tuple[str, list[CrfField]]] = {}
    dictionary = Path(raw_dir) / "dictionary.csv"
    rows: list[dict] = []
    if dictionary.is_file():
        with dictionary.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    else:
        for p in sorted(Path(raw_dir).glob("*.csv")):
            if p.name in SKIP_FILES:  # not forms (e.g. the simulator's fault ledger)
                continue
            with p.open(newline="", encoding="latin-1") as fh:
                header = next(csv.reader(fh), [])
            rows += [{"form": p.stem, "field": h, "label": h, "type": "text"} for h in header]
    # a builder that reorganises its forms (RECIST lesions, questionnaire transposes) reads every field of them:
    # a field no variable rule names is annotated with the dataset it builds, never called NOT SUBMITTED
    builders = {f: d.name for d in spec.sdtm() if d.derivation and d.derivation.rule not in ("forms", "suppqual")
                for f in d.sources}
    for r in rows:
        form, fld = r.get("form", ""), r.get("field", "")
        if not notes.get((form, fld)) and form in builders:
            notes[(form, fld)] = [builders[form]]
        label, fields = forms.setdefault(form, (form.upper(), []))
        fields.append(CrfField(form, fld, r.get("label") or fld, r.get("type") or "text",
                               tuple(notes.get((form, fld), []))))
    labels = {d.name: d.label for d in spec.datasets.values()}
    return layout(forms), labels
