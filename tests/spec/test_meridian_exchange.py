"""MERIDIAN, the second example study, through the metadata exchanges of issue 15: its spec exported to a
P21-template workbook and imported back is the same spec; its generated define.xml imported as a skeleton
gives back its dataset and variable metadata. And a unit table named by a rule must exist (spec check)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from studyforge.spec.loader import load_spec
from studyforge.spec.p21 import export_p21, import_p21, write_spec_folder
from tests.spec.helpers import edit, line_of

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "specs" / "meridian"


@pytest.fixture(scope="module")
def meridian():
    return load_spec(SPEC)


def test_meridian_round_trips_through_excel_and_yaml(meridian, tmp_path):
    export_p21(meridian, tmp_path / "m.xlsx")
    back = import_p21(tmp_path / "m.xlsx")
    assert back.spec == meridian and back.notices == []
    write_spec_folder(back.spec, tmp_path / "spec")
    assert load_spec(tmp_path / "spec") == meridian


def test_meridian_define_imports_as_its_dataset_and_variable_metadata(meridian, tmp_path):
    from sdtm.command import run_sdtm
    from studyforge.dataset_writer import write_dataset_xpt
    from studyforge.define.info import dataset_info_from_xpt
    from studyforge.define.xml import write_define
    from studyforge.spec.define_import import import_define

    datasets, _, _, spec = run_sdtm(ROOT / "examples" / "meridian" / "raw", SPEC)
    for name, df in datasets.items():
        write_dataset_xpt(df, spec.datasets[name], spec.study, tmp_path / f"{name.lower()}.xpt")
    infos = {n: dataset_info_from_xpt(tmp_path / f"{n.lower()}.xpt") for n in datasets}
    write_define(spec, "Tabulation", infos, tmp_path)
    skeleton, notices = import_define(tmp_path / "define.xml")
    assert any("derivation rules are not in a define.xml" in n for n in notices)
    assert set(skeleton.datasets) == set(datasets) == {d.name for d in meridian.sdtm()}
    for name, d in skeleton.datasets.items():
        o = meridian.datasets[name]
        assert (d.label, d.class_, d.structure, d.keys, d.purpose, d.repeating) == \
            (o.label, o.class_, o.structure, o.keys, o.purpose, o.repeating), name
        written = [v.name for v in o.variables if v.name in infos[name].names()]
        assert [v.name for v in d.variables] == written, name
        spec_vars = {v.name: v for v in o.variables}
        for v in d.variables:
            w = spec_vars[v.name]
            assert (v.label, v.type, v.origin.type, v.codelist is None) == \
                (w.label, w.type, w.origin.type, w.codelist is None), f"{name}.{v.name}"
            assert v.derivation is None   # left for the author


def test_unknown_unit_table_is_a_spec_error_at_its_line(tmp_path):
    from studyforge.cli import rule_registries
    from studyforge.spec.check import check_spec
    from studyforge.spec.loader import load_spec_with_locations

    spec_dir = tmp_path / "meridian"
    shutil.copytree(SPEC, spec_dir)
    lb = spec_dir / "sdtm" / "LB.yaml"
    edit(lb, "        table: LAB\n", "        table: LABS\n")     # the first of five: LBSTRESC
    line = line_of(lb, "table: LABS")
    spec, locations = load_spec_with_locations(spec_dir)
    found = [f for f in check_spec(spec, locations, rule_registries()) if f.severity.value == "ERROR"]
    assert [(Path(f.file).name, f.line, f.value) for f in found] == [("LB.yaml", line, "LABS")]
    assert "LB.LBSTRESC: rule converted_result: table 'LABS' is not in study.yaml units: (known: LAB, VS)" \
        in found[0].message
