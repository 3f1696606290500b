"""Dataset-JSON 1.1: schema-valid, golden values from the 1.1 rules, round trips (JSON and XPT), properties."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pyreadstat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studyforge.datasetjson import (
    ColumnMeta,
    DatasetJSONError,
    columns_from_spec,
    dataset_json_bytes,
    read_dataset_json,
    write_dataset_json,
)

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "studyforge" / "schemas" / "dataset-json" / "1.1"
                     / "dataset.schema.json").read_text())
CREATED = dt.datetime(2024, 1, 15, 9, 30, 0)


def _adsl() -> tuple[pd.DataFrame, list[ColumnMeta]]:
    df = pd.DataFrame({
        "STUDYID": pd.Series(["PALACE", "PALACE", "PALACE"], dtype="str"),
        "USUBJID": pd.Series(["P-001", "P-002", "P-003"], dtype="str"),
        "AGE": [54.0, np.nan, 47.0],
        "BMIBL": [22.5, 19.25, np.nan],
        "TRTSDT": [21915.0, 22000.0, np.nan],      # SAS dates
        "TRTSDTM": [21915 * 86400.0 + 3661, np.nan, 0.0],
        "TRTSTM": [3661.0, 86399.0, np.nan],
        "DTHFL": pd.Series(["", "Y", None], dtype="str"),
    })
    cols = [
        ColumnMeta("STUDYID", "Study Identifier", "string", 6, key_sequence=1),
        ColumnMeta("USUBJID", "Unique Subject Identifier", "string", 5, key_sequence=2),
        ColumnMeta("AGE", "Age", "integer"),
        ColumnMeta("BMIBL", "Baseline BMI (kg/m^2)", "float"),
        ColumnMeta("TRTSDT", "Date of First Exposure to Treatment", "date", display_format="DATE9.",
                   target_data_type="integer"),
        ColumnMeta("TRTSDTM", "Datetime of First Exposure to Treatment", "datetime", display_format="DATETIME20.",
                   target_data_type="integer"),
        ColumnMeta("TRTSTM", "Time of First Exposure to Treatment", "time", display_format="TIME8.",
                   target_data_type="integer"),
        ColumnMeta("DTHFL", "Subject Death Flag", "string", 1),
    ]
    return df, cols


def _write(df, cols, path, **kw):
    write_dataset_json(df, path, name="ADSL", label="Subject-Level Analysis Dataset", columns_meta=cols,
                       study_oid="STDY.PALACE", metadata_version_oid="MDV.PALACE.ADaMIG.1.3", created=CREATED, **kw)


def test_schema_valid_and_golden(tmp_path):
    df, cols = _adsl()
    p = tmp_path / "adsl.json"
    _write(df, cols, p)
    doc = json.loads(p.read_bytes())
    jsonschema.Draft201909Validator(SCHEMA).validate(doc)
    # attribute order as the 1.1 specification lists it (streaming readers rely on it)
    assert list(doc) == ["datasetJSONCreationDateTime", "datasetJSONVersion", "fileOID", "dbLastModifiedDateTime",
                         "originator", "sourceSystem", "studyOID", "metaDataVersionOID", "metaDataRef",
                         "itemGroupOID", "records", "name", "label", "columns", "rows"]
    assert doc["datasetJSONVersion"] == "1.1.0" and doc["datasetJSONCreationDateTime"] == "2024-01-15T09:30:00"
    assert doc["itemGroupOID"] == "IG.ADSL" and doc["records"] == 3
    assert doc["columns"][0] == {"itemOID": "IT.ADSL.STUDYID", "name": "STUDYID", "label": "Study Identifier",
                                 "dataType": "string", "length": 6, "keySequence": 1}
    assert doc["columns"][4]["targetDataType"] == "integer"
    # SAS date 21915 = 2020-01-01 (days from 1960-01-01); 22000 = 2020-01-01 + 85 d = 2020-03-26 (2020 is leap:
    # Jan 31 + Feb 29 = 60 d to 1 Mar, +25 -> 26 Mar). Datetime 21915*86400 + 3661 s = 2020-01-01T01:01:01.
    # Missing -> null; empty text stays "".
    assert doc["rows"][0] == ["PALACE", "P-001", 54, 22.5, "2020-01-01", "2020-01-01T01:01:01", "01:01:01", ""]
    assert doc["rows"][1] == ["PALACE", "P-002", None, 19.25, "2020-03-26", None, "23:59:59", "Y"]
    assert doc["rows"][2][4:7] == [None, "1960-01-01T00:00:00", None] and doc["rows"][2][7] is None
    assert isinstance(doc["rows"][0][2], int)


def test_round_trip_json_and_xpt(tmp_path):
    df, cols = _adsl()
    p = tmp_path / "adsl.json"
    _write(df, cols, p)
    back, meta = read_dataset_json(p)
    pd.testing.assert_frame_equal(back, df)
    assert meta["columns"][4]["displayFormat"] == "DATE9." and "rows" not in meta
    # the same frame through XPT (read by pyreadstat) gives the same values
    xpt = tmp_path / "adsl.xpt"
    pyreadstat.write_xport(df.fillna({"DTHFL": ""}), str(xpt), table_name="ADSL")
    from_xpt, _ = pyreadstat.read_xport(str(xpt))
    pd.testing.assert_frame_equal(back.fillna({"DTHFL": ""}), from_xpt, check_dtype=False)


def test_deterministic_bytes():
    df, cols = _adsl()
    kw = dict(name="ADSL", label="x", columns_meta=cols, study_oid="S", metadata_version_oid="M", created=CREATED)
    assert dataset_json_bytes(df, **kw) == dataset_json_bytes(df, **kw)


def test_no_clock(monkeypatch):
    df, cols = _adsl()
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    with pytest.raises(DatasetJSONError, match="created is required"):
        dataset_json_bytes(df, name="ADSL", label="x", columns_meta=cols, study_oid="S", metadata_version_oid="M")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    data = dataset_json_bytes(df, name="ADSL", label="x", columns_meta=cols, study_oid="S", metadata_version_oid="M")
    assert json.loads(data)["datasetJSONCreationDateTime"] == "1970-01-01T00:00:00"


def test_bad_values_name_column_and_row():
    df, cols = _adsl()
    df.loc[1, "AGE"] = 54.5
    with pytest.raises(DatasetJSONError, match=r"column AGE: integer column holds a fraction: row 2 value=54.5"):
        dataset_json_bytes(df, name="ADSL", label="x", columns_meta=cols, study_oid="S", metadata_version_oid="M",
                           created=CREATED)
    df, cols = _adsl()
    with pytest.raises(DatasetJSONError, match="do not match"):
        dataset_json_bytes(df[["USUBJID", "STUDYID"]], name="ADSL", label="x", columns_meta=cols[:2],
                           study_oid="S", metadata_version_oid="M", created=CREATED)
    df, cols = _adsl()
    df.loc[0, "TRTSDT"] = 3_000_000.0           # beyond 9999-12-31 (SAS day 2,936,549)
    with pytest.raises(DatasetJSONError, match=r"column TRTSDT: outside years 0001-9999.*row 1"):
        dataset_json_bytes(df, name="ADSL", label="x", columns_meta=cols, study_oid="S", metadata_version_oid="M",
                           created=CREATED)
    with pytest.raises(DatasetJSONError, match=r"column AGE: string column holds numbers: row 1 value=54.0"):
        dataset_json_bytes(df[["AGE"]], name="ADSL", label="x", columns_meta=[ColumnMeta("AGE", "Age", "string")],
                           study_oid="S", metadata_version_oid="M", created=CREATED)
    with pytest.raises(DatasetJSONError, match="decimal columns must be given as text"):
        dataset_json_bytes(df[["BMIBL"]], name="ADSL", label="x", columns_meta=[ColumnMeta("BMIBL", "b", "decimal",
                           target_data_type="decimal")], study_oid="S", metadata_version_oid="M", created=CREATED)
    with pytest.raises(DatasetJSONError, match="dataType"):
        ColumnMeta("X", "x", "text")


def test_reader_reports_bad_rows(tmp_path):
    df, cols = _adsl()
    p = tmp_path / "adsl.json"
    _write(df, cols, p)
    doc = json.loads(p.read_bytes())
    doc["rows"][1] = doc["rows"][1][:-1]
    p.write_text(json.dumps(doc))
    with pytest.raises(DatasetJSONError, match="row 2 has 7 values, expected 8"):
        read_dataset_json(p)
    doc["rows"][1] = ["PALACE", "P-002", None, 19.25, "2020-03-26", None, "23h59", "Y"]
    p.write_text(json.dumps(doc))
    with pytest.raises(DatasetJSONError, match=r"column TRTSTM: .*not an ISO 8601 time.*row 2 value='23h59'"):
        read_dataset_json(p)
    doc["rows"][1][6] = "23:59:59"
    doc["rows"][0][4] = "2020-13-45"
    p.write_text(json.dumps(doc))
    with pytest.raises(DatasetJSONError, match=r"column TRTSDT: not an ISO 8601 date: row 1 value='2020-13-45'"):
        read_dataset_json(p)
    doc["rows"][0][4] = "2020-03"               # partial: no silent imputation to the 1st
    p.write_text(json.dumps(doc))
    with pytest.raises(DatasetJSONError, match=r"column TRTSDT: not an ISO 8601 date: row 1 value='2020-03'"):
        read_dataset_json(p)


def test_columns_from_spec():
    from tests.define.conftest import make_frames, make_spec

    spec, frames = make_spec(), make_frames()
    cols = columns_from_spec(spec.datasets["ADSL"], frames["ADSL"])
    by = {c.name: c for c in cols}
    assert (by["TRTSDT"].data_type, by["TRTSDT"].target_data_type, by["TRTSDT"].display_format) == \
        ("date", "integer", "DATE9.")
    assert (by["USUBJID"].data_type, by["USUBJID"].length, by["USUBJID"].key_sequence) == ("string", 13, 2)
    lb = {c.name: c for c in columns_from_spec(spec.datasets["LB"], frames["LB"])}
    assert lb["LBSEQ"].data_type == "integer" and lb["LBSTRESN"].data_type == "float"


_text = st.one_of(st.none(), st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12))
_num = st.one_of(st.just(float("nan")), st.floats(allow_nan=False, allow_infinity=False, width=64))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(_text, _num, st.one_of(st.none(), st.integers(-715_000, 2_900_000))), max_size=15))
def test_property_round_trip(tmp_path, rows):
    df = pd.DataFrame({"C": pd.Series([r[0] for r in rows], dtype="str"),
                       "N": pd.Series([r[1] for r in rows], dtype="float64"),
                       "D": pd.Series([np.nan if r[2] is None else float(r[2]) for r in rows], dtype="float64")})
    cols = [ColumnMeta("C", "text", "string", 12), ColumnMeta("N", "number", "double"),
            ColumnMeta("D", "date", "date", target_data_type="integer")]
    p = tmp_path / "t.json"
    write_dataset_json(df, p, name="T", label="t", columns_meta=cols, study_oid="S", metadata_version_oid="M",
                       created=CREATED)
    jsonschema.Draft201909Validator(SCHEMA).validate(json.loads(p.read_bytes()))
    back, meta = read_dataset_json(p)
    assert meta["records"] == len(df)
    pd.testing.assert_frame_equal(back, df)


def test_spec_dataset_json_matches_define_oids(tmp_path):
    from lxml import etree

    from studyforge.datasetjson import write_spec_dataset_json
    from studyforge.define import build_define, dataset_info
    from tests.define.conftest import make_frames, make_spec

    spec, frames = make_spec(), make_frames()
    write_spec_dataset_json(frames["ADRS"], tmp_path / "adrs.json", spec, "ADRS")
    doc = json.loads((tmp_path / "adrs.json").read_bytes())
    jsonschema.Draft201909Validator(SCHEMA).validate(doc)
    infos = {n: dataset_info(frames[n], n, label=spec.datasets[n].label) for n in ("ADSL", "ADRS")}
    root = etree.fromstring(build_define(spec, "Analysis", infos))
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
    assert doc["studyOID"] == root.find("odm:Study", ns).get("OID")
    assert doc["metaDataVersionOID"] == root.find(".//odm:MetaDataVersion", ns).get("OID")
    assert root.find(f".//odm:ItemGroupDef[@OID='{doc['itemGroupOID']}']", ns) is not None
    item_oids = {e.get("OID") for e in root.iterfind(".//odm:ItemDef", ns)}
    assert {c["itemOID"] for c in doc["columns"]} <= item_oids
    assert doc["datasetJSONCreationDateTime"] == "2024-01-15T09:30:00"


def test_decimal_text_reads_back_as_number(tmp_path):
    df = pd.DataFrame({"HEIGHTBL": pd.Series(["162.9", None, "30.8983333232059"], dtype="str")})
    p = tmp_path / "d.json"
    write_dataset_json(df, p, name="ADSL", label="x", study_oid="S", metadata_version_oid="M", created=CREATED,
                       columns_meta=[ColumnMeta("HEIGHTBL", "Baseline Height (cm)", "decimal", 16,
                                                target_data_type="decimal")])
    doc = json.loads(p.read_bytes())
    jsonschema.Draft201909Validator(SCHEMA).validate(doc)
    assert [r[0] for r in doc["rows"]] == ["162.9", None, "30.8983333232059"]      # decimals travel as text
    back, _ = read_dataset_json(p)
    assert back["HEIGHTBL"].tolist()[0] == 162.9 and np.isnan(back["HEIGHTBL"][1])
