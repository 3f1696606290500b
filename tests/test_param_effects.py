"""Every spec parameter has an effect (DESIGN.md, issue 12): a parameter that is validated and then
ignored is a silent error.

For each rule of the SDTM and ADaM registries and each field of its parameter model, the test
takes a site where the PALACE spec uses the rule, changes that one field (a generic perturbation
that the parameter model still accepts), re-runs the stage on a small simulated study and requires
the output (datasets or findings) to change. A field that only feeds define.xml is listed, with its
reason, in DEFINE_ONLY. Fields found ineffective on today's code are KNOWN_INEFFECTIVE (strict
xfail, with the owner who fixes them): when the owner's fix lands the xfail turns into a failure
that asks for the entry to be removed.

The walker reads only the registries (rule name -> pydantic model) and the spec, so it adapts when
a registry is rewritten.
"""

from __future__ import annotations

import contextlib
import io
import os
import typing
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import pytest
from pydantic import BaseModel, ValidationError

ROOT = Path(__file__).resolve().parents[1]
SPEC_DIR = ROOT / "specs" / "palace"
SUBJECTS, SEED = int(os.environ.get("SF_PARAM_EFFECTS_SUBJECTS", "43")), 20210524   # the PALACE size

# (purpose, rule, field) -> why the field is accepted without changing any dataset.
DEFINE_ONLY: dict[tuple[str, str, str], str] = {}

# (purpose, rule, field) -> owner: changing the field changed no dataset and no finding on the PALACE
# spec and its 43-subject simulation. Either the rule ignores the field, or the simulation never exercises
# it; the owner decides which (fix the rule, or add an EXERCISE entry below). xfail(strict=False) so the
# suite stays green while they do; delete an entry once its case passes.
KNOWN_INEFFECTIVE: dict[tuple[str, str, str], str] = {
}


@dataclass(frozen=True)
class Exercise:
    """How to show the effect of a field that the PALACE spec and simulation never reach: another site,
    other baseline params at it, explicit changed values (when the model ties the field to another, e.g.
    a threshold stated in a criterion text), and/or a change to the stage's input data (raw forms for
    Tabulation, SDTM frames for Analysis) that makes the field matter. Baseline and change both run on it."""

    why: str
    site: tuple[str, str, str] | None = None          # (dataset, variable, paramcd)
    params: dict | None = None                        # merged over the site's params, for both runs
    changes: tuple | None = None                      # explicit changed values of the field
    data: Any = None                                  # callable(inputs) -> inputs


def _raw_changed(raw: dict, form: str, field: str, rows: int, value) -> dict:
    """The raw forms with `field` of the first `rows` records of `form` set to value(old text)."""
    from dataclasses import replace

    f = raw[form].frame.copy()
    f.loc[f.index[:rows], field] = [value(v) for v in f[field].iloc[:rows]]
    return {**raw, form: replace(raw[form], frame=f)}


def _partial_birth_dates(raw: dict) -> dict:
    return _raw_changed(raw, "dm", "BRTHDAT", 5, lambda v: "UN" + v[2:])  # "14 MAR 1961" -> "UN MAR 1961"


