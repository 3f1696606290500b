"""Read a folder of raw exports (CSV, SAS7BDAT, XPT, CDISC ODM 1.3 XML) into one frame per form.

Every value is text (what the EDC delivered); line numbers are kept so a finding can point at the
raw record: in a CSV the header is line 1, so data row i (1-based) is line i + 1.
"""

from __future__ import annotations

import io
import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from studyforge.findings import Finding, Severity
from studyforge.spec.raw import FormSettings, RawSpec
from studyforge.strings import python_strings

SKIP_FILES = {"dictionary.csv", "manifest.json", "_injected.csv"}  # _injected.csv: the simulator's fault ledger


@dataclass
class RawForm:
    """One raw form: its records as text, where they came from, and each record's line/position."""

    name: str
    frame: pd.DataFrame
    path: str
    lines: np.ndarray

    def __len__(self) -> int:
        return len(self.frame)


def _as_text(df: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for c in df.columns:
        col = df[c]
        if pd.api.types.is_numeric_dtype(col):
            txt = col.map(lambda v: "" if pd.isna(v) else (f"{v:.15g}"))
        else:
            txt = col.fillna("").astype(str)
        out[str(c).upper()] = txt.astype(str)
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)))


def _stripped(df: pd.DataFrame) -> pd.DataFrame:
    """Leading/trailing blanks are never data in an EDC export; strip them once per distinct value."""
    from ._fast import umap

    return pd.DataFrame({c: umap(df[c], lambda u: u.astype(str).str.strip()) for c in df.columns}, index=df.index)


def _text_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A frame the C parser read as Python objects -> the default `str` layout, stripped, '' for missing.

    Each column is hashed once (Python string hash table); only its distinct values are stripped, and
    the column is then made in the layout pandas chose: Python objects are the parsed ones (or gathered
    by code when a value changed), Arrow strings are gathered by code from the distinct values, so no
    Python string per row is converted."""
    from studyforge.xpt import factorize_str_objects

    arrow = _fast_text_layout() == "arrow"
    out = {}
    for c in df.columns:
        vals = df[c].to_numpy(dtype=object)
        codes, uniq = factorize_str_objects(vals)
        missing = bool(len(codes)) and int(codes.min()) < 0
        if missing:
            uniq = np.append(uniq, np.array([""], dtype=object))
            codes = np.where(codes < 0, len(uniq) - 1, codes)
        stripped = np.array([u.strip() for u in uniq] + [""], dtype=object)[:-1]
        if arrow:
            col = pd.array(stripped, dtype=str).take(codes) if len(codes) else pd.array(stripped[:0], dtype=str)
        else:
            same = not missing and bool((stripped == uniq).all())
            col = pd.array(vals if same else stripped.take(codes), dtype=str)
        out[c] = col
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)), copy=False)


def _fast_text_layout() -> str | None:
    from studyforge.xpt import text_layout

    return text_layout(pd.Series([], dtype=str).dtype)


def _simple_layout(data: bytes, records: int, delimiter: str) -> tuple[np.ndarray, np.ndarray, bool] | None:
    """record_layout's answer without a scan when the bytes allow it: no quote anywhere, one physical
    line per record (header included, no blank or skipped line), and exactly (records) x (header
    delimiters) delimiters, which, as the parser refuses a record with more fields than the header,
    means every record has the header's field count. None when any of this does not hold."""
    if data.find(b'"') != -1:
        return None
    ended = data.endswith(b"\n")
    physical = data.count(b"\n") + (0 if ended else 1)
    if physical != records:
        return None
    first = data[:data.find(b"\n")] if physical > 1 else data
    sep = delimiter.encode("ascii")
    per = first.count(sep)
    if data.count(sep) != per * records:
        return None
    return np.arange(1, records + 1, dtype=np.int64), np.full(records, per + 1, dtype=np.int64), ended


