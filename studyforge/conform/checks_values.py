"""Value checks within one dataset: ISO 8601 dates, start/end order, --DY, identifiers, text rules."""

from __future__ import annotations

import numpy as np
import pandas as pd

from studyforge import dates
from studyforge.conform.emit import blank, dataset_finding, records, row_findings, text
from studyforge.conform.package import DatasetView, PackageView
from studyforge.conform.rules import register
from studyforge.findings import Finding, Severity

IG = "SDTMIG 3.4 section"


def _dtc_columns(ds: DatasetView) -> list[str]:
    return [c for c in ds.frame.columns if c.endswith("DTC") and not pd.api.types.is_numeric_dtype(ds.frame[c])]


@register("SF-DT-0001", "Every --DTC value is ISO 8601 (partial dates allowed)", Severity.ERROR,
          f"{IG} 4.4.1-4.4.4 (ISO 8601 dates); FDA TCG section 4.1.4.5", "SDTM")
def dtc_iso8601(view: PackageView) -> list[Finding]:
    rule = dtc_iso8601.rule
    out: list[Finding] = []
    for ds in view.by_standard("SDTM"):
        for c in _dtc_columns(ds):
            bad = ~view.parsed_dates(ds, c)["valid"].to_numpy(dtype=bool)
            out += row_findings(rule, ds, bad, "not a valid ISO 8601 date/time", variable=c)
    return out


def _common_precision_after(start: pd.Series | pd.DataFrame, end: pd.Series | pd.DataFrame) -> np.ndarray:
    """True where start is after end, compared at the precision both values have (up to the minute)."""
    ps = start if isinstance(start, pd.DataFrame) else dates.parse_iso8601(start)
    pe = end if isinstance(end, pd.DataFrame) else dates.parse_iso8601(end)
    lvl = {p: i for i, p in enumerate(dates.PRECISIONS)}
    ls = ps["precision"].map(lvl).to_numpy(dtype=np.int64)
    le = pe["precision"].map(lvl).to_numpy(dtype=np.int64)
    common = np.minimum(np.minimum(ls, le), 5)
    after = np.zeros(len(start), dtype=bool)
    undecided = common >= 1
    for i, c in enumerate(["year", "month", "day", "hour", "minute"], start=1):
        a = ps[c].fillna(0).to_numpy(dtype=np.int64)
        b = pe[c].fillna(0).to_numpy(dtype=np.int64)
        use = undecided & (common >= i)
        after |= use & (a > b)
        undecided &= ~(use & (a != b))
    return after


@register("SF-DT-0002", "--STDTC is not after --ENDTC", Severity.ERROR,
          f"{IG} 4.4.7 (start and end of an event or intervention)", "SDTM")
def start_before_end(view: PackageView) -> list[Finding]:
    rule = start_before_end.rule
    out: list[Finding] = []
    for ds in view.by_standard("SDTM"):
        for st in [c for c in _dtc_columns(ds) if c.endswith("STDTC")]:
            en = st[:-5] + "ENDTC"
            if en not in ds.frame.columns:
                continue
            bad = _common_precision_after(view.parsed_dates(ds, st), view.parsed_dates(ds, en))
            msg = text(ds.frame[st]) + " is after " + en + " " + text(ds.frame[en])
            out += row_findings(rule, ds, bad, st + " " + msg, variable=st)
    return out


def _rfstdtc(view: PackageView) -> pd.Series | None:
    dm = view.get("DM")
    if dm is None or "RFSTDTC" not in dm.frame.columns or "USUBJID" not in dm.frame.columns:
        return None
    f = dm.frame.drop_duplicates("USUBJID")
    return pd.Series(f["RFSTDTC"].to_numpy(), index=f["USUBJID"].to_numpy())


@register("SF-DT-0003", "--DY agrees with --DTC and DM.RFSTDTC (no day 0; only for complete dates)", Severity.ERROR,
          f"{IG} 4.4.4 (study day)", "SDTM")
