"""Each messiness switch produces what it says: rate 0 -> none, high rate -> present."""

from __future__ import annotations

import re

import pandas as pd

from .simhelpers import CLEAN, edc, run

N = 30
FULL_DATE = re.compile(r"^\d{2} [A-Z]{3} \d{4}$")


def with_(*sets: str) -> dict[str, pd.DataFrame]:
    keys = {s.split("=")[0] for s in sets}
    base = tuple(c for c in CLEAN if c.split("=")[0] not in keys)
    return run(base + tuple(sets), subjects=N, seed=21)


def _all_text(f: dict[str, pd.DataFrame]) -> str:
    return "".join(df.to_csv(index=False) for df in f.values())


def test_clean_run_has_no_messiness():
    f = with_()
    for form, fields in {"ae": ["AESTDAT"], "dm": ["BRTHDAT"], "cmprior": ["CMSTDAT"], "lb": ["LBDAT"]}.items():
        for fld in fields:
            vals = f[form][fld]
            assert vals.str.match(FULL_DATE).all(), (form, fld)
            vals.map(edc)  # every date is a real calendar date
    assert set(f["dm"]["SEX"]) <= {"Male", "Female"}
    assert _all_text(f).isascii()
    assert not f["lb"]["LBSTAT"].eq("NOT DONE").any()
    assert not f["sv"]["FOLDER"].str.startswith("UNSCHEDULED").any()
    lb = f["lb"].drop(columns="RECORDPOSITION")
    assert not lb.duplicated().any()


def test_partial_dates():
    f = with_("messiness.partial_dates=1")
    for form, fld in (("ae", "AESTDAT"), ("dm", "BRTHDAT"), ("cmprior", "CMSTDAT")):
        v = f[form][fld]
        v = v[v != ""]
        assert v.str.match(r"^(UN [A-Z]{3}|UNK UNK) \d{4}$").all(), (form, v.head())
    assert f["ae"]["AESTDAT"].str.startswith("UNK UNK").any()
    # visit dates are never partial
    assert f["sv"]["VISDAT"].str.match(FULL_DATE).all()


def test_non_ascii_only_when_switched_on():
    off = with_("messiness.non_ascii=false", "messiness.non_ascii_rate=1")
    assert _all_text(off).isascii()
    on = with_("messiness.non_ascii=true", "messiness.non_ascii_rate=1")
    assert (~on["ae"]["AETERM"].map(str.isascii)).all()
    assert (~on["cmprior"]["CMTRT"].map(str.isascii)).all()
    assert on["ae"]["AEDECOD"].map(str.isascii).all()  # coded terms stay English


def test_impossible_dates():
    f = with_("messiness.impossible_dates=true", "messiness.impossible_dates_rate=1")
    bad = f["lb"]["LBDAT"]
    assert bad.str.match(r"^(30 FEB|31 APR|31 JUN|31 SEP) \d{4}$").all()
    off = with_("messiness.impossible_dates=false", "messiness.impossible_dates_rate=1")
    off["lb"]["LBDAT"].map(edc)


def test_codelist_variants():
    f = with_("messiness.codelist_variants=1")
    assert not f["dm"]["SEX"].isin(["Male", "Female"]).any()
    assert f["dm"]["SEX"].isin(["male ", "M", "MALE", "female", "F", "FEMALE "]).all()
    assert not f["ae"]["AESER"].isin(["Yes", "No"]).any()


def test_unit_variants():
    from sdtm.simulate.config import load_config

    from .simhelpers import SPEC

    canonical = set(load_config(SPEC)[0].labs.unit_variants)  # every unit that has spelling variants
    assert set(with_()["lb"]["LBORRESU"]) - {""} <= canonical
    messy = set(with_("messiness.unit_variants=1")["lb"]["LBORRESU"]) - {""}
    assert messy.isdisjoint(canonical)
    assert {"mmol/l", "MMOL/L", "mmol/L "} & messy


def test_duplicate_records():
    f = with_("messiness.duplicate_records=1")
    for form in ("lb", "ae", "cmprior"):
        body = f[form].drop(columns="RECORDPOSITION")
        assert body.duplicated(keep=False).all(), form
        assert len(body) == 2 * len(body.drop_duplicates())
    assert not f["sv"].duplicated().any()


def test_out_of_range_and_missing_values():
    f = with_("messiness.out_of_range=1")
    lb = f["lb"]
    assert (lb["LBORRES"].astype(float) >= 4 * lb["LBORNRHI"].astype(float) - 1e-6).all()
    clean = with_()["lb"]
    assert (clean["LBORRES"].astype(float) < 4 * clean["LBORNRHI"].astype(float)).mean() > 0.95
    m = with_("messiness.missing_values=1")
    assert (m["lb"]["LBSTAT"] == "NOT DONE").all() and (m["lb"]["LBORRES"] == "").all()
    assert (m["lb"]["LBREASND"] != "").all()
    assert (m["qlqc30"]["QSSTAT"] == "NOT DONE").all() and (m["qlqc30"]["Q01"] == "").all()


def test_missed_visits():
    f = with_("messiness.missed_visits=1")
    folders = set(f["sv"]["FOLDER"])
    assert folders <= {"SCREENING", "DAY 1", "WEEK 48", "WEEK 72", "FOLLOW-UP"}
    clean = with_()
    assert "WEEK 4" in set(clean["sv"]["FOLDER"])


def test_unscheduled_visits():
    f = with_("messiness.unscheduled_visits=1")
    uns = f["sv"][f["sv"]["FOLDER"] == "UNSCHEDULED 1"]
    assert uns["SUBJID"].nunique() >= N // 2
    assert (f["lb"]["FOLDER"] == "UNSCHEDULED 1").any()
    assert (f["tl"]["FOLDER"] == "UNSCHEDULED 1").any()


def test_out_of_window_visits():
    def deviations(f):
        sv = f["sv"].assign(d=f["sv"]["VISDAT"].map(edc))
        d1 = sv[sv["FOLDER"] == "DAY 1"].set_index("SUBJID")["d"]
        wk = sv[sv["FOLDER"].str.fullmatch(r"WEEK \d+")].copy()
        planned = wk["FOLDER"].str.slice(5).astype(int) * 7 + 1
        actual = (wk["d"] - d1.reindex(wk["SUBJID"]).to_numpy()).map(lambda x: x.days) + 1
        return (actual.to_numpy() - planned.to_numpy())

    assert (abs(deviations(with_())) <= 3).all()  # protocol window +/- 3 days
    dev = deviations(with_("messiness.out_of_window=1"))
    assert (abs(dev) > 3).mean() > 0.5
