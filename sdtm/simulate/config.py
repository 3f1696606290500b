"""Simulation settings: YAML under specs/<study>/simulation/, validated by pydantic, errors with file:line."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

Rate = Annotated[float, Field(ge=0.0, le=1.0)]
PosFloat = Annotated[float, Field(gt=0.0)]


class ConfigError(ValueError):
    """A simulation setting is wrong; the message names file:line (or the --set override) and the value."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StudyCfg(_Strict):
    studyid: str
    protocol_version: str
    subjects: Annotated[int, Field(ge=1)]
    seed: Annotated[int, Field(ge=0)]
    enrolment_start: _dt.date
    enrolment_days: Annotated[int, Field(ge=1)]
    screening_max_days: Annotated[int, Field(ge=1, le=28)]
    screen_fail_ratio: Annotated[float, Field(ge=0.0, le=2.0)]
    age_range: tuple[int, int]
    male_fraction: Rate


class DesignCfg(_Strict):
    dose: PosFloat
    dose_unit: str
    interval_days: Annotated[int, Field(ge=7)]
    visit_window_days: Annotated[int, Field(ge=0, le=10)]
    imaging_window_days: Annotated[int, Field(ge=0, le=21)]
    cohort_fraction: Rate
    partner_fraction: Rate
    injection_sites: list[str] = Field(min_length=1)
    lot_numbers: list[str] = Field(min_length=1)
    prior_ssa_fraction: Rate
    subsequent_therapy_fraction: Rate
    subsequent_therapies: list[str] = Field(min_length=1)


class DiseaseCfg(_Strict):
    primsite_probs: dict[str, Rate]
    g2_fraction: Rate
    functioning_fraction: Rate
    pr_fraction: Rate
    pd_weekly_hazard: Annotated[float, Field(ge=0.0, le=1.0)]
    pd_hazard_g2_multiplier: PosFloat
    pd_type_probs: dict[Literal["target", "new", "nontarget"], Rate]
    target_growth_at_pd: Annotated[float, Field(ge=1.2)]
    sd_weekly_drift_sd: Annotated[float, Field(ge=0.0)]
    pr_weekly_shrink: Annotated[float, Field(ge=0.0)]
    pr_max_shrink: Rate
    lesions_min: Annotated[int, Field(ge=1)]
    lesions_max: Annotated[int, Field(ge=1, le=20)]
    max_targets: Annotated[int, Field(ge=1, le=5)]
    max_targets_per_organ: Annotated[int, Field(ge=1, le=2)]
    lesion_organs: dict[str, Rate]
    baseline_diam_logmean: float
    baseline_diam_logsd: Annotated[float, Field(ge=0.0)]
    node_short_axis_logmean: float
    mri_fraction: Rate
    reader_noise_sd: Annotated[float, Field(ge=0.0, le=0.5)]
    reader_selection_diff: Rate
    reader_miss_new_lesion: Rate
    investigator_override: Rate
    lesion_not_evaluable: Rate
    equivocal_new_lesion: Rate
    death_after_pd: Rate
    death_after_pd_days: tuple[int, int]
    death_without_pd: Rate
    dropout_weekly_hazard: dict[str, Rate]

    @model_validator(mode="after")
    def _check(self) -> "DiseaseCfg":
        if self.lesions_min > self.lesions_max:
            raise ValueError("lesions_min must not exceed lesions_max")
        for name in ("primsite_probs", "pd_type_probs", "lesion_organs"):
            total = sum(getattr(self, name).values())
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"{name} must sum to 1 (sums to {total:g})")
        if "LYMPH NODE" not in self.lesion_organs:
            raise ValueError("lesion_organs must contain LYMPH NODE (nodal lesions)")
        return self


class QolCfg(_Strict):
    item_noise_sd: Annotated[float, Field(ge=0.0)]
    pd_worsening: float
    functioning_symptom_shift: float


class DiaryCfg(_Strict):
    stools_base: PosFloat
    stools_functioning: PosFloat
    flush_functioning: Annotated[float, Field(ge=0.0)]
    flush_nonfunctioning: Annotated[float, Field(ge=0.0)]
    treatment_effect: Rate


class IECriterion(_Strict):
    code: str
    text: str
    cat: Literal["INCLUSION", "EXCLUSION"]


