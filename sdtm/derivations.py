"""Named SDTM derivations: USUBJID, --SEQ, --DY, EPOCH, VISITNUM/VISIT, --LOBXFL, DM reference
dates, AGE, ARM/ACTARM, --NRIND. Whole-frame operations; a loop only touches flagged ties."""

from __future__ import annotations

import numpy as np
import pandas as pd

from studyforge.findings import Finding, Severity
from studyforge.spec.models import Variable

from . import _dates
from ._fast import umap
from .context import Context
from .registry import (
    AgeParams,
    ArmParams,
    EpochParams,
    LobxflParams,
    NrindParams,
    SeqParams,
    StudyDayParams,
    SubjectDateParams,
    UsubjidParams,
    VisitParams,
)
from .vocabulary import norm_key


def usubjid(ctx: Context, var: Variable, p: UsubjidParams) -> pd.Series:
    """STUDYID-SUBJID: the study id from the spec, the subject id as collected (it carries the site)."""
    subj = ctx.field(p.subjid, var)
    prefix = ctx.spec.study.id + p.sep
    # once per subject, not per record
    return umap(subj, lambda u: (prefix + u.astype(str)).where(u != "", "")).astype(str)


def sort_codes(frame: pd.DataFrame, keys: list[str], known: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Row order by `keys` (text sorts as text, numbers as numbers, missing first), stable: each key
    is factorized to sorted integer codes and the codes lexsorted (fast on millions of rows).
    `known` gives such codes already computed for some keys (USUBJID, see subject_ranks)."""
    cols = []
    for k in keys:
        col = frame[k]
        if known and k in known:
            cols.append(known[k])
        elif pd.api.types.is_numeric_dtype(col):
            v = col.to_numpy(dtype=float)
            cols.append(np.where(np.isnan(v), -np.inf, v))
        else:
            codes, _ = pd.factorize(col.astype(object).where(col.notna(), "").to_numpy(dtype=object), sort=True)
            cols.append(codes)
    return np.lexsort([np.arange(len(frame))] + cols[::-1])


def seq(ctx: Context, var: Variable, p: SeqParams) -> pd.Series:
    """--SEQ: 1..n per USUBJID in the spec's sort order (stable, so equal keys keep raw order)."""
    res = ctx.result
    keys = ["USUBJID", *p.sort]
    frame = pd.DataFrame({k: (res[k] if k in res.columns else "") for k in keys}, index=res.index)
    ranks = subject_ranks(ctx)
    order = sort_codes(frame, keys, {"USUBJID": ranks})
    subj = ranks[order]
    # position within each run of the same subject in sorted order
    starts = np.r_[0, np.flatnonzero(np.diff(subj)) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(subj)]))
    out = np.empty(len(order), dtype=float)
    out[order] = np.arange(len(order)) - run_start + 1.0
    return pd.Series(out, index=res.index)


