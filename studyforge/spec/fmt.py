"""`spec fmt`: write every spec file in one canonical YAML form so a `git diff` shows only real changes.

The canonical rule:
- keys of model objects in the pydantic model's field order (unknown keys kept, after the known ones,
  in written order, for `spec check` to report); keys of free mappings (rule params) as written;
- 2-space indentation; sequences under a key indented by 2 (`  - name: X`); no blank lines;
- keys whose value is the model's default (`comparator: EQ`, `params: {}`, `repeating: true`) are dropped;
- in a dataset file (sdtm/, adam/), keys whose value equals what the standards give (spec/inherit.py:
  label, type, role, core of a variable; label, class, structure, domain, purpose, standard of a dataset)
  are dropped, unless a comment is attached to them: the file says only what the study decides;
- files, datasets, codelists, methods and comments in block style; anything else (a list, rule params, an
  origin, a derivation, a where-clause, a term, a variable, a value-level item) in flow style
  (`keys: [STUDYID, USUBJID]`, `derivation: {rule: constant, params: {value: DM}}`) when it nests at most
  4 deep, has no comments inside and its line fits in 120 columns (the project's line length), else block
  style: a short variable reads as one row of a mapping sheet;
- text plain when YAML reads it back as the same text (and YAML 1.1 would not read it as a boolean
  or null), else double-quoted; text with line breaks as a literal block (`|`); single-line text too
  long for its line as a folded block (`>-`) wrapped at 120 columns;
- numbers, booleans, dates as written (null as `null`, booleans lower case); anchors and aliases
  expanded (each block says what it means where it stands);
- comments kept with the key or list item they precede or end the line of; a file's leading comment
  block stays at the top.
A file is written only when the result reads back to the same data with the same comments.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from studyforge.fileio import write_text_atomic
from studyforge.spec.inherit import dataset_standard, fill_dataset, value_level_defaults, variable_standard
from studyforge.spec.loader import display_path, spec_layout, unwrap_annotation
from studyforge.spec.models import Codelist, CodelistFile, Comment, CommentFile, Dataset, Method, MethodFile, Study
from studyforge.spec.yamlio import CORE, Comments, YamlReadError, compose_text, extract_comments, map_get, to_python

WIDTH = 120
YAML11_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}
_RESOLVER = VersionedResolver()


class FormatError(Exception):
    """Some files could not be formatted (unreadable YAML, or a result that would change them)."""

    def __init__(self, messages: list[str]):
        self.messages = messages
        super().__init__("\n".join(messages))


MODELS: dict[str, type[BaseModel]] = {"study": Study, "codelists": CodelistFile, "methods": MethodFile,
                                      "comments": CommentFile, "sdtm": Dataset, "adam": Dataset}


PURPOSE = {"sdtm": "Tabulation", "adam": "Analysis"}


def spec_files(spec_dir: Path) -> list[tuple[Path, type[BaseModel], str | None]]:
    """The files `spec fmt` owns (the loader's layout), with the model that orders their keys and, for a
    dataset file, its purpose (which standard it inherits from)."""
    return [(p, MODELS[kind], PURPOSE.get(kind)) for p, kind in spec_layout(spec_dir) if p.is_file()]


def format_spec_dir(spec_dir: Path | str, write: bool = True) -> list[str]:
    """Format every spec file; the display paths of the files that were (or would be) changed."""
    changed, problems = [], []
    for path, model, purpose in spec_files(Path(spec_dir)):
        text = path.read_text(encoding="utf-8")
        shown = display_path(path)
        try:
            new = format_text(text, model, purpose)
        except YamlReadError as exc:
            problems += [f"{shown}:{p.line}: ERROR {p.message}" for p in exc.problems]
            continue
        except ValueError as exc:
            problems.append(f"{shown}:1: ERROR cannot format: {exc}")
            continue
        if new != text:
            changed.append(shown)
            if write:
                write_text_atomic(path, new)
    if problems:
        raise FormatError(problems)
    return changed


def format_text(text: str, model: type[BaseModel], purpose: str | None = None) -> str:
    """The canonical text of one spec file; ValueError if the result would lose data or comments.
    A dataset file (`purpose` Tabulation or Analysis) also drops the values it would inherit anyway."""
    root = compose_text(text)
    comments = extract_comments(root, text)
    lines = list(comments.header)
    if root is not None:
        if not isinstance(root, MappingNode):
            raise ValueError("the file must hold a mapping of keys")
        _drop_defaults(root, model, comments)
        if purpose is not None:
            _slim(root, purpose, comments)
        _Emitter(comments, lines).mapping(root, model, 0)
    lines += comments.trailing
    out = "\n".join(lines) + "\n" if lines else ""
    _verify(text, root, comments, out)
    return out


def _verify(text: str, root: Node | None, comments: Comments, out: str) -> None:
    new_root = compose_text(out)
    if to_python(new_root) != to_python(root):
        raise ValueError("internal error: formatted text would read back differently; file left unchanged")
    if (_comment_count(extract_comments(new_root, out)) != _comment_count(comments)
            or len(_HASH.findall(text)) != len(_HASH.findall(out))):
        # the second count does not rely on comment extraction: every `#` after whitespace, comment or not
        raise ValueError("a comment could not be placed (or an alias repeats text holding ' #'); "
                         "file left unchanged")


_HASH = re.compile(r"(?:^|\s)#", re.M)


def _comment_count(c: Comments) -> int:
    return len(c.header) + len(c.trailing) + len(c.eol) + sum(len(v) for v in c.before.values())


# --- slimming -------------------------------------------------------------------------------------

def _slim(root: MappingNode, purpose: str, comments: Comments) -> None:
    """Drop, in place, the keys whose written value equals the inherited one (spec/inherit.py): dataset
    attributes, variable attributes from the standards, value-level attributes from their variable.
    A key that carries a comment is kept, so no comment is lost."""
    data = to_python(root)
    filled = fill_dataset(data, purpose)
    name = filled.get("name") if isinstance(filled.get("name"), str) else ""
    class_ = filled.get("class") if isinstance(filled.get("class"), str) else None
    _drop_equal(root, dataset_standard(name, purpose), comments)
    _, variables = map_get(root, "variables")
    parents: dict[str, dict] = {}
    for item in variables.value if isinstance(variables, SequenceNode) else []:
        var = _text_of(item, "name") if isinstance(item, MappingNode) else None
        std = variable_standard(name, purpose, class_, var) if var else None
        if std is not None:
            _drop_equal(item, std.values(), comments)
    for v in filled.get("variables") or []:
        if isinstance(v, dict) and isinstance(v.get("name"), str):
            parents[v["name"]] = v
    _, values = map_get(root, "values")
    for item in values.value if isinstance(values, SequenceNode) else []:
        var = _text_of(item, "variable") if isinstance(item, MappingNode) else None
        if var in parents:
            _drop_equal(item, value_level_defaults(parents[var]), comments)


def _drop_defaults(node: Node, model: type[BaseModel] | None, comments: Comments) -> None:
    """Drop, in place, the keys of model objects whose written value is the model's default (`comparator: EQ`,
    `params: {}`, `repeating: true`, `extensible: false` ...): the loader supplies it anyway."""
    if model is None or not isinstance(node, MappingNode):
        return
    fields = {info.alias or name: info for name, info in model.model_fields.items()}
    _, sub = _children(model)
    keep = []
    for k, v in node.value:
        key = k.value if isinstance(k, ScalarNode) else None
        info = fields.get(key)
        if info is not None and not info.is_required() and not _has_any_comment(k, comments) \
                and not _has_any_comment(v, comments) and to_python(v) == info.get_default(call_default_factory=True):
            continue
        keep.append((k, v))
        child = sub.get(key)
        if isinstance(v, SequenceNode):
            for item in v.value:
                _drop_defaults(item, child, comments)
        else:
            _drop_defaults(v, child, comments)
    node.value[:] = keep


def _text_of(node: Node, key: str) -> str | None:
    _, v = map_get(node, key)
    return v.value if isinstance(v, ScalarNode) and str(v.tag) == CORE + "str" else None


def _drop_equal(node: MappingNode, inherited: dict, comments: Comments) -> None:
    keep = []
    for k, v in node.value:
        key = k.value if isinstance(k, ScalarNode) else None
        same = (key in inherited and to_python(v) == inherited[key]
                and not (isinstance(v, ScalarNode) and ("#" in v.value or str(v.tag) != CORE + "str"))
                and not _has_any_comment(v, comments))
        commented = any(id(n) in comments.before or id(n) in comments.eol for n in (k, v))
        if not same or commented:
            keep.append((k, v))
    node.value[:] = keep


def _has_any_comment(node: Node, comments: Comments) -> bool:
    stack = [node]
    while stack:
        n = stack.pop()
        if id(n) in comments.before or id(n) in comments.eol:
            return True
        if isinstance(n, SequenceNode):
            stack.extend(n.value)
        elif isinstance(n, MappingNode):
            stack.extend(x for kv in n.value for x in kv)
    return False


# --- schema ---------------------------------------------------------------------------------------

def _children(model: type[BaseModel] | None) -> tuple[list[str], dict[str, type[BaseModel]]]:
    """Key order of a model and the models of its nested object fields."""
    if model is None:
        return [], {}
    order, sub = [], {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        order.append(key)
        inner = unwrap_annotation(info.annotation)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            sub[key] = inner
    return order, sub


# --- emitter --------------------------------------------------------------------------------------

@dataclass
class _Emitter:
    comments: Comments
    lines: list[str]

    def _before(self, node: Node, indent: int) -> None:
        for c in self.comments.before.get(id(node), []):
            self.lines.append(" " * indent + c)

    def _eol(self, *nodes: Node) -> str:
        for n in nodes:
            if id(n) in self.comments.eol:
                return "  " + self.comments.eol[id(n)]
        return ""

    def mapping(self, node: MappingNode, model: type[BaseModel] | None, indent: int, first_prefix: str = "") -> None:
        """Emit a block mapping; `first_prefix` ("- ") replaces the indentation of its first key."""
        order, sub = _children(model)
        rank = {k: i for i, k in enumerate(order)}
        pairs = sorted(enumerate(node.value), key=lambda p: (rank.get(_key(p[1][0]), len(order)), p[0]))
        for pos, (_, (k, v)) in enumerate(pairs):
            self._before(k, indent)
            lead = (" " * (indent - len(first_prefix)) + first_prefix) if (pos == 0 and first_prefix) else " " * indent
            head = f"{lead}{_key(k)}:"
            child_model = sub.get(_key(k))
            self.value(v, child_model, indent, head, k)

    def value(self, v: Node, model: type[BaseModel] | None, indent: int, head: str, owner: Node) -> None:
        """Emit `head` (`key:`) and its value; model objects in block style, scalar collections in flow."""
        if isinstance(v, ScalarNode):
            text = _scalar(v, len(head) + 1, indent + 2, flow=False)
            self.lines.append(f"{head} {text}{self._eol(owner, v)}")
            return
        if _leaf(model) and (flow := self._flow(v, len(head) + 1, model)) is not None:
            self.lines.append(f"{head} {flow}{self._eol(owner, v)}")
            return
        if not v.value:
            self.lines.append(f"{head} {'{}' if isinstance(v, MappingNode) else '[]'}{self._eol(owner, v)}")
            return
        self.lines.append(f"{head}{self._eol(owner, v)}")
        if isinstance(v, MappingNode):
            self.mapping(v, model, indent + 2)
        else:
            self.sequence(v, model, indent + 2)

    def sequence(self, node: SequenceNode, item_model: type[BaseModel] | None, indent: int) -> None:
        """Emit a block sequence: `- ` items, model objects as block mappings."""
        for item in node.value:
            self._before(item, indent)
            if isinstance(item, MappingNode) and item.value:
                if _leaf(item_model) and (flow := self._flow(item, indent + 2, item_model)) is not None:
                    self.lines.append(f"{' ' * indent}- {flow}{self._eol(item)}")
                else:
                    self.mapping(item, item_model, indent + 2, first_prefix="- ")
            elif isinstance(item, ScalarNode):
                self.lines.append(f"{' ' * indent}- {_scalar(item, indent + 2, indent + 2, flow=False)}{self._eol(item)}")
            else:
                flow = self._flow(item, indent + 2) if item.value else ("{}" if isinstance(item, MappingNode) else "[]")
                if flow is None:  # a nested block sequence: rare in specs, emitted one level deeper
                    self.lines.append(f"{' ' * indent}-{self._eol(item)}")
                    self.sequence(item, None, indent + 2)
                else:
                    self.lines.append(f"{' ' * indent}- {flow}{self._eol(item)}")

    def _flow(self, node: Node, col: int, model: type[BaseModel] | None = None) -> str | None:
        """The flow form of a collection (nested at most FLOW_DEPTH deep) when it is comment-free and fits,
        else None; a leaf model object's keys in model order."""
        if _depth(node) > FLOW_DEPTH or self._has_comments(node):
            return None
        try:
            text = _flow_text(node, model)
        except _NeedsBlock:
            return None
        return text if col + len(text) <= WIDTH else None

    def _has_comments(self, node: Node) -> bool:
        """A comment inside the collection (one at the end of its own line is written after the flow text)."""
        children = node.value if isinstance(node, SequenceNode) else [x for kv in node.value for x in kv]
        return any(_has_any_comment(c, self.comments) for c in children)


