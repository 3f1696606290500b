"""The annotated CRF: read back with pypdf, annotations agree with the input, bookmarks, pages, determinism."""

from __future__ import annotations

import datetime as dt

from pypdf import PdfReader

from studyforge.acrf import NOT_SUBMITTED, ROWS_PER_PAGE, CrfField, layout, write_acrf

CREATED = dt.datetime(2026, 1, 1)


def forms():
    ae = [CrfField("ae", "AETERM", "Reported Term", annotations=("AE.AETERM",)),
          CrfField("ae", "AESTDAT", "Start Date", annotations=("AE.AESTDTC",)),
          CrfField("ae", "AESMIE", "Other medically important", annotations=("SUPPAE.AESMIE",)),
          CrfField("ae", "FOLDER", "EDC folder")]
    vs = [CrfField("vs", f"F{i:02d}", f"Field {i}", annotations=("VS.VSORRES",)) for i in range(ROWS_PER_PAGE + 3)]
    return {"ae": ("Adverse Events", ae), "vs": ("Vital Signs", vs)}


def test_layout_pages_and_define_page_refs():
    lay = layout(forms())
    # cover 1, contents 2, AE 3, VS 4-5 (25 fields, 22 a page)
    assert [(p.form, p.part, p.number) for p in lay.pages] == [("ae", 1, 3), ("vs", 1, 4), ("vs", 2, 5)]
    assert lay.pages_of("AE", "AETERM") == [3]
    assert lay.pages_of("VS", "VSORRES") == [4, 5]
    assert lay.pages_of("AE", "AESEQ") == []
    # the dataset's form pages serve a collected variable no field feeds (define.xml falls back to them)
    assert lay.page_map()["SUPPAE"] == [3] and lay.page_map()["VS"] == [4, 5]


def test_pdf_reads_back_with_annotations_bookmarks_and_same_bytes(tmp_path):
    lay = layout(forms())
    labels = {"AE": "Adverse Events", "SUPPAE": "Supplemental Qualifiers for AE", "VS": "Vital Signs"}
    write_acrf(lay, tmp_path / "a.pdf", "DEMO", "A demo study", CREATED, labels)
    write_acrf(lay, tmp_path / "b.pdf", "DEMO", "A demo study", CREATED, labels)
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    pdf = PdfReader(tmp_path / "a.pdf")
    assert len(pdf.pages) == 5
    ae = pdf.pages[2].extract_text()
    for text in ("AE (Adverse Events)", "SUPPAE (Supplemental Qualifiers for AE)", "AE.AETERM", "SUPPAE.AESMIE",
                 NOT_SUBMITTED):
        assert text in ae, text
    assert "Adverse Events" in pdf.pages[1].extract_text()  # table of contents
    outline = pdf.outline
    titles = [o.title for o in outline if not isinstance(o, list)]
    assert titles == ["Forms", "Domains"]
    domains = outline[3]
    assert [o.title for o in domains if not isinstance(o, list)] == [
        "AE (Adverse Events)", "SUPPAE (Supplemental Qualifiers for AE)", "VS (Vital Signs)"]
    assert pdf.get_destination_page_number(domains[0]) == 2  # 0-based: page 3
