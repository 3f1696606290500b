"""Reference ADaM of the default study, derived from the committed reference SDTM (tests/reference/sdtm).

Deriving from the committed SDTM (not a fresh simulation) keeps this reference about the ADaM stage
alone. Regenerate after an intended change, then review the git diff:
    .venv/bin/python -m tests.adam.reference
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from adam.pipeline import derive_adam
from studyforge.datasets_io import normalize
from studyforge.spec.loader import load_spec
from studyforge.spec.models import Dataset, Spec

ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = ROOT / "specs" / "palace"
REF_SDTM = ROOT / "tests" / "reference" / "sdtm"
REF_ADAM = ROOT / "tests" / "reference" / "adam"


def read_typed_csv(path: Path, ds: Dataset) -> pd.DataFrame:
    """A reference CSV typed by its spec: Num variables float64, the rest text with "" for missing."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    for v in ds.variables:
        if v.type == "Num" and v.name in df.columns:
            df[v.name] = pd.to_numeric(df[v.name].replace("", None), errors="coerce").astype("float64")
    return normalize(df)


def reference_sdtm(spec: Spec) -> dict[str, pd.DataFrame]:
    return {p.stem.upper(): read_typed_csv(p, spec.datasets[p.stem.upper()]) for p in sorted(REF_SDTM.glob("*.csv"))}


def derive_reference(spec: Spec) -> dict[str, pd.DataFrame]:
    adam, _ = derive_adam(reference_sdtm(spec), spec)
    return adam


if __name__ == "__main__":
    spec = load_spec(SPEC_DIR)
    REF_ADAM.mkdir(parents=True, exist_ok=True)
    for name, df in sorted(derive_reference(spec).items()):
        df.to_csv(REF_ADAM / f"{name.lower()}.csv", index=False, lineterminator="\n", float_format="%.15g")
        print(f"{name}: {len(df)} records")
