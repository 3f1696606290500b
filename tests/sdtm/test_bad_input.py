"""Bad raw input: every problem is a Finding naming raw file, line, field and value; nothing is lost."""

from __future__ import annotations

import pandas as pd
import pytest

from sdtm.command import sdtm_command
from studyforge.findings import Severity

from .conftest import build_with
from .rawkit import base_forms, write_forms


def _errors(findings, rule):
    return [f for f in findings if f.rule == rule and f.severity is Severity.ERROR]


def test_impossible_and_unparseable_dates(sdtm_spec, tmp_path):
    def edit(f):
        f["ae"].loc[0, "AESTDAT"] = "60 FEB 2020"        # day 60 does not exist
        f["ex"].loc[1, "EXSTDAT"] = "31 APR 2021"        # 30-day month
        f["lb"].loc[0, "LBDAT"] = "yesterday"
    ds, findings, _ = build_with(sdtm_spec, tmp_path, edit)
    errs = _errors(findings, "SD0301")
    got = {(f.file.rsplit("/", 1)[-1], f.line, f.field, f.value) for f in errs}
    assert ("ae.csv", 2, "AESTDAT", "60 FEB 2020") in got
    assert ("ex.csv", 3, "EXSTDAT", "31 APR 2021") in got
    assert ("lb.csv", 2, "LBDAT", "yesterday") in got
    assert ds["AE"]["AESTDTC"].iloc[0] == ""                 # never accepted as a date


def test_value_outside_codelists(sdtm_spec, tmp_path):
    def edit(f):
        f["dm"].loc[0, "SEX"] = "Mal"                        # SEX is non-extensible -> ERROR
        f["lb"].loc[0, "LBSPEC"] = "SALIVA"                  # SPECTYPE extensible -> WARNING, kept
    ds, findings, _ = build_with(sdtm_spec, tmp_path, edit)
    e = _errors(findings, "SD0202")
    assert [(f.field, f.value, f.line, f.variable) for f in e] == [("SEX", "Mal", 2, "SEX")]
    w = [f for f in findings if f.rule == "SD0203" and f.variable == "LBSPEC"]
    assert len(w) == 1 and w[0].severity is Severity.WARNING and w[0].value == "SALIVA"
    assert "SALIVA" in set(ds["LB"]["LBSPEC"])


def test_missing_form_and_missing_column(sdtm_spec, tmp_path):
    def edit(f):
        del f["ae"]
        f["lb"] = f["lb"].drop(columns=["LBSPEC"])
    ds, findings, _ = build_with(sdtm_spec, tmp_path, edit)
    miss = _errors(findings, "SD0101")
    assert any(f.field == "ae" and "AE" == f.dataset for f in miss)
    col = _errors(findings, "SD0102")
    assert any(f.field == "LBSPEC" and f.file.endswith("lb.csv") for f in col)
    assert ds["AE"].empty


def test_duplicate_key_and_duplicate_record(sdtm_spec, tmp_path):
    def edit(f):
        dup = f["dm"].iloc[[0]].copy()
        dup["SEX"] = "Female"                                # same SUBJID, different content
        f["dm"] = pd.concat([f["dm"], dup], ignore_index=True)
        again = f["ex"].iloc[[0]].copy()
        again["RECORDPOSITION"] = "9"                        # same injection entered twice
        f["ex"] = pd.concat([f["ex"], again], ignore_index=True)
    ds, findings, recon = build_with(sdtm_spec, tmp_path, edit)
    key = _errors(findings, "SD0802")
    assert [(f.file.rsplit("/", 1)[-1], f.line, f.value) for f in key] == [("dm.csv", 5, "101-001")]
    w = [f for f in findings if f.rule == "SD0801"]
    assert [(f.file.rsplit("/", 1)[-1], f.line) for f in w] == [("ex.csv", 5)]
    assert len(ds["DM"]) == 3 and len(ds["EX"]) == 3
    reasons = {(u["form"], u["line"], u["reason"]) for u in recon.unmapped}
    assert ("dm", 5, "duplicate key") in reasons and ("ex", 5, "duplicate record") in reasons


