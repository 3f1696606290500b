"""studyforge.compare: each kind of difference with hand-counted expectations (PROC COMPARE semantics)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from click.testing import CliRunner

from studyforge.cli import main
from studyforge.compare import assert_datasets_equal, compare_datasets


def base_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "USUBJID": ["P-1", "P-1", "P-2", "P-3"],
        "AESEQ": [1.0, 2.0, 1.0, 1.0],
        "AETERM": ["HEADACHE", "NAUSEA", "RASH", "FATIGUE"],
        "AVAL": [1.0, 2.5, np.nan, 4.0],
    })


def test_equal_frames_are_equal():
    b = base_frame()
    r = compare_datasets(b, b.copy(), keys=["USUBJID", "AESEQ"])
    assert r.equal
    assert "No unequal values" in r.report()
    assert_datasets_equal(b.copy(), b, keys=["USUBJID", "AESEQ"])


def test_row_order_and_trailing_blanks_do_not_matter():
    b = base_frame()
    c = b.iloc[::-1].copy()
    c["AETERM"] = c["AETERM"] + "   "
    assert compare_datasets(b, c, keys=["USUBJID", "AESEQ"]).equal


def test_value_differences_counted_and_listed():
    b = base_frame()
    c = b.copy()
    c.loc[1, "AETERM"] = "VOMITING"          # 1 char difference
    c.loc[0, "AVAL"] = 1.5                   # numeric difference 0.5
    c.loc[2, "AVAL"] = 3.0                   # missing vs value: a difference, DIFF missing
    c.loc[3, "AETERM"] = "fatigue"           # case matters
    r = compare_datasets(b, c, keys=["USUBJID", "AESEQ"], max_diffs=1)
    assert not r.equal
    assert r.diff_counts == {"AETERM": 2, "AVAL": 2}
    assert r.n_obs_unequal == 4 and r.n_common_obs == 4
    assert r.max_diff["AVAL"] == 0.5
    first = r.value_diffs["AETERM"]
    assert len(first) == 1                   # max_diffs respected
    assert first.iloc[0].to_dict() == {"USUBJID": "P-1", "AESEQ": 2.0, "BASE": "NAUSEA", "COMPARE": "VOMITING"}
    rep = r.report()
    assert "|| AETERM" in rep and "VOMITING" in rep and "Total Number of Values which Compare Unequal: 4." in rep


def test_tolerance_boundary():
    b = pd.DataFrame({"K": [1, 2], "X": [1.0, 10.0]})
    c = pd.DataFrame({"K": [1, 2], "X": [1.5, 10.25]})
    # absolute criterion: equal when |diff| <= tolerance (0.5 and 0.25 are exact binary fractions)
    assert compare_datasets(b, c, keys=["K"], tolerance=0.5).equal
    r = compare_datasets(b, c, keys=["K"], tolerance=0.4999)
    assert r.diff_counts == {"X": 1}
    assert compare_datasets(b, c, keys=["K"], tolerance=0.0).diff_counts == {"X": 2}
    nan = pd.DataFrame({"K": [1], "X": [np.nan]})
    assert compare_datasets(nan, nan.copy(), keys=["K"]).equal      # NaN == NaN
    with pytest.raises(ValueError):
        compare_datasets(b, c, keys=["K"], tolerance=-1)


def test_observations_only_in_one_and_variables_only_in_one():
    b = base_frame()
    c = b.drop(index=[0]).copy()
    c = pd.concat([c, pd.DataFrame({"USUBJID": ["P-9"], "AESEQ": [1.0], "AETERM": ["X"], "AVAL": [1.0]})])
    c["NEWVAR"] = "Y"
    c = c.drop(columns=["AVAL"])
    r = compare_datasets(b, c, keys=["USUBJID", "AESEQ"])
    assert r.only_in_base_vars == ["AVAL"] and r.only_in_compare_vars == ["NEWVAR"]
    assert r.base_only_obs.to_dict("records") == [{"USUBJID": "P-1", "AESEQ": 1.0}]
    assert r.compare_only_obs.to_dict("records") == [{"USUBJID": "P-9", "AESEQ": 1.0}]
    assert r.n_common_obs == 3 and not r.diff_counts
    assert "Observations only in BASE" in r.report()


def test_duplicate_keys_reported_not_crashing():
    b = base_frame()
    c = b.copy()
    c.loc[1, "AESEQ"] = 1.0       # P-1 now has AESEQ 1 twice
    r = compare_datasets(b, c, keys=["USUBJID", "AESEQ"])
    assert r.compare_dup_keys.to_dict("records") == [{"USUBJID": "P-1", "AESEQ": 1.0, "COUNT": 2}]
    assert len(r.base_dup_keys) == 0
    # second P-1/1 record pairs with nothing in base; base P-1/2 unmatched
    assert len(r.compare_only_obs) == 1 and len(r.base_only_obs) == 1
    assert not r.equal and "more than once" in r.report()   # unequal by the unmatched records, not by the repeat


def test_attribute_differences_from_metadata_and_type_conflict():
    b = base_frame()
    c = b.copy()
    c["AVAL"] = c["AVAL"].astype(str)      # Num vs Char: reported, values not compared
    bm = {"label": "Adverse Events", "variables": {"AETERM": {"length": 200, "label": "Reported Term", "format": None}}}
    cm = {"label": "Adverse Event", "variables": {"AETERM": {"length": 100, "label": "Reported Term"}}}
    r = compare_datasets(b, c, keys=["USUBJID", "AESEQ"], base_meta=bm, compare_meta=cm)
    got = {(d["variable"], d["attribute"]) for d in r.attr_diffs.to_dict("records")}
    assert got == {("AETERM", "length"), ("AVAL", "type")}
    assert r.label_diff == ("Adverse Events", "Adverse Event")
    assert "AVAL" not in r.compared_vars and not r.diff_counts
    assert "Listing of Common Variables with Differing Attributes" in r.report()


def test_assert_helper_raises_with_report():
    b = base_frame()
    c = b.copy()
    c.loc[0, "AVAL"] = 9.0
    with pytest.raises(AssertionError, match=r"\|\| AVAL"):
        assert_datasets_equal(c, b, keys=["USUBJID", "AESEQ"])


def test_missing_key_is_clear_error():
    with pytest.raises(ValueError, match="NOPE"):
        compare_datasets(base_frame(), base_frame(), keys=["NOPE"])


def test_large_frame_finds_the_one_difference():
    """A million rows, one changed value (speed belongs to the benchmarks)."""
    n = 1_000_000
    b = pd.DataFrame({"K": np.arange(n), "X": np.arange(n, dtype=float), "C": np.where(np.arange(n) % 2, "A", "B")})
    c = b.copy()
    c.loc[5, "X"] = -1.0
    r = compare_datasets(b, c, keys=["K"])
    assert r.diff_counts == {"X": 1}


def _xpt(path, df, label):
    pyreadstat.write_xport(df, str(path), file_label=label, table_name="AE", file_format_version=5)


def test_cli_exit_codes(tmp_path):
    b = base_frame()
    _xpt(tmp_path / "b.xpt", b, "Adverse Events")
    _xpt(tmp_path / "same.xpt", b, "Adverse Events")
    c = b.copy()
    c.loc[2, "AETERM"] = "ITCH"
    _xpt(tmp_path / "c.xpt", c, "Adverse Events")
    c.to_csv(tmp_path / "c.csv", index=False)
    runner = CliRunner()
    ok = runner.invoke(main, ["compare", str(tmp_path / "b.xpt"), str(tmp_path / "same.xpt"), "--by", "USUBJID,AESEQ"])
    assert ok.exit_code == 0, ok.output
    rep = tmp_path / "out" / "cmp.txt"
    bad = runner.invoke(main, ["compare", str(tmp_path / "b.xpt"), str(tmp_path / "c.xpt"), "--by", "USUBJID,AESEQ",
                               "--report", str(rep)])
    assert bad.exit_code == 1
    assert "ITCH" in bad.output and rep.read_text() in bad.output
    csv = runner.invoke(main, ["compare", str(tmp_path / "c.xpt"), str(tmp_path / "c.csv"), "--by", "USUBJID,AESEQ"])
    assert csv.exit_code == 0, csv.output
    err = runner.invoke(main, ["compare", str(tmp_path / "b.xpt"), str(tmp_path / "c.xpt"), "--by", "NOKEY"])
    assert err.exit_code == 2 and "NOKEY" in err.output


def test_xpt_metadata_differences_via_cli(tmp_path):
    from studyforge.xpt import write_xpt

    b = base_frame()
    write_xpt(b, tmp_path / "b.xpt", name="AE", label="Adverse Events", labels={"AETERM": "Reported Term"})
    write_xpt(b, tmp_path / "c.xpt", name="AE", label="Adverse Events", labels={"AETERM": "Verbatim Term"},
              lengths={"AETERM": 20})
    res = CliRunner().invoke(main, ["compare", str(tmp_path / "b.xpt"), str(tmp_path / "c.xpt"), "--by", "USUBJID,AESEQ"])
    assert res.exit_code == 1
    # values equal; AETERM label and length (8 = longest value 'HEADACHE' vs declared 20) differ
    assert "Number of Variables with Differing Attributes: 1." in res.output
    assert "Total Number of Values which Compare Unequal: 0." in res.output


def test_spec_dataset_metadata_and_dataset_json(tmp_path):
    from studyforge.compare import read_dataset
    from studyforge.datasetjson import write_dataset_json
    from studyforge.spec.models import Dataset, Origin, Variable

    b = base_frame()
    cols = [{"name": "USUBJID", "label": "Unique Subject Identifier", "data_type": "string", "length": 3},
            {"name": "AESEQ", "label": "Sequence Number", "data_type": "integer"},
            {"name": "AETERM", "label": "Reported Term", "data_type": "string", "length": 8},
            {"name": "AVAL", "label": "Analysis Value", "data_type": "float"}]
    write_dataset_json(b, tmp_path / "ae.json", name="AE", label="Adverse Events", columns_meta=cols,
                       study_oid="ST.PALACE", metadata_version_oid="MDV.1", created="2024-01-15T00:00:00")
    df, meta = read_dataset(tmp_path / "ae.json")
    spec_ds = Dataset(name="AE", label="Adverse Events", **{"class": "EVENTS"}, structure="x", purpose="Tabulation",
                      standard="SDTMIG 3.4", keys=["USUBJID"], variables=[
                          Variable(name=c["name"], label=c["label"], type="Char" if c["data_type"] == "string" else "Num",
                                   length=12 if c["name"] == "AETERM" else c.get("length"), origin=Origin(type="Derived"))
                          for c in cols])
    r = compare_datasets(b, df, keys=["USUBJID", "AESEQ"], base_meta=spec_ds, compare_meta=meta)
    assert not r.diff_counts and not r.base_only_obs.shape[0]
    assert r.attr_diffs[["variable", "attribute", "base", "compare"]].values.tolist() == [["AETERM", "length", 12, 8]]


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.floats(-1e6, 1e6), st.just(float("nan"))), st.text("AB ", max_size=4)), min_size=1, max_size=30),
       st.randoms(use_true_random=False))
def test_property_shuffle_equal_and_one_change_found(rows, rnd):
    b = pd.DataFrame({"K": np.arange(len(rows)), "X": [r[0] for r in rows], "C": [r[1].rstrip() for r in rows]})
    order = list(range(len(rows)))
    rnd.shuffle(order)
    c = b.iloc[order].reset_index(drop=True)
    c["C"] = c["C"] + " "                       # trailing blanks never matter
    assert compare_datasets(b, c, keys=["K"]).equal
    i = rnd.randrange(len(rows))
    c.loc[c["K"] == i, "X"] = (0.0 if np.isnan(b.loc[i, "X"]) else b.loc[i, "X"] + 1.0)
    r = compare_datasets(b, c, keys=["K"], tolerance=0.5)
    assert r.diff_counts == {"X": 1} and r.value_diffs["X"]["K"].tolist() == [i]
