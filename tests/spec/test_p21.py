"""P21 define-template workbooks: round trip of whole specs, located errors, foreign workbooks."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from studyforge.spec.loader import load_spec
from studyforge.spec.p21 import EXTRA, SHEETS, P21Error, export_p21, export_rows, import_p21, write_spec_folder

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def palace():
    return load_spec(ROOT / "specs" / "palace")


def test_palace_round_trips_through_excel_and_yaml(palace, tmp_path):
    export_p21(palace, tmp_path / "p.xlsx")
    back = import_p21(tmp_path / "p.xlsx")
    assert back.spec == palace and back.notices == []
    write_spec_folder(back.spec, tmp_path / "spec")
    assert load_spec(tmp_path / "spec") == palace
    # the workbook is a P21 template: the sheets and their first columns as the template names them
    wb = load_workbook(tmp_path / "p.xlsx", read_only=True)
    assert wb.sheetnames == list(SHEETS)
    assert [c.value for c in next(wb["Variables"].iter_rows(max_row=1))][:5] == \
        ["Order", "Dataset", "Variable", "Label", "Data Type"]


def test_export_is_byte_identical(palace, tmp_path):
    export_p21(palace, tmp_path / "a.xlsx")
    export_p21(palace, tmp_path / "b.xlsx")
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()


def _workbook(path: Path, rows: dict[str, list[dict]], extra_cols: dict[str, list[str]] | None = None,
              drop: tuple[str, ...] = ()) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for sheet, data in rows.items():
        if sheet in drop:
            continue
        ws = wb.create_sheet(sheet)
        cols = SHEETS[sheet] + (extra_cols or {}).get(sheet, [])
        ws.append(cols)
        for r in data:
            ws.append([r.get(c) for c in cols])
    wb.save(path)
    return path


def _row_number(rows: list[dict], **match) -> int:
    """The sheet row (header is row 1) of the first row matching."""
    for i, r in enumerate(rows):
        if all(r.get(k) == v for k, v in match.items()):
            return i + 2
    raise KeyError(match)


def test_each_error_names_sheet_row_and_column(palace, tmp_path):
    rows = export_rows(palace)
    v = rows["Variables"]
    r_type = _row_number(v, Dataset="LB", Variable="LBSTRESN")
    v[r_type - 2]["Data Type"] = "number"
    v[r_type - 2][EXTRA] = ""
    r_label = _row_number(v, Dataset="AE", Variable="AETERM")
    v[r_label - 2]["Label"] = "A label that is much longer than forty characters allows"
    r_mand = _row_number(v, Dataset="DM", Variable="AGE")
    v[r_mand - 2]["Order"] = "first"
    r_orig = _row_number(v, Dataset="DM", Variable="SEX")
    v[r_orig - 2]["Origin"] = None
    cl = rows["Codelists"]
    r_cl = _row_number(cl, ID=cl[0]["ID"])
    cl[0]["NCI Codelist Code"] = "12345"
    path = _workbook(tmp_path / "bad.xlsx", rows, extra_cols={"Variables": ["Sponsor Note"]})
    with pytest.raises(P21Error) as e:
        import_p21(path)
    text = "\n".join(e.value.problems)
    assert f"bad.xlsx:Variables!R{r_type}: LB.LBSTRESN: Data Type" in text
    assert f"bad.xlsx:Variables!R{r_label}: AE.AETERM: Label: String should have at most 40 characters" in text
    assert f"bad.xlsx:Variables!R{r_orig}: DM.SEX: Origin: required" in text
    assert f"bad.xlsx:Codelists!R{r_cl}: {cl[0]['ID']}: NCI Codelist Code" in text
    assert "Variables!R" in text and all(":" in p for p in e.value.problems)


def test_sponsor_columns_and_dictionaries_are_listed_not_dropped(palace, tmp_path):
    rows = export_rows(palace)
    rows["Dictionaries"] = [{"ID": "MEDDRA", "Name": "MedDRA", "Data Type": "text", "Dictionary": "MEDDRA",
                             "Version": "26.0"}]
    path = _workbook(tmp_path / "s.xlsx", rows, extra_cols={"Variables": ["Sponsor Note"]})
    result = import_p21(path)
    assert result.spec == palace
    assert any("Variables!R1: column 'Sponsor Note' has no place" in n for n in result.notices)
    assert any("Dictionaries!R2: external dictionary MEDDRA 26.0" in n for n in result.notices)


def test_missing_sheet_names_the_sheets_found(palace, tmp_path):
    path = _workbook(tmp_path / "m.xlsx", export_rows(palace), drop=("Variables",))
    with pytest.raises(P21Error) as e:
        import_p21(path)
    assert any("no sheet 'Variables' (sheets found: Study, Standards, Datasets" in p for p in e.value.problems)


def test_a_sponsor_workbook_without_studyforge_columns_imports(tmp_path):
    # a hand-made P21 workbook: sheet names spelled with spaces, no `studyforge` column
    wb = Workbook()
    wb.remove(wb.active)
    ws = wb.create_sheet("Study")
    for r in (["Attribute", "Value"], ["StudyName", "XYZ-101"], ["StudyDescription", "A study"],
              ["ProtocolName", "XYZ-101"]):
        ws.append(r)
    ws = wb.create_sheet("Standards")
    ws.append(["Name", "Type", "Publishing Set", "Version", "Status"])
    ws.append(["SDTMIG", "IG", "SDTM", "3.4", "Final"])
    ws = wb.create_sheet("Datasets")
    ws.append(["Dataset", "Label", "Class", "Structure", "Key Variables", "Standard", "Repeating"])
    ws.append(["DM", "Demographics", "SPECIAL PURPOSE", "One record per subject", "STUDYID, USUBJID", "SDTMIG 3.4",
               "No"])
    ws = wb.create_sheet("Variables")
    ws.append(["Order", "Dataset", "Variable", "Label", "Data Type", "Length", "Origin", "Source", "Pages", "Mandatory"])
    ws.append([1, "DM", "STUDYID", "Study Identifier", "text", 8, "Protocol", None, None, "Yes"])
    ws.append([2, "DM", "USUBJID", "Unique Subject Identifier", "text", 20, "Derived", None, None, "Yes"])
    ws.append([3, "DM", "AGE", "Age", "integer", 8, "Collected", "Investigator", "3, 4", "No"])
    ws = wb.create_sheet("Value Level")
    ws.append(["Order", "Dataset", "Variable", "Where Clause"])
    ws = wb.create_sheet("Where Clauses")
    ws.append(["ID", "Dataset", "Variable", "Comparator", "Value"])
    ws = wb.create_sheet("Codelists")
    ws.append(["ID", "Name", "NCI Codelist Code", "Data Type", "Order", "Term", "NCI Term Code", "Decoded Value"])
    ws.append(["SEX", "Sex", "C66731", "text", 1, "F", "C16576", "Female"])
    ws = wb.create_sheet("Methods")
    ws.append(["ID", "Name", "Type", "Description"])
    wb.save(tmp_path / "sponsor.xlsx")
    spec = import_p21(tmp_path / "sponsor.xlsx").spec
    dm = spec.datasets["DM"]
    assert (dm.purpose, dm.repeating, dm.keys) == ("Tabulation", False, ["STUDYID", "USUBJID"])
    age = dm.variable("AGE")
    assert (age.type, age.data_type, age.length, age.origin.pages, age.core) == ("Num", "integer", 8, ["3", "4"], None)
    assert dm.variable("STUDYID").core == "Req"  # Mandatory Yes
    assert spec.codelists["SEX"].terms[0].decode == "Female"


def test_import_commands_refuse_a_non_empty_folder_and_print_each_problem(tmp_path, capsys):
    from studyforge.spec.exchange import import_define_command, import_p21_command

    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    assert import_p21_command(tmp_path / "x.xlsx", tmp_path / "taken") == 2
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"  # untouched
    (tmp_path / "bad.xml").write_text("<root/>")
    assert import_define_command(tmp_path / "bad.xml", tmp_path / "new") == 2
    err = capsys.readouterr().err
    assert "is not empty" in err and "not a define.xml" in err and not (tmp_path / "new").exists()
