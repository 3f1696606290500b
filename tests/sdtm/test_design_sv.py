"""SV holds one record per actual visit per subject (SDTMIG 3.4 SV; a screen failure's screening visit is
an actual visit): rule `subject_visits` and check SF-XD-0201. Expected values derived by hand below."""

from __future__ import annotations

import pandas as pd

from sdtm.rules import load_all, rule
from tests.sdtm.conftest import build_with
from tests.sdtm.rulekit import raw_form, refs
from tests.sdtm.test_design_checks import findings


def _sv(**visits) -> pd.DataFrame:
    u, v = zip(*[(s, n) for s, ns in visits.items() for n in ns]) if visits else ((), ())
    return pd.DataFrame({"STUDYID": "PALACE", "DOMAIN": "SV", "USUBJID": list(u), "VISITNUM": list(v)})


LB = pd.DataFrame({"STUDYID": "PALACE", "DOMAIN": "LB", "USUBJID": ["S1", "S1", "S1", "S2"],
                   "LBSEQ": [1.0, 2.0, 3.0, 1.0], "VISITNUM": [1.0, 3.0, 3.0, 1.0],
                   "VISIT": ["SCREENING", "WEEK 4", "WEEK 4", "SCREENING"]})


def test_check_flags_each_subject_visit_without_sv_once():
    # SV has S1 visits 1 and 2 only: LB has S1 visit 3 (rows 2 and 3: one finding, at row 2) and S2 visit 1 (row 4)
    got = findings("SF-XD-0201", SV=_sv(S1=[1.0, 2.0]), LB=LB)
    assert [(f.usubjid, f.record, f.value) for f in got] == [("S1", "row 2, LBSEQ=2", "3"), ("S2", "row 4, LBSEQ=1", "1")]
    assert "no SV record" in got[0].message and "WEEK 4" in got[0].message


def test_check_passes_when_sv_has_every_visit():
    assert findings("SF-XD-0201", SV=_sv(S1=[1.0, 2.0, 3.0], S2=[1.0]), LB=LB) == []


def _build(sdtm_spec, params, forms):
    load_all()
    r = refs(sdtm_spec, "SV", raw={k: raw_form(k, v) for k, v in forms.items()})
    b = rule("subject_visits")
    return b.fn(b.parse(params), r)


def test_rule_adds_visits_seen_only_on_other_forms(sdtm_spec):
    sv = pd.DataFrame({"SUBJID": ["S1"], "FOLDER": ["SCREENING"], "RECORDPOSITION": ["1"], "VISDAT": ["01 MAR 2021"]})
    # S1 DAY 1 only on ecog, twice: the earliest date (03 MAR) dates the visit; S2 SCREENING only on ie (undated)
    # and on ic (dated 02 MAR): ic is listed first, so its date wins; S1 SCREENING is already in sv (kept as is)
    ecog = pd.DataFrame({"SUBJID": ["S1", "S1", "S1"], "FOLDER": ["DAY 1", "DAY 1", "SCREENING"],
                         "RECORDPOSITION": ["1", "1", "1"], "ECOGDAT": ["05 MAR 2021", "03 MAR 2021", "01 MAR 2021"]})
    ic = pd.DataFrame({"SUBJID": ["S2"], "FOLDER": ["SCREENING"], "RECORDPOSITION": ["1"], "DSSTDAT": ["02 MAR 2021"]})
    ie = pd.DataFrame({"SUBJID": ["S2"], "FOLDER": ["SCREENING"], "RECORDPOSITION": ["1"], "IETESTCD": ["IN01"]})
    params = {"form": "sv", "date": "VISDAT", "also": [{"form": "ic", "date": "DSSTDAT"},
                                                       {"form": "ecog", "date": "ECOGDAT"}, {"form": "ie"}]}
    frame, notes = _build(sdtm_spec, params, {"sv": sv, "ecog": ecog, "ic": ic, "ie": ie})
    got = sorted(zip(frame["__usubjid"], frame["__visit"], frame["VISDAT"]))
    assert got == [("PALACE-S1", "DAY 1", "03 MAR 2021"), ("PALACE-S1", "SCREENING", "01 MAR 2021"),
                   ("PALACE-S2", "SCREENING", "02 MAR 2021")]
    assert [n.form for n in notes if hasattr(n, "records")] == ["ic", "ecog"]   # ie added nothing new
    # without `also` SV is the visit form alone
    frame, _ = _build(sdtm_spec, {"form": "sv", "date": "VISDAT"}, {"sv": sv})
    assert list(frame["__visit"]) == ["SCREENING"]
    # undated evidence: the visit is still added, with no date
    frame, _ = _build(sdtm_spec, {"form": "sv", "date": "VISDAT", "also": [{"form": "ie"}]}, {"sv": sv, "ie": ie})
    assert ("PALACE-S2", "SCREENING", "") in set(zip(frame["__usubjid"], frame["__visit"], frame["VISDAT"]))


def test_screen_failure_screening_visit_is_in_sv(sdtm_spec, tmp_path):
    # raw kit: 102-001 failed screening (ie IN03 = N, never dosed); its sv page (16 MAR 2021) removed, the
    # PALACE spec still gives it a SCREENING visit (ic is the first `also` form: consent 15 MAR 2021)
    def drop_sv_page(forms):
        forms["sv"] = forms["sv"][forms["sv"]["SUBJID"] != "102-001"]
    ds, found, _ = build_with(sdtm_spec, tmp_path, drop_sv_page)
    sv = ds["SV"]
    sf = sv[sv["USUBJID"] == "PALACE-102-001"]
    assert list(zip(sf["VISITNUM"], sf["VISIT"], sf["SVSTDTC"])) == [(1.0, "SCREENING", "2021-03-15")]
    assert findings("SF-XD-0201", SV=sv, IE=ds["IE"]) == []


def test_kit_sv_page_dates_the_visit_when_present(kit_build):
    # with its sv page (16 MAR 2021) the visit form's own date is kept, not the consent date
    sv = kit_build[0]["SV"]
    sf = sv[sv["USUBJID"] == "PALACE-102-001"]
    assert list(zip(sf["VISITNUM"], sf["SVSTDTC"])) == [(1.0, "2021-03-16")]
