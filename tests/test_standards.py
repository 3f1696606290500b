"""The packaged standards are the ones in ../shared (when present) and are readable."""

from __future__ import annotations

import gzip

import pytest

from studyforge import standards
from tests.conftest import SHARED


def test_sdtmig_dm_variables_in_order():
    v = standards.sdtmig_variables()
    dm = v[v["Dataset Name"] == "DM"].sort_values("Variable Order", key=lambda s: s.astype(int))
    assert list(dm["Variable Name"][:4]) == ["STUDYID", "DOMAIN", "USUBJID", "SUBJID"]


def test_ct_has_sex_codelist():
    ct = standards.sdtm_ct()
    sex = ct[ct["Codelist Submission Value"] == "SEX"]
    assert sex["Codelist Code"].iloc[0] == "C66731"
    assert set(sex["Term Submission Value"]) >= {"M", "F", "U"}


@pytest.mark.skipif(not (SHARED / "standards").exists(), reason="../shared not beside this clone")
def test_packaged_copy_matches_shared():
    base = standards.PACKAGED
    for src in (SHARED / "standards").rglob("*.csv"):
        rel = src.relative_to(SHARED / "standards")
        packed = base / rel
        data = packed.read_bytes() if packed.exists() else gzip.decompress((base / f"{rel}.gz").read_bytes())
        assert data == src.read_bytes(), rel
