"""Standard metadata a spec inherits instead of copying: what SDTMIG 3.4, the SDTM v2.0 model and ADaMIG 1.3
say about a dataset or a variable, looked up by name.

A variable block states only what the study decides; label, type, role and core come from here when the block
leaves them out (the loader fills them in before validation, so every later stage sees complete metadata).
Where a value comes from, in this order:
- SDTM, a variable of the domain's SDTMIG 3.4 table (SUPP-- datasets use SUPPQUAL): label, type, role, core;
- SDTM, a variable the SDTM v2.0 model lets the domain's class add (also for a custom domain of a general
  observation class): type and role; the label too for variables whose model name has no `--` prefix (STUDYID,
  VISITNUM, EPOCH ...), since a `--` model label is generic, not the domain's;
- ADaM ADSL and BDS datasets: the ADaMIG 1.3 variable of the structure (xx/y placeholders in the name filled in the
  label): label, type, core; for the generic timing names (*DT, *DTM ...) only the type.
Anything else is sponsor-defined and must state its own label and type.
A value-level item inherits its variable's type, data type, origin and method when it leaves them out.
Datasets: purpose from the folder, standard from the IG studyforge ships, and for SDTM domains in SDTMIG 3.4
(and ADSL) label, class and structure; DOMAIN is the dataset name (the parent domain for SUPP--).
The variable order is the order of the `variables:` list; `spec check` warns where it departs from the IG.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from studyforge import standards

SDTMIG = "SDTMIG 3.4"
ADAMIG = "ADaMIG 1.3"
STANDARD = {"Tabulation": SDTMIG, "Analysis": ADAMIG}
INHERITED_VARIABLE_KEYS = ("label", "type", "role", "core")
GENERAL_CLASSES = {"Interventions", "Events", "Findings", "Findings About"}
ADAM_STRUCTURES = {"ADSL": "Subject-Level Analysis Dataset", "BDS": "Basic Data Structure"}


@dataclass(frozen=True)
class Inherited:
    """What a standard says about one variable; None where it says nothing the spec may leave out."""

    source: str
    label: str | None = None
    type: str | None = None
    role: str | None = None
    core: str | None = None
    order: float | None = None
    ig_name: str = ""

    def values(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in INHERITED_VARIABLE_KEYS if getattr(self, k) is not None}


def ig_domain_name(name: str) -> str:
    """The SDTMIG table a dataset follows: SUPP-- datasets follow SUPPQUAL."""
    return "SUPPQUAL" if name.startswith("SUPP") and len(name) > 4 else name


@lru_cache(maxsize=None)
def sdtmig_domain(name: str) -> pd.DataFrame:
    """The SDTMIG 3.4 variables of one domain, indexed by name, with a numeric `order`."""
    ig = standards.sdtmig_variables()
    rows = ig[ig["Dataset Name"] == name].copy()
    rows["order"] = pd.to_numeric(rows["Variable Order"], errors="coerce")
    return rows.set_index("Variable Name")


@lru_cache(maxsize=None)
def sdtm_domain_class(name: str) -> str:
    """The SDTMIG 3.4 class of a domain ('' for a custom domain)."""
    ds = standards.sdtmig_datasets()
    hit = ds.loc[ds["Dataset Name"] == name, "Class"]
    return str(hit.iloc[0]) if len(hit) else ""


def define_class(ig_class: str) -> str:
    """An SDTMIG class as the Define-XML term (C103329): 'Special-Purpose' -> 'SPECIAL PURPOSE'."""
    return ig_class.upper().replace("-", " ")


def _ig_class(define_term: str | None) -> str:
    """The SDTM model class of a Define-XML class term ('FINDINGS ABOUT' -> 'Findings About')."""
    if not define_term:
        return ""
    words = define_term.replace("-", " ").title()
    return "Special-Purpose" if words == "Special Purpose" else words


def sdtm_model_variable(domain: str, name: str, class_: str | None = None) -> Inherited | None:
    """An SDTM v2.0 variable a general-observation domain may add (SDTMIG 3.4 §2.5: identifiers, timing
    variables and qualifiers of the domain's class), else None. `class_` (Define-XML term) serves custom domains."""
    cls = sdtm_domain_class(domain) or _ig_class(class_)
    if cls not in GENERAL_CLASSES:
        return None
    m = standards.sdtm_model_variables()
    pool = m[(m["Dataset Name"] == "") & m["Class"].isin(["General Observations", cls])]
    generic = "--" + name[len(domain):] if name.startswith(domain) and len(name) > len(domain) else None
    hit = pool[(pool["Variable Name"] == name) | (pool["Variable Name"] == generic)]
    if hit.empty:
        return None
    row = hit.iloc[0]
    model_name = str(row["Variable Name"])
    return Inherited(source=f"SDTM v2.0 model ({model_name}, {row['Class']})",
                     label=None if model_name.startswith("--") else str(row["Variable Label"]),
                     type=str(row["Type"]), role=str(row["Role"]) or None, ig_name=model_name)


@lru_cache(maxsize=None)
def adamig_patterns(structure: str) -> list[tuple[re.Pattern, str, str, str, str]]:
    """(name regex, IG name, label, type, core): exact names first, then names with xx/zz (two digits) and
    y/w (one digit) placeholders, then the generic timing names (*DT, *DTM ...: any prefix)."""
    ig = standards.adamig_variables()
    rows = ig[ig["Data Structure Name"] == structure]
    ranked = []
    for name, label, typ, core in zip(rows["Variable Name"], rows["Variable Label"], rows["Type"], rows["Core"]):
        rx = re.escape(name.lstrip("*"))
        rx = re.sub(r"xx|zz", r"(\\d\\d)", rx)
        rx = re.sub(r"[yw]", r"(\\d)", rx)
        rank = 2 if name.startswith("*") else (1 if rx != re.escape(name) else 0)
        if name.startswith("*"):
            rx = r"[A-Z][A-Z0-9]*" + rx
        ranked.append((rank, re.compile(rx + r"\Z"), name, label, typ.strip(), core))
    return [r[1:] for r in sorted(ranked, key=lambda r: r[0])]


def adam_structure(name: str, class_: str | None) -> str | None:
    """The ADaMIG 1.3 structure whose variable table a dataset follows (None: no table, e.g. OCCDS)."""
    if name == "ADSL":
        return ADAM_STRUCTURES["ADSL"]
    if (class_ or "").upper() in ("BASIC DATA STRUCTURE", "BDS"):
        return ADAM_STRUCTURES["BDS"]
    return None


def _adam_label(ig_label: str, ig_name: str, m: re.Match) -> str:
    """The IG label with its placeholders replaced by the digits the variable name used."""
    holders = re.findall(r"xx|zz|[yw]", ig_name)
    label = ig_label
    for holder, digits in zip(holders, m.groups()):
        label = re.sub(rf"\b{holder}\b", digits, label, count=1)
    return label


def adam_variable(structure: str, name: str) -> Inherited | None:
    for rx, ig_name, label, typ, core in adamig_patterns(structure):
        m = rx.match(name)
        if m is None:
            continue
        src = f"{ADAMIG} {'ADSL' if structure == ADAM_STRUCTURES['ADSL'] else 'BDS'} {ig_name}"
        if ig_name.startswith("*"):  # generic timing variable: its IG label is a template such as {Date}
            return Inherited(source=src, type=typ, ig_name=ig_name)
        return Inherited(source=src, label=_adam_label(label, ig_name, m), type=typ, core=core or None,
                         ig_name=ig_name)
    return None


def variable_standard(dataset: str, purpose: str, class_: str | None, name: str) -> Inherited | None:
    """What the standards say about variable `name` of `dataset` (None: sponsor-defined)."""
    if purpose == "Tabulation":
        domain = ig_domain_name(dataset)
        ig = sdtmig_domain(domain)
        if name in ig.index:
            row = ig.loc[name]
            return Inherited(source=f"{SDTMIG} {domain}", label=str(row["Variable Label"]), type=str(row["Type"]),
                             role=str(row["Role"]) or None, core=str(row["Core"]) or None,
                             order=float(row["order"]), ig_name=name)
        return sdtm_model_variable(domain, name, class_)
    structure = adam_structure(dataset, class_)
    return adam_variable(structure, name) if structure else None


def dataset_standard(name: str, purpose: str) -> dict[str, str]:
    """Dataset attributes the standards give: purpose, standard, and label/class/structure/domain where known."""
    out = {"purpose": purpose, "standard": STANDARD[purpose]}
    if purpose == "Tabulation":
        domain = ig_domain_name(name)
        ds = standards.sdtmig_datasets()
        hit = ds[ds["Dataset Name"] == domain]
        parent = name[4:] if domain == "SUPPQUAL" else name
        out["domain"] = parent
        if len(hit):
            row = hit.iloc[0]
            out["label"] = str(row["Dataset Label"]).replace("[domain name]", parent)
            out["class"] = define_class(str(row["Class"]))
            if row["Structure"]:
                out["structure"] = str(row["Structure"])
    elif name == "ADSL":
        out.update({"label": "Subject-Level Analysis Dataset", "class": "SUBJECT LEVEL ANALYSIS DATASET",
                    "structure": "One record per subject"})
    return out


def sponsor_words(dataset: str, purpose: str, class_: str | None) -> str:
    """Why a variable counts as sponsor-defined, for messages."""
    if purpose == "Tabulation":
        domain = ig_domain_name(dataset)
        where = f"{SDTMIG} {domain}" if not sdtmig_domain(domain).empty else f"{SDTMIG} (custom domain {dataset})"
        return f"not in {where} nor addable from the SDTM v2.0 model"
    structure = adam_structure(dataset, class_)
    return f"not in the {ADAMIG} {structure} variables" if structure else \
        f"{ADAMIG} has no variable table for class {class_ or '(none)'}"


def fill_dataset(data: dict, purpose: str) -> dict:
    """A copy of one dataset file's data with every inherited value the file leaves out filled in.

    Only missing keys are filled: a written value always wins (and `spec check` compares it with the standard)."""
    if not isinstance(data, dict):
        return data
    out = dict(data)
    name = out.get("name") if isinstance(out.get("name"), str) else ""
    for key, value in dataset_standard(name, purpose).items():
        if key == "domain" and purpose != "Tabulation":
            continue
        out.setdefault(key, value)
    class_ = out.get("class") if isinstance(out.get("class"), str) else None
    variables = out.get("variables")
    if isinstance(variables, list):
        filled = []
        for item in variables:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                std = variable_standard(name, purpose, class_, item["name"])
                if std is not None:
                    item = {**std.values(), **item}
                    item = {k: item[k] for k in _ordered_keys(item)}
            filled.append(item)
        out["variables"] = filled
        by_name = {v["name"]: v for v in filled if isinstance(v, dict) and isinstance(v.get("name"), str)}
        if isinstance(out.get("values"), list):
            out["values"] = [({**value_level_defaults(by_name[vl["variable"]]), **vl}
                              if isinstance(vl, dict) and vl.get("variable") in by_name else vl)
                             for vl in out["values"]]
    return out


VALUE_LEVEL_KEYS = ("type", "data_type", "origin", "method")


def value_level_defaults(variable: dict) -> dict:
    """What a value-level item inherits from its variable (already filled): type, data type (the variable's, or
    Define-XML's default for its type), origin and method."""
    out = {k: variable[k] for k in ("type", "origin", "method") if variable.get(k) is not None}
    if "type" in out:
        out["data_type"] = variable.get("data_type") or ("text" if out["type"] == "Char" else "float")
    return out


def _ordered_keys(item: dict) -> list[str]:
    """name first, then the inherited keys, then the rest in written order (keeps messages in model order)."""
    first = [k for k in ("name", *INHERITED_VARIABLE_KEYS) if k in item]
    return first + [k for k in item if k not in first]
