"""Pinnacle 21 define-template workbooks <-> the spec model.

The workbook holds what Define-XML needs (sheets Study, Standards, Datasets, Variables, ValueLevel,
WhereClauses, Codelists, Dictionaries, Methods, Comments, Documents). What the spec says beyond that
(how a variable is made, SDTM core, Char/Num where the Define data type does not tell) travels in one
extra column, `studyforge`, as compact JSON of only the fields the P21 columns cannot carry; so
import(export(spec)) == spec, and a sponsor's own workbook (without that column) still imports.

Every problem names workbook, sheet, row and column: `spec.xlsx:Variables!R42: LB.LBSTRESN: Data Type: ...`.
Columns the model has no place for are listed (NOTICE), never dropped silently.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ValidationError

from .models import (
    Codelist,
    Comment,
    Dataset,
    Method,
    Spec,
    Standard,
    Study,
    Term,
    ValueLevel,
    Variable,
    WhereCondition,
)

EXTRA = "studyforge"
SHEETS = {
    "Study": ["Attribute", "Value"],
    "Standards": ["OID", "Name", "Type", "Publishing Set", "Version", "Status", "Comment"],
    "Datasets": ["Dataset", "Label", "Class", "SubClass", "Structure", "Key Variables", "Standard", "Has No Data",
                 "Repeating", "Reference Data", "Comment", "Developer Notes", EXTRA],
    "Variables": ["Order", "Dataset", "Variable", "Label", "Data Type", "Length", "Significant Digits", "Format",
                  "Mandatory", "Assigned Value", "Codelist", "Common", "Origin", "Source", "Pages", "Method",
                  "Predecessor", "Role", "Has No Data", "Comment", "Developer Notes", EXTRA],
    "ValueLevel": ["Order", "Dataset", "Variable", "Where Clause", "Description", "Data Type", "Length",
                   "Significant Digits", "Format", "Mandatory", "Assigned Value", "Codelist", "Origin", "Source",
                   "Pages", "Method", "Predecessor", "Comment", "Developer Notes", EXTRA],
    "WhereClauses": ["ID", "Dataset", "Variable", "Comparator", "Value", "Comment"],
    "Codelists": ["ID", "Name", "NCI Codelist Code", "Data Type", "Terminology", "Comment", "Order", "Term",
                  "NCI Term Code", "Decoded Value", EXTRA],
    "Dictionaries": ["ID", "Name", "Data Type", "Dictionary", "Version"],
    "Methods": ["ID", "Name", "Type", "Description", "Expression Context", "Expression Code", "Document", "Pages"],
    "Comments": ["ID", "Description", "Document", "Pages"],
    "Documents": ["ID", "Title", "Href"],
}
# P21 Define data types that are stored as SAS character values (the rest are numeric)
CHAR_TYPES = {"text", "date", "datetime", "time", "partialDate", "partialTime", "partialDatetime",
              "incompleteDatetime", "durationDatetime", "intervalDatetime"}
STUDY_ROWS = {"StudyName": "name", "StudyDescription": "title", "ProtocolName": "protocol", "Language": "language"}


class P21Error(Exception):
    """The workbook could not be imported; `problems` lists every located problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class ImportResult:
    spec: Spec
    notices: list[str] = field(default_factory=list)


# -- export ----------------------------------------------------------------------------------------
def _yn(b: bool) -> str:
    return "Yes" if b else "No"


def _extra(full: dict, recovered: dict) -> str:
    """JSON of the fields the P21 columns did not carry (empty when they carried everything)."""
    rest = {k: v for k, v in full.items() if recovered.get(k) != v}
    return json.dumps(rest, sort_keys=True, separators=(",", ":"), default=str) if rest else ""


def _variable_row(ds: str, order: int, v: Variable | ValueLevel, where_id: str = "") -> dict[str, Any]:
    o = v.origin
    row = {"Order": order, "Dataset": ds, "Variable": v.variable if isinstance(v, ValueLevel) else v.name,
           "Data Type": v.data_type or ("text" if v.type == "Char" else "float"), "Length": v.length,
           "Significant Digits": v.significant_digits, "Format": v.format, "Codelist": v.codelist,
           "Origin": o.type, "Source": o.source, "Pages": " ".join(o.pages), "Method": v.method,
           "Predecessor": o.predecessor, "Comment": v.comment}
    if isinstance(v, ValueLevel):
        row.update({"Where Clause": where_id, "Description": v.label, "Mandatory": _yn(v.mandatory)})
    else:
        row.update({"Label": v.label, "Role": v.role, "Mandatory": _yn(v.core == "Req")})
    return row


