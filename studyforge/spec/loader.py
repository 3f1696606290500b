"""Load a spec folder into the pydantic model; every problem is reported as `file:line: object: message`.

All files are read and validated before anything is raised, so one run shows every error. The layout is
the one of models.py, plus one extension: codelists, methods and comments may also be split into
`<collection>_<part>.yaml` fragments (in the spec folder, sdtm/ or adam/), merged in load order; an id
defined twice is an error. SourceMap paths follow the model: ("datasets", "DM", "variables", "AGE",
"length"), ("codelists", id, "terms", value, ...), ("methods", id, ...), ("study", ...); list items
without a name (values, where, standards) by 0-based index.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import annotated_types
from pydantic import BaseModel, ValidationError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from studyforge.spec.inherit import fill_dataset, sponsor_words
from studyforge.spec.models import CodelistFile, CommentFile, Dataset, MethodFile, Spec, Study
from studyforge.spec.yamlio import YamlReadError, compose_file, line_of, map_get, to_python

# list fields whose items are named by one of their keys (model path uses that name, not the index)
KEYED_LISTS = {"variables": "name", "parameters": "paramcd", "codelists": "id", "terms": "value",
               "methods": "id", "comments": "id"}
FOLDER_PURPOSE = {"sdtm": "Tabulation", "adam": "Analysis"}

ModelPath = tuple[Any, ...]


def display_path(path: Path | str) -> str:
    """The path relative to the working directory when it lies below it, else as given."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


@dataclass(frozen=True)
class Located:
    """One spec problem with its place."""

    file: str
    line: int
    obj: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: " + (f"{self.obj}: " if self.obj else "") + self.message