def _long_ae_term(raw: dict) -> dict:
    return _raw_changed(raw, "ae", "AETERM", 1, lambda v: (v + " ") * (250 // (len(v) + 1) + 1))  # > 200 chars


def _first_subject(sdtm: dict) -> str:
    return str(sorted(sdtm["DM"].loc[sdtm["DM"]["ACTARMCD"] != "", "USUBJID"])[0])


def _one_subject_without_arm(sdtm: dict) -> dict:
    dm = sdtm["DM"].copy()
    dm.loc[dm["USUBJID"] == _first_subject(sdtm), ["ARMCD", "ARM"]] = ""
    return {**sdtm, "DM": dm}


def _one_subject_without_dose(sdtm: dict) -> dict:
    return {**sdtm, "EX": sdtm["EX"][sdtm["EX"]["USUBJID"] != _first_subject(sdtm)]}


def _one_partial_death_date(sdtm: dict) -> dict:
    dm = sdtm["DM"].copy()
    dm.loc[dm["USUBJID"] == _first_subject(sdtm), ["DTHDTC", "DTHFL"]] = ["2030-06", "Y"]  # after all other data
    return {**sdtm, "DM": dm}


def _rs_in_first_dose_month(sdtm: dict) -> dict:
    """Three subjects' first post-baseline BICR response is dated by month only: the month of first dose."""
    rs, dm = sdtm["RS"].copy(), sdtm["DM"].set_index("USUBJID")
    bicr = rs[(rs["RSEVAL"] == "INDEPENDENT ASSESSOR") & (rs["RSTESTCD"] == "OVRLRESP") & (rs["RSDTC"] != "")]
    first = bicr.sort_values(["USUBJID", "RSDTC"]).groupby("USUBJID").head(1).head(3)
    for u, dtc in zip(first["USUBJID"], first["RSDTC"]):
        hit = (rs["USUBJID"] == u) & (rs["RSDTC"] == dtc)
        rs.loc[hit, "RSDTC"] = str(dm.loc[u, "RFXSTDTC"])[:7]
    return {**sdtm, "RS": rs}


def _drop_tudtc(sdtm: dict) -> dict:
    return {**sdtm, "TU": sdtm["TU"].drop(columns=["TUDTC"])}


def _bicr_pd_on_day_one(sdtm: dict) -> dict:
    """The first subject with a BICR progression has it read on the day of the first dose."""
    rs, dm = sdtm["RS"].copy(), sdtm["DM"]
    pd_rows = rs[(rs["RSEVAL"] == "INDEPENDENT ASSESSOR") & (rs["RSTESTCD"] == "OVRLRESP") & (rs["RSSTRESC"] == "PD")]
    first = pd_rows.sort_values(["USUBJID", "RSDTC"]).iloc[0]
    day1 = dm.loc[dm["USUBJID"] == first["USUBJID"], "RFXSTDTC"].iloc[0][:10]
    rs.loc[(rs["USUBJID"] == first["USUBJID"]) & (rs["RSDTC"] == first["RSDTC"]), "RSDTC"] = day1
    return {**sdtm, "RS": rs}


def _bicr_course(*course: tuple[int, str]):
    """Input change: the first subject with enough BICR time points gets this course of (study day, overall
    response) at its first time points (every read of a time point alike); its later ones are dropped.
    Study day 1 = RFXSTDTC (the first dose, as TRTSDT)."""

    def change(sdtm: dict) -> dict:
        rs, dm = sdtm["RS"].copy(), sdtm["DM"].set_index("USUBJID")
        bicr = (rs["RSEVAL"] == "INDEPENDENT ASSESSOR") & (rs["RSTESTCD"] == "OVRLRESP") & (rs["RSDTC"] != "")
        points = rs[bicr].groupby("USUBJID")["RSDTC"].unique()
        u = sorted(points[points.map(len) >= len(course)].index)[0]
        dates = sorted(points[u])
        day1 = pd.Timestamp(str(dm.loc[u, "RFXSTDTC"])[:10])
        for old, (day, resp) in zip(dates, course):
            hit = bicr & (rs["USUBJID"] == u) & (rs["RSDTC"] == old)
            rs.loc[hit, ["RSDTC", "RSSTRESC"]] = [(day1 + pd.Timedelta(days=day - 1)).strftime("%Y-%m-%d"), resp]
        rs = rs[~(bicr & (rs["USUBJID"] == u) & rs["RSDTC"].isin(dates[len(course):]))]
        return {**sdtm, "RS": rs}

    return change


EXERCISE: dict[tuple[str, str, str], Exercise] = {
    ("Tabulation", "seq", "typed"): Exercise(
        "no PALACE --SEQ sorts by text that holds numbers; LBSEQ sorted by LBORRES does ('10.2' < '9.1' as text)",
        site=("LB", "LBSEQ", ""), params={"sort": ["LBTESTCD", "LBORRES"]}),
    ("Tabulation", "visit", "unscheduled"): Exercise(
        "EX (the first site) has no unscheduled visits; SV has", site=("SV", "VISITNUM", "")),
    ("Tabulation", "arm", "arm"): Exercise("the first site is ARMCD, which shows the code, not the name",
                                           site=("DM", "ARM", "")),
    ("Tabulation", "condition", "nonempty"): Exercise(
        "no simulated PALACE subject died (DTHDTC empty), so DTHFL never sets; on a variable that is set it shows",
        params={"var": "RFICDTC"}),
    ("Tabulation", "age", "partial"): Exercise("five birth dates without their day", data=_partial_birth_dates),
    ("Tabulation", "suppqual", "split_text"): Exercise("one verbatim AE term over 200 characters", data=_long_ae_term),
    ("Analysis", "adsl", "fas_requires_arm"): Exercise("every simulated subject has an arm; here one has none",
                                                        data=_one_subject_without_arm),
    ("Analysis", "adsl", "fas_requires_dose"): Exercise("every simulated subject is dosed; here one is not",
                                                         data=_one_subject_without_dose),
    ("Analysis", "adsl", "death_date_fill"): Exercise("no simulated subject died; here one with a partial date",
                                                       data=_one_partial_death_date),
    ("Analysis", "adrs", "death_var"): Exercise("no simulated subject died; here one did",
                                                 data=_one_partial_death_date),
    ("Analysis", "adrs", "confirm_days"): Exercise(
        "imaging is 12-weekly, so a 28-day confirmation interval and the generic 57 or 29 days are met alike; "
        "100 days is not", changes=(100,)),
    ("Analysis", "adrs", "date_imputation"): Exercise("no simulated response date is partial; here three are",
                                                       data=_rs_in_first_dose_month),
    ("Analysis", "adrs", "clamp_to_reference"): Exercise(
        "a partial response date in the month of first dose imputes before it unless clamped",
        data=_rs_in_first_dose_month),
    ("Analysis", "adrs", "before_reference_counts"): Exercise(
        "no simulated response is dated before first dose; imputed partial dates in that month can be, when "
        "not clamped to it", params={"clamp_to_reference": False}, data=_rs_in_first_dose_month),
    ("Analysis", "adae", "imputation"): Exercise(
        "the generic change of a nested model only drops its first key (same default)",
        changes=({"start_fill": "last", "end_fill": "last", "start_not_before": "TRTSDT", "start_not_after_end": True,
                  "end_not_after": ["DTHDT"]},)),
    ("Analysis", "adqs", "responder"): Exercise(
        "the criterion texts must state the threshold, so threshold and texts change together",
        changes=({"threshold": 5, "deterioration": "Deterioration: worse than baseline by >= 5 points",
                  "improvement": "Improvement: better than baseline by >= 5 points"},)),
    ("Analysis", "adsym", "responder"): Exercise(
        "the criterion text must state the threshold, so both change together",
        changes=({"threshold_pct": 10, "text": "Responder: reduction from baseline >= 10%"},)),
    ("Analysis", "adrs", "tu_baseline_visits"): Exercise(
        "used only when TU has no TUDTC (PALACE's has)", data=_drop_tudtc),
    ("Analysis", "tte", "start_day_counts"): Exercise(
        "matters only for an event or assessment on the start date itself (never for DOR, whose start is a "
        "response confirmed later); here PFS with a BICR progression read on the day of the first dose",
        site=("ADTTE", "", "PFS"), data=_bicr_pd_on_day_one),
    ("Analysis", "adrs", "max_ne_between"): Exercise(
        "imaging is 12-weekly and no simulated NE falls between a response and its confirmation; here PR day 85, "
        "NE day 113, PR day 141 (RECIST 1.1 sec. 4.6): confirmed with 1 NE allowed, not with 0",
        data=_bicr_course((85, "PR"), (113, "NE"), (141, "PR"))),
    ("Analysis", "adrs", "accept_sd"): Exercise(
        "no simulated SD falls between a PR and its confirmation; here PR 85, SD 113, PR 141",
        data=_bicr_course((85, "PR"), (113, "SD"), (141, "PR"))),
    ("Analysis", "adrs_clinbenefit", "confirmed"): Exercise(
        "an unconfirmed response counts for CB only before the SD minimum (day 43), where 12-weekly imaging never "
        "reads; here PR day 29 then PD day 57: CB Y unconfirmed, N confirmed", site=("ADRS", "", "CB"),
        data=_bicr_course((29, "PR"), (57, "PD"))),
    ("Analysis", "adrs_response", "from_bor"): Exercise(
        "BCP and RSP differ only in ADT, when a PR is later bettered by a CR (BOR = the CR); no simulated "
        "subject has that; here PR day 85, CR day 169", data=_bicr_course((85, "PR"), (169, "CR"))),
    ("Analysis", "adrs_timepoint", "confirmed_response_qualifies"): Exercise(
        "no simulated confirmed responder progresses at week 24; here PR 57, PR 85 (confirmed), PD 169 (the "
        "week-24 assessment)", data=_bicr_course((57, "PR"), (85, "PR"), (169, "PD"))),
    ("Analysis", "adrs_timepoint", "window_before"): Exercise(
        "simulated scans are on schedule (day 168 +/- a few days); here the week-24 scan is on day 150, in "
        "[139, 182] but not [154, 182]", data=_bicr_course((57, "SD"), (150, "SD"))),
    ("Analysis", "adrs_timepoint", "window_after"): Exercise(
        "simulated confirmations fall well inside the window; here PR day 85 confirmed on day 190, after day "
        "182 = 168 + 14 but by 197 = 168 + 29", data=_bicr_course((85, "PR"), (190, "PR"))),
}


# --- the walker ---------------------------------------------------------------------------------

def registries() -> dict[str, dict[str, type[BaseModel] | None]]:
    from adam.registry import RULES as ADAM_RULES
    from sdtm.registry import RULES as SDTM_RULES

    return {"Tabulation": SDTM_RULES, "Analysis": ADAM_RULES}


@dataclass(frozen=True)
class Site:
    """One use of a rule in the spec: the dataset, and the variable or PARAMCD ('' for the dataset's own rule)."""

    purpose: str
    dataset: str
    variable: str
    rule: str
    paramcd: str = ""


def sites(spec) -> Iterator[tuple[Site, dict[str, Any]]]:
    for name, ds in spec.datasets.items():
        if ds.derivation is not None:
            yield Site(ds.purpose, name, "", ds.derivation.rule), dict(ds.derivation.params or {})
        for v in ds.variables:
            if v.derivation is not None:
                yield Site(ds.purpose, name, v.name, v.derivation.rule), dict(v.derivation.params or {})
        for p in getattr(ds, "parameters", None) or []:
            if getattr(p, "derivation", None) is not None:
                yield Site(ds.purpose, name, "", p.derivation.rule, p.paramcd), dict(p.derivation.params or {})


def _derivation(ds, site: Site):
    if site.paramcd:
        return next(p for p in ds.parameters if p.paramcd == site.paramcd).derivation
    if site.variable:
        return next(v for v in ds.variables if v.name == site.variable).derivation
    return ds.derivation


def cases(spec, *, all_sites: bool = False) -> list[tuple[tuple[str, str, str], Site | None]]:
    """(purpose, rule, field) -> the first site that sets the field (else the first site of the rule).

    all_sites: every site that sets the field, so that a rule hard-coded in one dataset (a --SEQ
    built without its rule) shows too; slow, for `SF_PARAM_EFFECTS_ALL_SITES=1`.
    """
    regs = registries()
    first: dict[tuple[str, str], Site] = {}
    setting: dict[tuple[str, str, str], list[Site]] = {}
    for site, params in sites(spec):
        first.setdefault((site.purpose, site.rule), site)
        for key in params:
            setting.setdefault((site.purpose, site.rule, key), []).append(site)
    out = []
    for purpose, rules in regs.items():
        for rule, model in sorted(rules.items()):
            if model is None:
                continue
            for fname, field in model.model_fields.items():
                key = (purpose, rule, field.alias or fname)
                found = setting.get(key) or [first.get((purpose, rule))]
                out.extend((key, site) for site in (found if all_sites else found[:1]))
    return out


def _literal_options(annotation) -> list:
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    return [o for a in typing.get_args(annotation) for o in _literal_options(a)]


def variants(value: Any, annotation=None) -> Iterator[Any]:
    """Changed values of a parameter, most telling first (the model decides which are acceptable)."""
    for option in _literal_options(annotation):
        if option != value:
            yield option
    if isinstance(value, bool):
        yield not value
    elif isinstance(value, int):
        yield value * 2 + 1          # a change large enough to cross a boundary in the data
        yield value + 1
        yield value - 1
    elif isinstance(value, float):
        yield value * 2 + 1
    elif isinstance(value, str):
        yield value + "X"
        yield ""
    elif isinstance(value, list):
        for item in value[:1]:            # the first entry changed (a case, a code, a table row)
            for changed in variants(item):
                yield [changed, *value[1:]]
                break
        if len(value) > 1:
            yield value[:-1]
            yield value[::-1]
    elif isinstance(value, dict):
        for k in value:
            for changed in variants(value[k]):
                yield {**value, k: changed}
                break
            yield {kk: vv for kk, vv in value.items() if kk != k}
            break


def accepted_variants(model: type[BaseModel], params: dict, field: str, limit: int = 3) -> list[dict]:
    fname = next(n for n, f in model.model_fields.items() if (f.alias or n) == field)
    info = model.model_fields[fname]
    current = params.get(field, info.get_default(call_default_factory=True))
    out = []
    for v in variants(current, info.annotation):
        changed = {**params, field: v}
        try:
            model.model_validate(changed)
        except ValidationError:
            continue
        out.append(changed)
        if len(out) == limit:
            break
    return out


# --- running a stage with one parameter changed -----------------------------------------------------

@lru_cache(maxsize=None)
def study() -> tuple[Any, dict, dict]:
    """The spec, the raw forms of a small simulated PALACE, and its full SDTM (ADaM input)."""
    import tempfile

    from sdtm.pipeline import build_sdtm
    from sdtm.readers import read_raw_dir
    from sdtm.simulate.command import simulate_command
    from studyforge.spec.loader import load_spec

    spec = load_spec(SPEC_DIR)
    raw_dir = Path(tempfile.mkdtemp(prefix="sf-param-effects-")) / "raw"
    with contextlib.redirect_stdout(io.StringIO()):
        assert simulate_command(SPEC_DIR, subjects=SUBJECTS, seed=SEED, out_dir=raw_dir, overrides=()) == 0
    raw, _ = read_raw_dir(raw_dir)
    sdtm, _, _ = build_sdtm(raw, spec)
    return spec, raw, sdtm


def needed(spec, site: Site) -> frozenset[str]:
    """The datasets one run rebuilds: SDTM, the site's dataset (its parent for a SUPP--, which is
    built with it); ADaM, ADSL and the site's dataset (ADRS too for ADTTE, which reads it)."""
    name = site.dataset
    if site.purpose == "Tabulation":
        ds = spec.datasets[name]
        if name.startswith("SUPP") and ds.derivation is not None and ds.derivation.rule == "suppqual":
            name = name[4:]
        return frozenset({name})
    names = {"ADSL", name} | ({"ADRS"} if name == "ADTTE" else set())
    return frozenset(n for n in names if n in spec.datasets)


def restricted(spec, names: frozenset[str]):
    return spec.model_copy(update={"datasets": {n: d for n, d in spec.datasets.items() if n in names}})


def with_params(spec, site: Site, params: dict):
    ds = spec.datasets[site.dataset]
    if site.paramcd:
        parameters = [p.model_copy(update={"derivation": p.derivation.model_copy(update={"params": params})})
                      if p.paramcd == site.paramcd else p for p in ds.parameters]
        ds = ds.model_copy(update={"parameters": parameters})
    elif site.variable:
        variables = [v.model_copy(update={"derivation": v.derivation.model_copy(update={"params": params})})
                     if v.name == site.variable else v for v in ds.variables]
        ds = ds.model_copy(update={"variables": variables})
    else:
        ds = ds.model_copy(update={"derivation": ds.derivation.model_copy(update={"params": params})})
    return spec.model_copy(update={"datasets": {**spec.datasets, site.dataset: ds}})


def rebuild_sdtm(spec, names: frozenset[str], raw: dict, sdtm: dict) -> tuple[dict, list]:
    """One SDTM dataset (with its SUPP--) rebuilt on top of the full baseline SDTM: the one place
    that knows the SDTM pipeline's per-dataset entry point."""
    from sdtm.context import Reconciliation
    from sdtm.engine import Build
    from sdtm.identity import raw_identities
    from sdtm.pipeline import build_one

    (name,) = names
    identities, default = raw_identities(spec, raw)
    build = Build(spec=spec, raw=raw, identities=identities, default_identity=default, recon=Reconciliation(),
                  datasets={k: v for k, v in sdtm.items() if k != name})
    return build_one(build, spec.datasets[name]), build.findings


def outcome(spec, names: frozenset[str], purpose: str, data=None) -> tuple:
    """The stage's output for the datasets a site needs: frames and findings, or the error a stage
    raised when it used the value. `data` changes the stage's input first (Exercise.data)."""
    _, raw, sdtm = study()
    try:
        if purpose == "Tabulation":
            frames, findings = rebuild_sdtm(spec, names, data(raw) if data else raw, sdtm)
        else:
            from adam.pipeline import derive_adam

            frames, findings = derive_adam(data(sdtm) if data else sdtm, restricted(spec, names))
    except ValidationError:
        raise
    except Exception as exc:  # noqa: BLE001 - a stage that fails on the changed value did use it
        return ("raised", type(exc).__name__, str(exc))
    return (tuple((n, _frame_key(f)) for n, f in sorted(frames.items())), tuple(sorted(str(f) for f in findings)))


def _frame_key(df: pd.DataFrame) -> str:
    return pd.util.hash_pandas_object(df.astype(str), index=False).to_string() + "|" + ",".join(df.columns)


@lru_cache(maxsize=None)
def baseline(purpose: str, names: frozenset[str]) -> tuple:
    spec, _, _ = study()
    return outcome(spec, names, purpose)


def param_effect(key: tuple[str, str, str], site: Site | None) -> str:
    """'effect', 'no effect', or why the field could not be tried."""
    purpose, rule, field = key
    ex = EXERCISE.get(key)
    if ex is not None and ex.site is not None:
        site = Site(purpose, ex.site[0], ex.site[1], rule, ex.site[2])
    if site is None:
        return "rule not used by the spec"
    spec, _, _ = study()
    model = registries()[purpose][rule]
    params = dict(_derivation(spec.datasets[site.dataset], site).params or {})
    if ex is not None and ex.params:
        params = {**params, **ex.params}
    if ex is not None and ex.changes:
        tries = [{**params, field: v} for v in ex.changes]
        for t in tries:
            model.model_validate(t)  # an Exercise's change must be one the model accepts
    else:
        tries = accepted_variants(model, params, field)
    if not tries:
        return "no accepted variant"
    names = needed(spec, site)
    data = ex.data if ex is not None else None
    if ex is None or (ex.params is None and data is None):
        base = baseline(purpose, names)
    else:
        base = outcome(with_params(spec, site, params), names, purpose, data)
    for changed in tries:
        if outcome(with_params(spec, site, changed), names, purpose, data) != base:
            return "effect"
    return "no effect"


# --- the test -----------------------------------------------------------------------------------

def _collect() -> list:
    from studyforge.spec.loader import load_spec

    out = []
    every = os.environ.get("SF_PARAM_EFFECTS_ALL_SITES") == "1"
    for key, site in cases(load_spec(SPEC_DIR), all_sites=every):
        marks = []
        if key in KNOWN_INEFFECTIVE:
            marks.append(pytest.mark.xfail(strict=False, reason=f"ineffective today; owner {KNOWN_INEFFECTIVE[key]}"))
        where = f"@{site.dataset}.{site.variable or site.paramcd}" if every and site else ""
        out.append(pytest.param(key, site, id="/".join(key) + where, marks=marks))
    return out


@pytest.mark.parametrize("key, site", _collect())
def test_every_spec_parameter_changes_the_output(key, site):
    if key in DEFINE_ONLY:
        pytest.skip(f"accepted for define.xml only: {DEFINE_ONLY[key]}")
    result = param_effect(key, site)
    if result in ("rule not used by the spec", "no accepted variant"):
        pytest.skip(f"{'/'.join(key)}: {result} (cannot show its effect on the PALACE spec)")
    assert result == "effect", (f"{'/'.join(key)} at {site.dataset}.{site.variable or site.paramcd or '<dataset>'}: changing it "
                                f"changes no dataset and no finding")


def test_allowlists_name_real_parameters():
    from studyforge.spec.loader import load_spec

    known = {key for key, _ in cases(load_spec(SPEC_DIR))}
    assert set(DEFINE_ONLY) <= known and set(KNOWN_INEFFECTIVE) <= known and set(EXERCISE) <= known
    assert not set(EXERCISE) & set(KNOWN_INEFFECTIVE)
    assert all(reason.strip() for reason in DEFINE_ONLY.values())
