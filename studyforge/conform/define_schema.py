"""Define-XML 2.1 schema validation (offline, with the XSDs shipped in studyforge/schemas)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

SCHEMA_REL = Path("define") / "2.1" / "define2-1-0.xsd"


def _schema_path() -> Path:
    shipped = Path(__file__).resolve().parents[1] / "schemas" / SCHEMA_REL
    if shipped.is_file():
        return shipped
    import odmlib  # the same CDISC schema package, as distributed with odmlib

    return Path(odmlib.__file__).parent / "schemas" / SCHEMA_REL


@lru_cache(maxsize=1)
def _schema():
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(_schema_path())))


def validate_define_schema(path: Path | str) -> list[str]:
    """Problems of a define.xml against the Define-XML 2.1 XSD, as 'line N: message'; [] when valid.

    Uses studyforge.define.validate_define when the define package provides it (one validator for
    the team), otherwise lxml with the shipped XSD. Never fetches anything from the network.
    """
    try:
        from studyforge.define import validate_define  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - absent or broken: fall back to our own XSD check
        validate_define = None
    if validate_define is not None:
        return list(validate_define(Path(path)))
    from lxml import etree

    try:
        doc = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        return [f"line {exc.lineno}: not well-formed XML: {exc.msg}"]
    schema = _schema()
    if schema.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]
