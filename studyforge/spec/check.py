"""`spec check`: what a loaded spec must satisfy beyond its schema: references, rules, CT and the IGs.

Severity policy (conservative readings, stated here and in the messages):
- a dangling reference (codelist, method, comment, value-level or where-clause variable, a Predecessor
  naming a variable its dataset lacks, or none at all), an unknown rule, invalid rule params, a CT code/value mismatch, a term outside a
  non-extensible CDISC codelist, an IG type mismatch, an IG Req variable written with another core, a
  missing Req IG variable, a derivation reading a variable its dataset lacks or derivations reading each
  other in a cycle: ERROR;
- an IG label or role mismatch, any other core that differs from the IG's, a variable out of IG order (only those outside the longest run already in IG
  order), a variable neither in the IG domain nor addable from the SDTM v2.0 model, a codelist whose
  `extensible` disagrees with CT, a Derived origin with neither method nor derivation, a type mismatch on an ADaMIG generic timing variable (*DT ...): WARNING;
- a sponsor term in an extensible codelist, a CDISC term written without its C-code, an SDTM v2.0 model
  variable added to an Interventions/Events/Findings domain, a custom domain, checks skipped for want of
  a registry: NOTICE.
A rule registered with params model None takes no parameters; params given to it are a WARNING.
Codelists with `nci` are looked up in the study's SDTM CT and then ADaM CT packages (an ADaM dataset may
use an SDTM codelist such as SEX).
"""

from __future__ import annotations

from typing import Any, Iterable

from pydantic import BaseModel, ValidationError

from studyforge.findings import Finding, Severity
from studyforge.spec.ct import CtCodelist, adam_codelists, sdtm_codelists
from studyforge.spec.inherit import (
    Inherited,
    adam_structure,
    adam_variable,
    adamig_patterns,
    ig_domain_name,
    sdtm_model_variable,
    sdtmig_domain,
    variable_standard,
)
from studyforge.spec.loader import SourceMap
from studyforge.spec.models import Dataset, Derivation, Spec, Variable

E, W, N = Severity.ERROR, Severity.WARNING, Severity.NOTICE


class _Out:
    """Collects findings, placing each at the line of a model path."""

    def __init__(self, locations: SourceMap):
        self.loc = locations
        self.items: list[Finding] = []

    def add(self, sev: Severity, rule: str, path: tuple, message: str, dataset: str = "",
            variable: str = "", value: Any = "") -> None:
        where = self.loc.get(path)
        self.items.append(Finding(severity=sev, rule=rule, message=message, dataset=dataset, variable=variable,
                                  file=where[0] if where else "", line=where[1] if where else None,
                                  value="" if value is None else str(value)))


def check_spec(spec: Spec, locations: SourceMap, registries: dict[str, dict]) -> list[Finding]:
    """Every finding about a loaded spec, in file/line order."""
    out = _Out(locations)
    _references(spec, out)
    _rules(spec, registries, out)
    _codelists_vs_ct(spec, out)
    for ds in spec.datasets.values():
        if ds.purpose == "Tabulation":
            _sdtmig(ds, out)
        else:
            _adamig(ds, out)
    return sorted(out.items, key=lambda f: (f.file, f.line or 0, f.rule, f.message))


def format_finding(f: Finding) -> str:
    """`file:line: SEVERITY message`, the form editors and CI logs link to."""
    where = f"{f.file}:{f.line}" if f.line is not None else (f.file or "<spec>")
    return f"{where}: {f.severity.value} {f.message}"


# --- references ---------------------------------------------------------------------------------

