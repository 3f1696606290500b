"""`spec diff`: the change between two specs in words, one line per change, in a stable order.

Order: study, datasets (SDTM then ADaM, by name; within a dataset its attributes, variables, variable
order, value-level metadata, parameters), codelists, methods, comments. Text values are shown JSON-quoted.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from pydantic import BaseModel

from studyforge.spec.models import Codelist, Dataset, Derivation, Spec, ValueLevel

DATASET_PARTS = {"name", "variables", "values", "parameters"}


def diff_specs(old: Spec, new: Spec) -> list[str]:
    """Lines describing how `new` differs from `old`; empty when they are the same."""
    out: list[str] = []
    out += _model_fields(old.study, new.study, "study", skip={"standards"})
    out += _keyed([s.model_dump() for s in old.study.standards], [s.model_dump() for s in new.study.standards],
                  "study standard", lambda s: f"{s['name']} {s['version']} ({s['type']}"
                  + (f", {s['publishing_set']})" if s["publishing_set"] else ")"))
    order = lambda name, spec: (0 if spec.datasets[name].purpose == "Tabulation" else 1, name)  # noqa: E731
    for name in sorted(set(old.datasets) - set(new.datasets), key=lambda n: order(n, old)):
        out.append(f"dataset removed: {name}")
    for name in sorted(set(new.datasets) - set(old.datasets), key=lambda n: order(n, new)):
        d = new.datasets[name]
        out.append(f"dataset added: {name} ({_q(d.label)}, {len(d.variables)} variables)")
    for name in sorted(set(old.datasets) & set(new.datasets), key=lambda n: order(n, new)):
        out += _dataset(old.datasets[name], new.datasets[name])
    out += _codelists(old.codelists, new.codelists)
    for kind, a, b in (("method", old.methods, new.methods), ("comment", old.comments, new.comments)):
        for ident in [i for i in a if i not in b]:
            out.append(f"{kind} removed: {ident}")
        for ident in [i for i in b if i not in a]:
            out.append(f"{kind} added: {ident}")
        for ident in [i for i in b if i in a]:
            out += _model_fields(a[ident], b[ident], f"{kind} {ident}", skip={"id"})
    return out


def _q(value: Any) -> str:
    """A value in words: text JSON-quoted, lists bracketed, None as (none)."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_plain(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_plain(v)}" for k, v in value.items()) + "}"
    return str(value)


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else _q(value)


def _model_fields(a: BaseModel, b: BaseModel, owner: str, skip: set[str] = frozenset()) -> list[str]:
    """One line per changed field, in model field order; sub-models as dotted names, derivations in words."""
    out = []
    for name in type(a).model_fields:
        if name in skip:
            continue
        va, vb = getattr(a, name), getattr(b, name)
        if va == vb:
            continue
        shown = "class" if name == "class_" else name
        if name == "derivation":
            out.append(_derivation(va, vb, owner))
        elif isinstance(va, BaseModel) and isinstance(vb, BaseModel):
            out += [f"{owner} {shown}.{line}" for line in _sub_fields(va, vb)]
        else:
            out.append(f"{owner} {shown}: {_q(_dump(va))} -> {_q(_dump(vb))}")
    return out


def _sub_fields(a: BaseModel, b: BaseModel) -> list[str]:
    return [f"{n}: {_q(_dump(getattr(a, n)))} -> {_q(_dump(getattr(b, n)))}"
            for n in type(a).model_fields if getattr(a, n) != getattr(b, n)]


def _dump(v: Any) -> Any:
    if isinstance(v, BaseModel):
        return v.model_dump(exclude_defaults=True)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def _derivation(a: Derivation | None, b: Derivation | None, owner: str) -> str:
    if a is None:
        return f"{owner} derivation added: rule {b.rule}" + (f"; params {_q(b.params)}" if b.params else "")
    if b is None:
        return f"{owner} derivation removed (was rule {a.rule})"
    parts = []
    if a.rule != b.rule:
        parts.append(f"rule {a.rule} -> {b.rule}")
    for k in list(a.params) + [k for k in b.params if k not in a.params]:
        if k not in b.params:
            parts.append(f"params.{k} removed (was {_plain(a.params[k])})")
        elif k not in a.params:
            parts.append(f"params.{k} added: {_plain(b.params[k])}")
        elif a.params[k] != b.params[k]:
            parts.append(f"params.{k}: {_plain(a.params[k])} -> {_plain(b.params[k])}")
    return f"{owner} derivation: " + "; ".join(parts)