class PriorTherapy(_Strict):
    trt: str
    clas: str
    dose: PosFloat
    unit: str
    zh: str


class MessinessCfg(_Strict):
    """Each switch is documented in simulation.yaml; rates are shares of the records a switch touches."""

    partial_dates: Rate = 0.0
    missed_visits: Rate = 0.0
    unscheduled_visits: Rate = 0.0
    out_of_window: Rate = 0.0
    unit_variants: Rate = 0.0
    codelist_variants: Rate = 0.0
    duplicate_records: Rate = 0.0
    out_of_range: Rate = 0.0
    missing_values: Rate = 0.0
    non_ascii: bool = False
    non_ascii_rate: Rate = 0.0
    impossible_dates: bool = False
    impossible_dates_rate: Rate = 0.0


class Site(_Strict):
    siteid: Annotated[str, Field(pattern=r"^\d{3}$")]
    name: str
    city: str
    weight: PosFloat
    lab_profile: str
    range_jitter: PosFloat


class CentralLab(_Strict):
    name: str
    lab_profile: str


class SitesCfg(_Strict):
    sites: list[Site] = Field(min_length=1)
    central_lab: CentralLab


class Visit(_Strict):
    folder: str
    day: int
    assessments: list[Literal["sv", "ex", "ecog", "imaging", "lab", "qs", "diary"]]
    cohort: bool = False
    eot: Literal["main", "cohort"] | None = None
    cohort_assessments: list[Literal["ex"]] = []


class FollowUp(_Strict):
    folder: str
    days_after_eot: Annotated[int, Field(ge=1)]
    window_days: Annotated[int, Field(ge=0)]


class ScheduleCfg(_Strict):
    visits: list[Visit] = Field(min_length=3)
    follow_up: FollowUp
    log_folder: str
    unscheduled_prefix: str

    @model_validator(mode="after")
    def _check(self) -> "ScheduleCfg":
        days = [v.day for v in self.visits]
        if days != sorted(days) or len(set(days)) != len(days):
            raise ValueError("visit days must be strictly increasing")
        if [v.eot for v in self.visits if v.eot] != ["main", "cohort"]:
            raise ValueError("schedule needs exactly one eot: main visit, then one eot: cohort visit")
        return self


class LabTest(_Strict):
    code: str
    name: str
    cat: Literal["CHEMISTRY", "HEMATOLOGY", "TUMOR MARKERS"]
    spec: Literal["SERUM", "PLASMA", "URINE", "BLOOD"]
    central: bool
    unit: str
    mean: PosFloat
    cv: Annotated[float, Field(ge=0.0)]
    visit_cv: Annotated[float, Field(ge=0.0)]
    lo: Annotated[float, Field(ge=0.0)]
    hi: PosFloat
    decimals: Annotated[int, Field(ge=0, le=4)]
    disease_link: float = 0.0
    treatment_drift: float = 0.0


class UnitVariant(_Strict):
    unit: str
    factor: PosFloat
    offset: float = 0.0
    decimals: Annotated[int, Field(ge=0, le=4)] | None = None


class LabsCfg(_Strict):
    tests: list[LabTest] = Field(min_length=1)
    unit_profiles: dict[str, dict[str, UnitVariant]]
    unit_variants: dict[str, list[str]]


class Term(_Strict):
    pt: str
    ptcd: int
    hlt: str
    hltcd: int
    hlgt: str
    hlgtcd: int
    soc: str
    soccd: int
    verbatim: list[str] = Field(min_length=1)
    zh: str
    llt: str | None = None
    lltcd: int | None = None
    rate: Rate = 0.0
    grades: list[Rate] = [1.0, 0.0, 0.0, 0.0]
    serious: Rate = 0.0
    related: Rate = 0.0
    early: bool = False
    glucose_link: bool = False

    @model_validator(mode="after")
    def _check(self) -> "Term":
        for cd in (self.ptcd, self.hltcd, self.hlgtcd, self.soccd, self.lltcd or self.ptcd):
            if not 10_000_000 <= cd <= 99_999_999:
                raise ValueError(f"MedDRA codes have 8 digits: {cd}")
        if len(self.grades) != 4 or abs(sum(self.grades) - 1.0) > 1e-6:
            raise ValueError("grades must be 4 probabilities (grades 1-4) summing to 1")
        return self


