"""The ADaM stage on SDTM studyforge did not make: CDISCPILOT01 as pharmaversesdtm ships it (11 subjects,
tests/data/cdiscpilot01) with its own spec (specs/cdiscpilot01). Expected values derived by hand from
the records (dates shown in ISO; AVAL = ADT - STARTDT + 1).

The pilot differs from PALACE where a new user trips: no DSSCAT (one disposition event per subject),
no RSCAT, no TUDTC, placebo doses with EXDOSE 0, randomisation date only in DS (DSDECOD RANDOMIZED),
a non-dosed screen failure, deaths in DM/DS.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from adam.pipeline import derive_adam
from studyforge.findings import Severity
from studyforge.spec.loader import load_spec
from tests.adam.conftest import sas

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "cdiscpilot01"


def pilot_sdtm() -> dict[str, pd.DataFrame]:
    out = {}
    for p in sorted(DATA.glob("*.csv")):
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
        for c in df.columns:
            if c.endswith(("SEQ", "DY", "STRESN", "STNRLO", "STNRHI")) or c in ("AGE", "EXDOSE", "VISITNUM"):
                df[c] = pd.to_numeric(df[c].replace("", None), errors="coerce").astype(float)
        out[p.stem.upper()] = df
    return out


@pytest.fixture(scope="module")
def derived():
    spec = load_spec(ROOT / "specs" / "cdiscpilot01")
    out, findings = derive_adam(pilot_sdtm(), spec)
    return {k: v for k, v in out.items()}, findings


def test_runs_without_errors_and_states_its_defaults(derived):
    out, findings = derived
    assert set(out) == {"ADSL", "ADRS", "ADTTE", "ADAE", "ADLB"}
    assert not [str(f) for f in findings if f.severity is Severity.ERROR]
    rules = {f.rule for f in findings}
    assert {"ADRS-RSCAT", "ADRS-TUDTC", "ADSL-EFF-DATE"} <= rules  # each absent Permissible/Expected variable stated


def test_adsl_disposition_randomisation_and_death(derived):
    adsl = derived[0]["ADSL"].set_index("USUBJID")
    # 01-701-1130: DS DISPOSITION EVENT 'COMPLETED' on 2014-08-16 -> COMPLETED; RANDOMIZED 2014-02-15.
    assert tuple(adsl.loc["01-701-1130", ["EOSSTT", "EOSDT", "RANDDT"]]) == ("COMPLETED", sas("2014-08-16"),
                                                                           sas("2014-02-15"))
    # 01-701-1211: DISPOSITION EVENT 'DEATH' 2013-01-14 -> DISCONTINUED, DCSREAS DEATH; DM DTHDTC 2013-01-14.
    r = adsl.loc["01-701-1211"]
    assert (r["EOSSTT"], r["DCSREAS"], r["DTHDT"], r["DTHCAUS"]) == ("DISCONTINUED", "DEATH", sas("2013-01-14"), "DEATH")
    # 01-701-1057: SCREEN FAILURE -> blank status (admiral format_eosstt), not dosed, no RANDDT.
    r = adsl.loc["01-701-1057"]
    assert (r["EOSSTT"], r["SAFFL"]) == ("", "N") and pd.isna(r["RANDDT"]) and pd.isna(r["TRTSDT"])
    # 01-701-1118 (placebo, EXDOSE 0): first dose 2014-03-12 counts (admiral: placebo dose 0 is a dose).
    assert adsl.loc["01-701-1118", "TRTSDT"] == sas("2014-03-12") and adsl.loc["01-701-1118", "SAFFL"] == "Y"
    assert adsl.loc["01-701-1015", "EFFFL"] == "Y"  # TARGET lesion at VISIT SCREENING (no TUDTC)


def test_adrs_bor_by_hand(derived):
    per_subject = derived[0]["ADRS"][~derived[0]["ADRS"]["PARAMCD"].isin(["OVR", "OVRINV"])]  # one row per subject
    adrs = per_subject.set_index(["USUBJID", "PARAMCD"])["AVALC"]
    # 01-701-1115 BICR: SD (day 22), PR (day 43), CR (day 64) -> best response CR (RECIST 1.1 4.4).
    assert adrs[("01-701-1115", "BOR")] == "CR"
    # 01-701-1028: SD on day 22 is under 28 days (min_sd_days 28, admiralonco ref_start_window) -> NE;
    # PD on day 43; the later SD comes after PD -> BOR PD.
    assert adrs[("01-701-1028", "BOR")] == "PD"
    # 01-701-1097: only NON-CR/NON-PD on day 22 (< 28 days) -> NE.
    assert adrs[("01-701-1097", "BOR")] == "NE"


def test_adtte_from_randomisation(derived):
    tte = derived[0]["ADTTE"].set_index(["USUBJID", "PARAMCD"])
    # 01-701-1130: PD on 2014-04-19; RANDDT 2014-02-15 -> 13 + 31 + 19 = 63 days later, AVAL 64, event.
    assert tuple(tte.loc[("01-701-1130", "PFS"), ["STARTDT", "AVAL", "CNSR"]]) == (sas("2014-02-15"), 64.0, 0.0)
    # 01-701-1211: death 2013-01-14, RANDDT 2012-11-15 -> 15 + 31 + 14 = 60, AVAL 61 (OS event).
    assert tuple(tte.loc[("01-701-1211", "OS"), ["AVAL", "CNSR"]]) == (61.0, 0.0)
    # Its PFS: no tumour assessment and death 60 > 2 x 21 + 7 = 49 days after the start -> censored at start.
    assert tuple(tte.loc[("01-701-1211", "PFS"), ["AVAL", "CNSR"]]) == (1.0, 1.0)
    assert "01-701-1057" not in set(tte.index.get_level_values(0))  # no RANDDT: no records (a notice says so)


def test_adae_treatment_emergence(derived):
    ae = derived[0]["ADAE"]
    # 01-701-1118: its only AE (COUGH) started 2014-03-10, before the first dose 2014-03-12 -> not emergent.
    assert list(ae.loc[ae["USUBJID"] == "01-701-1118", "TRTEMFL"]) == [""]
    assert (ae.groupby("USUBJID")["AOCCFL"].apply(lambda s: (s == "Y").sum()) <= 1).all()


def test_pilot_spec_checks_clean_and_is_canonical():
    from studyforge.cli import rule_registries
    from studyforge.spec.check import check_spec
    from studyforge.spec.fmt import format_spec_dir
    from studyforge.spec.loader import load_spec_with_locations

    spec, locations = load_spec_with_locations(ROOT / "specs" / "cdiscpilot01")
    assert [str(f) for f in check_spec(spec, locations, rule_registries()) if f.severity.value in ("ERROR", "WARNING")] == []
    assert format_spec_dir(ROOT / "specs" / "cdiscpilot01", write=False) == []
