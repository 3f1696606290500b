"""The PALACE ADLB/ADQS/ADSYM specs: scoring maps against their published sources, method texts that
state the parameters' numbers, and reference-data subjects checked by hand."""

from __future__ import annotations

import math

import pytest

from adam.adqs import QsScale, QsSummary
from studyforge.spec.loader import load_spec
from tests.adam.reference import SPEC_DIR


@pytest.fixture(scope="module")
def spec():
    return load_spec(SPEC_DIR)


# EORTC QLQ-C30 Scoring Manual, 3rd ed., Table 1 (scale: item numbers, item range)
C30_TABLE1 = {"C30QL": ([29, 30], 6), "C30PF": ([1, 2, 3, 4, 5], 3), "C30RF": ([6, 7], 3),
              "C30EF": ([21, 22, 23, 24], 3), "C30CF": ([20, 25], 3), "C30SF": ([26, 27], 3),
              "C30FA": ([10, 12, 18], 3), "C30NV": ([14, 15], 3), "C30PA": ([9, 19], 3), "C30DY": ([8], 3),
              "C30SL": ([11], 3), "C30AP": ([13], 3), "C30CO": ([16], 3), "C30DI": ([17], 3), "C30FI": ([28], 3)}


def _scales(spec):
    return {p.paramcd: QsScale.model_validate(p.derivation.params)
            for p in spec.datasets["ADQS"].parameters if p.derivation.rule == "qs_scale"}


def test_c30_items_match_the_scoring_manual(spec):
    scales = _scales(spec)
    for code, (items, rng) in C30_TABLE1.items():
        s = scales[code]
        assert s.items == [f"EOR01{i:02d}" for i in items], code
        assert s.range == rng and s.min_fraction == 0.5, code
    kinds = {c: s.kind for c, s in scales.items() if c.startswith("C30")}
    assert {c for c, k in kinds.items() if k == "functional"} == {"C30PF", "C30RF", "C30EF", "C30CF", "C30SF"}
    assert kinds["C30QL"] == "global"


def test_summary_score_is_giesinger_2016(spec):
    p = next(p for p in spec.datasets["ADQS"].parameters if p.paramcd == "C30SUM")
    s = QsSummary.model_validate(p.derivation.params)
    assert len(s.components) == 13 and not {"C30QL", "C30FI"} & set(s.components)
    assert set(s.reverse) == {"C30FA", "C30NV", "C30PA", "C30DY", "C30SL", "C30AP", "C30CO", "C30DI"}
    assert s.min_components is None   # all 13 required


def test_ginet21_scales_use_each_item_at_most_once(spec):
    gi = [i for c, s in _scales(spec).items() if c.startswith("GIN") for i in s.items]
    assert len(gi) == len(set(gi)) and all(i.startswith("EOR15") for i in gi)
    sizes = {c: len(s.items) for c, s in _scales(spec).items() if c.startswith("GIN")}
    # Yadegarfar et al. 2013: endocrine 3, GI 5, treatment-related 3, social function 3, worries 3
    assert (sizes["GINED"], sizes["GINGI"], sizes["GINTR"], sizes["GINSF"], sizes["GINDRW"]) == (3, 5, 3, 3, 3)


def _window_text(windows) -> list[str]:
    return [f"{w['avisit']} ({w['avisitn']:g}) {w['lo']:g} to {w['hi']:g}, target {w['target']:g}"
            for w in windows["windows"]]


@pytest.mark.parametrize("name", ["ADLB", "ADQS", "ADSYM"])
def test_window_method_states_the_windows(spec, name):
    text = " ".join(spec.methods[f"MT.{name}.AVISIT"].description.split())
    for part in _window_text(spec.datasets[name].derivation.params["windows"]):
        assert part in text, (name, part)


def test_methods_state_the_thresholds(spec):
    m = {k: " ".join(v.description.split()) for k, v in spec.methods.items()}
    adlb = spec.datasets["ADLB"].derivation.params
    assert f"TRTEDT + {adlb['on_treatment']['days_after']} days" in m["MT.ADLB.ONTRTFL"]
    adqs = spec.datasets["ADQS"].derivation.params["responder"]
    assert f"least {adqs['threshold']:g} points" in m["MT.ADQS.CRIT"]
    adsym = spec.datasets["ADSYM"].derivation.params["responder"]
    assert f"PCHG <= -{adsym['threshold_pct']:g}" in m["MT.ADSYM.CRIT"]
    min_days = {p.derivation.params["min_days"] for p in spec.datasets["ADSYM"].parameters}
    assert min_days == {4} and "at least 4 such days" in m["MT.ADSYM.PARAM"]


def test_ctcae_criteria_in_the_method_text(spec):
    text = " ".join(spec.methods["MT.ADLB.ATOXGR"].description.split())
    for p in spec.datasets["ADLB"].parameters:
        for side in ("low", "high"):
            crit = p.derivation.params.get(side)
            if crit:
                assert crit["term"] in text, crit["term"]


def test_reference_subject_by_hand():
    """PALACE-101-001 in the committed reference SDTM, worked by hand from qs.csv, xd.csv and lb.csv."""
    from tests.adam.reference import derive_reference

    adam = derive_reference(load_spec(SPEC_DIR))
    qs = adam["ADQS"].set_index(["USUBJID", "PARAMCD", "AVISIT"])
    # Day 1 PF items 1,1,2,1,1 -> RS 1.2 -> (1 - 0.2/3) x 100 = 93.333; QL items 6,5 -> (5.5-1)/6 x 100 = 75
    assert math.isclose(qs.loc[("PALACE-101-001", "C30PF", "BASELINE"), "AVAL"], 280 / 3)
    assert qs.loc[("PALACE-101-001", "C30QL", "BASELINE"), "AVAL"] == 75.0
    sym = adam["ADSYM"].set_index(["USUBJID", "PARAMCD", "AVISIT"])
    # diary days -7..-1: stools 5,5,3,4,2,2,2 = 23/7; flushing 1,1,0,3,2,3,0 = 10/7
    assert math.isclose(sym.loc[("PALACE-101-001", "STOOLAVG", "BASELINE"), "AVAL"], 23 / 7)
    assert math.isclose(sym.loc[("PALACE-101-001", "FLUSHAVG", "BASELINE"), "AVAL"], 10 / 7)
    lb = adam["ADLB"]
    cga = lb[(lb.USUBJID == "PALACE-101-001") & (lb.PARAMCD == "CGA") & (lb.AVISIT == "WEEK 12")].iloc[0]
    # baseline = Day 1 3171.6 ug/L (last on/before TRTSDT); week 12 2044.3 -> PCHG -35.54%
    assert cga["BASE"] == 3171.6 and math.isclose(cga["PCHG"], (2044.3 - 3171.6) / 3171.6 * 100)
