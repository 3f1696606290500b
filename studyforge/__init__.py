"""studyforge: spec-driven CDISC submission data (SDTM, ADaM, XPT v5, Define-XML 2.1, Dataset-JSON)."""

__version__ = "0.1.0"
