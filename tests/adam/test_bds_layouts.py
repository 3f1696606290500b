"""BDS text kept as codes (adam/bds.py categorical, text_codes) and the string layouts: ADLB gives the same
values whichever layout pandas chose for the SDTM text (Python-object or pyarrow-backed `str`, or object),
and the ADaM stage hands on plain `str` columns (the Categoricals stay inside the BDS builders)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adam.adlb import derive_adlb
from adam.adsl import derive_adsl
from adam.bds import categorical, text_codes
from adam.pipeline import derive_adam, plain_text
from studyforge.spec.loader import load_spec
from tests.adam.test_cdiscpilot import pilot_sdtm

ROOT = Path(__file__).resolve().parents[2]


def test_categorical_takes_values_by_code_with_minus_one_blank():
    # codes index `values`; -1 is the missing text ''. [1, -1, 0, 1] over ["b", "a"] -> a, '', b, a
    c = categorical(np.array([1, -1, 0, 1]), ["b", "a"])
    assert list(c) == ["a", "", "b", "a"]
    # categories sorted (so sorting by the column sorts by its text) and only those used
    assert list(c.categories) == ["", "a", "b"]
    assert list(categorical(np.array([0, 0]), ["x", "y"]).categories) == ["x"]
    # the same text twice in `values` is one category: "Anemia" criteria shared by two parameters
    d = categorical(np.array([0, 1, -1]), ["Anemia", "Anemia"])
    assert list(d) == ["Anemia", "Anemia", ""] and list(d.categories) == ["", "Anemia"]


def test_text_codes_reads_like_text_col():
    df = pd.DataFrame({"A": pd.Series(["x", None, "y", "", "x"], dtype="str"), "N": [1.0, 2.0, np.nan, 1.0, 2.0]})
    codes, uniq = text_codes(df, "A")
    assert list(uniq[codes]) == ["x", "", "y", "", "x"]            # missing reads as ''
    assert codes[1] == codes[3]                                     # ... and is the same code as ''
    codes, uniq = text_codes(df, "N")                               # numbers read as text_col reads them
    assert list(uniq[codes]) == ["1", "2", "", "1", "2"]
    codes, uniq = text_codes(df, "ABSENT")
    assert list(uniq[codes]) == [""] * 5


def _in_layout(frames: dict[str, pd.DataFrame], dtype) -> dict[str, pd.DataFrame]:
    out = {}
    for name, df in frames.items():
        df = df.copy()
        for c in df.columns:
            if pd.api.types.is_string_dtype(df[c].dtype) and not pd.api.types.is_numeric_dtype(df[c].dtype):
                df[c] = pd.Series(df[c].to_numpy(dtype=object), dtype=dtype)
        out[name] = df
    return out


def _as_objects(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({c: (df[c].to_numpy(dtype=object) if not pd.api.types.is_numeric_dtype(df[c].dtype)
                             or isinstance(df[c].dtype, pd.CategoricalDtype) else df[c].to_numpy())
                         for c in df.columns})


LAYOUTS = {"python": pd.StringDtype("python", na_value=np.nan),
           "pyarrow": pd.StringDtype("pyarrow", na_value=np.nan), "object": object}


def _assert_same_in_every_layout(base: dict[str, pd.DataFrame], derive, min_rows: int, what: str) -> None:
    """derive(sdtm) -> (frame, findings) gives the same values and findings whatever the SDTM text layout."""
    results = {}
    for name, dtype in LAYOUTS.items():
        df, findings = derive(_in_layout(base, dtype))
        results[name] = (_as_objects(plain_text(df)), [str(f) for f in findings])
    ref, ref_findings = results["python"]
    assert len(ref) > min_rows
    for name, (df, findings) in results.items():
        pd.testing.assert_frame_equal(df, ref, obj=f"{what} from {name} text")
        assert findings == ref_findings


def test_adlb_same_values_in_every_string_layout():
    pytest.importorskip("pyarrow")
    spec = load_spec(ROOT / "specs" / "cdiscpilot01")

    def adlb(sdtm):
        adsl, _ = derive_adsl(sdtm, spec.datasets["ADSL"])
        return derive_adlb(sdtm, adsl, spec.datasets["ADLB"])
    _assert_same_in_every_layout(pilot_sdtm(), adlb, 1000, "ADLB")


def test_adam_stage_hands_on_str_columns():
    out, _ = derive_adam(pilot_sdtm(), load_spec(ROOT / "specs" / "cdiscpilot01"))
    cats = [(k, c) for k, df in out.items() for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)]
    assert cats == []
    assert out["ADLB"]["AVISIT"].dtype == "str" and out["ADLB"]["ABLFL"].isin(["Y", ""]).all()


def test_adqs_same_values_in_every_string_layout():
    pytest.importorskip("pyarrow")
    from adam.adqs import derive_adqs
    from tests.adam.reference import SPEC_DIR, reference_sdtm

    spec = load_spec(SPEC_DIR)

    def adqs(sdtm):
        adsl, _ = derive_adsl(sdtm, spec.datasets["ADSL"])
        return derive_adqs(sdtm, adsl, spec.datasets["ADQS"])
    _assert_same_in_every_layout(reference_sdtm(spec), adqs, 100, "ADQS")
