"""Parameter models of the ADRS rules: every study choice is a validated spec value, never code."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Evaluator(_Params):
    """Which RS/TU records make one evaluator's responses (PARCAT2 names it in ADRS)."""

    rseval: list[str] = Field(min_length=1, description="RSEVAL values, e.g. ['INDEPENDENT ASSESSOR']")
    accepted_only: bool = Field(default=False, description="keep only RSACPTFL = 'Y' (the adjudicated read)")
    tueval: list[str] = Field(min_length=1, description="TUEVAL values for measurable disease (MDIS)")
    parcat2: str = Field(min_length=1, description="PARCAT2 text, e.g. 'Independent Review Facility'")


class AdrsParams(_Params):
    """Dataset-level rule `adrs`: inputs, evaluators and the RECIST 1.1 analysis conventions."""

    rs_dataset: str = "RS"
    tu_dataset: str = "TU"
    rscat: str = "RECIST 1.1"
    ovr_testcd: str = "OVRLRESP"
    tu_testcd: str = "TUMIDENT"
    tu_target: str = "TARGET"
    tu_baseline_visits: list[str] = Field(default_factory=lambda: ["SCREENING", "BASELINE"],
                                          description="without TUDTC, lesions at these VISITs are baseline")
    evaluators: dict[str, Evaluator] = Field(min_length=1)
    reference_var: str = Field(default="TRTSDT", description="ADSL date the windows are measured from")
    death_var: str = Field(default="DTHDT", description="ADSL death date")
    confirm_days: int = Field(default=28, ge=1, description="minimum days between response and confirmation")
    max_ne_between: int = Field(default=1, ge=0, description="NE assessments allowed up to the confirmation")
    accept_sd: bool = Field(default=False, description="one SD between PR and its confirmation is accepted")
    min_sd_days: int = Field(default=42, ge=0, description="SD counts when ADT >= reference + this many days")
    missing_as_ne: bool = Field(default=False, description="no assessment -> NE instead of MISSING")
    responses_after_pd: bool = Field(default=False, description="assessments after the first PD count")
    before_reference_counts: bool = Field(default=False, description="assessments before the reference date count")
    date_imputation: Literal["first", "mid", "last", "none"] = "first"
    clamp_to_reference: bool = Field(default=True, description="an imputed ADT is not before the reference date")
    parcat1: str = "Tumor Response"
    parcat3: str = "RECIST 1.1"


class EvaluatorRef(_Params):
    evaluator: str = Field(min_length=1, description="a key of the dataset-level `evaluators`")


class OvrParams(EvaluatorRef):
    """Rule `adrs_ovr`: the per-visit overall responses of one evaluator."""


class BorParams(EvaluatorRef):
    """Rule `adrs_bor`: best overall response, confirmed (CBOR) or not (BOR)."""

    confirmed: bool = False


class ResponseParams(EvaluatorRef):
    """Rule `adrs_response`: responder Y/N (RSP/CRSP); `from_bor` gives BCP/CBCP (BOR in CR/PR)."""

    confirmed: bool = False
    from_bor: bool = False


class ClinBenefitParams(EvaluatorRef):
    """Rule `adrs_clinbenefit`: CB/CCB."""

    confirmed: bool = False


class FirstPdParams(EvaluatorRef):
    """Rule `adrs_pd`: first progressive disease."""


class LastAssessmentParams(EvaluatorRef):
    """Rule `adrs_lsta`: last disease assessment."""


class MeasurableParams(EvaluatorRef):
    """Rule `adrs_mdis`: measurable disease at baseline (a TARGET lesion on/before the reference date)."""


class DeathParams(_Params):
    """Rule `adrs_death`: death from ADSL (no evaluator)."""

    parcat1: str = "Reference Event"


class TimepointParams(EvaluatorRef):
    """Rule `adrs_timepoint`: PALACE week-N endpoints (ORR, DCR, CBR, APF) with a study-day window.

    Each endpoint reads only what it uses: ORR and DCR count up to the window end (`window_after`),
    APF from the window start (`window_before`), CBR both and `confirmed_response_qualifies`. Setting
    a field the endpoint does not read is refused: a value that changes nothing is a silent error."""

    endpoint: Literal["ORR", "DCR", "CBR", "APF"]
    target_day: int = Field(ge=2, description="study day of the target week, e.g. 168 for week 24")
    window_before: int = Field(default=14, ge=0, description="CBR, APF: window start = target_day - this")
    window_after: int = Field(default=14, ge=0, description="ORR, DCR, CBR: window end = target_day + this")
    confirmed_response_qualifies: bool = Field(default=True, description="CBR: a confirmed CR/PR by the window end counts")

    @model_validator(mode="after")
    def _window(self) -> "TimepointParams":
        reads = {"ORR": {"window_after"}, "DCR": {"window_after"}, "APF": {"window_before"},
                 "CBR": {"window_before", "window_after", "confirmed_response_qualifies"}}[self.endpoint]
        unread = sorted((self.model_fields_set & set(ENDPOINT_FIELDS)) - reads)
        if unread:
            raise ValueError(f"endpoint {self.endpoint} does not use {', '.join(unread)}: remove it")
        if self.target_day - self.window_before < 1:
            raise ValueError("window starts before study day 1")
        return self


ENDPOINT_FIELDS = ("window_before", "window_after", "confirmed_response_qualifies")
