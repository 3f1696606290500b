"""Dataset builder `wide_findings`: one raw form with several results per record (vital signs with
SYSBP, DIABP, PULSE, TEMP columns) -> one record per (raw record x declared test).

Each test names its raw result field and its own qualifiers (position, location, time point, unit,
status, reason not done) as output columns filled from a raw field or a literal. Records keep the raw
file and line and the raw result field (`__field`), so later findings still point at the raw cell.
Every other raw column is carried to each record unchanged: nothing is dropped silently. A
(record, test) with neither a result nor a status makes no record (SDTMIG: no record for a test not
collected); a raw record that makes no record at all is reported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from studyforge.findings import Finding, Severity

from .._fast import text_series
from ._common import FIELD, Source
from .base import FILE, Params, Refs, Unmapped, dataset_rule
from .builders import DUPLICATES_HELP, Duplicates, dedupe_form, empty_rows, missing_form, tagged


class WideTest(Params):
    testcd: str = Field(description="test code written to the topic column")
    result: str = Field(description="raw field holding this test's result")
    set: dict[str, Source] = Field(default_factory=dict, description="output column -> raw field or literal")

    @model_validator(mode="after")
    def _no_vars(self):
        if any(s.var for s in self.set.values()):
            raise ValueError("wide_findings reads raw fields and literals only (var: is for variable rules)")
        return self


class WideFindingsParams(Params):
    form: str = Field(description="raw form with one column per test")
    topic: str = Field(description="output column for the test code, e.g. VSTESTCD")
    result: str = Field(description="output column for the result as collected, e.g. VSORRES")
    tests: list[WideTest] = Field(min_length=1)
    common: dict[str, Source] = Field(default_factory=dict, description="output column -> source, for all tests")
    status: list[str] = Field(default_factory=list,
                              description="output columns (e.g. VSSTAT) that make a record without a result")
    unique: list[str] = Field(default_factory=list, description="raw key; later records repeating it are errors")
    duplicates: Duplicates = Field(default="drop", description=DUPLICATES_HELP)

    @model_validator(mode="after")
    def _distinct(self):
        codes = [t.testcd for t in self.tests]
        if len(set(codes)) != len(codes):
            raise ValueError("each testcd once")
        both = set(self.common) & {c for t in self.tests for c in t.set}
        if both:
            raise ValueError(f"column(s) {sorted(both)} set both in common and per test")
        return self

    def outputs(self) -> list[str]:
        cols = [self.topic, self.result, *self.common]
        for t in self.tests:
            cols += [c for c in t.set if c not in cols]
        return list(dict.fromkeys(cols))


def _col(frame: pd.DataFrame, src: Source | None) -> np.ndarray:
    if src is None:
        return np.full(len(frame), "", dtype=object)
    if src.value is not None:
        return np.full(len(frame), src.value, dtype=object)
    if src.field not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    return text_series(frame[src.field]).to_numpy(dtype=object)


def wide_records(raw: pd.DataFrame, params: WideFindingsParams,
                 dataset: str = "") -> tuple[pd.DataFrame, list[Finding], pd.DataFrame]:
    """(long records in raw line order then test order, findings, raw records that made no record).
    `raw` is the tagged raw form: raw columns plus the bookkeeping columns (__form, __file, __line ...)."""
    findings: list[Finding] = []
    file = str(raw[FILE].iloc[0]) if FILE in raw.columns and len(raw) else params.form
    named = [t.result for t in params.tests] + [s.field for t in params.tests for s in t.set.values() if s.field] \
        + [s.field for s in params.common.values() if s.field]
    for n in dict.fromkeys(named):
        if n not in raw.columns:
            findings.append(Finding(Severity.ERROR, "SD1101", f"wide_findings: field {n!r} is not in raw form "
                                    f"{params.form}; read as empty", dataset=dataset, file=file, field=n))
    clash = [c for c in params.outputs() if c in raw.columns]
    if clash:
        findings.append(Finding(Severity.ERROR, "SD1102", f"wide_findings: output column(s) {clash} are also raw "
                                f"fields of {params.form}; the declared value replaces the raw one",
                                dataset=dataset, file=file, field=",".join(clash)))
    n, k = len(raw), len(params.tests)
    # (n x k) arrays, row-major: element r*k + t is raw record r, test t
    cols = {params.topic: np.tile(np.array([t.testcd for t in params.tests], dtype=object), (n, 1)),
            params.result: np.stack([_col(raw, Source(field=t.result)) for t in params.tests], axis=1),
            FIELD: np.tile(np.array([t.result for t in params.tests], dtype=object), (n, 1))}
    for c in params.outputs()[2:]:
        if c in params.common:
            cols[c] = np.repeat(_col(raw, params.common[c])[:, None], k, axis=1)
        else:
            cols[c] = np.stack([_col(raw, t.set.get(c)) for t in params.tests], axis=1)
    keep = cols[params.result] != ""
    for c in params.status:
        if c in cols:
            keep |= cols[c] != ""
        else:
            findings.append(Finding(Severity.ERROR, "SD1103", f"wide_findings: status column {c!r} is not "
                                    "an output column", dataset=dataset, field=c))
    nothing = ~keep.any(axis=1) if k else np.ones(n, dtype=bool)
    flat = keep.ravel()
    rec = np.repeat(np.arange(n), k)[flat]
    consumed = {params.topic, params.result, FIELD, *params.outputs()} \
        | {t.result for t in params.tests} | {s.field for t in params.tests for s in t.set.values() if s.field}
    carried = [c for c in raw.columns if c not in consumed]
    out = {c: raw[c].to_numpy()[rec] for c in carried}
    out.update({c: a.ravel()[flat] for c, a in cols.items()})
    frame = pd.DataFrame(out)
    for c in cols:
        frame[c] = frame[c].astype(str)
    return frame, findings, raw[nothing]


def method(params: WideFindingsParams) -> str:
    tests = ", ".join(f"{t.testcd} from raw {t.result}" for t in params.tests)
    return (f"One record per record of raw form {params.form} and test ({tests}); {params.topic} is the test code "
            f"and {params.result} the result as collected, each test with its own qualifiers. A test with no "
            "result" + (f" and no {'/'.join(params.status)}" if params.status else "") + " makes no record.")


@dataset_rule("wide_findings", WideFindingsParams, method=method)
def wide_findings(params: WideFindingsParams, refs: Refs) -> tuple[pd.DataFrame, list]:
    """Records of a wide findings form; raw records that make none go to the reconciliation."""
    raw = tagged(refs, params.form)
    if raw is None:
        return empty_rows(), [missing_form(refs, params.form)]
    raw, notes = dedupe_form(refs, raw, params.unique, params.form, params.duplicates)
    frame, found, left = wide_records(raw, params, refs.dataset.name)
    notes += found
    if len(left):
        notes.append(Unmapped(left, "no result and no status for any declared test"))
    return frame, notes
