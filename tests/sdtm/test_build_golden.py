"""Golden cases on the hand-written raw kit (tests/sdtm/rawkit.py); expectations derived by hand."""

from __future__ import annotations

import pandas as pd

from studyforge.findings import Severity
from tests.sdtm.rulekit import one_row


def test_dm_reference_dates_age_arm(kit_build):
    dm = kit_build[0]["DM"].set_index("SUBJID")
    s1 = dm.loc["101-001"]
    # RFSTDTC = first injection with its time; RFENDTC = last injection (no time collected)
    assert s1["RFSTDTC"] == s1["RFXSTDTC"] == "2021-03-08T09:30"
    assert s1["RFENDTC"] == s1["RFXENDTC"] == "2021-04-05"
    assert s1["RFICDTC"] == "2021-03-02" and s1["RFPENDTC"] == "2021-06-29"
    # born 15 JUN 1960, consent 02 MAR 2021: birthday not reached -> 60
    assert s1["AGE"] == 60 and s1["AGEU"] == "YEARS"
    assert s1["USUBJID"] == "PALACE-101-001" and s1["SEX"] == "M" and s1["COUNTRY"] == "CHN"
    # birth 'UN MAR 1970', consent 10 MAR 2021: 50 or 51 depending on the day. PALACE DM.AGE uses the age rule's
    # 'youngest' imputation (latest possible birth date 1970-03-31, not reached on 10 MAR -> 50; method text
    # MT.DM.AGE; SF-VL-0201: a treated subject needs an AGE or a stated reason)
    assert dm.loc["101-002", "AGE"] == 50 and dm.loc["101-002", "BRTHDTC"] == "1970-03"
    assert dm.loc["101-002", "SEX"] == "F"  # 'female' via codelist decode, case-insensitive
    sf = dm.loc["102-001"]
    assert sf["ARMCD"] == "" and sf["ACTARMCD"] == "" and sf["ARMNRS"] == "SCREEN FAILURE"
    assert s1["ARMCD"] == "LAN120" and s1["ACTARM"] == "Lanreotide Autogel 120 mg" and s1["ARMNRS"] == ""


def test_study_day_has_no_day_zero_and_partial_dates_stay(kit_build):
    ds = kit_build[0]
    ex = ds["EX"]
    assert list(ex.loc[ex["USUBJID"] == "PALACE-101-001", "EXSTDY"]) == [1, 29]   # 08 MAR -> 1; 05 APR -> 29
    lb = ds["LB"]
    scr = one_row(lb, USUBJID="PALACE-101-001", LBDTC="2021-03-05T08:00")
    assert scr["LBDY"] == -3                                                          # 3 days before: -3, no day 0
    cm = ds["CM"]
    prior = one_row(cm, USUBJID="PALACE-101-001")
    assert prior["CMSTDTC"] == "2020-01" and pd.isna(prior["CMSTDY"])                 # partial kept, no --DY


def test_lobxfl_single_flag_on_tie_with_notice(kit_build):
    ds, findings = kit_build[0], kit_build[1]
    glu = ds["LB"][(ds["LB"]["USUBJID"] == "PALACE-101-001") & (ds["LB"]["LBTESTCD"] == "GLUC")]
    # two results on 08 MAR 08:00 before the 09:30 dose: exactly one flag, on the higher LBSEQ
    assert (glu["LBLOBXFL"] == "Y").sum() == 1
    assert glu.loc[glu["LBLOBXFL"] == "Y", "LBSEQ"].item() == 3
    notes = [f for f in findings if f.rule == "SD0601"]
    assert len(notes) == 1 and notes[0].severity is Severity.NOTICE and "LBSEQ=2, LBSEQ=3" in notes[0].record


def test_unit_conversion_and_nrind(kit_build):
    lb = kit_build[0]["LB"]
    g = one_row(lb, USUBJID="PALACE-101-001", LBDTC="2021-03-05T08:00")
    # 90 mg/dL / 18.016 = 4.99556 mmol/L -> 4 decimals "4.9956"; range 70-110 mg/dL -> 3.8854-6.1057
    # SDTMIG 3.4 4.5.1 (SF-VL-0101): LBSTRESN is LBSTRESC as a number, 4.9956 (not the unrounded 4.995559...)
    assert g["LBSTRESU"] == "mmol/L" and g["LBSTRESN"] == 4.9956
    assert g["LBSTRESC"] == "4.9956" and g["LBNRIND"] == "NORMAL"
    h = one_row(lb, USUBJID="PALACE-101-002", LBTESTCD="HBA1C")
    # IFCC 42 mmol/mol -> NGSP % = 42/10.929 + 2.15 = 5.99298 -> "5.993" and, read back, 5.993 (SF-VL-0101)
    assert h["LBSTRESC"] == "5.993" and h["LBSTRESN"] == 5.993 and h["LBSTRESU"] == "%"
    cga = one_row(lb, LBTESTCD="CGA")
    assert cga["LBORRESU"] == "ug/L" and cga["LBSTRESN"] == 200 and cga["LBNRIND"] == "HIGH"


def test_visits_unscheduled_and_epoch(kit_build):
    sv = kit_build[0]["SV"]
    u = one_row(sv, USUBJID="PALACE-101-001", SVSTDTC="2021-04-20")
    # after WEEK 4 (VISITNUM 3) -> 3.01 (SDTMIG 3.4 4.4.5)
    assert u["VISITNUM"] == 3.01 and u["VISIT"] == "UNSCHEDULED 3.01"
    ex = kit_build[0]["EX"]
    assert set(ex["EPOCH"]) == {"TREATMENT"}
    se = kit_build[0]["SE"]
    s1 = se[se["USUBJID"] == "PALACE-101-001"].sort_values("SESEQ")   # rows are in key order (ETCD first)
    assert list(s1["ETCD"]) == ["SCRN", "HCPINJ", "SELFINJ", "FU"]
    assert list(s1["SEENDTC"])[:3] == list(s1["SESTDTC"])[1:]          # contiguous elements


