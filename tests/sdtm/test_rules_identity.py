"""Rules never assume raw column names: each record's subject, USUBJID, visit and position come from
the study's raw identity (study.yaml `raw:`), tagged on the working rows by the builders."""

from __future__ import annotations

import pandas as pd

from sdtm.rules.base import POSITION, SUBJECT, SUBJECT_ID, VISIT, RawIdentity, compose_usubjid, subject_key
from sdtm.rules.builders import tagged
from studyforge.spec.raw import IdPart
from tests.sdtm.rulekit import derive, raw_form, refs

PAT = pd.DataFrame({"PATNUM": ["701-1015", "701-1015", "702-7"], "VISIT": ["BASELINE", "WEEK 2", "BASELINE"],
                    "SEQN": ["1", "1", "1"]})
IDENT = RawIdentity(subject=("PATNUM",), visit="VISIT",
                    usubjid=(IdPart(study=True), IdPart(literal="-"), IdPart(column="PATNUM")))


def test_usubjid_from_declared_parts():
    # CDISCPILOT01 + '-' + PATNUM as delivered
    assert compose_usubjid(PAT, IDENT, "CDISCPILOT01").tolist() == [
        "CDISCPILOT01-701-1015", "CDISCPILOT01-701-1015", "CDISCPILOT01-702-7"]


def test_usubjid_with_regex_and_padding_and_two_subject_columns():
    f = pd.DataFrame({"SITE": ["701", "702", ""], "PT": ["15", "7", ""]})
    ident = RawIdentity(subject=("SITE", "PT"), usubjid=(IdPart(study=True), IdPart(literal="/"),
                                                         IdPart(column="SITE"), IdPart(literal="-"),
                                                         IdPart(column="PT", pad=4)))
    # subject key: SITE-PT; USUBJID: S1/701-0015; a record without a subject gets ''
    assert subject_key(f, ident).tolist() == ["701-15", "702-7", ""]
    assert compose_usubjid(f, ident, "S1").tolist() == ["S1/701-0015", "S1/702-0007", ""]


def test_tagged_rows_carry_the_identity(sdtm_spec):
    r = refs(sdtm_spec, "AE", raw={"vs": raw_form("vs", PAT)})
    r = type(r)(**{**r.__dict__, "identities": {"vs": IDENT}})
    f = tagged(r, "vs")
    assert f[SUBJECT].tolist() == ["701-1015", "701-1015", "702-7"]
    assert f[SUBJECT_ID].tolist() == ["PALACE-701-1015", "PALACE-701-1015", "PALACE-702-7"]
    assert f[VISIT].tolist() == ["BASELINE", "WEEK 2", "BASELINE"]
    assert f[POSITION].tolist() == ["", "", ""]  # no position column declared: file order


def test_usubjid_rule_reads_the_tagged_identity(sdtm_spec):
    r = refs(sdtm_spec, "AE", raw={"vs": raw_form("vs", PAT)})
    r = type(r)(**{**r.__dict__, "identities": {"vs": IDENT}})
    out, notes = derive("usubjid", {}, tagged(r, "vs"), r)
    assert out.tolist() == ["PALACE-701-1015", "PALACE-701-1015", "PALACE-702-7"] and notes == []


def test_palace_identity_is_declared_in_the_spec(sdtm_spec):
    from sdtm.identity import raw_identities

    ids, default = raw_identities(sdtm_spec, {"ae": None, "bicr_lesions": None})
    assert (default.subject, default.visit, default.position) == (("SUBJID",), "FOLDER", "RECORDPOSITION")
    assert ids["bicr_lesions"].visit == "TIMEPOINT" and ids["bicr_lesions"].position is None
