"""Unit-level properties: readers keep line numbers, text splitting loses nothing, EDC dates."""

from __future__ import annotations

import pandas as pd
import pyreadstat
from hypothesis import given, settings
from hypothesis import strategies as st

from sdtm import _dates
from sdtm._fast import umap
from sdtm.engine import _split_words
from sdtm.readers import read_raw_dir
from sdtm.vocabulary import norm_key


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="abc XYZ", min_size=1, max_size=30), min_size=1, max_size=40))
def test_split_words_keeps_every_character_and_respects_200(words):
    text = " ".join(words)
    parts = _split_words(text)
    assert all(len(p) <= 200 for p in parts)
    # re-joining with the blank removed at each cut gives the text back (no word lost or altered)
    assert "".join(parts).replace(" ", "") == text.replace(" ", "")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["a ", "B", "", "a", " x/ y "]), min_size=0, max_size=50))
def test_umap_equals_direct_application(values):
    s = pd.Series(values, dtype=object)
    assert list(umap(s, lambda u: u.astype(str).str.strip().str.upper())) == [v.strip().upper() for v in values]


@settings(max_examples=200, deadline=None)
@given(st.integers(1900, 2100), st.integers(1, 12), st.integers(1, 31))
def test_edc_dates_reject_impossible_days(y, m, d):
    mon = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"][m - 1]
    iso, err = _dates.edc_date_to_iso(pd.Series([f"{d:02d} {mon} {y}"]))
    try:
        expected = pd.Timestamp(year=y, month=m, day=d).strftime("%Y-%m-%d")
    except ValueError:
        expected = None
    assert (iso[0] == expected and not err[0]) if expected else (err[0] and iso[0] == "")


def test_partial_edc_dates_stay_partial():
    iso, err = _dates.edc_date_to_iso(pd.Series(["UN MAY 2021", "UNK UNK 2021", "", "60 FEB 2020"]))
    assert list(iso) == ["2021-05", "2021", "", ""] and list(err) == [False, False, False, True]


def test_norm_key_matches_crf_spellings():
    assert list(norm_key(pd.Series([" male ", "Recovered / Resolved", "NOT  DONE"]))) == \
        ["MALE", "RECOVERED/RESOLVED", "NOT DONE"]


def test_readers_csv_lines_xpt_and_odm(tmp_path):
    (tmp_path / "dm.csv").write_text("STUDYID,SUBJID,SEX\nPALACE,101-001, Male\nPALACE,101-002,Female\n")
    pyreadstat.write_xport(pd.DataFrame({"SUBJID": ["101-001"], "ECOG": [1.0]}), str(tmp_path / "ecog.xpt"),
                           table_name="ECOG", file_format_version=5)
    (tmp_path / "clin.xml").write_text(
        '<?xml version="1.0"?><ODM xmlns="http://www.cdisc.org/ns/odm/v1.3"><ClinicalData StudyOID="PALACE">'
        '<SubjectData SubjectKey="101-001"><SiteRef LocationOID="101"/><StudyEventData StudyEventOID="DAY 1">'
        '<FormData FormOID="F.SV"><ItemGroupData ItemGroupOID="IG.SV" ItemGroupRepeatKey="1">'
        '<ItemData ItemOID="I.VISDAT" Value="08 MAR 2021"/></ItemGroupData></FormData></StudyEventData>'
        '</SubjectData></ClinicalData></ODM>')
    (tmp_path / "dictionary.csv").write_text("form,field\n")
    forms, findings = read_raw_dir(tmp_path)
    assert not findings and sorted(forms) == ["dm", "ecog", "sv"]
    dm = forms["dm"]
    assert list(dm.lines) == [2, 3] and list(dm.frame["SEX"]) == ["Male", "Female"]   # stripped
    assert list(forms["ecog"].frame["ECOG"]) == ["1"]
    sv = forms["sv"].frame
    assert sv.loc[0, ["SUBJID", "SITEID", "FOLDER", "VISDAT"]].tolist() == ["101-001", "101", "DAY 1", "08 MAR 2021"]


def test_unreadable_file_is_a_finding(tmp_path):
    (tmp_path / "ae.xpt").write_bytes(b"not an xport file")
    forms, findings = read_raw_dir(tmp_path)
    assert not forms and findings[0].rule == "SD0001" and findings[0].file.endswith("ae.xpt")
