"""Findings are data: every stage reports problems as rows, never as prints or silent fixes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Iterable

import pandas as pd


class Severity(str, Enum):
    ERROR = "ERROR"
    WARNING = "WARNING"
    NOTICE = "NOTICE"


FINDING_COLUMNS = [
    "severity", "rule", "dataset", "variable", "usubjid", "record",
    "file", "line", "field", "value", "message",
]


@dataclass(frozen=True)
class Finding:
    """One problem, located as precisely as the stage that found it can."""

    severity: Severity
    rule: str
    message: str
    dataset: str = ""
    variable: str = ""
    usubjid: str = ""
    record: str = ""      # e.g. "AESEQ=3" or a 1-based data row number
    file: str = ""        # raw file or spec file
    line: int | None = None
    field: str = ""       # raw field name
    value: str = ""

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line is not None else "")
        parts = [p for p in (where, self.dataset, self.variable, self.usubjid, self.record) if p]
        loc = " ".join(parts)
        val = f" value={self.value!r}" if self.value != "" else ""
        return f"{self.severity.value} {self.rule} {loc}: {self.message}{val}"


@dataclass
class Findings:
    """An ordered collection of findings with the views a build needs."""

    items: list[Finding] = field(default_factory=list)

    def add(self, finding: Finding) -> None:
        self.items.append(finding)

    def extend(self, findings: Iterable[Finding]) -> None:
        self.items.extend(findings)

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.items if f.severity is Severity.ERROR]

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Severity}
        for f in self.items:
            out[f.severity.value] += 1
        return out

    def to_frame(self) -> pd.DataFrame:
        rows = [{**asdict(f), "severity": f.severity.value} for f in self.items]
        return pd.DataFrame(rows, columns=FINDING_COLUMNS)


class StrictError(RuntimeError):
    """Raised under --strict when a stage produced errors; nothing partial is written."""

    def __init__(self, findings: list[Finding]):
        self.findings = findings
        head = "\n".join(str(f) for f in findings[:20])
        more = f"\n... and {len(findings) - 20} more" if len(findings) > 20 else ""
        super().__init__(f"{len(findings)} error(s):\n{head}{more}")
