"""Structure checks: datasets and variables against the study spec, the IG and define.xml; CT values.

Without a spec, Req/Exp and codelists come from the shipped SDTMIG 3.4 / ADaMIG 1.3 metadata and
SDTM CT, so a package studyforge did not make can still be checked.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from studyforge import standards
from studyforge.conform.emit import blank, dataset_finding, row_findings, text
from studyforge.conform.package import DatasetView, PackageView
from studyforge.conform.rules import register
from studyforge.findings import Finding, Severity
from studyforge.spec.models import Dataset as SpecDataset

IG = "SDTMIG 3.4 section"
DEFINE_NUM_TYPES = {"integer", "float"}


def _spec_ds(view: PackageView, ds: DatasetView) -> SpecDataset | None:
    return view.spec.datasets.get(ds.name) if view.spec else None


# --- spec: datasets ---------------------------------------------------------------------------

@register("SF-SD-0001", "Every dataset in the spec is present in the package", Severity.ERROR,
          "FDA TCG section 4.1.1 (datasets described in define.xml are submitted)", "package")
def spec_datasets_present(view: PackageView) -> list[Finding]:
    if view.spec is None:
        return []
    # a SUPP-- dataset whose qualifiers hold no value has no records and is not submitted (FDA TCG: no empty
    # datasets; the build reports it as SF-BUILD-003)
    rule = spec_datasets_present.rule
    return [dataset_finding(rule, None, f"{d.purpose} dataset {name} is in the spec but not in the package",
                            dataset=name) for name, d in sorted(view.spec.datasets.items())
            if name not in view.datasets and not name.startswith("SUPP")]


@register("SF-SD-0002", "Every dataset in the package is described by the spec", Severity.WARNING,
          "FDA TCG section 4.1.1; Define-XML 2.1 section 5.3.4", "package")
def spec_datasets_known(view: PackageView) -> list[Finding]:
    if view.spec is None:
        return []
    rule = spec_datasets_known.rule
    return [dataset_finding(rule, ds, "dataset is not in the spec") for name, ds in sorted(view.datasets.items())
            if name not in view.spec.datasets]


# --- spec: variables --------------------------------------------------------------------------

@register("SF-SD-0003", "Variables match the spec: none missing, none extra", Severity.ERROR,
          f"{IG} 2.5 (variables as in the spec/define.xml); FDA TCG section 4.1.4", "package")
def spec_variable_names(view: PackageView) -> list[Finding]:
    rule = spec_variable_names.rule
    out: list[Finding] = []
    for ds in view.datasets.values():
        sd = _spec_ds(view, ds)
        if sd is None:
            continue
        spec_names = [v.name for v in sd.variables]
        have = [v.name for v in ds.variables]
        out += [dataset_finding(rule, ds, "variable in the spec is missing from the dataset", variable=n)
                for n in spec_names if n not in have]
        out += [dataset_finding(rule, ds, "variable in the dataset is not in the spec", variable=n)
                for n in have if n not in spec_names]
    return out


@register("SF-SD-0004", "Variable order matches the spec", Severity.WARNING,
          "FDA TCG section 4.1.4 (variable order as in define.xml)", "package")
def spec_variable_order(view: PackageView) -> list[Finding]:
    rule = spec_variable_order.rule
    out: list[Finding] = []
    for ds in view.datasets.values():
        sd = _spec_ds(view, ds)
        if sd is None:
            continue
        have = [v.name for v in ds.variables]
        expected = [v.name for v in sd.variables if v.name in have]
        actual = [n for n in have if n in expected]
        for pos, (a, e) in enumerate(zip(actual, expected), start=1):
            if a != e:
                out.append(dataset_finding(rule, ds, f"variable at position {pos} among the spec's variables is {a}; "
                                           f"the spec has {e} there", variable=a, value=a))
                break
    return out


def _attr_rule(rule_id: str, attr: str, what: str, severity: Severity):
    def check(view: PackageView) -> list[Finding]:
        rule = check.rule  # type: ignore[attr-defined]
        out: list[Finding] = []
        for ds in view.datasets.values():
            sd = _spec_ds(view, ds)
            if sd is None:
                continue
            for sv in sd.variables:
                dv = ds.var(sv.name)
                if dv is None:
                    continue
                want, got = getattr(sv, attr), getattr(dv, attr)
                if want is None or (attr == "length" and dv.type == "Num"):
                    continue
                if (str(want).rstrip() if isinstance(want, str) else want) != (str(got).rstrip() if isinstance(got, str) else got):
                    out.append(dataset_finding(rule, ds, f"{what} is {got!r}; the spec says {want!r}",
                                               variable=sv.name, value=str(got)))
        return out

    check.__name__ = f"spec_variable_{attr}"
    return register(rule_id, f"Variable {what} matches the spec", severity,
                    "FDA TCG section 4.1.4; Define-XML 2.1 section 5.3.5 (ItemDef)", "package")(check)


_attr_rule("SF-SD-0005", "type", "type", Severity.ERROR)
_attr_rule("SF-SD-0006", "length", "length", Severity.ERROR)
_attr_rule("SF-SD-0007", "label", "label", Severity.ERROR)


@register("SF-SD-0008", "Dataset label matches the spec", Severity.WARNING,
          "Define-XML 2.1 section 5.3.4 (ItemGroupDef Description)", "package")
def spec_dataset_label(view: PackageView) -> list[Finding]:
    rule = spec_dataset_label.rule
    out = []
    for ds in view.datasets.values():
        sd = _spec_ds(view, ds)
        if sd is not None and ds.label.rstrip() != sd.label.rstrip():
            out.append(dataset_finding(rule, ds, f"dataset label is {ds.label!r}; the spec says {sd.label!r}",
                                       value=ds.label))
    return out


# --- core (Req / Exp) -------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _ig_core(domain: str, standard: str) -> dict[str, str]:
    if standard == "SDTM":
        v = standards.sdtmig_variables()
        rows = v[v["Dataset Name"] == ("SUPPQUAL" if domain.startswith("SUPP") else domain)]
        return dict(zip(rows["Variable Name"], rows["Core"]))
    structure = {"ADSL": "Subject-Level Analysis Dataset", "BDS": "Basic Data Structure"}.get(domain)
    if structure is None:
        return {}
    a = standards.adamig_variables()
    # name patterns (TRTxxP, ANLzzFL) are not checked without a spec: which xx exist is study-specific
    rows = a[(a["Data Structure Name"] == structure) & ~a["Variable Name"].str.contains("[a-z]")]
    return dict(zip(rows["Variable Name"], rows["Core"]))


def _core(view: PackageView, ds: DatasetView) -> tuple[dict[str, str], str]:
    sd = _spec_ds(view, ds)
    if sd is not None:
        return {v.name: v.core for v in sd.variables if v.core}, "spec"
    name = ds.name if ds.standard == "ADaM" or ds.name.startswith("SUPP") else ds.prefix
    if ds.standard == "ADaM" and name != "ADSL" and "PARAMCD" in ds.frame.columns:
        name = "BDS"  # a parameter-based dataset: ADaMIG Basic Data Structure
    return _ig_core(name, ds.standard), "SDTMIG 3.4" if ds.standard == "SDTM" else "ADaMIG 1.3"


@register("SF-SD-0010", "Required (Req) variables are present (and, in SDTM, never null)", Severity.ERROR,
          f"{IG} 4.1.5 (Core: Req, cannot be null); ADaMIG 1.3 section 3.1 (Req: must be included)", "package")
def required_variables(view: PackageView) -> list[Finding]:
    rule = required_variables.rule
    out: list[Finding] = []
    for ds in view.datasets.values():
        core, src = _core(view, ds)
        for name, c in core.items():
            if c != "Req":
                continue
            if name not in ds.frame.columns:
                out.append(dataset_finding(rule, ds, f"required variable ({src}) is missing", variable=name))
            elif ds.standard == "SDTM":  # ADaMIG Req means "included", not "never null" (e.g. TRT01P of a screen failure)
                out += row_findings(rule, ds, blank(ds.frame[name]), f"required variable ({src}) is null", variable=name)
    return out


@register("SF-SD-0011", "Expected (Exp) variables are present", Severity.WARNING,
          f"{IG} 4.1.5 (Core: Exp)", "package")
def expected_variables(view: PackageView) -> list[Finding]:
    rule = expected_variables.rule
    out: list[Finding] = []
    for ds in view.datasets.values():
        core, src = _core(view, ds)
        out += [dataset_finding(rule, ds, f"expected variable ({src}) is missing", variable=n)
                for n, c in core.items() if c == "Exp" and n not in ds.frame.columns]
    return out


# --- define.xml -------------------------------------------------------------------------------

def _define_for(view: PackageView, ds: DatasetView):
    d = view.defines.get(ds.standard)
    return (d, d.groups.get(ds.name)) if d is not None else (None, None)


@register("SF-DX-0001", "Datasets in define.xml and in the package agree", Severity.ERROR,
          "Define-XML 2.1 section 5.3.4; FDA TCG section 4.1.4.1", "package")
def define_datasets(view: PackageView) -> list[Finding]:
    rule = define_datasets.rule
    out: list[Finding] = []
    for std, d in sorted(view.defines.items()):
        if d is None:
            continue
        names = {ds.name for ds in view.by_standard(std)}  # type: ignore[arg-type]
        out += [dataset_finding(rule, None, "dataset is described in define.xml but has no file", dataset=g, file=d.path)
                for g in sorted(d.groups) if g not in names]
        out += [dataset_finding(rule, view.datasets[n], f"dataset is not described in {d.path}")
                for n in sorted(names) if n not in d.groups]
    return out


@register("SF-DX-0002", "Variable names and order agree with define.xml", Severity.ERROR,
          "Define-XML 2.1 section 5.3.4.2 (ItemRef OrderNumber); FDA TCG section 4.1.4", "package")
def define_variables(view: PackageView) -> list[Finding]:
    rule = define_variables.rule
    out: list[Finding] = [dataset_finding(rule, None, p, file=d.path)
                          for _, d in sorted(view.defines.items()) if d is not None
                          for p in d.problems if not p.startswith("not well-formed")]  # those are SF-FDA-0005's
    for ds in view.datasets.values():
        d, g = _define_for(view, ds)
        if g is None:
            continue
        items = sorted(g.items, key=lambda i: (i.order is None, i.order or 0))
        dnames = [i.name for i in items]
        have = [v.name for v in ds.variables]
        out += [dataset_finding(rule, ds, f"variable in {d.path} is missing from the dataset", variable=n)
                for n in dnames if n not in have]
        out += [dataset_finding(rule, ds, f"variable is not in {d.path}", variable=n) for n in have if n not in dnames]
        common_d = [n for n in dnames if n in have]
        common_h = [n for n in have if n in dnames]
        for pos, (a, e) in enumerate(zip(common_h, common_d), start=1):
            if a != e:
                out.append(dataset_finding(rule, ds, f"variable at position {pos} is {a}; {d.path} orders {e} there",
                                           variable=a, value=a))
                break
    return out


@register("SF-DX-0003", "Variable type, length and label agree with define.xml", Severity.ERROR,
          "Define-XML 2.1 section 5.3.5 (ItemDef DataType, Length, Description)", "package")
def define_attributes(view: PackageView) -> list[Finding]:
    rule = define_attributes.rule
    out: list[Finding] = []
    for ds in view.datasets.values():
        d, g = _define_for(view, ds)
        if g is None:
            continue
        for item in g.items:
            v = ds.var(item.name)
            if v is None:
                continue
            dtype = "Num" if item.data_type in DEFINE_NUM_TYPES else "Char"
            if dtype != v.type:
                out.append(dataset_finding(rule, ds, f"type is {v.type}; define.xml DataType {item.data_type!r} "
                                           f"means {dtype}", variable=v.name, value=v.type))
            if v.type == "Char" and dtype == "Char" and item.length is not None and v.length is not None \
                    and item.length != v.length:
                out.append(dataset_finding(rule, ds, f"length is {v.length}; define.xml says {item.length}",
                                           variable=v.name, value=str(v.length)))
            if item.label and v.label.rstrip() != item.label:
                out.append(dataset_finding(rule, ds, f"label is {v.label!r}; define.xml says {item.label!r}",
                                           variable=v.name, value=v.label))
    return out


# --- controlled terminology -------------------------------------------------------------------

@lru_cache(maxsize=None)
def _ig_codelists(domain: str) -> dict[str, tuple[frozenset[str], bool, str]]:
    """SDTMIG variable -> (allowed CDISC submission values, extensible, codelist codes) from SDTM CT."""
    v = standards.sdtmig_variables()
    rows = v[(v["Dataset Name"] == ("SUPPQUAL" if domain.startswith("SUPP") else domain))
             & (v["CDISC CT Codelist Code(s)"] != "")]
    if rows.empty:
        return {}
    ct = standards.sdtm_ct()
    out = {}
    for name, codes in zip(rows["Variable Name"], rows["CDISC CT Codelist Code(s)"]):
        cl = [c.strip() for c in codes.split(";") if c.strip()]
        terms = ct[ct["Codelist Code"].isin(cl)]
        if terms.empty:
            continue
        ext = terms["Extensible"].str.strip().str.lower().eq("yes").any()
        out[name] = (frozenset(terms["Term Submission Value"]), bool(ext), "; ".join(cl))
    return out


def _where(frame: pd.DataFrame, where) -> np.ndarray:
    m = np.ones(len(frame), dtype=bool)
    for w in where:
        if w.variable not in frame.columns:
            return np.zeros(len(frame), dtype=bool)
        vals = text(frame[w.variable])
        hit = vals.isin(w.values).to_numpy()
        if w.comparator in ("EQ", "IN"):
            m &= hit
        elif w.comparator in ("NE", "NOTIN"):
            m &= ~hit
        else:  # numeric range comparators are not used for codelist subsetting here
            return np.zeros(len(frame), dtype=bool)
    return m


def _ct_targets(view: PackageView, ds: DatasetView):
    """(variable, row mask, allowed values, extensible, codelist name) for each CT-controlled variable."""
    sd = _spec_ds(view, ds)
    if sd is not None and view.spec is not None:
        all_rows = np.ones(len(ds.frame), dtype=bool)
        for v in sd.variables:
            cl = view.spec.codelists.get(v.codelist) if v.codelist else None
            if cl is not None and v.name in ds.frame.columns:
                yield v.name, all_rows, cl.values(), cl.extensible, cl.id
        for vl in sd.values:
            cl = view.spec.codelists.get(vl.codelist) if vl.codelist else None
            if cl is not None and vl.variable in ds.frame.columns:
                yield vl.variable, _where(ds.frame, vl.where), cl.values(), cl.extensible, cl.id
        return
    if ds.standard == "SDTM":
        for name, (allowed, ext, codes) in _ig_codelists(ds.prefix or ds.name).items():
            # result codelists (--ORRES/--STRESC) apply per test (value level): without a spec they are not checked
            if name in ds.frame.columns and not name.endswith(("ORRES", "STRESC")):
                yield name, np.ones(len(ds.frame), dtype=bool), allowed, ext, f"CDISC CT {codes}"


def _all_not_done(ds: DatasetView, name: str, vals) -> np.ndarray:
    """SDTMIG 3.4 4.5.1.2: a whole group of tests not done is one record with --TESTCD "--ALL" (and
    --TEST naming the group) and --STAT "NOT DONE"; those values are outside the test codelists by design."""
    prefix = ds.prefix or ds.name
    if name not in (f"{prefix}TESTCD", f"{prefix}TEST") or f"{prefix}STAT" not in ds.frame.columns:
        return np.zeros(len(ds.frame), dtype=bool)
    not_done = (text(ds.frame[f"{prefix}STAT"]) == "NOT DONE").to_numpy()
    if name.endswith("TESTCD"):
        return not_done & (vals == f"{prefix}ALL").to_numpy()
    return not_done & (text(ds.frame[f"{prefix}TESTCD"]) == f"{prefix}ALL").to_numpy()


def _ct_check(view: PackageView, rule, extensible: bool) -> list[Finding]:
    out: list[Finding] = []
    for ds in view.datasets.values():
        for name, rows, allowed, ext, clname in _ct_targets(view, ds):
            if ext != extensible:
                continue
            vals = text(ds.frame[name])
            bad = rows & (vals != "").to_numpy() & ~vals.isin(allowed).to_numpy() & ~_all_not_done(ds, name, vals)
            if not bad.any():
                continue
            if extensible:  # one finding per new term, listing where it first occurs
                new = vals[bad]
                first = new.drop_duplicates()
                for pos, term in zip(first.index, first):
                    n = int((new == term).sum())
                    out.append(dataset_finding(rule, ds, f"term not in extensible codelist {clname} "
                                               f"({n} record(s)); add it to the codelist if intended",
                                               variable=name, value=term,
                                               record=f"row {ds.frame.index.get_loc(pos) + 1}"))
            else:
                out += row_findings(rule, ds, bad, f"value not in non-extensible codelist {clname}", variable=name)
    return out


@register("SF-CT-0001", "Values of non-extensible codelists are terms of the codelist", Severity.ERROR,
          f"{IG} 4.3 (controlled terminology); FDA TCG section 6.2", "package")
def ct_non_extensible(view: PackageView) -> list[Finding]:
    return _ct_check(view, ct_non_extensible.rule, extensible=False)


@register("SF-CT-0002", "New terms in extensible codelists are listed for review", Severity.WARNING,
          f"{IG} 4.3; FDA TCG section 6.2 (sponsor-extended terms in define.xml)", "package")
def ct_extensible(view: PackageView) -> list[Finding]:
    return _ct_check(view, ct_extensible.rule, extensible=True)
