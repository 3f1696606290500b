"""`studyforge validate` on packages written to disk: XPT + define.xml, reports, exit codes, and the rules
that need files (layout, define.xml presence/validity/agreement)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from studyforge.cli import main
from studyforge.conform.engine import run_checks
from studyforge.conform.package import load_package
from studyforge.spec.models import Spec
from tests.conform.builder import adam_frames, make_spec, sdtm_frames, write_package

SDTM_DIR = Path("m5/datasets/palace/tabulations/sdtm")
ADAM_DIR = Path("m5/datasets/palace/analysis/adam/datasets")


def write_spec(spec: Spec, folder: Path) -> Path:
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False

    def dump(obj, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            yaml.dump(obj, fh)

    dump(spec.study.model_dump(mode="json", by_alias=True, exclude_none=True), folder / "study.yaml")
    dump({"codelists": [c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in spec.codelists.values()]},
         folder / "codelists.yaml")
    for name, ds in spec.datasets.items():
        sub = "sdtm" if ds.purpose == "Tabulation" else "adam"
        dump(ds.model_dump(mode="json", by_alias=True, exclude_none=True), folder / sub / f"{name}.yaml")
    return folder


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    root = tmp_path_factory.mktemp("pkg")
    s, a = sdtm_frames(), adam_frames()
    spec = make_spec(s, a)
    write_package(root / "package", s, a, spec)
    write_spec(spec, root / "spec")
    return root / "package", root / "spec", spec


def copy_package(clean, tmp_path: Path) -> Path:
    dst = tmp_path / "package"
    shutil.copytree(clean[0], dst)
    return dst


def new_findings(pkg: Path, spec: Spec, clean_pkg: Path):
    base = {(f.rule, f.dataset, f.variable, f.message) for f in run_checks(load_package(clean_pkg, spec))}
    return [f for f in run_checks(load_package(pkg, spec)) if (f.rule, f.dataset, f.variable, f.message) not in base]


def test_clean_package_on_disk_has_no_findings(clean):
    pkg, _, spec = clean
    view = load_package(pkg, spec)
    assert sorted(view.datasets) == ["ADSL", "ADTTE", "AE", "DM", "EX", "SUPPAE", "SUPPDM", "TR", "TS", "TU"]
    assert [str(f) for f in run_checks(view)] == []


def test_cli_clean_strict_exit_0_and_reports(clean, tmp_path):
    pkg, spec_dir, _ = clean
    out = tmp_path / "rep"
    res = CliRunner().invoke(main, ["validate", str(pkg), "--spec", str(spec_dir), "--strict", "--report", str(out)])
    assert res.exit_code == 0, res.output
    assert "0 error(s)" in res.output
    doc = json.loads((out / "validation.json").read_text())
    assert doc["summary"] == {"ERROR": 0, "WARNING": 0, "NOTICE": 0} and doc["findings"] == []
    assert {r["id"] for r in doc["rules"]} >= {"SF-FDA-0001", "SF-CT-0001", "SF-AD-0005"}
    assert "No findings." in (out / "validation.html").read_text()
    assert (out / "validation.csv").read_text().startswith("severity,rule,dataset,variable,usubjid,record")


def test_cli_broken_exit_codes_reports_and_determinism(clean, tmp_path):
    from studyforge.xpt import read_xpt, write_xpt

    pkg = copy_package(clean, tmp_path)
    ae_path = pkg / SDTM_DIR / "ae.xpt"
    df, meta = read_xpt(ae_path)
    df.loc[0, "AEENDTC"] = "<script>alert(1)</script>"     # an invalid date; HTML must escape it
    df.loc[1, "AESTDTC"] = "2021-13"                         # SF-DT-0001 on row 2
    write_xpt(df, ae_path, name="AE", label=meta.label, labels={v.name: v.label for v in meta.variables})
    runner = CliRunner()
    out1, out2 = tmp_path / "r1", tmp_path / "r2"
    strict = runner.invoke(main, ["validate", str(pkg), "--strict", "--report", str(out1)])
    assert strict.exit_code == 1, strict.output
    lax = runner.invoke(main, ["validate", str(pkg), "--report", str(out2)])
    assert lax.exit_code == 0
    for fmt in ("html", "csv", "json"):   # same input, same bytes
        assert (out1 / f"validation.{fmt}").read_bytes() == (out2 / f"validation.{fmt}").read_bytes()
    html = (out1 / "validation.html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    rows = list(csv.DictReader((out1 / "validation.csv").open()))
    hit = [r for r in rows if r["rule"] == "SF-DT-0001" and r["variable"] == "AESTDTC"]
    assert [(r["dataset"], r["variable"], r["usubjid"], r["record"], r["value"]) for r in hit] == [
        ("AE", "AESTDTC", "PALACE-101-001", "row 2, AESEQ=2", "2021-13")]
    assert rows[0]["severity"] == "ERROR"   # errors first
    default = runner.invoke(main, ["validate", str(pkg), "--format", "json"])   # issue 12: writes nothing
    assert default.exit_code == 0 and not (pkg / "report").exists()


def test_cli_bad_format_and_bad_spec(clean, tmp_path):
    pkg, _, _ = clean
    res = CliRunner().invoke(main, ["validate", str(pkg), "--format", "pdf", "--report", str(tmp_path)])
    assert res.exit_code == 2 and "pdf" in res.output
    bad_spec = tmp_path / "spec"
    bad_spec.mkdir()
    res = CliRunner().invoke(main, ["validate", str(pkg), "--spec", str(bad_spec), "--report", str(tmp_path / "r")])
    assert res.exit_code == 2 and "study.yaml" in res.output


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_missing_define_fires_fda_0004(clean, tmp_path):
    pkg = copy_package(clean, tmp_path)
    (pkg / ADAM_DIR / "define.xml").unlink()
    new = new_findings(pkg, clean[2], clean[0])
    assert [(f.rule, f.value) for f in new] == [("SF-FDA-0004", "ADaM")]


def test_schema_invalid_define_fires_fda_0005(clean, tmp_path):
    pkg = copy_package(clean, tmp_path)
    _edit(pkg / SDTM_DIR / "define.xml", ' def:Context="Submission"', "")   # required attribute of ODM
    new = new_findings(pkg, clean[2], clean[0])
    assert {f.rule for f in new} == {"SF-FDA-0005"}
    assert all(f.file == str(SDTM_DIR / "define.xml") and f.line == 2 for f in new)


def test_dataset_without_file_fires_dx_0001(clean, tmp_path):
    pkg = copy_package(clean, tmp_path)
    (pkg / SDTM_DIR / "suppae.xpt").unlink()
    new = new_findings(pkg, clean[2], clean[0])
    # SF-SD-0001 does not fire: a SUPP-- dataset may be absent (no qualifier values, not submitted empty)
    assert {f.rule for f in new} == {"SF-DX-0001"}
    assert [(f.dataset, f.file) for f in new if f.rule == "SF-DX-0001"] == [("SUPPAE", str(SDTM_DIR / "define.xml"))]


def test_define_variable_name_fires_dx_0002(clean, tmp_path):
    pkg = copy_package(clean, tmp_path)
    _edit(pkg / SDTM_DIR / "define.xml", 'Name="AEDECOD"', 'Name="AEDECD"')
    new = new_findings(pkg, clean[2], clean[0])
    assert sorted((f.rule, f.dataset, f.variable) for f in new) == [
        ("SF-DX-0002", "AE", "AEDECD"), ("SF-DX-0002", "AE", "AEDECOD")]


def test_define_length_fires_dx_0003(clean, tmp_path):
    pkg = copy_package(clean, tmp_path)
    # longest AETERM is DIARRHOEA (9 bytes): the define builder wrote Length="9"
    _edit(pkg / SDTM_DIR / "define.xml", 'Name="AETERM" DataType="text" Length="9"', 'Name="AETERM" DataType="text" Length="30"')
    new = new_findings(pkg, clean[2], clean[0])
    assert [(f.rule, f.dataset, f.variable, f.value) for f in new] == [("SF-DX-0003", "AE", "AETERM", "9")]


def test_not_a_package_fires_pk_0001(tmp_path):
    view = load_package(tmp_path)
    found = run_checks(view)
    assert [(f.rule, f.file) for f in found if f.rule == "SF-PK-0001"] == [("SF-PK-0001", str(tmp_path))]


def test_unreadable_file_fires_pk_0002(clean, tmp_path):
    pkg = copy_package(clean, tmp_path)
    (pkg / SDTM_DIR / "cm.xpt").write_bytes(b"this is not a transport file")
    new = new_findings(pkg, clean[2], clean[0])
    assert [(f.rule, f.file) for f in new] == [("SF-PK-0002", str(SDTM_DIR / "cm.xpt"))]


def test_upper_case_file_name_fires_pk_0003(clean, tmp_path):
    pkg = copy_package(clean, tmp_path)
    (pkg / SDTM_DIR / "ae.xpt").rename(pkg / SDTM_DIR / "AE.xpt")
    new = new_findings(pkg, clean[2], clean[0])
    assert [(f.rule, f.dataset, f.value) for f in new] == [("SF-PK-0003", "AE", "AE.xpt")]


def test_itemref_without_itemdef_fires_dx_0002(clean, tmp_path):
    pkg = copy_package(clean, tmp_path)
    _edit(pkg / SDTM_DIR / "define.xml", '<ItemRef ItemOID="IT.AE.AEDECOD"', '<ItemRef ItemOID="IT.AE.NOSUCH"')
    new = new_findings(pkg, clean[2], clean[0])
    assert ("SF-DX-0002", "", "ItemGroupDef AE: ItemRef IT.AE.NOSUCH has no ItemDef") in {
        (f.rule, f.dataset, f.message) for f in new}
