"""What the conformance checks look at: the datasets of a submission package, their metadata,
the study spec (optional) and the parsed define.xml files (optional).

Reading happens here only; checks are pure functions of a `PackageView`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from studyforge.datasets_io import normalize
from studyforge.findings import Finding, Severity
from studyforge.spec.models import Spec
from studyforge.xpt import read_xpt

Standard = Literal["SDTM", "ADaM"]
SDTM_DIR = ("tabulations", "sdtm")
ADAM_DIR = ("analysis", "adam", "datasets")


@dataclass(frozen=True)
class VarMeta:
    """One variable as stored in the transport file."""

    name: str
    type: str            # "Char" | "Num"
    length: int | None = None
    label: str = ""
    format: str = ""


@dataclass
class DatasetView:
    """One dataset: its frame (character missing = ""), file metadata and where it came from."""

    name: str
    standard: Standard
    frame: pd.DataFrame
    label: str = ""
    variables: list[VarMeta] = field(default_factory=list)
    file: str = ""

    def __post_init__(self) -> None:
        if not self.variables:  # in-memory frames: types from dtypes, text length = longest value (as XPT)
            self.variables = [VarMeta(c, "Num", 8) if pd.api.types.is_numeric_dtype(self.frame[c]) else
                              VarMeta(c, "Char", max(int(self.frame[c].astype("str").str.len().fillna(0).max() if len(self.frame) else 0), 1))
                              for c in self.frame.columns]

    @property
    def prefix(self) -> str:
        """The --variable prefix: DOMAIN for SDTM domains (split datasets use their first two letters)."""
        if self.standard == "ADaM" or self.name.startswith("SUPP") or self.name == "RELREC":
            return ""
        if "DOMAIN" in self.frame.columns and len(self.frame):
            dom = self.frame["DOMAIN"].iloc[0]
            if isinstance(dom, str) and dom:
                return dom
        return self.name[:2]

    def var(self, name: str) -> VarMeta | None:
        return next((v for v in self.variables if v.name == name), None)


@dataclass(frozen=True)
class DefineItem:
    name: str
    order: int | None
    mandatory: bool
    data_type: str
    length: int | None
    label: str
    key_sequence: int | None


@dataclass
class DefineGroup:
    name: str
    label: str
    items: list[DefineItem]


@dataclass
class DefineView:
    """The parts of a define.xml that dataset checks compare against; `problems` are parse errors."""

    path: str
    groups: dict[str, DefineGroup] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


@dataclass
class PackageView:
    """Everything a check may look at. Built from files (`load_package`) or from frames in tests."""

    datasets: dict[str, DatasetView] = field(default_factory=dict)
    spec: Spec | None = None
    defines: dict[str, DefineView | None] = field(default_factory=dict)   # "SDTM"/"ADaM" -> define or None
    root: str = ""
    layout_problems: list[Finding] = field(default_factory=list)
    _parsed: dict = field(default_factory=dict, repr=False)

    def parsed_dates(self, ds: DatasetView, column: str) -> pd.DataFrame:
        """dates.parse_iso8601 of a column plus its SAS date ("sas"), computed once per view (frames are read-only)."""
        key = (ds.name, column, id(ds.frame))
        if key not in self._parsed:
            from studyforge import dates

            p = dates.parse_iso8601(ds.frame[column])
            y = p["year"].fillna(1).to_numpy(dtype="int64")
            m = p["month"].fillna(1).to_numpy(dtype="int64")
            d = p["day"].fillna(1).to_numpy(dtype="int64")
            full = p["precision"].isin(["day", "hour", "minute", "second"]).to_numpy()
            sas = dates._days_from_civil(y, m, d) - dates.SAS_EPOCH_DAYS
            p["sas"] = np.where(full, sas.astype(float), np.nan)
            self._parsed[key] = p
        return self._parsed[key]

    def get(self, name: str) -> DatasetView | None:
        return self.datasets.get(name)

    def by_standard(self, standard: Standard) -> list[DatasetView]:
        return [d for n, d in sorted(self.datasets.items()) if d.standard == standard]

    def has_standard(self, standard: Standard) -> bool:
        return any(d.standard == standard for d in self.datasets.values()) or standard in self.defines

    @classmethod
    def from_frames(cls, sdtm: dict[str, pd.DataFrame] | None = None, adam: dict[str, pd.DataFrame] | None = None,
                    *, spec: Spec | None = None, labels: dict[str, str] | None = None) -> "PackageView":
        """A view of in-memory frames (variables typed from the dtypes)."""
        labels = labels or {}
        ds: dict[str, DatasetView] = {}
        for std, frames in (("SDTM", sdtm or {}), ("ADaM", adam or {})):
            for name, df in frames.items():
                ds[name] = DatasetView(name, std, normalize(df), labels.get(name, ""), file=f"{name.lower()}.xpt")
        return cls(datasets=ds, spec=spec)


# --- reading ---------------------------------------------------------------------------------

def _read_xpt(path: Path) -> tuple[pd.DataFrame, str, str, list[VarMeta]]:
    # latin-1 never fails to decode, so a non-ASCII byte reaches the ASCII check instead of aborting the read
    df, meta = read_xpt(path, encoding="latin-1")
    vars_ = [VarMeta(v.name, v.type, v.length, v.label or "", v.format or "") for v in meta.variables]
    return df, meta.name, meta.label or "", vars_


def _study_dir(root: Path, problems: list[Finding]) -> Path | None:
    base = root / "m5" / "datasets"
    studies = sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
    if not studies:
        problems.append(Finding(Severity.ERROR, "SF-PK-0001", "no m5/datasets/<study>/ folder: not an eCTD module 5 "
                                "package layout (FDA TCG section 7)", file=str(root)))
        return None
    if len(studies) > 1:
        problems.append(Finding(Severity.WARNING, "SF-PK-0001", f"{len(studies)} study folders under m5/datasets; "
                                f"checking {studies[0].name} only", file=str(base)))
    return studies[0]


def load_package(package_dir: Path | str, spec: Spec | None = None) -> PackageView:
    """Read every dataset and define.xml of a package laid out as DESIGN.md (eCTD m5) says."""
    root = Path(package_dir)
    view = PackageView(spec=spec, root=str(root))
    study = _study_dir(root, view.layout_problems)
    if study is None:
        return view
    for std, parts in (("SDTM", SDTM_DIR), ("ADaM", ADAM_DIR)):
        folder = study.joinpath(*parts)
        if folder.is_dir():
            _load_folder(view, folder, std, root)
    return view


def load_any(path: Path | str, spec: Spec | None = None) -> PackageView:
    """A package root, a study folder (tabulations/, analysis/) or a bare folder of SDTM or ADaM XPT files.

    In a bare folder each dataset's standard comes from the spec when it knows the dataset, else from
    its name (ADaMIG: analysis dataset names begin with AD); define.xml there belongs to the
    folder's datasets. Layout rules (eCTD m5) apply to package roots only.
    """
    root = Path(path)
    if (root / "m5" / "datasets").is_dir():
        return load_package(root, spec)
    found = [(std, root.joinpath(*parts)) for std, parts in (("SDTM", SDTM_DIR), ("ADaM", ADAM_DIR))
             if root.joinpath(*parts).is_dir()]
    if not found and any(p.suffix.lower() == ".xpt" for p in root.iterdir()):
        found = [(None, root)]
    if not found:
        return load_package(root, spec)   # reports that this is no package layout
    view = PackageView(spec=spec, root=str(root))
    for std, folder in found:
        _load_folder(view, folder, std, root)
    return view


def _standard_of(name: str, spec: Spec | None) -> Standard:
    ds = spec.datasets.get(name) if spec is not None else None
    if ds is not None:
        return "ADaM" if ds.purpose == "Analysis" else "SDTM"
    return "ADaM" if name.startswith("AD") else "SDTM"


def _load_folder(view: PackageView, folder: Path, std: Standard | None, root: Path) -> None:
    """Read the XPT files and define.xml of one dataset folder into `view` (std None: per dataset)."""
    rel = folder.relative_to(root)
    seen: set[str] = set()
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() != ".xpt":
            continue
        shown = str(rel / path.name)
        try:
            df, name, label, vars_ = _read_xpt(path)
        except Exception as exc:  # any unreadable file is a finding, never a crash
            view.layout_problems.append(Finding(Severity.ERROR, "SF-PK-0002", f"cannot read dataset: {exc}",
                                                file=shown))
            continue
        name = (name or path.stem).upper()
        if path.name != path.name.lower() or path.stem.upper() != name:
            view.layout_problems.append(Finding(
                Severity.ERROR, "SF-PK-0003", f"file name must be the lower-case dataset name "
                f"({name.lower()}.xpt) (FDA TCG section 4.1.1.1)", dataset=name, file=shown, value=path.name))
        standard = std or _standard_of(name, view.spec)
        seen.add(standard)
        view.datasets[name] = DatasetView(name, standard, normalize(df), label, vars_, shown)
    define = folder / "define.xml"
    for standard in ([std] if std else sorted(seen)):
        view.defines[standard] = parse_define(define, str(rel / "define.xml")) if define.is_file() else None


def parse_define(path: Path, shown: str) -> DefineView:
    """ItemGroupDefs with their ItemRefs/ItemDefs; XML that cannot be parsed is kept as a problem."""
    from lxml import etree

    out = DefineView(shown)
    try:
        tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        out.problems.append(f"not well-formed XML: {exc}")
        return out
    odm = "{http://www.cdisc.org/ns/odm/v1.3}"

    def text_of(el) -> str:
        t = el.find(f"{odm}Description/{odm}TranslatedText")
        return (t.text or "").strip() if t is not None else ""

    def as_int(v: str | None) -> int | None:
        return int(v) if v and v.strip().isdigit() else None

    items = {e.get("OID"): e for e in tree.iter(f"{odm}ItemDef")}
    for g in tree.iter(f"{odm}ItemGroupDef"):
        refs = []
        for r in g.findall(f"{odm}ItemRef"):
            idef = items.get(r.get("ItemOID"))
            if idef is None:
                out.problems.append(f"ItemGroupDef {g.get('Name')}: ItemRef {r.get('ItemOID')} has no ItemDef")
                continue
            refs.append(DefineItem(idef.get("Name", ""), as_int(r.get("OrderNumber")), r.get("Mandatory") == "Yes",
                                   idef.get("DataType", ""), as_int(idef.get("Length")), text_of(idef),
                                   as_int(r.get("KeySequence"))))
        out.groups[g.get("Name", "")] = DefineGroup(g.get("Name", ""), text_of(g), refs)
    return out
