"""CDISC controlled terminology as lookups for spec checks: codelist C-code -> submission values and term codes.

SDTM CT (one row per term) and ADaM CT (NCI EVS layout: codelist rows have no parent code) are read
into one shape so a spec codelist can be checked against either package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd

from studyforge import standards


@dataclass
class CtCodelist:
    """One CDISC codelist of a CT package, with its terms both ways."""

    code: str
    submission_value: str
    name: str
    extensible: bool
    package: str
    terms: dict[str, str] = field(default_factory=dict)       # submission value -> term C-code
    by_code: dict[str, str] = field(default_factory=dict)     # term C-code -> submission value


@lru_cache(maxsize=8)
def sdtm_codelists(version: str) -> dict[str, CtCodelist]:
    """SDTM CT codelists by C-code (cached: the package has ~44,000 terms)."""
    df = standards.sdtm_ct(version)
    return _build(df["Codelist Code"], df["Codelist Submission Value"], df["Codelist Name"], df["Extensible"],
                  df["Term Code"], df["Term Submission Value"], f"SDTM CT {version}")


@lru_cache(maxsize=8)
def adam_codelists(version: str) -> dict[str, CtCodelist]:
    """ADaM CT codelists by C-code."""
    df = standards.adam_ct(version)
    heads = df[df["Codelist Code"] == ""].set_index("Code")
    terms = df[df["Codelist Code"] != ""]
    parent = terms["Codelist Code"]
    return _build(parent, parent.map(heads["CDISC Submission Value"]).fillna(""), terms["Codelist Name"],
                  parent.map(heads["Codelist Extensible (Yes/No)"]).fillna("No"),
                  terms["Code"], terms["CDISC Submission Value"], f"ADaM CT {version}")


def _build(cl_code: pd.Series, cl_sv: pd.Series, cl_name: pd.Series, ext: pd.Series,
           t_code: pd.Series, t_sv: pd.Series, package: str) -> dict[str, CtCodelist]:
    frame = pd.DataFrame({"cl": cl_code.to_numpy(), "sv": cl_sv.to_numpy(), "name": cl_name.to_numpy(),
                          "ext": ext.to_numpy(), "tc": t_code.to_numpy(), "tsv": t_sv.to_numpy()})
    out: dict[str, CtCodelist] = {}
    for code, grp in frame.groupby("cl", sort=True):
        first = grp.iloc[0]
        out[str(code)] = CtCodelist(
            code=str(code), submission_value=str(first["sv"]), name=str(first["name"]),
            extensible=str(first["ext"]).strip().lower() == "yes", package=package,
            terms=dict(zip(grp["tsv"].astype(str), grp["tc"].astype(str))),
            by_code=dict(zip(grp["tc"].astype(str), grp["tsv"].astype(str))),
        )
    return out