def _references(spec: Spec, out: _Out) -> None:
    def ref(kind: str, ident: str | None, path: tuple, owner: str, ds: str = "", var: str = "") -> None:
        table = {"codelist": spec.codelists, "method": spec.methods, "comment": spec.comments}[kind]
        if ident is not None and ident not in table:
            out.add(E, "SPEC-XREF", path + (kind,), f"{owner}: {kind} {ident!r} is not defined in {kind}s.yaml",
                    ds, var, ident)

    for cl in spec.codelists.values():
        ref("comment", cl.comment, ("codelists", cl.id), f"codelist {cl.id}")
    for ds in spec.datasets.values():
        base = ("datasets", ds.name)
        ref("comment", ds.comment, base, f"dataset {ds.name}", ds.name)
        names = {v.name for v in ds.variables}
        for v in ds.variables:
            p = base + ("variables", v.name)
            for kind in ("codelist", "method", "comment"):
                ref(kind, getattr(v, kind), p, f"{ds.name}.{v.name}", ds.name, v.name)
            _origin(spec, ds, v, p, out)
        for i, vl in enumerate(ds.values):
            p = base + ("values", i)
            owner = f"{ds.name}.{vl.variable} value-level item {i + 1}"
            if vl.variable not in names:
                out.add(E, "SPEC-XREF", p + ("variable",), f"{owner}: variable {vl.variable} is not in {ds.name}",
                        ds.name, vl.variable, vl.variable)
            for kind in ("codelist", "method", "comment"):
                ref(kind, getattr(vl, kind), p, owner, ds.name, vl.variable)
            for j, wc in enumerate(vl.where):
                if wc.variable not in names:
                    out.add(E, "SPEC-XREF", p + ("where", j, "variable"),
                            f"{owner}: where-clause variable {wc.variable} is not in {ds.name}",
                            ds.name, vl.variable, wc.variable)
        for prm in ds.parameters:
            p = base + ("parameters", prm.paramcd)
            for kind in ("method", "comment"):
                ref(kind, getattr(prm, kind), p, f"{ds.name} PARAMCD={prm.paramcd}", ds.name)


def _origin(spec: Spec, ds: Dataset, v: Variable, path: tuple, out: _Out) -> None:
    """Define-XML 2.1 needs a method for a Derived origin and the source variable for a Predecessor."""
    who = f"{ds.name}.{v.name}"
    if v.origin.type == "Derived" and v.method is None and v.derivation is None and ds.derivation is None:
        out.add(W, "SPEC-ORIGIN", path + ("origin", "type"), f"{who}: origin Derived but neither a method nor a "
                "derivation says how (define.xml needs a method)", ds.name, v.name)
    if v.origin.type != "Predecessor":
        return
    pred = v.origin.predecessor
    if not pred:
        out.add(E, "SPEC-ORIGIN", path + ("origin", "type"), f"{who}: origin Predecessor needs "
                "origin.predecessor (DATASET.VARIABLE)", ds.name, v.name)
        return
    src_ds, _, src_var = pred.partition(".")
    if not src_var:
        out.add(E, "SPEC-ORIGIN", path + ("origin", "predecessor"), f"{who}: predecessor {pred!r} must be "
                "DATASET.VARIABLE", ds.name, v.name, pred)
    elif src_ds in spec.datasets and src_var not in {x.name for x in spec.datasets[src_ds].variables}:
        out.add(E, "SPEC-ORIGIN", path + ("origin", "predecessor"), f"{who}: predecessor {pred}: {src_ds} has no "
                f"variable {src_var}", ds.name, v.name, pred)


# --- derivation rules ---------------------------------------------------------------------------

def _derivations(ds: Dataset) -> Iterable[tuple[tuple, str, str, Derivation]]:
    base = ("datasets", ds.name)
    if ds.derivation:
        yield base + ("derivation",), f"dataset {ds.name}", "", ds.derivation
    for v in ds.variables:
        if v.derivation:
            yield base + ("variables", v.name, "derivation"), f"{ds.name}.{v.name}", v.name, v.derivation
    for prm in ds.parameters:
        if prm.derivation:
            yield (base + ("parameters", prm.paramcd, "derivation"), f"{ds.name} PARAMCD={prm.paramcd}", "",
                   prm.derivation)


