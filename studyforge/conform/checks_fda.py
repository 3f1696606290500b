"""FDA Technical Rejection Criteria (eCTD validation 1734/1736) and define.xml schema validity."""

from __future__ import annotations

from pathlib import Path

from studyforge import dates
from studyforge.conform.emit import dataset_finding, text
from studyforge.conform.package import PackageView
from studyforge.conform.rules import register
from studyforge.define.xml import validate_define
from studyforge.findings import Finding, Severity

TRC = "FDA Technical Rejection Criteria for Study Data"


@register("SF-FDA-0001", "SDTM DM dataset is present", Severity.ERROR, f"{TRC}, validation 1736", "SDTM")
def dm_present(view: PackageView) -> list[Finding]:
    if view.get("DM") is not None:
        return []
    return [dataset_finding(dm_present.rule, None, "no DM dataset (dm.xpt) in the SDTM folder", dataset="DM")]


@register("SF-FDA-0002", "SDTM TS dataset is present", Severity.ERROR, f"{TRC}, validation 1734", "SDTM")
def ts_present(view: PackageView) -> list[Finding]:
    if view.get("TS") is not None:
        return []
    return [dataset_finding(ts_present.rule, None, "no TS dataset (ts.xpt) in the SDTM folder", dataset="TS")]


@register("SF-FDA-0003", "TS has a study start date (TSPARMCD SSTDTC) as a complete ISO 8601 date", Severity.ERROR,
          f"{TRC}, validation 1734; FDA TCG section 4.1.1.2", "SDTM")
def ts_study_start(view: PackageView) -> list[Finding]:
    ts = view.get("TS")
    rule = ts_study_start.rule
    if ts is None:
        return []
    if "TSPARMCD" not in ts.frame.columns or "TSVAL" not in ts.frame.columns:
        return [dataset_finding(rule, ts, "TS has no TSPARMCD/TSVAL variables", variable="TSPARMCD")]
    rows = ts.frame[text(ts.frame["TSPARMCD"]) == "SSTDTC"]
    if rows.empty:
        return [dataset_finding(rule, ts, "no TS record with TSPARMCD = 'SSTDTC' (study start date)",
                                variable="TSPARMCD", value="SSTDTC")]
    sas = dates.iso_to_sas_date(rows["TSVAL"])
    out = []
    for pos, (val, ok) in enumerate(zip(text(rows["TSVAL"]), sas.notna())):
        if not ok:
            out.append(dataset_finding(rule, ts, "SSTDTC TSVAL is not a complete ISO 8601 date", variable="TSVAL",
                                       value=val, record=f"row {ts.frame.index.get_loc(rows.index[pos]) + 1}"))
    return out


@register("SF-FDA-0004", "define.xml is present for SDTM (and for ADaM when analysis datasets are submitted)",
          Severity.ERROR, f"{TRC}, validation 1736", "package")
def define_present(view: PackageView) -> list[Finding]:
    rule = define_present.rule
    out = []
    for std in ("SDTM", "ADaM"):
        needed = std == "SDTM" or view.has_standard("ADaM")
        if needed and view.defines.get(std) is None:
            out.append(dataset_finding(rule, None, f"no define.xml for the {std} datasets", value=std))
    return out


@register("SF-FDA-0005", "define.xml is well formed and valid against the Define-XML 2.1 schema", Severity.ERROR,
          "Define-XML 2.1 specification (define2-1-0.xsd); FDA TCG section 4.1.4.1", "package")
def define_valid(view: PackageView) -> list[Finding]:
    rule = define_valid.rule
    out = []
    for std, d in sorted(view.defines.items()):
        if d is None:
            continue
        path = Path(view.root) / d.path if view.root else Path(d.path)
        problems = validate_define(path)
        for p in problems[:200]:
            line = None
            if p.startswith("line "):
                head = p.split(":", 1)[0][5:]
                line = int(head) if head.isdigit() else None
            out.append(Finding(rule.severity, rule.id, p, file=d.path, line=line))
        if len(problems) > 200:
            out.append(Finding(rule.severity, rule.id, f"{len(problems) - 200} more schema problems", file=d.path))
    return out


@register("SF-FDA-0006", "ADSL is present when ADaM datasets are submitted", Severity.ERROR,
          f"{TRC}, validation 1736", "ADaM")
def adsl_present(view: PackageView) -> list[Finding]:
    if not view.by_standard("ADaM") or view.get("ADSL") is not None:
        return []
    return [dataset_finding(adsl_present.rule, None, "analysis datasets without ADSL (adsl.xpt)", dataset="ADSL")]
