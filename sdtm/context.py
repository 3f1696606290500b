"""What a rule sees while one dataset is built: the working rows, the raw forms, the spec, earlier
datasets and the findings/reconciliation being collected."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from studyforge.findings import Finding, Severity
from studyforge.spec.models import Dataset, Spec, Variable

from ._fast import text_series
from .readers import RawForm

# working-frame bookkeeping columns (never written)
FORM, FILE, LINE = "__form", "__file", "__line"


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

    def add_mapped(self, form: str, dataset: str, n: int) -> None:
        self.mapped[(form, dataset)] = self.mapped.get((form, dataset), 0) + int(n)

    def add_used(self, form: str, target: str, n: int) -> None:
        self.used_by[(form, target)] = self.used_by.get((form, target), 0) + int(n)

    def add_unmapped(self, rows: pd.DataFrame, reason: str, dataset: str = "") -> None:
        """Record rows (with __form/__file/__line) that did not reach `dataset`, and why."""
        if rows.empty:
            return
        sub = rows.get("SUBJID", pd.Series("", index=rows.index))
        for form, file, line, s in zip(rows[FORM], rows[FILE], rows[LINE], sub):
            self.unmapped.append({"form": form, "file": file, "line": int(line), "subjid": s,
                                  "dataset": dataset, "reason": reason})

    def mark_seen(self, form: str, lines) -> None:
        self.seen.setdefault(form, []).append(np.asarray(lines, dtype=np.int64))

    def finalize(self, raw: dict) -> None:
        """Raw records that reached no dataset and were not reported yet get a reason."""
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
            subj = rf.frame["SUBJID"].to_numpy() if "SUBJID" in rf.frame.columns else np.full(len(lines), "")
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


@dataclass
class Context:
    spec: Spec
    raw: dict[str, RawForm]
    out: dict[str, pd.DataFrame]
    findings: list[Finding]
    recon: Reconciliation
    ds: Dataset | None = None
    frame: pd.DataFrame | None = None
    result: pd.DataFrame | None = None
    spec_file: str = ""
    cache: dict = field(default_factory=dict)

    def form_iso(self, form: str, date_field: str) -> tuple[pd.Series, pd.Series]:
        """ISO dates (and error mask) of a raw form's date field, parsed once per build."""
        key = (form, date_field)
        if key not in self.cache:
            from ._dates import edc_date_to_iso

            self.cache[key] = edc_date_to_iso(self.raw[form].frame[date_field])
        return self.cache[key]

    # -- helpers used by every rule ------------------------------------------------------
    def form(self, name: str) -> RawForm | None:
        return self.raw.get(name)

    def field(self, name: str, var: Variable | None = None) -> pd.Series:
        """A raw field of the working rows as stripped text; missing column -> ERROR finding, empty."""
        assert self.frame is not None
        if name in self.frame.columns:
            col = self.frame[name]
            return text_series(col)
        forms = sorted(set(self.frame[FORM])) if FORM in self.frame.columns and len(self.frame) else []
        self.error("SD0102", f"required column {name!r} missing in raw form(s) {', '.join(forms) or '?'}",
                   variable=var.name if var else "", field=name,
                   file=self.raw[forms[0]].path if forms and forms[0] in self.raw else self.spec_file)
        return pd.Series("", index=self.frame.index, dtype=str)

    def var(self, name: str) -> pd.Series:
        """An SDTM variable computed earlier for the working rows (empty if not yet made)."""
        assert self.result is not None and self.frame is not None
        if name in self.result.columns:
            return self.result[name]
        return pd.Series("", index=self.frame.index, dtype=str)

    def error(self, rule: str, message: str, **kw) -> None:
        self.findings.append(Finding(Severity.ERROR, rule, message, dataset=self.ds.name if self.ds else "", **kw))

    def warn(self, rule: str, message: str, **kw) -> None:
        self.findings.append(Finding(Severity.WARNING, rule, message, dataset=self.ds.name if self.ds else "", **kw))

    def row_findings(self, mask: pd.Series, severity: Severity, rule: str, message: str,
                     var: str, field: str, values: pd.Series) -> None:
        """One finding per flagged working row, naming raw file, line, field and value."""
        if not mask.any():
            return
        fr = self.frame
        idx = mask[mask].index
        sub = fr.loc[idx]
        res = self.result
        if res is not None and "USUBJID" in res.columns:
            usub = res.loc[idx, "USUBJID"]
        else:
            usub = sub.get("SUBJID", pd.Series("", index=idx))
        for file, line, u, v in zip(sub[FILE], sub[LINE], usub, values.loc[idx]):
            self.findings.append(Finding(severity, rule, message, dataset=self.ds.name if self.ds else "",
                                         variable=var, usubjid=str(u), file=str(file), line=int(line),
                                         field=field, value=str(v)))
