"""Write/read the SDTM reference outputs (tests/reference/sdtm/<name>.csv) of the default study.

Run: .venv/bin/python -m sdtm.tools.reference RAW_DIR [SPEC_DIR]   (RAW_DIR from `studyforge simulate`;
SPEC_DIR defaults to specs/palace, the study the reference outputs are of)
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from studyforge.spec.models import Dataset

REF = Path(__file__).resolve().parents[2] / "tests" / "reference" / "sdtm"


def compare_keys(ds: Dataset, df: pd.DataFrame) -> list[str]:
    """Record keys for comparison: USUBJID + --SEQ when present, else the spec's keys."""
    seq = [c for c in df.columns if c.endswith("SEQ") and c != "TSSEQ"]
    if "USUBJID" in df.columns and seq:
        return ["USUBJID", seq[0]]
    if ds.name.startswith("SUPP"):
        return ["USUBJID", "IDVARVAL", "QNAM"]
    return [k for k in ds.keys if k in df.columns]


def write_reference(datasets: dict[str, pd.DataFrame], folder: Path = REF) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in sorted(datasets.items()):
        df.to_csv(folder / f"{name.lower()}.csv", index=False, lineterminator="\n", float_format="%.15g")


def read_reference(ds: Dataset, folder: Path = REF) -> pd.DataFrame:
    df = pd.read_csv(folder / f"{ds.name.lower()}.csv", dtype=str, keep_default_na=False)
    for v in ds.variables:
        if v.type == "Num":
            df[v.name] = pd.to_numeric(df[v.name].replace("", None), errors="coerce").astype("float64")
    return df


if __name__ == "__main__":
    from sdtm.command import run_sdtm

    datasets, *_ = run_sdtm(Path(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) > 2 else "specs/palace"))
    write_reference(datasets)
    print(f"wrote {len(datasets)} reference datasets to {REF}")
