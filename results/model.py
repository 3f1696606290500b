"""The analyses spec (`specs/<study>/results/analyses.yaml`): what each endpoint analysis takes and does.

Modelled on the CDISC Analysis Results Standard (ARS v1.0): an analysis names its analysis set
(population), its dataset and parameter, a data subset (where clause, as data), its method and
grouping; outputs group analyses into the tables of the report. No expression is evaluated.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ID = r"^[A-Z][A-Z0-9_]{0,39}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Condition(Strict):
    """ARS WhereClauseCondition: variable, comparator and value(s)."""

    variable: str
    comparator: Literal["EQ", "NE", "IN", "NOTIN", "GT", "GE", "LT", "LE", "MISSING", "NOTMISSING"]
    value: list[str | float] = Field(default_factory=list)

    @model_validator(mode="after")
    def _arity(self) -> "Condition":
        needs = {"MISSING": 0, "NOTMISSING": 0, "IN": None, "NOTIN": None}
        want = needs.get(self.comparator, 1)
        if want is None and not self.value:
            raise ValueError(f"{self.comparator} needs at least one value")
        if want is not None and len(self.value) != want:
            raise ValueError(f"{self.comparator} takes {want} value(s), got {len(self.value)}")
        return self


class Where(Strict):
    """ARS WhereClause: one condition, or a compound of clauses joined by AND / OR / NOT."""

    condition: Condition | None = None
    op: Literal["AND", "OR", "NOT"] | None = None
    clauses: list["Where"] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_kind(self) -> "Where":
        if (self.condition is None) == (self.op is None):
            raise ValueError("a where clause is either a condition or a compound (op + clauses)")
        if self.op == "NOT" and len(self.clauses) != 1:
            raise ValueError("NOT takes exactly one clause")
        if self.op in ("AND", "OR") and len(self.clauses) < 2:
            raise ValueError(f"{self.op} takes two or more clauses")
        return self


class AnalysisSet(Strict):
    """The population: subjects of ADSL with this flag = Y."""

    id: str = Field(pattern=ID)
    label: str
    flag: str = Field(description="ADSL population flag, e.g. EFFFL")


class Analysis(Strict):
    id: str = Field(pattern=ID)
    name: str
    reason: Literal["SPECIFIED IN PROTOCOL", "SPECIFIED IN SAP", "DATA DRIVEN",
                    "REQUESTED BY REGULATORY AGENCY"] = "SPECIFIED IN PROTOCOL"
    purpose: Literal["PRIMARY OUTCOME MEASURE", "SECONDARY OUTCOME MEASURE",
                     "EXPLORATORY OUTCOME MEASURE"] = "SECONDARY OUTCOME MEASURE"
    analysis_set: str
    dataset: str = Field(pattern=r"^AD[A-Z0-9]{1,6}$")
    paramcd: str | None = None
    where: Where | None = None
    group_by: list[str] = Field(default_factory=list, description="grouping variables, in order")
    method: str
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _method_and_params(self) -> "Analysis":
        """An unknown method or a bad parameter is a spec error at this analysis's line, not a failure later."""
        from pydantic import ValidationError

        from .methods import METHODS

        method = METHODS.get(self.method)
        if method is None:
            raise ValueError(f"unknown method {self.method!r}; known: {', '.join(sorted(METHODS))}")
        try:
            method.params.model_validate(self.params)
        except ValidationError as exc:
            raise ValueError("; ".join(f"params.{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                       for e in exc.errors(include_url=False))) from None
        return self


class ColourBy(Strict):
    """Waterfall: each subject's bar coloured by one value of another dataset (e.g. ADRS CBOR AVALC)."""

    dataset: str = Field(pattern=r"^AD[A-Z0-9]{1,6}$")
    paramcd: str
    variable: str = "AVALC"
    order: list[str] = Field(default_factory=lambda: ["CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE", "MISSING"],
                             description="legend order; other values follow alphabetically")


class Output(Strict):
    id: str = Field(pattern=ID)
    name: str
    analyses: list[str] = Field(min_length=1)
    figure: Literal["km", "swimmer", "mean_change", "waterfall"] | None = None
    figure_paramcd: str | None = Field(default=None, description="swimmer: the time-point response PARAMCD")
    figure_var: str = Field(default="PCHG", description="waterfall: the value plotted per subject")
    colour_by: ColourBy | None = Field(default=None, description="waterfall: what colours the bars")
    max_subjects: int = Field(default=100, ge=1, description="swimmer: at most this many subjects (the longest on "
                              "treatment) so that the figure stays readable; its title says how many of how many")


class ResultsSpec(Strict):
    analysis_sets: list[AnalysisSet] = Field(min_length=1)
    analyses: list[Analysis] = Field(min_length=1)
    outputs: list[Output] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> "ResultsSpec":
        sets = {s.id for s in self.analysis_sets}
        ids = [a.id for a in self.analyses]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate analysis id(s): {', '.join(dup)}")
        for a in self.analyses:
            if a.analysis_set not in sets:
                raise ValueError(f"analysis {a.id}: unknown analysis_set {a.analysis_set!r}")
        for o in self.outputs:
            missing = [x for x in o.analyses if x not in ids]
            if missing:
                raise ValueError(f"output {o.id}: unknown analyses {', '.join(missing)}")
        return self
