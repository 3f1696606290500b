"""Safe YAML reading for specs: a node tree with lines and comments, never arbitrary objects.

Documents are *composed* (ruamel.yaml round-trip parser, no constructor runs), every tag is
checked against the YAML 1.2 core schema, and plain Python values are built here. This is why
`!!python/object` and friends are refused (ruamel's rt loader would silently drop such tags).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

CORE = "tag:yaml.org,2002:"
ALLOWED_TAGS = {CORE + t for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")}


@dataclass(frozen=True)
class YamlProblem:
    """A located problem found while reading YAML (line is 1-based)."""

    line: int
    message: str


class YamlReadError(Exception):
    """The file is not readable YAML (syntax, forbidden tag, duplicate key); carries every problem found."""

    def __init__(self, problems: list[YamlProblem]):
        self.problems = problems
        super().__init__("; ".join(f"line {p.line}: {p.message}" for p in problems))


@dataclass
class Comments:
    """Comments of one file: full-line blocks before a node, and end-of-line comments, by node id."""

    before: dict[int, list[str]] = field(default_factory=dict)
    eol: dict[int, str] = field(default_factory=dict)
    header: list[str] = field(default_factory=list)
    trailing: list[str] = field(default_factory=list)


def line_of(node: Node) -> int:
    """1-based line where a node starts."""
    return node.start_mark.line + 1


def compose_file(path: Path) -> tuple[Node | None, str]:
    """The node tree of a YAML file and its text; YamlReadError with the line on any problem."""
    text = Path(path).read_text(encoding="utf-8")
    return compose_text(text), text


def compose_text(text: str) -> Node | None:
    """The checked node tree of YAML text (None for an empty document); YamlReadError on any problem."""
    yaml = YAML(typ="rt", pure=True)
    try:
        node = yaml.compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        msg = " ".join(p for p in (exc.context, exc.problem) if p) or str(exc)
        raise YamlReadError([YamlProblem(line, f"YAML syntax error: {msg}")]) from None
    except YAMLError as exc:
        raise YamlReadError([YamlProblem(1, f"YAML syntax error: {exc}")]) from None
    if node is not None:
        problems = _check_nodes(node)
        if problems:
            raise YamlReadError(problems)
    return node


def _check_nodes(root: Node) -> list[YamlProblem]:
    """Refuse non-core tags and duplicate keys anywhere in the tree; drop ruamel's fold markers."""
    problems: list[YamlProblem] = []
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        tag = str(node.tag)
        if tag not in ALLOWED_TAGS:
            problems.append(YamlProblem(line_of(node), f"tag {tag.replace(CORE, '!!')!r} is not allowed in a spec"))
            continue
        if isinstance(node, ScalarNode) and node.style == ">":
            node.value = node.value.replace("\a", "")  # ruamel's fold markers, not content
        if isinstance(node, MappingNode):
            keys: dict[str, int] = {}
            for k, v in node.value:
                if isinstance(k, ScalarNode):
                    if k.value in keys:
                        problems.append(YamlProblem(line_of(k), f"duplicate key {k.value!r} (first at line {keys[k.value]})"))
                    keys.setdefault(k.value, line_of(k))
                stack.extend([k, v])
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    problems.sort(key=lambda p: p.line)
    return problems


_INT10 = re.compile(r"[-+]?[0-9]+")
_TIME = re.compile(r"(\d{4}-\d\d?-\d\d?)(?:[Tt ]|\s+)(.*)")


def scalar_value(node: ScalarNode) -> Any:
    """The Python value of a scalar under the YAML 1.2 core schema (timestamps included)."""
    tag, text = str(node.tag), node.value
    if tag == CORE + "str":
        return text
    if tag == CORE + "null":
        return None
    if tag == CORE + "bool":
        return text.lower() == "true"
    if tag == CORE + "int":
        t = text.replace("_", "")
        return int(t, 10) if _INT10.fullmatch(t) else int(t, 0)
    if tag == CORE + "float":
        low = text.lower().replace("_", "")
        if low in (".nan",):
            return math.nan
        if low.endswith(".inf"):
            return -math.inf if low.startswith("-") else math.inf
        return float(low)
    if tag == CORE + "timestamp":
        t = text.strip()
        if len(t) <= 10:
            return dt.date.fromisoformat(_pad_date(t))
        m = _TIME.fullmatch(t)
        if m:
            t = _pad_date(m.group(1)) + "T" + m.group(2).replace(" ", "")
        return dt.datetime.fromisoformat(t)
    return text


