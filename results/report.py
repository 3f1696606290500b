"""The results report (HTML, offline): one table per analysis, grouped by output, figures inline, every
number a link to the records behind it; and the trace page those links point to."""

from __future__ import annotations

import html
import math
import re

import jinja2
import numpy as np
import pandas as pd

from .engine import Prepared, result_id
from .methods import METHODS
from .model import ResultsSpec

# the statistics shown per method, in column order, with how to print them
COLUMNS = {
    "proportion": [("n/N", ("n", "N"), "{:.0f}/{:.0f}"), ("Rate (%)", ("rate",), "pct"),
                   ("95% CI (%)", ("lcl", "ucl"), "pct_ci")],
    "kaplan_meier": [("N", ("N",), "{:.0f}"), ("Events", ("events",), "{:.0f}"), ("Censored", ("censored",), "{:.0f}"),
                     ("Median (days)", ("median",), "{:.1f}"), ("95% CI", ("median_lcl", "median_ucl"), "ci")],
    "summary": [("n", ("n",), "{:.0f}"), ("Mean (SD)", ("mean", "sd"), "mean_sd"), ("Median", ("median",), "{:.2f}"),
                ("Q1, Q3", ("q1", "q3"), "ci"), ("Min, Max", ("min", "max"), "ci")],
    "incidence": [("n (%)", ("n", "pct"), "n_pct"), ("N", ("N",), "{:.0f}")],
}


def anchor(analysis_id: str, groups: list[tuple[str, str]]) -> str:
    """The trace-page anchor of one analysis group."""
    text = analysis_id + "".join(f"_{k}_{v}" for k, v in groups)
    return re.sub(r"[^A-Za-z0-9_.-]", "-", text)


def _fmt(kind: str, vals: list[float]) -> str:
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in vals[:1]):
        return "NE"
    na = ["NE" if v is None or math.isnan(v) else None for v in vals]
    if kind == "pct":
        return f"{100 * vals[0]:.1f}"
    if kind == "pct_ci":
        return ", ".join(n or f"{100 * v:.1f}" for n, v in zip(na, vals))
    if kind == "ci":
        return ", ".join(n or f"{v:.1f}" for n, v in zip(na, vals))
    if kind == "mean_sd":
        return f"{vals[0]:.2f} ({'NE' if na[1] else f'{vals[1]:.2f}'})"
    if kind == "n_pct":
        return f"{vals[0]:.0f} ({vals[1]:.1f})"
    return kind.format(*vals)


def _km_timepoint_columns(stats: list[str]) -> list[tuple[str, tuple[str, ...], str]]:
    labels = [s[len("surv_"):] for s in stats if s.startswith("surv_") and not s.endswith(("_lcl", "_ucl"))]
    return [(f"Rate at {lab} (95% CI, %)", (f"surv_{lab}", f"surv_{lab}_lcl", f"surv_{lab}_ucl"), "rate_ci")
            for lab in labels]


def _table(a, ard: pd.DataFrame) -> dict:
    rows_a = ard[ard["ANALYSIS_ID"] == a.id]
    cols = list(COLUMNS[a.method])
    if a.method == "kaplan_meier":
        cols += _km_timepoint_columns(list(dict.fromkeys(rows_a["STAT"])))
    header = list(a.group_by) + [c[0] for c in cols]
    rows = []
    for key, g in rows_a.groupby(["GROUP1_VALUE", "GROUP2_VALUE"], sort=False):
        val = dict(zip(g["STAT"], g["VALUE"]))
        rid = dict(zip(g["STAT"], g["RESULT_ID"]))
        groups = [(v, k) for v, k in zip(a.group_by, key)]
        href = "trace.html#" + anchor(a.id, groups)
        cells = [{"text": k, "href": None} for k in key[:len(a.group_by)]]
        for _, stats, kind in cols:
            vals = [val.get(s, float("nan")) for s in stats]
            if kind == "rate_ci":
                text = "NE" if math.isnan(vals[0]) else f"{100 * vals[0]:.1f} (" + ", ".join(
                    "NE" if math.isnan(v) else f"{100 * v:.1f}" for v in vals[1:]) + ")"
            else:
                text = _fmt(kind, vals)
            cells.append({"text": text, "href": href, "title": rid.get(stats[0], "")})
        rows.append(cells)
    return {"name": a.name, "analysis_set": a.analysis_set, "dataset": a.dataset, "paramcd": a.paramcd,
            "method_text": METHODS[a.method].text(METHODS[a.method].params.model_validate(a.params)),
            "header": header, "rows": rows}