class MeddraCfg(_Strict):
    terms: list[Term] = Field(min_length=1)
    fatal_terms: list[Term] = Field(min_length=1)


class SimConfig(_Strict):
    """All simulation settings of one study (the merged YAML files)."""

    study: StudyCfg
    design: DesignCfg
    disease: DiseaseCfg
    qol: QolCfg
    diary: DiaryCfg
    ie_criteria: list[IECriterion] = Field(min_length=1)
    prior_therapies: list[PriorTherapy] = Field(min_length=1)
    messiness: MessinessCfg
    sites: SitesCfg
    schedule: ScheduleCfg
    labs: LabsCfg
    meddra: MeddraCfg

    @model_validator(mode="after")
    def _check(self) -> "SimConfig":
        profiles = set(self.labs.unit_profiles)
        for s in [*self.sites.sites, self.sites.central_lab]:
            if s.lab_profile not in profiles:
                raise ValueError(f"site lab_profile {s.lab_profile!r} is not in labs.yaml unit_profiles")
        ids = [s.siteid for s in self.sites.sites]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate siteid")
        return self


FieldType = Literal["text", "integer", "float", "date", "time", "code"]


class FormField(_Strict):
    name: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]
    label: str
    type: FieldType
    codelist: str | None = None
    required: Literal["Y", "N"] = "N"


class RepeatSpec(_Strict):
    prefix: Annotated[str, Field(pattern=r"^[A-Z]+$")]
    count: Annotated[int, Field(ge=1, le=99)]
    width: Annotated[int, Field(ge=1, le=3)] = 2
    label: str
    type: FieldType
    codelist: str | None = None
    codelist_last2: str | None = None
    required: Literal["Y", "N"] = "N"


class RepeatField(_Strict):
    repeat: RepeatSpec


def _field_kind(v: Any) -> str:
    return "REPEAT" if isinstance(v, dict) and "repeat" in v else "FIELD"


class FormSpec(_Strict):
    label: str
    one_row_per: str
    edc: bool = True
    fields: list[Annotated[Union[Annotated[FormField, Tag("FIELD")], Annotated[RepeatField, Tag("REPEAT")]],
                           Discriminator(_field_kind)]] = Field(min_length=1)


class FormsCfg(_Strict):
    """forms.yaml: the raw-export contract (form -> fields), its codelists and spelling variants."""

    common_fields: list[FormField]
    codelists: dict[str, list[str]]
    forms: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], FormSpec]
    spelling_variants: dict[str, dict[str, list[str]]] = {}

    @model_validator(mode="after")
    def _check(self) -> "FormsCfg":
        for form, spec in self.forms.items():
            names = []
            for f in spec.fields:
                cls = [f.codelist] if isinstance(f, FormField) else [f.repeat.codelist, f.repeat.codelist_last2]
                for cl in cls:
                    if cl and cl not in self.codelists:
                        raise ValueError(f"form {form}: unknown codelist {cl!r}")
                if isinstance(f, FormField):
                    names.append(f.name)
            if len(set(names)) != len(names):
                raise ValueError(f"form {form}: duplicate field names")
        for cl, table in self.spelling_variants.items():
            if cl not in self.codelists:
                raise ValueError(f"spelling_variants: unknown codelist {cl!r}")
            extra = set(table) - set(self.codelists[cl])
            if extra:
                raise ValueError(f"spelling_variants.{cl}: {sorted(extra)} are not display texts of the codelist")
        return self


# file that holds each top-level section (others come from simulation.yaml)
SECTION_FILES = {"sites": "sites.yaml", "schedule": "schedule.yaml", "labs": "labs.yaml", "meddra": "meddra.yaml"}
MAIN_FILE = "simulation.yaml"


def _yaml() -> YAML:
    y = YAML(typ="rt")  # round-trip loader: safe (no arbitrary tags) and keeps line numbers
    y.allow_duplicate_keys = False
    return y


def load_yaml(path: Path) -> Any:
    """Load one YAML file; a syntax error names the file."""
    try:
        with open(path, encoding="utf-8") as fh:
            return _yaml().load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: simulation config file missing") from None
    except Exception as exc:  # ruamel parser/scanner errors carry their own line info
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None