def record_layout(data: bytes, delimiter: str = ",") -> tuple[np.ndarray, np.ndarray, bool]:
    """(first physical line of each CSV record, its field count, ends with a line break) from the bytes.

    Vectorized: a line break or delimiter counts only outside quotes (even number of quote bytes
    before it; an escaped quote "" adds two). Blank records are skipped, as the CSV parser does.
    Quote, line feed and the usual delimiters are single bytes in UTF-8, Latin-1, CP1252 and GBK.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    if len(buf) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), True
    quotes = np.flatnonzero(buf == ord('"'))  # positions only: memory O(quotes), not O(bytes)

    def outside(pos: np.ndarray) -> np.ndarray:
        return np.searchsorted(quotes, pos) % 2 == 0

    nl = np.flatnonzero(buf == ord("\n"))
    ends = nl[outside(nl)]
    ended = len(ends) > 0 and ends[-1] == len(buf) - 1
    bounds = np.concatenate([[-1], ends, [] if ended else [len(buf)]]).astype(np.int64)
    starts, stops = bounds[:-1] + 1, bounds[1:]
    seg_len = stops - starts - (buf[np.maximum(stops - 1, 0)] == ord("\r")) * (stops > starts)
    bom = len(data) >= 3 and data[:3] == b"\xef\xbb\xbf"
    seg_len = seg_len - np.where(starts == 0, 3 * bom, 0)
    keep = seg_len > 0
    starts, stops = starts[keep], stops[keep]
    line_of = np.searchsorted(nl, starts) + 1          # physical line = line breaks before it + 1
    dl = np.flatnonzero(buf == ord(delimiter))
    dl = dl[outside(dl)]
    fields = np.searchsorted(dl, stops) - np.searchsorted(dl, starts) + 1
    return line_of.astype(np.int64), fields.astype(np.int64), bool(ended)


def _python_encoding(encoding: str) -> str:
    return "utf-8-sig" if encoding in ("utf-8", "utf-8-sig") else encoding


def _decode_check(data: bytes, encoding: str, path: Path, form: str) -> list[Finding]:
    """Bytes the declared encoding cannot decode: one ERROR finding (file, line, bytes); they are read
    as the replacement character, which the ASCII check then reports per record."""
    enc = _python_encoding(encoding)
    if data.isascii() and b"\n,;|\tAz09".decode(enc) == "\n,;|\tAz09":   # ASCII bytes in an ASCII-based encoding
        return []
    try:
        data.decode(enc)
        return []
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start:exc.end]
        n = data.decode(enc, errors="replace").count("\ufffd")
        return [Finding(Severity.ERROR, "SD0003",
                        f"bytes not valid in the declared encoding {encoding} ({n} place(s), first shown); "
                        f"declare the form's encoding under raw.forms.{form}.encoding",
                        file=str(path), line=line, value=bad.hex(" "))]


def read_csv_form(path: Path, settings: FormSettings | None = None, name: str | None = None
                  ) -> tuple[RawForm, list[Finding]]:
    """One delimited file in its declared encoding and delimiter, each record with its first physical line."""
    st = settings or FormSettings()
    name = name or path.stem.lower()
    data = path.read_bytes()
    findings = _decode_check(data, st.encoding, path, name)
    enc = _python_encoding(st.encoding)
    df = pd.read_csv(io.BytesIO(data), dtype=object, keep_default_na=False, sep=st.delimiter, encoding=enc,
                     encoding_errors="replace")
    plain_index = isinstance(df.index, pd.RangeIndex)
    df.columns = [str(c).strip().upper() for c in df.columns]
    df = _text_frame(df.reset_index(drop=True))
    simple = _simple_layout(data, len(df) + 1, st.delimiter) if plain_index and len(st.delimiter) == 1 else None
    lines, nfields, ended = simple if simple is not None else record_layout(data, st.delimiter)
    if len(lines) != len(df) + 1:  # the byte scan and the parser disagree: count with the csv module
        lines, nfields = _layout_by_csv(data.decode(enc, errors="replace"), st.delimiter)
    lines, nfields = lines[1:], nfields[1:]
    ragged = nfields != len(df.columns)
    for i in np.flatnonzero(ragged)[:20]:
        findings.append(Finding(Severity.ERROR, "SD0008",
                                f"record has {nfields[i]} fields, the header {len(df.columns)}: missing fields read "
                                "as empty", file=str(path), line=int(lines[i])))
    if ragged.sum() > 20:
        findings.append(Finding(Severity.ERROR, "SD0008", f"{int(ragged.sum()) - 20} more record(s) with the wrong "
                                "number of fields", file=str(path)))
    if len(data) and not ended:
        findings.append(Finding(Severity.WARNING, "SD0009", "file does not end with a line break: it may be "
                                "truncated", file=str(path), line=int(lines[-1]) if len(lines) else 1))
    if st.null_tokens:
        nulls = set(st.null_tokens)
        df = df.apply(lambda c: c.where(~c.isin(nulls), ""))
    return RawForm(name, df, str(path), lines), findings


def _layout_by_csv(text: str, delimiter: str) -> tuple[np.ndarray, np.ndarray]:
    import csv

    rd = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter)
    lines, fields, prev = [], [], 0
    for row in rd:
        if row:
            lines.append(prev + 1)
            fields.append(len(row))
        prev = rd.line_num
    return np.asarray(lines, dtype=np.int64), np.asarray(fields, dtype=np.int64)


def read_sas_form(path: Path) -> RawForm:
    import pyreadstat

    if path.suffix.lower() == ".xpt":
        df, _ = pyreadstat.read_xport(str(path))
    else:
        df, _ = pyreadstat.read_sas7bdat(str(path))
    df = _stripped(_as_text(df))
    return RawForm(path.stem.lower(), df, str(path), np.arange(1, len(df) + 1))


def read_odm(path: Path) -> dict[str, RawForm]:
    """ODM 1.3 ClinicalData: one frame per FormOID; ItemOID (last dotted part) -> field."""
    from lxml import etree

    tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
    rows: dict[str, list[dict]] = {}
    lines: dict[str, list[int]] = {}
    for cd in tree.getroot().iterfind("odm:ClinicalData", ns):
        study = cd.get("StudyOID", "")
        for sd in cd.iterfind("odm:SubjectData", ns):
            subj = sd.get("SubjectKey", "")
            site_el = sd.find("odm:SiteRef", ns)
            site = site_el.get("LocationOID", "") if site_el is not None else ""
            for se in sd.iterfind("odm:StudyEventData", ns):
                folder = se.get("StudyEventOID", "")
                for fd in se.iterfind("odm:FormData", ns):
                    form = fd.get("FormOID", "").split(".")[-1].lower()
                    for ig in fd.iterfind("odm:ItemGroupData", ns):
                        rec = {"STUDYID": study, "SITEID": site, "SUBJID": subj, "FOLDER": folder,
                               "RECORDPOSITION": ig.get("ItemGroupRepeatKey", "1")}
                        if se.get("StudyEventRepeatKey") is not None:  # a repeated visit (declare raw.visit_repeat)
                            rec["FOLDERREPEAT"] = se.get("StudyEventRepeatKey")
                        for it in ig.iterfind("odm:ItemData", ns):
                            rec[it.get("ItemOID", "").split(".")[-1].upper()] = it.get("Value", "")
                        rows.setdefault(form, []).append(rec)
                        lines.setdefault(form, []).append(ig.sourceline or 0)
    out = {}
    for form, recs in rows.items():
        df = _stripped(pd.DataFrame(recs).fillna("").astype(str))
        out[form] = RawForm(form, df, str(path), np.asarray(lines[form]))
    return out


def _read_file(path: Path, name: str, spec: RawSpec) -> tuple[dict[str, RawForm], list[Finding]]:
    """One raw file's forms and reader findings; a file that cannot be read is one ERROR finding."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt", ".tsv"):
            form, findings = read_csv_form(path, spec.for_form(name), name)
            return {name: form}, findings
        if suffix in (".sas7bdat", ".xpt"):
            return {name: read_sas_form(path)}, []
        return read_odm(path), []
    except Exception as exc:  # unreadable file: say which and why
        return {}, [Finding(Severity.ERROR, "SD0001", f"cannot read raw file: {exc}", file=str(path))]


