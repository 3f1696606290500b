"""The record reconciliation: every raw record ends in a dataset or in the build report with a reason."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .rules.base import FILE, FORM, LINE, SUBJECT


@dataclass
class Reconciliation:
    """Per raw form: records in, records out per dataset, and each record not mapped with its reason."""

    records_in: dict[str, int] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    mapped: dict[tuple[str, str], int] = field(default_factory=dict)
    used_by: dict[tuple[str, str], int] = field(default_factory=dict)
    unmapped: list[dict] = field(default_factory=list)
    records_out: dict[str, int] = field(default_factory=dict)
    seen: dict[str, list] = field(default_factory=dict)
    lineage: list = field(default_factory=list)   # frames DOMAIN/USUBJID/SEQ/FILE/LINE, one per dataset

    def add_lineage(self, dataset: str, usubjid: pd.Series, seq: pd.Series, file: pd.Series, line: pd.Series) -> None:
        """Where each record of `dataset` (by USUBJID and --SEQ) came from: the raw file and line, so a
        result can be traced to raw lines by a join."""
        self.lineage.append(pd.DataFrame({"DOMAIN": dataset, "USUBJID": usubjid.to_numpy(), "SEQ": seq.to_numpy(),
                                          "FILE": file.to_numpy(), "LINE": line.to_numpy()}))

    def lineage_frame(self) -> pd.DataFrame:
        cols = ["DOMAIN", "USUBJID", "SEQ", "FILE", "LINE"]
        if not self.lineage:
            return pd.DataFrame(columns=cols)
        out = pd.concat(self.lineage, ignore_index=True)
        return out[out["FILE"].astype(str) != ""].sort_values(cols[:3], kind="mergesort").reset_index(drop=True)

    def add_mapped(self, form: str, dataset: str, n: int) -> None:
        self.mapped[(form, dataset)] = self.mapped.get((form, dataset), 0) + int(n)

    def add_used(self, form: str, target: str, n: int) -> None:
        self.used_by[(form, target)] = self.used_by.get((form, target), 0) + int(n)

    def add_unmapped(self, rows: pd.DataFrame, reason: str, dataset: str = "") -> None:
        """Record rows (with __form/__file/__line) that did not reach `dataset`, and why."""
        if rows.empty:
            return
        sub = rows.get(SUBJECT, pd.Series("", index=rows.index))
        for form, file, line, s in zip(rows[FORM], rows[FILE], rows[LINE], sub):
            self.unmapped.append({"form": form, "file": file, "line": int(line), "subjid": s,
                                  "dataset": dataset, "reason": reason})

    def mark_seen(self, form: str, lines) -> None:
        self.seen.setdefault(form, []).append(np.asarray(lines, dtype=np.int64))

    def finalize(self, raw: dict, subjects) -> None:
        """Raw records that reached no dataset and were not reported yet get a reason; `subjects(form)`
        gives the raw subject of each record of a form."""
        used_forms = {f for f, _ in self.used_by}
        reported: dict[str, list] = {}
        for u in self.unmapped:
            reported.setdefault(u["form"], []).append(u["line"])
        for name, rf in raw.items():
            if name in used_forms or len(rf) == 0:
                continue
            lines = np.asarray(rf.lines, dtype=np.int64)
            done = np.concatenate(self.seen.get(name, []) + [np.asarray(reported.get(name, []), dtype=np.int64)])
            left = ~np.isin(lines, done)
            if not left.any():
                continue
            subj = subjects(name).to_numpy()
            for ln, sj in zip(lines[left], subj[left]):
                self.unmapped.append({"form": name, "file": rf.path, "line": int(ln), "subjid": str(sj),
                                      "dataset": "", "reason": "not selected by any dataset spec"})

    def to_frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        summary = []
        forms = sorted(set(self.records_in) | {f for f, _ in self.mapped} | {f for f, _ in self.used_by})
        for form in forms:
            outs = {d: n for (f, d), n in sorted(self.mapped.items()) if f == form}
            uses = {d: n for (f, d), n in sorted(self.used_by.items()) if f == form}
            nun = sum(1 for u in self.unmapped if u["form"] == form)
            summary.append({
                "form": form, "records_in": self.records_in.get(form, 0),
                "records_out": "; ".join(f"{d}={n}" for d, n in outs.items()),
                "used_for": "; ".join(f"{d}={n}" for d, n in uses.items()),
                "not_mapped": nun,
            })
        cols = ["form", "file", "line", "subjid", "dataset", "reason"]
        return (pd.DataFrame(summary, columns=["form", "records_in", "records_out", "used_for", "not_mapped"]),
                pd.DataFrame(self.unmapped, columns=cols))

    def to_report_frame(self) -> pd.DataFrame:
        """Rows in the build report's shape: one per form x dataset, one per form x reason not mapped."""
        rows = []
        for (form, ds), n in sorted(self.mapped.items()):
            rows.append({"form": form, "file": self.files.get(form, ""), "records_in": self.records_in.get(form, 0),
                         "dataset": ds, "records_out": n, "not_mapped": 0, "reason": ""})
        for (form, target), n in sorted(self.used_by.items()):
            rows.append({"form": form, "file": self.files.get(form, ""), "records_in": self.records_in.get(form, 0),
                         "dataset": target, "records_out": 0, "not_mapped": 0, "reason": f"used to derive ({n} records)"})
        if self.unmapped:
            un = pd.DataFrame(self.unmapped)
            for (form, ds, reason), g in un.groupby(["form", "dataset", "reason"], sort=True):
                rows.append({"form": form, "file": self.files.get(form, ""),
                             "records_in": self.records_in.get(form, 0), "dataset": ds, "records_out": 0,
                             "not_mapped": len(g), "reason": reason})
        for form in sorted(set(self.records_in) - {r["form"] for r in rows}):
            n = self.records_in[form]
            rows.append({"form": form, "file": self.files.get(form, ""), "records_in": n,
                         "dataset": "", "records_out": 0, "not_mapped": n,
                         "reason": "form not used by any dataset spec" if n else "form has no records"})
        cols = ["form", "file", "records_in", "dataset", "records_out", "not_mapped", "reason"]
        return pd.DataFrame(rows, columns=cols)

    def to_dict(self) -> dict:
        s, u = self.to_frames()
        return {"forms": s.to_dict(orient="records"), "datasets": dict(sorted(self.records_out.items())),
                "not_mapped": u.to_dict(orient="records")}