def _rules(spec: Spec, registries: dict[str, dict], out: _Out) -> None:
    for purpose in ("Tabulation", "Analysis"):
        datasets = [d for d in spec.datasets.values() if d.purpose == purpose]
        if not datasets:
            continue
        registry = registries.get(purpose)
        if registry is None:
            out.add(N, "SPEC-RULE", ("datasets", datasets[0].name),
                    f"no {purpose} rule registry is available: derivation rules of {len(datasets)} dataset(s) not checked")
            continue
        for ds in datasets:
            for path, owner, var, der in _derivations(ds):
                if der.rule not in registry:
                    out.add(E, "SPEC-RULE", path + ("rule",),
                            f"{owner}: derivation rule {der.rule!r} is not a {purpose} rule "
                            f"(known: {', '.join(sorted(registry)) or 'none'})", ds.name, var, der.rule)
                    continue
                model = registry[der.rule]
                if model is None:
                    if der.params:
                        out.add(W, "SPEC-PARAMS", path + ("params",),
                                f"{owner}: rule {der.rule!r} takes no parameters; params are ignored", ds.name, var)
                    continue
                if isinstance(model, type) and issubclass(model, BaseModel):
                    _validate_params(model, der, path, owner, ds.name, var, out)
                    _study_refs(spec, model, der, path, owner, ds.name, var, out)
            _order(spec, registry, ds, out)


def _study_refs(spec: Spec, model: type[BaseModel], der: Derivation, path: tuple, owner: str, ds: str, var: str,
                out: _Out) -> None:
    """A parameter whose model field says `json_schema_extra={"study_ref": "units"}` names an entry of that
    study-level collection (a unit table); an unknown name is an ERROR here, not a failure at build time."""
    for name, info in model.model_fields.items():
        kind = (info.json_schema_extra or {}).get("study_ref") if isinstance(info.json_schema_extra, dict) else None
        value = der.params.get(name) if isinstance(der.params, dict) else None
        if kind is None or not isinstance(value, str):
            continue
        known = getattr(spec.study, kind, None) or {}
        if value not in known:
            out.add(E, "SPEC-REF", path + ("params", name),
                    f"{owner}: rule {der.rule}: {name} {value!r} is not in study.yaml {kind}: "
                    f"(known: {', '.join(sorted(known)) or 'none'})", ds, var, value)


def _order(spec: Spec, registry: dict, ds: Dataset, out: _Out) -> None:
    """A registry that knows what each rule reads (SDTM) reports reads no derivation can satisfy and cycles."""
    problems = getattr(registry, "order_problems", None)
    if problems is None:
        return
    base = ("datasets", ds.name)
    for var, message in problems(ds, spec):
        path = base + ("variables", var, "derivation") if var else base + ("derivation",)
        out.add(E, "SPEC-ORDER", path, message, ds.name, var)


def _validate_params(model: type[BaseModel], der: Derivation, path: tuple, owner: str, ds: str, var: str,
                     out: _Out) -> None:
    try:
        model.model_validate(der.params)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            field = ".".join(str(x) for x in loc) or "params"
            if err["type"] == "extra_forbidden":
                msg = f"unknown parameter {field!r}"
            elif err["type"] == "missing":
                msg = f"missing parameter {field!r}"
            else:
                msg = f"parameter {field}: {str(err['msg']).removeprefix('Value error, ')} (got {err.get('input')!r})"
            out.add(E, "SPEC-PARAMS", path + ("params",) + loc, f"{owner}: rule {der.rule}: {msg}", ds, var,
                    "" if err["type"] == "missing" else err.get("input"))


# --- controlled terminology ----------------------------------------------------------------------

def _ct_packages(spec: Spec, out: _Out) -> list[dict[str, CtCodelist]]:
    packages = []
    for pset, reader in (("SDTM", sdtm_codelists), ("ADaM", adam_codelists)):
        version = spec.study.ct_version(pset)
        if version is None:
            continue
        try:
            packages.append(reader(version))
        except FileNotFoundError:
            idx = next(i for i, s in enumerate(spec.study.standards) if s.type == "CT" and s.publishing_set == pset)
            out.add(E, "SPEC-CT", ("study", "standards", idx, "version"),
                    f"study: {pset} CT version {version} is not available in studyforge.standards", value=version)
    return packages


