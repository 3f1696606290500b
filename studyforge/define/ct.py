"""Controlled-terminology lookups for define.xml: which package a codelist is in, term C-codes, extensibility.

The shipped CT exports come in two layouts (SDTM: one row per term with codelist columns; ADaM and
Define-XML: NCI EVS layout where a codelist row has an empty "Codelist Code"). Both are normalized here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd

from studyforge import standards


@dataclass(frozen=True)
class CTPackage:
    publishing_set: str
    version: str
    extensible: dict[str, bool] = field(default_factory=dict)          # codelist C-code -> extensible
    terms: dict[tuple[str, str], str] = field(default_factory=dict)    # (codelist C-code, value) -> term C-code

    def has_codelist(self, code: str) -> bool:
        return code in self.extensible


def _from_sdtm_layout(df: pd.DataFrame, pset: str, version: str) -> CTPackage:
    cl = df.drop_duplicates("Codelist Code")
    ext = dict(zip(cl["Codelist Code"], cl["Extensible"].str.strip().str.lower().eq("yes")))
    terms = dict(zip(zip(df["Codelist Code"], df["Term Submission Value"]), df["Term Code"]))
    return CTPackage(pset, version, ext, terms)


def _from_evs_layout(df: pd.DataFrame, pset: str, version: str) -> CTPackage:
    is_cl = df["Codelist Code"].eq("")
    cl = df[is_cl]
    ext = dict(zip(cl["Code"], cl["Codelist Extensible (Yes/No)"].str.strip().str.lower().eq("yes")))
    t = df[~is_cl]
    terms = dict(zip(zip(t["Codelist Code"], t["CDISC Submission Value"]), t["Code"]))
    return CTPackage(pset, version, ext, terms)


@lru_cache(maxsize=None)
def ct_package(publishing_set: str, version: str) -> CTPackage | None:
    """The CT package for a publishing set (SDTM, ADaM, DEFINE-XML) and version; None when not shipped."""
    try:
        if publishing_set == "SDTM":
            return _from_sdtm_layout(standards.sdtm_ct(version), publishing_set, version)
        if publishing_set == "ADaM":
            return _from_evs_layout(standards.adam_ct(version), publishing_set, version)
        if publishing_set == "DEFINE-XML":
            return _from_evs_layout(standards.define_ct(version), publishing_set, version)
    except FileNotFoundError:
        return None
    return None