def _pad_date(d: str) -> str:
    y, m, dd = d.split("-")
    return f"{y}-{int(m):02d}-{int(dd):02d}"


def to_python(node: Node | None) -> Any:
    """Plain dict/list/scalars from a checked node tree (mapping keys as their text)."""
    if node is None:
        return None
    if isinstance(node, MappingNode):
        return {(k.value if isinstance(k, ScalarNode) else str(to_python(k))): to_python(v) for k, v in node.value}
    if isinstance(node, SequenceNode):
        return [to_python(v) for v in node.value]
    return scalar_value(node)


def map_get(node: Node | None, key: str) -> tuple[ScalarNode | None, Node | None]:
    """(key node, value node) of `key` in a mapping node, or (None, None)."""
    if isinstance(node, MappingNode):
        for k, v in node.value:
            if isinstance(k, ScalarNode) and k.value == key:
                return k, v
    return None, None


def extract_comments(root: Node | None, text: str) -> Comments:
    """Attach each comment line to a node: full-line comments to the next node, `# ...` at a line's end to
    the last node ending on that line. Lines inside multi-line scalars are content, not comments."""
    out = Comments()
    lines = text.splitlines()
    if root is None:
        out.trailing = [ln.strip() for ln in lines if ln.strip().startswith("#")]
        return out
    starts: dict[int, int] = {}          # line index -> id of first node starting there (keys and items)
    ends: dict[int, tuple[int, int]] = {}  # line index -> (end column, node id) of the last inline node ending there
    content: set[int] = set()
    _walk_positions(root, starts, ends, content)
    pending: list[str] = []
    seen_content = False
    for i, raw in enumerate(lines):
        stripped = raw.strip()
        if i in content:
            continue
        if stripped.startswith("#") and i not in ends and i not in starts:
            pending.append(stripped)
            continue
        if i in starts and pending and not seen_content:
            out.header, pending = pending, []
        if i in starts:
            seen_content = True
        if i in starts and pending:
            out.before.setdefault(starts[i], []).extend(pending)
            pending = []
        if i in ends:
            col, nid = ends[i]
            m = re.match(r"[\s:,\-\[\]{}]*?\s(#.*)$", raw[col:])  # YAML: a comment follows whitespace
            if m:
                out.eol[nid] = m.group(1).rstrip()
    out.trailing = pending
    return out


def _walk_positions(root: Node, starts: dict[int, int], ends: dict[int, tuple[int, int]], content: set[int]) -> None:
    """Record where entries start (mapping keys, sequence items) and where inline nodes end."""

    def note_end(node: Node, owner: int) -> None:
        line, col = node.end_mark.line, node.end_mark.column
        if isinstance(node, ScalarNode) and node.style in ("|", ">"):
            return
        prev = ends.get(line)
        if prev is None or col >= prev[0]:
            ends[line] = (col, owner)

    def visit(node: Node) -> None:
        if isinstance(node, ScalarNode):
            if node.end_mark.line > node.start_mark.line:
                last = node.end_mark.line - (1 if node.end_mark.column == 0 else 0)
                content.update(range(node.start_mark.line + 1, last + 1))
            return
        flow = getattr(node, "flow_style", False)
        if isinstance(node, MappingNode):
            for k, v in node.value:
                starts.setdefault(k.start_mark.line, id(k))
                note_end(k, id(k))
                if isinstance(v, ScalarNode) or getattr(v, "flow_style", False):
                    note_end(v, id(k))
                visit(v)
        elif isinstance(node, SequenceNode):
            for item in node.value:
                starts.setdefault(item.start_mark.line, id(item))
                if isinstance(item, ScalarNode) or getattr(item, "flow_style", False):
                    note_end(item, id(item))
                visit(item)
        if flow:
            note_end(node, id(node))

    visit(root)
