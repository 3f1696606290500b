"""Raw readers: declared encodings and delimiters, record line numbers, and every reader-level finding
(undecodable bytes, ragged records, header-only / truncated / undelivered forms against the EDC
manifest, unknown columns, non-ASCII values in SDTM)."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from sdtm.readers import read_raw_dir, record_layout, spec_columns
from studyforge.findings import Severity
from studyforge.spec.raw import RawSpec

from .conftest import build_with


def _rules(findings):
    return sorted((f.rule, f.severity.value) for f in findings)


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_line_numbers_survive_quoted_line_breaks(tmp_path, eol, bom):
    # line 1 header; line 2 record 1; record 2 starts on line 3 and its quoted comment spans lines 3-5;
    # line 6 is blank (skipped); record 3 is on line 7
    text = eol.join(["SUBJID,AETERM,COMMENT", "1,Headache,ok", '2,Nausea,"first line', 'second, with comma',
                     'third ""quoted"""', "", "3,Rash,"]) + eol
    (tmp_path / "ae.csv").write_bytes(bom + text.encode("utf-8"))
    forms, findings = read_raw_dir(tmp_path)
    ae = forms["ae"]
    assert list(ae.lines) == [2, 3, 7]
    assert list(ae.frame["SUBJID"]) == ["1", "2", "3"]      # no BOM in the first column name
    assert ae.frame.loc[1, "COMMENT"].splitlines() == ["first line", "second, with comma", 'third "quoted"']
    assert [f.rule for f in findings] == []


def test_record_layout_counts_fields_outside_quotes():
    lines, fields, ended = record_layout(b'A;B;C\n1;"x;y";3\n4;5\n', ";")
    assert lines.tolist() == [1, 2, 3] and fields.tolist() == [3, 3, 2] and ended


@pytest.mark.parametrize("encoding, text", [
    ("latin-1", "Müller;Ödem"), ("cp1252", "Müller;Ödem – mild"), ("gbk", "张伟;头痛"), ("gb18030", "张伟;头痛"),
    ("utf-8-sig", "Müller;Ödem"),
])
def test_declared_encoding_and_delimiter(tmp_path, encoding, text):
    (tmp_path / "ae.csv").write_bytes(f"NAME;TERM\r\n{text}\r\n".encode(encoding))
    raw = RawSpec.model_validate({"forms": {"ae": {"encoding": encoding, "delimiter": ";"}}})
    forms, findings = read_raw_dir(tmp_path, raw)
    assert forms["ae"].frame.iloc[0].tolist() == text.split(";")
    assert [f.rule for f in findings] == ["SD0007"]          # only: no manifest delivered


def test_wrong_encoding_is_one_located_finding_and_the_rest_arrives(tmp_path):
    (tmp_path / "ae.csv").write_bytes("SUBJID,AETERM\n1,Headache\n2,Ödem\n3,Rash\n".encode("cp1252"))
    forms, findings = read_raw_dir(tmp_path)                 # default utf-8: byte 0xD6 is not UTF-8
    f = [x for x in findings if x.rule == "SD0003"]
    assert len(f) == 1 and f[0].line == 3 and f[0].value == "d6" and "raw.forms.ae.encoding" in f[0].message
    assert forms["ae"].frame["AETERM"].tolist() == ["Headache", "\ufffddem", "Rash"]


def test_ragged_record_and_missing_final_line_break(tmp_path):
    (tmp_path / "ae.csv").write_text("SUBJID,AETERM,AESER\n1,Headache,N\n2,Nausea")
    _, findings = read_raw_dir(tmp_path)
    got = {(f.rule, f.line) for f in findings}
    assert ("SD0008", 3) in got and ("SD0009", 3) in got


def _manifest(tmp_path, rows: dict[str, int]):
    (tmp_path / "manifest.json").write_text(json.dumps({"forms": {k: {"file": f"{k}.csv", "rows": n}
                                                                  for k, n in rows.items()}}))


def test_header_only_form_against_manifest(tmp_path):
    (tmp_path / "lb.csv").write_text("SUBJID,LBTEST\n")
    _manifest(tmp_path, {"lb": 106})
    forms, findings = read_raw_dir(tmp_path)
    [f] = findings
    assert (f.rule, f.severity, f.line) == ("SD0004", Severity.ERROR, 1) and "106 rows" in f.message
    assert len(forms["lb"]) == 0