FLOW_DEPTH = 4


def _depth(node: Node) -> int:
    if isinstance(node, ScalarNode):
        return 0
    items = node.value if isinstance(node, SequenceNode) else [v for _, v in node.value]
    return 1 + max((_depth(x) for x in items), default=0)


def _flow_text(node: Node, model: type[BaseModel] | None = None) -> str:
    if isinstance(node, ScalarNode):
        return _scalar(node, 0, 0, flow=True)
    if isinstance(node, SequenceNode):
        return "[" + ", ".join(_flow_text(x, model) for x in node.value) + "]"
    pairs = node.value
    order, sub = _children(model)
    if model is not None:
        rank = {k: i for i, k in enumerate(order)}
        pairs = [kv for _, kv in sorted(enumerate(pairs), key=lambda p: (rank.get(_key(p[1][0]), len(rank)), p[0]))]
    return "{" + ", ".join(f"{_key(k)}: {_flow_text(v, sub.get(_key(k)))}" for k, v in pairs) + "}"


BLOCK_MODELS = (Study, Dataset, Codelist, Method, Comment, CodelistFile, MethodFile, CommentFile)


def _leaf(model: type[BaseModel] | None) -> bool:
    """Anything but a file, dataset, codelist, method or comment (which hold lists or prose) may be written in
    flow style: a free collection, an origin, a derivation, a where-clause, a term, a variable ..."""
    return model is None or model not in BLOCK_MODELS