class SpecError(Exception):
    """A spec could not be loaded; `errors` lists every located problem."""

    def __init__(self, errors: list[Located]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


@dataclass
class SourceMap:
    """Where each part of the model was written: model path -> (file, 1-based line)."""

    entries: dict[ModelPath, tuple[str, int]] = field(default_factory=dict)

    def get(self, path: ModelPath) -> tuple[str, int] | None:
        """The place of `path`, or of its nearest recorded ancestor."""
        p = tuple(path)
        while p:
            if p in self.entries:
                return self.entries[p]
            p = p[:-1]
        return self.entries.get((), None)

    def file(self, path: ModelPath) -> str:
        """The file of `path` ('' when unknown)."""
        loc = self.get(path)
        return loc[0] if loc else ""

    def line(self, path: ModelPath) -> int | None:
        """The 1-based line of `path` (None when unknown)."""
        loc = self.get(path)
        return loc[1] if loc else None


def load_spec(spec_dir: Path | str) -> Spec:
    """The validated spec of a folder; SpecError lists every problem with file:line."""
    return load_spec_with_locations(spec_dir)[0]


COLLECTIONS = {"codelists": (CodelistFile, "codelist"), "methods": (MethodFile, "method"),
               "comments": (CommentFile, "comment")}


def _fragment_kind(path: Path) -> str | None:
    """`codelists.yaml` or `codelists_<part>.yaml` (likewise methods, comments) -> its collection."""
    for kind in COLLECTIONS:
        if path.stem == kind or path.stem.startswith(kind + "_"):
            return kind
    return None


def spec_layout(spec_dir: Path | str) -> list[tuple[Path, str]]:
    """The files of a spec folder in load order, each with its kind: study, codelists, methods, comments,
    sdtm or adam. Collections may be split into `<collection>_<part>.yaml` fragments in the spec folder,
    sdtm/ or adam/ (merged in this order); every other YAML file in sdtm/ and adam/ is a dataset."""
    spec_dir = Path(spec_dir)
    out: list[tuple[Path, str]] = [(spec_dir / "study.yaml", "study")]
    out += [(spec_dir / f"{k}.yaml", k) for k in COLLECTIONS if (spec_dir / f"{k}.yaml").is_file()]
    folders = [spec_dir] + [spec_dir / f for f in FOLDER_PURPOSE if (spec_dir / f).is_dir()]
    for folder in folders:
        for path in sorted(folder.glob("*.yaml")):
            kind = _fragment_kind(path)
            if kind and (folder != spec_dir or path.stem != kind):
                out.append((path, kind))
    for folder in FOLDER_PURPOSE:
        if (spec_dir / folder).is_dir():
            out += [(p, folder) for p in sorted((spec_dir / folder).glob("*.yaml")) if _fragment_kind(p) is None]
    return out


def load_spec_with_locations(spec_dir: Path | str) -> tuple[Spec, SourceMap]:
    """The validated spec and where each of its parts was written."""
    spec_dir = Path(spec_dir)
    errors: list[Located] = []
    smap = SourceMap()
    parts: dict[str, Any] = {"datasets": {}, "codelists": {}, "methods": {}, "comments": {}}
    study = None
    for path, kind in spec_layout(spec_dir):
        shown = display_path(path)
        if kind == "study":
            if not path.is_file():
                errors.append(Located(shown, 1, "", "study.yaml is missing (it is required)"))
            else:
                study, local = _load_file(path, Study, ("study",), "study", errors)
                _merge(smap, local)
        elif kind in COLLECTIONS:
            model, word = COLLECTIONS[kind]
            obj, local = _load_file(path, model, (), word, errors)
            if obj is None:
                continue
            for item in getattr(obj, kind):
                if item.id in parts[kind]:
                    first = smap.get((kind, item.id))
                    errors.append(Located(shown, local.line((kind, item.id)) or 1, f"{word} {item.id}",
                                          f"{word} id {item.id!r} is defined more than once (first in "
                                          f"{first[0]}:{first[1]})" if first else f"{word} id {item.id!r} is "
                                          "defined more than once"))
                parts[kind][item.id] = item
            _merge(smap, local)
        else:
            ds, local = _load_file(path, Dataset, None, "dataset", errors, purpose=FOLDER_PURPOSE[kind])
            if ds is None:
                continue
            line = local.line(("datasets", ds.name, "name")) or 1
            purpose = FOLDER_PURPOSE[kind]
            if ds.name != path.stem:
                errors.append(Located(shown, line, f"dataset {ds.name}",
                                      f"dataset name {ds.name!r} must equal the file name {path.stem!r} (upper case)"))
                continue
            if ds.purpose != purpose:
                errors.append(Located(shown, local.line(("datasets", ds.name, "purpose")) or line, f"dataset {ds.name}",
                                      f"purpose {ds.purpose!r} does not fit folder {kind}/ (expected {purpose!r})"))
            if ds.name in parts["datasets"]:
                errors.append(Located(shown, line, f"dataset {ds.name}", "dataset is defined in both sdtm/ and adam/"))
            parts["datasets"][ds.name] = ds
            _merge(smap, local)
    if errors or study is None:
        raise SpecError(errors)
    return Spec(study=study, **parts), smap


def load_dataset_file(path: Path | str) -> Dataset:
    """One dataset file (under sdtm/ or adam/) with its inherited metadata filled in, as the whole-spec load
    gives it; SpecError with file:line otherwise. For tools and tests that need a single dataset."""
    path = Path(path)
    purpose = FOLDER_PURPOSE.get(path.parent.name)
    if purpose is None:
        raise SpecError([Located(display_path(path), 1, "", "a dataset file lives in a spec's sdtm/ or adam/ folder")])
    errors: list[Located] = []
    ds, _ = _load_file(path, Dataset, None, "dataset", errors, purpose=purpose)
    if errors or ds is None:
        raise SpecError(errors)
    return ds


def _merge(smap: SourceMap, local: SourceMap) -> None:
    for k, v in local.entries.items():
        smap.entries.setdefault(k, v)


# --- one file ---------------------------------------------------------------------------------

def _load_file(path: Path, model: type[BaseModel], prefix: ModelPath | None, kind: str,
               errors: list[Located], purpose: str | None = None) -> tuple[Any, SourceMap]:
    """Validate one file against `model`, adding located errors: (model object or None, its source lines).
    A dataset file (`purpose` given) first inherits the standard metadata it leaves out (spec/inherit.py)."""
    shown = display_path(path)
    smap = SourceMap()
    try:
        root, _text = compose_file(path)
    except YamlReadError as exc:
        errors.extend(Located(shown, p.line, "", p.message) for p in exc.problems)
        return None, smap
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(Located(shown, 1, "", f"cannot read file: {exc}"))
        return None, smap
    if not isinstance(root, MappingNode):
        errors.append(Located(shown, line_of(root) if root is not None else 1, "",
                              "the file must hold a mapping of keys (it is empty or a list/scalar)"))
        return None, smap
    data = to_python(root)
    if prefix is None:  # a dataset: model paths start at ("datasets", NAME)
        name = data.get("name") if isinstance(data.get("name"), str) else path.stem
        prefix = ("datasets", name)
    _record(root, prefix, shown, smap)
    top_obj = f"dataset {prefix[1]}" if kind == "dataset" else ("study" if kind == "study" else "")
    found = _structural_problems(root, data, shown, top_obj)
    if purpose is not None:
        data = fill_dataset(data, purpose)
    try:
        obj = model.model_validate(data)
    except ValidationError as exc:
        dup_texts = ("duplicate variable", "key variable", "duplicate PARAMCD", "duplicate term")
        for err in exc.errors(include_url=False):
            if err["type"] == "value_error" and any(t in err["msg"] for t in dup_texts):
                continue  # reported by _structural_problems with a better line
            located = _translate(err, root, data, model, shown, top_obj)
            if purpose is not None and _is_sponsor_gap(err):
                why = sponsor_words(str(data.get("name", "")), purpose, data.get("class"))
                located = Located(located.file, located.line, located.obj,
                                  f"sponsor-defined variable ({why}): state its {err['loc'][-1]}")
            found.append(located)
        errors.extend(_dedupe(found))
        return None, smap
    if found:
        errors.extend(_dedupe(found))
        return None, smap
    return obj, smap


def _is_sponsor_gap(err: dict) -> bool:
    """A variable lacks a label or type the standards could not supply."""
    loc = tuple(err["loc"])
    return (err["type"] == "missing" and len(loc) == 3 and loc[0] == "variables"
            and loc[2] in ("label", "type"))


def _dedupe(items: list[Located]) -> list[Located]:
    seen: set[Located] = set()
    out = []
    for it in sorted(items, key=lambda e: e.line):
        if it not in seen:
            seen.add(it)
            out.append(it)
    return out


def _record(node: Node, path: ModelPath, file: str, smap: SourceMap) -> None:
    smap.entries.setdefault(path, (file, line_of(node)))
    if isinstance(node, MappingNode):
        for k, v in node.value:
            if not isinstance(k, ScalarNode):
                continue
            sub = path + (k.value,)
            smap.entries.setdefault(sub, (file, line_of(k)))
            if isinstance(v, SequenceNode) and k.value in KEYED_LISTS:
                keyname = KEYED_LISTS[k.value]
                # a file-level collection (codelists/methods/comments) has no extra path level
                base = (k.value,) if path == () else sub
                for i, item in enumerate(v.value):
                    _, idnode = map_get(item, keyname)
                    ident = idnode.value if isinstance(idnode, ScalarNode) else i
                    _record(item, base + (ident,), file, smap)
            else:
                _record_children(v, sub, file, smap)
    else:
        _record_children(node, path, file, smap)


def _record_children(node: Node, path: ModelPath, file: str, smap: SourceMap) -> None:
    if isinstance(node, MappingNode):
        _record(node, path, file, smap)
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            _record(item, path + (i,), file, smap)


# --- errors in words ------------------------------------------------------------------------

def _structural_problems(root: MappingNode, data: dict, file: str, top_obj: str) -> list[Located]:
    """Duplicates and dangling keys, found on the raw data so they show even when fields are invalid."""
    out: list[Located] = []

    def dupes(seq_node: Node | None, key: str, what: str, obj_of: Callable[[str], str]) -> None:
        if not isinstance(seq_node, SequenceNode):
            return
        seen: dict[str, int] = {}
        for item in seq_node.value:
            _, v = map_get(item, key)
            if isinstance(v, ScalarNode):
                if v.value in seen:
                    out.append(Located(file, line_of(v), obj_of(v.value),
                                       f"{what} {v.value!r} is defined more than once (first at line {seen[v.value]})"))
                seen.setdefault(v.value, line_of(v))

    _, vars_node = map_get(root, "variables")
    if "variables" in data and "name" in data:
        dupes(vars_node, "name", "variable", lambda n: f"variable {n}")
        _, pnode = map_get(root, "parameters")
        dupes(pnode, "paramcd", "PARAMCD", lambda n: f"parameter {n}")
        names = {v.get("name") for v in data.get("variables") or [] if isinstance(v, dict)}
        _, knode = map_get(root, "keys")
        if isinstance(knode, SequenceNode):
            for item in knode.value:
                if isinstance(item, ScalarNode) and item.value not in names:
                    out.append(Located(file, line_of(item), top_obj, f"key variable {item.value!r} is not among the variables"))
    _, cl_node = map_get(root, "codelists")
    if isinstance(cl_node, SequenceNode):
        dupes(cl_node, "id", "codelist id", lambda n: f"codelist {n}")
        for item in cl_node.value:
            _, idn = map_get(item, "id")
            _, tnode = map_get(item, "terms")
            cid = idn.value if isinstance(idn, ScalarNode) else "?"
            dupes(tnode, "value", "term", lambda n, cid=cid: f"codelist {cid}, term {n}")
    for coll, kind in (("methods", "method"), ("comments", "comment")):
        _, node = map_get(root, coll)
        dupes(node, "id", f"{kind} id", lambda n, kind=kind: f"{kind} {n}")
    return out


def _walk_loc(root: Node, data: Any, loc: tuple) -> tuple[int, str, list[str]]:
    """Follow a pydantic error location through the nodes: (line, object name, field path words)."""
    node: Node | None = root
    cur: Any = data
    line = line_of(root)
    obj = ""
    fields: list[str] = []
    parent_list = ""
    owner_id = ""
    for part in loc:
        if isinstance(part, int) and isinstance(node, SequenceNode) and 0 <= part < len(node.value):
            node = node.value[part]
            cur = cur[part] if isinstance(cur, list) and part < len(cur) else None
            line = line_of(node)
            named = _item_name(parent_list, cur, part)
            if named:
                obj = named if parent_list != "terms" else f"{owner_id}, {named}"
                if parent_list == "codelists":
                    owner_id = named
                fields = []
            else:
                fields.append(f"item {part + 1}")
            continue
        if isinstance(part, str) and isinstance(node, MappingNode):
            k, v = map_get(node, part)
            fields.append(part)
            parent_list = part
            if k is None:  # missing key: point at the mapping that lacks it
                break
            line = line_of(k)
            node, cur = v, cur.get(part) if isinstance(cur, dict) else None
            continue
        fields.append(str(part))
        break
    return line, obj, fields


def _item_name(list_name: str, item: Any, index: int) -> str:
    key = KEYED_LISTS.get(list_name)
    ident = item.get(key) if isinstance(item, dict) and key else None
    label = {"variables": "variable", "parameters": "parameter", "codelists": "codelist", "terms": "term",
             "methods": "method", "comments": "comment", "values": "value-level item",
             "standards": "standard"}.get(list_name)
    if label is None:
        return ""
    if list_name == "values":
        var = item.get("variable") if isinstance(item, dict) else None
        return f"value-level item {index + 1}" + (f" ({var})" if isinstance(var, str) else "")
    if list_name == "standards":
        return f"standard {index + 1}"
    return f"{label} {ident}" if isinstance(ident, (str, int)) else f"{label} #{index + 1}"


def _translate(err: dict, root: Node, data: Any, model: type[BaseModel], file: str, top_obj: str) -> Located:
    loc = tuple(err["loc"])
    line, obj, fields = _walk_loc(root, data, loc)
    obj = obj or top_obj
    etype = err["type"]
    ctx = err.get("ctx") or {}
    val = err.get("input")
    name = ".".join(fields) if fields else "value"
    if etype == "extra_forbidden":
        return Located(file, line, obj, f"unknown key {fields[-1] if fields else '?'!r}")
    if etype == "missing":
        return Located(file, line, obj, f"missing required key {fields[-1] if fields else '?'!r}")
    bounds = _bounds(model, loc)
    shown = _show(val)
    if etype in ("greater_than_equal", "less_than_equal", "greater_than", "less_than") and bounds:
        lo, hi = bounds
        rng = f"{lo}..{hi}" if lo is not None and hi is not None else (f">= {lo}" if lo is not None else f"<= {hi}")
        msg = f"{name} must be {rng}"
    elif etype == "string_too_long":
        msg = f"{name} must be at most {ctx.get('max_length')} characters (has {len(val)}: {shown})"
    elif etype == "string_too_short":
        msg = f"{name} must not be empty"
    elif etype == "too_short":
        msg = f"{name} must have at least {ctx.get('min_length')} item(s)"
    elif etype == "string_pattern_mismatch":
        msg = f"{name} {shown} {_pattern_words(ctx.get('pattern', ''))}"
    elif etype in ("literal_error", "enum"):
        msg = f"{name} must be one of {ctx.get('expected')} (got {shown})"
    elif etype == "string_type":
        msg = f"{name} must be text (got {shown}; quote it in YAML)"
    elif etype in ("int_type", "int_parsing", "int_from_float"):
        msg = f"{name} must be a whole number (got {shown})"
    elif etype in ("float_type", "float_parsing"):
        msg = f"{name} must be a number (got {shown})"
    elif etype in ("bool_type", "bool_parsing"):
        msg = f"{name} must be true or false (got {shown})"
    elif etype == "list_type":
        msg = f"{name} must be a list (got {shown})"
    elif etype in ("dict_type", "model_type", "model_attributes_type"):
        msg = f"{name} must be a mapping of keys (got {shown})"
    elif etype.startswith("datetime") or etype.startswith("date"):
        msg = f"{name} must be an ISO 8601 date-time such as 2024-01-31T00:00:00 (got {shown})"
    elif etype == "value_error":
        msg = str(err["msg"]).removeprefix("Value error, ")
    else:
        msg = f"{name}: {err['msg']} (got {shown})"
    return Located(file, line, obj, msg)


def _show(val: Any) -> str:
    if isinstance(val, (dict, list)):
        return "a mapping" if isinstance(val, dict) else "a list"
    return repr(val)


def _pattern_words(pattern: str) -> str:
    from studyforge.spec.models import NAME_PATTERN, SAS_FORMAT_PATTERN

    if pattern == NAME_PATTERN:
        return "must be 1 to 8 upper-case letters, digits or underscores, starting with a letter"
    if pattern == SAS_FORMAT_PATTERN:
        return "must be a SAS format such as DATE9. or $200. or 8.2"
    if pattern == r"^C\d+$":
        return "must be an NCI C-code such as C66731"
    return f"must match the pattern {pattern}"


def _bounds(model: type[BaseModel], loc: tuple) -> tuple[Any, Any] | None:
    """(ge, le) of the field an error is about, following the location through nested models."""
    cls: Any = model
    info = None
    for part in loc:
        if isinstance(part, int):
            continue
        cls = unwrap_annotation(cls)
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            return None
        info = next((f for n, f in cls.model_fields.items() if n == part or f.alias == part), None)
        if info is None:
            return None
        cls = info.annotation
    if info is None:
        return None
    lo = next((m.ge for m in info.metadata if isinstance(m, annotated_types.Ge)), None)
    hi = next((m.le for m in info.metadata if isinstance(m, annotated_types.Le)), None)
    return (lo, hi) if lo is not None or hi is not None else None


def unwrap_annotation(tp: Any) -> Any:
    """The model class inside list[X], dict[str, X] and X | None annotations."""
    while True:
        origin = typing.get_origin(tp)
        if origin in (list, dict):
            tp = typing.get_args(tp)[-1]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = args[0] if len(args) == 1 else tp
            if len(args) != 1:
                return tp
        else:
            return tp
