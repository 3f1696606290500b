"""TS speaks CDISC CT and holds what the FDA expects (SDTMIG 3.4 TS assumptions; FDA Study Data Technical
Conformance Guide TS parameter table): checks SF-CT-0201, SF-VL-0202, SF-FDA-0201, and the PALACE TS.
CT codes below were looked up by hand in SDTM CT 2025-03-28 (FREQ: EVERY 4 WEEKS = C64529; TSPARMCD PCLAS =
C98768, whose TSPARM is 'Pharmacologic Class')."""

from __future__ import annotations

import pandas as pd

from studyforge.conform.checks_design import TCG_ALL_STUDIES, TCG_INTERVENTIONAL
from tests.sdtm.test_design_checks import findings

CT = {"TSVCDREF": "CDISC CT", "TSVCDVER": "2025-03-28"}


def _ts(*rows: dict) -> pd.DataFrame:
    cols = ["TSPARMCD", "TSPARM", "TSVAL", "TSVALNF", "TSVALCD", "TSVCDREF", "TSVCDVER"]
    df = pd.DataFrame([{c: r.get(c, "") for c in cols} for r in rows])
    return df.assign(STUDYID="PALACE", DOMAIN="TS", TSSEQ=1.0)[["STUDYID", "DOMAIN", "TSSEQ", *cols]]


GOOD = [
    {"TSPARMCD": "DOSFRQ", "TSPARM": "Dosing Frequency", "TSVAL": "EVERY 4 WEEKS", "TSVALCD": "C64529", **CT},
    {"TSPARMCD": "PCLAS", "TSPARM": "Pharmacologic Class", "TSVAL": "Somatostatin Analog"},
    {"TSPARMCD": "TBLIND", "TSPARM": "Trial Blinding Schema", "TSVAL": "OPEN LABEL", "TSVALCD": "C49659", **CT},
    {"TSPARMCD": "AGEMAX", "TSPARM": "Planned Maximum Age of Subjects", "TSVALNF": "PINF"},
    {"TSPARMCD": "LENGTH", "TSPARM": "Trial Length", "TSVAL": "P80W", "TSVCDREF": "ISO 8601"},
]


def test_ct_check_flags_codes_names_and_values_outside_ct():
    bad = [dict(r) for r in GOOD]
    bad[0]["TSVALCD"] = "C64956"                 # not the FREQ code of EVERY 4 WEEKS (the PALACE defect)
    bad[1]["TSPARM"] = "Pharmacological Class"   # not CT's TSPARM for PCLAS
    bad[2].update(TSVAL="OPEN", TSVALCD="")      # not a TBLIND term
    bad[4].update(TSVCDREF="CDISC CT")           # a CDISC CT reference without a version
    got = findings("SF-CT-0201", TS=_ts(*bad))
    assert sorted((f.record.split(",")[0], f.variable) for f in got) == [
        ("row 1", "TSVALCD"), ("row 2", "TSPARM"), ("row 3", "TSVAL"), ("row 5", "TSVCDVER")]
    assert "C64529" in next(f.message for f in got if f.variable == "TSVALCD")


def test_ct_check_passes_on_ct_values():
    assert findings("SF-CT-0201", TS=_ts(*GOOD)) == []


def test_null_flavor_rules():
    bad = [dict(r) for r in GOOD]
    bad[3]["TSVALNF"] = ""                                  # AGEMAX: neither a value nor a null flavor
    bad[1]["TSVALNF"] = "NA"                                # PCLAS: a value and a null flavor
    bad[4]["TSVAL"] = "80 weeks"                            # LENGTH: not ISO 8601
    extra = {"TSPARMCD": "CURTRT", "TSPARM": "Current Therapy or Treatment", "TSVALNF": "N/A"}  # not a NullFlavor
    got = findings("SF-VL-0202", TS=_ts(*bad, extra))
    assert sorted((f.record.split(",")[0], f.variable) for f in got) == [
        ("row 2", "TSVALNF"), ("row 4", "TSVAL"), ("row 5", "TSVAL"), ("row 6", "TSVALNF")]
    assert findings("SF-VL-0202", TS=_ts(*GOOD)) == []


def _complete(stype: str, drop=()) -> pd.DataFrame:
    want = list(TCG_ALL_STUDIES) + (list(TCG_INTERVENTIONAL) if stype == "INTERVENTIONAL" else [])
    return _ts(*[{"TSPARMCD": p, "TSVAL": stype if p == "STYPE" else "X"} for p in want if p not in drop])


