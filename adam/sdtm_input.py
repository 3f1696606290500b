"""The ADaM stage's input: any folder of SDTM datasets (XPT v5 or Dataset-JSON), whoever made them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from studyforge.datasets_io import read_dataset_folder


def read_sdtm_folder(path: Path | str) -> dict[str, pd.DataFrame]:
    """NAME -> frame with character columns as str ("" for missing) and numerics as float64."""
    return read_dataset_folder(path)
