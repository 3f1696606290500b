"""ARS v1.0 reporting-event JSON: the analyses, methods, analysis sets, data subsets, groupings and
outputs of the spec, with each analysis's results (raw values) from the ARD, linked to ADaM datasets,
variables and where clauses."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from .methods import METHODS
from .model import ResultsSpec, Where

ARS_VERSION = "1.0"


def _value(v: Any) -> str:
    return v if isinstance(v, str) else f"{v:g}"


def where_clause(w: Where, dataset: str, level: int = 1, order: int = 1) -> dict[str, Any]:
    """ARS WhereClause. MISSING / NOTMISSING are written as EQ / NE the empty string (ARS has no
    missing comparator; its examples use the empty value)."""
    out: dict[str, Any] = {"level": level, "order": order}
    if w.condition is not None:
        c = w.condition
        comp = {"MISSING": "EQ", "NOTMISSING": "NE"}.get(c.comparator, c.comparator)
        vals = [""] if c.comparator in ("MISSING", "NOTMISSING") else [_value(v) for v in c.value]
        out["condition"] = {"dataset": dataset, "variable": c.variable, "comparator": comp, "value": vals}
    else:
        out["compoundExpression"] = {"logicalOperator": w.op, "whereClauses": [
            where_clause(x, dataset, level + 1, i) for i, x in enumerate(w.clauses, 1)]}
    return out


def _stat_ops(ard: pd.DataFrame, method: str) -> list[str]:
    return list(dict.fromkeys(ard.loc[ard["METHOD"] == method, "STAT"]))


def reporting_event(spec: ResultsSpec, ard: pd.DataFrame, study_id: str) -> dict[str, Any]:
    used_methods = list(dict.fromkeys(a.method for a in spec.analyses))
    methods = []
    for m in used_methods:
        ops = _stat_ops(ard, m) or ["n"]
        methods.append({"id": f"MTH_{m.upper()}", "name": m, "description": METHODS[m].text(
            METHODS[m].params.model_validate(next(a.params for a in spec.analyses if a.method == m))),
            "operations": [{"id": f"MTH_{m.upper()}_{op}", "name": op, "order": i}
                           for i, op in enumerate(ops, 1)]})
    sets = [{"id": s.id, "name": s.label, "level": 1, "order": i,
             "condition": {"dataset": "ADSL", "variable": s.flag, "comparator": "EQ", "value": ["Y"]}}
            for i, s in enumerate(spec.analysis_sets, 1)]
    subsets, groupings, analyses = [], {}, []
    for a in spec.analyses:
        clauses = ([Where.model_validate({"condition": {"variable": "PARAMCD", "comparator": "EQ",
                                                        "value": [a.paramcd]}})] if a.paramcd else []) \
            + ([a.where] if a.where else [])
        subset_id = None
        if clauses:
            subset_id = f"DS_{a.id}"
            w = clauses[0] if len(clauses) == 1 else Where(op="AND", clauses=clauses)
            subsets.append({"id": subset_id, "name": f"{a.dataset} records of {a.id}", "order": len(subsets) + 1,
                            **where_clause(w, a.dataset)})
        for g in a.group_by:
            groupings.setdefault(f"GRP_{a.dataset}_{g}", {"id": f"GRP_{a.dataset}_{g}", "name": f"{a.dataset}.{g}",
                                                          "groupingDataset": a.dataset, "groupingVariable": g,
                                                          "dataDriven": True})
        rows = ard[ard["ANALYSIS_ID"] == a.id]
        results = []
        for r in rows.itertuples(index=False):
            groups = [{"groupingId": f"GRP_{a.dataset}_{g}", "groupValue": v}
                      for g, v in ((r.GROUP1, r.GROUP1_VALUE), (r.GROUP2, r.GROUP2_VALUE)) if g]
            res: dict[str, Any] = {"operationId": f"MTH_{a.method.upper()}_{r.STAT}"}
            if groups:
                res["resultGroups"] = groups
            res["rawValue"] = "" if r.VALUE is None or math.isnan(r.VALUE) else repr(float(r.VALUE))
            results.append(res)
        item: dict[str, Any] = {"id": a.id, "name": a.name, "version": 1,
                                "reason": {"controlledTerm": a.reason}, "purpose": {"controlledTerm": a.purpose},
                                "analysisSetId": a.analysis_set, "dataset": a.dataset,
                                "methodId": f"MTH_{a.method.upper()}"}
        var = a.params.get("var") or a.params.get("time_var") or ("AVAL" if a.method == "kaplan_meier" else None)
        if var:
            item["variable"] = var
        if subset_id:
            item["dataSubsetId"] = subset_id
        if a.group_by:
            item["orderedGroupings"] = [{"order": i, "groupingId": f"GRP_{a.dataset}_{g}", "resultsByGroup": True}
                                        for i, g in enumerate(a.group_by, 1)]
        item["results"] = results
        analyses.append(item)
    outputs = [{"id": o.id, "name": o.name, "version": 1,
                "displays": [{"order": 1, "display": {"id": f"{o.id}_D1", "name": o.name, "displayTitle": o.name}}]}
               for o in spec.outputs]
    contents = [{"level": 1, "order": i, "name": o.name, "outputId": o.id} for i, o in enumerate(spec.outputs, 1)]
    return {"id": f"RE_{study_id}", "name": f"{study_id} endpoint analyses", "version": 1,
            "mainListOfContents": {"name": "Outputs", "contentsList": {"listItems": contents}},
            "analysisSets": sets, "dataSubsets": subsets, "analysisGroupings": list(groupings.values()),
            "methods": methods, "analyses": analyses, "outputs": outputs}


def reporting_event_json(spec: ResultsSpec, ard: pd.DataFrame, study_id: str) -> bytes:
    return (json.dumps(reporting_event(spec, ard, study_id), indent=1, ensure_ascii=False, sort_keys=False)
            + "\n").encode("utf-8")
