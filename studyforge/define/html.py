"""define.html: a human view of the same define model the XML is rendered from (no XSLT, no network)."""

from __future__ import annotations

from pathlib import Path

from studyforge.define.model import DEFINE_VERSION, DefineModel
from studyforge.define.xml import environment
from studyforge.fileio import write_bytes_atomic


def render_define_html(model: DefineModel) -> bytes:
    """define.html bytes: TOC, standards, datasets, variables, value-level metadata, codelists, methods, comments."""
    text = environment().get_template("define.html.j2").render(
        m=model, lang="en", define_version=DEFINE_VERSION,
        items={i.oid: i for i in model.item_defs},
        codelists={c.oid: c for c in model.codelists},
        methods={mt.oid: mt for mt in model.methods},
        comments={c.oid: c.text for c in model.comments},
    )
    return text.encode("utf-8")


def write_define_html(model: DefineModel, path: Path | str) -> None:
    """Write define.html atomically."""
    write_bytes_atomic(path, render_define_html(model))
