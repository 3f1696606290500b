"""Reading datasets back from disk: one shape whatever the format, XPT preferred over Dataset-JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from studyforge.datasets_io import normalize, read_dataset, read_dataset_folder
from studyforge.xpt import write_xpt


def test_normalize_blanks_and_types():
    df = pd.DataFrame({"usubjid": ["A ", None], "aval": [1, np.nan], "flag": pd.array([True, False], dtype=bool)})
    out = normalize(df)
    assert list(out.columns) == ["USUBJID", "AVAL", "FLAG"]
    assert out["USUBJID"].tolist() == ["A", ""]          # trailing blank stripped, null -> ""
    assert out["AVAL"].dtype == np.float64 and np.isnan(out["AVAL"].iloc[1])
    assert out["FLAG"].tolist() == ["True", "False"]     # booleans are not numbers in SAS


def test_folder_prefers_xpt_and_skips_manifest(tmp_path):
    write_xpt(pd.DataFrame({"USUBJID": ["S1"], "AGE": [54.0]}), tmp_path / "dm.xpt", name="DM")
    (tmp_path / "dm.json").write_text("{not read: xpt wins}")
    (tmp_path / "manifest.json").write_text(json.dumps({"files": []}))
    frames = read_dataset_folder(tmp_path)
    assert list(frames) == ["DM"]
    assert frames["DM"].to_dict("list") == {"USUBJID": ["S1"], "AGE": [54.0]}


def test_unknown_suffix_is_refused(tmp_path):
    p = tmp_path / "dm.sas7bdat"
    p.write_bytes(b"")
    with pytest.raises(ValueError, match="unsupported file type '.sas7bdat'"):
        read_dataset(p)
