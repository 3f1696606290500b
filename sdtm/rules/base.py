"""The SDTM rule API: one registration per rule.

A rule is registered once, with everything the engine, `spec check` and define.xml need:

    @variable_rule("decode", DecodeParams, reads=lambda p: [p.var],
                   method="Decode of {var} in codelist(s) {codelists}")
    def decode(frame, p, refs):
        codes = refs.var(p.var)
        ...
        return values, findings

- ``params``: a pydantic model (``extra="forbid"``; subclass ``Params``); `spec check` validates the
  spec's ``params:`` block against it and reports each problem at its file:line.
- ``reads(params)``: the SDTM variables of the same dataset the rule reads. The engine derives them
  first (topological order); a read of a variable the dataset lacks, or a cycle, is a spec error.
- ``fields(params)``: the raw fields of the working rows the rule reads. A field missing from the raw
  form is one ERROR finding (SD0102) raised by the engine; ``refs.field`` then returns blanks.
- ``method``: a ``str.format`` template rendered with the params (lists joined with ", ") -- the
  method text define.xml shows (``method_text``).
- ``row_wise``: True when each value depends only on its own record (copy, CT mapping, dates ...).
  Rules that look across records (--SEQ, --DY from DM, EPOCH, VISITNUM, baseline flags) say False;
  they run after records of subjects unknown to DM have left the dataset.

A variable rule is pure: ``(frame, params, refs) -> (values, findings)``.
- ``frame``: the working rows (raw fields as text plus the bookkeeping columns the engine adds from the
  study's raw identity: FORM, FILE, LINE, SUBJECT (raw subject key), SUBJECT_ID (the USUBJID it
  composes to), VISIT (raw visit/folder), POSITION (record position, else file order)). Do not modify it.
- ``refs``: read-only references (`Refs`): the spec, this dataset and variable, the raw forms, the
  datasets built earlier (DM, SE, TV ...), the variables derived so far for these rows, CT.
- ``values``: a Series aligned with ``frame.index``; ``findings``: a list of `Finding` (use
  ``refs.row_findings`` to locate them at raw file/line) and `Used` (records of another raw form
  consulted, for the record reconciliation).

A dataset rule (builder) makes the working rows: ``(params, refs) -> (frame, notes)``; notes are
findings, `Used` and `Unmapped` (raw records left out, with the reason).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Literal, Mapping, NamedTuple

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from studyforge.findings import Finding, Severity
from studyforge.spec.models import Codelist, Dataset, Spec, Variable
from studyforge.spec.raw import IdPart

from .._fast import text_series
from ..vocabulary import norm_key

# bookkeeping columns of the working rows (never written): where each record came from and who it is
FORM, FILE, LINE = "__form", "__file", "__line"
SUBJECT, SUBJECT_ID, VISIT, POSITION = "__subject", "__usubjid", "__visit", "__position"
BOOKKEEPING = [FORM, FILE, LINE, SUBJECT, SUBJECT_ID, VISIT, POSITION]


class Params(BaseModel):
    """Base of every rule's parameter model: unknown parameters are spec errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Used(NamedTuple):
    """`records` records of raw form `form` were consulted to derive `target` (DATASET.VARIABLE; default
    the variable being derived)."""

    form: str
    records: int
    target: str = ""


class Unmapped(NamedTuple):
    """Raw records (rows with FORM/FILE/LINE/SUBJECT) that a builder left out, and why."""

    rows: pd.DataFrame
    reason: str


Note = Finding | Used | Unmapped
Outcome = tuple[pd.Series, list[Note]]


@dataclass(frozen=True)
class RawIdentity:
    """Who and where a raw record is, as the study spec declares it (studyforge/spec/raw.py): subject
    column(s), SUBJID and USUBJID composition (IdPart: study id, column with regex/padding, literal),
    site, visit/folder column, record position column (None: file order)."""

    subject: tuple[str, ...]
    visit: str | None = None
    position: str | None = None
    subjid: tuple[IdPart, ...] = ()      # () = the subject column(s) joined with '-'
    usubjid: tuple[IdPart, ...] = ()     # () = study id, '-', SUBJID
    site: IdPart | None = None

    @classmethod
    def of(cls, settings) -> "RawIdentity":
        """From the effective raw settings of one form (RawSpec.for_form)."""
        return cls(subject=tuple(settings.subject), visit=settings.visit, position=settings.position,
                   subjid=tuple(settings.subjid_parts()), usubjid=tuple(settings.usubjid_parts()), site=settings.site)

    def subjid_parts(self) -> list[IdPart]:
        if self.subjid:
            return list(self.subjid)
        parts: list[IdPart] = []
        for i, c in enumerate(self.subject):
            parts += ([IdPart(literal="-")] if i else []) + [IdPart(column=c)]
        return parts

    def usubjid_parts(self) -> list[IdPart]:
        return list(self.usubjid) or [IdPart(study=True), IdPart(literal="-"), *self.subjid_parts()]


