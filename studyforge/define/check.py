"""Does define.xml describe the package? Datasets, variables (name, order, type, length, label, format),
codelist values in the data, and every def:leaf file are checked; each problem is a Finding.

define.xml is read with lxml (not from our model) and the data with pyreadstat by default, so the
check does not share code paths with the writers it checks.
Codelist severities: a value missing from a sponsor codelist or a non-extensible CDISC codelist is an
ERROR; from an extensible CDISC codelist a WARNING (extensibility looked up in the CT package of the
codelist's def:StandardOID, by its nci:ExtCodeID alias).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from lxml import etree

from studyforge.define.ct import ct_package
from studyforge.define.info import DatasetInfo, package_infos
from studyforge.define.model import where_mask
from studyforge.findings import Finding, Severity

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1",
      "xlink": "http://www.w3.org/1999/xlink"}
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
NUMERIC_TYPES = {"integer", "float", "double", "decimal"}


def _text(el: etree._Element | None) -> str:
    if el is None:
        return ""
    t = el.find("odm:Description/odm:TranslatedText", NS)
    return (t.text or "") if t is not None else ""


def _load(define: Path | str | etree._ElementTree) -> tuple[etree._ElementTree, str]:
    if isinstance(define, etree._ElementTree):
        return define, "define.xml"
    path = Path(define)
    parser = etree.XMLParser(no_network=True, resolve_entities=False, huge_tree=True)
    return etree.parse(str(path), parser), path.name


def check_define_against_data(define: Path | str | etree._ElementTree,
                              datasets: Mapping[str, DatasetInfo] | None,
                              package_dir: Path | str) -> list[Finding]:
    """Disagreements between define.xml and the package; `datasets=None` reads every XPT in package_dir."""
    tree, fname = _load(define)
    pkg = Path(package_dir)
    infos = {k.upper(): v for k, v in (datasets if datasets is not None else package_infos(pkg)).items()}
    out: list[Finding] = []

    def add(sev: Severity, rule: str, msg: str, ds: str = "", var: str = "", value: str = "", line: int | None = None):
        out.append(Finding(sev, rule, msg, dataset=ds, variable=var, value=value, file=fname, line=line))

    mdv = tree.find(".//odm:MetaDataVersion", NS)
    if mdv is None:
        add(Severity.ERROR, "DEFCHK-STRUCT", "no MetaDataVersion")
        return out
    items = {el.get("OID"): el for el in mdv.findall("odm:ItemDef", NS)}
    codelists = {el.get("OID"): el for el in mdv.findall("odm:CodeList", NS)}
    value_lists = {el.get("OID"): el for el in mdv.findall("def:ValueListDef", NS)}
    wheres = {el.get("OID"): el for el in mdv.findall("def:WhereClauseDef", NS)}
    std_ct = {el.get("OID"): (el.get("PublishingSet"), el.get("Version"))
              for el in mdv.findall("def:Standards/def:Standard", NS) if el.get("Type") == "CT"}

    # every def:leaf file exists
    for leaf in mdv.iter("{%s}leaf" % NS["def"]):
        href = leaf.get(XLINK_HREF) or ""
        target = (pkg / href.split("#", 1)[0])
        if not href or not target.is_file():
            add(Severity.ERROR, "DEFCHK-LEAF", f"def:leaf {leaf.get('ID')} points to a missing file", value=href,
                line=leaf.sourceline)

    described: set[str] = set()
    for ig in mdv.findall("odm:ItemGroupDef", NS):
        name = ig.get("Name", "")
        described.add(name.upper())
        leaf = ig.find("def:leaf", NS)
        href = leaf.get(XLINK_HREF) if leaf is not None else None
        info = infos.get(name.upper())
        if info is None:
            add(Severity.ERROR, "DEFCHK-DATASET", "dataset in define.xml but not in the package", name,
                value=href or "", line=ig.sourceline)
            continue
        if href and href != info.file_name:
            add(Severity.ERROR, "DEFCHK-DATASET", f"def:leaf href differs from the file {info.file_name}", name,
                value=href, line=ig.sourceline)
        if ig.get("SASDatasetName", name) != info.name:
            add(Severity.ERROR, "DEFCHK-DATASET", f"SASDatasetName differs from the XPT member name {info.name}",
                name, value=ig.get("SASDatasetName", ""), line=ig.sourceline)
        label = _text(ig)
        if info.label and label != info.label:
            add(Severity.ERROR, "DEFCHK-LABEL", f"dataset label differs from the XPT label {info.label!r}", name,
                value=label, line=ig.sourceline)
        refs = sorted(ig.findall("odm:ItemRef", NS), key=lambda r: int(r.get("OrderNumber") or 0))
        define_names = []
        for ref in refs:
            it = items.get(ref.get("ItemOID"))
            if it is None:
                add(Severity.ERROR, "DEFCHK-STRUCT", "ItemRef to a missing ItemDef", name, value=ref.get("ItemOID", ""),
                    line=ref.sourceline)
                continue
            define_names.append(it.get("Name", ""))
        data_names = info.names()
        for n in define_names:
            if n not in data_names:
                add(Severity.ERROR, "DEFCHK-VAR", "variable in define.xml but not in the XPT", name, n)
        for n in data_names:
            if n not in define_names:
                add(Severity.ERROR, "DEFCHK-VAR", "variable in the XPT but not in define.xml", name, n)
        common_d = [n for n in define_names if n in data_names]
        common_x = [n for n in data_names if n in define_names]
        if common_d != common_x:
            first = next(i for i, (a, b) in enumerate(zip(common_d, common_x)) if a != b)
            add(Severity.ERROR, "DEFCHK-ORDER", f"variable order differs at position {first + 1}: define.xml "
                f"{common_d[first]}, XPT {common_x[first]}", name, common_d[first], common_x[first])
        for ref in refs:
            it = items.get(ref.get("ItemOID"))
            if it is None:
                continue
            var = it.get("Name", "")
            vi = info.variable(var)
            if vi is None:
                continue
            _check_item(add, name, var, it, vi)
            _check_codelist(add, info, name, var, it, codelists, std_ct, None)
            vl_ref = it.find("def:ValueListRef", NS)
            if vl_ref is not None and vl_ref.get("ValueListOID") in value_lists and info.frame is not None:
                for vref in value_lists[vl_ref.get("ValueListOID")].findall("odm:ItemRef", NS):
                    vit = items.get(vref.get("ItemOID"))
                    if vit is None:
                        continue
                    conds = []
                    for wref in vref.findall("def:WhereClauseRef", NS):
                        wc = wheres.get(wref.get("WhereClauseOID"))
                        for rc in (wc.findall("odm:RangeCheck", NS) if wc is not None else []):
                            target = items.get(rc.get("{%s}ItemOID" % NS["def"]))
                            conds.append((target.get("Name") if target is not None else "", rc.get("Comparator", "EQ"),
                                          [cv.text or "" for cv in rc.findall("odm:CheckValue", NS)]))
                    mask = where_mask(info.frame, conds)
                    _check_codelist(add, info, name, var, vit, codelists, std_ct, mask)
    for n in sorted(set(infos) - described):
        add(Severity.ERROR, "DEFCHK-DATASET", "dataset in the package but not in define.xml", n,
            value=infos[n].file_name)
    return out


def _check_item(add, ds: str, var: str, it: etree._Element, vi) -> None:
    dtype = it.get("DataType", "")
    want = "Num" if dtype in NUMERIC_TYPES else "Char"
    if want != vi.type:
        add(Severity.ERROR, "DEFCHK-TYPE", f"DataType {dtype} but the XPT variable is {vi.type}", ds, var, dtype,
            it.sourceline)
    if vi.type == "Char" and it.get("Length") is not None and int(it.get("Length")) != vi.length:
        add(Severity.ERROR, "DEFCHK-LENGTH", f"Length {it.get('Length')} but the XPT length is {vi.length}", ds, var,
            it.get("Length"), it.sourceline)
    fmt = it.get("{%s}DisplayFormat" % NS["def"])
    if fmt and vi.format is None:
        add(Severity.WARNING, "DEFCHK-FORMAT", f"def:DisplayFormat {fmt} but the XPT variable has no format", ds, var,
            fmt, it.sourceline)
    elif fmt and vi.format and fmt.upper() != vi.format.upper():
        add(Severity.ERROR, "DEFCHK-FORMAT", f"def:DisplayFormat {fmt} but the XPT format is {vi.format}", ds, var,
            fmt, it.sourceline)
    label = _text(it)
    if vi.label and label != vi.label:
        add(Severity.ERROR, "DEFCHK-LABEL", f"label differs from the XPT label {vi.label!r}", ds, var, label,
            it.sourceline)


def _check_codelist(add, info: DatasetInfo, ds: str, var: str, it: etree._Element, codelists: dict,
                    std_ct: dict, mask) -> None:
    ref = it.find("odm:CodeListRef", NS)
    if ref is None:
        return
    cl = codelists.get(ref.get("CodeListOID"))
    if cl is None:
        add(Severity.ERROR, "DEFCHK-STRUCT", "CodeListRef to a missing CodeList", ds, var, ref.get("CodeListOID", ""),
            ref.sourceline)
        return
    allowed = {e.get("CodedValue") for e in cl if e.tag in ("{%s}CodeListItem" % NS["odm"],
                                                              "{%s}EnumeratedItem" % NS["odm"])}
    bad = [v for v in info.distinct(var, mask) if v not in allowed]
    if not bad:
        return
    alias = cl.find("odm:Alias[@Context='nci:ExtCodeID']", NS)
    extensible = False
    if alias is not None and cl.get("{%s}StandardOID" % NS["def"]) in std_ct:
        pset, version = std_ct[cl.get("{%s}StandardOID" % NS["def"])]
        pkg = ct_package(pset or "", version or "")
        extensible = bool(pkg and pkg.extensible.get(alias.get("Name"), False))
    sev = Severity.WARNING if extensible else Severity.ERROR
    kind = "extensible CDISC" if extensible else ("CDISC" if alias is not None else "sponsor")
    where = " (value level)" if mask is not None else ""
    for v in bad:
        add(sev, "DEFCHK-CT", f"value not in {kind} codelist {cl.get('OID')}{where}", ds, var, v, cl.sourceline)