def test_truncated_and_undelivered_forms_against_manifest(tmp_path):
    (tmp_path / "lb.csv").write_text("SUBJID,LBTEST\n1,ALT\n1,AST\n")
    _manifest(tmp_path, {"lb": 5, "vs": 3})
    _, findings = read_raw_dir(tmp_path)
    assert any(f.rule == "SD0005" and f.value == "vs" for f in findings)   # in the manifest, not delivered
    trunc = next(f for f in findings if "truncated" in f.message)
    assert (trunc.rule, trunc.line, trunc.severity) == ("SD0005", 3, Severity.ERROR) and "2 of the 5" in trunc.message


def test_no_manifest_is_said_and_header_only_still_reported(tmp_path):
    (tmp_path / "lb.csv").write_text("SUBJID,LBTEST\n")
    _, findings = read_raw_dir(tmp_path, RawSpec())
    assert _rules(findings) == [("SD0004", "WARNING"), ("SD0007", "NOTICE")]
    _, findings = read_raw_dir(tmp_path, RawSpec(manifest=None))   # the study says none is delivered
    assert _rules(findings) == [("SD0004", "WARNING")]


def test_unknown_columns_listed_once_per_form(tmp_path):
    (tmp_path / "ae.csv").write_text("SUBJID,FOLDER,AETERM,AEXTRA,AENOTE,LEGACY\n1,V1,x,y,z,q\n2,V1,x,y,z,q\n")
    raw = RawSpec.model_validate({"visit": "FOLDER", "ignore_columns": ["LEGACY"]})
    _, findings = read_raw_dir(tmp_path, raw, known_columns={"AETERM"})
    [f] = [x for x in findings if x.rule == "SD0010"]
    assert f.field == "AEXTRA, AENOTE" and f.line == 1 and f.severity is Severity.WARNING


def test_spec_columns_reads_rule_parameters(sdtm_spec):
    cols = spec_columns(sdtm_spec)
    assert {"AETERM", "BRTHDAT", "VISDAT"} <= cols


def test_null_tokens_are_declared(tmp_path):
    (tmp_path / "vs.csv").write_text("SUBJID,SYSBP\n1,NULL\n2,120\n")
    forms, _ = read_raw_dir(tmp_path, RawSpec(null_tokens=["NULL"]))
    assert forms["vs"].frame["SYSBP"].tolist() == ["", "120"]
    forms, _ = read_raw_dir(tmp_path)
    assert forms["vs"].frame["SYSBP"].tolist() == ["NULL", "120"]


def test_form_file_name_override(tmp_path):
    (tmp_path / "Vital Signs Export.csv").write_text("SUBJID\n1\n")
    raw = RawSpec.model_validate({"forms": {"vs": {"file": "Vital Signs Export.csv"}}})
    forms, _ = read_raw_dir(tmp_path, raw)
    assert list(forms) == ["vs"]


# non-ASCII in SDTM: a finding on the record, the rest of the dataset still written (sdtm/engine.py)
def test_non_ascii_value_held_back_and_dataset_kept(sdtm_spec, tmp_path):
    def edit(f):
        f["cmprior"].loc[0, "CMTRT"] = "Octréotide LAR"
    ds, findings, _ = build_with(sdtm_spec, tmp_path, edit)
    [e] = [f for f in findings if f.rule == "SD1001"]
    assert (e.line, e.field, e.value) == (2, "CMTRT", "OCTRÉOTIDE LAR") and "held back" in e.message
    assert ds["CM"]["CMTRT"].tolist()[0] == "" and ds["CM"]["CMTRT"].map(str.isascii).all()


def test_non_ascii_replaced_per_spec_table(sdtm_spec, tmp_path):
    spec = copy.deepcopy(sdtm_spec)
    spec.study.raw.ascii_replacements = {"É": "E"}

    def edit(f):
        f["cmprior"].loc[0, "CMTRT"] = "Octréotide LAR"
    ds, findings, _ = build_with(spec, tmp_path, edit)
    [w] = [f for f in findings if f.rule == "SD1003"]
    assert w.severity is Severity.WARNING and w.line == 2 and "'OCTREOTIDE LAR'" in w.message
    assert "OCTREOTIDE LAR" in set(ds["CM"]["CMTRT"]) and not [f for f in findings if f.rule == "SD1001"]


def test_byte_scan_agrees_with_csv_module_on_messy_text():
    import csv
    import io

    text = 'A,B\n"x\r\ny",1\n\n"a""b",2\r\n"",3\n'
    lines, fields, _ = record_layout(text.encode(), ",")
    rd = csv.reader(io.StringIO(text, newline=""))
    want, prev = [], 0
    for row in rd:
        if row:
            want.append(prev + 1)
        prev = rd.line_num
    assert lines.tolist() == want and np.all(fields == 2)
