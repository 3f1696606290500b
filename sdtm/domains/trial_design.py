"""TS (static rows from the spec, SSTDTC and ACTSUB from the data) and SE (each subject's elements,
each starting at a date the spec names: a DM reference date or a raw form's earliest/latest date)."""

from __future__ import annotations

import re
from typing import Any, Literal

import pandas as pd
from pydantic import Field, model_validator

from studyforge import standards
from studyforge.findings import Severity

from .. import _dates
from ..rules.base import FILE, FORM, LINE, SUBJECT_ID, Params, Refs, Used, dataset_rule
from ..vocabulary import norm_key

TS_COLUMN = re.compile(r"^(TSPARMCD|TSPARM|TSVAL\d*|TSVALNF|TSVALCD|TSVCDREF|TSVCDVER|TSGRPID)$")


class TrialSummaryParams(Params):
    rows: list[dict[str, Any]]
    sstdtc_from: str = Field(default="DM.RFICDTC", pattern=r"^[A-Z][A-Z0-9]*\.[A-Z][A-Z0-9]*$",
                             description="study start = earliest complete date of this DATASET.VARIABLE")
    actsub_from: str | None = Field(default="DM.ACTARMCD", pattern=r"^[A-Z][A-Z0-9]*\.[A-Z][A-Z0-9]*$",
                                    description="ACTSUB = subjects with this DATASET.VARIABLE not empty (dosed)")
    ct_codes: bool = Field(default=True, description="fill what a row leaves out from the pinned SDTM CT: TSPARM "
                                                     "of its TSPARMCD, and TSVALCD/TSVCDREF/TSVCDVER of a value CT "
                                                     "controls (e.g. DOSFRQ: codelist FREQ)")
    sendtc_from: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9]*\.[A-Z][A-Z0-9]*$",
                                    description="study end = latest complete date of this DATASET.VARIABLE "
                                                "(e.g. DM.RFPENDTC); a SENDTC row in `rows` is replaced")


@dataset_rule("trial_summary", TrialSummaryParams,
              method="Trial summary rows of the study specification; SSTDTC = earliest {sstdtc_from}; SENDTC = "
                     "latest {sendtc_from}; ACTSUB = number of subjects with {actsub_from}; TSPARM and the codes of "
                     "CT-controlled values from the pinned SDTM CT ({ct_codes})")
def build_ts(p: TrialSummaryParams, refs: Refs):
    """Static TS rows from the spec plus SSTDTC = earliest informed consent in DM (FDA TCG: SSTDTC
    is required; its absence is a technical rejection) and ACTSUB = subjects dosed (DM ACTARMCD)."""
    notes = [refs.finding(Severity.ERROR, "SD1212", f"TS row {i}: {k!r} is not a TS variable; ignored", value=str(k))
             for i, r in enumerate(p.rows, start=1) for k in r if not TS_COLUMN.match(str(k))]
    derived = {"SSTDTC"} | ({"SENDTC"} if p.sendtc_from else set())
    rows = [{k: v for k, v in r.items() if TS_COLUMN.match(str(k))} for r in p.rows if r.get("TSPARMCD") not in derived]

    def complete_dates(source: str) -> pd.Series:
        ds_name, var = source.split(".")
        src = refs.datasets.get(ds_name)
        return src[var][src[var].str.len() >= 10].str.slice(0, 10) if src is not None and var in src.columns \
            else pd.Series([], dtype=str)

    for parmcd, parm, source, agg in (("SSTDTC", "Study Start Date", p.sstdtc_from, "min"),
                                      ("SENDTC", "Study End Date", p.sendtc_from, "max")):
        if source is None:
            continue
        dates = complete_dates(source)
        if len(dates):
            rows.append({"TSPARMCD": parmcd, "TSPARM": parm, "TSVAL": getattr(dates, agg)(), "TSVCDREF": "ISO 8601"})
        else:
            rows.append({"TSPARMCD": parmcd, "TSPARM": parm, "TSVAL": "", "TSVALNF": "UNK"})
            notes.append(refs.finding(Severity.ERROR, "SD1201", f"{parmcd} cannot be derived: no complete date in "
                                      + source, variable="TSVAL"))
    if p.actsub_from:
        ds_name, var = p.actsub_from.split(".")
        src = refs.datasets.get(ds_name)
        if src is not None and var in src.columns:  # actual number of subjects: those dosed
            for r in rows:
                if r.get("TSPARMCD") == "ACTSUB":
                    r["TSVAL"] = str(int((src[var] != "").sum()))
        else:  # a source that names nothing is a fact to report, not a silent fallback
            notes.append(refs.finding(Severity.WARNING, "SD1202", f"ACTSUB cannot be counted: no {p.actsub_from}; "
                                      "the ACTSUB row is written as the specification gives it", variable="TSVAL"))
    if p.ct_codes:
        notes += _fill_from_ct(rows, refs)
    df = pd.DataFrame(rows).fillna("")
    df["TSSEQ"] = df.groupby("TSPARMCD").cumcount() + 1.0
    df["TSVAL"] = df["TSVAL"].astype(str)
    df[FORM], df[FILE], df[LINE] = "", refs.spec_file, 0
    return df, notes


