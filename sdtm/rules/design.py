"""Values taken from the trial design the spec writes (TI, TV, TA, TE rows): e.g. IE's IETEST is the TI
text of its IETESTCD (SDTMIG 3.4 IE: IETEST matches TI; a subject's criterion is one of the trial's)."""

from __future__ import annotations

import pandas as pd
from pydantic import Field

from studyforge.findings import Severity

from .base import Params, Refs, variable_rule


class DesignLookupParams(Params):
    dataset: str = Field(pattern=r"^T[A-Z]$", description="trial design dataset whose rows the spec writes, e.g. TI")
    key: str = Field(description="variable of this dataset matched to the same variable of those rows, e.g. IETESTCD")
    value: str = Field(description="variable of those rows to take, e.g. IETEST")
    field: str | None = Field(default=None, description="raw field with the collected text: compared with the "
                                                        "design text, a difference is a WARNING")


def _design_rows(refs: Refs, name: str) -> pd.DataFrame:
    ds = refs.spec.datasets.get(name)
    rows = ds.derivation.params.get("rows", []) if ds is not None and ds.derivation else []
    return pd.DataFrame(rows)


@variable_rule("design_lookup", DesignLookupParams, reads=lambda p: [p.key], fields=lambda p: [p.field] if p.field else [],
               method="{value} of the {dataset} record with the same {key} (trial design in the study "
                      "specification); a collected text that differs is reported, a {key} absent from {dataset} "
                      "keeps the collected text and is an error")
def design_lookup(frame, p: DesignLookupParams, refs: Refs):
    """The design text of each record's code; codes the design lacks keep the collected text (ERROR),
    collected text that differs from the design is reported (WARNING) and replaced."""
    rows = _design_rows(refs, p.dataset)
    key = refs.var(p.key).astype(str)
    collected = refs.field(frame, p.field) if p.field else pd.Series("", index=frame.index, dtype=str)
    if rows.empty or p.key not in rows.columns or p.value not in rows.columns:
        return collected, [refs.finding(Severity.ERROR, "SD1401", f"{p.dataset} rows in the spec have no "
                                        f"{p.key}/{p.value}: {refs.variable.name if refs.variable else p.value} "
                                        "kept as collected", value=p.dataset)]
    table = dict(zip(rows[p.key].astype(str), rows[p.value].astype(str)))
    got = key.map(table)
    unknown = got.isna() & (key != "")
    notes = refs.row_findings(frame, unknown, Severity.ERROR, "SD1401", f"{p.key} is not in {p.dataset}; "
                              "the collected text is kept", p.field or p.key, key, p.key)
    out = got.where(~unknown, collected).fillna("").astype(str)
    if p.field:
        differs = ~unknown & (key != "") & (collected != "") & (collected.str.strip() != out)
        notes += refs.row_findings(frame, differs, Severity.WARNING, "SD1402", f"collected text differs from "
                                   f"{p.dataset}.{p.value} of this {p.key}; the {p.dataset} text is used",
                                   p.field, collected)
    return out, notes