def test_fda_parameters_by_study_type():
    # interventional: STOPRULE and PCLAS dropped -> two findings; with tumour responses in RS, CRMDUR too
    got = findings("SF-FDA-0201", TS=_complete("INTERVENTIONAL", drop=("STOPRULE", "PCLAS")))
    assert sorted(f.value for f in got) == ["PCLAS", "STOPRULE"]
    rs = pd.DataFrame({"STUDYID": "PALACE", "DOMAIN": "RS", "USUBJID": ["S1"], "RSSEQ": [1.0],
                       "RSTESTCD": ["OVRLRESP"]})
    got = findings("SF-FDA-0201", TS=_complete("INTERVENTIONAL"), RS=rs)
    assert [f.value for f in got] == ["CRMDUR"]
    # observational: the interventional parameters (TRT, DOSE ...) are not expected
    assert findings("SF-FDA-0201", TS=_complete("OBSERVATIONAL")) == []
    assert findings("SF-FDA-0201", TS=_complete("INTERVENTIONAL")) == []


def test_palace_ts_is_clean(kit_build):
    # the PALACE TS spec built on the raw kit: CT codes, null flavors and the FDA parameters (RS has OVRLRESP)
    ds = kit_build[0]
    for rule in ("SF-CT-0201", "SF-VL-0202", "SF-FDA-0201"):
        assert [str(f) for f in findings(rule, TS=ds["TS"], RS=ds["RS"])] == []
    ts = ds["TS"].set_index("TSPARMCD")
    assert ts.loc["DOSFRQ", "TSVALCD"] == "C64529"
    # SENDTC = latest complete DM.RFPENDTC of the kit (101-001 ends 2021-06-29; later ones checked by the max)
    assert ts.loc["SENDTC", "TSVAL"] == max(d for d in ds["DM"]["RFPENDTC"] if len(d) >= 10)[:10]


def _build_ts(spec, params):
    from sdtm.rules import load_all, rule
    from tests.sdtm.rulekit import refs

    load_all()
    dm = pd.DataFrame({"USUBJID": ["S1", "S2"], "RFICDTC": ["2021-03-01", "2021-03-02"],
                       "RFPENDTC": ["2021-12-01", "2022-01"], "ACTARMCD": ["LAN120", ""]})
    b = rule("trial_summary")
    frame, notes = b.fn(b.parse(params), refs(spec, "TS", datasets={"DM": dm}))
    return frame.set_index("TSPARMCD"), notes


def test_trial_summary_fills_parm_and_ct_codes_from_the_pinned_ct(sdtm_spec):
    rows = [{"TSPARMCD": "DOSFRQ", "TSVAL": "EVERY 4 WEEKS"}, {"TSPARMCD": "TBLIND", "TSVAL": "OPEN"},
            {"TSPARMCD": "PCLAS", "TSVAL": "Somatostatin Analog"}, {"TSPARMCD": "DOSE", "TSVAL": "120", "DOSE": "x"}]
    ts, notes = _build_ts(sdtm_spec, {"rows": rows, "sendtc_from": "DM.RFPENDTC"})
    # FREQ 'EVERY 4 WEEKS' = C64529 (SDTM CT 2025-03-28, the PALACE pin); TSPARM of PCLAS = 'Pharmacologic Class'
    assert tuple(ts.loc["DOSFRQ", ["TSPARM", "TSVALCD", "TSVCDREF", "TSVCDVER"]]) == (
        "Dosing Frequency", "C64529", "CDISC CT", "2025-03-28")
    assert ts.loc["PCLAS", "TSPARM"] == "Pharmacologic Class" and ts.loc["PCLAS", "TSVALCD"] == ""
    # 'OPEN' is no TBLIND term: left uncoded, an error; 'DOSE' is no TS variable: ignored, an error
    assert ts.loc["TBLIND", "TSVALCD"] == "" and sorted(n.rule for n in notes) == ["SD1211", "SD1212"]
    # SENDTC = latest complete RFPENDTC (2022-01 is partial: not used) = 2021-12-01; SSTDTC = 2021-03-01
    assert ts.loc["SENDTC", "TSVAL"] == "2021-12-01" and ts.loc["SSTDTC", "TSVAL"] == "2021-03-01"
    # ct_codes off: the rows as written; no sendtc_from: no SENDTC
    ts, _ = _build_ts(sdtm_spec, {"rows": rows[:1], "ct_codes": False})
    assert "TSVALCD" not in ts.columns and ts.loc["DOSFRQ", "TSPARM"] == "" and "SENDTC" not in ts.index
