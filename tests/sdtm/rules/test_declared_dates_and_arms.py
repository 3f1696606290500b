"""The declared-date and per-arm options MERIDIAN needs, on three-row frames with hand-derived values:
`subject_date` with `format: declared` (the study's MM/DD/YYYY, time in its own field), `age` from the
birth date variable (`birth_var`), and SE elements that only some arms have (`arms`)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from sdtm.rules.base import SUBJECT_ID
from studyforge.spec.loader import load_spec
from tests.sdtm.rulekit import derive, raw_form, refs, rows

SPEC = load_spec(Path(__file__).resolve().parents[3] / "specs" / "meridian")   # raw: MM/DD/YYYY, UNK


def _dm_rows():
    return rows(3, form="dm", **{SUBJECT_ID: ["MERIDIAN-1", "MERIDIAN-2", "MERIDIAN-3"]})


def test_subject_date_in_the_declared_format_with_a_separate_time():
    ex = raw_form("ex", pd.DataFrame({"SUBJID": ["1", "1", "2"],
                                      "EXSTDAT": ["01/23/2023", "01/09/2023", "UNK/UNK/2023"],
                                      "EXSTTIM": ["", "08:00", ""]}))
    r = refs(SPEC, "DM", raw={"ex": ex}, variable="RFSTDTC")
    got, _ = derive("subject_date", {"form": "ex", "date": "EXSTDAT", "time": "EXSTTIM", "agg": "min",
                                     "format": "declared"}, _dm_rows(), r)
    # subject 1: min of '2023-01-23' and '2023-01-09T08:00' (MM/DD/YYYY, time joined) -> 2023-01-09T08:00
    # subject 2: 'UNK/UNK/2023' -> year only, kept partial (SDTMIG 3.4 4.4.3)
    # subject 3: no EX record -> empty
    assert got.tolist() == ["2023-01-09T08:00", "2023", ""]


def test_age_from_the_birth_date_variable_partial_dates_only_when_unambiguous():
    f = _dm_rows()
    vars = pd.DataFrame({"BRTHDTC": ["1954-04-12", "1949-11", "1961"],
                         "RFSTDTC": ["2023-01-09T08:00", "2023-02-06T08:00", "2023-01-16T08:00"]}, index=f.index)
    got, notes = derive("age", {"birth_var": "BRTHDTC", "ref": "RFSTDTC"}, f, refs(SPEC, "DM", vars=vars,
                                                                                  variable="AGE"))
    # 1954-04-12 -> 2023-01-09: 2023 - 1954 = 69, birthday not reached -> 68
    # 1949-11 -> 2023-02-06: born 1 to 30 Nov 1949, every one gives 73 (birthday in November not reached)
    # 1961 -> 2023-01-16: 61 (born after 16 Jan) or 62 (born by 16 Jan): ambiguous -> empty, WARNING
    assert got.tolist()[:2] == [68, 73] and math.isnan(got.tolist()[2])
    assert [(n.rule, n.value) for n in notes] == [("SD0701", "1961")]


def test_se_element_of_some_arms_only():
    dm = pd.DataFrame({"USUBJID": ["S1", "S2", "S3"], "ACTARMCD": ["VERANOLOL", "PLACEBO", ""],
                       "RFICDTC": ["2023-01-02", "2023-01-03", "2023-01-04"],
                       "RFXSTDTC": ["2023-01-09T08:00", "2023-01-10T08:00", ""],
                       "RFPENDTC": ["2023-02-06", "2023-02-07", "2023-01-20"]})
    r = refs(SPEC, "SE", datasets={"DM": dm})
    from sdtm.rules import load_all, rule
    load_all()
    se = rule("subject_elements")
    p = se.parse({"elements": [{"etcd": "SCRN", "start": {"dm": "RFICDTC", "date_only": True}},
                               {"etcd": "VER", "start": {"dm": "RFXSTDTC"}, "arms": ["VERANOLOL"]},
                               {"etcd": "PBO", "start": {"dm": "RFXSTDTC"}, "arms": ["PLACEBO"]}],
                  "end": "RFPENDTC"})
    frame, _ = se.fn(p, r)
    got = [tuple(x) for x in frame[["USUBJID", "ETCD", "SESTDTC", "SEENDTC"]].itertuples(index=False)]
    # S1 (veranolol): SCRN from consent to the first dose, VER from the first dose to the end of study
    # S2 (placebo): the same with PBO; S3 (not dosed): screening only, ending at the end of participation
    assert got == [("S1", "SCRN", "2023-01-02", "2023-01-09T08:00"), ("S1", "VER", "2023-01-09T08:00", "2023-02-06"),
                   ("S2", "SCRN", "2023-01-03", "2023-01-10T08:00"), ("S2", "PBO", "2023-01-10T08:00", "2023-02-07"),
                   ("S3", "SCRN", "2023-01-04", "2023-01-20")]
