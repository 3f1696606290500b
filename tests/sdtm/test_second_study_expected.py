"""MERIDIAN, the second example study: values derived BY HAND from the raw files in
examples/meridian/raw/ (see its README) for three named subjects, 701-1015, 702-1004 and 708-1012.

The reader-level expectations (identity, record lines, dates, findings) are live now. The SDTM-level
expectations become live when the study's domain specs land in specs/meridian/sdtm/; until then they
skip. Rules cited: SDTMIG 3.4 section 4.4 (ISO 8601, partial dates), 4.4.4 (missing middle components
as a single '-'), 4.4.5 (--DY: date - RFSTDTC + 1 on or after, date - RFSTDTC before), 4.5.1 (original
and standardized results, comparators), DM (AGE in completed years at RFSTDTC).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sdtm._dates import form_dtc
from sdtm.readers import compose_id, read_raw_dir
from studyforge.spec.loader import load_spec
from tests.sdtm.rulekit import one_row

ROOT = Path(__file__).resolve().parents[2]
RAW = ROOT / "examples" / "meridian" / "raw"
SPEC = ROOT / "specs" / "meridian"
HAS_SDTM_SPEC = (SPEC / "sdtm").is_dir()


@pytest.fixture(scope="module")
def meridian():
    spec = load_spec(SPEC)
    forms, findings = read_raw_dir(RAW, spec.study.raw)
    return spec, forms, findings


# ---- reader level: live now ---------------------------------------------------------------

def test_identity_composed_from_patnum(meridian):
    spec, forms, _ = meridian
    st = spec.study.raw.for_form("dm")
    dm = forms["dm"].frame
    row = dm.index[dm["PATNUM"] == "701-1015"]
    # USUBJID = STUDYID "MERIDIAN" + "-" + PATNUM; SITEID = digits before '-'; SUBJID = digits after
    assert compose_id(dm.loc[row], st.usubjid_parts(), spec.study.id).tolist() == ["MERIDIAN-701-1015"]
    assert compose_id(dm.loc[row], [st.site]).tolist() == ["701"]
    assert compose_id(dm.loc[row], st.subjid_parts()).tolist() == ["1015"]


def test_encodings_delimiters_and_lines(meridian):
    _, forms, findings = meridian
    assert "SD0003" not in {f.rule for f in findings}               # every form decodes as declared
    assert forms["dm"].frame.columns[0] == "PATNUM"                 # BOM not part of the name
    assert "Dr. José Núñez" in set(forms["dm"].frame["INVNAM"])     # UTF-8 read as UTF-8
    lb = forms["lb"].frame
    assert lb.loc[0, "LBORRESU"] == "µmol/L"                       # CP1252 byte 0xB5 is MICRO SIGN
    # AE record 1 spans lines 2-4 (quoted description with CRLF inside), so record 2 starts on line 5
    assert forms["ae"].lines.tolist() == [2, 5, 6, 7, 8, 9]
    assert forms["ae"].frame.loc[0, "AEDESC"].splitlines()[1] == "started after breakfast;"


def test_manifest_matches_delivery(meridian):
    _, _, findings = meridian
    assert not [f for f in findings if f.rule in ("SD0004", "SD0005", "SD0006", "SD0007")]


def _dtc(meridian, form, date, time=None):
    spec, forms, _ = meridian
    iso, found = form_dtc(forms[form], spec.study.raw.for_form(form), date, time)
    return forms[form].frame, iso, found


def test_dates_with_unknown_parts_and_separate_times(meridian):
    f, iso, found = _dtc(meridian, "ae", "AESTDAT", "AESTTIM")
    got = dict(zip(f["PATNUM"] + "/" + f["AELINE"], iso))
    assert got["701-1015/1"] == "2023-01--T14:30"   # "01/UNK/2023" + "14:30": unknown day kept as '-' (4.4.4)
    assert got["701-1015/2"] == "2023-02-03T07:50"
    assert got["702-1004/1"] == "2023"              # "UNK/UNK/2023": year only
    assert got["702-1011/1"] == ""                  # time "09:00" without a date: dropped, reported
    [orphan] = found
    assert (orphan.rule, orphan.line, orphan.field, orphan.value) == ("SD0303", 8, "AESTTIM", "09:00")


def test_impossible_vs_date_is_one_finding(meridian):
    f, iso, found = _dtc(meridian, "vs", "VSDAT", "VSTIM")
    [bad] = found
    # 708-1019 WEEK 2 supine, vs.csv line 56: February has no 30th
    assert (bad.rule, bad.line, bad.value) == ("SD0301", 56, "02/30/2023") and "MM/DD/YYYY" in bad.message
    rows = f.index[(f["PATNUM"] == "708-1012") & (f["VISIT"] == "WEEK 2")]
    assert iso[rows].tolist() == ["2023-02-08", "2023-02-08T08:20"]   # blank time: date only


# ---- SDTM level: live when specs/meridian/sdtm/ exists -------------------------------------

sdtm_only = pytest.mark.skipif(not HAS_SDTM_SPEC, reason="specs/meridian/sdtm/ not written yet")


@pytest.fixture(scope="module")
def sdtm():
    from sdtm.command import run_sdtm

    datasets, findings, _, _ = run_sdtm(RAW, SPEC)
    return datasets, findings




@sdtm_only
def test_dm_named_subjects(sdtm):
    dm = sdtm[0]["DM"]
    r = one_row(dm, USUBJID="MERIDIAN-701-1015")
    assert (r.SUBJID, r.SITEID, r.BRTHDTC, r.RFICDTC) == ("1015", "701", "1954-04-12", "2023-01-02")
    assert r.RFSTDTC.startswith("2023-01-09")        # first EX: 01/09/2023 08:00
    assert r.AGE == 68                               # 1954-04-12 -> 2023-01-09: birthday not yet reached
    r = one_row(dm, USUBJID="MERIDIAN-702-1004")
    assert (r.SITEID, r.BRTHDTC, r.AGE) == ("702", "1970-02-28", 52)   # 2023-01-18 < 2023-02-28
    assert r.INVNAM == "Dr. Jose Nunez"              # raw.ascii_replacements é->e, ú->u, ñ->n
    r = one_row(dm, USUBJID="MERIDIAN-708-1012")
    assert (r.SITEID, r.BRTHDTC, r.AGE) == ("708", "1951-06-15", 71)   # 2023-01-25 < 2023-06-15


@sdtm_only
def test_vs_wide_form_with_qualifiers_and_units(sdtm):
    vs = sdtm[0]["VS"]
    s = "MERIDIAN-701-1015"
    r = one_row(vs, USUBJID=s, VSTESTCD="SYSBP", VSDTC="2023-01-09T08:15")
    # Expectation changed: was VSLOC "LEFT ARM". CT LOC (C74456, extensible) has ARM (C32141) and no
    # "LEFT ARM"; laterality is VSLAT (CT LAT C99073) per SDTMIG 3.4 VS (--LOC with --LAT), so the
    # collected BPLOC "LEFT ARM" is VSLOC ARM + VSLAT LEFT.
    assert (r.VSORRES, r.VSORRESU, r.VSSTRESN, r.VSPOS, r.VSLOC, r.VSLAT, r.VSDY) == \
        ("142", "mmHg", 142, "SUPINE", "ARM", "LEFT", 1)
    r = one_row(vs, USUBJID=s, VSTESTCD="SYSBP", VSDTC="2023-01-09T08:20")
    assert (r.VSSTRESN, r.VSPOS) == (138, "STANDING")
    r = one_row(vs, USUBJID=s, VSTESTCD="TEMP", VSDTC="2023-01-09T08:15")
    # 98.6 F -> C: (98.6 - 32) * 5 / 9 = 66.6 * 5 / 9 = 37.0
    # Expectation changed: was VSLOC "ORAL"; the CT LOC term for the mouth is ORAL CAVITY (C12421, synonym
    # "Mouth"); "ORAL" is a ROUTE term, not a location.
    assert (r.VSORRES, r.VSORRESU, r.VSSTRESU, r.VSLOC) == ("98.6", "F", "C", "ORAL CAVITY")
    assert math.isclose(r.VSSTRESN, 37.0, abs_tol=0.005)
    r = one_row(vs, USUBJID=s, VSTESTCD="WEIGHT", VSDTC="2023-01-09T08:15")
    # 176 LB * 0.45359237 kg/LB = 79.83225712 kg (79.83 at two decimals)
    assert (r.VSORRES, r.VSORRESU, r.VSSTRESU) == ("176", "LB", "kg")
    assert math.isclose(r.VSSTRESN, 79.83, abs_tol=0.005)
    r = one_row(vs, USUBJID="MERIDIAN-702-1004", VSTESTCD="WEIGHT", VSDTC="2023-01-18T09:15")
    assert (r.VSORRES, r.VSSTRESN, r.VSSTRESU) == ("64.5", 64.5, "kg")   # already kg: unchanged
    r = one_row(vs, USUBJID="MERIDIAN-708-1012", VSTESTCD="TEMP", VSDTC="2023-02-08")
    # blank VSTIM: date only; study day 2023-02-08 - 2023-01-25 + 1 = 15; tympanic, already C
    # Expectation changed: was VSLOC "TYMPANIC"; the CT LOC term is TYMPANIC MEMBRANE (C12502).
    assert (r.VSSTRESN, r.VSLOC, r.VSDY) == (37.2, "TYMPANIC MEMBRANE", 15)
    r = one_row(vs, USUBJID="MERIDIAN-708-1012", VSTESTCD="SYSBP", VSDTC="2023-02-08")
    # Expectation changed: was VSLOC "RIGHT ARM"; CT LOC ARM + LAT RIGHT (as above)
    assert (r.VSSTRESN, r.VSLOC, r.VSLAT, r.VSPOS) == (128, "ARM", "RIGHT", "SUPINE")


@sdtm_only
def test_lb_text_results_comparators_and_decimal_commas(sdtm):
    lb = sdtm[0]["LB"]
    s = "MERIDIAN-702-1004"
    base = dict(USUBJID=s, LBDTC="2023-01-11T07:45")   # screening 01/11/2023 07:45; LBDY 11 - 18 = -7
    r = one_row(lb, LBTEST="Creatinine", **base)
    # "88,4" decimal comma -> 88.4; the unit "µmol/L" is CT UNIT umol/L (C48508)
    assert (r.LBORRES, r.LBORRESU, r.LBSTRESC, r.LBSTRESN, r.LBDY) == ("88,4", "umol/L", "88.4", 88.4, -7)
    # Expectation changed: was LBTEST "C-reactive protein" (the lab's name). LBTEST holds the CT LBTEST
    # submission value of LBTESTCD CRP (C64548): "C Reactive Protein" (codelist C67154).
    r = one_row(lb, LBTEST="C Reactive Protein", **base)
    # SDTMIG 3.4 LB: a result with a comparator keeps it in --STRESC; --STRESN stays null
    assert (r.LBORRES, r.LBSTRESC) == ("<0,5", "<0.5") and math.isnan(r.LBSTRESN)
    r = one_row(lb, LBTEST="Hemoglobin", **base)
    # 13,2 g/dL -> 13.2 g/dL x 10 = 132 g/L (standard unit g/L)
    assert (r.LBORRES, r.LBORRESU, r.LBSTRESN, r.LBSTRESU) == ("13,2", "g/dL", 132.0, "g/L")
    r = one_row(lb, LBTEST="Troponin I", **base)
    assert r.LBORRES == "ND" and math.isnan(r.LBSTRESN)   # lab legend: ND = not detected, no number
    r = one_row(lb, USUBJID="MERIDIAN-708-1012", LBTEST="C Reactive Protein", LBDTC="2023-02-22T07:45")
    assert (r.LBORRES, r.LBSTRESC) == (">200", ">200") and math.isnan(r.LBSTRESN)


@sdtm_only
def test_ae_partial_dates_and_study_days(sdtm):
    ae = sdtm[0]["AE"]
    r = one_row(ae, USUBJID="MERIDIAN-701-1015", AETERM="HEADACHE")
    # start "01/UNK/2023" 14:30 -> partial; --DY is never computed from a partial date
    assert (r.AESTDTC, r.AEENDTC, r.AEENDY) == ("2023-01--T14:30", "2023-01-20", 12)   # 20 - 9 + 1
    assert math.isnan(r.AESTDY)
    r = one_row(ae, USUBJID="MERIDIAN-701-1015", AETERM="DIZZINESS")
    assert (r.AESTDTC, r.AESTDY) == ("2023-02-03T07:50", 26)   # Jan 9 -> Feb 3 = 25 days, + 1
    r = one_row(ae, USUBJID="MERIDIAN-708-1012", AETERM="COUGH")
    assert (r.AESTDTC, r.AEENDTC, r.AESTDY) == ("2023-02-02", "2023-02-12", 9)   # 8 days after Jan 25, + 1


@sdtm_only
def test_findings_of_the_delivery_are_located(sdtm):
    found = {(f.rule, Path(f.file).name, f.line, f.value) for f in sdtm[1]}
    assert ("SD0301", "vs.csv", 56, "02/30/2023") in found
    assert ("SD0303", "ae.csv", 8, "09:00") in found