def test_non_ascii_is_an_error_naming_the_record(sdtm_spec, tmp_path):
    def edit(f):
        f["cmprior"].loc[0, "CMTRT"] = "Octréotide LAR"
    _, findings, _ = build_with(sdtm_spec, tmp_path, edit)
    e = _errors(findings, "SD1001")
    assert [(f.variable, f.field, f.line, f.value) for f in e] == [("CMTRT", "CMTRT", 2, "OCTRÉOTIDE LAR")]


def test_subject_unknown_to_dm(sdtm_spec, tmp_path):
    def edit(f):
        row = f["ae"].iloc[[0]].copy()
        row["SUBJID"] = "199-999"
        f["ae"] = pd.concat([f["ae"], row], ignore_index=True)
    ds, findings, recon = build_with(sdtm_spec, tmp_path, edit)
    e = _errors(findings, "SD0901")
    assert [(f.line, f.value, f.file.rsplit("/", 1)[-1]) for f in e] == [(3, "199-999", "ae.csv")]
    assert "PALACE-199-999" not in set(ds["AE"]["USUBJID"])
    assert ("ae", 3, "subject not in DM") in {(u["form"], u["line"], u["reason"]) for u in recon.unmapped}


def test_partial_date_not_overwritten_by_study_day(sdtm_spec, tmp_path):
    def edit(f):
        f["ae"].loc[0, "AESTDAT"] = "UN MAR 2021"
    ds, _, _ = build_with(sdtm_spec, tmp_path, edit)
    ae = ds["AE"].iloc[0]
    assert ae["AESTDTC"] == "2021-03" and pd.isna(ae["AESTDY"])


def test_strict_writes_nothing(tmp_path, project_root):
    forms = base_forms()
    forms["dm"].loc[0, "SEX"] = "Mal"
    raw = write_forms(forms, tmp_path / "raw")
    out = tmp_path / "out"
    assert sdtm_command(raw, project_root / "specs" / "palace", out, strict=True) == 1
    assert not out.exists()


@pytest.mark.parametrize("strict", [False])
def test_command_writes_xpt_and_reports(tmp_path, project_root, strict):
    raw = write_forms(base_forms(), tmp_path / "raw")
    out = tmp_path / "out"
    assert sdtm_command(raw, project_root / "specs" / "palace", out, strict=strict) == 0
    sdtm_dir = out / "m5" / "datasets" / "palace" / "tabulations" / "sdtm"
    import pyreadstat  # an independent reader of the XPT files

    dm, meta = pyreadstat.read_xport(str(sdtm_dir / "dm.xpt"))
    assert list(dm["USUBJID"]) == ["PALACE-101-001", "PALACE-101-002", "PALACE-102-001"]
    assert meta.column_names_to_labels["RFICDTC"] == "Date/Time of Informed Consent"
    assert (out / "report" / "sdtm_findings.csv").exists()
    recon = pd.read_csv(out / "report" / "sdtm_reconciliation.csv")
    assert {"form", "records_in", "dataset", "records_out", "not_mapped", "reason"} <= set(recon.columns)


def test_command_non_strict_reports_unwritable_dataset(tmp_path, project_root):
    forms = base_forms()
    forms["cmprior"].loc[0, "CMTRT"] = "Octréotide"
    raw = write_forms(forms, tmp_path / "raw")
    out = tmp_path / "out"
    assert sdtm_command(raw, project_root / "specs" / "palace", out, strict=False) == 0
    found = pd.read_csv(out / "report" / "sdtm_findings.csv", keep_default_na=False)
    assert "SD1001" in set(found["rule"])                  # the value, with file/line/field
    assert (out / "m5" / "datasets" / "palace" / "tabulations" / "sdtm" / "dm.xpt").exists()
