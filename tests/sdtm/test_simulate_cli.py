"""`studyforge simulate`: determinism, outputs read back by an independent reader, dictionary, settings errors."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from pathlib import Path

import pandas as pd
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from sdtm.simulate.command import csv_bytes, simulate
from studyforge.cli import main

from .simhelpers import SPEC


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_cli_writes_forms_dictionary_manifest(tmp_path):
    out = tmp_path / "raw"
    res = CliRunner().invoke(main, ["simulate", "--study", str(SPEC), "--subjects", "8", "--seed", "5", "--out", str(out)])
    assert res.exit_code == 0, res.output
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["study"] == "PALACE" and m["seed"] == 5 and m["subjects"] == 8
    forms = yaml_forms()
    assert set(m["forms"]) == set(forms)
    for name, entry in m["forms"].items():
        data = (out / f"{name}.csv").read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
        assert len(rows) - 1 == entry["rows"]
    # dictionary covers every column of every CSV, in order, and nothing else
    d = pd.read_csv(out / "dictionary.csv", dtype=str, keep_default_na=False)
    assert set(d["type"]) <= {"text", "integer", "float", "date", "time", "code"}
    assert set(d["required"]) <= {"Y", "N"}
    for name in m["forms"]:
        header = next(csv.reader(io.StringIO((out / f"{name}.csv").read_text(encoding="utf-8"))))
        assert header == d.loc[d["form"] == name, "field"].tolist(), name


def yaml_forms() -> list[str]:
    from sdtm.simulate.config import load_config

    return list(load_config(SPEC)[1]["forms"])


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    simulate(SPEC, a, subjects=12, seed=99)
    simulate(SPEC, b, subjects=12, seed=99)
    simulate(SPEC, c, subjects=12, seed=100)
    fa, fb, fc = _files(a), _files(b), _files(c)
    assert fa == fb
    assert set(fa) == set(fc)
    differing = [n for n in fa if fa[n] != fc[n]]
    assert {"dm.csv", "ae.csv", "lb.csv", "tl.csv", "ex.csv", "manifest.json"} <= set(differing)


def test_rows_and_fields_shape(tmp_path):
    simulate(SPEC, tmp_path, subjects=15, seed=1)
    sv = pd.read_csv(tmp_path / "sv.csv", dtype=str, keep_default_na=False)
    assert sv["STUDYID"].eq("PALACE").all()
    assert sv["SITEID"].str.fullmatch(r"1(0[1-9]|1[0-5])").all()
    assert (sv["SUBJID"].str[:3] == sv["SITEID"]).all() and sv["SUBJID"].str.fullmatch(r"\d{3}-\d{3}").all()
    assert sv["VISDAT"].str.fullmatch(r"\d{2} (JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC) \d{4}").all()
    ex = pd.read_csv(tmp_path / "ex.csv", dtype=str, keep_default_na=False)
    assert ex["EXSTTIM"].str.fullmatch(r"([01]\d|2[0-3]):[0-5]\d").all()
    assert (ex.groupby(["SUBJID", "FOLDER"])["RECORDPOSITION"].apply(lambda s: list(s) == [str(i + 1) for i in range(len(s))])).all()
    b = pd.read_csv(tmp_path / "bicr_response.csv", dtype=str, keep_default_na=False)
    assert b["SCANDATE"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert set(b["READER"]) <= {"RADIOLOGIST 1", "RADIOLOGIST 2"}
    ds = pd.read_csv(tmp_path / "ds.csv", dtype=str, keep_default_na=False)
    assert (ds.groupby("SUBJID")["DSSCAT"].apply(list) == pd.Series([["END OF TREATMENT", "END OF STUDY"]] * ds["SUBJID"].nunique(), index=sorted(ds["SUBJID"].unique()))).all()


def test_bad_override_is_a_clear_error(tmp_path):
    res = CliRunner().invoke(main, ["simulate", "--study", str(SPEC), "--subjects", "3", "--out", str(tmp_path),
                                    "--set", "messiness.no_such_switch=0.1"])
    assert res.exit_code == 2
    assert "messiness.no_such_switch" in res.output
    res = CliRunner().invoke(main, ["simulate", "--study", str(SPEC), "--subjects", "3", "--out", str(tmp_path),
                                    "--set", "messiness.partial_dates=1.5"])
    assert res.exit_code == 2
    assert "simulation.yaml:" in res.output and "partial_dates" in res.output and "1.5" in res.output
    assert not (tmp_path / "manifest.json").exists()


def test_bad_yaml_names_file_and_line(tmp_path):
    study = tmp_path / "study"
    shutil.copytree(SPEC / "simulation", study / "simulation")
    p = study / "simulation" / "simulation.yaml"
    lines = p.read_text(encoding="utf-8").splitlines()
    idx = next(i for i, ln in enumerate(lines) if ln.strip().startswith("g2_fraction:"))
    lines.insert(idx + 1, "  typo_key: 3")
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["simulate", "--study", str(study), "--subjects", "3", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert f"simulation.yaml:{idx + 2}" in res.output and "typo_key" in res.output


text_values = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(text_values, text_values), min_size=0, max_size=8))
def test_csv_writer_round_trips_through_csv_module(rows):
    """Any text (commas, quotes, line breaks, Chinese) survives our writer and Python's csv reader."""
    df = pd.DataFrame(rows, columns=["A", "B,x"], dtype=object)
    data = csv_bytes(df).decode("utf-8")
    back = list(csv.reader(io.StringIO(data, newline="")))
    assert back[0] == ["A", "B,x"]
    assert [tuple(r) for r in back[1:]] == [tuple(r) for r in rows] or (not rows and len(back) == 1)