def export_rows(spec: Spec) -> dict[str, list[dict[str, Any]]]:
    """The workbook as rows per sheet (column name -> value), in a stable order."""
    s = spec.study
    full_study = s.model_dump(mode="json", exclude_defaults=True)
    study_rows = [{"Attribute": a, "Value": getattr(s, f)} for a, f in STUDY_ROWS.items()]
    rest = {k: v for k, v in full_study.items() if k not in STUDY_ROWS.values() and k != "standards"}
    study_rows.append({"Attribute": EXTRA, "Value": json.dumps(rest, sort_keys=True, separators=(",", ":"))})
    rows: dict[str, list[dict[str, Any]]] = {"Study": study_rows, "Standards": [], "Datasets": [], "Variables": [],
                                             "ValueLevel": [], "WhereClauses": [], "Codelists": [],
                                             "Dictionaries": [], "Methods": [], "Comments": [], "Documents": []}
    for i, st in enumerate(s.standards, 1):
        rows["Standards"].append({"OID": f"STD.{i}", "Name": st.name, "Type": st.type,
                                  "Publishing Set": st.publishing_set, "Version": st.version, "Status": st.status})
    for d in spec.datasets.values():
        r = {"Dataset": d.name, "Label": d.label, "Class": d.class_, "SubClass": d.subclass,
             "Structure": d.structure, "Key Variables": ", ".join(d.keys), "Standard": d.standard,
             "Repeating": _yn(d.repeating), "Reference Data": _yn(d.reference_data), "Comment": d.comment}
        full = d.model_dump(mode="json", by_alias=True, exclude_defaults=True, exclude={"variables", "values"})
        r[EXTRA] = _extra(full, _dataset_fields(r))
        rows["Datasets"].append(r)
        for i, v in enumerate(d.variables, 1):
            r = _variable_row(d.name, i, v)
            r[EXTRA] = _extra(v.model_dump(mode="json", exclude_defaults=True), _variable_fields(r))
            rows["Variables"].append(r)
        for i, vl in enumerate(d.values, 1):
            wid = f"WC.{d.name}.{vl.variable}.{i}"
            for c in vl.where:
                rows["WhereClauses"].append({"ID": wid, "Dataset": d.name, "Variable": c.variable,
                                             "Comparator": c.comparator, "Value": ", ".join(c.values)})
            r = _variable_row(d.name, i, vl, wid)
            recovered = _value_fields(r, {wid: [c.model_dump(mode="json", exclude_defaults=True) for c in vl.where]})
            r[EXTRA] = _extra(vl.model_dump(mode="json", exclude_defaults=True), recovered)
            rows["ValueLevel"].append(r)
    for cl in spec.codelists.values():
        head = {"ID": cl.id, "Name": cl.name, "NCI Codelist Code": cl.nci, "Data Type": cl.data_type,
                "Terminology": "CDISC/NCI" if cl.nci else None, "Comment": cl.comment}
        full = cl.model_dump(mode="json", exclude_defaults=True, exclude={"terms"})
        cl_extra = _extra(full, _codelist_fields(head))
        for i, t in enumerate(cl.terms or [None]):
            r = dict(head)
            extra = {"codelist": json.loads(cl_extra)} if cl_extra and i == 0 else {}
            if t is not None:
                r.update({"Order": t.order, "Term": t.value, "NCI Term Code": t.nci, "Decoded Value": t.decode})
                term_extra = _extra(t.model_dump(mode="json", exclude_defaults=True), _term_fields(r))
                if term_extra:
                    extra["term"] = json.loads(term_extra)
            r[EXTRA] = json.dumps(extra, sort_keys=True, separators=(",", ":")) if extra else ""
            rows["Codelists"].append(r)
    docs = sorted({m.document for m in spec.methods.values() if m.document})
    for m in spec.methods.values():
        rows["Methods"].append({"ID": m.id, "Name": m.name, "Type": m.type, "Description": m.description,
                                "Document": m.document})
    for c in spec.comments.values():
        rows["Comments"].append({"ID": c.id, "Description": c.text})
    rows["Documents"] = [{"ID": d, "Title": d, "Href": d} for d in docs]
    return rows


