"""The define intermediate representation: spec + what was written -> one model, rendered twice (XML, HTML).

Conservative readings (Define-XML 2.1 specification), written here so reviewers can see them:
- Datasets and variable order follow the written data (the XPT is what the reviewer opens); metadata
  (labels, origins, codelists, methods) follows the spec. A written variable the spec does not describe
  is an ERROR; a spec variable that was not written is a WARNING and is left out.
- Text lengths are the written (maximum actual) lengths (FDA TCG 4.1.5.2: no padding); numeric
  Length is the spec's or 8. Length is omitted for date/time DataTypes (ISO 8601 text), as 2.1 requires.
- SAS numeric dates (Num with a date DataType, e.g. ADaM *DT) are DataType="integer" + def:DisplayFormat.
- float variables carry SignificantDigits: the spec's, or the most decimals found in the data.
- Mandatory="Yes" only for core Req. A written variable with no value at all gets def:HasNoData="Yes"
  (an ERROR if it is Req).
- Origin Source defaults: Collected -> Investigator; Derived/Assigned/Protocol -> Sponsor.
- Sponsor codelists get def:IsNonStandard="Yes"; CDISC codelists def:StandardOID of the CT package that
  contains their C-code; missing term C-codes are looked up in that package; a term absent from an
  extensible CDISC codelist is def:ExtendedValue="Yes"; absent from a non-extensible one is an ERROR.
- ADaM: a dataset with `parameters:` gets AVAL value-level metadata per PARAMCD (label PARAM, the
  parameter's method/comment) unless the spec gives it, and a PARAMCD codelist (decode PARAM) when the
  PARAMCD variable names none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from studyforge.define.ct import CTPackage, ct_package
from studyforge.define.info import DatasetInfo
from studyforge.findings import Finding, Severity
from studyforge.spec.models import Codelist, Dataset, Origin, Spec, ValueLevel, Variable, WhereCondition

DEFINE_VERSION = "2.1.0"
CLASS_RANK = {"TRIAL DESIGN": 0, "SPECIAL PURPOSE": 1, "INTERVENTIONS": 2, "EVENTS": 3, "FINDINGS": 4,
              "FINDINGS ABOUT": 5, "RELATIONSHIP": 6, "STUDY REFERENCE": 7,
              "SUBJECT LEVEL ANALYSIS DATASET": 0}
DATE_TYPES = {"date", "datetime", "time", "partialDate", "partialTime", "partialDatetime",
              "incompleteDatetime", "durationDatetime", "intervalDatetime"}
PURPOSE_CT = {"Tabulation": ("SDTM", "DEFINE-XML"), "Analysis": ("ADaM", "SDTM", "DEFINE-XML")}


class DefineError(ValueError):
    """The spec and the written data cannot be described by a valid define.xml; carries the findings."""

    def __init__(self, findings: list[Finding]):
        self.findings = findings
        super().__init__("define.xml not built:\n" + "\n".join(str(f) for f in findings[:20]))


@dataclass
class StandardDef:
    oid: str
    name: str
    type: str
    version: str
    status: str
    publishing_set: str | None = None


@dataclass
class LeafDef:
    id: str
    href: str
    title: str


@dataclass
class DocRef:
    leaf_id: str
    href: str
    pages: str = ""          # PageRefs, space separated (PhysicalRef)


@dataclass
class OriginDef:
    type: str
    source: str | None
    description: str | None
    doc_refs: list[DocRef] = field(default_factory=list)


@dataclass
class ItemRefDef:
    item_oid: str
    order: int
    mandatory: bool
    key_sequence: int | None = None
    method_oid: str | None = None
    role: str | None = None
    where_oids: list[str] = field(default_factory=list)
    has_no_data: bool = False


@dataclass
class ItemDefIR:
    oid: str
    name: str
    data_type: str
    length: int | None
    significant_digits: int | None
    display_format: str | None
    label: str
    origin: OriginDef | None
    codelist_oid: str | None = None
    value_list_oid: str | None = None
    comment_oid: str | None = None
    method_oid: str | None = None     # for the HTML view (the XML puts it on the ItemRef)
    where_text: str = ""              # for the HTML view of value-level items


@dataclass
class ItemGroupIR:
    oid: str
    name: str
    domain: str | None
    label: str
    repeating: bool
    reference_data: bool
    purpose: str
    standard_oid: str | None
    structure: str
    class_name: str
    subclass: str | None
    leaf: LeafDef
    comment_oid: str | None
    keys: list[str]
    records: int
    item_refs: list[ItemRefDef] = field(default_factory=list)


@dataclass
class RangeCheckIR:
    comparator: str
    item_oid: str
    item_name: str
    values: list[str]


@dataclass
class WhereClauseIR:
    oid: str
    checks: list[RangeCheckIR]

    def text(self) -> str:
        return " and ".join(f"{c.item_name} {c.comparator} {', '.join(c.values)}" for c in self.checks)


@dataclass
class ValueListIR:
    oid: str
    dataset: str
    variable: str
    item_refs: list[ItemRefDef] = field(default_factory=list)


@dataclass
class CodeListItemIR:
    value: str
    order: int
    decode: str | None
    nci: str | None
    extended: bool = False


@dataclass
class CodeListIR:
    oid: str
    name: str
    data_type: str
    standard_oid: str | None
    nonstandard: bool
    nci: str | None
    enumerated: bool
    extensible: bool
    comment_oid: str | None
    items: list[CodeListItemIR] = field(default_factory=list)


@dataclass
class MethodIR:
    oid: str
    name: str
    type: str
    description: str
    doc_refs: list[DocRef] = field(default_factory=list)


@dataclass
class CommentIR:
    oid: str
    text: str


@dataclass
class DefineModel:
    purpose: str
    file_oid: str
    created: str
    study_oid: str
    study_name: str
    study_description: str
    protocol_name: str
    mdv_oid: str
    mdv_name: str
    mdv_description: str
    standards: list[StandardDef]
    acrf: LeafDef | None
    supplemental: list[LeafDef]
    value_lists: list[ValueListIR]
    where_clauses: list[WhereClauseIR]
    item_groups: list[ItemGroupIR]
    item_defs: list[ItemDefIR]
    codelists: list[CodeListIR]
    methods: list[MethodIR]
    comments: list[CommentIR]
    leaves: list[LeafDef]
    findings: list[Finding] = field(default_factory=list)

    def item(self, oid: str) -> ItemDefIR:
        return self._items()[oid]

    def _items(self) -> dict[str, ItemDefIR]:
        return {i.oid: i for i in self.item_defs}


# --- OIDs (shared with Dataset-JSON: studyOID, metaDataVersionOID, itemGroupOID, itemOID) -------------

_OID_BAD = re.compile(r"[^A-Za-z0-9._-]+")


def oid_part(text: str) -> str:
    """A fragment safe in an OID and an HTML id (letters, digits, . _ -)."""
    return _OID_BAD.sub("_", text.strip()) or "_"


def study_oid(spec: Spec) -> str:
    return f"STDY.{oid_part(spec.study.id)}"


def ig_standard(spec: Spec, purpose: str):
    """The implementation guide of a purpose (SDTMIG for Tabulation, ADaMIG for Analysis)."""
    prefix = "SDTMIG" if purpose == "Tabulation" else "ADaMIG"
    return next((s for s in spec.study.standards if s.type == "IG" and s.name.startswith(prefix)), None)


def metadata_version_oid(spec: Spec, purpose: str) -> str:
    ig = ig_standard(spec, purpose)
    tail = f"{ig.name}.{ig.version}" if ig else purpose
    return f"MDV.{oid_part(spec.study.id)}.{oid_part(tail)}"


def standard_oid(name: str, version: str, publishing_set: str | None = None) -> str:
    if publishing_set:
        return f"STD.CT.{oid_part(publishing_set)}.{oid_part(version)}"
    return f"STD.{oid_part(name)}.{oid_part(version)}"


def prefixed(prefix: str, spec_id: str) -> str:
    """OID for a spec id: ids may already carry the prefix (the team writes 'CL.SEX', 'MT.AGE', 'COM.DM')."""
    part = oid_part(spec_id)
    return part if part.startswith(prefix + ".") else f"{prefix}.{part}"


def item_oid(dataset: str, variable: str) -> str:
    return f"IT.{dataset}.{variable}"


def where_suffix(where: list[WhereCondition]) -> str:
    return ".".join(f"{c.variable}.{c.comparator}.{'_'.join(oid_part(v) for v in c.values)}" for c in where)


# --- building ------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, spec: Spec, purpose: str, datasets: Mapping[str, DatasetInfo],
                 acrf: str | None, reviewers_guide: str | None, documents: Mapping[str, str] | None):
        self.spec, self.purpose, self.datasets = spec, purpose, {k.upper(): v for k, v in datasets.items()}
        self.findings: list[Finding] = []
        self.codelist_ids: dict[str, str] = {}      # spec codelist id -> OID, in order of first use
        self.generated_codelists: list[CodeListIR] = []
        self.method_ids: set[str] = set()
        self.comment_ids: set[str] = set()
        self.leaves: dict[str, LeafDef] = {}
        self.acrf = LeafDef("LF.acrf", acrf, "Annotated CRF") if acrf else None
        self.acrf_pages: Mapping[str, list[int]] | None = None
        self.guide = LeafDef("LF.RG", reviewers_guide,
                             "Clinical Study Data Reviewer's Guide" if purpose == "Tabulation"
                             else "Analysis Data Reviewer's Guide") if reviewers_guide else None
        self.extra_docs = [LeafDef(f"LF.{oid_part(k)}", href, k) for k, href in sorted((documents or {}).items())]
        self.item_defs: list[ItemDefIR] = []
        self.value_lists: list[ValueListIR] = []
        self.where: dict[str, WhereClauseIR] = {}
        self.ct = self._ct_packages()

    # findings
    def add(self, sev: Severity, rule: str, msg: str, dataset: str = "", variable: str = "", value: str = "") -> None:
        self.findings.append(Finding(sev, rule, msg, dataset=dataset, variable=variable, value=value))

    def _ct_packages(self) -> list[tuple[str, CTPackage | None]]:
        out = []
        for s in self.spec.study.standards:
            if s.type == "CT" and s.publishing_set in PURPOSE_CT[self.purpose]:
                out.append((standard_oid(s.name, s.version, s.publishing_set),
                            ct_package(s.publishing_set, s.version)))
        return out

    def standards(self) -> list[StandardDef]:
        out = []
        for s in self.spec.study.standards:
            keep = (s.type == "IG" and ig_standard(self.spec, self.purpose) is not None
                    and s.name.startswith("SDTMIG" if self.purpose == "Tabulation" else "ADaMIG")) \
                or (s.type == "CT" and s.publishing_set in PURPOSE_CT[self.purpose])
            if keep:
                out.append(StandardDef(standard_oid(s.name, s.version, s.publishing_set if s.type == "CT" else None),
                                       s.name, s.type, s.version, s.status, s.publishing_set if s.type == "CT" else None))
        return out

    def dataset_standard_oid(self, ds: Dataset) -> str | None:
        name, _, version = ds.standard.rpartition(" ")
        std = next((s for s in self.spec.study.standards if s.type == "IG" and s.name == name and s.version == version), None)
        if std is None:
            self.add(Severity.ERROR, "DEFINE-STANDARD", f"dataset standard {ds.standard!r} is not in study.standards",
                     ds.name, value=ds.standard)
            return None
        return standard_oid(std.name, std.version)

    # references
    def codelist_ref(self, cid: str | None, ds: str, var: str) -> str | None:
        if not cid:
            return None
        if cid not in self.spec.codelists:
            self.add(Severity.ERROR, "DEFINE-REF", f"codelist {cid!r} is not in codelists.yaml", ds, var, cid)
            return None
        return self.codelist_ids.setdefault(cid, prefixed("CL", cid))

    def method_ref(self, mid: str | None, ds: str, var: str) -> str | None:
        if not mid:
            return None
        if mid not in self.spec.methods:
            self.add(Severity.ERROR, "DEFINE-REF", f"method {mid!r} is not in methods.yaml", ds, var, mid)
            return None
        self.method_ids.add(mid)
        return prefixed("MT", mid)

    def comment_ref(self, cid: str | None, ds: str, var: str = "") -> str | None:
        if not cid:
            return None
        if cid not in self.spec.comments:
            self.add(Severity.ERROR, "DEFINE-REF", f"comment {cid!r} is not in comments.yaml", ds, var, cid)
            return None
        self.comment_ids.add(cid)
        return prefixed("COM", cid)

    def origin(self, o: Origin, ds: str, var: str) -> OriginDef:
        source = o.source
        if source is None and o.type == "Collected":
            source = "Investigator"
        elif source is None and o.type in ("Derived", "Assigned", "Protocol"):
            source = "Sponsor"
        if o.type in ("Predecessor", "Not Available"):
            source = o.source
        desc = o.description
        if o.type == "Predecessor":
            desc = o.predecessor or o.description
            if not desc:
                self.add(Severity.ERROR, "DEFINE-ORIGIN", "Predecessor origin without predecessor", ds, var)
        refs = []
        if o.type == "Collected" and self.acrf_pages is not None and self.purpose == "Tabulation":
            drawn = [str(n) for n in self.acrf_pages.get(f"{ds}.{var}") or self.acrf_pages.get(ds, [])]
            if o.pages and drawn and o.pages != drawn:
                self.add(Severity.WARNING, "DEFINE-ACRF", f"spec gives CRF page(s) {' '.join(o.pages)}; the annotated "
                         f"CRF annotates {ds}.{var} on page(s) {' '.join(drawn)}, which define.xml uses", ds, var)
            o = o.model_copy(update={"pages": drawn or list(o.pages)})
        if o.pages:
            if self.acrf is None:
                self.add(Severity.WARNING, "DEFINE-ACRF", "CRF pages given but no acrf.pdf in the package; "
                         "page references left out", ds, var, " ".join(o.pages))
            else:
                refs.append(DocRef(self.acrf.id, self.acrf.href, " ".join(o.pages)))
        elif o.type == "Collected" and source != "Vendor" and self.acrf is not None and self.purpose == "Tabulation":
            # (a vendor transfer, e.g. central lab data, has no CRF page: Define-XML 2.1 Origin Source Vendor)
            self.add(Severity.WARNING, "DEFINE-ACRF", "Collected variable without CRF page", ds, var)
        return OriginDef(o.type, source, desc, refs)

    # data facts
    def sig_digits(self, info: DatasetInfo, var: str, mask: np.ndarray | None = None) -> int:
        if info.frame is None or var not in info.frame.columns:
            return 0
        s = pd.to_numeric(info.frame[var], errors="coerce")
        v = s.to_numpy(dtype="float64")
        if mask is not None:
            v = v[mask]
        v = v[np.isfinite(v)]
        for d in range(0, 11):
            if np.all(np.abs(v * 10.0**d - np.round(v * 10.0**d)) < 1e-6):
                return d
        return 10

    def text_length(self, info: DatasetInfo, var: str, mask: np.ndarray | None) -> int | None:
        if info.frame is None or var not in info.frame.columns:
            return None
        s = info.frame[var]
        if mask is not None:
            s = s[mask]
        s = s.dropna().astype(str)
        return max(1, int(s.str.encode("utf-8").str.len().max())) if len(s) else 1

    def where_mask(self, info: DatasetInfo, where: list[WhereCondition]) -> np.ndarray | None:
        if info.frame is None:
            return None
        return where_mask(info.frame, [(c.variable, c.comparator, c.values) for c in where])

    # items
    def item_def(self, ds: Dataset, info: DatasetInfo, v: Variable | ValueLevel, oid: str, name: str,
                 label: str, mask: np.ndarray | None, parent_len: int | None) -> ItemDefIR:
        ddt = v.data_type or ("text" if v.type == "Char" else "float")
        fmt = v.format
        if v.type == "Num" and ddt in DATE_TYPES:
            ddt = "integer"       # SAS date/time number shown through its display format
            if not fmt:
                self.add(Severity.WARNING, "DEFINE-FORMAT", "numeric date/time variable without display format",
                         ds.name, name)
        if v.type == "Char" and ddt in ("integer", "float"):
            self.add(Severity.ERROR, "DEFINE-TYPE", f"Char variable with numeric DataType {ddt}", ds.name, name, ddt)
        if v.type == "Num" and ddt == "text":
            self.add(Severity.ERROR, "DEFINE-TYPE", "Num variable with DataType text", ds.name, name, ddt)
        length: int | None
        if ddt in DATE_TYPES:
            length = None
        elif ddt == "text" and isinstance(v, Variable) and info.variable(name) is not None:
            length = info.variable(name).length      # what the XPT holds
        elif ddt == "text":
            length = self.text_length(info, name if isinstance(v, Variable) else v.variable, mask)
            if length is None:
                length = v.length or parent_len
        else:
            length = v.length or 8
        sig = None
        if ddt == "float":
            sig = v.significant_digits if v.significant_digits is not None else \
                self.sig_digits(info, name if isinstance(v, Variable) else v.variable, mask)
        vname = name if isinstance(v, Variable) else v.variable
        return ItemDefIR(oid, vname, ddt, length, sig, fmt, label, self.origin(v.origin, ds.name, vname),
                         self.codelist_ref(v.codelist, ds.name, vname), None,
                         self.comment_ref(v.comment, ds.name, vname), self.method_ref(v.method, ds.name, vname))

    def dataset(self, ds: Dataset, info: DatasetInfo) -> ItemGroupIR:
        spec_vars = {v.name: v for v in ds.variables}
        written = info.names()
        for n in written:
            if n not in spec_vars:
                self.add(Severity.ERROR, "DEFINE-VAR", "written variable not in the spec", ds.name, n)
        for v in ds.variables:
            if v.name not in written:
                self.add(Severity.WARNING, "DEFINE-VAR", "spec variable not in the written dataset; left out of define.xml",
                         ds.name, v.name)
        leaf = LeafDef(f"LF.{ds.name}", info.file_name, info.file_name)
        ig = ItemGroupIR(
            oid=f"IG.{ds.name}", name=ds.name,
            domain=(ds.name if ds.name.startswith(("SUPP", "RELREC")) else (ds.domain or ds.name))
            if self.purpose == "Tabulation" else None,
            label=ds.label, repeating=ds.repeating, reference_data=ds.reference_data, purpose=self.purpose,
            standard_oid=self.dataset_standard_oid(ds), structure=ds.structure, class_name=ds.class_.upper(),
            subclass=ds.subclass.upper() if ds.subclass else None, leaf=leaf,
            comment_oid=self.comment_ref(ds.comment, ds.name), keys=list(ds.keys), records=info.records)
        keyseq = {k: i + 1 for i, k in enumerate(ds.keys)}
        vlm = self.value_level(ds, info)
        order = 0
        for n in written:
            v = spec_vars.get(n)
            if v is None:
                continue
            order += 1
            it = self.item_def(ds, info, v, item_oid(ds.name, n), n, v.label, None, v.length)
            if v.origin.type == "Derived" and not v.method:
                self.add(Severity.WARNING, "DEFINE-METHOD", "Derived variable without a method", ds.name, n)
            if n in vlm:
                it.value_list_oid = vlm[n].oid
            if n == "PARAMCD" and not it.codelist_oid and ds.parameters:
                it.codelist_oid = self.paramcd_codelist(ds)
            self.item_defs.append(it)
            ig.item_refs.append(ItemRefDef(it.oid, order, v.core == "Req", keyseq.get(n), it.method_oid,
                                           v.role if self.purpose == "Tabulation" else None,
                                           has_no_data=_has_no_data(info, n)))
            if ig.item_refs[-1].has_no_data and v.core == "Req":
                self.add(Severity.ERROR, "DEFINE-NODATA", "Required variable has no data", ds.name, n)
        return ig

    def value_level(self, ds: Dataset, info: DatasetInfo) -> dict[str, ValueListIR]:
        entries: list[tuple[str, list[WhereCondition], ValueLevel, str]] = []
        labels = {v.name: v.label for v in ds.variables}
        for vl in ds.values:
            entries.append((vl.variable, vl.where, vl, vl.label or labels.get(vl.variable, vl.variable)))
        if ds.parameters and "AVAL" in {v.name for v in ds.variables} and "PARAMCD" in info.names():
            covered = {v for vl in ds.values if vl.variable == "AVAL" for c in vl.where
                       if c.variable == "PARAMCD" and c.comparator in ("EQ", "IN") for v in c.values}
            aval = ds.variable("AVAL")
            for p in ds.parameters:
                if p.paramcd in covered:
                    continue
                origin = Origin(type="Derived", source="Sponsor") if p.method else aval.origin
                vl = ValueLevel(variable="AVAL", where=[WhereCondition(variable="PARAMCD", values=[p.paramcd])],
                                label=p.param, type=aval.type, data_type=aval.data_type, length=aval.length,
                                significant_digits=aval.significant_digits, format=aval.format,
                                codelist=None, origin=origin, method=p.method or aval.method, comment=p.comment)
                entries.append(("AVAL", vl.where, vl, p.param))
        out: dict[str, ValueListIR] = {}
        names = {v.name for v in ds.variables}
        for var, where, vl, label in entries:
            if var not in names:
                self.add(Severity.ERROR, "DEFINE-VLM", "value-level metadata for a variable not in the dataset", ds.name, var)
                continue
            for c in where:
                if c.variable not in names:
                    self.add(Severity.ERROR, "DEFINE-VLM", f"where-clause variable {c.variable} not in the dataset",
                             ds.name, var, c.variable)
            vlist = out.setdefault(var, ValueListIR(f"VL.{ds.name}.{var}", ds.name, var))
            suffix = where_suffix(where)
            wc_oid = f"WC.{ds.name}.{suffix}"
            if wc_oid not in self.where:
                self.where[wc_oid] = WhereClauseIR(wc_oid, [RangeCheckIR(c.comparator, item_oid(ds.name, c.variable),
                                                                         c.variable, list(c.values)) for c in where])
            mask = self.where_mask(info, where)
            if mask is not None and not mask.any():
                self.add(Severity.NOTICE, "DEFINE-VLM", f"no records where {self.where[wc_oid].text()}", ds.name, var)
            oid = f"{item_oid(ds.name, var)}.{suffix}"
            if any(i.oid == oid for i in self.item_defs):
                self.add(Severity.ERROR, "DEFINE-VLM", f"duplicate value-level entry where {self.where[wc_oid].text()}",
                         ds.name, var)
                continue
            parent = ds.variable(var)
            it = self.item_def(ds, info, vl, oid, var, label, mask, parent.length)
            it.where_text = self.where[wc_oid].text()
            self.item_defs.append(it)
            vlist.item_refs.append(ItemRefDef(oid, len(vlist.item_refs) + 1, vl.mandatory, None, it.method_oid,
                                              None, [wc_oid]))
        self._check_overlap(ds, info, entries)
        self.value_lists.extend(out.values())
        return out

    def _check_overlap(self, ds: Dataset, info: DatasetInfo, entries: list) -> None:
        """Where clauses of one variable's value list must never select the same record (Define-XML 2.1
        section 5.3.6): checked on the written data, and on the listed values of single EQ/IN clauses."""
        by_var: dict[str, list] = {}
        for var, where, _, _ in entries:
            by_var.setdefault(var, []).append(where)
        for var, wheres in by_var.items():
            seen: dict[tuple[str, str], str] = {}
            for where in wheres:
                text = " and ".join(f"{c.variable} {c.comparator} {list(c.values)}" for c in where)
                if len(where) == 1 and where[0].comparator in ("EQ", "IN"):
                    for v in where[0].values:
                        other = seen.setdefault((where[0].variable, v), text)
                        if other != text:
                            self.add(Severity.ERROR, "DEFINE-VLM-OVERLAP", f"value-level where clauses overlap on "
                                     f"{where[0].variable} = {v!r}: [{other}] and [{text}]", ds.name, var, v)
            masks = [m for m in (self.where_mask(info, w) for w in wheres) if m is not None]
            if len(masks) > 1:
                hits = np.sum(masks, axis=0)
                if (hits > 1).any():
                    self.add(Severity.ERROR, "DEFINE-VLM-OVERLAP", f"{int((hits > 1).sum())} record(s) match more "
                             "than one value-level where clause", ds.name, var)

    def paramcd_codelist(self, ds: Dataset) -> str:
        oid = f"CL.{ds.name}.PARAMCD"
        items = [CodeListItemIR(p.paramcd, i + 1, p.param, None) for i, p in enumerate(ds.parameters)]
        self.generated_codelists.append(CodeListIR(oid, f"{ds.name} Parameter Code", "text", None, True, None,
                                                   False, False, None, items))
        return oid

    # codelists
    def codelist(self, cl: Codelist, oid: str) -> CodeListIR:
        std_oid, pkg = None, None
        if cl.nci:
            for s_oid, p in self.ct:
                if p is not None and p.has_codelist(cl.nci):
                    std_oid, pkg = s_oid, p
                    break
            if std_oid is None:
                self.add(Severity.WARNING, "DEFINE-CT", f"codelist {cl.nci} not found in the study's CT packages",
                         value=cl.id)
                std_oid = next((s for s, _ in self.ct), None)
        extensible = pkg.extensible[cl.nci] if pkg is not None else cl.extensible
        if pkg is not None and extensible != cl.extensible:
            self.add(Severity.WARNING, "DEFINE-CT", f"codelist {cl.id}: spec says extensible={cl.extensible}, "
                     f"CT {pkg.version} says {extensible}; CT used", value=cl.nci or "")
        items = []
        use_decode = any(t.decode for t in cl.terms)
        for i, t in enumerate(sorted(cl.terms, key=lambda t: (t.order is None, t.order or 0)), start=1):
            nci = t.nci
            extended = False
            if cl.nci:
                ct_code = pkg.terms.get((cl.nci, t.value)) if pkg is not None else None
                if nci is None:
                    nci = ct_code
                if ct_code is None and pkg is not None and t.nci is None:
                    if extensible:
                        extended = True
                    else:
                        self.add(Severity.ERROR, "DEFINE-CT", f"term not in non-extensible CDISC codelist {cl.nci}",
                                 value=t.value, variable=cl.id)
            if use_decode and not t.decode:
                self.add(Severity.WARNING, "DEFINE-CT", "term without decode in a decoded codelist; value used",
                         variable=cl.id, value=t.value)
            items.append(CodeListItemIR(t.value, i, (t.decode or t.value) if use_decode else None, nci, extended))
        return CodeListIR(oid, cl.name, cl.data_type, std_oid if cl.nci else None, not cl.nci, cl.nci,
                          not use_decode, extensible, self.comment_ref(cl.comment, "", cl.id), items)

    def method_leaf(self, document: str) -> DocRef:
        lid = f"LF.{oid_part(document)}"
        self.leaves.setdefault(lid, LeafDef(lid, document, document))
        return DocRef(lid, document)


def _has_no_data(info: DatasetInfo, var: str) -> bool:
    """True when a written variable is entirely missing or blank (Define-XML 2.1 ItemRef def:HasNoData)."""
    if info.frame is None or var not in info.frame.columns or len(info.frame) == 0:
        return False
    s = info.frame[var]
    if s.dtype.kind in "fiub":
        return bool(s.isna().all())
    return bool((s.isna() | s.astype(str).str.strip().eq("")).all())


def where_mask(frame: pd.DataFrame, conditions: list[tuple[str, str, list[str]]]) -> np.ndarray:
    """Rows meeting all where conditions (values compared as text; LT..GE numerically)."""
    mask = np.ones(len(frame), dtype=bool)
    for var, comp, values in conditions:
        if var not in frame.columns:
            return np.zeros(len(frame), dtype=bool)
        s = frame[var]
        if comp in ("EQ", "IN", "NE", "NOTIN"):
            if s.dtype.kind == "f":
                txt = pd.Series(np.where(s.to_numpy() == np.round(s.to_numpy()),
                                         np.nan_to_num(s.to_numpy()).astype("int64").astype(str),
                                         s.to_numpy().astype(str)))
            else:
                txt = s.astype(str)
            hit = txt.isin(values).to_numpy() & s.notna().to_numpy()
            mask &= hit if comp in ("EQ", "IN") else ~hit
        else:
            num = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64")
            ref = float(values[0])
            op = {"LT": np.less, "LE": np.less_equal, "GT": np.greater, "GE": np.greater_equal}[comp]
            mask &= op(num, ref)
    return mask


def shared_methods(spec: Spec, method_ids: list[str], b: "_Builder", groups: list[ItemGroupIR]) -> list[MethodIR]:
    """One MethodDef per distinct algorithm: spec methods with the same type, text and document are merged
    into the first (by id), and every ItemRef is pointed at it, so a reviewer reads each algorithm once.
    A merged method is named for the variables it serves."""
    canon: dict[tuple, str] = {}
    alias: dict[str, str] = {}
    for mid in method_ids:
        m = spec.methods[mid]
        key = (m.type, " ".join(m.description.split()), m.document or "")
        alias[prefixed("MT", mid)] = canon.setdefault(key, prefixed("MT", mid))
    refs = [r for g in groups for r in g.item_refs] + [r for vl in b.value_lists for r in vl.item_refs]
    served: dict[str, set[str]] = {}
    names = {it.oid: it.name for it in b.item_defs}
    for r in refs:
        if r.method_oid:
            r.method_oid = alias.get(r.method_oid, r.method_oid)
            served.setdefault(r.method_oid, set()).add(names.get(r.item_oid, r.item_oid))
    for it in b.item_defs:
        if it.method_oid:
            it.method_oid = alias.get(it.method_oid, it.method_oid)
    out = []
    for mid in method_ids:
        oid = prefixed("MT", mid)
        if alias[oid] != oid:
            continue
        m = spec.methods[mid]
        merged = sum(1 for v in alias.values() if v == oid) > 1
        name = f"Derivation of {', '.join(sorted(served.get(oid, {mid})))}" if merged else m.name
        refs_doc = [b.method_leaf(m.document)] if m.document else []
        out.append(MethodIR(oid, name, m.type, m.description, refs_doc))
    return out


def build_model(spec: Spec, purpose: str, datasets: Mapping[str, DatasetInfo], *, acrf: str | None = None,
                acrf_pages: Mapping[str, list[int]] | None = None,
                reviewers_guide: str | None = None, documents: Mapping[str, str] | None = None) -> DefineModel:
    """The define model for one purpose; `findings` holds every disagreement (ERRORs block rendering)."""
    if purpose not in ("Tabulation", "Analysis"):
        raise ValueError(f"purpose must be Tabulation or Analysis, not {purpose!r}")
    b = _Builder(spec, purpose, datasets, acrf, reviewers_guide, documents)
    b.acrf_pages = acrf_pages if acrf else None
    spec_ds = {d.name: d for d in spec.datasets.values() if d.purpose == purpose}
    for name in sorted(b.datasets):
        if name not in spec_ds:
            b.add(Severity.ERROR, "DEFINE-DATASET", f"written dataset not in the {purpose} spec", name)
    for name in sorted(spec_ds):
        if name not in b.datasets:
            b.add(Severity.WARNING, "DEFINE-DATASET", "spec dataset not written; left out of define.xml", name)
    chosen = [spec_ds[n] for n in spec_ds if n in b.datasets]
    if purpose == "Tabulation":
        chosen.sort(key=lambda d: (CLASS_RANK.get(d.class_.upper(), 9), d.name))
    else:
        chosen.sort(key=lambda d: (d.name != "ADSL", d.name))
    groups = [b.dataset(d, b.datasets[d.name]) for d in chosen]

    codelists = [b.codelist(spec.codelists[cid], oid) for cid, oid in b.codelist_ids.items()]
    codelists += b.generated_codelists
    codelists.sort(key=lambda c: c.oid)
    methods = shared_methods(spec, sorted(b.method_ids), b, groups)
    comments = [CommentIR(prefixed("COM", c), spec.comments[c].text) for c in sorted(b.comment_ids)]

    supplemental = [lf for lf in [b.guide, *b.extra_docs] if lf is not None]
    leaves = [g.leaf for g in groups] + ([b.acrf] if b.acrf else []) + supplemental + sorted(b.leaves.values(), key=lambda x: x.id)
    study = spec.study
    ig = ig_standard(spec, purpose)
    return DefineModel(
        purpose=purpose,
        file_oid=f"{study_oid(spec)}.Define-XML_{DEFINE_VERSION}.{purpose}",
        created=study.xpt_created.replace(tzinfo=None).isoformat(timespec="seconds"),
        study_oid=study_oid(spec), study_name=study.name, study_description=study.title,
        protocol_name=study.protocol,
        mdv_oid=metadata_version_oid(spec, purpose),
        mdv_name=f"{study.name} {'SDTM' if purpose == 'Tabulation' else 'ADaM'} data definitions",
        mdv_description=f"{purpose} datasets of {study.name}" + (f" ({ig.name} {ig.version})" if ig else ""),
        standards=b.standards(), acrf=b.acrf, supplemental=supplemental,
        value_lists=sorted(b.value_lists, key=lambda v: v.oid),
        where_clauses=sorted(b.where.values(), key=lambda w: w.oid),
        item_groups=groups, item_defs=b.item_defs, codelists=codelists, methods=methods, comments=comments,
        leaves=leaves, findings=b.findings)