def _keyed(a: list[dict], b: list[dict], owner: str, key) -> list[str]:
    ka, kb = [key(x) for x in a], [key(x) for x in b]
    return ([f"{owner} removed: {k}" for k in ka if k not in kb] +
            [f"{owner} added: {k}" for k in kb if k not in ka])


def _dataset(a: Dataset, b: Dataset) -> list[str]:
    n = b.name
    out = _model_fields(a, b, n, skip=DATASET_PARTS)
    va, vb = {v.name: v for v in a.variables}, {v.name: v for v in b.variables}
    names_a, names_b = list(va), list(vb)
    for i, name in enumerate(names_a):
        if name not in vb:
            out.append(f"{n} variable removed: {name} (was position {i + 1})")
    for i, name in enumerate(names_b):
        if name not in va:
            after = f"after {names_b[i - 1]}" if i else "first"
            out.append(f"{n} variable added: {name} at position {i + 1} ({after})")
    for name in names_b:
        if name in va:
            out += _model_fields(va[name], vb[name], f"{n}.{name}", skip={"name"})
    out += _moves(n, names_a, names_b)
    out += _values(n, a.values, b.values)
    pa, pb = {p.paramcd: p for p in a.parameters}, {p.paramcd: p for p in b.parameters}
    out += [f"{n} parameter removed: {c}" for c in pa if c not in pb]
    out += [f"{n} parameter added: {c} ({_q(pb[c].param)})" for c in pb if c not in pa]
    for c in pb:
        if c in pa:
            out += _model_fields(pa[c], pb[c], f"{n} PARAMCD={c}", skip={"paramcd"})
    return out


def _moves(ds: str, names_a: list[str], names_b: list[str]) -> list[str]:
    """Variables whose place among the common variables changed (outside a longest common order)."""
    common_a = [x for x in names_a if x in set(names_b)]
    common_b = [x for x in names_b if x in set(names_a)]
    if common_a == common_b:
        return []
    keep: set[str] = set()
    for block in difflib.SequenceMatcher(a=common_a, b=common_b, autojunk=False).get_matching_blocks():
        keep.update(common_b[block.b:block.b + block.size])
    out = []
    for i, name in enumerate(names_b):
        if name in names_a and name not in keep:
            after = f"after {names_b[i - 1]}" if i else "first"
            out.append(f"{ds}.{name} moved: position {names_a.index(name) + 1} -> {i + 1} ({after})")
    return out


def _vl_key(v: ValueLevel) -> str:
    conds = " and ".join(f"{w.variable} {w.comparator} {','.join(w.values)}" for w in v.where)
    return f"{v.variable} [{conds}]"


def _values(ds: str, a: list[ValueLevel], b: list[ValueLevel]) -> list[str]:
    ma, mb = {_vl_key(v): v for v in a}, {_vl_key(v): v for v in b}
    out = [f"{ds} value-level removed: {k}" for k in ma if k not in mb]
    out += [f"{ds} value-level added: {k}" for k in mb if k not in ma]
    for k in mb:
        if k in ma:
            out += _model_fields(ma[k], mb[k], f"{ds}.{k}", skip={"variable", "where"})
    return out


def _codelists(a: dict[str, Codelist], b: dict[str, Codelist]) -> list[str]:
    out = [f"codelist removed: {i}" for i in a if i not in b]
    out += [f"codelist added: {i} ({_q(b[i].name)}, {len(b[i].terms)} terms)" for i in b if i not in a]
    for i in b:
        if i not in a:
            continue
        out += _model_fields(a[i], b[i], f"codelist {i}", skip={"id", "terms"})
        ta, tb = {t.value: t for t in a[i].terms}, {t.value: t for t in b[i].terms}
        out += [f"codelist {i} term removed: {v}" for v in ta if v not in tb]
        out += [f"codelist {i} term added: {v}" + (f" ({_q(tb[v].decode)})" if tb[v].decode else "")
                for v in tb if v not in ta]
        for v in tb:
            if v in ta:
                out += _model_fields(ta[v], tb[v], f"codelist {i} term {v}", skip={"value"})
    return out
