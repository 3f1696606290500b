"""The spec model: what a study's YAML may say, validated strictly (unknown keys are errors).

A spec folder holds:
  study.yaml            Study (identity, standards, XPT creation datetime)
  codelists.yaml        {codelists: [Codelist, ...]}
  methods.yaml          {methods: [Method, ...]}
  comments.yaml         {comments: [Comment, ...]}
  sdtm/<NAME>.yaml      Dataset (purpose Tabulation)
  adam/<NAME>.yaml      Dataset (purpose Analysis)
Anything else in the folder (e.g. simulation/) is not part of the spec model.

How a variable or dataset is made is a `Derivation`: a rule name from a registry that the
SDTM or ADaM stage publishes, plus its parameters. No expression is ever evaluated.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from studyforge.spec.raw import RawSpec

NAME_PATTERN = r"^[A-Z][A-Z0-9_]{0,7}$"
SAS_FORMAT_PATTERN = r"^\$?[A-Z0-9]*\d*\.\d*$"


@lru_cache(maxsize=1)
def observation_classes() -> frozenset[str]:
    """def:Class values allowed by Define-XML CT (codelist C103329, General Observation Class)."""
    from studyforge.standards import define_ct

    ct = define_ct()
    return frozenset(ct.loc[ct["Codelist Code"] == "C103329", "CDISC Submission Value"])


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=True)


class Standard(StrictModel):
    """One def:Standard: an implementation guide or a CT package."""

    name: str = Field(description="SDTMIG, ADaMIG, CDISC/NCI")
    version: str
    type: Literal["IG", "CT"]
    publishing_set: Literal["SDTM", "ADaM", "DEFINE-XML"] | None = None
    status: Literal["Final", "Draft", "Provisional"] = "Final"


class Study(StrictModel):
    id: str = Field(description="STUDYID", min_length=1, max_length=200)
    name: str
    title: str
    protocol: str
    sponsor: str | None = None
    registry_id: str | None = Field(default=None, description="e.g. NCT04852679")
    standards: list[Standard]
    xpt_created: dt.datetime = Field(description="header datetime of every XPT file (determinism)")
    language: str = "en"
    raw: RawSpec = Field(default_factory=RawSpec, description="how the raw exports identify records (spec/raw.py)")
    units: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict, description="named unit-conversion tables (rows: testcd, from_unit, to_unit, factor, "
        "offset) that SDTM unit_convert rules refer to by name")

    def standard(self, name: str) -> Standard | None:
        return next((s for s in self.standards if s.name == name), None)

    def ct_version(self, publishing_set: str) -> str | None:
        s = next((s for s in self.standards if s.type == "CT" and s.publishing_set == publishing_set), None)
        return s.version if s else None


OriginType = Literal["Collected", "Derived", "Assigned", "Protocol", "Predecessor", "Not Available"]


class Origin(StrictModel):
    type: OriginType
    source: Literal["Investigator", "Sponsor", "Subject", "Vendor"] | None = None
    pages: list[str] = Field(default_factory=list, description="annotated CRF page references")
    predecessor: str | None = Field(default=None, description="DATASET.VARIABLE for Predecessor origins")
    description: str | None = None


class Derivation(StrictModel):
    """A named rule from the stage's registry with its parameters (validated by the rule)."""

    rule: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)


class WhereCondition(StrictModel):
    variable: str = Field(pattern=NAME_PATTERN)
    comparator: Literal["EQ", "NE", "IN", "NOTIN", "LT", "LE", "GT", "GE"] = "EQ"
    values: list[str] = Field(min_length=1)


DataType = Literal[
    "text", "integer", "float", "date", "datetime", "time",
    "partialDate", "partialTime", "partialDatetime", "incompleteDatetime",
    "durationDatetime", "intervalDatetime",
]


class Variable(StrictModel):
    name: str = Field(pattern=NAME_PATTERN)
    label: str = Field(min_length=1, max_length=40)
    type: Literal["Char", "Num"]
    data_type: DataType | None = Field(default=None, description="Define-XML DataType; default text/float")
    length: int | None = Field(default=None, ge=1, le=200, description="bytes; default the data's maximum")
    significant_digits: int | None = Field(default=None, ge=0)
    role: str | None = None
    core: Literal["Req", "Exp", "Perm", "Cond"] | None = None
    origin: Origin
    codelist: str | None = Field(default=None, description="id of a codelist in codelists.yaml")
    format: str | None = Field(default=None, pattern=SAS_FORMAT_PATTERN, description="SAS display format")
    derivation: Derivation | None = None
    method: str | None = Field(default=None, description="id of a method in methods.yaml")
    comment: str | None = Field(default=None, description="id of a comment in comments.yaml")

    @property
    def define_data_type(self) -> str:
        if self.data_type:
            return self.data_type
        return "text" if self.type == "Char" else "float"


class ValueLevel(StrictModel):
    """Value-level metadata for one variable under where-clauses (Define-XML ValueListDef)."""

    variable: str = Field(pattern=NAME_PATTERN)
    where: list[WhereCondition] = Field(min_length=1)
    label: str | None = None
    type: Literal["Char", "Num"]
    data_type: DataType | None = None
    length: int | None = Field(default=None, ge=1, le=200)
    significant_digits: int | None = Field(default=None, ge=0)
    format: str | None = Field(default=None, pattern=SAS_FORMAT_PATTERN)
    codelist: str | None = None
    origin: Origin
    method: str | None = None
    comment: str | None = None
    mandatory: bool = False


