"""derive_adam end to end on an SDTM built by hand here (not by our SDTM stage).

Three dosed subjects, first dose 2021-01-04 (S), BICR (accepted reads) and investigator RECIST reads:
  X: SD at S+84, PD at S+168 (both evaluators)         -> PFS event at S+168 (AVAL 169)
  Y: PR at S+84, PR at S+140, SD at S+224, alive       -> confirmed responder: DOR from S+84, censored at S+224
  Z: no post-baseline assessment, died S+30            -> PFS event (death before first assessment), OS event
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from adam.pipeline import derive_adam
from studyforge.findings import Severity
from studyforge.spec.models import Spec, Standard, Study
from tests.adam.conftest import load_dataset, sas

S = sas("2021-01-04")
X, Y, Z = "PALACE-101-001", "PALACE-102-001", "PALACE-103-001"


def iso(day: int) -> str:
    return (dt.date(2021, 1, 4) + dt.timedelta(days=day)).isoformat()


def study() -> Study:
    return Study(id="PALACE", name="PALACE", title="PALACE", protocol="PALACE",
                 standards=[Standard(name="ADaMIG", version="1.3", type="IG", publishing_set="ADaM")],
                 xpt_created=dt.datetime(2026, 1, 1))


def sdtm() -> dict[str, pd.DataFrame]:
    subj = [X, Y, Z]
    dm = pd.DataFrame({"STUDYID": "PALACE", "USUBJID": subj, "SUBJID": [s[7:] for s in subj], "SITEID": [s[7:10] for s in subj],
                       "AGE": [55.0, 67.0, 71.0], "AGEU": "YEARS", "SEX": ["M", "F", "M"], "RACE": "ASIAN",
                       "ETHNIC": "NOT HISPANIC OR LATINO", "COUNTRY": "CHN", "ARMCD": "LAN120",
                       "ARM": "Lanreotide Autogel 120 mg", "ACTARMCD": "LAN120", "ACTARM": "Lanreotide Autogel 120 mg",
                       "RFSTDTC": iso(0), "DTHDTC": ["", "", iso(30)], "DTHFL": ["", "", "Y"]})
    ex = pd.DataFrame({"STUDYID": "PALACE", "USUBJID": [X, X, Y, Y, Z], "EXSEQ": [1.0, 2.0, 1.0, 2.0, 1.0],
                       "EXTRT": "LANREOTIDE", "EXDOSE": 120.0, "EXDOSU": "mg",
                       "EXSTDTC": [iso(0), iso(28), iso(0), iso(28), iso(0)],
                       "EXENDTC": [iso(0), iso(28), iso(0), iso(28), iso(0)]})
    suppex = pd.DataFrame({"USUBJID": [Y], "RDOMAIN": "EX", "IDVAR": "EXSEQ", "IDVARVAL": "2", "QNAM": "EXADMIN",
                           "QVAL": "PARTNER"})
    se = pd.DataFrame({"USUBJID": subj, "ETCD": "HCPINJ", "SESTDTC": iso(0)})
    ds = pd.DataFrame({"USUBJID": [X, Z], "DSSEQ": [1.0, 1.0], "DSCAT": "DISPOSITION EVENT", "DSSCAT": "END OF STUDY",
                       "DSDECOD": ["PROGRESSIVE DISEASE", "DEATH"], "DSTERM": ["PROGRESSIVE DISEASE", "SEPSIS"],
                       "DSSTDTC": [iso(180), iso(30)]})
    rows = []
    seq = {s: 0 for s in subj}
    for s, day, resp in [(X, -7, ""), (X, 84, "SD"), (X, 168, "PD"), (Y, 84, "PR"), (Y, 140, "PR"), (Y, 224, "SD")]:
        for ev, evid, acpt in [("INDEPENDENT ASSESSOR", "RADIOLOGIST 1", "Y"), ("INVESTIGATOR", "", "")]:
            if not resp:
                continue
            seq[s] += 1
            rows.append({"STUDYID": "PALACE", "USUBJID": s, "RSSEQ": float(seq[s]), "RSCAT": "RECIST 1.1",
                         "RSTESTCD": "OVRLRESP", "RSTEST": "Overall Response", "RSORRES": resp, "RSSTRESC": resp,
                         "RSEVAL": ev, "RSEVALID": evid, "RSACPTFL": acpt, "RSDTC": iso(day), "VISITNUM": float(day // 84 + 2),
                         "VISIT": f"WEEK {day // 7}", "RSSTRESN": np.nan})
    for s in subj:
        seq[s] += 1
        rows.append({"STUDYID": "PALACE", "USUBJID": s, "RSSEQ": float(seq[s]), "RSCAT": "ECOG", "RSTESTCD": "ECOG101",
                     "RSTEST": "ECOG", "RSORRES": "1", "RSSTRESC": "1", "RSEVAL": "", "RSEVALID": "", "RSACPTFL": "",
                     "RSDTC": iso(-3), "VISITNUM": 1.0, "VISIT": "SCREENING", "RSSTRESN": 1.0})
    rs = pd.DataFrame(rows)
    tu = pd.DataFrame({"USUBJID": [X, Y, X, Y], "TUSEQ": [1.0, 1.0, 2.0, 2.0], "TUTESTCD": "TUMIDENT", "TUORRES": "TARGET",
                       "TULNKID": "T01", "TUEVAL": ["INDEPENDENT ASSESSOR"] * 2 + ["INVESTIGATOR"] * 2,
                       "TUEVALID": ["RADIOLOGIST 1"] * 2 + [""] * 2, "TUDTC": iso(-7), "VISITNUM": 1.0})
    tr = pd.DataFrame({"USUBJID": [X, Y], "TRSEQ": [1.0, 1.0], "TRTESTCD": "LDIAM", "TRSTRESN": [30.0, 40.0],
                       "TRLNKID": "T01", "TREVAL": "INDEPENDENT ASSESSOR", "TRDTC": iso(-7)})
    cm = pd.DataFrame({"USUBJID": [X], "CMSEQ": [1.0], "CMCAT": "PRIOR CANCER THERAPY", "CMTRT": "OCTREOTIDE",
                       "CMSTDTC": "2019-05"})
    mh = pd.DataFrame({"USUBJID": subj, "MHSEQ": 1.0, "MHCAT": "PRIMARY DIAGNOSIS", "MHTERM": "NEUROENDOCRINE TUMOUR",
                       "MHLOC": ["PANCREAS", "MIDGUT", "UNKNOWN PRIMARY"]})
    suppmh = pd.DataFrame({"USUBJID": subj * 2, "RDOMAIN": "MH", "IDVAR": "MHSEQ", "IDVARVAL": "1",
                           "QNAM": ["MHGRADE"] * 3 + ["KI67"] * 3, "QVAL": ["G1", "G2", "G1", "1", "5.5", "2"]})
    lb = pd.DataFrame({"USUBJID": [X, Y, Z, X], "LBSEQ": [1.0, 1.0, 1.0, 2.0], "LBTESTCD": ["CGA", "CGA", "CGA", "IA5OHEXR"],
                       "LBSTRESN": [150.0, 80.0, 300.0, 12.0], "LBSTRESU": ["ng/mL"] * 3 + ["mg/24h"],
                       "LBDTC": [iso(-5), iso(-5), iso(-5), iso(-5)]})
    ae = pd.DataFrame({"USUBJID": [Y], "AESEQ": [1.0], "AEDECOD": ["DIARRHOEA"], "AEOUT": ["RECOVERED/RESOLVED"],
                       "AESTDTC": [iso(250)], "AEENDTC": [iso(260)]})
    return {"DM": dm, "EX": ex, "SUPPEX": suppex, "SE": se, "DS": ds, "RS": rs, "TU": tu, "TR": tr, "CM": cm,
            "MH": mh, "SUPPMH": suppmh, "LB": lb, "AE": ae}


def spec(with_adrs: bool) -> Spec:
    names = ["ADSL", "ADRS", "ADTTE"] if with_adrs else ["ADSL", "ADTTE"]
    return Spec(study=study(), datasets={n: load_dataset(n) for n in names})


def _adrs_available() -> bool:
    try:
        from adam.adrs import derive_adrs  # noqa: F401
    except Exception:  # noqa: BLE001
        return False
    return True


def test_adsl_and_adtte_shaped_to_spec_without_adrs():
    out, findings = derive_adam(sdtm(), spec(with_adrs=False))
    adsl_spec, adtte_spec = load_dataset("ADSL"), load_dataset("ADTTE")
    assert list(out["ADSL"].columns) == [v.name for v in adsl_spec.variables]
    assert list(out["ADTTE"].columns) == [v.name for v in adtte_spec.variables]
    adsl = out["ADSL"].set_index("USUBJID")
    assert list(adsl["SELFFL"]) == ["N", "Y", "N"]
    assert list(adsl["EFFFL"]) == ["Y", "Y", "N"]
    assert list(adsl["BCGA"]) == [150.0, 80.0, 300.0]
    assert adsl.loc[Z, "DTHDT"] == S + 30 and adsl.loc[Z, "DTHCAUS"] == "SEPSIS"
    assert adsl.loc[Y, "LSTALVDT"] == S + 260  # AE end date
    # No ADRS in the spec: responses unknown -> PFS censored at start for X, Y; Z dies at S+30 -> event.
    tte = out["ADTTE"].set_index(["USUBJID", "PARAMCD"])
    assert tte.loc[(X, "PFS"), "CNSR"] == 1 and tte.loc[(Z, "PFS"), "CNSR"] == 0
    assert any(f.rule == "ADTTE-NO-ADRS" for f in findings)
    assert not [f for f in findings if f.severity is Severity.ERROR]
    for name, df in out.items():  # types per spec: Num float64, Char str without missing values
        ds = load_dataset(name)
        for v in ds.variables:
            if v.type == "Num":
                assert df[v.name].dtype == np.float64, (name, v.name)
            else:
                assert not df[v.name].isna().any(), (name, v.name)


@pytest.mark.skipif(not _adrs_available(), reason="adam.adrs.derive_adrs has not landed")
def test_full_chain_with_adrs():
    out, findings = derive_adam(sdtm(), spec(with_adrs=True))
    errors = [str(f) for f in findings if f.severity is Severity.ERROR]
    assert not errors, errors
    assert set(out) == {"ADSL", "ADRS", "ADTTE"}
    tte = out["ADTTE"].set_index(["USUBJID", "PARAMCD"])
    # X: PD at S+168 by BICR and by investigator -> events, AVAL 169.
    for p in ("PFS", "PFSINV", "TTP"):
        assert (tte.loc[(X, p), "CNSR"], tte.loc[(X, p), "AVAL"]) == (0.0, 169.0), p
    # Y: PR S+84 confirmed by PR S+140 (>= 28 days) -> DOR from S+84, no PD -> censored at last adequate S+224.
    assert tte.loc[(Y, "DOR"), "STARTDT"] == S + 84 and tte.loc[(Y, "DOR"), "ADT"] == S + 224
    assert tte.loc[(Y, "DOR"), "CNSR"] == 2 and tte.loc[(Y, "DOR"), "AVAL"] == 141
    assert (X, "DOR") not in tte.index and (Z, "DOR") not in tte.index
    # Z: death at S+30 before any assessment -> PFS event (FDA), OS event, TTP censored at start (CNSR 5).
    assert tte.loc[(Z, "PFS"), "CNSR"] == 0 and tte.loc[(Z, "PFS"), "AVAL"] == 31
    assert tte.loc[(Z, "TTP"), "CNSR"] == 5 and tte.loc[(Z, "OS"), "CNSR"] == 0
    # Y alive: OS censored at LSTALVDT (AE end S+260).
    assert tte.loc[(Y, "OS"), "CNSR"] == 6 and tte.loc[(Y, "OS"), "ADT"] == S + 260


def test_same_input_same_output():
    a, _ = derive_adam(sdtm(), spec(with_adrs=False))
    b, _ = derive_adam(sdtm(), spec(with_adrs=False))
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])


def test_spec_without_adsl_rule_is_an_error():
    s = spec(with_adrs=False)
    adtte_only = Spec(study=s.study, datasets={"ADTTE": s.datasets["ADTTE"]})
    out, findings = derive_adam(sdtm(), adtte_only)
    assert out == {} and any(f.rule == "ADAM-NO-ADSL" for f in findings)


def test_trimmed_spec_leaves_standard_variables_out_without_errors():
    # A sponsor spec may omit standard by-products (here TRTSDTM, DTHCAUS, SRCSEQ): they are still derived
    # for ADTTE to use, and simply not kept; no ERROR. ADTTE still gets DTHDT from the unshaped ADSL.
    s = spec(with_adrs=False)
    adsl = s.datasets["ADSL"].model_copy(deep=True)
    adsl.variables = [v for v in adsl.variables if v.name not in ("TRTSDTM", "DTHCAUS", "DTHDT", "DTHDTF")]
    adtte = s.datasets["ADTTE"].model_copy(deep=True)
    adtte.variables = [v for v in adtte.variables if v.name != "SRCSEQ"]
    out, findings = derive_adam(sdtm(), Spec(study=s.study, datasets={"ADSL": adsl, "ADTTE": adtte}))
    assert not [f for f in findings if f.severity is Severity.ERROR]
    assert "TRTSDTM" not in out["ADSL"].columns and "SRCSEQ" not in out["ADTTE"].columns
    tte = out["ADTTE"].set_index(["USUBJID", "PARAMCD"])
    assert tte.loc[(Z, "OS"), "CNSR"] == 0 and tte.loc[(Z, "OS"), "ADT"] == S + 30


def test_registry_validates_every_adsl_adtte_derivation_in_the_spec():
    from adam.registry import RULES

    for name in ("ADSL", "ADTTE"):
        ds = load_dataset(name)
        derivations = [ds.derivation] + [p.derivation for p in ds.parameters]
        for d in derivations:
            assert d.rule in RULES, d.rule
            RULES[d.rule].model_validate(d.params)  # raises on a bad parameter
    with pytest.raises(Exception, match="labels must number"):
        RULES["adsl"].model_validate({**load_dataset("ADSL").derivation.params,
                                      "age_groups": {"AGEGR1": {"breaks": [65], "labels": ["<65"]}}})
