"""The SDTM stage's rule registry: rule name -> pydantic model of its parameters.

`RULES` is what `studyforge spec check` validates specs against; `IMPL` binds each rule to the
function that applies it and the phase it runs in (row rules first, then derivations that read
other variables: study day / epoch / visit, then --SEQ, then baseline flags).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class P(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# -- variable rules: vocabulary ------------------------------------------------------------
class CopyParams(P):
    field: str = Field(description="raw field; '__form' is the source form name")
    upper: bool = False
    fallback: str | None = Field(default=None, description="raw field used where `field` is empty")


class CtMapParams(P):
    field: str
    codelist: str | None = Field(default=None, description="default: the variable's codelist")


class DecodeParams(P):
    var: str = Field(description="coded variable already made, e.g. QSTESTCD")
    codelists: list[str] = Field(min_length=1, description="codelists whose term decodes give the text, in order")


class ConstantParams(P):
    value: str | int | float


class Iso8601Params(P):
    date: str
    time: str | None = None
    format: Literal["edc", "iso"] = "edc"


class Case(P):
    in_: list[str] = Field(alias="in")
    value: str


class ConditionParams(P):
    field: str | None = Field(default=None, description="raw field (or '__form')")
    var: str | None = Field(default=None, description="or an SDTM variable made earlier")
    cases: list[Case] = Field(default_factory=list)
    nonempty: str | None = Field(default=None, description="value when the source is not empty")
    default: str = ""
    otherwise_source: bool = Field(default=False, description="unmatched -> the source value itself")


class UnitRow(P):
    testcd: str
    from_unit: str
    to_unit: str
    factor: float
    offset: float = Field(default=0.0, description="standard = (original + offset) * factor")


class UnitConvertParams(P):
    value: str = Field(description="raw field with the original result/limit")
    unit: str = Field(description="raw field with the original unit")
    unit_var: str | None = Field(default=None, description="variable with the CT-mapped original unit (preferred)")
    testcd: str = Field(description="variable holding the test code")
    output: Literal["number", "text", "unit"]
    table: list[UnitRow]
    decimals: int = 4


# -- variable rules: SDTM derivations -----------------------------------------------------
class UsubjidParams(P):
    subjid: str = "SUBJID"
    sep: str = "-"


class SeqParams(P):
    sort: list[str] = Field(min_length=1, description="order within USUBJID")


class StudyDayParams(P):
    dtc: str


class EpochParams(P):
    dtc: str


class VisitParams(P):
    field: str = Field(default="FOLDER", description="raw EDC folder name")
    output: Literal["visitnum", "visit"]
    dtc: str = Field(description="variable ordering unscheduled visits in time")


class LobxflParams(P):
    by: list[str] = Field(min_length=1, description="e.g. [LBTESTCD, LBSPEC]")
    dtc: str
    result: str = Field(description="result variable that must be non-missing, e.g. LBORRES")
    seq: str


class SubjectDateParams(P):
    form: str
    date: str
    time: str | None = None
    agg: Literal["min", "max"]
    where_field: str | None = None
    where_in: list[str] = Field(default_factory=list)
    format: Literal["edc", "iso"] = "edc"
    text: bool = Field(default=False, description="take the field as text (not a date) for the chosen record")


class AgeParams(P):
    birth: str = Field(description="raw birth date field (EDC text)")
    ref: str = Field(description="reference date variable, e.g. RFICDTC")
    partial: Literal["unambiguous", "missing"] = "unambiguous"


class ArmParams(P):
    output: Literal["ARMCD", "ARM", "ACTARMCD", "ACTARM", "ARMNRS"]
    armcd: str
    arm: str
    treated_form: str = Field(description="form whose records show the subject was treated")
    screen_fail_form: str | None = Field(default=None, description="form listing failed eligibility")


class NrindParams(P):
    result: str
    low: str
    high: str


class RowsParams(P):
    rows: list[dict[str, Any]]


class FormPart(P):
    form: str
    where_field: str | None = None
    where_in: list[str] = Field(default_factory=list)
    unique: list[str] = Field(default_factory=list, description="raw key; later duplicates are errors")
    optional: bool = False
    set: dict[str, str] = Field(default_factory=dict, description="constant fields added to this form's records")


class FormsParams(P):
    parts: list[FormPart] = Field(min_length=1)


class Instrument(P):
    form: str
    cat: str
    date: str
    items: dict[str, str] = Field(description="raw column -> --TESTCD")
    stat: str | None = None
    reasnd: str | None = None


class TransposeParams(P):
    instruments: list[Instrument]


class Qualifier(P):
    qnam: str = Field(pattern=r"^[A-Z][A-Z0-9]{0,7}$")
    qlabel: str = Field(max_length=40)
    qorig: str = "CRF"
    qeval: str = ""
    derivation: dict[str, Any]


class SuppParams(P):
    idvar: str = Field(description="e.g. AESEQ; empty for subject-level (DM)")
    qualifiers: list[Qualifier] = Field(default_factory=list)
    split_text: list[str] = Field(default_factory=list, description="Char variables split over 200 chars")


class RecistParams(P):
    investigator: dict[str, str] = Field(default_factory=dict, description="role -> raw form")
    bicr: dict[str, str] = Field(default_factory=dict)
    ecog_form: str | None = None
    default_accepted_reader: str = "RADIOLOGIST 1"


class TrialSummaryParams(P):
    rows: list[dict[str, Any]]
    sstdtc_from: str = Field(default="DM.RFICDTC", description="study start = earliest of this")


class SeParams(P):
    screening_form: str
    dosing_form: str
    dosing_date: str
    switch_form: str
    switch_date: str
    end_form: str
    end_date: str
    end_where_field: str
    end_where_in: list[str]


RULES: dict[str, type[BaseModel]] = {
    "copy": CopyParams,
    "ct_map": CtMapParams,
    "decode": DecodeParams,
    "constant": ConstantParams,
    "iso8601": Iso8601Params,
    "condition": ConditionParams,
    "unit_convert": UnitConvertParams,
    "usubjid": UsubjidParams,
    "seq": SeqParams,
    "study_day": StudyDayParams,
    "epoch": EpochParams,
    "visit": VisitParams,
    "lobxfl": LobxflParams,
    "subject_date": SubjectDateParams,
    "age": AgeParams,
    "arm": ArmParams,
    "nrind": NrindParams,
    # dataset-level builders
    "forms": FormsParams,
    "rows": RowsParams,
    "transpose": TransposeParams,
    "suppqual": SuppParams,
    "recist_tu": RecistParams,
    "recist_tr": RecistParams,
    "recist_rs": RecistParams,
    "trial_summary": TrialSummaryParams,
    "subject_elements": SeParams,
}

VARIABLE_RULES = {"copy", "ct_map", "decode", "constant", "iso8601", "condition", "unit_convert", "usubjid",
                  "seq", "study_day", "epoch", "visit", "lobxfl", "subject_date", "age", "arm", "nrind"}
PHASE = {"study_day": 2, "epoch": 2, "visit": 2, "nrind": 2, "seq": 3, "lobxfl": 4}


def parse_params(rule: str, params: dict[str, Any]) -> BaseModel:
    """Validated params of a rule; an unknown rule name is a spec error (KeyError)."""
    if rule not in RULES:
        raise KeyError(f"unknown SDTM rule {rule!r}; known: {', '.join(sorted(RULES))}")
    return RULES[rule].model_validate(params)
