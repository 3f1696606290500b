"""The same data in any text layout pandas may choose (Python-object `str`, pyarrow-backed `str`,
nullable "string", plain object) must give byte-identical XPT and Dataset-JSON files, and one small
SDTM build must give the same files whichever layout its frames had.  The Dataset-JSON rows are
also checked against an independent reference: json.dumps of each row's Python values."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdtm._fast import text_series, umap
from studyforge.datasetjson import ColumnMeta, dataset_json_bytes
from studyforge.xpt import factorize_text, read_xpt, text_layout, write_xpt

pa = pytest.importorskip("pyarrow")

CREATED = dt.datetime(2024, 1, 15, 9, 30, 0)
LAYOUTS = {
    "python": pd.StringDtype("python", na_value=np.nan),
    "pyarrow": pd.StringDtype("pyarrow", na_value=np.nan),
    "string[python]": pd.StringDtype("python"),
    "string[pyarrow]": pd.StringDtype("pyarrow"),
    "arrow": pd.ArrowDtype(pa.large_string()),
    "object": object,
}
TEXT = ["USUBJID", "LBTESTCD", "LBORRES", "LBSTAT", "LBDTC"]


def _frame(layout: str, n: int = 5000) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    res = np.round(rng.normal(5, 2, n), 2)
    orres = res.astype(str).astype(object)
    orres[rng.random(n) < 0.1] = None                               # missing text
    stat = np.where(rng.random(n) < 0.05, "NOT DONE", "")           # empty text kept as ""
    dtype = LAYOUTS[layout]
    return pd.DataFrame({
        "USUBJID": pd.Series(np.array([f"S-{i % 37:03d}" for i in range(n)], dtype=object), dtype=dtype),
        "LBTESTCD": pd.Series(np.array(["ALT", "AST", "GLUC"], dtype=object)[rng.integers(0, 3, n)], dtype=dtype),
        "LBORRES": pd.Series(orres, dtype=dtype),
        "LBSTAT": pd.Series(stat.astype(object), dtype=dtype),
        "LBDTC": pd.Series((np.datetime64("2021-06-01") + rng.integers(0, 400, n)).astype(str).astype(object),
                           dtype=dtype),
        "LBSTRESN": np.where(np.isnan(res) | (rng.random(n) < 0.1), np.nan, res),
        "LBSEQ": np.arange(1, n + 1, dtype=float),
        "NEGZERO": np.where(rng.random(n) < 0.5, -0.0, 0.0),        # JSON keeps -0.0 and 0.0 apart
        "LBDT": 22432.0 + rng.integers(0, 400, n),
    })


def _meta() -> list[ColumnMeta]:
    return [ColumnMeta("USUBJID", "Subject", "string", 5), ColumnMeta("LBTESTCD", "Test", "string", 4),
            ColumnMeta("LBORRES", "Result", "string", 8), ColumnMeta("LBSTAT", "Status", "string", 8),
            ColumnMeta("LBDTC", "Date", "date", 10), ColumnMeta("LBSTRESN", "Numeric", "float"),
            ColumnMeta("LBSEQ", "Seq", "integer"), ColumnMeta("NEGZERO", "Zero", "double"),
            ColumnMeta("LBDT", "SAS date", "date", None, "DATE9.", None, "integer")]


def _json(df: pd.DataFrame) -> bytes:
    return dataset_json_bytes(df, name="LB", label="Lab", columns_meta=_meta(), study_oid="S",
                              metadata_version_oid="M", created=CREATED)


@pytest.mark.parametrize("layout", [k for k in LAYOUTS if k != "python"])
def test_xpt_and_json_bytes_do_not_depend_on_the_text_layout(layout: str, tmp_path: Path) -> None:
    ref, other = _frame("python"), _frame(layout)
    assert [other[c].dtype for c in TEXT] != [ref[c].dtype for c in TEXT]
    write_xpt(ref, tmp_path / "ref.xpt", name="LB", created=CREATED)
    write_xpt(other, tmp_path / "other.xpt", name="LB", created=CREATED)
    assert (tmp_path / "ref.xpt").read_bytes() == (tmp_path / "other.xpt").read_bytes()
    assert _json(ref) == _json(other)


def test_json_rows_are_what_json_dumps_writes_for_each_row() -> None:
    """Independent reference: the Python value of each cell (None for missing, the SAS date as
    ISO 8601 text: 22432 days after 1960-01-01 is 2021-06-01), dumped row by row."""
    df = _frame("pyarrow", 300)
    doc = _json(df).decode("utf-8")
    lines = doc.split("\n")
    assert lines[-1] == "" and lines[-2] == "]}"
    expected = []
    for i in range(len(df)):
        row = []
        for c in ["USUBJID", "LBTESTCD", "LBORRES", "LBSTAT", "LBDTC"]:
            v = df[c].iloc[i]
            row.append(None if pd.isna(v) else str(v))
        stresn = df["LBSTRESN"].iloc[i]
        row += [None if np.isnan(stresn) else float(stresn), int(df["LBSEQ"].iloc[i]), float(df["NEGZERO"].iloc[i]),
                (dt.date(1960, 1, 1) + dt.timedelta(days=int(df["LBDT"].iloc[i]))).isoformat()]
        expected.append(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
    rows = [ln.rstrip(",") for ln in lines[1:-2]]
    assert rows == expected
    assert {json.loads(r)[7] for r in rows} == {0.0} and {r.split(",")[-2] for r in rows} == {"-0.0", "0.0"}
    first = json.loads(doc)["rows"][0]
    assert first[8] == (dt.date(1960, 1, 1) + dt.timedelta(days=int(df["LBDT"].iloc[0]))).isoformat()


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_factorize_text_same_codes_in_every_layout(layout: str) -> None:
    s = _frame(layout, 2000)["LBORRES"]
    codes, uniq = factorize_text(s)
    ref_codes, ref_uniq = pd.factorize(s.astype(object).to_numpy(dtype=object))
    assert np.array_equal(codes, ref_codes) and list(uniq) == list(ref_uniq)
    assert (text_layout(s.dtype) is None) == (layout == "object")


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_fast_helpers_same_values_in_every_layout(layout: str) -> None:
    s = _frame(layout, 2000)["LBORRES"]
    expect = ["" if pd.isna(v) else v for v in s.astype(object)]
    assert text_series(s).tolist() == expect
    got = umap(s, lambda u: u.str.len())
    assert got.tolist() == [len(v) for v in expect]
    low = umap(s, lambda u: u.str.replace(".", ",", regex=False))
    assert low.tolist() == [v.replace(".", ",") for v in expect]
    assert pd.api.types.is_string_dtype(low.dtype)


@pytest.mark.slow
def test_small_sdtm_build_same_files_in_both_layouts(sdtm_kit_folder: Path, tmp_path: Path) -> None:
    """The raw kit read, built and written once with pandas defaulting to Python-object strings and
    once to Arrow strings: every XPT and Dataset-JSON file is the same, byte for byte.  The SDTM stage
    normalises at its edges (sdtm._fast.python_strings): the reader gives Python-object text whatever
    the default, and raw frames handed over in Arrow strings are converted by build_sdtm (exercised here
    by converting the raw frames to Arrow first)."""
    from dataclasses import replace

    from sdtm.pipeline import build_sdtm
    from sdtm.readers import read_raw_dir
    from studyforge.dataset_writer import shape_to_spec, write_dataset_xpt
    from studyforge.datasetjson import write_spec_dataset_json
    from studyforge.spec.loader import load_spec

    spec = load_spec(Path(__file__).resolve().parents[1] / "specs" / "palace")
    outs = {}
    for storage in ("python", "pyarrow"):
        out = outs[storage] = tmp_path / storage
        out.mkdir()
        with pd.option_context("mode.string_storage", storage):
            raw, _ = read_raw_dir(sdtm_kit_folder)
            assert {text_layout(form.frame[c].dtype) for form in raw.values() for c in form.frame.columns} \
                == {"python"}
            if storage == "pyarrow":
                raw = {k: replace(f, frame=f.frame.astype(pd.StringDtype("pyarrow", na_value=np.nan)))
                       for k, f in raw.items()}
            datasets, _, _ = build_sdtm(raw, spec)
            for name, df in sorted(datasets.items()):
                write_dataset_xpt(df, spec.datasets[name], spec.study, out / f"{name.lower()}.xpt")
                shaped, _ = shape_to_spec(df, spec.datasets[name])
                write_spec_dataset_json(shaped, out / f"{name.lower()}.json", spec, name)
    names = sorted(p.name for p in outs["python"].iterdir())
    assert len(names) > 20 and names == sorted(p.name for p in outs["pyarrow"].iterdir())
    differ = [n for n in names if (outs["python"] / n).read_bytes() != (outs["pyarrow"] / n).read_bytes()]
    assert differ == []
    dm, _ = read_xpt(outs["pyarrow"] / "dm.xpt")
    assert len(dm) == 3


@pytest.fixture(scope="module")
def sdtm_kit_folder(tmp_path_factory) -> Path:
    from tests.sdtm.rawkit import base_forms, write_forms

    return write_forms(base_forms(), tmp_path_factory.mktemp("rawkit"))


def _constant_frame(layout: str, n: int = 10_000) -> pd.DataFrame:
    """Constant text columns big enough (> 4 x 2048 rows) for the writer's one-value shortcut: one shared
    str object, one value in separate objects, all missing, all empty; then a varied column."""
    dtype = LAYOUTS[layout]
    return pd.DataFrame({
        "STUDYID": pd.Series(["PALACE"] * n, dtype=dtype),                         # one object (python)
        "DOMAIN": pd.Series([f"L{b}" for b in ["B"] * n], dtype=dtype),         # "LB" in n objects
        "NOTHING": pd.Series([None] * n, dtype=dtype),                           # every row missing
        "EMPTY": pd.Series([""] * n, dtype=dtype),                                # every row ""
        "USUBJID": pd.Series([f"S-{i % 7}" for i in range(n)], dtype=dtype),
    })


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_constant_text_columns_same_bytes_in_every_layout(layout: str, tmp_path: Path) -> None:
    """Reference: the plain object layout (pd.factorize, no shortcut); independent reader: pyreadstat.
    Expected by hand: STUDYID 6 bytes "PALACE", DOMAIN 2 bytes "LB", NOTHING and EMPTY 1 blank byte
    (length defaults to the longest value, at least 1), read back as ""."""
    import pyreadstat

    df, ref = _constant_frame(layout), _constant_frame("object")
    write_xpt(df, tmp_path / "c.xpt", name="C", created=CREATED)
    write_xpt(ref, tmp_path / "ref.xpt", name="C", created=CREATED)
    assert (tmp_path / "c.xpt").read_bytes() == (tmp_path / "ref.xpt").read_bytes()
    back, meta = pyreadstat.read_xport(tmp_path / "c.xpt")
    assert [meta.variable_storage_width[c] for c in back.columns] == [6, 2, 1, 1, 3]
    assert set(back["STUDYID"]) == {"PALACE"} and set(back["DOMAIN"]) == {"LB"}
    assert set(back["NOTHING"]) == {""} and set(back["EMPTY"]) == {""}
    assert list(back["USUBJID"]) == [f"S-{i % 7}" for i in range(len(df))]