def _line_of(node: Any, loc: tuple) -> int | None:
    """1-based line of the deepest node on `loc` that exists in the ruamel document."""
    line = None
    for key in loc:
        try:
            if isinstance(node, CommentedMap) and key in node:
                line = node.lc.key(key)[0] + 1
                node = node[key]
            elif isinstance(node, CommentedSeq) and isinstance(key, int) and key < len(node):
                line = node.lc.item(key)[0] + 1
                node = node[key]
            else:
                break
        except (KeyError, AttributeError, TypeError):
            break
    return line


def _to_plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_to_plain(v) for v in node]
    return node


def _apply_override(docs: dict[str, Any], text: str) -> None:
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. messiness.partial_dates=0.2")
    key, raw = text.split("=", 1)
    parts = key.strip().split(".")
    if not parts or not all(parts):
        raise ConfigError(f"--set {text!r}: empty key")
    fname = SECTION_FILES.get(parts[0], MAIN_FILE)
    node = docs[fname]
    path = parts if fname == MAIN_FILE else parts[1:]
    for i, p in enumerate(path):
        is_last = i == len(path) - 1
        if isinstance(node, list):
            if not p.isdigit() or int(p) >= len(node):
                raise ConfigError(f"--set {text!r}: {'.'.join(parts[:i + 1])} is not a valid list index")
            idx: Any = int(p)
        elif isinstance(node, dict) and p in node:
            idx = p
        else:
            raise ConfigError(f"--set {text!r}: unknown setting {'.'.join(parts[:i + 1])!r}")
        if is_last:
            if isinstance(node[idx], (dict, list)):
                raise ConfigError(f"--set {text!r}: {key} is a section, not a value")
            node[idx] = YAML(typ="safe", pure=True).load(raw) if raw.strip() else ""
        else:
            node = node[idx]


def load_config(study_dir: Path, overrides: tuple[str, ...] = ()) -> tuple[SimConfig, dict]:
    """The validated settings and the forms dictionary of `study_dir`/simulation, after --set overrides."""
    sim_dir = Path(study_dir) / "simulation"
    names = [MAIN_FILE, *SECTION_FILES.values()]
    docs = {n: load_yaml(sim_dir / n) for n in names}
    for n, d in docs.items():
        if not isinstance(d, dict):
            raise ConfigError(f"{sim_dir / n}:1: expected a mapping at the top level")
    for text in overrides:
        _apply_override(docs, text)
    merged = _to_plain(docs[MAIN_FILE])
    for section, fname in SECTION_FILES.items():
        if section in merged:
            raise ConfigError(f"{sim_dir / MAIN_FILE}: section {section!r} belongs in {fname}")
        merged[section] = _to_plain(docs[fname])
    try:
        cfg = SimConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError("invalid simulation settings:\n" + _messages(exc, sim_dir, docs, None)) from None
    forms_doc = load_yaml(sim_dir / "forms.yaml")
    forms = _to_plain(forms_doc)
    try:
        FormsCfg.model_validate(forms)
    except ValidationError as exc:
        raise ConfigError("invalid forms dictionary:\n" + _messages(exc, sim_dir, {"forms.yaml": forms_doc}, "forms.yaml")) from None
    return cfg, forms


def _messages(exc: ValidationError, sim_dir: Path, docs: dict[str, Any], only: str | None) -> str:
    """One line per pydantic error: file:line: dotted.location: message (value ...)."""
    msgs = []
    for err in exc.errors():
        loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x in ("FIELD", "REPEAT")))
        if only:
            fname, inner = only, loc
        else:
            fname = SECTION_FILES.get(str(loc[0]), MAIN_FILE) if loc else MAIN_FILE
            inner = loc[1:] if fname != MAIN_FILE else loc
        line = _line_of(docs[fname], inner)
        where = f"{sim_dir / fname}" + (f":{line}" if line else "")
        value = err.get("input")
        shown = "" if isinstance(value, (dict, list)) else f" (value {value!r})"
        msgs.append(f"{where}: {'.'.join(map(str, loc))}: {err['msg']}{shown}")
    return "\n".join(msgs)
