"""MERIDIAN end to end: `studyforge build --study specs/meridian --raw examples/meridian/raw` writes the
SDTM package, and the values derived BY HAND from the raw files (see test_second_study_expected.py for
the derivations) arrive in the written XPT files, read back by an independent reader (pyreadstat).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pyreadstat
from click.testing import CliRunner

from studyforge.cli import main
from tests.sdtm.rulekit import one_row

ROOT = Path(__file__).resolve().parents[2]


def _xpt(folder: Path, name: str):
    df, _ = pyreadstat.read_xport(str(folder / f"{name}.xpt"), encoding="ascii")
    return df




def test_meridian_builds_from_raw_and_the_xpt_holds_the_hand_derived_values(tmp_path):
    out = tmp_path / "pkg"
    res = CliRunner().invoke(main, ["build", "--study", str(ROOT / "specs" / "meridian"),
                                    "--raw", str(ROOT / "examples" / "meridian" / "raw"), "--out", str(out)])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.output
    sdtm = out / "m5" / "datasets" / "meridian" / "tabulations" / "sdtm"
    written = {p.stem for p in sdtm.glob("*.xpt")}
    assert written == {"dm", "suppdm", "ae", "suppae", "ds", "ex", "lb", "vs", "se", "ta", "te", "tv", "ts"}
    assert (sdtm / "define.xml").is_file() and (sdtm / "define.html").is_file()
    assert (out / "json" / "sdtm" / "vs.json").is_file()
    assert not (out / "m5" / "datasets" / "meridian" / "analysis").exists()   # no ADaM spec: none written

    with open(out / "report" / "findings.csv", newline="") as fh:
        findings = list(csv.DictReader(fh))
    # the only errors are the two faults planted in the raw delivery (examples/meridian/README.md)
    errors = {(f["rule"], Path(f["file"]).name, f["line"], f["value"]) for f in findings if f["severity"] == "ERROR"}
    assert errors == {("SD0301", "vs.csv", "56", "02/30/2023"), ("SD0303", "ae.csv", "8", "09:00")}
    notices = {f["rule"] for f in findings if f["severity"] == "NOTICE"}
    assert {"SF-BUILD-004", "SF-RES-000"} <= notices           # the skipped ADaM and results stages are said

    dm = _xpt(sdtm, "dm")
    r = one_row(dm, USUBJID="MERIDIAN-701-1015")
    # SUBJID/SITEID from PATNUM "701-1015"; AGE 1954-04-12 -> 2023-01-09 = 68 (birthday not reached)
    assert (r.SUBJID, r.SITEID, r.BRTHDTC, r.RFICDTC, r.RFSTDTC, r.AGE) == \
        ("1015", "701", "1954-04-12", "2023-01-02", "2023-01-09T08:00", 68)
    assert one_row(dm, USUBJID="MERIDIAN-702-1004").INVNAM == "Dr. Jose Nunez"   # ascii_replacements

    vs = _xpt(sdtm, "vs")
    r = one_row(vs, USUBJID="MERIDIAN-701-1015", VSTESTCD="WEIGHT", VSDTC="2023-01-09T08:15")
    # 176 LB x 0.45359237 = 79.83225712 kg -> 79.83 (2 decimals); STRESC and STRESN agree
    assert (r.VSORRES, r.VSORRESU, r.VSSTRESC, r.VSSTRESN, r.VSSTRESU) == ("176", "LB", "79.83", 79.83, "kg")
    r = one_row(vs, USUBJID="MERIDIAN-701-1015", VSTESTCD="TEMP", VSDTC="2023-01-09T08:15")
    # (98.6 - 32) x 5/9 = 37.0 C
    assert (r.VSSTRESC, r.VSSTRESN, r.VSLOC) == ("37.0", 37.0, "ORAL CAVITY")
    r = one_row(vs, USUBJID="MERIDIAN-708-1012", VSTESTCD="SYSBP", VSDTC="2023-02-08")
    # blank VSTIM: date only; VSDY 2023-02-08 - 2023-01-25 + 1 = 15
    assert (r.VSSTRESN, r.VSLOC, r.VSLAT, r.VSPOS, r.VSDY) == (128, "ARM", "RIGHT", "SUPINE", 15)

    lb = _xpt(sdtm, "lb")
    base = dict(USUBJID="MERIDIAN-702-1004", LBDTC="2023-01-11T07:45")
    r = one_row(lb, LBTESTCD="HGB", **base)
    # 13,2 g/dL x 10 = 132 g/L; range 12,0-17,5 g/dL -> 120-175 g/L; LBDY 11 - 18 = -7
    assert (r.LBORRES, r.LBSTRESC, r.LBSTRESN, r.LBSTRESU, r.LBSTNRLO, r.LBSTNRHI, r.LBDY) == \
        ("13,2", "132", 132, "g/L", 120, 175, -7)
    r = one_row(lb, LBTESTCD="CRP", **base)
    assert (r.LBORRES, r.LBSTRESC, r.LBORRESU) == ("<0,5", "<0.5", "mg/L") and math.isnan(r.LBSTRESN)
    assert one_row(lb, LBTESTCD="CREAT", **base).LBORRESU == "umol/L"

    ae = _xpt(sdtm, "ae")
    r = one_row(ae, USUBJID="MERIDIAN-701-1015", AETERM="HEADACHE")
    assert (r.AESTDTC, r.AEENDTC, r.AEENDY) == ("2023-01--T14:30", "2023-01-20", 12) and math.isnan(r.AESTDY)
    se = _xpt(sdtm, "se")
    # placebo subject: Screening from consent, then the Placebo element from the first dose
    assert one_row(se, USUBJID="MERIDIAN-708-1012", TAETORD=2).ETCD == "PBO"