@dataclass(frozen=True)
class Rule:
    name: str
    kind: Literal["variable", "dataset"]
    params: type[BaseModel]
    fn: Callable[..., Any]
    method: str
    reads: Callable[[Any], Iterable[str]]
    fields: Callable[[Any], Iterable[str]]
    row_wise: bool = True

    def parse(self, params: Mapping[str, Any]) -> BaseModel:
        return self.params.model_validate(dict(params))

    def method_text(self, params: BaseModel) -> str:
        return method_text(self.method, params)


REGISTRY: dict[str, Rule] = {}


def _none(_p) -> list[str]:
    return []


def _register(rule: Rule) -> None:
    if rule.name in REGISTRY and REGISTRY[rule.name].fn is not rule.fn:
        raise ValueError(f"SDTM rule {rule.name!r} registered twice")
    REGISTRY[rule.name] = rule


def variable_rule(name: str, params: type[BaseModel], *, method: str,
                  reads: Callable[[Any], Iterable[str]] = _none, fields: Callable[[Any], Iterable[str]] = _none,
                  row_wise: bool = True):
    """Register `fn(frame, params, refs) -> (values, notes)` as the variable rule `name`."""
    def deco(fn):
        _register(Rule(name, "variable", params, fn, method, reads, fields, row_wise))
        return fn
    return deco


def dataset_rule(name: str, params: type[BaseModel], *, method: str):
    """Register `fn(params, refs) -> (frame, notes)` as the dataset builder `name`."""
    def deco(fn):
        _register(Rule(name, "dataset", params, fn, method, _none, _none, False))
        return fn
    return deco


