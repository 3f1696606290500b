"""Rule `last_before_exposure`: --LOBXFL (SDTMIG 3.4: "the last non-missing value prior to
RFXSTDTC"), per USUBJID and the declared groups (test, time point, position, specimen ...).

Candidates have a non-missing result and a complete date before the subject's reference date (a DM
variable chosen per domain, RFXSTDTC by default). When both have a time, "before" is strict; on the
reference day without a time on either side, or at the same time (at the precision both have),
`same_day` decides (include: a day-1 assessment is taken as pre-dose, as protocols schedule it).
A partial date cannot be placed and is reported.
Two candidates that cannot be ordered (same date and the same or an unknown time) are a tie: the
later in `order` (or raw order) is flagged and the tie is a WARNING naming both records.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from studyforge.findings import Finding, Severity

from .._fast import text_values
from ._common import as_text, row_findings
from .base import FILE, LINE, Params, Refs, variable_rule


class LastBeforeExposureParams(Params):
    by: list[str] = Field(min_length=1, description="variables grouping records within USUBJID, e.g. [VSTESTCD, VSPOS]")
    dtc: str = Field(description="date/time of the observation, e.g. VSDTC")
    result: str = Field(description="result that must be non-missing, e.g. VSORRES")
    reference: str = Field(default="RFXSTDTC", description="DM variable with the reference date/time")
    same_day: Literal["include", "exclude"] = Field(
        default="include", description="on the reference date without a time to compare: candidate or not")
    order: str | None = Field(default=None, description="variable breaking ties (e.g. VSSEQ); default raw order")


def _parse(dtc: pd.Series) -> pd.DataFrame:
    """Per row of ISO 8601 text: date (complete YYYY-MM-DD, else ''), time text, complete, time in seconds
    and its precision in seconds. Parsed once per distinct value."""
    codes, uniq = pd.factorize(text_values(dtc))
    u = pd.Series(np.asarray(uniq, dtype=object), dtype=object).astype(str).str.strip()
    complete = u.str.match(r"^\d{4}-\d{2}-\d{2}(?:$|T)").fillna(False).astype(bool)
    time = u.str.extract(r"T(\d{2}(?::\d{2}(?::\d{2}(?:\.\d+)?)?)?)$", expand=False).fillna("").where(complete, "")
    m = time.str.extract(r"^(\d{2})(?::(\d{2}))?(?::(\d{2}))?").apply(pd.to_numeric, errors="coerce")
    out = pd.DataFrame({"d": u.str.slice(0, 10).where(complete, ""), "t": time, "complete": complete,
                        "secs": (m[0] * 3600 + m[1].fillna(0) * 60 + m[2].fillna(0)).astype(float),
                        "unit": np.where(m[2].notna(), 1.0, np.where(m[1].notna(), 60.0, 3600.0))})
    return out.iloc[codes].set_axis(dtc.index) if len(codes) else out.iloc[:0].set_axis(dtc.index)


def _shared_cmp(a: pd.DataFrame, b: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(a < b, a == b) for two times at the precision both have (08:00 = 08:00:30); NaN compares false."""
    unit = np.maximum(a["unit"].to_numpy(), b["unit"].to_numpy())
    fa, fb = np.floor(a["secs"].to_numpy() / unit), np.floor(b["secs"].to_numpy() / unit)
    return fa < fb, fa == fb


def _where(frame: pd.DataFrame, idx, order: str | None, order_text: pd.Series | None) -> list[str]:
    """How a record is named in a finding: raw file:line, and the order variable when given."""
    parts = []
    for i in idx:
        name = f"{frame.at[i, FILE]}:{int(frame.at[i, LINE])}" if FILE in frame.columns and LINE in frame.columns \
            else f"row {frame.index.get_loc(i) + 1}"
        if order_text is not None:
            name += f" ({order}={order_text.at[i]})"
        parts.append(name)
    return parts


def reads(params: LastBeforeExposureParams) -> list[str]:
    return ["USUBJID", params.dtc, params.result, *params.by] + ([params.order] if params.order else [])


def method(params: LastBeforeExposureParams) -> str:
    day = ("a record on that date without a time to compare, or at the same time, counts as before"
           if params.same_day == "include" else
           "a record on that date without a time to compare, or at the same time, does not count")
    return (f"Y for the last record with a non-missing {params.result} whose {params.dtc} is before DM."
            f"{params.reference}, per USUBJID, {', '.join(params.by)}; compared on date and time when both have a "
            f"time, {day}; partial dates are not candidates; ties (same date, time equal or unknown) go to the "
            f"later record by {params.order or 'raw order'}.")


