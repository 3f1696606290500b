"""`studyforge simulate`: write the raw CRF exports, dictionary.csv and manifest.json for a study."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from studyforge.fileio import atomic_open, confined, write_bytes_atomic

from .config import ConfigError, load_config
from .forms import FormsError, dictionary_frame
from .generate import generate_forms_with_ledger


def _quote(value: object) -> str:
    text = str(value)
    if any(ch in text for ch in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_field(col: pd.Series) -> list[str]:
    """RFC 4180 minimal quoting (comma, quote or line break -> quoted, quotes doubled), done once per distinct value."""
    codes, uniq = pd.factorize(col.to_numpy(dtype=object), use_na_sentinel=False)
    texts = np.array([_quote(u) for u in uniq], dtype=object)
    return texts[codes].tolist()


CHUNK_ROWS = 200_000
# The simulator's record of every fault it injected (messiness.ledger): simulator output for tests,
# not a form; the raw reader skips it (sdtm/readers.py SKIP_FILES).
INJECTED_FILE = "_injected.csv"


def write_csv(path: Path, df: pd.DataFrame) -> str:
    """Write `df` as CSV atomically in row chunks (bounded memory); return the file's SHA-256.

    Byte-identical to csv_bytes(df): quoting is decided per value, never per chunk.
    """
    digest = hashlib.sha256()
    with atomic_open(path, "wb") as fh:
        head = (",".join(_csv_field(pd.Series(list(df.columns), dtype=object))) + "\n").encode("utf-8")
        fh.write(head)
        digest.update(head)
        for start in range(0, len(df), CHUNK_ROWS):
            part = df.iloc[start:start + CHUNK_ROWS]
            cols = [_csv_field(part[c]) for c in part.columns]
            data = ("\n".join(map(",".join, zip(*cols))) + "\n").encode("utf-8")
            fh.write(data)
            digest.update(data)
            del cols, data
    return digest.hexdigest()


def csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 CSV with a header, "\\n" line ends and minimal quoting: the same frame gives the same bytes."""
    header = ",".join(_csv_field(pd.Series(list(df.columns), dtype=object)))
    cols = [_csv_field(df[c]) for c in df.columns]
    body = "\n".join(map(",".join, zip(*cols))) if len(df) else ""
    return (header + "\n" + (body + "\n" if body else "")).encode("utf-8")


def simulate(study_dir: Path, out_dir: Path, *, subjects: int | None = None, seed: int | None = None,
             overrides: tuple[str, ...] = ()) -> dict:
    """Write every form CSV, dictionary.csv and manifest.json into `out_dir`; return the manifest."""
    cfg, forms = load_config(Path(study_dir), overrides)
    n = cfg.study.subjects if subjects is None else int(subjects)
    sd = cfg.study.seed if seed is None else int(seed)
    if n < 1:
        raise ConfigError(f"--subjects must be at least 1 (value {n})")
    if sd < 0:
        raise ConfigError(f"--seed must not be negative (value {sd})")
    out_dir = Path(out_dir)
    dictionary = dictionary_frame(forms)
    entries: dict[str, dict] = {}
    ledgers = []
    for name, frame, injected in generate_forms_with_ledger(cfg, forms, n, sd):
        sha = write_csv(confined(out_dir, f"{name}.csv"), frame)
        entries[name] = {"file": f"{name}.csv", "rows": int(len(frame)), "sha256": sha}
        ledgers.append(injected)
        del frame
    dict_bytes = csv_bytes(dictionary)
    write_bytes_atomic(confined(out_dir, "dictionary.csv"), dict_bytes)
    ledger = pd.concat(ledgers, ignore_index=True).astype({"line": "int64"}).astype(str)
    ledger_bytes = csv_bytes(ledger)
    write_bytes_atomic(confined(out_dir, INJECTED_FILE), ledger_bytes)
    manifest = {
        "study": cfg.study.studyid,
        "seed": sd,
        "subjects": n,
        "screen_failures": int(round(n * cfg.study.screen_fail_ratio)),
        "generator": "studyforge simulate",
        "settings": cfg.model_dump(mode="json"),
        "forms": entries,
        "dictionary": {"file": "dictionary.csv", "rows": int(len(dictionary)),
                       "sha256": hashlib.sha256(dict_bytes).hexdigest()},
        "injected": {"file": INJECTED_FILE, "rows": int(len(ledger)),
                     "sha256": hashlib.sha256(ledger_bytes).hexdigest()},
    }
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_bytes_atomic(confined(out_dir, "manifest.json"), text.encode("utf-8"))
    return manifest


def simulate_command(study_dir: Path, *, subjects: int | None, seed: int | None, out_dir: Path,
                     overrides: tuple[str, ...]) -> int:
    """CLI entry: 0 on success, 2 on a settings error (message on stderr naming file:line or --set)."""
    try:
        manifest = simulate(study_dir, out_dir, subjects=subjects, seed=seed, overrides=tuple(overrides))
    except (ConfigError, FormsError) as exc:
        print(f"studyforge simulate: {exc}", file=sys.stderr)
        return 2
    rows = sum(e["rows"] for e in manifest["forms"].values())
    print(f"simulated {manifest['subjects']} subjects (+{manifest['screen_failures']} screen failures), "
          f"seed {manifest['seed']}: {len(manifest['forms'])} forms, {rows} rows -> {out_dir}")
    return 0
