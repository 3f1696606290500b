"""A spec skeleton from an existing Define-XML 2.0 or 2.1 file: datasets, variables, value-level metadata,
codelists, methods and comments, as the define says them. How each variable is made (the derivation rules)
is left for the author: the define does not say it in a form a program can run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from lxml import etree

from .models import (
    Codelist,
    Comment,
    Dataset,
    Method,
    Origin,
    Parameter,
    Spec,
    Standard,
    Study,
    Term,
    ValueLevel,
    Variable,
    WhereCondition,
)

ODM = "http://www.cdisc.org/ns/odm/v1.3"
DEFS = ("http://www.cdisc.org/ns/def/v2.1", "http://www.cdisc.org/ns/def/v2.0")
NUMERIC = {"integer", "float", "double", "decimal"}
XLINK = "{http://www.w3.org/1999/xlink}href"


class DefineImportError(ValueError):
    """The file is not a Define-XML document we can read; the message says where."""


def _text(el) -> str | None:
    if el is None:
        return None
    t = el.find(f"{{{ODM}}}TranslatedText")
    value = (t.text if t is not None else el.text) or ""
    return " ".join(value.split()) or None


def import_define(path: Path | str) -> tuple[Spec, list[str]]:
    """(spec, notices): the skeleton and what could not be carried over (each named)."""
    path = Path(path)
    parser = etree.XMLParser(no_network=True, resolve_entities=False, huge_tree=True)
    try:
        root = etree.parse(str(path), parser).getroot()
    except (OSError, etree.XMLSyntaxError) as exc:
        raise DefineImportError(f"{path.name}: not readable XML: {exc}") from None
    D = next((d for d in DEFS if root.find(f".//{{{d}}}*") is not None or d in root.nsmap.values()), DEFS[0])
    q = lambda tag: f"{{{ODM}}}{tag}"  # noqa: E731
    dq = lambda tag: f"{{{D}}}{tag}"  # noqa: E731
    study_el = root.find(q("Study"))
    mdv = study_el.find(q("MetaDataVersion")) if study_el is not None else None
    if mdv is None:
        raise DefineImportError(f"{path.name}: no ODM Study/MetaDataVersion: not a define.xml")
    notices: list[str] = []
    gv = study_el.find(q("GlobalVariables"))
    name = gv.findtext(q("StudyName")) or "STUDY"
    standards_by_oid: dict[str, tuple[str, str]] = {}
    standards = []
    for s in mdv.iter(dq("Standard")):
        standards.append(Standard(name=s.get("Name"), version=s.get("Version"), type=s.get("Type"),
                                  publishing_set=s.get("PublishingSet"), status=s.get("Status") or "Final"))
        standards_by_oid[s.get("OID")] = (s.get("Name"), s.get("Version"))
    created = root.get("CreationDateTime", "1960-01-01T00:00:00")
    study = Study(id=name, name=name, title=gv.findtext(q("StudyDescription")) or name,
                  protocol=gv.findtext(q("ProtocolName")) or name, standards=standards,
                  xpt_created=dt.datetime.fromisoformat(created[:19]))
    leaves = {lf.get("ID"): lf.get(XLINK) for lf in mdv.iter(dq("leaf"))}
    items = {it.get("OID"): it for it in mdv.iter(q("ItemDef"))}
    wheres = {}
    for wc in mdv.iter(dq("WhereClauseDef")):
        conds = []
        for rc in wc.iter(q("RangeCheck")):
            var = items.get(rc.get(f"{{{D}}}ItemOID"))
            conds.append(WhereCondition(variable=var.get("Name") if var is not None else rc.get(f"{{{D}}}ItemOID"),
                                        comparator=rc.get("Comparator"),
                                        values=[cv.text or "" for cv in rc.iter(q("CheckValue"))]))
        wheres[wc.get("OID")] = conds

    def origin(it) -> Origin:
        o = it.find(dq("Origin"))
        if o is None:
            notices.append(f"{path.name}: ItemDef {it.get('OID')}: no def:Origin; set to Derived, check it")
            return Origin(type="Derived")
        pages = [p for ref in o.iter(dq("PDFPageRef")) for p in (ref.get("PageRefs") or "").split()]
        pred = _text(o.find(q("Description"))) if o.get("Type") == "Predecessor" else None
        return Origin(type=o.get("Type"), source=o.get("Source"), pages=pages, predecessor=pred,
                      description=None if pred else _text(o.find(q("Description"))))

    def typed(it) -> dict:
        dtype = it.get("DataType")
        return {"type": "Num" if dtype in NUMERIC else "Char",
                "data_type": None if dtype in ("text", "float") else ("float" if dtype in ("double", "decimal") else dtype),
                "length": int(it.get("Length")) if it.get("Length") else None,
                "significant_digits": int(it.get("SignificantDigits")) if it.get("SignificantDigits") else None,
                "format": it.get(f"{{{D}}}DisplayFormat"),
                "codelist": (it.find(q("CodeListRef")).get("CodeListOID") if it.find(q("CodeListRef")) is not None
                             else None),
                "comment": it.get(f"{{{D}}}CommentOID"), "origin": origin(it)}

    value_lists = {vl.get("OID"): vl for vl in mdv.iter(dq("ValueListDef"))}
    codelists_xml = {cl.get("OID"): cl for cl in mdv.iter(q("CodeList"))}
    generated: set[str] = set()
    datasets = {}
    for g in mdv.iter(q("ItemGroupDef")):
        variables, values, keys = [], [], []
        refs = sorted(g.findall(q("ItemRef")), key=lambda r: int(r.get("OrderNumber") or 0))
        for r in refs:
            it = items.get(r.get("ItemOID"))
            if it is None:
                notices.append(f"{path.name}: {g.get('Name')}: ItemRef to unknown ItemDef {r.get('ItemOID')}; skipped")
                continue
            variables.append(Variable(name=it.get("Name"), label=_text(it.find(q("Description"))) or it.get("Name"),
                                      role=r.get("Role"), method=r.get("MethodOID"),
                                      core="Req" if r.get("Mandatory") == "Yes" else None, **typed(it)))
            if r.get("KeySequence"):
                keys.append((int(r.get("KeySequence")), it.get("Name")))
            vlref = it.find(dq("ValueListRef"))
            if vlref is not None and vlref.get("ValueListOID") in value_lists:
                for vr in value_lists[vlref.get("ValueListOID")].findall(q("ItemRef")):
                    vit = items.get(vr.get("ItemOID"))
                    wref = vr.find(dq("WhereClauseRef"))
                    if vit is None or wref is None or wref.get("WhereClauseOID") not in wheres:
                        notices.append(f"{path.name}: value list {vlref.get('ValueListOID')}: entry "
                                       f"{vr.get('ItemOID')} without a readable where clause; skipped")
                        continue
                    values.append(ValueLevel(variable=it.get("Name"), where=wheres[wref.get("WhereClauseOID")],
                                             label=_text(vit.find(q("Description"))), method=vr.get("MethodOID"),
                                             mandatory=vr.get("Mandatory") == "Yes", **typed(vit)))
        parameters = []
        for v in variables:  # studyforge's generated PARAMCD codelist is the dataset's parameter list
            if v.name == "PARAMCD" and v.codelist == f"CL.{g.get('Name')}.PARAMCD" and v.codelist in codelists_xml:
                parameters = [Parameter(paramcd=t.get("CodedValue"), param=_text(t.find(q("Decode"))) or
                                        t.get("CodedValue")) for t in codelists_xml[v.codelist].findall(q("CodeListItem"))]
                v.codelist = None
                generated.add(f"CL.{g.get('Name')}.PARAMCD")
        cls = g.find(dq("Class"))
        sub = cls.find(dq("SubClass")) if cls is not None else None
        std = standards_by_oid.get(g.get(f"{{{D}}}StandardOID"))
        purpose = g.get("Purpose") or "Tabulation"
        datasets[g.get("Name")] = Dataset.model_validate({
            "name": g.get("Name"), "label": _text(g.find(q("Description"))) or g.get("Name"),
            "class": cls.get("Name") if cls is not None else g.get(f"{{{D}}}Class"),
            "subclass": sub.get("Name") if sub is not None else None,
            "structure": g.get(f"{{{D}}}Structure") or "", "purpose": purpose,
            "standard": f"{std[0]} {std[1]}" if std else ("ADaMIG" if purpose == "Analysis" else "SDTMIG"),
            "keys": [k for _, k in sorted(keys)] or [variables[0].name],
            "repeating": g.get("Repeating") != "No", "reference_data": g.get("IsReferenceData") == "Yes",
            "domain": g.get("Domain"), "comment": g.get(f"{{{D}}}CommentOID"),
            "variables": variables, "values": values, "parameters": parameters})
    codelists = {}
    for cl in mdv.iter(q("CodeList")):
        if cl.get("OID") in generated:
            continue
        alias = [a for a in cl.findall(q("Alias")) if a.get("Context") == "nci:ExtCodeID"]
        terms = []
        for t in list(cl.findall(q("CodeListItem"))) + list(cl.findall(q("EnumeratedItem"))):
            ta = [a for a in t.findall(q("Alias")) if a.get("Context") == "nci:ExtCodeID"]
            terms.append(Term(value=t.get("CodedValue"), decode=_text(t.find(q("Decode"))),
                              nci=ta[0].get("Name") if ta else None,
                              order=int(t.get("OrderNumber")) if t.get("OrderNumber") else None))
        if cl.find(q("ExternalCodeList")) is not None:
            ext = cl.find(q("ExternalCodeList"))
            notices.append(f"{path.name}: codelist {cl.get('OID')} refers to the external dictionary "
                           f"{ext.get('Dictionary')} {ext.get('Version') or ''}: kept as an empty codelist")
        codelists[cl.get("OID")] = Codelist(id=cl.get("OID"), name=cl.get("Name"), data_type=cl.get("DataType"),
                                            nci=alias[0].get("Name") if alias else None, terms=terms,
                                            comment=cl.get(f"{{{D}}}CommentOID"))
    methods = {}
    for m in mdv.iter(q("MethodDef")):
        doc = next((leaves.get(r.get("leafID")) for r in m.iter(dq("DocumentRef"))), None)
        methods[m.get("OID")] = Method(id=m.get("OID"), name=m.get("Name"), type=m.get("Type"),
                                       description=_text(m.find(q("Description"))) or m.get("Name"), document=doc)
    comments = {c.get("OID"): Comment(id=c.get("OID"), text=_text(c.find(q("Description"))) or c.get("OID"))
                for c in mdv.iter(dq("CommentDef"))}
    notices.append(f"{path.name}: derivation rules are not in a define.xml: add `derivation:` to each variable "
                   "the study makes")
    return Spec(study=study, datasets=datasets, codelists=codelists, methods=methods, comments=comments), notices
