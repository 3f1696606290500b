"""The build report: datasets, raw-record reconciliation, findings by severity and stage timings.

One self-contained HTML page (no network, inline CSS) plus machine-readable CSV/JSON beside it.
Everything except the timings is deterministic; timings live in build.json and the HTML only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import pandas as pd

from studyforge.fileio import write_text_atomic
from studyforge.findings import FINDING_COLUMNS, Finding, Severity

RECON_COLUMNS = ["form", "file", "records_in", "dataset", "records_out", "not_mapped", "reason"]


@dataclass
class DatasetSummary:
    name: str
    label: str
    purpose: str          # Tabulation | Analysis
    records: int
    subjects: int
    variables: int
    file: str             # path relative to the package root


@dataclass
class BuildSummary:
    study: str
    datasets: list[DatasetSummary] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    reconciliation: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=RECON_COLUMNS))
    timings: dict[str, float] = field(default_factory=dict)   # stage -> seconds

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Severity}
        for f in self.findings:
            out[f.severity.value] += 1
        return out


def summarize_dataset(name: str, label: str, purpose: str, df: pd.DataFrame, file: str) -> DatasetSummary:
    subjects = int(df["USUBJID"].replace("", pd.NA).nunique()) if "USUBJID" in df.columns else 0
    return DatasetSummary(name, label, purpose, len(df), subjects, df.shape[1], file)


def findings_frame(findings: list[Finding]) -> pd.DataFrame:
    """Findings as a frame in a stable order: severity, rule, dataset, then location."""
    rows = [{**f.__dict__, "severity": f.severity.value} for f in findings]
    df = pd.DataFrame(rows, columns=FINDING_COLUMNS)
    if df.empty:
        return df
    order = {s.value: i for i, s in enumerate(Severity)}
    df["line"] = df["line"].astype("Int64")
    df = df.assign(_sev=df["severity"].map(order)).sort_values(
        ["_sev", "rule", "dataset", "file", "line", "usubjid", "record", "variable", "field", "value"],
        kind="stable", na_position="first",
    )
    return df.drop(columns="_sev").reset_index(drop=True)


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("studyforge", "templates"),
    autoescape=jinja2.select_autoescape(["html", "xml"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def write_build_report(summary: BuildSummary, report_dir: Path, *, max_rows: int = 2000) -> list[Path]:
    """Write report/index.html, findings.csv/json, reconciliation.csv and build.json; return the paths."""
    report_dir.mkdir(parents=True, exist_ok=True)
    ff = findings_frame(summary.findings)
    recon = summary.reconciliation.reindex(columns=RECON_COLUMNS)
    paths = {
        "findings.csv": ff.to_csv(index=False, lineterminator="\n"),
        "findings.json": json.dumps(_records(ff), indent=1, ensure_ascii=True) + "\n",
        "reconciliation.csv": recon.to_csv(index=False, lineterminator="\n"),
        "build.json": json.dumps(
            {
                "study": summary.study,
                "counts": summary.counts(),
                "datasets": [d.__dict__ for d in summary.datasets],
                "timings_seconds": {k: round(v, 3) for k, v in summary.timings.items()},
            },
            indent=1,
            sort_keys=True,
        ) + "\n",
    }
    by_sev = {s.value: ff[ff["severity"] == s.value] for s in Severity}
    html = _ENV.get_template("build_report.html.j2").render(
        study=summary.study,
        counts=summary.counts(),
        datasets=summary.datasets,
        recon=_records(recon),
        recon_unmapped=int(pd.to_numeric(recon["not_mapped"], errors="coerce").fillna(0).sum()),
        findings={k: _records(v.head(max_rows)) for k, v in by_sev.items()},
        truncated={k: max(0, len(v) - max_rows) for k, v in by_sev.items()},
        timings=summary.timings,
        total_seconds=sum(summary.timings.values()),
    )
    paths["index.html"] = html
    out = []
    for name, text in paths.items():
        write_text_atomic(report_dir / name, text)
        out.append(report_dir / name)
    return out


def _records(df: pd.DataFrame) -> list[dict]:
    return df.astype(object).where(df.notna(), "").to_dict("records")
