"""BICR with one reader, two readers plus an adjudicator, and two readers who agree (issue 12).

Rule (SDTMIG 3.4 RS, RSACPTFL "Accepted Record Flag": set only when more than one assessor provides an
evaluation at the same time point; method MT.ADRS.OVR): per subject and time point, the accepted read
when one is flagged, every read of a single reader, one read when several readers agree unflagged, and
none (ERROR) when they disagree unflagged. BOR per RECIST 1.1 section 4.4 (best response recorded).
"""

from __future__ import annotations

import pytest

from tests.adam.test_adrs_builder import Study, load_spec


@pytest.fixture(scope="module")
def spec():
    return load_spec()


def test_single_reader_without_rsacptfl_counts(spec):
    # One independent radiologist, RSACPTFL blank on every read: all reads count.
    # OVR (BICR) on days 57 and 113 = SD, PR -> BOR PR (RECIST 1.1 4.4: best of SD, PR).
    # Before the fix `accepted_only` dropped them all: BOR MISSING, silently.
    s = Study().subject("A")
    s.ovr("A", 57, "SD", reader="R1", accepted=False)
    s.ovr("A", 113, "PR", reader="R1", accepted=False)
    r = s.run(spec)
    assert list(r.rows("A", "OVR")["AVALC"]) == ["SD", "PR"]
    assert r.val("A", "BOR") == "PR"
    assert "ADRS-READERS" not in r.rules()


def test_single_reader_rsacptfl_column_absent(spec):
    s = Study().subject("A")
    s.ovr("A", 57, "PR", reader="R1", accepted=False)
    sdtm, adsl = s.frames()
    sdtm["RS"] = sdtm["RS"].drop(columns="RSACPTFL")
    from adam.adrs import derive_adrs

    out, _ = derive_adrs(sdtm, adsl, spec)
    bor = out[(out["USUBJID"] == "A") & (out["PARAMCD"] == "BOR")]["AVALC"].iloc[0]
    assert bor == "PR"  # the one read counts: PR (unconfirmed BOR)


def test_two_readers_and_adjudicator_use_the_accepted_read(spec):
    # Day 57: R1 PR, R2 SD disagree; the adjudicator's SD read carries RSACPTFL Y -> OVR SD.
    # Day 113: R1 PR (flagged Y), R2 SD -> OVR PR. BOR = best of SD, PR = PR.
    s = Study().subject("A")
    s.ovr("A", 57, "PR", reader="R1", accepted=False)
    s.ovr("A", 57, "SD", reader="R2", accepted=False)
    s.ovr("A", 57, "SD", reader="ADJ", accepted=True)
    s.ovr("A", 113, "PR", reader="R1", accepted=True)
    s.ovr("A", 113, "SD", reader="R2", accepted=False)
    r = s.run(spec)
    assert list(r.rows("A", "OVR")["AVALC"]) == ["SD", "PR"]
    assert r.val("A", "BOR") == "PR"
    assert r.val("A", "CBOR") == "SD"  # the PR on day 113 is the last read: unconfirmed (RECIST 1.1 4.4)


def test_two_readers_who_agree_unflagged_count_once(spec):
    # Both radiologists read PR on days 57 and 113, nobody flagged: one PR per time point is used
    # (days 57 and 113 are 56 >= 28 days apart -> confirmed PR, RECIST 1.1 4.4 / confirm_days 28).
    s = Study().subject("A")
    for d in (57, 113):
        s.ovr("A", d, "PR", reader="R1", accepted=False)
        s.ovr("A", d, "PR", reader="R2", accepted=False)
    r = s.run(spec)
    assert list(r.rows("A", "OVR")["AVALC"]) == ["PR", "PR"]
    assert r.val("A", "CBOR") == "PR"
    assert "ADRS-READERS-AGREE" in r.rules() and "ADRS-DUPDATE" not in r.rules()


def test_two_readers_who_disagree_unflagged_is_an_error_not_a_guess(spec):
    # Day 57: R1 PR, R2 PD, neither accepted -> ERROR naming both values; the time point is not used.
    # Day 113 (single reader SD) still counts -> BOR SD.
    s = Study().subject("A")
    s.ovr("A", 57, "PR", reader="R1", accepted=False)
    s.ovr("A", 57, "PD", reader="R2", accepted=False)
    s.ovr("A", 113, "SD", reader="R1", accepted=False)
    r = s.run(spec)
    f = [f for f in r.findings if f.rule == "ADRS-READERS"]
    assert len(f) == 1 and f[0].usubjid == "A" and f[0].value == "PD | PR" and f[0].severity.value == "ERROR"
    assert list(r.rows("A", "OVR")["AVALC"]) == ["SD"]
    assert r.val("A", "BOR") == "SD"


def test_rs_without_rscat_is_read_with_a_stated_default(spec):
    # RSCAT is Permissible (SDTMIG 3.4): without it every OVRLRESP record is read as RECIST 1.1, and
    # the default is stated in a NOTICE, never an all-MISSING result.
    s = Study().subject("A")
    s.ovr("A", 57, "PR")
    s.ovr("A", 113, "PR")
    sdtm, adsl = s.frames()
    sdtm["RS"] = sdtm["RS"].drop(columns="RSCAT")
    from adam.adrs import derive_adrs

    out, findings = derive_adrs(sdtm, adsl, spec)
    assert out[(out["USUBJID"] == "A") & (out["PARAMCD"] == "CBORINV")]["AVALC"].iloc[0] == "PR"
    assert any(f.rule == "ADRS-RSCAT" for f in findings)


def test_evaluator_matching_nothing_is_a_warning(spec):
    # No BICR read at all: the BICR evaluator's selection matches no RS record -> WARNING listing the RSEVAL values.
    s = Study().subject("A")
    s.ovr("A", 57, "PR")
    r = s.run(spec)
    f = [f for f in r.findings if f.rule == "ADAM-SELECT-EMPTY" and "RSEVAL" in f.message]
    assert len(f) == 1 and "'INVESTIGATOR'" in f[0].message and f[0].field.endswith("evaluators.BICR.rseval")
