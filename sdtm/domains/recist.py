"""RECIST 1.1 records for TU, TR and RS from the investigator forms and the independent-review transfer.

The CRF field names are spec parameters (`RecistLesionParams`, `RecistResponseParams`). Each builder returns working rows with
neutral column names (DATE, LNKID, LOC, METHOD, TESTCD, ORRES, EVAL, EVALID, NODAL, STAT, ACPTFL,
CAT ...) that the spec maps to SDTM variables (with CT mapping there); the visit is the raw identity's
(VISIT). Links: TULNKID = lesion id (T01, NT01, NEW01) per assessor; TR/RS rows carry it in LNKID.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from studyforge.findings import Severity

from .. import _dates
from .._fast import umap
from ..rules.base import BOOKKEEPING, FILE, FORM, LINE, SUBJECT, SUBJECT_ID, VISIT, Params, Refs, Used, dataset_rule
from ..rules.builders import Duplicates, dedupe_form, missing_form, tagged
from ..vocabulary import norm_key, spelled

INVESTIGATOR, BICR = "INVESTIGATOR", "INDEPENDENT ASSESSOR"


class LesionForm(Params):
    """A lesion form: one record per lesion per assessment."""

    form: str
    date: str = Field(description="assessment (scan) date field")
    lesion: str = Field(description="lesion identifier field")
    location: str | None = None
    method: str | None = None
    nodal: str | None = Field(default=None, description="Y when the lesion is a lymph node (short axis)")
    diameter: str | None = Field(default=None, description="diameter in mm (target lesions)")
    status: str | None = Field(default=None, description="lesion status field")
    kind: str | None = Field(default=None, description="field with TARGET / NON-TARGET / NEW (independent review)")
    reader: str | None = Field(default=None, description="reader field (independent review)")
    duplicates: Duplicates = "drop"


class ResponseForm(Params):
    """A response form: one record per assessment with the four RECIST 1.1 responses."""

    form: str
    date: str
    overall: str
    target: str
    nontarget: str
    new: str = Field(description="new lesions (progression) field")
    reader: str | None = None
    duplicates: Duplicates = "drop"


class AdjudicationForm(Params):
    form: str
    accepted_reader: str = Field(description="field naming the reader whose assessments are accepted")


class EcogForm(Params):
    form: str
    date: str
    result: str
    testcd: str = Field(description="RSTESTCD of the score, e.g. ECOG101")
    cat: str = Field(description="RSCAT, e.g. ECOG")


class InvestigatorLesions(Params):
    target: LesionForm | None = None
    nontarget: LesionForm | None = None
    new: LesionForm | None = None


class ReviewLesions(Params):
    lesions: LesionForm | None = None


class RecistLesionParams(Params):
    """TU and TR: the lesion forms of the investigator and of the independent review."""

    investigator: InvestigatorLesions = Field(default_factory=InvestigatorLesions)
    bicr: ReviewLesions = Field(default_factory=ReviewLesions)


class InvestigatorResponse(Params):
    response: ResponseForm | None = None


class ReviewResponse(Params):
    response: ResponseForm | None = None
    adjudication: AdjudicationForm | None = None


class RecistResponseParams(Params):
    """RS: the response forms, the adjudication and the performance status form."""

    investigator: InvestigatorResponse = Field(default_factory=InvestigatorResponse)
    bicr: ReviewResponse = Field(default_factory=ReviewResponse)
    ecog: EcogForm | None = None
    default_accepted_reader: str | None = Field(
        default=None, description="reader accepted for subjects without an adjudication record; none: RSACPTFL "
        "stays empty for them")


def _form(refs: Refs, form: str, keys: list[str], duplicates: Duplicates = "drop"):
    f = tagged(refs, form)
    if f is None:
        return None, [missing_form(refs, form)]
    return dedupe_form(refs, f, keys, form, duplicates)


def _col(f: pd.DataFrame, name: str | None) -> pd.Series:
    return f[name] if name and name in f.columns else pd.Series("", index=f.index, dtype=str)


def _frame(f: pd.DataFrame, **cols) -> pd.DataFrame:
    out = pd.DataFrame({k: (v if isinstance(v, pd.Series) else pd.Series(v, index=f.index)) for k, v in cols.items()},
                       index=f.index)
    for b in BOOKKEEPING:
        out[b] = f[b]
    return out


def _lesion_rows(f: pd.DataFrame, src: LesionForm, kind, evaluator: str, evalid) -> pd.DataFrame:
    return _frame(f, DATE=_col(f, src.date), LNKID=_col(f, src.lesion), LOC=_col(f, src.location),
                  METHOD=_col(f, src.method), KIND=kind, NODAL=_col(f, src.nodal), MEAS=_col(f, src.diameter),
                  STATUS=norm_key(_col(f, src.status)), EVAL=evaluator, EVALID=evalid)


def _lesions(refs: Refs, p: RecistLesionParams) -> tuple[pd.DataFrame, list]:
    parts, notes = [], []
    for kind, src in (("TARGET", p.investigator.target), ("NON-TARGET", p.investigator.nontarget),
                      ("NEW", p.investigator.new)):
        if src is None:
            continue
        f, got = _form(refs, src.form, [SUBJECT, VISIT, src.lesion], src.duplicates)
        notes += got
        if f is not None:
            parts.append(_lesion_rows(f, src, kind, INVESTIGATOR, ""))
    src = p.bicr.lesions
    if src is not None:
        f, got = _form(refs, src.form, [SUBJECT, src.reader or "", VISIT, src.lesion], src.duplicates)
        notes += got
        if f is not None:
            parts.append(_lesion_rows(f, src, norm_key(_col(f, src.kind)), BICR, norm_key(_col(f, src.reader))))
    if not parts:
        return pd.DataFrame(columns=["DATE", "LNKID", "EVAL", "EVALID", *BOOKKEEPING]), notes
    return pd.concat(parts, ignore_index=True).fillna(""), notes


def _iso(date: pd.Series) -> pd.Series:
    iso, _ = _dates.edc_date_to_iso(date)
    return iso


@dataset_rule("recist_tu", RecistLesionParams, method="One TU record per lesion per assessor at its first assessment")
def build_tu(p: RecistLesionParams, refs: Refs):
    """One TU record per lesion per assessor: the first time it was recorded (identification)."""
    les, notes = _lesions(refs, p)
    if les.empty:
        return les, notes
    les["__iso"] = _iso(les["DATE"])
    les = les.sort_values([SUBJECT, "EVAL", "EVALID", "LNKID", "__iso", LINE], kind="mergesort")
    first = ~les.duplicated([SUBJECT, "EVAL", "EVALID", "LNKID"], keep="first")
    tu = les[first].copy()
    tu["ORRES"] = tu["KIND"]
    tu["TESTCD"] = "TUMIDENT"
    return tu.reset_index(drop=True), notes


@dataset_rule("recist_tr", RecistLesionParams,
              method="LDIAM per target lesion, TUMSTATE per non-target and new lesion, SUMDIAM per assessor and "
                     "visit when every target of the visit has a diameter")
def build_tr(p: RecistLesionParams, refs: Refs):
    """TR: LDIAM per target (short axis for nodes: MEASAXIS in SUPPTR), TUMSTATE per non-target and
    new lesion, and SUMDIAM per assessor and visit when every target of that visit has a diameter."""
    les, notes = _lesions(refs, p)
    if les.empty:
        return les, notes
    tgt = les["KIND"] == "TARGET"
    les["TESTCD"] = np.where(tgt, "LDIAM", "TUMSTATE")
    meas = pd.to_numeric(les["MEAS"], errors="coerce")
    status = les["STATUS"]
    not_eval = status.isin(["NOT EVALUABLE"])
    # targets: the diameter (5 mm recorded when too small to measure, per RECIST 1.1); NE -> not done
    les["ORRES"] = np.where(tgt, les["MEAS"], status.where(~not_eval, ""))
    les["ORRESU"] = np.where(tgt & (les["MEAS"] != ""), "mm", "")
    les["STAT"] = np.where(not_eval | (tgt & (les["MEAS"] == "")), "NOT DONE", "")
    les["REASND"] = np.where(les["STAT"] == "NOT DONE", np.where(not_eval, "NOT EVALUABLE", "NOT MEASURED"), "")
    les["AXIS"] = np.where(tgt & (norm_key(les["NODAL"]) == "Y"), "SHORT AXIS", "")
    les["TMTSTAT"] = np.where(tgt & status.isin(["TOO SMALL TO MEASURE"]), "TOO SMALL TO MEASURE", "")
    bad = tgt & (les["MEAS"] != "") & meas.isna()
    fields = "/".join(dict.fromkeys(s.diameter for s in (p.investigator.target, p.bicr.lesions) if s and s.diameter))
    for file, line, v in zip(les.loc[bad, FILE], les.loc[bad, LINE], les.loc[bad, "MEAS"]):
        notes.append(refs.finding(Severity.ERROR, "SD1101", "target lesion measurement is not a number", file=file,
                                  line=int(line), field=fields, value=v, variable="TRORRES"))
    # SUMDIAM: sum of the visit's target diameters per assessor (derived, only when all are measured)
    t = les[tgt].copy()
    t["__m"] = meas[tgt]
    t["__miss"] = t["__m"].isna().astype(int)
    g = t.groupby([SUBJECT, VISIT, "EVAL", "EVALID"], sort=True)
    firsts = {c: (c, "first") for c in BOOKKEEPING if c not in (SUBJECT, VISIT, LINE)}
    sums = g.agg(__sum=("__m", "sum"), __n=("__m", "size"), __nmiss=("__miss", "sum"),
                 DATE=("DATE", "first"), METHOD=("METHOD", "first"), **firsts, **{LINE: (LINE, "min")}).reset_index()
    sums = sums[sums["__nmiss"] == 0]
    sums["TESTCD"] = "SUMDIAM"
    sums["ORRES"] = umap(sums["__sum"], lambda u: u.map(lambda v: f"{v:.0f}" if float(v).is_integer() else f"{v:g}"))
    sums["ORRESU"] = "mm"
    sums["LNKID"] = ""
    for c in ("STAT", "REASND", "AXIS", "TMTSTAT", "LOC", "KIND"):
        sums[c] = ""
    out = pd.concat([les, sums.drop(columns=["__sum", "__n", "__nmiss"])], ignore_index=True).fillna("")
    out["__iso"] = _iso(out["DATE"])
    return out.reset_index(drop=True), notes


def _accepted_reader(refs: Refs, p: RecistResponseParams) -> tuple[dict[str, str], list]:
    adj = p.bicr.adjudication
    if adj is None:
        return {}, []
    f, notes = _form(refs, adj.form, [SUBJECT])
    if f is None:
        return {}, notes
    notes.append(Used(adj.form, len(f), f"{refs.dataset.name}.RSACPTFL"))
    return dict(zip(_col(f, SUBJECT_ID), norm_key(_col(f, adj.accepted_reader)))), notes


_TESTS = ("OVRLRESP", "overall"), ("TRGRESP", "target"), ("NTRGRESP", "nontarget"), ("NEWLIND", "new")


@dataset_rule("recist_rs", RecistResponseParams,
              method="OVRLRESP, TRGRESP, NTRGRESP, NEWLIND per assessor and visit (RECIST 1.1); RSACPTFL Y on "
                     "the accepted independent reader's records (adjudication, else {default_accepted_reader}), N on "
                     "the other readers'; "
                     "and the performance status score")
def build_rs(p: RecistResponseParams, refs: Refs):
    """RS: OVRLRESP, TRGRESP, NTRGRESP, NEWLIND per assessor and visit (RSCAT RECIST 1.1);
    RSACPTFL Y on the accepted BICR reader's records (adjudication, else the default reader), N on
    the other reader's; and ECOG (its RSCAT)."""
    parts, notes = [], []
    inv = p.investigator.response
    if inv is not None:
        f, got = _form(refs, inv.form, [SUBJECT, VISIT], inv.duplicates)
        notes += got
        if f is not None:
            for testcd, role in _TESTS:
                fld = getattr(inv, role)
                parts.append(_frame(f, DATE=_col(f, inv.date), TESTCD=testcd, ORRES=_col(f, fld), EVAL=INVESTIGATOR,
                                    EVALID="", ACPTFL="", CAT="RECIST 1.1", __src=fld))
    rev = p.bicr.response
    if rev is not None:
        f, got = _form(refs, rev.form, [SUBJECT, rev.reader or "", VISIT], rev.duplicates)
        notes += got
        if f is not None:
            acc, got = _accepted_reader(refs, p)
            notes += got
            reader = norm_key(_col(f, rev.reader))
            chosen = _col(f, SUBJECT_ID).map(acc).astype(object)
            if p.default_accepted_reader:
                chosen = chosen.fillna(spelled(p.default_accepted_reader))
            flag = pd.Series(np.where(chosen.isna(), "", np.where(reader == chosen, "Y", "N")), index=f.index)
            for testcd, role in _TESTS:
                fld = getattr(rev, role)
                parts.append(_frame(f, DATE=_col(f, rev.date), TESTCD=testcd, ORRES=_col(f, fld), EVAL=BICR,
                                    EVALID=reader, ACPTFL=flag, CAT="RECIST 1.1", __src=fld))
    ecog = p.ecog
    if ecog is not None:
        f, got = _form(refs, ecog.form, [SUBJECT, VISIT])
        notes += got
        if f is not None:
            parts.append(_frame(f, DATE=_col(f, ecog.date), TESTCD=ecog.testcd, ORRES=_col(f, ecog.result),
                                EVAL=INVESTIGATOR, EVALID="", ACPTFL="", CAT=ecog.cat, __src=ecog.result))
    if not parts:
        return pd.DataFrame(columns=["DATE", "TESTCD", "ORRES", *BOOKKEEPING]), notes
    out = pd.concat(parts, ignore_index=True).fillna("")
    # a response left blank on the form (e.g. no non-target lesions) gives no RS record for that test;
    # the raw record itself still reaches RS through its other tests (else the reconciliation lists it)
    return out[out["ORRES"] != ""].reset_index(drop=True), notes


__all__ = ["RecistLesionParams", "RecistResponseParams", "build_rs", "build_tr", "build_tu", "FORM"]
