"""Define-XML 2.1 rendering (jinja2, autoescaped) and offline schema validation."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Mapping

import jinja2
from lxml import etree

from studyforge import __version__
from studyforge.define.info import DatasetInfo
from studyforge.define.model import DEFINE_VERSION, DefineError, DefineModel, build_model
from studyforge.fileio import write_bytes_atomic
from studyforge.findings import Finding, Severity
from studyforge.spec.models import Spec

TEMPLATES = Path(__file__).parent / "templates"
STYLESHEET = "define-view.xsl"  # named by define.xml's xml-stylesheet instruction, so a browser renders it
SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "define" / "2.1" / "define2-1-0.xsd"


@lru_cache(maxsize=None)
def environment() -> jinja2.Environment:
    """One jinja2 environment for define.xml and define.html; autoescape on for both."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("xml", "html", "j2"), default=True),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render_define_xml(model: DefineModel) -> bytes:
    """define.xml bytes for a model (deterministic: the model is sorted and carries a fixed timestamp)."""
    group_leaf_ids = {g.leaf.id for g in model.item_groups}
    doc_leaves = [lf for lf in model.leaves if lf.id not in group_leaf_ids]
    text = environment().get_template("define.xml.j2").render(
        m=model, doc_leaves=doc_leaves, version=__version__, define_version=DEFINE_VERSION, lang="en")
    return text.encode("utf-8")


def build_define(spec: Spec, purpose: str, datasets: Mapping[str, DatasetInfo], *, acrf: str | None = None,
                 reviewers_guide: str | None = None, documents: Mapping[str, str] | None = None) -> bytes:
    """define.xml for the Tabulation or Analysis datasets written; raises DefineError on ERROR findings."""
    model = build_model(spec, purpose, datasets, acrf=acrf, reviewers_guide=reviewers_guide, documents=documents)
    errors = [f for f in model.findings if f.severity is Severity.ERROR]
    if errors:
        raise DefineError(errors)
    return render_define_xml(model)


def write_define(spec: Spec, purpose: str, datasets: Mapping[str, DatasetInfo], out_dir: Path | str, *,
                 acrf: str | None = None, acrf_pages: Mapping[str, list[int]] | None = None, reviewers_guide: str | None = None,
                 documents: Mapping[str, str] | None = None, html: bool = True) -> list[Finding]:
    """Write OUT_DIR/define.xml (and define.html), atomically; returns the non-blocking findings.

    Nothing is written when there is an ERROR (DefineError is raised), or when the XML fails the XSD.
    """
    from studyforge.define.html import render_define_html

    model = build_model(spec, purpose, datasets, acrf=acrf, acrf_pages=acrf_pages, reviewers_guide=reviewers_guide,
                        documents=documents)
    errors = [f for f in model.findings if f.severity is Severity.ERROR]
    if errors:
        raise DefineError(errors)
    xml = render_define_xml(model)
    problems = validate_define_bytes(xml)
    if problems:
        raise DefineError([Finding(Severity.ERROR, "DEFINE-XSD", p, file="define.xml") for p in problems])
    out = Path(out_dir)
    write_bytes_atomic(out / "define.xml", xml)
    write_bytes_atomic(out / STYLESHEET, (TEMPLATES / STYLESHEET).read_bytes())
    if html:
        write_bytes_atomic(out / "define.html", render_define_html(model))
    return model.findings


@lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(SCHEMA), parser))


def validate_define_bytes(data: bytes) -> list[str]:
    """XSD problems of define.xml bytes as 'line N: message' (empty when valid). Offline: shipped XSDs only."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False, huge_tree=True)
    try:
        doc = etree.fromstring(data, parser).getroottree()
    except etree.XMLSyntaxError as exc:
        return [f"line {exc.lineno}: not well-formed XML: {exc.msg}"]
    schema = _schema()
    if schema.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def validate_define(path: Path | str) -> list[str]:
    """XSD problems of a define.xml file against Define-XML 2.1 (ODM 1.3.2), as 'line N: message'."""
    return validate_define_bytes(Path(path).read_bytes())
