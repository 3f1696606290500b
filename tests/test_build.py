"""`studyforge build` end to end on the default study: layout, determinism, validity, --strict."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from studyforge.build import TIMING_FILES
from studyforge.cli import main
from studyforge.define.xml import validate_define
from studyforge.manifest import verify_manifest

SDTM = "m5/datasets/palace/tabulations/sdtm"
ADAM = "m5/datasets/palace/analysis/adam/datasets"


def _build(project_root, out, *extra):
    result = CliRunner().invoke(main, ["build", "--study", str(project_root / "specs" / "palace"),
                                       "--out", str(out), *extra], catch_exceptions=False)
    return result


@pytest.fixture(scope="module")
def two_builds(project_root, tmp_path_factory):
    base = tmp_path_factory.mktemp("build")
    for name in ("a", "b"):
        res = _build(project_root, base / name / "palace")
        assert res.exit_code == 0, res.output
    return base / "a" / "palace", base / "b" / "palace"


def test_package_layout(two_builds):
    pkg, _ = two_builds
    for rel in (f"{SDTM}/dm.xpt", f"{SDTM}/ts.xpt", f"{SDTM}/define.xml", f"{SDTM}/define.html",
                f"{ADAM}/adsl.xpt", f"{ADAM}/adrs.xpt", f"{ADAM}/adtte.xpt", f"{ADAM}/define.xml",
                "json/sdtm/dm.json", "json/adam/adsl.json", "report/index.html", "report/validation.html",
                "report/reconciliation.csv", "manifest.json"):
        assert (pkg / rel).is_file(), rel
    names = [p.name for p in pkg.rglob("*") if p.is_file()]
    assert all(n == n.lower() for n in names)          # DESIGN: file names in lower case


def test_two_builds_are_byte_identical(two_builds):
    a, b = two_builds
    files_a = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    differ = [f for f in files_a if (a / f).read_bytes() != (b / f).read_bytes()]
    assert set(differ) <= set(TIMING_FILES), differ   # only the wall-clock timing pages may differ
    assert (a / "manifest.json").read_bytes() == (b / "manifest.json").read_bytes()


def test_manifest_verifies_and_define_is_schema_valid(two_builds):
    pkg, _ = two_builds
    assert verify_manifest(pkg) == []
    assert validate_define(pkg / SDTM / "define.xml") == []
    assert validate_define(pkg / ADAM / "define.xml") == []


def test_clean_default_build_has_no_errors(two_builds):
    pkg, _ = two_builds
    counts = json.loads((pkg / "report" / "build.json").read_text())["counts"]
    errors = [line for line in (pkg / "report" / "findings.csv").read_text().splitlines() if line.startswith("ERROR")]
    assert counts["ERROR"] == 0, "\n".join(errors[:20])


def test_reconciliation_accounts_for_every_raw_record(two_builds):
    """Every raw form's row count (the simulator's manifest) is the count the reconciliation starts from."""
    import pandas as pd

    pkg, _ = two_builds
    recon = pd.read_csv(pkg / "report" / "reconciliation.csv", keep_default_na=False)
    forms = json.loads((pkg / "raw" / "manifest.json").read_text())["forms"]
    assert recon.groupby("form")["records_in"].max().to_dict() == {name: f["rows"] for name, f in forms.items()}


def test_strict_refuses_and_writes_nothing(project_root, tmp_path):
    raw = tmp_path / "raw"
    from sdtm.simulate.command import simulate_command

    assert simulate_command(project_root / "specs" / "palace", subjects=8, seed=7, out_dir=raw,
                            overrides=("messiness.impossible_dates=true", "messiness.impossible_dates_rate=0.5")) == 0
    out = tmp_path / "pkg"
    res = _build(project_root, out, "--raw", str(raw), "--strict")
    assert res.exit_code == 1
    assert "--strict" in res.output
    assert not out.exists()
    assert not any(p.name.endswith(".staging") for p in tmp_path.iterdir())


def test_dataset_json_equals_xpt_for_every_dataset(two_builds):
    """Issue 6: every Dataset-JSON file reads back to the content of its XPT (pyreadstat reads the XPT)."""
    import pyreadstat

    from studyforge.compare import compare_datasets
    from studyforge.datasetjson import read_dataset_json
    from studyforge.datasets_io import normalize

    pkg, _ = two_builds
    pairs = [(x, pkg / "json" / "sdtm" / f"{x.stem}.json") for x in sorted((pkg / SDTM).glob("*.xpt"))]
    pairs += [(x, pkg / "json" / "adam" / f"{x.stem}.json") for x in sorted((pkg / ADAM).glob("*.xpt"))]
    assert len(pairs) >= 20
    for xpt, js in pairs:
        x, _ = pyreadstat.read_xport(str(xpt), disable_datetime_conversion=True)
        j, meta = read_dataset_json(js)
        x, j = normalize(x), normalize(j)
        assert list(j.columns) == list(x.columns), xpt.name
        x["_ROW"] = range(len(x))
        j["_ROW"] = range(len(j))
        res = compare_datasets(x, j, keys=["_ROW"], tolerance=1e-12)
        assert res.equal, f"{xpt.name}:\n{res.report()}"
        assert meta["records"] == len(x)


def test_results_trace_to_raw_lines(two_builds, project_root):
    """A CBR number and a KM week-24 rate of the default build lead, by joins, to raw file lines: the
    ADaM record's SRCDOM/SRCSEQ names the RS record, whose line in the raw BICR export is in the lineage."""
    import csv

    pkg, _ = two_builds
    ard = {r["RESULT_ID"]: r for r in csv.DictReader((pkg / "results" / "ard.csv").open())}
    assert {"CBR24:rate", "PFS:surv_W24", "TEAE:n", "CGA_CHG[AVISITN=24]:mean"} <= set(ard)
    assert "trace.html#CBR24" in (pkg / "results" / "index.html").read_text()
    lineage = list(csv.DictReader((pkg / "report" / "lineage.csv").open()))
    raw_lines = {(r["DOMAIN"], r["USUBJID"], float(r["SEQ"])): (r["FILE"], int(r["LINE"])) for r in lineage}
    for rid in ("CBR24:rate", "PFS:surv_W24"):
        runner = CliRunner()
        res = runner.invoke(main, ["trace", rid, "--package", str(pkg), "--spec", str(project_root / "specs" / "palace"),
                                   "--json"], catch_exceptions=False)
        assert res.exit_code == 0, res.output
        recs = json.loads(res.output)
        hit = [r for r in recs if r["SRCDOM"] == "RS" and r["FILE"]]
        assert hit, rid
        r = hit[0]
        # the same answer by hand: the lineage row of that RS record
        assert raw_lines[("RS", r["USUBJID"], float(r["SRCSEQ"]))] == (r["FILE"], int(r["LINE"]))
        line = (pkg / r["FILE"]).read_text().splitlines()[int(r["LINE"]) - 1]
        assert r["USUBJID"].split("-", 1)[1] in line  # the raw line is that subject's record