class _NeedsBlock(Exception):
    pass


def _key(k: Node) -> str:
    if not isinstance(k, ScalarNode):
        raise ValueError("complex mapping keys are not allowed in a spec")
    return _string(k.value, flow=False) if str(k.tag) == CORE + "str" else k.value


def _scalar(node: ScalarNode, col: int, block_indent: int, flow: bool) -> str:
    tag = str(node.tag)
    if tag == CORE + "str":
        s = node.value
        if "\n" in s:
            if flow:
                raise _NeedsBlock
            return _literal(s, block_indent)
        plain = _string(s, flow)
        if not flow and col + len(plain) > WIDTH and _foldable(s):
            return _folded(s, block_indent)
        return plain
    if tag == CORE + "null":
        return "null"
    if tag == CORE + "bool":
        return node.value.lower()
    return node.value


_PLAIN_OK = re.compile(r"[A-Za-z0-9_.(/$+=<^~\\][^\t\r\n]*")


def _string(s: str, flow: bool) -> str:
    """Plain when it reads back as the same text, else double-quoted."""
    if (s and _PLAIN_OK.fullmatch(s) and s == s.strip() and ": " not in s and " #" not in s
            and not s.endswith(":") and s.lower() not in YAML11_WORDS and s.isprintable()
            and str(_RESOLVER.resolve(ScalarNode, s, (True, False))) == CORE + "str"
            and not (flow and any(c in s for c in ",[]{}"))):
        return s
    return _quoted(s)


