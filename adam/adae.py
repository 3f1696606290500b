"""ADAE (ADaM OCCDS 1.1): one record per AE record, analysis dates, treatment emergence, occurrence flags.

Rule `adae` with `AdaeParams`; every choice (imputation, the treatment-emergent window, which records are
analysed) is a parameter. Whole-frame operations only.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from adam.bds import merge_subject_vars
from adam.derive_common import SpecParams, input_frame, member, num_col, text_col
from adam.select import Selection, select
from studyforge.dates import impute_date
from studyforge.findings import Finding, Severity
from studyforge.spec.models import Dataset


class DateImputation(SpecParams):
    """Partial AESTDTC/AEENDTC (admiral derive_vars_dt, highest imputation 'M').

    The end is imputed first (`end_fill`, never after the death date); the start (`start_fill`) is then
    raised to TRTSDT when TRTSDT lies within the partial start's range (an AE in the month of first
    dose is not assumed to precede it) and lowered to AENDT when that lies within the range, so that
    ASTDT <= AENDT whenever the data allow it.
    """

    start_fill: Literal["first", "mid", "last"] = "first"
    end_fill: Literal["first", "mid", "last"] = "last"
    start_not_before: str | None = Field("TRTSDT", description="ADSL date a partial start is raised to")
    start_not_after_end: bool = True
    end_not_after: list[str] = Field(default_factory=lambda: ["DTHDT"], description="ADSL dates capping the end")


class TreatmentEmergent(SpecParams):
    """TRTEMFL (admiral derive_var_trtemfl): TRTSDT <= ASTDT <= TRTEDT + `window_days`."""

    start_var: str = "TRTSDT"
    end_var: str = "TRTEDT"
    window_days: int = Field(ge=0, description="days after the last dose that still count")
    missing_start_counts: bool = Field(True, description="ASTDT missing and AENDT missing or >= TRTSDT -> Y")


class AdaeParams(SpecParams):
    ae: str = "AE"
    adsl_vars: list[str] = Field(default_factory=lambda: ["STUDYID", "USUBJID", "SUBJID", "SITEID", "TRT01A",
                                                          "TRTSDT", "TRTEDT", "SAFFL"])
    carry: list[str] = Field(default_factory=lambda: ["AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESTDTC", "AEENDTC",
                                                      "AESEV", "AETOXGR", "AEREL", "AESER", "AESDTH", "AESLIFE",
                                                     "AESHOSP", "AESDISAB", "AESCONG", "AESMIE", "AEOUT", "AEACN"],
                            description="AE variables carried unchanged (Permissible ones may be absent)")
    imputation: DateImputation = Field(default_factory=DateImputation)
    treatment_emergent: TreatmentEmergent
    severity_var: str = Field("AESEV", description="ASEV source")
    severity_by_grade: dict[str, str] = Field(default_factory=dict, description="ASEV from ATOXGR where the "
                                              "severity variable is absent or blank, e.g. {'1': MILD}")
    toxgrade_var: str = Field("AETOXGR", description="ATOXGR source")
    relationship_var: str = Field("AEREL", description="AREL source")
    analysis: Selection = Field(default_factory=lambda: Selection.model_validate({"TRTEMFL": ["Y"]}),
                                description="records flagged ANL01FL and counted by the AOCC* flags")


RULES: dict[str, type[BaseModel]] = {"adae": AdaeParams}

STANDARD_OUTPUTS = frozenset({"ASTDT", "ASTDTF", "AENDT", "AENDTF", "ASTDY", "AENDY", "ADURN", "ADURU", "ASEV",
                              "ATOXGR", "AREL", "TRTEMFL", "AOCCFL", "AOCCSFL", "AOCCPFL", "ANL01FL"})


def study_day(date: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """ADaM --DY: date - ref + 1 on/after the reference, date - ref before it (no day 0)."""
    d = date - ref
    return np.where(d >= 0, d + 1, d)


def first_occurrence(df: pd.DataFrame, keys: list[str], eligible: np.ndarray) -> np.ndarray:
    """Y on the first eligible record per key group, ordered by ASTDT then AESEQ (admiral AOCCxFL)."""
    order = df.assign(_E=eligible, _D=df["ASTDT"].fillna(np.inf), _S=num_col(df, "AESEQ"))
    order = order[order["_E"]].sort_values([*keys, "_D", "_S"], kind="mergesort")
    first = order.drop_duplicates(keys).index
    return np.where(df.index.isin(first), "Y", "")


def derive_adae(sdtm: dict[str, pd.DataFrame], adsl: pd.DataFrame, dataset: Dataset) -> tuple[pd.DataFrame, list[Finding]]:
    """ADAE from AE and ADSL: one record per AE record of a subject in ADSL."""
    p = AdaeParams.model_validate(dataset.derivation.params)
    ae, findings = input_frame(sdtm, p.ae, ("USUBJID", "AESTDTC"), rule="ADAE-INPUT", target=dataset.name,
                               absent=Severity.WARNING)
    if ae is None:
        return pd.DataFrame(), findings
    absent = [c for c in p.carry if c not in ae.columns]
    if absent:
        findings.append(Finding(Severity.NOTICE, "ADAE-PERM", f"{p.ae} lacks {', '.join(absent)}: carried as missing",
                                dataset=p.ae, value=", ".join(absent)))
    s = adsl.drop_duplicates("USUBJID").set_index(text_col(adsl.drop_duplicates("USUBJID"), "USUBJID").to_numpy())
    u = text_col(ae, "USUBJID")
    known = member(u, s.index)
    for subj in u[~known].unique():
        findings.append(Finding(Severity.ERROR, "ADAE-SUBJECT", "AE records of a subject not in ADSL: not analysed",
                                dataset=p.ae, variable="USUBJID", usubjid=subj))
    ae = ae.loc[known].reset_index(drop=True)
    u = text_col(ae, "USUBJID")
    out = merge_subject_vars(pd.DataFrame({"USUBJID": u.to_numpy()}), adsl, p.adsl_vars)
    for c in p.carry:
        out[c] = num_col(ae, c).to_numpy() if c == "AESEQ" else text_col(ae, c).to_numpy()

    im = p.imputation
    caps = [num_col(s, v).reindex(u).reset_index(drop=True) for v in im.end_not_after if v in s.columns]
    end, endf = impute_date(text_col(ae, "AEENDTC").reset_index(drop=True), fill=im.end_fill, max_dates=caps or None)
    lo = [num_col(s, im.start_not_before).reindex(u).reset_index(drop=True)] if im.start_not_before in s.columns else []
    start, startf = impute_date(text_col(ae, "AESTDTC").reset_index(drop=True), fill=im.start_fill,
                                min_dates=lo or None, max_dates=[end] if im.start_not_after_end else None)
    for col, val, dt in (("AESTDTC", text_col(ae, "AESTDTC"), start), ("AEENDTC", text_col(ae, "AEENDTC"), end)):
        bad = dt.isna().to_numpy() & (val != "").to_numpy()
        for subj, q, v in zip(u[bad], text_col(ae, "AESEQ")[bad], val[bad]):
            findings.append(Finding(Severity.WARNING, "ADAE-DATE", f"{col} cannot be imputed (no year or invalid); "
                                    "analysis date left missing", dataset=p.ae, variable=col, usubjid=subj,
                                    record=f"AESEQ={q}", value=v))
    out["ASTDT"], out["ASTDTF"] = start.to_numpy(dtype=float), startf.to_numpy(dtype=object)
    out["AENDT"], out["AENDTF"] = end.to_numpy(dtype=float), endf.to_numpy(dtype=object)
    trts = num_col(s, "TRTSDT").reindex(u).to_numpy(dtype=float) if "TRTSDT" in s.columns else np.full(len(u), np.nan)
    out["ASTDY"] = study_day(out["ASTDT"].to_numpy(), trts)
    out["AENDY"] = study_day(out["AENDT"].to_numpy(), trts)
    out["ADURN"] = out["AENDT"] - out["ASTDT"] + 1
    out["ADURU"] = np.where(out["ADURN"].notna(), "DAYS", "")
    inverted = (out["ADURN"] < 1).to_numpy()
    for subj, q in zip(out.loc[inverted, "USUBJID"], out.loc[inverted, "AESEQ"]):
        findings.append(Finding(Severity.WARNING, "ADAE-DATES-ORDER", "end date before start date", dataset=p.ae,
                                variable="AEENDTC", usubjid=subj, record=f"AESEQ={q:g}"))
    out["ASEV"] = text_col(ae, p.severity_var).to_numpy()
    if p.severity_var not in ae.columns:  # an absent source reads as empty: say where ASEV comes from instead
        findings.append(Finding(Severity.NOTICE, "ADAE-NOSEV", f"{p.ae} has no {p.severity_var or '(none)'}: ASEV "
                                + ("from the grade (severity_by_grade)" if p.severity_by_grade else "left empty"),
                                dataset=p.ae, variable=p.severity_var))
    out["ATOXGR"] = text_col(ae, p.toxgrade_var).to_numpy()
    if p.severity_by_grade:
        by_grade = out["ATOXGR"].map(p.severity_by_grade).fillna("")
        out["ASEV"] = np.where(out["ASEV"] == "", by_grade, out["ASEV"])
    out["AREL"] = text_col(ae, p.relationship_var).to_numpy()

    te = p.treatment_emergent
    t0 = num_col(s, te.start_var).reindex(u).to_numpy(dtype=float)
    t1 = num_col(s, te.end_var).reindex(u).to_numpy(dtype=float)
    a0, a1 = out["ASTDT"].to_numpy(), out["AENDT"].to_numpy()
    dosed = ~np.isnan(t0)
    within = (a0 >= t0) & (np.isnan(t1) | (a0 <= t1 + te.window_days))
    no_start = np.isnan(a0) & te.missing_start_counts & (np.isnan(a1) | (a1 >= t0))
    out["TRTEMFL"] = np.where(dosed & (within | no_start), "Y", "")

    m, f = select(out, p.analysis, dataset="ADAE", where=f"{dataset.name}.derivation.params.analysis")
    findings += f
    elig = m.to_numpy()
    out["ANL01FL"] = np.where(elig, "Y", "")
    out["AOCCFL"] = first_occurrence(out, ["USUBJID"], elig)
    out["AOCCSFL"] = first_occurrence(out, ["USUBJID", "AEBODSYS"], elig)
    out["AOCCPFL"] = first_occurrence(out, ["USUBJID", "AEBODSYS", "AEDECOD"], elig)
    for c in ("ASTDTF", "AENDTF"):
        out[c] = out[c].fillna("").astype("str")
    out = out.sort_values(["USUBJID", "ASTDT", "AESEQ"], kind="mergesort", na_position="last").reset_index(drop=True)
    out["ASEQ"] = out.groupby("USUBJID").cumcount() + 1.0
    return out, findings
