"""Validation report writers: HTML (self-contained), CSV and JSON, byte-for-byte deterministic."""

from __future__ import annotations

import json
from pathlib import Path

import jinja2

from studyforge.conform.rules import Rule
from studyforge.fileio import write_text_atomic
from studyforge.findings import FINDING_COLUMNS, Findings

FORMATS = ("html", "csv", "json")

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Conformance report: {{ package }}</title>
<style>
body{font-family:system-ui,Arial,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top;font-size:13px}
th{background:#eee}.ERROR{color:#a00;font-weight:bold}.WARNING{color:#a60}.NOTICE{color:#06a}
code{font-size:12px}
</style></head><body>
<h1>Conformance report: {{ package }}</h1>
<p>studyforge {{ version }} &middot; {{ n_rules }} rules checked &middot;
{% if counts.ERROR %}<span class="ERROR">{{ counts.ERROR }} error(s)</span>{% else %}no errors{% endif %}</p>
<h2>Summary by severity</h2>
<table><tr><th>Severity</th><th>Findings</th></tr>
{% for sev, n in counts.items() %}<tr><td class="{{ sev }}">{{ sev }}</td><td>{{ n }}</td></tr>{% endfor %}
</table>
<h2>Rules with findings</h2>
<table><tr><th>Rule</th><th>Severity</th><th>Applies to</th><th>Description</th><th>Source</th><th>Findings</th></tr>
{% for r in rules %}<tr><td><a href="#{{ r.id }}">{{ r.id }}</a></td><td class="{{ r.severity }}">{{ r.severity }}</td>
<td>{{ r.applies_to }}</td><td>{{ r.description }}</td><td>{{ r.source }}</td><td>{{ r.n }}</td></tr>
{% endfor %}</table>
<h2>Findings</h2>
{% for r in rules %}<h3 id="{{ r.id }}">{{ r.id }}: {{ r.description }}</h3>
<table><tr><th>#</th><th>Severity</th><th>Dataset</th><th>Variable</th><th>USUBJID</th><th>Record</th><th>Value</th><th>Message</th><th>File</th></tr>
{% for f in r.findings %}<tr><td>{{ loop.index }}</td><td class="{{ f.severity }}">{{ f.severity }}</td><td>{{ f.dataset }}</td>
<td>{{ f.variable }}</td><td>{{ f.usubjid }}</td><td>{{ f.record }}</td><td><code>{{ f.value }}</code></td>
<td>{{ f.message }}</td><td>{{ f.file }}{% if f.line is not none %}:{{ f.line }}{% endif %}</td></tr>
{% endfor %}</table>
{% else %}<p>No findings.</p>{% endfor %}
<h2>Rules checked</h2>
<table><tr><th>Rule</th><th>Severity</th><th>Description</th><th>Source</th></tr>
{% for r in all_rules %}<tr><td>{{ r.id }}</td><td class="{{ r.severity.value }}">{{ r.severity.value }}</td><td>{{ r.description }}</td><td>{{ r.source }}</td></tr>
{% endfor %}</table>
</body></html>
"""


def _rows(findings: Findings) -> list[dict]:
    return [{c: (getattr(f, c).value if c == "severity" else getattr(f, c)) for c in FINDING_COLUMNS}
            for f in findings]


def _by_rule(findings: Findings, rules: dict[str, Rule]) -> list[dict]:
    rows = _rows(findings)
    out = []
    for rid in sorted({r["rule"] for r in rows}):
        rule = rules.get(rid)
        fs = [r for r in rows if r["rule"] == rid]
        out.append({"id": rid, "severity": rule.severity.value if rule else fs[0]["severity"],
                    "description": rule.description if rule else "", "source": rule.source if rule else "",
                    "applies_to": rule.applies_to if rule else "", "n": len(fs), "findings": fs})
    return out


def render_html(findings: Findings, rules: dict[str, Rule], package: str) -> str:
    from studyforge import __version__

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(_TEMPLATE).render(
        package=package, version=__version__, counts=findings.counts(), rules=_by_rule(findings, rules),
        all_rules=list(rules.values()), n_rules=len(rules))


def render_csv(findings: Findings) -> str:
    frame = findings.to_frame()
    return frame.to_csv(index=False, lineterminator="\n")


def render_json(findings: Findings, rules: dict[str, Rule], package: str) -> str:
    counts = {r["id"]: r["n"] for r in _by_rule(findings, rules)}
    doc = {
        "package": package,
        "summary": findings.counts(),
        "rules": [{"id": r.id, "description": r.description, "severity": r.severity.value, "source": r.source,
                   "applies_to": r.applies_to, "findings": counts.get(r.id, 0)} for r in rules.values()],
        "findings": _rows(findings),
    }
    return json.dumps(doc, indent=2, ensure_ascii=True) + "\n"


def write_reports(findings: Findings, rules: dict[str, Rule], out_dir: Path, formats: list[str], package: str) -> list[Path]:
    """Write validation.<fmt> for each format; unknown formats are a ValueError naming them."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown report format(s): {', '.join(unknown)} (choose from {', '.join(FORMATS)})")
    written = []
    for fmt in formats:
        path = Path(out_dir) / f"validation.{fmt}"
        text = {"html": lambda: render_html(findings, rules, package), "csv": lambda: render_csv(findings),
                "json": lambda: render_json(findings, rules, package)}[fmt]()
        write_text_atomic(path, text)
        written.append(path)
    return written