@python_strings
def read_raw_dir(raw_dir: Path | str, raw: RawSpec | None = None, *,
                 known_columns: set[str] | None = None) -> tuple[dict[str, RawForm], list[Finding]]:
    """All forms of a raw folder read as the raw spec declares (encoding, delimiter, file name),
    checked against the EDC manifest; with `known_columns`, a form's columns that no spec rule
    reads are listed once per form. Files that cannot be read become ERROR findings."""
    raw_dir = Path(raw_dir)
    spec = raw or RawSpec()
    by_file = {o.file.lower(): name for name, o in spec.forms.items() if o.file}
    manifest_name = spec.manifest or "manifest.json"
    forms: dict[str, RawForm] = {}
    findings: list[Finding] = []
    todo = []
    for path in sorted(raw_dir.iterdir()):
        if path.name in SKIP_FILES | {manifest_name} or path.name.startswith(".") or not path.is_file():
            continue
        if path.suffix.lower() in (".csv", ".txt", ".tsv", ".sas7bdat", ".xpt", ".xml"):
            todo.append((path, by_file.get(path.name.lower(), path.stem.lower())))
    # two files at a time: the C parser tokenizes without the GIL; results are taken in file order
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda job: _read_file(job[0], job[1], spec), todo)
        for (path, _), (got, got_findings) in zip(todo, results):
            findings += got_findings
            for name, form in got.items():
                if name in forms:
                    findings.append(Finding(Severity.ERROR, "SD0002",
                                            f"form {name!r} delivered twice; also in {forms[name].path}",
                                            file=str(path)))
                    continue
                forms[name] = form
    findings += check_manifest(raw_dir / manifest_name, forms, required=raw is not None and spec.manifest is not None)
    if known_columns is not None:
        findings += unknown_columns(forms, spec, known_columns)
    return forms, findings


