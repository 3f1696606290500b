"""How a sponsor's raw exports identify records: the `raw:` section of study.yaml.

Raw deliveries differ in everything a mapping relies on: the subject column (`SUBJID`, `PATNUM`,
`record_id`), whether the site sits inside the identifier (`701-1015`) or in its own column, the
visit/folder column, the log-row position, date formats, encodings, delimiters, null tokens.
The study declares them once (study level) and overrides them per form; `RawSpec.for_form(name)`
gives the effective settings of one form, so readers and rules never assume a column name.

    raw:
      subject: [PATNUM]
      usubjid: [{study: true}, {literal: "-"}, {column: PATNUM}]
      site: {column: PATNUM, regex: "^(\\d+)-"}
      visit: VISIT
      position: null            # file order
      date_format: MM/DD/YYYY
      encoding: utf-8-sig
      forms:
        lb: {encoding: cp1252, delimiter: ";", dates: {LBDAT: DD.MM.YYYY}}
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from studyforge.dates import compile_format

Encoding = Literal["utf-8", "utf-8-sig", "latin-1", "cp1252", "gbk", "gb18030"]
DEFAULT_UNKNOWN = ["UN", "UNK", "UK", "NK", "--", "XX", "XXXX"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=True)


class IdPart(_Strict):
    """One piece of a composed identifier: the study id, a raw column (optionally a regex capture
    and zero padding), or a literal separator. Exactly one of study/column/literal."""

    study: bool = False
    column: str | None = Field(default=None, min_length=1)
    literal: str | None = None
    regex: str | None = Field(default=None, description="regular expression; group 1 (or the match) is kept")
    pad: int | None = Field(default=None, ge=1, le=40, description="left zero padding to this width")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data):
        return {"column": data} if isinstance(data, str) else data

    @field_validator("column")
    @classmethod
    def _upper(cls, v: str | None) -> str | None:
        return v.strip().upper() if v is not None else None

    @field_validator("regex")
    @classmethod
    def _regex_compiles(cls, v: str | None) -> str | None:
        if v is not None:
            import re

            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"regex does not compile: {exc}") from None
        return v

    @model_validator(mode="after")
    def _exactly_one(self) -> IdPart:
        kinds = [k for k, on in (("study", self.study), ("column", self.column is not None),
                                 ("literal", self.literal is not None)) if on]
        if len(kinds) != 1:
            raise ValueError(f"give exactly one of study, column, literal (got {', '.join(kinds) or 'none'})")
        if (self.regex or self.pad) and self.column is None:
            raise ValueError("regex and pad apply to a column part only")
        return self

    @property
    def columns(self) -> list[str]:
        return [self.column] if self.column else []


def _check_format(v: str) -> str:
    try:
        compile_format(v)
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    return v


def _formats(v: str | list[str]) -> list[str]:
    items = [v] if isinstance(v, str) else list(v)
    if not items:
        raise ValueError("give at least one format")
    return [_check_format(x) for x in items]


class FormSettings(_Strict):
    """The effective raw settings of one form (study defaults with the form's overrides applied)."""

    file: str | None = Field(default=None, description="file name when it is not <form>.<ext>")
    subject: list[str] = Field(default_factory=lambda: ["SUBJID"], min_length=1,
                               description="column(s) that identify the subject on this form")
    subjid: list[IdPart] | None = Field(default=None, description="SUBJID parts; default the subject column(s)")
    usubjid: list[IdPart] | None = Field(default=None,
                                         description="USUBJID parts; default study id, '-', SUBJID")
    site: IdPart | None = Field(default=None, description="SITEID: a column, or a regex capture from one")
    visit: str | None = Field(default=None, description="visit/folder column (none: the form has no visit)")
    visit_repeat: str | None = Field(default=None, description="repeat key of a repeated visit/folder")
    position: str | None = Field(default=None, description="log-row position column; none: file order")
    date_format: list[str] = Field(default_factory=lambda: ["YYYY-MM-DD"], description="accepted date formats")
    time_format: list[str] = Field(default_factory=lambda: ["HH:MM"], description="accepted time formats")
    dates: dict[str, list[str]] = Field(default_factory=dict, description="per-field date/datetime formats")
    times: dict[str, list[str]] = Field(default_factory=dict, description="per-field time formats")
    unknown: list[str] = Field(default_factory=lambda: list(DEFAULT_UNKNOWN),
                               description="tokens meaning an unknown date part")
    year_pivot: int = Field(default=50, ge=0, le=99, description="YY below this is 20YY, else 19YY")
    encoding: Encoding = "utf-8-sig"
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    null_tokens: list[str] = Field(default_factory=list, description="values that mean missing, e.g. NULL, .")
    ignore_columns: list[str] = Field(default_factory=list,
                                      description="columns known to carry nothing SDTM needs (not reported)")

    @field_validator("subject", mode="before")
    @classmethod
    def _subject_list(cls, v):
        return [v] if isinstance(v, str) else v

    @field_validator("subject")
    @classmethod
    def _subject_upper(cls, v: list[str]) -> list[str]:
        return [c.strip().upper() for c in v]

    @field_validator("ignore_columns")
    @classmethod
    def _ignore_upper(cls, v: list[str]) -> list[str]:
        return [c.strip().upper() for c in v]

    @field_validator("visit", "visit_repeat", "position")
    @classmethod
    def _col_upper(cls, v: str | None) -> str | None:
        return v.strip().upper() if v is not None else None

    @field_validator("date_format", "time_format", mode="before")
    @classmethod
    def _fmt_list(cls, v):
        return _formats(v)

    @field_validator("dates", "times", mode="before")
    @classmethod
    def _field_formats(cls, v):
        if not isinstance(v, dict):
            return v
        return {str(k).strip().upper(): _formats(f) for k, f in v.items()}

    def date_formats(self, field: str) -> list[str]:
        """Accepted formats of one date (or datetime) field: its own, else the form's default."""
        return self.dates.get(field.upper(), self.date_format)

    def time_formats(self, field: str) -> list[str]:
        return self.times.get(field.upper(), self.time_format)

    def subjid_parts(self) -> list[IdPart]:
        if self.subjid is not None:
            return self.subjid
        parts: list[IdPart] = []
        for i, c in enumerate(self.subject):
            if i:
                parts.append(IdPart(literal="-"))
            parts.append(IdPart(column=c))
        return parts

    def usubjid_parts(self) -> list[IdPart]:
        if self.usubjid is not None:
            return self.usubjid
        return [IdPart(study=True), IdPart(literal="-"), *self.subjid_parts()]

    def key_columns(self) -> list[str]:
        """Raw columns the identity reads (subject, site, visit, repeat, position): never 'unknown'."""
        cols = list(self.subject)
        for p in [*self.subjid_parts(), *self.usubjid_parts(), *([self.site] if self.site else [])]:
            cols += p.columns
        cols += [c for c in (self.visit, self.visit_repeat, self.position) if c]
        return list(dict.fromkeys(cols))


class FormOverride(FormSettings):
    """A form's overrides: only the keys written in the YAML change the study defaults."""


class RawSpec(FormSettings):
    """Study-level raw settings, with per-form overrides, the EDC manifest and the ASCII policy."""

    manifest: str | None = Field(default="manifest.json",
                                 description="EDC manifest file in the raw folder (row counts per form)")
    ascii_replacements: dict[str, str] = Field(
        default_factory=dict,
        description="non-ASCII character -> ASCII text; a value with any other non-ASCII character is held back")
    forms: dict[str, FormOverride] = Field(default_factory=dict)

    @field_validator("forms", mode="before")
    @classmethod
    def _lower_forms(cls, v):
        return {str(k).strip().lower(): f for k, f in v.items()} if isinstance(v, dict) else v

    @field_validator("ascii_replacements")
    @classmethod
    def _ascii_targets(cls, v: dict[str, str]) -> dict[str, str]:
        for src, dst in v.items():
            if not src or src.isascii():
                raise ValueError(f"replacement key {src!r} must be non-ASCII text")
            if not dst.isascii():
                raise ValueError(f"replacement for {src!r} must be ASCII (got {dst!r})")
        return v

    def for_form(self, name: str) -> FormSettings:
        """The effective settings of form `name` (study defaults, then that form's keys)."""
        base = {k: getattr(self, k) for k in FormSettings.model_fields}
        override = self.forms.get(name.lower())
        if override is not None:
            base.update({k: getattr(override, k) for k in override.model_fields_set})
        return FormSettings.model_validate(base)