def export_p21(spec: Spec, path: Path | str) -> None:
    """Write the workbook; the same spec gives the same bytes (fixed timestamps inside the zip)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from studyforge.fileio import write_bytes_atomic

    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    for sheet, rows in export_rows(spec).items():
        ws = wb.create_sheet(sheet)
        cols = SHEETS[sheet]
        ws.append(cols)
        for c in ws[1]:
            c.font = bold
        for r in rows:
            ws.append([_cell(r.get(c)) for c in cols])
        ws.freeze_panes = "A2"
    stamp = spec.study.xpt_created.replace(tzinfo=None)
    wb.properties.created = wb.properties.modified = stamp
    wb.properties.creator = wb.properties.lastModifiedBy = "studyforge"
    buf = io.BytesIO()
    wb.save(buf)
    write_bytes_atomic(path, _fixed_zip(buf.getvalue(), stamp.strftime("%Y-%m-%dT%H:%M:%SZ")))


def _cell(v: Any) -> Any:
    return None if v is None or v == "" else v


def _fixed_zip(data: bytes, stamp: str) -> bytes:
    """The same archive with every entry's timestamp and the document's modified time fixed (openpyxl stamps
    the clock at save), so equal workbooks are equal bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>" + stamp.encode() + rb"\g<2>", body)
            dst.writestr(zi, body)
    return out.getvalue()


# -- P21 row -> model fields (shared by export, to know what the columns carry, and by import) -------
def _s(v: Any) -> str | None:
    if v is None:
        return None
    text = str(v).strip()
    return text or None


def _int(v: Any) -> int | None:
    t = _s(v)
    if t is None:
        return None
    f = float(t)
    if not f.is_integer():
        raise ValueError(f"not a whole number: {t!r}")
    return int(f)


def _bool(v: Any, default: bool) -> bool:
    t = (_s(v) or "").lower()
    if not t:
        return default
    if t in ("yes", "y", "true", "1"):
        return True
    if t in ("no", "n", "false", "0"):
        return False
    raise ValueError(f"expected Yes or No, got {v!r}")


def _drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


def _origin(r: dict) -> dict:
    return _drop_none({"type": _s(r.get("Origin")), "source": _s(r.get("Source")),
                       "pages": (_s(r.get("Pages")) or "").replace(",", " ").split() or None,
                       "predecessor": _s(r.get("Predecessor"))})


def _dataset_fields(r: dict) -> dict:
    std = _s(r.get("Standard")) or ""
    return _drop_none({"name": _s(r.get("Dataset")), "label": _s(r.get("Label")), "class": _s(r.get("Class")),
                       "subclass": _s(r.get("SubClass")), "structure": _s(r.get("Structure")),
                       "keys": [k.strip() for k in (_s(r.get("Key Variables")) or "").split(",") if k.strip()] or None,
                       "standard": std or None,
                       "purpose": "Analysis" if std.upper().startswith("ADAM") else "Tabulation" if std else None,
                       "repeating": None if _bool(r.get("Repeating"), True) else False,
                       "reference_data": True if _bool(r.get("Reference Data"), False) else None,
                       "comment": _s(r.get("Comment"))})


def _typed(r: dict) -> dict:
    dtype = _s(r.get("Data Type"))
    return _drop_none({"type": None if dtype is None else ("Char" if dtype in CHAR_TYPES else "Num"),
                       "data_type": None if dtype in (None, "text", "float") else dtype,
                       "length": _int(r.get("Length")), "significant_digits": _int(r.get("Significant Digits")),
                       "format": _s(r.get("Format")), "codelist": _s(r.get("Codelist")),
                       "method": _s(r.get("Method")), "comment": _s(r.get("Comment"))})


def _variable_fields(r: dict) -> dict:
    out = {"name": _s(r.get("Variable")), "label": _s(r.get("Label")), "role": _s(r.get("Role")),
           "core": "Req" if _bool(r.get("Mandatory"), False) else None, "origin": _origin(r), **_typed(r)}
    return _drop_none(out)


def _value_fields(r: dict, where: dict[str, list[dict]]) -> dict:
    out = {"variable": _s(r.get("Variable")), "where": where.get(_s(r.get("Where Clause")) or ""),
           "label": _s(r.get("Description")), "origin": _origin(r), **_typed(r),
           "mandatory": True if _bool(r.get("Mandatory"), False) else None}
    return _drop_none(out)


def _codelist_fields(r: dict) -> dict:
    return _drop_none({"id": _s(r.get("ID")), "name": _s(r.get("Name")), "nci": _s(r.get("NCI Codelist Code")),
                       "data_type": None if _s(r.get("Data Type")) in (None, "text") else _s(r.get("Data Type")),
                       "comment": _s(r.get("Comment"))})


