"""ADEX (BDS): exposure summary parameters per dosed subject from EX, each a spec parameter.

Dataset rule `adex` (which EX records are doses, the planned regimen, the exposure period of a depot);
each `parameters:` entry names `adex_param` with the statistic it holds. Vectorized groupby on EX.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import BaseModel, Field

from adam.bds import merge_subject_vars
from adam.derive_common import SpecParams, input_frame, num_col, text_col
from adam.select import Selection, select
from studyforge.dates import iso_to_sas_date
from studyforge.findings import Finding, Severity
from studyforge.spec.models import Dataset


class AdexParams(SpecParams):
    ex: str = "EX"
    doses: Selection = Field(description="EX records that are administrations of study treatment")
    adsl_vars: list[str] = Field(default_factory=lambda: ["STUDYID", "USUBJID", "SUBJID", "SITEID", "TRT01A", "SAFFL"])
    planned_dose: float = Field(gt=0, description="planned dose per administration (EXDOSU units)")
    planned_interval_days: int = Field(ge=1, description="planned days between administrations")
    last_dose_covers_days: int = Field(ge=1, description="days of exposure one administration gives (a depot: "
                                       "the dosing interval); exposure ends that many days after the last dose, minus 1")


class AdexStat(SpecParams):
    """Rule `adex_param`: which statistic the parameter holds."""

    stat: Literal["injections", "duration", "cumulative_dose", "dose_intensity", "relative_dose_intensity"]


RULES: dict[str, type[BaseModel]] = {"adex": AdexParams, "adex_param": AdexStat}
STANDARD_OUTPUTS = frozenset({"PARAMCD", "PARAM", "PARCAT1", "AVAL", "ASEQ"})


def exposure_stats(doses: pd.DataFrame, p: AdexParams) -> pd.DataFrame:
    """Per subject: injections, duration (first dose to last dose + cover - 1), cumulative dose, intensities.

    Dose intensity is in dose units per planned interval; relative dose intensity (%) is it divided by
    the planned dose: 100% when every planned dose was given on time.
    """
    g = doses.groupby("USUBJID", sort=True)
    st = pd.DataFrame({"injections": g.size().astype(float), "first": g["DT"].min(), "last": g["DT"].max(),
                       "cumulative_dose": g["DOSE"].sum(min_count=1)})
    st["duration"] = st["last"] - st["first"] + p.last_dose_covers_days
    st["dose_intensity"] = st["cumulative_dose"] / st["duration"] * p.planned_interval_days
    st["relative_dose_intensity"] = 100.0 * st["dose_intensity"] / p.planned_dose
    return st


def derive_adex(sdtm: dict[str, pd.DataFrame], adsl: pd.DataFrame, dataset: Dataset) -> tuple[pd.DataFrame, list[Finding]]:
    """One record per dosed subject (ADSL SAFFL = 'Y') and parameter."""
    p = AdexParams.model_validate(dataset.derivation.params)
    ex, findings = input_frame(sdtm, p.ex, ("USUBJID", "EXDOSE", "EXSTDTC"), rule="ADEX-INPUT", target=dataset.name,
                               absent=Severity.WARNING)
    if ex is None:
        return pd.DataFrame(), findings
    m, findings = select(ex, p.doses, dataset=p.ex, where=f"{dataset.name}.derivation.params.doses")
    e = ex.loc[m]
    dt = iso_to_sas_date(text_col(e, "EXSTDTC").str[:10])
    bad = dt.isna().to_numpy()
    for u, q, v in zip(text_col(e, "USUBJID")[bad], text_col(e, "EXSEQ")[bad], text_col(e, "EXSTDTC")[bad]):
        findings.append(Finding(Severity.WARNING, "ADEX-DATE", "dose without a complete date: counted in the "
                                "injections and cumulative dose, not in the duration", dataset=p.ex,
                                variable="EXSTDTC", usubjid=u, record=f"EXSEQ={q}", value=v))
    doses = pd.DataFrame({"USUBJID": text_col(e, "USUBJID").to_numpy(), "DT": dt.to_numpy(dtype=float),
                          "DOSE": num_col(e, "EXDOSE").to_numpy()})
    st = exposure_stats(doses, p)
    a = adsl.drop_duplicates("USUBJID")
    dosed = a.loc[text_col(a, "SAFFL") == "Y"] if "SAFFL" in a.columns else a
    subj = text_col(dosed, "USUBJID").to_numpy()
    parts = []
    for order, prm in enumerate(dataset.parameters):
        stat = AdexStat.model_validate(prm.derivation.params if prm.derivation else {}).stat
        parts.append(pd.DataFrame({"USUBJID": subj, "PARAMCD": prm.paramcd, "PARAM": prm.param,
                                   "PARCAT1": prm.parcat1 or "", "AVAL": st[stat].reindex(subj).to_numpy(dtype=float),
                                   "_order": order}))
    if not parts:
        return pd.DataFrame(), findings
    out = pd.concat(parts, ignore_index=True)
    out = merge_subject_vars(out, a, p.adsl_vars)
    out = out.sort_values(["USUBJID", "_order"], kind="mergesort").drop(columns="_order").reset_index(drop=True)
    out["ASEQ"] = out.groupby("USUBJID").cumcount() + 1.0
    return out, findings