def _quoted(s: str) -> str:
    """A YAML double-quoted scalar: printable characters as they are, everything else escaped."""
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable() and ch != "\ufeff":
            out.append(ch)
        else:
            code = ord(ch)
            out.append(json.dumps(ch)[1:-1] if code < 0x10000 else f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def _literal(s: str, indent: int) -> str:
    body = s.rstrip("\n")
    trailing = len(s) - len(body)
    lines = body.split("\n")
    if (not lines[0] or lines[0][0] in " \t" or any(ln != ln.rstrip() for ln in lines)
            or any(not ch.isprintable() for ln in lines for ch in ln)):
        return _quoted(s)
    chomp = "-" if trailing == 0 else ("" if trailing == 1 else "+")
    pad = " " * indent
    out = [f"|{chomp}"] + [(pad + ln) if ln else "" for ln in lines] + [""] * (trailing - 1 if trailing > 1 else 0)
    return "\n".join(out)


def _foldable(s: str) -> bool:
    return s == s.strip() and "  " not in s and "\t" not in s and s.isprintable() and " " in s


def _folded(s: str, indent: int) -> str:
    """`>-` with words wrapped at WIDTH; folding turns each break back into the single space it replaced."""
    words, lines, cur = s.split(" "), [], ""
    for w in words:
        if cur and indent + len(cur) + 1 + len(w) > WIDTH:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}" if cur else w
    lines.append(cur)
    if any(ln.startswith((" ", "#")) for ln in lines):
        return _quoted(s)
    return ">-\n" + "\n".join(" " * indent + ln for ln in lines)
