"""define.html: parsed with lxml.html; links resolve, tables have the right rows, text is escaped."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest

from studyforge.define import write_define


@pytest.fixture()
def sdtm_html(spec, sdtm_pkg):
    folder, infos = sdtm_pkg
    write_define(spec, "Tabulation", infos, folder, acrf="acrf.pdf", reviewers_guide="csdrg.pdf")
    return folder, lxml.html.parse(str(folder / "define.html")).getroot()


@pytest.fixture()
def adam_html(spec, adam_pkg):
    folder, infos = adam_pkg
    write_define(spec, "Analysis", infos, folder, documents={"SAP": "sap.pdf"})
    return folder, lxml.html.parse(str(folder / "define.html")).getroot()


@pytest.mark.parametrize("which", ["sdtm_html", "adam_html"])
def test_links_resolve(which, request):
    folder, doc = request.getfixturevalue(which)
    ids = {e.get("id") for e in doc.iter() if e.get("id")}
    hrefs = [a.get("href") for a in doc.iter("a")]
    internal = [h[1:] for h in hrefs if h.startswith("#")]
    files = [h.split("#")[0] for h in hrefs if not h.startswith("#")]
    assert internal and files
    assert sorted(set(internal) - ids) == []
    assert all(not h.startswith(("http:", "https:", "//")) for h in files)     # opens offline
    assert sorted(f for f in set(files) if not (Path(folder) / f).is_file()) == []
    assert not doc.xpath("//script[@src] | //link[@href]")                      # no external resources


def test_tables_have_the_right_rows(sdtm_html, spec, frames):
    _, doc = sdtm_html
    ds_rows = doc.xpath("//table[contains(@class,'datasets')]/tr[td]")
    assert [r.xpath("td[1]//text()")[0] for r in ds_rows] == ["DM", "LB"]
    assert [r.xpath("td[7]/text()")[0] for r in ds_rows] == [str(len(frames["DM"])), str(len(frames["LB"]))]
    for name in ("DM", "LB"):
        rows = doc.xpath(f"//table[@data-dataset='{name}']/tr[td]")
        assert [r.xpath("td[1]/text()")[0].strip() for r in rows] == list(frames[name].columns)
    vl_rows = doc.xpath("//table[@id='VL.LB.LBORRES']/tr[td]")
    assert [r.xpath("td[1]/text()")[0] for r in vl_rows] == ["LBTESTCD EQ CGA", "LBTESTCD EQ IAA5OH"]
    sex_rows = doc.xpath("//table[@id='CL.SEX']/tr[td]")
    assert [tuple(r.xpath("td/text()")[:2]) for r in sex_rows] == [("F", "Female"), ("M", "Male")]
    # AGE: collected on CRF page 3 -> link into the annotated CRF
    age = doc.xpath("//tr[@id='IT.DM.AGE']//a/@href")
    assert "acrf.pdf#page=3" in age


def test_text_is_escaped(sdtm_html):
    folder, doc = sdtm_html
    assert not doc.xpath("//special")
    assert "Sponsor test <special> & more" in doc.xpath("//table[@id='CL.LBTESTCD']")[0].text_content()
    assert b"&lt;special&gt; &amp; more" in (folder / "define.html").read_bytes()


def test_method_and_comment_links(adam_html):
    _, doc = adam_html
    bor = doc.xpath("//tr[@id='IT.ADRS.AVAL.PARAMCD.EQ.BOR']")[0]
    assert "#MT.M_BOR" in bor.xpath(".//a/@href")
    ovr = doc.xpath("//tr[@id='IT.ADRS.AVAL.PARAMCD.EQ.OVR']")[0]
    assert "#COM.C_OVR" in ovr.xpath(".//a/@href")
    assert doc.xpath("//tr[@id='MT.M_BOR']//a/@href") == ["sap.pdf"]
