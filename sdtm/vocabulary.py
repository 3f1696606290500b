"""How raw spellings are matched: upper case, blanks collapsed, blanks around '/' removed. Shared by
CT mapping, conditions and form filters (one normalization, so a spelling matches everywhere or nowhere)."""

from __future__ import annotations

import re

import pandas as pd

from studyforge.spec.models import Codelist

from ._fast import umap

_WS = re.compile(r"\s+")
_SLASH = re.compile(r"\s*/\s*")


def spelled(text: str) -> str:
    """One spelling in the form raw values are matched in."""
    return _SLASH.sub("/", _WS.sub(" ", str(text).strip().upper()))


def norm_key(s: pd.Series) -> pd.Series:
    """`spelled` for a whole column, once per distinct value."""
    return umap(s, lambda u: u.astype(str).str.strip().str.upper().str.replace(_WS, " ", regex=True)
                .str.replace(_SLASH, "/", regex=True))


def codelist_lookup(cl: Codelist) -> dict[str, str]:
    """Normalized spelling (value, decode, synonyms) -> submission value."""
    m: dict[str, str] = {}
    for t in cl.terms:
        for k in [t.value, t.decode or "", *t.synonyms]:
            k = spelled(k)
            if k:
                m.setdefault(k, t.value)
    return m
