"""A define.xml imported as a spec skeleton gives back the dataset and variable metadata it was made from."""

from __future__ import annotations

import pytest

from studyforge.define import write_define
from studyforge.spec.define_import import DefineImportError, import_define


@pytest.mark.parametrize("purpose,pkg", [("Tabulation", "sdtm_pkg"), ("Analysis", "adam_pkg")])
def test_skeleton_reproduces_dataset_and_variable_metadata(spec, purpose, pkg, request, tmp_path):
    _, infos = request.getfixturevalue(pkg)
    write_define(spec, purpose, infos, tmp_path, acrf="acrf.pdf")
    skeleton, notices = import_define(tmp_path / "define.xml")
    assert any("derivation rules are not in a define.xml" in n for n in notices)
    for name, d in skeleton.datasets.items():
        o = spec.datasets[name]
        assert (d.label, d.class_, d.structure, d.keys, d.purpose, d.repeating) == \
            (o.label, o.class_, o.structure, o.keys, o.purpose, o.repeating)
        assert [v.name for v in d.variables] == [v.name for v in o.variables]
        for v, w in zip(d.variables, o.variables):
            assert (v.label, v.type, v.origin.type, v.origin.pages) == (w.label, w.type, w.origin.type, w.origin.pages)
            assert (v.codelist is None) == (w.codelist is None)
            assert v.derivation is None  # left for the author
        assert [(p.paramcd, p.param) for p in d.parameters] == [(p.paramcd, p.param) for p in o.parameters]
    assert set(skeleton.datasets) == {d.name for d in spec.datasets.values() if d.purpose == purpose}


def test_not_a_define(tmp_path):
    (tmp_path / "x.xml").write_text("<root/>")
    with pytest.raises(DefineImportError, match="not a define.xml"):
        import_define(tmp_path / "x.xml")
    (tmp_path / "y.xml").write_text("<root>")
    with pytest.raises(DefineImportError, match="not readable XML"):
        import_define(tmp_path / "y.xml")
