"""The results stage writes the same bytes whichever text layout pandas gave its ADaM frames (Python-object
or pyarrow-backed `str`): the committed reference ADaM of PALACE (twice, as 86 subjects),
with a lineage table for the trace page. The waterfall's many-subject path has its own test below."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib import pyplot as plt

from results import figures
from results.stage import write_results
from studyforge.spec.loader import load_spec
from tests.adam.reference import REF_ADAM, read_typed_csv

ROOT = Path(__file__).resolve().parents[2]
COPIES = 2


def _frames() -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    spec = load_spec(ROOT / "specs" / "palace")
    frames = {}
    for p in sorted(REF_ADAM.glob("*.csv")):
        df = read_typed_csv(p, spec.datasets[p.stem.upper()])
        k = np.repeat(np.arange(COPIES), len(df))
        df = pd.concat([df] * COPIES, ignore_index=True)
        df["USUBJID"] = df["USUBJID"].to_numpy(dtype=object) + np.char.mod("-%d", k).astype(object)
        if "PCHG" in df.columns:
            df["PCHG"] = df["PCHG"] * (1 + k / 100)       # distinct values per copy
        frames[p.stem.upper()] = df
    recs = pd.concat([f[["SRCDOM", "USUBJID", "SRCSEQ"]] for f in frames.values() if "SRCSEQ" in f.columns])
    recs = recs[recs["SRCDOM"] != ""].drop_duplicates()
    lineage = pd.DataFrame({"DOMAIN": recs["SRCDOM"].to_numpy(dtype=object), "USUBJID": recs["USUBJID"].to_numpy(dtype=object),
                            "SEQ": recs["SRCSEQ"].to_numpy(dtype=float),
                            "FILE": np.where(recs["SRCDOM"] == "RS", "raw/rs.csv", "raw/other.csv").astype(object),
                            "LINE": np.arange(2, len(recs) + 2)})
    return frames, lineage


def _in_layout(df: pd.DataFrame, dtype) -> pd.DataFrame:
    df = df.copy()
    for c in df.columns:
        if not pd.api.types.is_numeric_dtype(df[c].dtype):
            df[c] = pd.Series(df[c].to_numpy(dtype=object), dtype=dtype)
    return df


def test_same_bytes_in_every_string_layout(tmp_path):
    pytest.importorskip("pyarrow")
    frames, lineage = _frames()
    written = {}
    for name, dtype in {"python": pd.StringDtype("python", na_value=np.nan),
                        "pyarrow": pd.StringDtype("pyarrow", na_value=np.nan)}.items():
        out = tmp_path / name
        out.mkdir()
        write_results(ROOT / "specs" / "palace", {k: _in_layout(v, dtype) for k, v in frames.items()}, out,
                      "PALACE", dt.datetime(2024, 1, 1), _in_layout(lineage, dtype))
        written[name] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert set(written["python"]) == {"ard.csv", "ard.json", "ars.json", "index.html", "trace.html"}
    assert b"raw/rs.csv" in written["python"]["trace.html"]
    for name, files in written.items():
        for f, data in files.items():
            assert data == written["python"][f], f"{f} differs with {name} text"


def test_waterfall_steps_draw_what_matplotlib_stairs_draws():
    # figures._stairs adds the StepPatch with its extent computed from edges and values; the reference is
    # matplotlib's own Axes.stairs on the same data: the SVG must be the same, limits included
    values = np.array([40.0, 0.0, 12.5, -7.0, 0.0, -55.0])
    edges = np.arange(len(values) + 1) - 0.5

    def draw(use_ours: bool) -> str:
        fig, ax = plt.subplots(figsize=(4, 3))
        for colour, keep in (("#1a9850", values < 0), ("#d73027", values >= 0)):
            v = np.where(keep, values, 0.0)
            if use_ours:
                figures._stairs(ax, v, edges, colour, colour)
            else:
                ax.stairs(v, edges, fill=True, baseline=0, color=colour, label=colour)
        ax.get_ylim()
        ax.legend()
        return figures._svg(fig)

    assert draw(True) == draw(False)
