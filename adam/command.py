"""`studyforge adam`: read an SDTM folder, derive ADaM per the spec, write one XPT per dataset."""

from __future__ import annotations

import sys
from pathlib import Path

from adam.pipeline import derive_adam
from adam.sdtm_input import read_sdtm_folder
from studyforge.fileio import confined
from studyforge.findings import Findings

MAX_PRINTED = 50


def adam_command(sdtm_dir: Path, spec_dir: Path, out_dir: Path, *, strict: bool) -> int:
    """Exit 0 when written, 1 on an invalid spec, no SDTM, or errors under --strict (nothing written)."""
    from studyforge.spec.loader import SpecError, load_spec

    try:
        spec = load_spec(spec_dir)
    except SpecError as exc:
        print(f"error: the spec in {spec_dir} is invalid:\n{exc}", file=sys.stderr)
        return 1
    sdtm = read_sdtm_folder(sdtm_dir)
    if not sdtm:
        print(f"error: no SDTM datasets (*.xpt, *.json) in {sdtm_dir}", file=sys.stderr)
        return 1
    datasets, found = derive_adam(sdtm, spec)
    findings = Findings(list(found))
    for f in findings.items[:MAX_PRINTED]:
        print(str(f), file=sys.stderr)
    if len(findings) > MAX_PRINTED:
        print(f"... and {len(findings) - MAX_PRINTED} more finding(s)", file=sys.stderr)
    if strict and findings.errors:
        print(f"{len(findings.errors)} error(s) under --strict: nothing written", file=sys.stderr)
        return 1
    from studyforge.dataset_writer import write_dataset_xpt

    out_dir = Path(out_dir)
    for name in sorted(datasets):
        path = confined(out_dir, f"{name.lower()}.xpt")
        write_dataset_xpt(datasets[name], spec.datasets[name], spec.study, path)
        print(f"{name:<8} {len(datasets[name]):>7} records  {len(datasets[name].columns):>3} variables  -> {path}")
    c = findings.counts()
    print(f"ADaM: {len(datasets)} dataset(s) from {len(sdtm)} SDTM dataset(s); "
          f"{c['ERROR']} error(s), {c['WARNING']} warning(s), {c['NOTICE']} notice(s)")
    return 0
