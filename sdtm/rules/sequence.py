"""Rules over a subject's records: --SEQ, the last-observation-before-exposure flag, and the reference
range indicator (row-wise, but it reads derived standard results)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from studyforge.findings import Finding, Severity

from .._fast import row_codes
from ..derivations import dm_ref_clock, dtc_parts, sort_codes, subject_ranks
from .base import FILE, LINE, Params, Refs, variable_rule


# -- --SEQ ------------------------------------------------------------------------------------------
class SeqParams(Params):
    order: Literal["values", "raw"] = Field(
        default="values", description="values: by the `sort` variables; raw: by raw file and line")
    sort: list[str] = Field(default_factory=list, description="variables ordering records within USUBJID")
    typed: bool = Field(default=False, description="Char sort keys holding numbers compare as numbers "
                        "('9' before '10'); otherwise as text")

    @model_validator(mode="after")
    def _sort_fits_order(self):
        if self.order == "values" and not self.sort:
            raise ValueError("order 'values' needs `sort` (at least one variable)")
        if self.order == "raw" and (self.sort or self.typed):
            raise ValueError("order 'raw' takes no `sort` or `typed` (records keep raw file and line order)")
        return self


@variable_rule("seq", SeqParams, reads=lambda p: ["USUBJID", *p.sort], row_wise=False,
               method="Sequential number 1..n within USUBJID, records ordered by {sort} (order: {order}; "
                      "numbers as numbers: {typed}); ties keep raw order")
def seq(frame, p: SeqParams, refs: Refs):
    """--SEQ: 1..n per USUBJID in the spec's order (stable, so equal keys keep the working-row order)."""
    if p.order == "raw":
        keys = ["USUBJID", FILE, LINE]
        data = pd.DataFrame({"USUBJID": refs.var("USUBJID"), FILE: frame[FILE].astype(str),
                             LINE: pd.to_numeric(frame[LINE]).astype(float)}, index=frame.index)
    else:
        keys = ["USUBJID", *p.sort]
        data = pd.DataFrame({k: refs.var(k) for k in keys}, index=frame.index)
    ranks = subject_ranks(refs)
    order = sort_codes(data, keys, {"USUBJID": ranks}, typed=p.typed)
    subj = ranks[order]
    # position within each run of the same subject in sorted order
    starts = np.r_[0, np.flatnonzero(np.diff(subj)) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(subj)]))
    out = np.empty(len(order), dtype=float)
    out[order] = np.arange(len(order)) - run_start + 1.0
    return pd.Series(out, index=frame.index), []


# -- --LOBXFL ---------------------------------------------------------------------------------------
class LobxflParams(Params):
    by: list[str] = Field(min_length=1, description="e.g. [LBTESTCD, LBSPEC]")
    dtc: str
    result: str = Field(description="result variable that must be non-missing, e.g. LBORRES")
    seq: str
    ref: str = Field(default="RFXSTDTC", pattern=r"^RF[A-Z]*DTC$", description="DM reference date (first exposure)")


@variable_rule("lobxfl", LobxflParams, reads=lambda p: ["USUBJID", *p.by, p.dtc, p.result, p.seq], row_wise=False,
               method="Y on the last record with a non-missing {result} on or before DM.{ref} per USUBJID and "
                      "{by}; partial dates are not candidates; ties on the date: latest time, then highest {seq}")
def lobxfl(frame, p: LobxflParams, refs: Refs):
    """--LOBXFL: the last non-missing result on or before first dose (DM reference) per USUBJID and
    `by`. Partial dates are not candidates. Ties on the same date: latest time, then highest --SEQ;
    each tie is reported as a NOTICE naming the records involved."""
    res = refs.vars
    dtc = refs.var(p.dtc).astype(str)
    has = refs.var(p.result).astype(str) != ""
    d, m, _ = dtc_parts(refs, p.dtc)
    r, rm = dm_ref_clock(refs, p.ref)
    # both with hh:mm: compare to the minute (as the ISO text's first 16 characters would); else by day
    both_time = ~np.isnan(m) & ~np.isnan(rm)
    before = np.where(both_time, d * 1440 + m <= r * 1440 + rm, d <= r)
    cand = has & (~np.isnan(d)) & (~np.isnan(r)) & pd.Series(before, index=res.index)
    at = np.flatnonzero(cand.to_numpy())     # only the candidates are sorted (pre-dose records)
    out = pd.Series("", index=res.index, dtype=str)
    if not len(at):
        return out, []
    grp = ["USUBJID", *p.by]
    c = pd.DataFrame({"__g": row_codes(res.iloc[at], grp), "d": d[at], "dtc": dtc.iloc[at].to_numpy(dtype=object),
                      "seq": pd.to_numeric(res[p.seq]).to_numpy(dtype=float)[at]})
    order = sort_codes(c, ["__g", "d", "dtc", "seq"])
    g = c["__g"].to_numpy()[order]
    run_end = np.r_[g[1:] != g[:-1], True]            # the last candidate of each group in that order
    out.iloc[at[order[run_end]]] = "Y"
    # ties: other candidates on the same (last) date in the group
    ds = c["d"].to_numpy()[order]
    run_id = np.cumsum(np.r_[True, g[1:] != g[:-1]]) - 1
    tied = ds == ds[run_end][run_id]
    size = np.bincount(run_id[tied], minlength=int(run_id[-1]) + 1)
    many = tied & (size[run_id] > 1)
    notes: list[Finding] = []
    if not many.any():
        return out, notes
    rows = at[order[many]]                  # few: described with the records' own values, groups in key order
    t = pd.DataFrame({**{b: res[b].iloc[rows].to_numpy(dtype=object) for b in grp},
                      "dtc": dtc.iloc[rows].to_numpy(dtype=object), "seq": c["seq"].to_numpy()[order[many]]})
    var = refs.variable.name if refs.variable else ""
    for key, tg in t.groupby(grp, sort=True):
        seqs = ", ".join(f"{p.seq}={int(x)}" for x in tg["seq"])
        notes.append(Finding(Severity.NOTICE, "SD0601",
                             f"{len(tg)} records share the last pre-dose date {tg['dtc'].iloc[-1][:10]} "
                             f"({seqs}); flagged {p.seq}={int(tg['seq'].iloc[-1])} (latest time, then "
                             f"highest {p.seq})", dataset=refs.dataset.name, variable=var,
                             usubjid=str(key[0]), record=seqs))
    return out, notes


# -- --NRIND ----------------------------------------------------------------------------------------
class NrindParams(Params):
    result: str
    low: str
    high: str


@variable_rule("nrind", NrindParams, reads=lambda p: [p.result, p.low, p.high],
               method="LOW when {result} < {low}, HIGH when {result} > {high}, NORMAL when within; empty when "
                      "the result or both limits are missing")
def nrind(frame, p: NrindParams, refs: Refs):
    """LOW / HIGH / NORMAL of the standard result against the standard range (empty when unknown)."""
    r = pd.to_numeric(refs.var(p.result), errors="coerce")
    lo = pd.to_numeric(refs.var(p.low), errors="coerce")
    hi = pd.to_numeric(refs.var(p.high), errors="coerce")
    out = np.select([r.isna(), lo.notna() & (r < lo), hi.notna() & (r > hi), lo.notna() | hi.notna()],
                    ["", "LOW", "HIGH", "NORMAL"], "")
    return pd.Series(out, index=r.index).astype(str), []