def study_day_consistent(view: PackageView) -> list[Finding]:
    rule = study_day_consistent.rule
    ref_map = _rfstdtc(view)
    if ref_map is None:
        return []
    dm = view.get("DM")
    ref_sas = pd.Series(view.parsed_dates(dm, "RFSTDTC")["sas"].to_numpy(), index=text(dm.frame["USUBJID"]).to_numpy())
    ref_sas = ref_sas[~ref_sas.index.duplicated()]
    out: list[Finding] = []
    for ds in view.by_standard("SDTM"):
        if "USUBJID" not in ds.frame.columns:
            continue
        ref = text(ds.frame["USUBJID"]).map(ref_sas).to_numpy(dtype=float, na_value=np.nan)
        for dy in [c for c in ds.frame.columns if c.endswith("DY") and len(c) > 2]:
            dtc = dy[:-2] + "DTC"
            if dtc not in ds.frame.columns:
                continue
            diff = view.parsed_dates(ds, dtc)["sas"].to_numpy() - ref   # SDTMIG 4.4.4: no day 0
            want = np.where(diff >= 0, diff + 1, diff)
            got = pd.to_numeric(ds.frame[dy], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            bad = ~((np.isnan(want) & np.isnan(got)) | (want == got))
            exp = pd.Series(np.where(np.isnan(want), "missing (date or RFSTDTC incomplete)",
                                     pd.Series(np.nan_to_num(want)).astype("int64").astype(str)), index=ds.frame.index)
            out += row_findings(rule, ds, bad, f"{dy} should be " + exp + f" from {dtc} and RFSTDTC", variable=dy)
    return out


@register("SF-ID-0001", "--SEQ is unique within USUBJID", Severity.ERROR,
          f"{IG} 4.1.9 (--SEQ: unique within a domain for a subject)", "SDTM")
def seq_unique(view: PackageView) -> list[Finding]:
    rule = seq_unique.rule
    out: list[Finding] = []
    for ds in view.by_standard("SDTM"):
        seq = f"{ds.prefix}SEQ"
        if not ds.prefix or seq not in ds.frame.columns:
            continue
        subj = next((c for c in ("USUBJID", "POOLID") if c in ds.frame.columns), None)
        if subj is None and ds.name == "TS":
            subj = "TSPARMCD"  # TSSEQ numbers the records of one parameter (SDTMIG 3.4 section 7.6.1)
        if subj is None:
            continue
        cols = [subj, seq]
        dup = ds.frame.duplicated(cols, keep=False).to_numpy() & ~blank(ds.frame[seq])
        out += row_findings(rule, ds, dup, f"{seq} value occurs more than once for the subject", variable=seq)
    return out


@register("SF-ID-0002", "Records are unique by the dataset's key variables", Severity.ERROR,
          "Define-XML 2.1 section 5.3.4.2 (KeySequence); SDTMIG 3.4 section 3.2.1.1; ADaMIG 1.3 section 3", "package")
def keys_unique(view: PackageView) -> list[Finding]:
    rule = keys_unique.rule
    out: list[Finding] = []
    for ds in view.datasets.values():
        keys: list[str] = []
        if view.spec is not None and ds.name in view.spec.datasets:
            keys = list(view.spec.datasets[ds.name].keys)
        else:
            d = view.defines.get(ds.standard)
            g = d.groups.get(ds.name) if d else None
            if g:
                keys = [i.name for i in sorted(g.items, key=lambda i: i.key_sequence or 0) if i.key_sequence]
        if not keys:
            continue
        missing = [k for k in keys if k not in ds.frame.columns]
        if missing:
            out.append(dataset_finding(rule, ds, f"key variable(s) {', '.join(missing)} not in the dataset",
                                       variable=missing[0]))
            continue
        dup = ds.frame.duplicated(keys, keep=False).to_numpy()
        out += row_findings(rule, ds, dup, f"key ({', '.join(keys)}) is not unique", variable=keys[-1])
    return out


def _one_to_one(rule, ds: DatasetView, code: str, decode: str) -> list[Finding]:
    f = ds.frame
    if code not in f.columns or decode not in f.columns:
        return []
    pairs = pd.DataFrame({"c": text(f[code]), "d": text(f[decode])})
    pairs = pairs[(pairs["c"] != "") | (pairs["d"] != "")]
    out: list[Finding] = []
    for a, b, label in (("c", "d", code), ("d", "c", decode)):
        distinct = pairs.drop_duplicates()
        n = distinct.groupby(a, sort=True)[b].nunique()
        for val in n[n > 1].index:
            others = sorted(distinct.loc[distinct[a] == val, b])
            first = pairs.index[pairs[a] == val][0]
            out.append(dataset_finding(rule, ds, f"{label} {val!r} goes with {len(others)} values of "
                                       f"{decode if label == code else code}: {', '.join(map(repr, others))}",
                                       variable=label, value=val, record=records(ds, np.array([f.index.get_loc(first)]))[0]))
    return out


@register("SF-VL-0001", "--TESTCD and --TEST are one-to-one", Severity.ERROR,
          f"{IG} 4.5.1 (--TESTCD/--TEST); FDA TCG section 4.1.4", "SDTM")
def testcd_test(view: PackageView) -> list[Finding]:
    rule = testcd_test.rule
    out: list[Finding] = []
    for ds in view.by_standard("SDTM"):
        p = ds.prefix or ("Q" if ds.name.startswith("SUPP") else "")
        if ds.name.startswith("SUPP"):
            out += _one_to_one(rule, ds, "QNAM", "QLABEL")
        elif p:
            out += _one_to_one(rule, ds, f"{p}TESTCD", f"{p}TEST")
        if ds.name == "TS":
            out += _one_to_one(rule, ds, "TSPARMCD", "TSPARM")
    return out


@register("SF-VL-0002", "--STRESU is the same for every record of a --TESTCD", Severity.WARNING,
          "FDA TCG section 4.1.4.3 (standard units consistent within a test)", "SDTM")
def stresu_consistent(view: PackageView) -> list[Finding]:
    rule = stresu_consistent.rule
    out: list[Finding] = []
    for ds in view.by_standard("SDTM"):
        p = ds.prefix
        code, unit = f"{p}TESTCD", f"{p}STRESU"
        if not p or code not in ds.frame.columns or unit not in ds.frame.columns:
            continue
        t = pd.DataFrame({"c": text(ds.frame[code]), "u": text(ds.frame[unit])})
        t = t[t["u"] != ""]
        n = t.drop_duplicates().groupby("c", sort=True)["u"].nunique()
        for val in n[n > 1].index:
            units = sorted(t.loc[t["c"] == val, "u"].unique())
            first = t.index[t["c"] == val][0]
            out.append(dataset_finding(rule, ds, f"{code} {val!r} has {len(units)} standard units: {', '.join(units)}",
                                       variable=unit, value=val,
                                       record=records(ds, np.array([ds.frame.index.get_loc(first)]))[0]))
    return out


def _char_columns(ds: DatasetView) -> list[str]:
    return [c for c in ds.frame.columns if not pd.api.types.is_numeric_dtype(ds.frame[c])]


@register("SF-VL-0003", "Character values are ASCII only", Severity.ERROR,
          "FDA TCG section 3.3.2 (SAS XPORT v5: ASCII text)", "package")
def ascii_only(view: PackageView) -> list[Finding]:
    rule = ascii_only.rule
    out: list[Finding] = []
    for ds in view.datasets.values():
        for c in _char_columns(ds):
            col = ds.frame[c].astype("str").fillna("")
            if "".join(pd.unique(col.to_numpy(dtype=object))).isascii():  # fast path: distinct values only
                continue
            bad = col.str.contains(r"[^\x00-\x7f]", regex=True).fillna(False).to_numpy(dtype=bool)
            out += row_findings(rule, ds, bad, "value has non-ASCII characters", variable=c)
    return out


@register("SF-VL-0004", "No character value is longer than 200 bytes", Severity.ERROR,
          f"{IG} 4.5.3.2 (text over 200 characters); FDA TCG section 4.1.4.4", "package")
def max_200_bytes(view: PackageView) -> list[Finding]:
    rule = max_200_bytes.rule
    out: list[Finding] = []
    for ds in view.datasets.values():
        for c in _char_columns(ds):
            s = ds.frame[c].astype("str").fillna("")
            long = (s.str.len() > 50).to_numpy(dtype=bool)  # a char is at most 4 bytes: only these can exceed 200
            if not long.any():
                continue
            nbytes = np.zeros(len(s), dtype=np.int64)
            nbytes[long] = s[long].str.encode("utf-8").str.len().to_numpy()
            msg = pd.Series(nbytes, index=s.index).astype(str) + " bytes (limit 200)"
            out += row_findings(rule, ds, nbytes > 200, msg, variable=c)
    return out