def report_html(spec: ResultsSpec, ard: pd.DataFrame, figures: dict[str, list[str]], study: str,
                findings: list[str]) -> str:
    env = jinja2.Environment(loader=jinja2.PackageLoader("results", "templates"), autoescape=True)
    by_id = {a.id: a for a in spec.analyses}
    outputs = []
    for o in spec.outputs:
        tables = [_table(by_id[x], ard) for x in o.analyses if (ard["ANALYSIS_ID"] == x).any()]
        outputs.append({"id": o.id, "name": o.name, "tables": tables, "figures": figures.get(o.id, [])})
    return env.get_template("report.html.j2").render(study=study, outputs=outputs, findings=findings)


TRACE_ROWS = 500  # records shown per group on the trace page; `studyforge trace RESULT_ID` lists them all


def _escaped(col: pd.Series) -> np.ndarray:
    """HTML-escaped text of a column, missing as '' (html.escape's table), computed once per distinct value."""
    codes, uniq = pd.factorize(col.astype(object).where(col.notna(), "").astype(str).to_numpy(dtype=object))
    table = np.array([html.escape(u) for u in uniq] + [""], dtype=object)
    return table[codes]


def rows_html(recs: pd.DataFrame) -> list[str]:
    """`<tr><td>..</td>...</tr>` of each record, built column by column with numpy string arrays."""
    if recs.empty:
        return []
    row = np.full(len(recs), "<tr>", dtype=object)
    for c in recs.columns:
        row = row + "<td>" + _escaped(recs[c]) + "</td>"
    return (row + "</tr>").tolist()


def _rendered(traced: list) -> list[list[str]]:
    """The row HTML of every section; sections of one analysis share columns, so they render together."""
    out: list[list[str]] = []
    i = 0
    while i < len(traced):
        j = i
        while j + 1 < len(traced) and traced[j + 1][0] is traced[i][0]:
            j += 1
        frames = [t[2] for t in traced[i:j + 1]]
        rows = rows_html(pd.concat(frames, ignore_index=True)) if any(len(f) for f in frames) else []
        start = 0
        for f in frames:
            out.append(rows[start:start + len(f)])
            start += len(f)
        i = j + 1
    return out


def trace_html(study: str, traced: list[tuple[Prepared, list[tuple[str, str]], pd.DataFrame, int, int]]) -> str:
    """One section per analysis group: its records (the first ones when the group has more than were traced,
    with their number and the command that lists them all), their role, SDTM source and raw file:line."""
    esc = html.escape
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{esc(study)} result trace</title>"
             "<style>body{font-family:system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse;font-size:.85em}"
             "td,th{border:1px solid #ccc;padding:.15em .5em}th{background:#f0f3f7}</style></head><body>"
             f"<h1>{esc(study)}: records behind each result</h1>"]
    for (p, groups, recs, shown, total), rows in zip(traced, _rendered(traced)):
        title = p.analysis.id + "".join(f" [{k}={v}]" for k, v in groups)
        parts.append(f"<section id='{anchor(p.analysis.id, groups)}'><h2>{esc(title)}: {esc(p.analysis.name)}</h2>")
        cols = list(recs.columns)
        parts.append("<table><tr>" + "".join(f"<th>{esc(c)}</th>" for c in cols) + "</tr>")
        parts.append("\n".join(rows))
        more = ""
        if total > shown:
            rid = result_id(p.analysis.id, groups, "N" if p.analysis.method == "kaplan_meier" else "n")
            more = (f"<p>The first {shown} of {total} records; <code>studyforge trace {esc(rid)}</code> lists "
                    "them all.</p>")
        parts.append("</table>" + more + "</section>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