def _subject_codes(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """USUBJID of the working rows as (codes, distinct values): per-subject lookups then touch
    each subject once instead of hashing every record's text again."""
    def build():
        codes, uniq = pd.factorize(ctx.result["USUBJID"].to_numpy(dtype=object))
        return codes, np.asarray(uniq, dtype=object)
    return _cached(ctx, ("usubjid_codes",), build)


def subject_ranks(ctx: Context) -> np.ndarray:
    """USUBJID of the working rows as integer ranks in text order (missing = ''), i.e. the codes
    sort_codes would make, from the cached subject codes instead of another pass over the text."""
    def build():
        codes, uniq = _subject_codes(ctx)
        ext = np.append(uniq, np.array([""], dtype=object))
        _, inv = np.unique(ext, return_inverse=True)
        return inv.ravel()[np.where(codes >= 0, codes, len(uniq))].astype(np.int64)
    return _cached(ctx, ("usubjid_ranks",), build)


def _per_subject(ctx: Context, keys: pd.Series, values: np.ndarray, missing) -> np.ndarray:
    """values (aligned to the unique subject ids `keys`) broadcast to the working rows; absent -> missing."""
    codes, uniq = _subject_codes(ctx)
    vals = np.asarray(values)
    pos = pd.Index(keys.to_numpy(dtype=object)).get_indexer(uniq)
    on_u = np.full(len(uniq) + 1, missing, dtype=object if vals.dtype == object else float)
    ok = pos >= 0
    on_u[:-1][ok] = vals[pos[ok]]
    return on_u[codes]  # code -1 (no USUBJID) takes the last slot: missing


def _dm_ref(ctx: Context, name: str) -> pd.Series:
    dm = ctx.out.get("DM")
    if dm is None or name not in dm.columns:
        return pd.Series("", index=ctx.result.index, dtype=str)
    first = ~dm["USUBJID"].duplicated(keep="last")  # dict(zip()) semantics: the last value wins
    out = _per_subject(ctx, dm["USUBJID"][first], dm[name][first].fillna("").astype(str).to_numpy(dtype=object), "")
    return pd.Series(out, index=ctx.result.index, dtype=str)


def _dm_ref_days(ctx: Context, name: str) -> np.ndarray:
    """Days (SAS) of a DM reference date per working row; parsed once per subject."""
    dm = ctx.out.get("DM")
    if dm is None or name not in dm.columns:
        return np.full(len(ctx.result), np.nan)
    first = ~dm["USUBJID"].duplicated(keep="last")
    days = _days(dm[name][first].fillna("").astype(str))
    return _per_subject(ctx, dm["USUBJID"][first], days, np.nan).astype(float)


def study_day(ctx: Context, var: Variable, p: StudyDayParams) -> pd.Series:
    """--DY = date - RFSTDTC (+1 on/after); only complete dates; the --DTC itself is never altered."""
    d, _, _ = _dtc_parts(ctx, p.dtc)
    diff = d - _dm_ref_days(ctx, "RFSTDTC")
    return pd.Series(np.where(diff >= 0, diff + 1, diff), index=ctx.result.index, dtype=float)


def _days(dtc: pd.Series) -> np.ndarray:
    return _dates.sas_days(dtc)


def _cached(ctx: Context, key: tuple, fn):
    """Per-dataset memo: the same --DTC feeds --DY, EPOCH and --LOBXFL; VISITNUM and VISIT share work."""
    full = (ctx.ds.name, len(ctx.result), *key)
    if full not in ctx.cache:
        ctx.cache[full] = fn()
    return ctx.cache[full]


def _dtc_parts(ctx: Context, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(days, minutes, codes) of a --DTC variable per working row, parsed once per distinct value;
    the codes let EPOCH work on distinct (subject, date) pairs."""
    def build():
        dtc = _dates._text(ctx.var(name).astype(str))  # missing -> '', so every code is >= 0
        codes, uniq = pd.factorize(dtc.to_numpy(dtype=object))
        u = pd.Series(np.asarray(uniq, dtype=object), dtype=str)
        days_u, mins_u = _days(u), _minutes(u)
        if len(codes) == 0:
            return np.array([], dtype=float), np.array([], dtype=float), codes
        return days_u[codes], mins_u[codes], codes
    return _cached(ctx, ("dtc", name), build)


def _minutes(dtc: pd.Series) -> np.ndarray:
    """Minutes after midnight when the ISO value has hh:mm, else NaN."""
    def mins(u: pd.Series) -> pd.Series:
        m = u.astype(str).str.extract(r"T(\d{2}):(\d{2})")
        return (pd.to_numeric(m[0], errors="coerce") * 60 + pd.to_numeric(m[1], errors="coerce")).astype(float)

    return umap(dtc, mins).to_numpy(dtype=float)


def epoch(ctx: Context, var: Variable, p: EpochParams) -> pd.Series:
    """EPOCH of the SE element whose [SESTDTC, SEENDTC) holds the observation (last element: end
    inclusive). Compared on datetimes when both sides have a time (a pre-dose Day 1 sample stays in
    SCREENING). On a boundary day otherwise: a boundary with a time (first dose) gives the day to the
    element it starts; a date-only boundary (end of treatment) to the element it ends, so the last
    injection and end-of-treatment assessments stay in TREATMENT. A partial --DTC gets no EPOCH."""
    se = ctx.out.get("SE")
    idx = ctx.result.index
    if se is None or se.empty:
        return pd.Series("", index=idx, dtype=str)
    s = se[["USUBJID", "SESTDTC", "SEENDTC", "EPOCH", "TAETORD"]].copy()
    s["st"], s["stm"] = _days(s["SESTDTC"]), _minutes(s["SESTDTC"])
    s["en"], s["enm"] = _days(s["SEENDTC"]), _minutes(s["SEENDTC"])
    s = s.sort_values(["USUBJID", "TAETORD"], kind="mergesort")
    s["k"] = s.groupby("USUBJID").cumcount()
    s["last"] = s.groupby("USUBJID")["k"].transform("max") == s["k"]
    d, dm, dcodes = _dtc_parts(ctx, p.dtc)
    kmax = int(s["k"].max()) + 1
    subj_codes, subjects = pd.factorize(s["USUBJID"], sort=True)
    # per subject and element position k: bounds as (subjects x kmax) arrays
    grid = {c: np.full((len(subjects), kmax), np.nan) for c in ("st", "stm", "en", "enm")}
    ep = np.full((len(subjects), kmax), "", dtype=object)
    last = np.zeros((len(subjects), kmax), dtype=bool)
    kk = s["k"].to_numpy()
    for c in grid:
        grid[c][subj_codes, kk] = s[c].to_numpy(dtype=float)
    ep[subj_codes, kk] = s["EPOCH"].to_numpy(dtype=object)
    last[subj_codes, kk] = s["last"].to_numpy()
    ucodes, usubj = _subject_codes(ctx)
    row_subj = np.append(pd.Index(subjects).get_indexer(usubj), -1)[ucodes]
    # EPOCH depends only on (subject, --DTC): decide each distinct pair once, then broadcast
    pair = (row_subj.astype(np.int64) + 1) * (int(dcodes.max(initial=-1)) + 2) + dcodes
    pcodes, puniq = pd.factorize(pair)
    rep = np.empty(len(puniq), dtype=np.int64)
    rep[pcodes[::-1]] = np.arange(len(pcodes) - 1, -1, -1)
    out_u = _epoch_of(grid, ep, last, row_subj[rep], d[rep], dm[rep])
    return pd.Series(out_u[pcodes] if len(pcodes) else out_u[:0], index=idx).astype(str)


def _epoch_of(grid: dict, ep: np.ndarray, last: np.ndarray, row_subj: np.ndarray, d: np.ndarray,
              dm: np.ndarray) -> np.ndarray:
    """EPOCH per (subject position in the grid, day, minutes); see epoch() for the boundary rules."""
    has = row_subj >= 0
    rs = np.where(has, row_subj, 0)
    out = np.full(len(rs), "", dtype=object)
    done = ~has | np.isnan(d)
    for k in range(ep.shape[1]):
        st, stm, en, enm = (grid[c][rs, k] for c in ("st", "stm", "en", "enm"))
        timed_st = ~np.isnan(dm) & ~np.isnan(stm)
        timed_en = ~np.isnan(dm) & ~np.isnan(enm)
        # boundary day: by time when both have one; else a timed boundary (first dose) gives the day
        # to the element it starts, a date-only boundary (end of treatment) to the element it ends
        on_start = np.where(timed_st, dm >= stm, ~np.isnan(stm) | (k == 0))
        on_end = np.where(timed_en, dm < enm, np.isnan(enm))
        after_start = (d > st) | ((d == st) & on_start)
        before_end = (d < en) | ((d == en) & on_end)
        inside = ~done & ~np.isnan(st) & after_start & (before_end | (last[rs, k] & (d <= en)) | np.isnan(en))
        out[inside] = ep[rs, k][inside]
        done |= inside
    return out


def visit_schedule(ctx: Context) -> pd.DataFrame:
    """TV rows of the spec: planned VISITNUM/VISIT (EDC folder names are the VISIT names)."""
    tv = ctx.spec.datasets.get("TV")
    rows = tv.derivation.params.get("rows", []) if tv and tv.derivation else []
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=["VISITNUM", "VISIT"])
    return df[["VISITNUM", "VISIT"]].drop_duplicates("VISIT")


def _unscheduled_table(ctx: Context, field: str, sched: dict[str, float], prefix: str) -> pd.DataFrame:
    """(SUBJID, FOLDER) -> VISITNUM for unscheduled folders: previous scheduled visit + .01, .02 ...
    ordered by the visit dates of the raw visit form (sv)."""
    cache = ctx.out.get("__unsched")
    if cache is not None:
        return cache
    sv = ctx.form("sv")
    if sv is None or "VISDAT" not in sv.frame.columns:
        tab = pd.DataFrame(columns=["SUBJID", "FOLDER", "VNUM"])
    else:
        f = sv.frame
        iso, _ = _dates.edc_date_to_iso(f["VISDAT"])
        t = pd.DataFrame({"SUBJID": f["SUBJID"], "FOLDER": norm_key(f[field]), "d": _days(iso)})
        t["sched"] = t["FOLDER"].map(sched)
        t = t.sort_values(["SUBJID", "d"], kind="mergesort", na_position="last")
        t["prev"] = t.groupby("SUBJID")["sched"].ffill()
        un = t[t["FOLDER"].str.startswith(prefix)].copy()
        un["prev"] = un["prev"].fillna(0.0)
        un["k"] = un.groupby(["SUBJID", "prev"]).cumcount() + 1
        un["VNUM"] = (un["prev"] + un["k"] * 0.01).round(2)
        tab = un[["SUBJID", "FOLDER", "VNUM"]].drop_duplicates(["SUBJID", "FOLDER"])
    ctx.out["__unsched"] = tab
    return tab


def visit(ctx: Context, var: Variable, p: VisitParams) -> pd.Series:
    """VISITNUM/VISIT from the TV schedule; unscheduled visits per SDTMIG: previous VISITNUM + .01 ..."""
    num, label = _cached(ctx, ("visit", p.field), lambda: _visit_both(ctx, var, p))
    return num.astype(float) if p.output == "visitnum" else label


def _visit_both(ctx: Context, var: Variable, p: VisitParams) -> tuple[pd.Series, pd.Series]:
    prefix = "UNSCHEDULED"
    tv = visit_schedule(ctx)
    sched = {str(v).upper(): float(n) for n, v in zip(tv["VISITNUM"], tv["VISIT"])}
    folder = norm_key(ctx.field(p.field, var))
    num = folder.map(sched)
    uns = umap(folder, lambda u: u.astype(str).str.startswith(prefix)).astype(bool)
    if uns.any():
        tab = _unscheduled_table(ctx, p.field, sched, prefix)
        key = pd.DataFrame({"SUBJID": ctx.field("SUBJID").to_numpy(), "FOLDER": folder.to_numpy()})
        got = key.merge(tab, on=["SUBJID", "FOLDER"], how="left")["VNUM"].to_numpy()
        num = num.where(~uns, pd.Series(got, index=num.index))
        miss = uns & num.isna()
        if miss.any():
            ctx.row_findings(miss, Severity.WARNING, "SD0502", "unscheduled folder has no visit date in the "
                             "visit form (sv); VISITNUM cannot be placed", var.name, p.field, folder)
    unknown = ~uns & num.isna() & (folder != "")
    if unknown.any():
        ctx.row_findings(unknown, Severity.ERROR, "SD0501", "EDC folder is not a visit of the TV schedule",
                         var.name, p.field, folder)
    label = folder.where(num.notna(), "")
    if uns.any():
        label[uns] = umap(num[uns], lambda u: u.map(lambda v: "" if v == "" or pd.isna(v)
                                                     else f"UNSCHEDULED {float(v):.2f}"))
    return num.astype(float), label.astype(str)


def lobxfl(ctx: Context, var: Variable, p: LobxflParams) -> pd.Series:
    """--LOBXFL: the last non-missing result on or before first dose (DM.RFXSTDTC) per USUBJID and
    `by`. Partial dates are not candidates. Ties on the same date: latest time, then highest --SEQ;
    each tie is reported as a NOTICE naming the records involved."""
    res = ctx.result
    dtc = ctx.var(p.dtc).astype(str)
    ref = _dm_ref(ctx, "RFXSTDTC")
    has = ctx.var(p.result).astype(str) != ""
    d, _, _ = _dtc_parts(ctx, p.dtc)
    r = _dm_ref_days(ctx, "RFXSTDTC")
    both_time = dtc.str.len().ge(16) & ref.str.len().ge(16)
    before = np.where(both_time, dtc.str.slice(0, 16) <= ref.str.slice(0, 16), d <= r)
    cand = has & (~np.isnan(d)) & (~np.isnan(r)) & pd.Series(before, index=res.index)
    c = pd.DataFrame({"USUBJID": res["USUBJID"], "d": d, "dtc": dtc, "seq": pd.to_numeric(res[p.seq]),
                      **{b: res[b] for b in p.by}})[cand]
    out = pd.Series("", index=res.index, dtype=str)
    if c.empty:
        return out
    grp = ["USUBJID", *p.by]
    c = c.sort_values([*grp, "d", "dtc", "seq"], kind="mergesort")
    last = c.groupby(grp, sort=False).tail(1)
    out.loc[last.index] = "Y"
    # ties: other candidates on the same (last) date in the group
    lastd = last.set_index(grp)["d"]
    c2 = c.join(lastd.rename("lastd"), on=grp)
    tied = c2[c2["d"] == c2["lastd"]]
    n = tied.groupby(grp)["d"].transform("size")
    for key, g in tied[n > 1].groupby(grp, sort=True):
        chosen = g.index[-1]
        seqs = ", ".join(f"{p.seq}={int(s)}" for s in g["seq"])
        ctx.findings.append(Finding(Severity.NOTICE, "SD0601",
                                    f"{len(g)} records share the last pre-dose date {g['dtc'].iloc[-1][:10]} "
                                    f"({seqs}); flagged {p.seq}={int(g.loc[chosen, 'seq'])} (latest time, then "
                                    f"highest {p.seq})", dataset=ctx.ds.name, variable=var.name,
                                    usubjid=str(key[0]), record=seqs))
    return out


def subject_date(ctx: Context, var: Variable, p: SubjectDateParams) -> pd.Series:
    """Earliest/latest date per subject from another raw form (DM reference dates, DTHDTC)."""
    rf = ctx.form(p.form)
    subj = ctx.field("SUBJID")
    if rf is None:
        ctx.warn("SD0103", f"raw form {p.form!r} absent: {var.name} left empty", variable=var.name,
                 file=ctx.spec_file)
        return pd.Series("", index=subj.index, dtype=str)
    f = rf.frame
    if p.date not in f.columns:
        ctx.error("SD0102", f"required column {p.date!r} missing in raw form {p.form}", variable=var.name,
                  file=rf.path, field=p.date)
        return pd.Series("", index=subj.index, dtype=str)
    keep = pd.Series(True, index=f.index)
    if p.where_field:
        keep = norm_key(f.get(p.where_field, pd.Series("", index=f.index))).isin(
            [v.upper() for v in p.where_in])
    if p.text:
        t = pd.DataFrame({"SUBJID": f["SUBJID"], "iso": f[p.date]})[keep]
        ctx.recon.add_used(p.form, f"{ctx.ds.name}.{var.name}", len(t))
        return subj.map(t.groupby("SUBJID")["iso"].agg(p.agg)).astype(object).fillna("").astype(str)
    if p.format == "edc":
        iso, err = ctx.form_iso(p.form, p.date)
    else:
        iso = f[p.date]
        err = ~_dates.is_valid_iso8601(iso)
    if p.time and p.time in f.columns:
        t = f[p.time]
        okt = t.str.match(r"^\d{2}:\d{2}$")
        iso = iso.where(~(okt & (iso.str.len() == 10)), iso + "T" + t)
    t = pd.DataFrame({"SUBJID": f["SUBJID"], "iso": iso})[keep & ~err & (iso != "")]
    ctx.recon.add_used(p.form, f"{ctx.ds.name}.{var.name}", len(t))
    agg = t.groupby("SUBJID")["iso"].agg(p.agg)
    return subj.map(agg).astype(object).fillna("").astype(str)


def age(ctx: Context, var: Variable, p: AgeParams) -> pd.Series:
    """Whole years from birth to the reference date. A partial birth date gives an age only when
    every possible birth date in it gives the same age ('unambiguous'); otherwise empty + WARNING."""
    raw = ctx.field(p.birth, var)
    iso, err = _dates.edc_date_to_iso(raw)
    if err.any():
        ctx.row_findings(err, Severity.ERROR, "SD0301", "unparseable or impossible date", var.name, p.birth, raw)
    ref = _dates.complete_date(ctx.var(p.ref).astype(str))
    parts = iso.str.extract(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$").apply(pd.to_numeric, errors="coerce")
    y, m, d = parts[0], parts[1], parts[2]
    def years(by, bm, bd):
        return ref.dt.year - by - ((ref.dt.month < bm) | ((ref.dt.month == bm) & (ref.dt.day < bd))).astype(int)
    lo_m, hi_m = m.fillna(1), m.fillna(12)
    last_day = pd.to_datetime(pd.DataFrame({"year": y.fillna(2000), "month": hi_m.fillna(12), "day": 1}),
                              errors="coerce") + pd.offsets.MonthEnd(0)
    lo_d, hi_d = d.fillna(1), d.fillna(last_day.dt.day)
    a_old = years(y, hi_m, hi_d)   # latest possible birth -> youngest
    a_young = years(y, lo_m, lo_d)
    out = a_old.where(a_old == a_young)
    if p.partial == "missing":
        out = out.where(d.notna())
    amb = y.notna() & ref.notna() & out.isna()
    if amb.any():
        ctx.row_findings(amb, Severity.WARNING, "SD0701", "partial birth date: age not determinable "
                         "unambiguously; AGE left empty", var.name, p.birth, raw)
    return out.astype(float)


def arm(ctx: Context, var: Variable, p: ArmParams) -> pd.Series:
    """Single-arm assignment: treated subjects (any record in the dosing form) get the arm; screen
    failures (rows in the eligibility form and never treated) get ARMNRS 'SCREEN FAILURE'."""
    subj = ctx.field("SUBJID")
    ex = ctx.form(p.treated_form)
    treated = subj.isin(set(ex.frame["SUBJID"])) if ex is not None else pd.Series(False, index=subj.index)
    sf_form = ctx.form(p.screen_fail_form) if p.screen_fail_form else None
    sf = subj.isin(set(sf_form.frame["SUBJID"])) if sf_form is not None else pd.Series(False, index=subj.index)
    sf = sf & ~treated
    if p.output in ("ARMCD", "ARM"):
        val = p.armcd if p.output == "ARMCD" else p.arm
        return pd.Series(np.where(sf, "", val), index=subj.index).astype(str)
    if p.output in ("ACTARMCD", "ACTARM"):
        val = p.armcd if p.output == "ACTARMCD" else p.arm
        return pd.Series(np.where(treated, val, ""), index=subj.index).astype(str)
    return pd.Series(np.select([sf, ~treated], ["SCREEN FAILURE", "ASSIGNED, NOT TREATED"], ""),
                     index=subj.index).astype(str)


def nrind(ctx: Context, var: Variable, p: NrindParams) -> pd.Series:
    """LOW / HIGH / NORMAL of the standard result against the standard range (empty when unknown)."""
    r = pd.to_numeric(ctx.var(p.result), errors="coerce")
    lo = pd.to_numeric(ctx.var(p.low), errors="coerce")
    hi = pd.to_numeric(ctx.var(p.high), errors="coerce")
    out = np.select([r.isna(), lo.notna() & (r < lo), hi.notna() & (r > hi), lo.notna() | hi.notna()],
                    ["", "LOW", "HIGH", "NORMAL"], "")
    return pd.Series(out, index=r.index).astype(str)