def _codelists_vs_ct(spec: Spec, out: _Out) -> None:
    with_nci = [c for c in spec.codelists.values() if c.nci]
    if not with_nci:
        return
    packages = _ct_packages(spec, out)
    if not packages:
        out.add(W, "SPEC-CT", ("study", "standards"),
                "study: no CT standard (type CT, publishing_set SDTM/ADaM) named; codelists not checked against CT")
        return
    names = " / ".join(next(iter(p.values())).package for p in packages if p)
    for cl in with_nci:
        p = ("codelists", cl.id)
        ct = next((pkg[cl.nci] for pkg in packages if cl.nci in pkg), None)
        if ct is None:
            out.add(E, "SPEC-CT", p + ("nci",), f"codelist {cl.id}: {cl.nci} is not a codelist of {names}", value=cl.nci)
            continue
        if cl.submission_value is not None and cl.submission_value != ct.submission_value:
            out.add(E, "SPEC-CT", p + ("submission_value",),
                    f"codelist {cl.id}: submission_value {cl.submission_value!r} but {ct.package} names {cl.nci} "
                    f"{ct.submission_value!r}", value=cl.submission_value)
        if cl.extensible != ct.extensible:
            out.add(W, "SPEC-CT", p + ("extensible",),
                    f"codelist {cl.id}: extensible is {str(cl.extensible).lower()} but {ct.package} says "
                    f"{'Yes' if ct.extensible else 'No'}")
        for t in cl.terms:
            tp = p + ("terms", t.value)
            known_code = ct.terms.get(t.value)
            if t.nci is not None:
                if t.nci not in ct.by_code:
                    out.add(E, "SPEC-CT", tp + ("nci",),
                            f"codelist {cl.id}, term {t.value}: {t.nci} is not a term of {ct.submission_value} "
                            f"({cl.nci}) in {ct.package}", value=t.nci)
                elif ct.by_code[t.nci] != t.value:
                    out.add(E, "SPEC-CT", tp + ("nci",),
                            f"codelist {cl.id}, term {t.value}: {t.nci} is {ct.by_code[t.nci]!r} in {ct.package}, "
                            f"not {t.value!r}", value=t.value)
                continue
            if known_code is not None:
                out.add(N, "SPEC-CT", tp, f"codelist {cl.id}, term {t.value}: CDISC term {known_code}; give it as nci",
                        value=t.value)
            elif ct.extensible:
                out.add(N, "SPEC-CT", tp, f"codelist {cl.id}, term {t.value}: sponsor extension of extensible "
                        f"codelist {ct.submission_value}", value=t.value)
            else:
                out.add(E, "SPEC-CT", tp, f"codelist {cl.id}, term {t.value}: not in non-extensible codelist "
                        f"{ct.submission_value} ({cl.nci}) of {ct.package}", value=t.value)


# --- implementation guides ----------------------------------------------------------------------

def _sdtmig(ds: Dataset, out: _Out) -> None:
    ig_name = ig_domain_name(ds.name)
    ig = sdtmig_domain(ig_name)
    base = ("datasets", ds.name)
    if ig.empty:
        out.add(N, "SPEC-IG", base, f"dataset {ds.name}: custom domain (not in SDTMIG 3.4); IG checks skipped", ds.name)
        for v in ds.variables:
            model = sdtm_model_variable(ds.name, v.name, ds.class_)
            if model is not None and v.type != model.type:
                out.add(E, "SPEC-IG", base + ("variables", v.name, "type"), f"{ds.name}.{v.name}: type {v.type} "
                        f"but the {model.source} says {model.type}", ds.name, v.name, v.type)
        return
    present: list[str] = []
    for v in ds.variables:
        p = base + ("variables", v.name)
        if v.name not in ig.index:
            model = sdtm_model_variable(ig_name, v.name)
            if model is None:
                out.add(W, "SPEC-IG", p, f"{ds.name}.{v.name}: not an SDTMIG 3.4 {ig_name} variable; sponsor "
                        f"variables belong in SUPP{ds.name} or a custom domain", ds.name, v.name)
            elif v.type != model.type:
                out.add(E, "SPEC-IG", p + ("type",), f"{ds.name}.{v.name}: type {v.type} but SDTM v2.0 says "
                        f"{model.type} for {model.source.removeprefix('SDTM v2.0 model (').rstrip(')')}",
                        ds.name, v.name, v.type)
            else:
                out.add(N, "SPEC-IG", p, f"{ds.name}.{v.name}: not in the SDTMIG 3.4 {ig_name} table; added from "
                        f"the {model.source} as SDTMIG 3.4 allows for its class", ds.name, v.name)
            continue
        present.append(v.name)
        std = variable_standard(ds.name, "Tabulation", ds.class_, v.name)
        _compare(out, p, ds.name, v, std, "SDTMIG 3.4")
    orders = [float(ig.loc[n, "order"]) for n in present]
    keep = _longest_increasing(orders)
    kept = [(orders[i], present[i]) for i in keep]
    for i, name in enumerate(present):
        if i in keep:
            continue
        before = [n for o, n in kept if o < orders[i]]
        where = f"after {before[-1]}" if before else "first"
        out.add(W, "SPEC-IG", base + ("variables", name), f"{ds.name}.{name}: out of SDTMIG 3.4 order (the IG puts "
                f"it {where})", ds.name, name)
    for name, row in ig[ig["Core"] == "Req"].iterrows():
        if name not in set(present):
            out.add(E, "SPEC-IG", base + ("variables",), f"{ds.name}: required SDTMIG 3.4 variable {name} "
                    f"({row['Variable Label']}) is missing", ds.name, str(name))