def test_chunked_writer_equals_whole_frame_bytes(tmp_path, monkeypatch):
    import sdtm.simulate.command as cmd

    df = pd.DataFrame({"A": [f"v{i}" for i in range(25)], "B": ['x,"y"' if i % 7 == 0 else "腹泻" for i in range(25)]}, dtype=object)
    monkeypatch.setattr(cmd, "CHUNK_ROWS", 4)
    sha = cmd.write_csv(tmp_path / "x.csv", df)
    data = (tmp_path / "x.csv").read_bytes()
    assert data == csv_bytes(df)
    assert sha == hashlib.sha256(data).hexdigest()


def test_bad_forms_dictionary_names_file_and_line(tmp_path):
    study = tmp_path / "study"
    shutil.copytree(SPEC / "simulation", study / "simulation")
    p = study / "simulation" / "forms.yaml"
    text = p.read_text(encoding="utf-8")
    p.write_text(text.replace("{name: ECOG, label: ECOG Performance Status, type: code,",
                              "{name: ECOG, label: ECOG Performance Status, type: choice,"), encoding="utf-8")
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "name: ECOG, label" in ln)
    res = CliRunner().invoke(main, ["simulate", "--study", str(study), "--subjects", "3", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert f"forms.yaml:{line}" in res.output and "choice" in res.output


def test_bytes_do_not_depend_on_hash_seed(tmp_path):
    """No set/dict-hash ordering leaks into the output: two processes with other PYTHONHASHSEED agree."""
    import os
    import subprocess
    import sys

    outs = []
    for hs in ("1", "4242"):
        out = tmp_path / hs
        env = {**os.environ, "PYTHONHASHSEED": hs}
        subprocess.run([sys.executable, "-m", "studyforge.cli", "simulate", "--study", str(SPEC), "--subjects", "6",
                        "--out", str(out), "--set", "messiness.non_ascii=true"], check=True, env=env, capture_output=True)
        outs.append(_files(out))
    assert outs[0] == outs[1] and len(outs[0]) == 27  # 24 forms, dictionary, manifest, _injected.csv