def rule(name: str) -> Rule:
    """The registration of `name`; an unknown name is a spec error (KeyError with the known names)."""
    if name not in REGISTRY:
        raise KeyError(f"unknown SDTM rule {name!r}; known: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def parse_params(name: str, params: Mapping[str, Any]) -> BaseModel:
    """Validated params of a rule (pydantic ValidationError when invalid)."""
    return rule(name).parse(params)


def method_text(template: str | Callable[[Any], str], params: BaseModel) -> str:
    """The method template with the params filled in; lists are joined with ', ', dicts as k=v.
    A callable template (params -> text) serves rules whose params nest (conditions, parts)."""
    if callable(template):
        return template(params)
    def show(v):
        if isinstance(v, (list, tuple)):
            return ", ".join(show(x) for x in v)
        if isinstance(v, dict):
            return ", ".join(f"{k}={show(x)}" for k, x in v.items())
        if isinstance(v, BaseModel):
            return show(v.model_dump(by_alias=True, exclude_defaults=True))
        return "" if v is None else str(v)
    values = {k: show(getattr(params, k)) for k in type(params).model_fields}
    return template.format_map(values)


@dataclass(frozen=True)
class Refs:
    """Read-only references a rule may use. The engine makes one per variable."""

    spec: Spec
    dataset: Dataset
    raw: Mapping[str, Any]                       # form name -> sdtm.readers.RawForm
    datasets: Mapping[str, pd.DataFrame]         # SDTM datasets built earlier (DM, SE, TV ...)
    vars: pd.DataFrame                           # variables derived so far, aligned with the working rows
    identities: Mapping[str, RawIdentity] = field(default_factory=dict)
    default_identity: RawIdentity | None = None
    variable: Variable | None = None
    spec_file: str = ""
    memo_rows: dict = field(default_factory=dict, compare=False, repr=False)
    memo_build: dict = field(default_factory=dict, compare=False, repr=False)

    # -- what the rule reads --------------------------------------------------------------------
    def var(self, name: str) -> pd.Series:
        """An SDTM variable derived earlier for the working rows (blank when the dataset has none)."""
        if name in self.vars.columns:
            return self.vars[name]
        return pd.Series("", index=self.vars.index, dtype=str)

    @staticmethod
    def field(frame: pd.DataFrame, name: str) -> pd.Series:
        """A raw field of the working rows as text ('' when missing; the engine reports absent fields)."""
        if name in frame.columns:
            return text_series(frame[name])
        return pd.Series("", index=frame.index, dtype=str)

    def form(self, name: str):
        """A raw form (RawForm) or None when it was not delivered."""
        return self.raw.get(name)

    def codelist(self, cid: str | None) -> Codelist | None:
        return self.spec.codelists.get(cid) if cid else None

    def identity(self, form: str) -> RawIdentity:
        """The raw identity of a form: the study's, with the form's overrides."""
        got = self.identities.get(form, self.default_identity)
        if got is None:
            raise KeyError(f"no raw identity declared for form {form!r} (study.yaml raw:)")
        return got

    def subject_key(self, form: str) -> pd.Series:
        """The raw subject of each record of a raw form (subject columns joined with '-')."""
        return self.shared(("subject", form), lambda: subject_key(self.raw[form].frame, self.identity(form)))

    def usubjid_of(self, form: str) -> pd.Series:
        """The USUBJID each record of a raw form composes to (the study's raw identity)."""
        return self.shared(("usubjid", form), lambda: compose_usubjid(self.raw[form].frame, self.identity(form),
                                                                      self.spec.study.id))

    # -- memo: pure caches (the value must be a function of the key's inputs only) -------------
    def memo(self, key: tuple, fn: Callable[[], Any]) -> Any:
        """Cached for these working rows (e.g. parsed --DTC shared by --DY, EPOCH, --LOBXFL)."""
        if key not in self.memo_rows:
            self.memo_rows[key] = fn()
        return self.memo_rows[key]

    def shared(self, key: tuple, fn: Callable[[], Any]) -> Any:
        """Cached for the whole build (raw forms and earlier datasets never change during a build)."""
        if key not in self.memo_build:
            self.memo_build[key] = fn()
        return self.memo_build[key]

    def for_variable(self, variable: Variable | None, vars: pd.DataFrame) -> "Refs":
        return replace(self, variable=variable, vars=vars)

    # -- findings -------------------------------------------------------------------------------
    def finding(self, severity: Severity, rule_id: str, message: str, **kw) -> Finding:
        kw.setdefault("dataset", self.dataset.name)
        kw.setdefault("variable", self.variable.name if self.variable else "")
        kw.setdefault("file", self.spec_file)
        return Finding(severity, rule_id, message, **kw)

    def select(self, form: str, frame: pd.DataFrame, field: str | None,
               values: list[str]) -> tuple[pd.Series | None, list[Finding]]:
        """Records of raw form `form` whose `field` is one of `values` (case and blanks normalised). A missing
        column is an ERROR and selects nothing (None); a selection matching none of the records is a WARNING."""
        if not field:
            return pd.Series(True, index=frame.index), []
        path = self.raw[form].path if form in self.raw else ""
        if field not in frame.columns:
            return None, [self.finding(Severity.ERROR, "SD0102", f"required column {field!r} missing in raw form "
                                       f"{form}", file=path, field=field)]
        keep = norm_key(frame[field]).isin([v.upper() for v in values])
        if len(frame) and not keep.any():
            return keep, [self.finding(Severity.WARNING, "SD0104", f"selection {field} in {values} matches none of "
                                       f"the {len(frame)} record(s) of raw form {form}", file=path, field=field,
                                       value=", ".join(values))]
        return keep, []

    def row_findings(self, frame: pd.DataFrame, mask: pd.Series, severity: Severity, rule_id: str, message: str,
                     field: str, values: pd.Series, variable: str | None = None) -> list[Finding]:
        """One finding per flagged working row, naming raw file, line, field and value."""
        mask = pd.Series(np.asarray(mask, dtype=bool), index=frame.index)
        if not mask.any():
            return []
        idx = mask[mask].index
        sub = frame.loc[idx]
        usub = self.vars.loc[idx, "USUBJID"] if "USUBJID" in self.vars.columns else \
            sub.get(SUBJECT, pd.Series("", index=idx))
        var = variable if variable is not None else (self.variable.name if self.variable else "")
        vals = values.loc[idx] if isinstance(values, pd.Series) else pd.Series(values, index=frame.index).loc[idx]
        return [Finding(severity, rule_id, message, dataset=self.dataset.name, variable=var, usubjid=str(u),
                        file=str(f), line=int(ln), field=field, value=str(v))
                for f, ln, u, v in zip(sub[FILE], sub[LINE], usub, vals)]


def subject_key(frame: pd.DataFrame, ident: RawIdentity) -> pd.Series:
    """The subject of each raw record (its SUBJID as the identity composes it)."""
    return compose(frame, ident.subjid_parts(), "", ident.subject)


def compose_usubjid(frame: pd.DataFrame, ident: RawIdentity, study_id: str) -> pd.Series:
    """The USUBJID each raw record composes to; '' when the record has no subject."""
    return compose(frame, ident.usubjid_parts(), study_id, ident.subject)


def compose(frame: pd.DataFrame, parts: list[IdPart], study_id: str, subject: tuple[str, ...]) -> pd.Series:
    """An identifier from its parts, computed once per distinct combination of the raw columns it reads
    (raw identifiers repeat on every record of a subject); '' where every subject column is empty."""
    from ..readers import compose_id

    cols = list(dict.fromkeys(c for p in parts for c in p.columns if c in frame.columns))
    subj = [c for c in subject if c in frame.columns]
    key_cols = list(dict.fromkeys(cols + subj))
    if not key_cols:
        return pd.Series("", index=frame.index, dtype=str)
    if len(key_cols) == 1:
        codes, uniq = pd.factorize(text_series(frame[key_cols[0]]).to_numpy(dtype=object))
        firsts = pd.DataFrame({key_cols[0]: uniq})
    else:
        codes = frame.groupby(key_cols, sort=False, dropna=False).ngroup().to_numpy()
        firsts = frame[key_cols].iloc[np.unique(codes, return_index=True)[1]].reset_index(drop=True)
    if len(firsts) == 0:
        return pd.Series("", index=frame.index, dtype=str)
    ids = compose_id(firsts, parts, study_id).to_numpy(dtype=object)
    has = np.zeros(len(firsts), dtype=bool)
    for c in subj:
        has |= text_series(firsts[c]).to_numpy(dtype=object) != ""
    ids = np.where(has, ids, "")
    return pd.Series(ids[codes], index=frame.index, dtype=str)
