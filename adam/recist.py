"""RECIST 1.1 subject-level response rules, vectorized over all subjects at once.

Conventions follow pharmaverse admiralonco (derive_param_bor, derive_param_confirmed_bor,
derive_param_response, derive_param_clinbenefit, filter_pd) so results can be cross-checked:

* Input `ovr`: one analysis time-point response per subject-key and date (ADT, SAS date), already
  restricted to the records that may count (on/after the reference date, up to the first PD when
  the spec says so). Column REFDT holds the reference start date (TRTSDT). The index labels are
  returned in ROW so callers can trace a result to its source record.
* Input `subjects`: one row per subject key (with REFDT, and DTHDT for survival-type endpoints).
  Every function returns exactly one row per subject: keys, AVALC, ADT, ROW.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

RESPONSES = ["CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE"]
# admiralonco aval_resp(): best (1) to worst (7)
AVAL_RESP = {"CR": 1.0, "PR": 2.0, "SD": 3.0, "NON-CR/NON-PD": 4.0, "PD": 5.0, "NE": 6.0, "MISSING": 7.0}
AVAL_YN = {"Y": 1.0, "N": 0.0}
# worst-first ranking used to keep one record per date (PD worst; NE next, as it blocks confirmation)
WORST_RANK = {"PD": 0, "NE": 1, "NON-CR/NON-PD": 2, "SD": 3, "PR": 4, "CR": 5}
SD_OR_BETTER = ["CR", "PR", "SD", "NON-CR/NON-PD"]

OUT = ["AVALC", "ADT", "ROW"]


def _result(subjects: pd.DataFrame, keys: Sequence[str], chosen: pd.DataFrame,
            missing: str) -> pd.DataFrame:
    """One row per subject: the chosen record, or `missing` with no date for subjects without one."""
    keys = list(keys)
    base = subjects[keys].drop_duplicates()
    out = base.merge(chosen[keys + OUT], on=keys, how="left", sort=False)
    out["AVALC"] = out["AVALC"].fillna(missing).astype("str")
    out["ADT"] = out["ADT"].astype(float)
    out["ROW"] = out["ROW"].astype(float)
    return out.reset_index(drop=True)


def _pick(cands: pd.DataFrame, keys: Sequence[str], rank: str, ascending_date: bool = True) -> pd.DataFrame:
    """Best `rank` (lowest) per subject; ties broken by the earliest (or latest) date."""
    keys = list(keys)
    srt = cands.sort_values(keys + [rank, "ADT"], ascending=[True] * len(keys) + [True, ascending_date],
                            kind="mergesort")
    return srt.drop_duplicates(keys, keep="first")


def _with_row(ovr: pd.DataFrame) -> pd.DataFrame:
    out = ovr.copy()
    out["ROW"] = np.asarray(ovr.index, dtype=float)
    return out


def worst_per_date(df: pd.DataFrame, keys: Sequence[str], mask: pd.Series) -> pd.Series:
    """True on one record per subject and date among `mask` rows: the worst response (PD first)."""
    keys = list(keys)
    sub = df.loc[mask, keys + ["ADT", "AVALC"]].copy()
    sub["_rank"] = sub["AVALC"].map(WORST_RANK).fillna(99)
    sub["_row"] = np.arange(len(sub))
    sub = sub.sort_values(keys + ["ADT", "_rank", "_row"], kind="mergesort")
    chosen = sub.drop_duplicates(keys + ["ADT"], keep="first").index
    out = pd.Series(False, index=df.index)
    out.loc[chosen] = True
    return out


def up_to_first_pd(df: pd.DataFrame, keys: Sequence[str], mask: pd.Series) -> pd.Series:
    """True on `mask` rows dated on or before the subject's first PD among `mask` rows (filter_pd)."""
    keys = list(keys)
    sub = df.loc[mask, keys + ["ADT", "AVALC"]]
    first = sub[sub["AVALC"] == "PD"].groupby(keys, sort=False)["ADT"].min().rename("_PDDT").reset_index()
    m = df[keys].merge(first, on=keys, how="left", sort=False)
    pddt = m["_PDDT"].to_numpy(dtype=float)
    adt = df["ADT"].to_numpy(dtype=float)
    ok = np.isnan(pddt) | (adt <= pddt)
    return pd.Series(ok, index=df.index) & mask