class Parameter(StrictModel):
    """One BDS analysis parameter (PARAMCD/PARAM) and how its records are made."""

    paramcd: str = Field(pattern=NAME_PATTERN)
    param: str = Field(min_length=1, max_length=200)
    parcat1: str | None = None
    parcat2: str | None = None
    parcat3: str | None = None
    derivation: Derivation | None = None
    method: str | None = None
    comment: str | None = None


class Dataset(StrictModel):
    name: str = Field(pattern=NAME_PATTERN)
    label: str = Field(min_length=1, max_length=40)
    class_: str = Field(alias="class", description="SDTM/ADaM observation class, e.g. FINDINGS, BASIC DATA STRUCTURE")
    subclass: str | None = None
    structure: str
    purpose: Literal["Tabulation", "Analysis"]
    standard: str = Field(description="e.g. 'SDTMIG 3.4' or 'ADaMIG 1.3'")
    keys: list[str] = Field(min_length=1)
    repeating: bool = True
    reference_data: bool = False
    domain: str | None = Field(default=None, description="DOMAIN value; for SUPP-- the parent domain")
    sources: list[str] = Field(default_factory=list, description="raw forms (SDTM) or input datasets (ADaM)")
    derivation: Derivation | None = Field(default=None, description="dataset-level builder and its parameters")
    comment: str | None = None
    variables: list[Variable] = Field(min_length=1)
    values: list[ValueLevel] = Field(default_factory=list)
    parameters: list[Parameter] = Field(default_factory=list)

    @field_validator("class_")
    @classmethod
    def _class_in_define_ct(cls, value: str) -> str:
        allowed = observation_classes()
        if value not in allowed:
            raise ValueError(f"class {value!r} is not a Define-XML General Observation Class term "
                             f"(C103329): one of {', '.join(sorted(allowed))}")
        return value

    @model_validator(mode="after")
    def _unique_and_keys(self) -> "Dataset":
        names = [v.name for v in self.variables]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate variable(s): {', '.join(dupes)}")
        missing = [k for k in self.keys if k not in names]
        if missing:
            raise ValueError(f"key variable(s) not in variables: {', '.join(missing)}")
        codes = [p.paramcd for p in self.parameters]
        pd_dupes = sorted({c for c in codes if codes.count(c) > 1})
        if pd_dupes:
            raise ValueError(f"duplicate PARAMCD(s): {', '.join(pd_dupes)}")
        return self

    def variable(self, name: str) -> Variable:
        for v in self.variables:
            if v.name == name:
                return v
        raise KeyError(f"{self.name}.{name}")


class Term(StrictModel):
    value: str = Field(description="submission value (CodedValue)")
    nci: str | None = Field(default=None, pattern=r"^C\d+$")
    decode: str | None = None
    order: int | None = None
    synonyms: list[str] = Field(default_factory=list, description="raw spellings mapped to this term")


class Codelist(StrictModel):
    id: str = Field(min_length=1)
    name: str
    nci: str | None = Field(default=None, pattern=r"^C\d+$", description="CDISC codelist C-code")
    submission_value: str | None = Field(default=None, description="CDISC codelist short name, e.g. SEX")
    data_type: Literal["text", "integer", "float"] = "text"
    extensible: bool = False
    terms: list[Term] = Field(default_factory=list)
    comment: str | None = None

    @field_validator("terms")
    @classmethod
    def _unique_terms(cls, terms: list[Term]) -> list[Term]:
        vals = [t.value for t in terms]
        dupes = sorted({v for v in vals if vals.count(v) > 1})
        if dupes:
            raise ValueError(f"duplicate term(s): {', '.join(dupes)}")
        return terms

    def values(self) -> set[str]:
        return {t.value for t in self.terms}


class Method(StrictModel):
    id: str = Field(min_length=1)
    name: str
    type: Literal["Computation", "Imputation", "Transpose", "Other"] = "Computation"
    description: str = Field(min_length=1)
    document: str | None = None


class Comment(StrictModel):
    id: str = Field(min_length=1)
    text: str = Field(min_length=1)


class CodelistFile(StrictModel):
    codelists: list[Codelist] = Field(default_factory=list)


class MethodFile(StrictModel):
    methods: list[Method] = Field(default_factory=list)


class CommentFile(StrictModel):
    comments: list[Comment] = Field(default_factory=list)


class Spec(StrictModel):
    """A whole study spec, as loaded from a folder."""

    study: Study
    datasets: dict[str, Dataset] = Field(default_factory=dict)
    codelists: dict[str, Codelist] = Field(default_factory=dict)
    methods: dict[str, Method] = Field(default_factory=dict)
    comments: dict[str, Comment] = Field(default_factory=dict)

    def sdtm(self) -> list[Dataset]:
        return [d for d in self.datasets.values() if d.purpose == "Tabulation"]

    def adam(self) -> list[Dataset]:
        return [d for d in self.datasets.values() if d.purpose == "Analysis"]