def check_manifest(path: Path, forms: dict[str, RawForm], *, required: bool) -> list[Finding]:
    """Forms delivered complete? Compare row counts with the EDC manifest ({"forms": {name: {"rows": n}}}).

    A form with its header only, fewer rows than the manifest says, or named in the manifest and
    not delivered is an ERROR; with no manifest, forms with a header only are still reported and a
    NOTICE says completeness could not be checked (when the spec expects a manifest)."""
    out: list[Finding] = []
    if not path.is_file():
        if required:
            out.append(Finding(Severity.NOTICE, "SD0007", "no EDC manifest delivered: form completeness (row "
                               "counts) could not be checked", file=str(path)))
        for name, form in sorted(forms.items()):
            if len(form) == 0:
                out.append(Finding(Severity.WARNING, "SD0004", f"form {name!r} has a header and no records",
                                   file=form.path, line=1))
        return out
    try:
        entries = json.loads(path.read_text(encoding="utf-8-sig")).get("forms", {})
        expected = {str(k).lower(): int(v["rows"]) for k, v in entries.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return [Finding(Severity.ERROR, "SD0006", f"EDC manifest unreadable ({exc}); completeness not checked",
                        file=str(path))]
    for name, rows in sorted(expected.items()):
        form = forms.get(name)
        if form is None:
            out.append(Finding(Severity.ERROR, "SD0005", f"form {name!r} is in the EDC manifest ({rows} rows) "
                               "but was not delivered", file=str(path), value=name))
        elif len(form) == 0 and rows > 0:
            out.append(Finding(Severity.ERROR, "SD0004", f"form {name!r} delivered with its header only; "
                               f"the EDC manifest says {rows} rows", file=form.path, line=1))
        elif len(form) < rows:
            last = int(form.lines[-1]) if len(form.lines) else 1
            out.append(Finding(Severity.ERROR, "SD0005", f"form {name!r} truncated: {len(form)} of the {rows} rows "
                               "the EDC manifest says", file=form.path, line=last))
        elif len(form) > rows:
            out.append(Finding(Severity.WARNING, "SD0005", f"form {name!r} has {len(form)} rows, the EDC manifest "
                               f"{rows}", file=form.path))
    for name, form in sorted(forms.items()):
        if name not in expected and len(form) == 0:
            out.append(Finding(Severity.WARNING, "SD0004", f"form {name!r} has a header and no records (not in "
                               "the EDC manifest)", file=form.path, line=1))
    return out


def unknown_columns(forms: dict[str, RawForm], raw: RawSpec, known: set[str]) -> list[Finding]:
    """One WARNING per form listing the columns no spec rule reads (their values reach no dataset)."""
    out = []
    for name, form in sorted(forms.items()):
        st = raw.for_form(name)
        used = known | set(st.key_columns()) | set(st.ignore_columns) | set(st.dates) | set(st.times)
        extra = [c for c in form.frame.columns if c not in used]
        if extra:
            out.append(Finding(Severity.WARNING, "SD0010",
                               f"{len(extra)} column(s) of form {name!r} not used by any spec rule: "
                               f"{', '.join(extra)} (declare them in raw.ignore_columns if that is intended)",
                               file=form.path, line=1, field=", ".join(extra)))
    return out


def spec_columns(spec) -> set[str]:
    """Every raw column name a spec's SDTM rules can read: the upper-case identifiers among the
    parameter values of dataset and variable derivations (conservative: a name used anywhere counts)."""
    names: set[str] = set()

    def walk(v) -> None:
        if isinstance(v, str):
            if _IDENT.fullmatch(v):
                names.add(v)
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(k)
                walk(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        elif hasattr(v, "model_dump"):
            walk(v.model_dump())

    for ds in spec.datasets.values():
        if ds.derivation:
            walk(ds.derivation.params)
        for var in ds.variables:
            if var.derivation:
                walk(var.derivation.params)
    return names


_IDENT = re.compile(r"[A-Z][A-Z0-9_]*")


def read_for_spec(raw_dir: Path | str, spec) -> tuple[dict[str, RawForm], list[Finding]]:
    """The raw folder read as the study spec declares, with unknown columns and identifiers that do not
    have the declared shape reported."""
    forms, findings = read_raw_dir(raw_dir, spec.study.raw, known_columns=spec_columns(spec))
    if spec.study.raw is not None:
        for name, rf in forms.items():
            findings += identity_pattern_findings(rf, spec.study.raw.for_form(name))
    return forms, findings


def identity_pattern_findings(rf: RawForm, ident) -> list[Finding]:
    """A non-empty identifier column whose value the declared regex does not match would compose to a
    SUBJID/USUBJID/SITEID without that piece: one ERROR per distinct value, with its count and first lines."""
    out: list[Finding] = []
    parts = [*ident.subjid_parts(), *ident.usubjid_parts(), *([ident.site] if ident.site else [])]
    seen: set[tuple[str, str]] = set()
    for p in parts:
        if not p.regex or p.column not in rf.frame.columns or (p.column, p.regex) in seen:
            continue
        seen.add((p.column, p.regex))
        col = rf.frame[p.column].astype(str)
        uniq = pd.Series(col.unique())
        rx = re.compile(p.regex)  # per distinct value, so a pattern with groups needs no extract
        bad_vals = {v for v in uniq if v.strip() != "" and rx.search(v) is None}
        if not bad_vals:
            continue
        bad = col.isin(bad_vals).to_numpy()
        lines, vals = rf.lines[bad], col.to_numpy(dtype=object)[bad]
        for v in sorted(bad_vals):
            at = lines[vals == v]
            out.append(Finding(Severity.ERROR, "SD0012",
                               f"identifier does not match the declared pattern {p.regex!r} ({len(at)} record(s), "
                               f"lines {', '.join(str(int(x)) for x in at[:5])}): the composed identifier would "
                               "lack this piece", file=rf.path, line=int(at[0]), field=p.column, value=v))
    return out


def compose_id(frame: pd.DataFrame, parts: list, study_id: str = "") -> pd.Series:
    """An identifier (SUBJID, USUBJID, SITEID) from the spec's parts: the study id, raw columns
    (optionally a regex capture and zero padding) and literal separators. A missing column gives ''."""
    from ._fast import umap

    out = pd.Series("", index=frame.index, dtype=object)
    for p in parts:
        if p.study:
            piece = pd.Series(study_id, index=frame.index, dtype=object)
        elif p.literal is not None:
            piece = pd.Series(p.literal, index=frame.index, dtype=object)
        else:
            col = frame[p.column] if p.column in frame.columns else pd.Series("", index=frame.index, dtype=object)

            def shape(u: pd.Series, p=p) -> pd.Series:
                u = u.astype(str)
                if p.regex:
                    rx = p.regex if re.compile(p.regex).groups else f"({p.regex})"
                    u = u.str.extract(rx, expand=True).iloc[:, 0].fillna("")
                if p.pad:
                    u = u.where(u == "", u.str.zfill(p.pad))
                return u

            piece = umap(col.astype(str), shape).astype(object)
        out = out + piece
    return out.astype(str)