def first_pd(ovr: pd.DataFrame, subjects: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """PD parameter: 'Y' at the first PD (ADT of that assessment), otherwise 'N' without a date."""
    o = _with_row(ovr)
    c = o[o["AVALC"] == "PD"].assign(_r=0)
    chosen = _pick(c, keys, "_r").assign(AVALC="Y")
    return _result(subjects, keys, chosen, "N")


def last_assessment(ovr: pd.DataFrame, subjects: pd.DataFrame, keys: Sequence[str],
                    missing: str = "MISSING") -> pd.DataFrame:
    """LSTA: the last analysis assessment and its response; `missing` when there is none."""
    o = _with_row(ovr).assign(_r=0)
    chosen = _pick(o, keys, "_r", ascending_date=False)
    return _result(subjects, keys, chosen, missing)


def _window_ok(ovr: pd.DataFrame, min_sd_days: int) -> pd.Series:
    """SD/NON-CR/NON-PD counts only when ADT >= REFDT + min_sd_days (admiralonco ref_start_window)."""
    return ovr["ADT"] >= ovr["REFDT"] + min_sd_days


def best_overall_response(ovr: pd.DataFrame, subjects: pd.DataFrame, keys: Sequence[str], *,
                          min_sd_days: int, missing_as_ne: bool = False) -> pd.DataFrame:
    """BOR without confirmation (admiralonco derive_param_bor).

    CR, PR and PD count whenever they occur; SD and NON-CR/NON-PD only at ADT >= REFDT + min_sd_days,
    earlier they count as NE. Best of CR > PR > SD > NON-CR/NON-PD > PD > NE, first date among ties;
    subjects without assessments get MISSING (or NE when missing_as_ne).
    """
    o = _with_row(ovr)
    early = o["AVALC"].isin(["SD", "NON-CR/NON-PD"]) & ~_window_ok(o, min_sd_days)
    o["AVALC"] = o["AVALC"].where(~early, "NE")
    o["_r"] = o["AVALC"].map(AVAL_RESP)
    chosen = _pick(o[o["_r"].notna()], keys, "_r")
    return _result(subjects, keys, chosen, "NE" if missing_as_ne else "MISSING")


def confirmed_responses(ovr: pd.DataFrame, keys: Sequence[str], *, confirm_days: int,
                        max_ne: int, accept_sd: bool) -> pd.DataFrame:
    """Every CR/PR assessment that is confirmed, with CONFDT (date of its confirming assessment).

    admiralonco derive_param_confirmed_bor: the confirming assessment is the first one at least
    `confirm_days` after the response with CR (for CR) or CR/PR (for PR). Everything from the day
    after the response up to and including that assessment must be CR or NE (for CR), or CR, PR,
    SD or NE (for PR) with at most `max_ne` NE, at most one SD and only if `accept_sd`, and no PR
    after a CR. Vectorized: cumulative counts over the date-ordered frame plus merge_asof.
    """
    keys = list(keys)
    o = _with_row(ovr).sort_values(keys + ["ADT"], kind="mergesort").reset_index(drop=True)
    pos = np.arange(len(o), dtype=float)
    a = o["AVALC"]
    cum = {
        "NE": (a == "NE").cumsum().to_numpy(),
        "SD": (a == "SD").cumsum().to_numpy(),
        "NOT_CRNE": (~a.isin(["CR", "NE"])).cumsum().to_numpy(),
        "NOT_CRPRSDNE": (~a.isin(["CR", "PR", "SD", "NE"])).cumsum().to_numpy(),
    }
    last_cr = pd.Series(np.where(a == "CR", pos, np.nan)).ffill().fillna(-1).to_numpy()
    last_pr = pd.Series(np.where(a == "PR", pos, np.nan)).ffill().fillna(-1).to_numpy()
    o["_POS"] = pos
    empty = o.iloc[0:0].assign(CONFDT=pd.Series(dtype=float), CONFROW=pd.Series(dtype=float))

    def confirm(resp: str, confirmers: list[str]) -> pd.DataFrame:
        left = o[o["AVALC"] == resp].copy()
        if left.empty:
            return empty
        left["_TARGET"] = left["ADT"] + confirm_days
        right = o.loc[o["AVALC"].isin(confirmers), keys + ["ADT", "_POS", "ROW"]].rename(
            columns={"ADT": "CONFDT", "_POS": "_JPOS", "ROW": "CONFROW"})
        if right.empty:
            return empty
        m = pd.merge_asof(left.sort_values("_TARGET", kind="mergesort"), right.sort_values("CONFDT", kind="mergesort"),
                          left_on="_TARGET", right_on="CONFDT", by=keys, direction="forward")
        m = m[m["_JPOS"].notna()].copy()
        if m.empty:
            return empty
        i = m["_POS"].to_numpy(dtype=np.int64)
        j = m["_JPOS"].to_numpy(dtype=np.int64)

        def between(name: str) -> np.ndarray:  # count in (i, j]
            return cum[name][j] - cum[name][i]

        ok = between("NE") <= max_ne
        if resp == "CR":
            ok &= between("NOT_CRNE") == 0
        else:
            ok &= between("NOT_CRPRSDNE") == 0
            ok &= between("SD") <= (1 if accept_sd else 0)
            lpr = last_pr[j]
            crb = last_cr[np.clip(lpr, 0, None).astype(np.int64)]
            ok &= ~((lpr > i) & (crb > i))
        return m[ok]

    cols = keys + ["ADT", "AVALC", "ROW", "CONFDT", "CONFROW"]
    parts = [p[cols] for p in (confirm("CR", ["CR"]), confirm("PR", ["CR", "PR"])) if not p.empty]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=empty[c].dtype) for c in cols})
    return pd.concat(parts, ignore_index=True).sort_values(keys + ["ADT"], kind="mergesort").reset_index(drop=True)


