"""Derivation order from what each rule reads: a topological sort of a dataset's variables.

Ties keep the spec's order, so a spec already in dependency order runs as written. Row-wise rules whose
inputs are all row-wise run in the first pass (before records of subjects unknown to DM leave the
dataset); everything else runs in the second pass. A read of a variable the dataset does not define,
or a cycle, is a spec error (`order_problems`, reported by `spec check` at the variable's line).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from pydantic import ValidationError

from studyforge.spec.models import Dataset, Derivation

from .base import REGISTRY


@dataclass(frozen=True)
class Plan:
    first: list[str]      # row-wise variables, dependency order
    second: list[str]     # the rest, dependency order


class OrderError(ValueError):
    """A dataset whose derivations cannot be ordered; `problems` are (variable, message)."""

    def __init__(self, dataset: str, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{dataset}.{v}: {m}" for v, m in problems))


def _reads(der: Derivation | None) -> tuple[list[str], bool]:
    """(variables read, row-wise) of one derivation; unknown rules / bad params read nothing (spec
    check reports those separately)."""
    if der is None or der.rule not in REGISTRY:
        return [], True
    r = REGISTRY[der.rule]
    if r.kind != "variable":
        return [], True
    try:
        p = r.parse(der.params)
    except ValidationError:
        return [], r.row_wise
    return [v for v in dict.fromkeys(r.reads(p)) if v], r.row_wise


def dependencies(ds: Dataset) -> dict[str, tuple[list[str], bool]]:
    return {v.name: _reads(v.derivation) for v in ds.variables}


def qualifier_reads(ds: Dataset, supp: Dataset | None) -> list[tuple[str, str]]:
    """(qualifier QNAM, variable) read by the SUPP-- qualifiers declared for `ds`."""
    if supp is None or supp.derivation is None:
        return []
    out = []
    for q in supp.derivation.params.get("qualifiers", []) or []:
        der = q.get("derivation") if isinstance(q, dict) else None
        try:
            d = Derivation.model_validate(der) if der else None
        except ValidationError:
            continue
        out += [(str(q.get("qnam", "")), v) for v in _reads(d)[0]]
    return out


def order_problems(ds: Dataset, supp: Dataset | None = None) -> list[tuple[str, str]]:
    """(variable, message) for each read of a variable `ds` does not define, and for a cycle."""
    deps = dependencies(ds)
    problems = []
    for name, (reads, _) in deps.items():
        for r in reads:
            if r not in deps:
                problems.append((name, f"{ds.name}.{name}: reads {r}, which {ds.name} does not define"))
            elif r == name:
                problems.append((name, f"{ds.name}.{name}: reads itself"))
    for qnam, r in qualifier_reads(ds, supp):
        if r not in deps:
            problems.append(("", f"SUPP{ds.name} qualifier {qnam}: reads {r}, which {ds.name} does not define"))
    cycle = _cycle(deps)
    if cycle:
        problems.append((cycle[0], f"{ds.name}: derivations read each other in a cycle: {' -> '.join(cycle)}"))
    return problems


def _cycle(deps: dict[str, tuple[list[str], bool]]) -> list[str]:
    """One cycle (a -> b -> ... -> a) among the variables, else []."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str]:
        state[n] = 1
        stack.append(n)
        for m in deps[n][0]:
            if m not in deps or m == n:
                continue
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                got = visit(m)
                if got:
                    return got
        stack.pop()
        state[n] = 2
        return []

    for n in deps:
        if n not in state:
            got = visit(n)
            if got:
                return got
    return []


def plan(ds: Dataset) -> Plan:
    """The two passes of derivation, each in dependency order (ties: spec order)."""
    problems = order_problems(ds)
    if problems:
        raise OrderError(ds.name, problems)
    deps = dependencies(ds)
    names = list(deps)
    pos = {n: i for i, n in enumerate(names)}
    second: set[str] = set()
    changed = True
    while changed:  # not row-wise, or reads something that is not: second pass
        changed = False
        for n, (reads, row_wise) in deps.items():
            if n not in second and (not row_wise or any(r in second for r in reads)):
                second.add(n)
                changed = True
    order = _toposort(names, deps, pos)
    return Plan([n for n in order if n not in second], [n for n in order if n in second])


def _toposort(names: list[str], deps: dict[str, tuple[list[str], bool]], pos: dict[str, int]) -> list[str]:
    pending = {n: {r for r in deps[n][0] if r in deps and r != n} for n in names}
    users: dict[str, list[str]] = {n: [] for n in names}
    for n, rs in pending.items():
        for r in rs:
            users[r].append(n)
    ready = [pos[n] for n in names if not pending[n]]
    heapq.heapify(ready)
    out = []
    while ready:
        n = names[heapq.heappop(ready)]
        out.append(n)
        for u in users[n]:
            pending[u].discard(n)
            if not pending[u]:
                heapq.heappush(ready, pos[u])
    return out