def _term_fields(r: dict) -> dict:
    return _drop_none({"value": _s(r.get("Term")), "nci": _s(r.get("NCI Term Code")),
                       "decode": _s(r.get("Decoded Value")), "order": _int(r.get("Order"))})


# -- import ----------------------------------------------------------------------------------------
def _norm(name: str) -> str:
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


class _Reader:
    def __init__(self, path: Path):
        from openpyxl import load_workbook

        self.path = path
        self.name = path.name
        self.problems: list[str] = []
        self.notices: list[str] = []
        try:
            self.wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
            raise P21Error([f"{self.name}: cannot read as an Excel workbook: {exc}"]) from None
        self.sheets = {_norm(ws.title): ws for ws in self.wb.worksheets}

    def rows(self, sheet: str, required: bool = True) -> list[tuple[int, dict[str, Any]]]:
        ws = self.sheets.get(_norm(sheet))
        if ws is None:
            if required:
                self.problems.append(f"{self.name}: no sheet {sheet!r} (sheets found: "
                                     f"{', '.join(w.title for w in self.wb.worksheets)})")
            return []
        it = ws.iter_rows(values_only=True)
        header = next(it, None) or ()
        known = {_norm(c): c for c in SHEETS[sheet]}
        cols: list[str | None] = []
        for h in header:
            key = known.get(_norm(h)) if h is not None else None
            if h is not None and key is None:
                self.notices.append(f"{self.name}:{ws.title}!R1: column {h!r} has no place in the spec model; "
                                    "its values are not imported")
            cols.append(key)
        out = []
        for n, values in enumerate(it, start=2):
            if values is None or all(v is None or str(v).strip() == "" for v in values):
                continue
            out.append((n, {c: v for c, v in zip(cols, values) if c is not None}))
        return out

    def at(self, sheet: str, row: int, obj: str, msg: str) -> None:
        self.problems.append(f"{self.name}:{sheet}!R{row}: {obj + ': ' if obj else ''}{msg}")


def _merge_extra(fields: dict, r: dict, rd: _Reader, sheet: str, row: int, obj: str) -> dict:
    text = _s(r.get(EXTRA))
    if not text:
        return fields
    try:
        extra = json.loads(text)
    except json.JSONDecodeError as exc:
        rd.at(sheet, row, obj, f"column {EXTRA!r}: not JSON ({exc.msg})")
        return fields
    return {**fields, **extra}