def confirmed_best_overall_response(ovr: pd.DataFrame, subjects: pd.DataFrame, keys: Sequence[str], *,
                                    confirmed: pd.DataFrame, min_sd_days: int,
                                    missing_as_ne: bool = False) -> pd.DataFrame:
    """CBOR (admiralonco derive_param_confirmed_bor): confirmed CR > confirmed PR > SD > NON-CR/NON-PD > PD > NE.

    SD: any CR, PR or SD at ADT >= REFDT + min_sd_days (an unconfirmed CR/PR counts as SD there);
    NON-CR/NON-PD likewise; everything else before that window, and NE, is NE.
    """
    keys = list(keys)
    o = _with_row(ovr)
    late = _window_ok(o, min_sd_days)
    cat = pd.Series("NE", index=o.index, dtype="str")
    cat[o["AVALC"].isin(["CR", "PR", "SD"]) & late] = "SD"
    cat[(o["AVALC"] == "NON-CR/NON-PD") & late] = "NON-CR/NON-PD"
    cat[o["AVALC"] == "PD"] = "PD"
    o["AVALC"] = cat
    c = pd.concat([confirmed[keys + ["ADT", "AVALC", "ROW"]], o[keys + ["ADT", "AVALC", "ROW"]]], ignore_index=True)
    c["_r"] = c["AVALC"].map(AVAL_RESP)
    chosen = _pick(c, keys, "_r")
    return _result(subjects, keys, chosen, "NE" if missing_as_ne else "MISSING")


