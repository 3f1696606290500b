"""Load the part of a spec folder the SDTM stage needs: study, codelists, methods, comments, sdtm/.

The analysis specs (adam/) are the ADaM stage's; they are not read here, so a tabulation build
neither waits for nor breaks on them (and the YAML parse stays small).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from studyforge.spec.loader import load_spec
from studyforge.spec.models import Spec


def load_sdtm_spec(spec_dir: Path | str) -> Spec:
    spec_dir = Path(spec_dir)
    if not (spec_dir / "adam").exists():
        return load_spec(spec_dir)
    with tempfile.TemporaryDirectory(prefix="sdtm-spec-") as tmp:
        t = Path(tmp)
        for p in spec_dir.iterdir():
            if p.name != "adam":
                (t / p.name).symlink_to(p.resolve())
        return load_spec(t)
