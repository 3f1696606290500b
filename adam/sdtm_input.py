"""The ADaM stage's input: any folder of SDTM datasets (XPT v5 or Dataset-JSON), whoever made them.

Each dataset is read on first use, so ADaM reads only the datasets its spec uses: a dataset it never
needs (a TS with a non-ASCII character, a trial-design file in another encoding) cannot stop it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd

from studyforge.datasets_io import normalize, read_dataset


class SdtmReadError(RuntimeError):
    """A dataset the ADaM derivation needs could not be read (the message names the file)."""


class SdtmFolder(Mapping[str, pd.DataFrame]):
    """NAME -> frame (character columns str with "" for missing, numerics float64), read lazily."""

    def __init__(self, path: Path | str):
        folder = Path(path)
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".xpt", ".json")
                       and p.name.lower() != "manifest.json")
        self._files: dict[str, Path] = {}
        for f in files:  # XPT wins when both exist, as in studyforge.datasets_io
            name = f.stem.upper()
            if name not in self._files or f.suffix.lower() == ".xpt":
                self._files[name] = f
        self._cache: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._files:
            raise KeyError(name)
        if name not in self._cache:
            try:
                self._cache[name] = normalize(read_dataset(self._files[name])[0])
            except Exception as exc:  # noqa: BLE001 - any reader failure becomes one located message
                raise SdtmReadError(f"{self._files[name]}: cannot be read: {exc}") from exc
        return self._cache[name]

    def __contains__(self, name: object) -> bool:
        return name in self._files  # never reads

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._files))

    def __len__(self) -> int:
        return len(self._files)

    def read(self) -> set[str]:
        """The names read so far (what the derivation used)."""
        return set(self._cache)


def read_sdtm_folder(path: Path | str) -> SdtmFolder:
    """The folder's datasets as a read-on-first-use mapping."""
    return SdtmFolder(path)
