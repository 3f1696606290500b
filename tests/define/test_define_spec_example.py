"""The team's example spec (tests/data/spec_example) goes through define.xml end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studyforge.define import build_model, check_define_against_data, validate_define, write_define
from studyforge.findings import Severity
from studyforge.xpt import write_xpt
from tests.conftest import ROOT

EXAMPLE = ROOT / "tests" / "data" / "spec_example"


def _frame(ds, spec) -> pd.DataFrame:
    """Two records per dataset, every coded value taken from its codelist."""
    cols = {}
    for v in ds.variables:
        if v.type == "Num":
            cols[v.name] = np.array([1.0, 2.0])
        elif v.codelist:
            t = spec.codelists[v.codelist].terms[0].value
            cols[v.name] = [t, t]
        else:
            cols[v.name] = [f"{v.name[:4]}1", f"{v.name[:4]}2"]
    return pd.DataFrame(cols)


@pytest.mark.skipif(not EXAMPLE.is_dir(), reason="spec example not present")
@pytest.mark.parametrize("purpose", ["Tabulation", "Analysis"])
def test_example_spec_define_is_valid_and_agrees(tmp_path, purpose):
    from studyforge.define import dataset_info_from_xpt
    from studyforge.spec.loader import load_spec

    spec = load_spec(EXAMPLE)
    (tmp_path / "acrf.pdf").write_bytes(b"%PDF")
    infos = {}
    for ds in spec.datasets.values():
        if ds.purpose != purpose:
            continue
        df = _frame(ds, spec)
        write_xpt(df, tmp_path / f"{ds.name.lower()}.xpt", name=ds.name, label=ds.label,
                  labels={v.name: v.label for v in ds.variables},
                  formats={v.name: v.format for v in ds.variables if v.format}, created=spec.study.xpt_created)
        infos[ds.name] = dataset_info_from_xpt(tmp_path / f"{ds.name.lower()}.xpt")
    model = build_model(spec, purpose, infos, acrf="acrf.pdf")
    assert [f for f in model.findings if f.severity is Severity.ERROR] == []
    write_define(spec, purpose, infos, tmp_path, acrf="acrf.pdf")
    assert validate_define(tmp_path / "define.xml") == []
    assert check_define_against_data(tmp_path / "define.xml", None, tmp_path) == []
    xml = (tmp_path / "define.xml").read_text()
    assert 'OID="CL.CL.' not in xml and 'OID="MT.MT.' not in xml
