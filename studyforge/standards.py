"""Access to the CDISC standards metadata and controlled terminology shipped with studyforge.

The package carries a copy of ../shared/standards (SDTM CT gzipped); STUDYFORGE_STANDARDS
points elsewhere when a user has a newer export.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

PACKAGED = Path(__file__).parent / "standards"


def standards_dir() -> Path:
    env = os.environ.get("STUDYFORGE_STANDARDS")
    return Path(env) if env else PACKAGED


def _read(rel: str) -> pd.DataFrame:
    base = standards_dir()
    path = base / rel
    if not path.exists() and (base / (rel + ".gz")).exists():
        path = base / (rel + ".gz")
    return pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)


@lru_cache(maxsize=None)
def sdtmig_variables() -> pd.DataFrame:
    """SDTMIG 3.4 variables: Dataset Name, Variable Name, Variable Order, Label, Type, Role, Core ..."""
    return _read("sdtmig_3_4/Variables.csv")


@lru_cache(maxsize=None)
def sdtmig_datasets() -> pd.DataFrame:
    return _read("sdtmig_3_4/Datasets.csv")


@lru_cache(maxsize=None)
def sdtm_model_variables() -> pd.DataFrame:
    return _read("sdtm_2_0/Variables.csv")


@lru_cache(maxsize=None)
def adamig_variables() -> pd.DataFrame:
    return _read("adamig_1_3/Variables.csv")


@lru_cache(maxsize=None)
def sdtm_ct(version: str = "2025-03-28") -> pd.DataFrame:
    """SDTM CT: Codelist Code, Codelist Name, Codelist Submission Value, Extensible, Term Code,
    Term Submission Value, Synonyms, Preferred Term, Definition."""
    return _read(f"ct/SDTM_CT_{version}.csv")


@lru_cache(maxsize=None)
def adam_ct(version: str = "2025-09-26") -> pd.DataFrame:
    return _read(f"ct/ADaM_CT_{version}.csv")


@lru_cache(maxsize=None)
def define_ct(version: str = "2025-09-26") -> pd.DataFrame:
    return _read(f"ct/Define-XML_CT_{version}.csv")


# The CDISC CT codelist of TSVAL for each TS parameter whose value CT controls (SDTMIG 3.4 TS; CDISC CT
# "Trial Summary Parameter" value codelists). Shared by the TS builder (it fills TSVALCD) and its check.
TS_VALUE_CODELISTS = {
    "ADAPT": "NY", "ADDON": "NY", "RANDOM": "NY", "HLTSUBJI": "NY", "EXTTIND": "NY", "DMCIND": "NY",
    "DOSFRQ": "FREQ", "DOSU": "UNIT", "DOSFRM": "FRM", "ROUTE": "ROUTE", "INTMODEL": "INTMODEL",
    "INTTYPE": "INTTYPE", "SEXPOP": "SEXPOP", "STYPE": "STYPE", "TBLIND": "TBLIND", "TCNTRL": "TCNTRL",
    "TINDTP": "TINDTP", "TPHASE": "TPHASE", "TTYPE": "TTYPE",
}


@lru_cache(maxsize=None)
def sdtm_ct_terms(version: str = "2025-03-28") -> dict[str, dict[str, str]]:
    """SDTM CT as codelist submission value -> {term submission value: term C-code}."""
    ct = sdtm_ct(version)
    return {cl: dict(zip(g["Term Submission Value"], g["Term Code"]))
            for cl, g in ct.groupby("Codelist Submission Value", sort=False)}