def _fill_from_ct(rows: list[dict], refs: Refs) -> list:
    """TSPARM from the TSPARMCD term's C-code, and TSVALCD/TSVCDREF/TSVCDVER for values CT controls, where a row
    leaves them out; a controlled value that is not a term of its codelist is an ERROR (left uncoded)."""
    version = refs.spec.study.ct_version("SDTM") or "2025-03-28"
    terms = standards.sdtm_ct_terms(version)
    parm_of = {c: t for t, c in terms.get("TSPARM", {}).items()}
    notes = []
    for r in rows:
        code = terms.get("TSPARMCD", {}).get(r.get("TSPARMCD", ""), "")
        if not r.get("TSPARM") and code in parm_of:
            r["TSPARM"] = parm_of[code]
        cl = standards.TS_VALUE_CODELISTS.get(r.get("TSPARMCD", ""))
        if cl is None or not r.get("TSVAL") or r.get("TSVALCD"):
            continue
        term = terms.get(cl, {}).get(str(r["TSVAL"]))
        if term is None:
            notes.append(refs.finding(Severity.ERROR, "SD1211", f"TS {r['TSPARMCD']}: {r['TSVAL']!r} is not a term of "
                                      f"CDISC CT codelist {cl} ({version}); TSVALCD left empty", variable="TSVAL",
                                      value=str(r["TSVAL"])))
            continue
        r.update(TSVALCD=term, TSVCDREF="CDISC CT", TSVCDVER=version)
    return notes


class ElementStart(Params):
    """When an element starts: a DM variable, or the earliest/latest date of a raw form's records."""

    dm: str | None = Field(default=None, description="DM variable, e.g. RFICDTC or RFXSTDTC")
    date_only: bool = Field(default=False, description="use the date part only")
    form: str | None = None
    date: str | None = None
    agg: Literal["min", "max"] = "min"
    where_field: str | None = None
    where_in: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_source(self):
        if (self.dm is None) == (self.form is None):
            raise ValueError("give either `dm` (a DM variable) or `form` with `date`")
        if self.form is not None and not self.date:
            raise ValueError("`form` needs `date`")
        return self


class Element(Params):
    etcd: str = Field(description="element code; TE gives ELEMENT, TA gives TAETORD and EPOCH")
    start: ElementStart
    requires: list[str] = Field(default_factory=list, description="elements the subject must have started")
    after: str | None = Field(default=None, description="only when later (by date) than this element's start")
    before_end: bool = Field(default=False, description="only when not on the end of participation date")
    arms: list[str] = Field(default_factory=list, description="only subjects whose DM.ACTARMCD is one of these "
                            "(an element of some arms only); empty: every subject")


class SeParams(Params):
    elements: list[Element] = Field(min_length=1)
    end: str = Field(default="RFPENDTC", description="DM variable ending the last element (end of participation)")


@dataset_rule("subject_elements", SeParams,
              method="Elements per subject in TA order, each starting as the spec says ({elements}); SEENDTC of "
                     "an element is the SESTDTC of the next; the last ends at DM.{end}")
def build_se(p: SeParams, refs: Refs):
    """Elements per subject, each from its declared start; SEENDTC of an element is the SESTDTC of the
    next (contiguous elements, SDTMIG 3.4 SE); the last ends at the end of participation."""
    dm = refs.datasets["DM"]
    te = refs.spec.datasets["TE"].derivation.params["rows"]
    ta = refs.spec.datasets["TA"].derivation.params["rows"]
    element = {r["ETCD"]: r["ELEMENT"] for r in te}
    order = {r["ETCD"]: (float(r["TAETORD"]), r["EPOCH"]) for r in ta}
    notes: list = []

    def from_form(s: ElementStart) -> pd.Series:
        rf = refs.form(s.form)
        if rf is None or s.date not in rf.frame.columns:
            return pd.Series("", index=dm.index)
        f = rf.frame
        keep = norm_key(f[s.where_field]).isin(s.where_in) if s.where_field and s.where_field in f.columns else True
        iso, err = _dates.edc_date_to_iso(f[s.date])
        t = pd.DataFrame({"S": refs.usubjid_of(s.form), "d": iso})[keep & ~err & (iso.str.len() >= 10)]
        notes.append(Used(s.form, len(t), f"{refs.dataset.name}.SESTDTC"))
        return dm["USUBJID"].map(t.groupby("S")["d"].agg(s.agg)).fillna("")

    pend = dm[p.end].str.slice(0, 10)
    starts: dict[str, pd.Series] = {}
    for el in p.elements:
        s = el.start
        got = (dm[s.dm] if s.dm else from_form(s)).astype(str)
        if s.date_only:
            got = got.str.slice(0, 10)
        ok = pd.Series(True, index=dm.index)
        for r in el.requires:
            ok &= starts.get(r, pd.Series("", index=dm.index)) != ""
        if el.after:
            ok &= got > starts.get(el.after, pd.Series("", index=dm.index)).str.slice(0, 10)
        if el.before_end:
            ok &= got != pend
        if el.arms:
            ok &= dm["ACTARMCD"].isin(el.arms) if "ACTARMCD" in dm.columns else False
        starts[el.etcd] = got.where(ok, "")
    long = pd.DataFrame(starts, index=dm.index).assign(USUBJID=dm["USUBJID"]).melt(
        id_vars=["USUBJID"], var_name="ETCD", value_name="SESTDTC")
    long = long[long["SESTDTC"] != ""].copy()
    long["TAETORD"] = long["ETCD"].map(lambda e: order[e][0])
    long["EPOCH"] = long["ETCD"].map(lambda e: order[e][1])
    long["ELEMENT"] = long["ETCD"].map(element)
    long = long.sort_values(["USUBJID", "TAETORD"], kind="mergesort")
    nxt = long.groupby("USUBJID")["SESTDTC"].shift(-1)
    end = nxt.fillna(long["USUBJID"].map(dict(zip(dm["USUBJID"], pend))))
    long["SEENDTC"] = end.fillna("")
    long[SUBJECT_ID] = long["USUBJID"]
    long[FORM], long[FILE], long[LINE] = "", refs.spec_file, 0
    return long.reset_index(drop=True), notes