def response_flag(cands: pd.DataFrame, subjects: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """'Y' at the earliest candidate record (RSP, CRSP, BCP ...), 'N' without a date otherwise."""
    c = cands.assign(_r=0)
    chosen = _pick(c, keys, "_r").assign(AVALC="Y")
    return _result(subjects, keys, chosen, "N")


def clinical_benefit(ovr: pd.DataFrame, responses: pd.DataFrame, subjects: pd.DataFrame,
                     keys: Sequence[str], *, min_sd_days: int) -> pd.DataFrame:
    """CB/CCB (admiralonco derive_param_clinbenefit): a response, or CR/PR/SD/NON-CR/NON-PD at
    ADT >= REFDT + min_sd_days before PD; ADT is the earliest qualifying date."""
    keys = list(keys)
    o = _with_row(ovr)
    sd = o[o["AVALC"].isin(SD_OR_BETTER) & _window_ok(o, min_sd_days)]
    c = pd.concat([responses[keys + ["ADT", "ROW"]], sd[keys + ["ADT", "ROW"]]], ignore_index=True)
    return response_flag(c, subjects, keys)


def timepoint_endpoint(ovr: pd.DataFrame, confirmed: pd.DataFrame, subjects: pd.DataFrame,
                       keys: Sequence[str], *, endpoint: str, target_day: int, window_before: int,
                       window_after: int, min_sd_days: int, confirmed_response_qualifies: bool = True
                       ) -> pd.DataFrame:
    """PALACE week-N endpoints (ORR, DCR, CBR, APF); study day = ADT - REFDT + 1 (no day 0).

    Window = study days [target_day - window_before, target_day + window_after].
    ORR: a confirmed CR/PR whose confirming assessment is on or before the window end.
    DCR: the confirmed BOR from assessments up to the window end is CR, PR, SD or NON-CR/NON-PD.
    CBR: the in-window assessment closest to the target day (later one on ties) is CR/PR/SD/
         NON-CR/NON-PD (assessments after first PD never count), or an ORR response when
         `confirmed_response_qualifies`; no in-window assessment -> N.
    APF: no PD and no death on or before the target date (REFDT + target_day - 1) and an SD-or-better
         assessment at study day >= target_day - window_before.
    """
    keys = list(keys)
    lo, hi = target_day - window_before, target_day + window_after
    o = _with_row(ovr)
    ady = o["ADT"] - o["REFDT"] + 1
    conf = confirmed.merge(subjects[keys + ["REFDT"]], on=keys, how="inner", sort=False)
    conf = conf[conf["CONFDT"] - conf["REFDT"] + 1 <= hi]
    if endpoint == "ORR":
        return response_flag(conf, subjects, keys)
    if endpoint == "DCR":
        upto = o[ady <= hi]
        conf_upto = conf
        sd = upto[upto["AVALC"].isin(SD_OR_BETTER) & _window_ok(upto, min_sd_days)]
        c = pd.concat([conf_upto[keys + ["ADT", "ROW"]], sd[keys + ["ADT", "ROW"]]], ignore_index=True)
        return response_flag(c, subjects, keys)
    if endpoint == "CBR":
        win = o[(ady >= lo) & (ady <= hi)].copy()
        win["_dist"] = (win["ADT"] - win["REFDT"] + 1 - target_day).abs()
        closest = _pick(win, keys, "_dist", ascending_date=False)
        good = closest[closest["AVALC"].isin(SD_OR_BETTER)].assign(AVALC="Y")
        bad = closest[~closest["AVALC"].isin(SD_OR_BETTER)].assign(AVALC="N")
        chosen = good
        if confirmed_response_qualifies:
            resp = conf.assign(_r=0)
            resp = _pick(resp, keys, "_r").assign(AVALC="Y")
            resp = resp.merge(good[keys], on=keys, how="left", indicator=True, sort=False)
            resp = resp[resp["_merge"] == "left_only"].drop(columns="_merge")
            chosen = pd.concat([good[keys + OUT], resp[keys + OUT]], ignore_index=True)
        have = chosen[keys].assign(_have=True)
        bad = bad.merge(have, on=keys, how="left", sort=False)
        bad = bad[bad["_have"].isna()]
        return _result(subjects, keys, pd.concat([chosen[keys + OUT], bad[keys + OUT]], ignore_index=True), "N")
    if endpoint == "APF":
        s = subjects[keys + ["REFDT", "DTHDT"]].drop_duplicates(keys).copy()
        s["_TDT"] = s["REFDT"] + target_day - 1
        pdr = o[o["AVALC"] == "PD"].assign(_r=0)
        pdr = _pick(pdr, keys, "_r")[keys + ["ADT", "ROW"]].rename(columns={"ADT": "_PDDT", "ROW": "_PDROW"})
        qual = o[o["AVALC"].isin(SD_OR_BETTER) & (ady >= lo)].assign(_r=0)
        qual = _pick(qual, keys, "_r")[keys + ["ADT", "ROW"]]
        m = s.merge(pdr, on=keys, how="left", sort=False).merge(qual, on=keys, how="left", sort=False)
        pd_before = m["_PDDT"] <= m["_TDT"]
        dead_before = m["DTHDT"] <= m["_TDT"]
        yes = ~pd_before & ~dead_before & m["ADT"].notna()
        # ADT of the deciding record: the qualifying assessment, else the PD or the death date
        m["AVALC"] = np.where(yes, "Y", "N")
        first_event = np.fmin(np.where(pd_before, m["_PDDT"], np.nan), np.where(dead_before, m["DTHDT"], np.nan))
        m["ROW"] = np.where(yes, m["ROW"], np.where(pd_before & (m["_PDDT"] == first_event), m["_PDROW"], np.nan))
        m["ADT"] = np.where(yes, m["ADT"], first_event)
        return _result(subjects, keys, m[keys + OUT], "N")
    raise ValueError(f"unknown time-point endpoint {endpoint!r}")