def test_suppqual_from_spec_and_text_split(kit_build):
    ds = kit_build[0]
    supp = ds["SUPPEX"]
    assert list(supp["QVAL"]) == ["HEALTHCARE PROFESSIONAL", "SELF", "PARTNER"]
    assert set(supp["IDVAR"]) == {"EXSEQ"} and list(supp["IDVARVAL"]) == ["1", "2", "1"]
    ae = ds["AE"].iloc[0]
    sae = ds["SUPPAE"]
    assert len(ae["AETERM"]) <= 200
    rebuilt = ae["AETERM"] + " " + " ".join(sae.loc[sae["QNAM"].str.startswith("AETERM"), "QVAL"])
    assert rebuilt == ("Diarrhoea " + "very long text " * 20).strip()
    assert list(sae["QNAM"]) == ["AETERM1"]
    mh = ds["SUPPMH"]
    assert set(mh.loc[mh["USUBJID"] == "PALACE-101-001", "QNAM"]) >= {"MHGRADE", "KI67", "FUNCSTAT"}


def test_recist_links_sum_and_acceptance(kit_build):
    ds = kit_build[0]
    tu, tr, rs = ds["TU"], ds["TR"], ds["RS"]
    inv = tu[tu["TUEVAL"] == "INVESTIGATOR"]
    assert sorted(inv["TULNKID"]) == ["NT01", "T01", "T02"]
    assert set(tu.loc[tu["TUEVAL"] == "INDEPENDENT ASSESSOR", "TUEVALID"]) == {"RADIOLOGIST 1", "RADIOLOGIST 2"}
    # every TR lesion record links to a TU record of the same assessor
    les = tr[tr["TRLNKID"] != ""]
    keys = set(zip(tu["USUBJID"], tu["TUEVAL"], tu["TUEVALID"], tu["TULNKID"]))
    assert set(zip(les["USUBJID"], les["TREVAL"], les["TREVALID"], les["TRLNKID"])) <= keys
    # investigator screening: 30 (T01) + 20 (T02 short axis) = 50; week 12: 25 + 5 (too small) = 30
    s = tr[(tr["TRTESTCD"] == "SUMDIAM") & (tr["TREVAL"] == "INVESTIGATOR")]
    assert list(s["TRSTRESN"]) == [50, 30]
    supp = ds["SUPPTR"]
    t02 = tr[(tr["TRLNKID"] == "T02")]
    assert set(supp.loc[supp["QNAM"] == "MEASAXIS", "IDVARVAL"]) == {f"{x:.0f}" for x in t02["TRSEQ"]}
    # the adjudicator accepted reader 2: Y on reader 2's records, N on reader 1's
    b = rs[rs["RSEVAL"] == "INDEPENDENT ASSESSOR"]
    assert set(b.loc[b["RSEVALID"] == "RADIOLOGIST 2", "RSACPTFL"]) == {"Y"}
    assert set(b.loc[b["RSEVALID"] == "RADIOLOGIST 1", "RSACPTFL"]) == {"N"}
    assert set(rs.loc[rs["RSCAT"] == "ECOG", "RSTESTCD"]) == {"ECOG101"}


def test_qs_transposed_and_not_done(kit_build):
    qs = kit_build[0]["QS"]
    c30 = qs[(qs["USUBJID"] == "PALACE-101-001") & (qs["QSCAT"] == "EORTC QLQ-C30 V3.0")]
    assert len(c30) == 30 and list(c30["QSTESTCD"])[:2] == ["EOR0101", "EOR0102"]
    assert c30.loc[c30["QSTESTCD"] == "EOR0129", "QSSTRESN"].item() == 5
    # CDISC QRS supplement (SF-VL-0102): item 1 collected as 1 -> QSORRES "Not at all", QSSTRESC "1"
    i1 = c30[c30["QSTESTCD"] == "EOR0101"].iloc[0]
    assert (i1["QSORRES"], i1["QSSTRESC"], i1["QSSTRESN"]) == ("Not at all", "1", 1)
    nd = qs[qs["USUBJID"] == "PALACE-101-002"]
    assert list(nd["QSTESTCD"]) == ["QSALL"] and list(nd["QSSTAT"]) == ["NOT DONE"]
    xd = kit_build[0]["XD"]
    assert sorted(xd["XDTESTCD"]) == ["FLUSHNUM", "STOOLNUM"] and sorted(xd["XDSTRESN"]) == [1, 3]


def test_reconciliation_accounts_for_every_record(kit_build):
    recon = kit_build[2]
    frame = recon.to_report_frame()
    assert set(frame["form"]) == set(recon.records_in)
    assert recon.mapped[("lb", "LB")] == 6 and recon.mapped[("qlqc30", "QS")] == 30


def test_trial_summary_has_sstdtc_and_actual_subjects(kit_build):
    ts = kit_build[0]["TS"].set_index("TSPARMCD")
    # SSTDTC = earliest informed consent (02 MAR 2021); ACTSUB = dosed subjects (101-001, 101-002)
    assert ts.loc["SSTDTC", "TSVAL"] == "2021-03-02" and ts.loc["ACTSUB", "TSVAL"] == "2"
    assert ts.loc["TPHASE", "TSVALCD"] == "C15602"