def _longest_increasing(values: list[float]) -> set[int]:
    """Indexes of one longest strictly increasing subsequence: the variables already in IG order."""
    best: list[list[int]] = []          # best[k]: indexes of an increasing run of length k+1 ending lowest
    for i, v in enumerate(values):
        lo, hi = 0, len(best)
        while lo < hi:
            mid = (lo + hi) // 2
            if values[best[mid][-1]] < v:
                lo = mid + 1
            else:
                hi = mid
        run = (best[lo - 1] if lo else []) + [i]
        if lo == len(best):
            best.append(run)
        else:
            best[lo] = run
    return set(best[-1]) if best else set()


def _adamig(ds: Dataset, out: _Out) -> None:
    structure = adam_structure(ds.name, ds.class_)
    if structure is None:
        return
    base = ("datasets", ds.name)
    matched: set[str] = set()
    for v in ds.variables:
        std = adam_variable(structure, v.name)
        if std is None:
            continue
        matched.add(std.ig_name)
        path = base + ("variables", v.name)
        if std.label is None:  # generic timing variable: its IG label is a template such as {Date}
            if v.type != std.type:
                out.add(W, "SPEC-IG", path + ("type",), f"{ds.name}.{v.name}: type {v.type} but ADaMIG 1.3 "
                        f"timing variables {std.ig_name} are {std.type}", ds.name, v.name, v.type)
            continue
        _compare(out, path, ds.name, v, std, "ADaMIG 1.3")
    for _, ig_name, ig_label, _, core in adamig_patterns(structure):
        if core == "Req" and ig_name not in matched:
            out.add(E, "SPEC-IG", base + ("variables",), f"{ds.name}: required ADaMIG 1.3 variable {ig_name} "
                    f"({ig_label}) is missing", ds.name, ig_name)


def _compare(out: _Out, path: tuple, ds: str, v: Variable, std: Inherited, ig: str) -> None:
    """A written value that differs from the standard's (an inherited one never does).

    Type: ERROR (the data would contradict the standard). Core: relaxing an IG Req variable is an ERROR (the IG
    requires it present and never null); any other difference (e.g. a sponsor making an Exp variable Req) is a
    WARNING, as are a different label or role: legal sponsor choices that a reviewer should see."""
    var = v.name
    if std.type is not None and v.type != std.type:
        out.add(E, "SPEC-IG", path + ("type",), f"{ds}.{var}: type {v.type} but {ig} says {std.type}", ds, var, v.type)
    if std.label is not None and v.label != std.label:
        out.add(W, "SPEC-IG", path + ("label",), f"{ds}.{var}: label {v.label!r} but {ig} says {std.label!r}",
                ds, var, v.label)
    if std.core is not None and v.core != std.core:
        sev = E if std.core == "Req" else W
        what = "; an IG Req variable cannot be relaxed" if sev is E else ""
        out.add(sev, "SPEC-IG", path + ("core",), f"{ds}.{var}: core {v.core or '(none)'} but {ig} says "
                f"{std.core}{what}", ds, var, v.core)
    if std.role is not None and v.role is not None and v.role != std.role:
        out.add(W, "SPEC-IG", path + ("role",), f"{ds}.{var}: role {v.role!r} but {ig} says {std.role!r}",
                ds, var, v.role)
