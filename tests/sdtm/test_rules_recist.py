"""RS from the independent review (rule `recist_rs`): RSACPTFL Y on the accepted reader's records (the
adjudication form names it; without an adjudication record, the spec's default reader, if any), N on the
other reader's (SDTMIG 3.4 RS: the flag identifies the accepted assessment when several assessors read)."""

from __future__ import annotations

import pandas as pd

from sdtm.rules import load_all, rule
from sdtm.rules.base import RawIdentity
from tests.sdtm.rulekit import raw_form, refs

RESP = pd.DataFrame({"PT": ["S1", "S1", "S2", "S2"], "RDR": ["Radiologist 1", "Radiologist 2"] * 2,
                     "TP": ["WEEK 8"] * 4, "SCAN": ["2021-05-01"] * 4, "OR": ["SD", "PR", "SD", "PD"],
                     "TR": ["SD", "PR", "SD", "PD"], "NTR": [""] * 4, "NEW": ["N", "N", "N", "Y"]})
ADJ = pd.DataFrame({"PT": ["S1"], "ACCEPTED": ["RADIOLOGIST 2"]})
VENDOR = RawIdentity(subject=("PT",), visit="TP")


def _flags(spec, default):
    load_all()
    r = refs(spec, "RS", raw={"resp": raw_form("resp", RESP), "adj": raw_form("adj", ADJ)})
    r = type(r)(**{**r.__dict__, "identities": {"resp": VENDOR, "adj": RawIdentity(subject=("PT",))}})
    b = rule("recist_rs")
    params = {"bicr": {"response": {"form": "resp", "reader": "RDR", "date": "SCAN", "overall": "OR", "target": "TR",
                                    "nontarget": "NTR", "new": "NEW"},
                       "adjudication": {"form": "adj", "accepted_reader": "ACCEPTED"}}}
    if default:
        params["default_accepted_reader"] = default
    frame, _ = b.fn(b.parse(params), r)
    ovr = frame[frame["TESTCD"] == "OVRLRESP"]
    return list(zip(ovr["__subject"], ovr["EVALID"], ovr["ACPTFL"], ovr["ORRES"]))


def test_adjudicated_reader_then_default_reader(sdtm_spec):
    # S1: adjudication accepts reader 2; S2: no adjudication record, the default reader 1 is accepted
    assert _flags(sdtm_spec, "Radiologist 1") == [
        ("S1", "RADIOLOGIST 1", "N", "SD"), ("S1", "RADIOLOGIST 2", "Y", "PR"),
        ("S2", "RADIOLOGIST 1", "Y", "SD"), ("S2", "RADIOLOGIST 2", "N", "PD")]


def test_without_a_default_unadjudicated_records_have_no_flag(sdtm_spec):
    assert [f for _, _, f, _ in _flags(sdtm_spec, None)] == ["N", "Y", "", ""]