def _validate(model: type[BaseModel], data: dict, rd: _Reader, sheet: str, row: int, obj: str,
              columns: dict[str, str]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for e in exc.errors(include_url=False):
            fld = str(e["loc"][0]) if e["loc"] else ""
            col = columns.get(fld, fld)
            rd.at(sheet, row, obj, f"{col}: {e['msg']}" if col else e["msg"])
        return None
    except ValueError as exc:
        rd.at(sheet, row, obj, str(exc))
        return None


VAR_COLUMNS = {"name": "Variable", "label": "Label", "type": "Data Type", "data_type": "Data Type",
               "length": "Length", "significant_digits": "Significant Digits", "format": "Format",
               "codelist": "Codelist", "origin": "Origin", "method": "Method", "comment": "Comment", "role": "Role",
               "where": "Where Clause", "mandatory": "Mandatory", "variable": "Variable", "label_": "Description"}


def import_p21(path: Path | str) -> ImportResult:
    """The spec a workbook describes; P21Error lists every problem with sheet, row and column."""
    rd = _Reader(Path(path))
    study = _import_study(rd)
    datasets = _import_datasets(rd)
    codelists = _import_codelists(rd)
    docs = {(_s(r.get("ID")) or ""): (_s(r.get("Href")) or _s(r.get("ID"))) for _, r in rd.rows("Documents", False)}
    methods = {}
    for n, r in rd.rows("Methods"):
        doc = _s(r.get("Document"))
        data = _drop_none({"id": _s(r.get("ID")), "name": _s(r.get("Name")), "type": _s(r.get("Type")),
                           "description": _s(r.get("Description")), "document": docs.get(doc, doc) if doc else None})
        m = _validate(Method, data, rd, "Methods", n, data.get("id", ""), {"description": "Description"})
        if m is not None:
            methods[m.id] = m
    comments = {}
    for n, r in rd.rows("Comments", False):
        c = _validate(Comment, _drop_none({"id": _s(r.get("ID")), "text": _s(r.get("Description"))}), rd,
                      "Comments", n, _s(r.get("ID")) or "", {"text": "Description"})
        if c is not None:
            comments[c.id] = c
    for n, r in rd.rows("Dictionaries", False):
        rd.notices.append(f"{rd.name}:Dictionaries!R{n}: external dictionary {_s(r.get('Dictionary'))} "
                          f"{_s(r.get('Version')) or ''} ({_s(r.get('ID'))}) has no place in the spec model; not imported")
    if rd.problems or study is None:
        raise P21Error(rd.problems or [f"{rd.name}: no study"])
    try:
        spec = Spec(study=study, datasets=datasets, codelists=codelists, methods=methods, comments=comments)
    except ValidationError as exc:
        raise P21Error([f"{rd.name}: {e['msg']}" for e in exc.errors(include_url=False)]) from None
    return ImportResult(spec, rd.notices)


def _import_study(rd: _Reader) -> Study | None:
    attrs = {}
    for n, r in rd.rows("Study"):
        attrs[_s(r.get("Attribute")) or ""] = (n, r.get("Value"))
    data: dict[str, Any] = {}
    for attr, fld in STUDY_ROWS.items():
        if attr in attrs and _s(attrs[attr][1]) is not None:
            data[fld] = _s(attrs[attr][1])
    if EXTRA in attrs and _s(attrs[EXTRA][1]):
        try:
            data.update(json.loads(str(attrs[EXTRA][1])))
        except json.JSONDecodeError as exc:
            rd.at("Study", attrs[EXTRA][0], EXTRA, f"not JSON ({exc.msg})")
    data.setdefault("id", data.get("name"))
    data.setdefault("xpt_created", dt.datetime(1960, 1, 1).isoformat())
    stds = []
    for n, r in rd.rows("Standards", False):
        s = _validate(Standard, _drop_none({"name": _s(r.get("Name")), "type": _s(r.get("Type")),
                                            "publishing_set": _s(r.get("Publishing Set")),
                                            "version": _s(r.get("Version")), "status": _s(r.get("Status"))}),
                      rd, "Standards", n, _s(r.get("Name")) or "", {"publishing_set": "Publishing Set"})
        if s is not None:
            stds.append(s)
    data["standards"] = stds
    return _validate(Study, data, rd, "Study", 1, "study", {"name": "StudyName", "title": "StudyDescription",
                                                            "protocol": "ProtocolName"})


def _import_datasets(rd: _Reader) -> dict[str, Dataset]:
    variables: dict[str, list[Variable]] = {}
    for n, r in rd.rows("Variables"):
        obj = f"{_s(r.get('Dataset'))}.{_s(r.get('Variable'))}"
        try:
            fields = _merge_extra(_variable_fields(r), r, rd, "Variables", n, obj)
        except ValueError as exc:
            rd.at("Variables", n, obj, str(exc))
            continue
        if "origin" in fields and "type" not in fields["origin"]:
            rd.at("Variables", n, obj, "Origin: required (Collected, Derived, Assigned, Protocol, Predecessor)")
            continue
        v = _validate(Variable, fields, rd, "Variables", n, obj, VAR_COLUMNS)
        if v is not None:
            variables.setdefault(_s(r.get("Dataset")) or "", []).append(v)
    where: dict[str, list[dict]] = {}
    for n, r in rd.rows("WhereClauses", False):
        c = _validate(WhereCondition, _drop_none({"variable": _s(r.get("Variable")),
                                                  "comparator": _s(r.get("Comparator")),
                                                  "values": [x.strip() for x in str(r.get("Value") or "").split(",")
                                                             if x.strip()] or None}),
                      rd, "WhereClauses", n, _s(r.get("ID")) or "", {"values": "Value"})
        if c is not None:
            where.setdefault(_s(r.get("ID")) or "", []).append(c.model_dump(mode="json", exclude_defaults=True))
    values: dict[str, list[ValueLevel]] = {}
    for n, r in rd.rows("ValueLevel", False):
        obj = f"{_s(r.get('Dataset'))}.{_s(r.get('Variable'))}"
        wid = _s(r.get("Where Clause")) or ""
        if wid not in where:
            rd.at("ValueLevel", n, obj, f"Where Clause: {wid!r} is not an ID of the WhereClauses sheet")
            continue
        try:
            fields = _merge_extra(_value_fields(r, where), r, rd, "ValueLevel", n, obj)
        except ValueError as exc:
            rd.at("ValueLevel", n, obj, str(exc))
            continue
        vl = _validate(ValueLevel, fields, rd, "ValueLevel", n, obj, VAR_COLUMNS)
        if vl is not None:
            values.setdefault(_s(r.get("Dataset")) or "", []).append(vl)
    out: dict[str, Dataset] = {}
    for n, r in rd.rows("Datasets"):
        name = _s(r.get("Dataset")) or ""
        try:
            fields = _merge_extra(_dataset_fields(r), r, rd, "Datasets", n, name)
        except ValueError as exc:
            rd.at("Datasets", n, name, str(exc))
            continue
        if name not in variables:
            rd.at("Datasets", n, name, "no rows for this dataset on the Variables sheet")
            continue
        fields["variables"] = variables.pop(name)
        fields["values"] = values.pop(name, [])
        d = _validate(Dataset, fields, rd, "Datasets", n, name,
                      {"class": "Class", "keys": "Key Variables", "label": "Label", "standard": "Standard",
                       "structure": "Structure"})
        if d is not None:
            out[d.name] = d
    for name in variables:
        rd.problems.append(f"{rd.name}:Variables: dataset {name!r} has variables but no row on the Datasets sheet")
    return out


def _import_codelists(rd: _Reader) -> dict[str, Codelist]:
    heads: dict[str, dict] = {}
    terms: dict[str, list[Term]] = {}
    first: dict[str, int] = {}
    for n, r in rd.rows("Codelists"):
        cid = _s(r.get("ID")) or ""
        extra = {}
        if _s(r.get(EXTRA)):
            try:
                extra = json.loads(str(r.get(EXTRA)))
            except json.JSONDecodeError as exc:
                rd.at("Codelists", n, cid, f"column {EXTRA!r}: not JSON ({exc.msg})")
        if cid not in heads:
            first[cid] = n
            heads[cid] = {**_codelist_fields(r), **extra.get("codelist", {})}
            terms[cid] = []
        if _s(r.get("Term")) is not None:
            try:
                t = _validate(Term, {**_term_fields(r), **extra.get("term", {})}, rd, "Codelists", n, cid,
                              {"value": "Term", "nci": "NCI Term Code", "decode": "Decoded Value"})
            except ValueError as exc:
                rd.at("Codelists", n, cid, str(exc))
                continue
            if t is not None:
                terms[cid].append(t)
    out = {}
    for cid, head in heads.items():
        cl = _validate(Codelist, {**head, "terms": terms[cid]}, rd, "Codelists", first[cid], cid,
                       {"nci": "NCI Codelist Code", "name": "Name", "terms": "Term"})
        if cl is not None:
            out[cl.id] = cl
    return out


# -- write the imported spec as YAML ---------------------------------------------------------------
def write_spec_folder(spec: Spec, out_dir: Path | str, fmt: Callable[[str, type[BaseModel]], str] | None = None) -> list[Path]:
    """study.yaml, codelists.yaml, methods.yaml, comments.yaml, sdtm/<NAME>.yaml, adam/<NAME>.yaml."""
    from ruamel.yaml import YAML

    from studyforge.fileio import write_text_atomic

    from .fmt import format_text
    from .models import CodelistFile, CommentFile, MethodFile

    fmt = fmt or format_text
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False
    out = Path(out_dir)
    written = []

    def dump(rel: str, data: dict, model: type[BaseModel]) -> None:
        buf = io.StringIO()
        yaml.dump(data, buf)
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, fmt(buf.getvalue(), model))
        written.append(path)

    dump("study.yaml", spec.study.model_dump(mode="json", exclude_defaults=True), Study)
    dump("codelists.yaml", {"codelists": [c.model_dump(mode="json", exclude_defaults=True)
                                          for c in spec.codelists.values()]}, CodelistFile)
    dump("methods.yaml", {"methods": [m.model_dump(mode="json", exclude_defaults=True)
                                      for m in spec.methods.values()]}, MethodFile)
    dump("comments.yaml", {"comments": [c.model_dump(mode="json", exclude_defaults=True)
                                        for c in spec.comments.values()]}, CommentFile)
    for d in spec.datasets.values():
        folder = "sdtm" if d.purpose == "Tabulation" else "adam"
        data = d.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        data["purpose"] = d.purpose  # always explicit: it decides the folder
        dump(f"{folder}/{d.name}.yaml", data, Dataset)
    return written