@variable_rule("last_before_exposure", LastBeforeExposureParams, method=method, reads=reads, row_wise=False)
def last_before_exposure(frame: pd.DataFrame, params: LastBeforeExposureParams,
                         refs: Refs) -> tuple[pd.Series, list[Finding]]:
    """Y on the last candidate per USUBJID and `by`; ties and partial dates are findings."""
    findings: list[Finding] = []
    out = pd.Series("", index=frame.index, dtype=str)
    dm = refs.datasets.get("DM")
    if dm is None or params.reference not in dm.columns or "USUBJID" not in dm.columns:
        findings.append(refs.finding(Severity.ERROR, "SD0602", f"last_before_exposure: DM.{params.reference} is "
                                     "not available; no record flagged", field=params.reference))
        return out, findings
    def text(name):
        return as_text(refs.var(name))
    subj = text("USUBJID")
    ref_by_subj = dm.drop_duplicates("USUBJID", keep="last").set_index("USUBJID")[params.reference]
    ref = pd.Series(subj.map(ref_by_subj).fillna("").astype(str).to_numpy(), index=frame.index, dtype=str)
    dtc = text(params.dtc)
    has = text(params.result).str.strip() != ""
    obs, rf = _parse(dtc), _parse(ref)
    d, t, complete = obs["d"], obs["t"], obs["complete"]
    rd, rt, rcomplete = rf["d"], rf["t"], rf["complete"]
    partial = has & ~complete & (dtc.str.strip() != "") & rcomplete
    findings += row_findings(frame, refs, partial, Severity.NOTICE, "SD0603", f"last_before_exposure: partial "
                             f"{params.dtc} cannot be placed before or after DM.{params.reference}; not a candidate",
                             params.dtc, dtc)
    lt, eq = _shared_cmp(obs, rf)
    timed = ((t != "") & (rt != "")).to_numpy()
    same = (d == rd).to_numpy()
    on_day = np.where(timed & ~eq, lt, params.same_day == "include")
    cand = (has & complete & rcomplete).to_numpy() & (((d < rd).to_numpy()) | (same & on_day))
    if not cand.any():
        return out, findings
    keys = [subj, *(text(b) for b in params.by)]
    grp = pd.MultiIndex.from_arrays([k.to_numpy(dtype=object) for k in keys]).factorize()[0] if keys else None
    tiebreak = (pd.to_numeric(refs.var(params.order), errors="coerce").to_numpy(dtype=float)
                if params.order else np.arange(len(frame), dtype=float))
    c = pd.DataFrame({"g": grp, "d": d.to_numpy(), "t": t.to_numpy(), "secs": obs["secs"].to_numpy(),
                      "unit": obs["unit"].to_numpy(), "o": tiebreak, "pos": np.arange(len(frame))})[cand]
    c = c.sort_values(["g", "d", "t", "o", "pos"], kind="mergesort")
    last = c.groupby("g", sort=False).tail(1)
    # ties: same date as the latest record, and the same or an unknown time; the tie goes to `order`
    w = c.join(last.set_index("g")[["d", "t", "secs", "unit", "pos"]].rename(columns=lambda x: "w" + x), on="g")
    w = w[w["d"] == w["wd"]]
    _, weq = _shared_cmp(w[["secs", "unit"]], w[["wsecs", "wunit"]].set_axis(["secs", "unit"], axis=1))
    w = w[((w["t"] == "") | (w["wt"] == "")).to_numpy() | weq]
    w = w.sort_values(["g", "o", "pos"], kind="mergesort")
    flagged = w.groupby("g", sort=False).tail(1)
    out.iloc[flagged["pos"].to_numpy()] = "Y"
    size = w.groupby("g")["pos"].transform("size")
    order_text = as_text(refs.var(params.order)) if params.order else None
    for _, grp_rows in w[size > 1].groupby("g", sort=True):
        idx = frame.index[grp_rows["pos"].to_numpy()]
        chosen = idx[-1]
        names_ = _where(frame, idx, params.order, order_text)
        findings.append(refs.finding(
            Severity.WARNING, "SD0601", f"last_before_exposure: {len(names_)} records tie for the last observation "
            f"before DM.{params.reference} (same date, time equal or unknown): {'; '.join(names_)}; flagged "
            f"{names_[-1]} (later by {params.order or 'raw order'})", usubjid=str(subj.loc[chosen]),
            file=str(frame.at[chosen, FILE]) if FILE in frame.columns else "",
            line=int(frame.at[chosen, LINE]) if LINE in frame.columns else None, field=params.dtc,
            value=str(dtc.loc[chosen])))
    return out, findings
