"""PALACE's SDTM content on the hand-written raw kit (tests/sdtm/rawkit.py): the values each content class
must have, derived by hand from the rule cited, and the content checks clean on the whole build."""

from __future__ import annotations

import pandas as pd

from studyforge.conform.checks_content import (
    ig_expected_present,
    indicator_test_codes,
    qrs_ct_responses,
    qrs_orres_text,
    stresn_is_stresc,
    study_day_pairs,
)
from studyforge.conform.package import DatasetView, PackageView

S1, S2 = "PALACE-101-001", "PALACE-101-002"


def _view(ds: dict[str, pd.DataFrame]) -> PackageView:
    return PackageView(datasets={n: DatasetView(n, "SDTM", f.reset_index(drop=True)) for n, f in ds.items() if len(f)})


def test_content_checks_are_clean_on_the_kit_build(kit_build):
    view = _view(kit_build[0])
    for check in (stresn_is_stresc, qrs_ct_responses, qrs_orres_text, indicator_test_codes, study_day_pairs,
                  ig_expected_present):
        assert [str(f) for f in check(view)] == [], check.__name__


def test_lbstresn_is_lbstresc_read_back(kit_build):
    lb = kit_build[0]["LB"]
    # SDTMIG 3.4 4.5.1: 90 mg/dL glucose / 18.016 = 4.995559 -> "4.9956" -> 4.9956 (not 4.995559...)
    g = lb[(lb["USUBJID"] == S1) & (lb["LBORRESU"] == "mg/dL")].iloc[0]
    assert (g["LBSTRESC"], g["LBSTRESN"]) == ("4.9956", 4.9956)
    nums = pd.to_numeric(lb["LBSTRESC"], errors="coerce")
    assert ((nums == lb["LBSTRESN"]) | (nums.isna() & lb["LBSTRESN"].isna())).all()


def test_qsorres_holds_the_response_text(kit_build):
    qs = kit_build[0]["QS"]
    c30 = qs[(qs["USUBJID"] == S1) & (qs["QSCAT"] == "EORTC QLQ-C30 V3.0")].set_index("QSTESTCD")
    # the kit answers items 1-4 with 1, 2, 3, 4 (1 + i % 4); CDISC QRS EORTC QLQ-C30: text in QSORRES, rating in
    # QSSTRESC/QSSTRESN; items 29-30 (1-7 scale labelled only at its ends) keep the number ticked: 5 and 6
    got = [tuple(c30.loc[t, ["QSORRES", "QSSTRESC", "QSSTRESN"]]) for t in ("EOR0101", "EOR0102", "EOR0103", "EOR0104",
                                                                         "EOR0129", "EOR0130")]
    assert got == [("Not at all", "1", 1), ("A little", "2", 2), ("Quite a bit", "3", 3), ("Very much", "4", 4),
                   ("5", "5", 5), ("6", "6", 6)]
    gi = qs[(qs["USUBJID"] == S1) & (qs["QSTESTCD"] == "EOR1501")].iloc[0]
    assert (gi["QSORRES"], gi["QSSTRESC"]) == ("A little", "2")        # GINET21 answered 2 throughout


def test_ecog_text_in_rsorres_and_newlind_for_new_lesions(kit_build):
    rs = kit_build[0]["RS"]
    ecog = rs[rs["RSTESTCD"] == "ECOG101"].sort_values("RSDTC")
    # kit: 0 at screening, 1 at week 12; CT ECOG101OR texts (C180249, C180250), ECOG101STR grades
    assert list(ecog["RSORRES"].str[:20]) == ["Fully active, able t", "Restricted in physic"]
    assert list(ecog["RSSTRESC"]) == ["0", "1"] and list(ecog["RSSTRESN"]) == [0, 1]
    # the new-lesion question (collected N by the investigator and both readers) is NEWLIND (CT C142362)
    new = rs[rs["RSTESTCD"].isin(["NEWLIND", "NEWLPROG"])]
    assert set(new["RSTESTCD"]) == {"NEWLIND"} and len(new) == 3 and set(new["RSSTRESC"]) == {"N"}
    assert set(new["RSTEST"]) == {"New Lesion Indicator"}


def test_mh_start_study_day_is_mhstdy(kit_build):
    mh = kit_build[0]["MH"].set_index("USUBJID")
    assert "MHDY" not in mh.columns
    # SDTMIG 3.4 4.4.4: 2020-01-01 is 366 (2020) + 31 + 28 + 7 = 432 days before RFSTDTC 2021-03-08 -> -432
    assert mh.loc[S1, "MHSTDY"] == -432
    assert pd.isna(mh.loc[S2, "MHSTDY"])                               # 'UN FEB 2019': partial, no study day


def test_expected_lobxfl_and_sv_flags(kit_build):
    ds = kit_build[0]
    tr = ds["TR"]
    inv = tr[(tr["USUBJID"] == S1) & (tr["TREVAL"] == "INVESTIGATOR")]
    # last result on or before first dose 2021-03-08T09:30: the 05 MAR 2021 screening scan, per lesion and the sum
    flagged = inv[inv["TRLOBXFL"] == "Y"]
    assert sorted(zip(flagged["TRTESTCD"], flagged["TRLNKID"])) == [("LDIAM", "T01"), ("LDIAM", "T02"),
                                                                    ("SUMDIAM", ""), ("TUMSTATE", "NT01")]
    assert set(flagged["TRDTC"]) == {"2021-03-05"}
    qs = ds["QS"]
    # QS on 08 MAR 2021 (no time) is on the first-dose day: a candidate (same day, date-only comparison)
    assert set(qs.loc[(qs["USUBJID"] == S1), "QSLOBXFL"]) == {"Y"}
    sv = ds["SV"]
    s1 = sv[sv["USUBJID"] == S1].set_index("VISIT")
    assert (s1.loc["UNSCHEDULED 3.01", "SVPRESP"], s1.loc["UNSCHEDULED 3.01", "SVOCCUR"]) == ("", "")
    assert (s1.loc["WEEK 4", "SVPRESP"], s1.loc["WEEK 4", "SVOCCUR"]) == ("Y", "Y")
    assert {"TABRANCH"} <= set(ds["TA"].columns) and "ARMCD" in ds["TV"].columns and "ACTARMUD" in ds["DM"].columns
