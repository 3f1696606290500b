"""ADTTE source lists as data: the new sources (QoL deterioration from ADQS), admiral's rule that a
censoring date before the start is moved to the start, selections on any dataset, and absent inputs.

Conventions as tests/adam/test_adtte.py: S = TRTSDT = 2021-01-04, AVAL = ADT - STARTDT + 1.
TTDQL (MT.ADTTE.TTDQL): event = first ADQS C30QL record (ANL01FL Y) after S with CRIT1FL 'Y'; else censored at the
last C30QL record with CRIT1FL set (CNSR 7) or at S (CNSR 8).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from adam.adtte import derive_adtte
from tests.adam.conftest import sas
from tests.adam.test_adtte import adsl_row

S = sas("2021-01-04")


def adqs(u: str, *visits: tuple[int, str], paramcd: str = "C30QL") -> list[dict]:
    return [{"USUBJID": u, "PARAMCD": paramcd, "ADT": S + d, "CRIT1FL": fl, "AVAL": 50.0, "ANL01FL": "Y"} for d, fl in visits]


def run(adsl_rows, spec, adqs_rows=None, adrs=None, sdtm=None):
    adam = {}
    if adqs_rows is not None:
        adam["ADQS"] = pd.DataFrame(adqs_rows, columns=["USUBJID", "PARAMCD", "ADT", "CRIT1FL", "AVAL", "ANL01FL"])
    tte, findings = derive_adtte(sdtm or {}, pd.DataFrame(adsl_rows), adrs, spec, adam=adam)
    return tte.set_index(["USUBJID", "PARAMCD"]), findings


def test_qol_deterioration_event_and_censorings(adtte_spec):
    rows = (adqs("Q-1", (0, ""), (84, "N"), (168, "Y"), (252, "Y"))  # first CRIT1FL Y at S+168 -> event, AVAL 169
            + adqs("Q-2", (0, ""), (84, "N"), (168, "N"))             # never worse -> censored at S+168, CNSR 7
            + adqs("Q-3", (0, ""))                                     # baseline only -> censored at S (AVAL 1), CNSR 8
            + adqs("Q-4", (84, "Y"), paramcd="QL_OTHER"))              # another scale does not count -> CNSR 8
    tte, _ = run([adsl_row(u) for u in ("Q-1", "Q-2", "Q-3", "Q-4")], adtte_spec, rows)
    r = tte.loc[("Q-1", "TTDQL")]
    assert (r["ADT"], r["AVAL"], r["CNSR"], r["EVNTDESC"], r["SRCDOM"]) == (S + 168, 169.0, 0.0, "QOL DETERIORATION", "QS")
    r = tte.loc[("Q-2", "TTDQL")]
    assert (r["ADT"], r["CNSR"], r["CNSDTDSC"]) == (S + 168, 7.0, "LAST QOL ASSESSMENT")
    r = tte.loc[("Q-3", "TTDQL")]
    assert (r["ADT"], r["AVAL"], r["CNSR"], r["CNSDTDSC"]) == (S, 1.0, 8.0, "TREATMENT START DATE")
    assert tte.loc[("Q-4", "TTDQL"), "CNSR"] == 8.0


def test_qol_parameter_not_derived_without_adqs_and_says_so(adtte_spec):
    adrs = pd.DataFrame(columns=["USUBJID", "PARAMCD", "ADT", "AVALC", "ANL01FL", "SRCSEQ"])
    tte, findings = run([adsl_row("Q-1")], adtte_spec, adrs=adrs)
    assert ("Q-1", "TTDQL") not in tte.index and ("Q-1", "OS") in tte.index
    assert any(f.rule == "ADTTE-NO-ADQS" for f in findings)
    skipped = [f for f in findings if f.rule == "ADTTE-PARAM-SKIPPED"]
    assert [f.value for f in skipped] == ["TTDQL"]  # PFS..OS still derived from ADRS/ADSL


def test_without_adrs_recist_parameters_with_only_adrs_events_are_skipped(adtte_spec):
    # TTP and DOR have only ADRS events (or start): without ADRS they are not derived (a warning each)
    # rather than every subject censored at start; PFS and OS still have death as an event source.
    tte, findings = run([adsl_row("Q-1")], adtte_spec)
    assert sorted(f.value for f in findings if f.rule == "ADTTE-PARAM-SKIPPED") == ["DOR", "TTDQL", "TTP"]
    assert ("Q-1", "PFS") in tte.index and ("Q-1", "OS") in tte.index


def test_os_last_alive_before_start_is_censored_at_start(adtte_spec):
    # admiral: a censoring date before the start date is moved to the start date. LSTALVDT = S-3
    # (e.g. only a screening visit) -> OS censored at S, AVAL 1 (was -2), CNSR 6, with a warning.
    tte, findings = run([adsl_row("O-1", lstalvdt=S - 3)], adtte_spec)
    r = tte.loc[("O-1", "OS")]
    assert (r["ADT"], r["AVAL"], r["CNSR"], r["CNSDTDSC"], r["SRCVAR"]) == (S, 1.0, 6.0, "TREATMENT START DATE", "TRTSDT")
    assert any(f.rule == "ADTTE-CENSOR-BEFORE-START" and f.usubjid == "O-1" for f in findings)
    assert not any(f.rule == "ADTTE-AVAL" for f in findings)


def test_subsequent_therapy_selection_matching_nothing_is_a_warning(adtte_spec):
    # CM has therapies but none with CMCAT 'SUBSEQUENT ANTI-CANCER THERAPY': the empty selection names
    # the values that occur (a misspelt category would otherwise silently never censor).
    cm = pd.DataFrame({"USUBJID": ["O-1"], "CMSEQ": [1.0], "CMCAT": ["PRIOR CANCER THERAPY"], "CMSTDTC": ["2020-01-01"]})
    _, findings = run([adsl_row("O-1")], adtte_spec, sdtm={"CM": cm})
    f = [f for f in findings if f.rule == "ADAM-SELECT-EMPTY" and f.dataset == "CM"]
    assert len(f) == 1 and "'PRIOR CANCER THERAPY'" in f[0].message
    assert f[0].field == "ADTTE.derivation.params.sources.new_therapy.where"


def test_event_sources_are_data_contains_selection(adtte_spec):
    # A spec can define an event from any dataset with any selection: death from DS records whose
    # DSTERM contains 'DEATH DUE TO' (the CDISC pilot's wording), dated by DSSTDTC.
    params = dict(adtte_spec.derivation.params)
    params["sources"] = {**params["sources"], "ds_death": {
        "dataset": "DS", "where": {"var": "DSTERM", "contains": "DEATH DUE TO"}, "date": "DSSTDTC", "seq": "DSSEQ",
        "relative_to_start": False}}
    prm = {"start": "trtsdt", "events": [{"source": "ds_death", "evntdesc": "DEATH"}],
           "censors": [{"kind": "source", "source": "alive", "cnsr": 1, "evntdesc": "ALIVE"},
                       {"kind": "start", "cnsr": 1, "evntdesc": "ALIVE"}]}
    os2 = adtte_spec.parameters[0].model_copy(update={
        "paramcd": "OS2", "derivation": adtte_spec.parameters[0].derivation.model_copy(update={"params": prm})})
    spec = adtte_spec.model_copy(update={
        "derivation": adtte_spec.derivation.model_copy(update={"params": params}), "parameters": [os2]})
    ds = pd.DataFrame({"USUBJID": ["D-1", "D-2"], "DSSEQ": [3.0, 3.0], "DSSTDTC": ["2021-03-05", "2021-03-05"],
                       "DSTERM": ["DEATH DUE TO PNEUMONIA", "COMPLETED"]})
    tte, _ = run([adsl_row("D-1", lstalvdt=S + 10), adsl_row("D-2", lstalvdt=S + 10)], spec, sdtm={"DS": ds})
    r = tte.loc[("D-1", "OS2")]
    # 2021-03-05 - 2021-01-04 = 60 days -> AVAL 61, SRCDOM DS, SRCVAR DSSTDTC, SRCSEQ 3
    assert (r["ADT"], r["AVAL"], r["CNSR"], r["SRCDOM"], r["SRCVAR"], r["SRCSEQ"]) == (S + 60, 61.0, 0.0, "DS", "DSSTDTC", 3.0)
    assert tte.loc[("D-2", "OS2"), "CNSR"] == 1.0 and tte.loc[("D-2", "OS2"), "ADT"] == S + 10
    assert np.isnan(tte.loc[("D-2", "OS2"), "SRCSEQ"])
