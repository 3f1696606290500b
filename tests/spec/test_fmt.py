"""`spec fmt`: one canonical form, idempotent, comments kept with their keys, nothing written by --check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studyforge.spec.fmt import FormatError, format_spec_dir, format_text, spec_files
from studyforge.spec.loader import load_spec
from studyforge.spec.models import CommentFile, Dataset
from studyforge.spec.yamlio import compose_text, to_python
from tests.spec.helpers import EXAMPLE, copy_example

SCRAMBLED_DM = """\
# Demographics, hand-scrambled.
variables:
    -   type: Char   # always Char
        # the label comes from SDTMIG 3.4
        label: Study Identifier
        name: STUDYID
        origin: {type: Protocol}
        core: Req
    -   name: AGE
        origin:
            type: Derived
        derivation:
            params:
                ref: RFICDTC
                birth: BRTHDTC
            rule: age_years
        type: Num
        label: 'Age'
        length: 8
keys:
  - STUDYID
purpose: Tabulation
name: DM
label: "Demographics"
class: SPECIAL PURPOSE
structure: One record per subject
standard: SDTMIG 3.4
repeating: false
# trailing note
"""

CANONICAL_DM = """\
# Demographics, hand-scrambled.
name: DM
label: Demographics
class: SPECIAL PURPOSE
structure: One record per subject
purpose: Tabulation
standard: SDTMIG 3.4
keys: [STUDYID]
repeating: false
variables:
  - name: STUDYID
    # the label comes from SDTMIG 3.4
    label: Study Identifier
    type: Char  # always Char
    core: Req
    origin: {type: Protocol}
  - name: AGE
    label: Age
    type: Num
    length: 8
    origin: {type: Derived}
    derivation: {rule: age_years, params: {ref: RFICDTC, birth: BRTHDTC}}
# trailing note
"""

# The same file as an SDTM dataset: what SDTMIG 3.4 gives is dropped (DM label, class, structure; the folder's
# purpose; the IG; STUDYID core Req; AGE label Age and type Num), except where a comment is attached.
SLIM_DM = """\
# Demographics, hand-scrambled.
name: DM
keys: [STUDYID]
repeating: false
variables:
  - name: STUDYID
    # the label comes from SDTMIG 3.4
    label: Study Identifier
    type: Char  # always Char
    origin: {type: Protocol}
  - name: AGE
    length: 8
    origin: {type: Derived}
    derivation: {rule: age_years, params: {ref: RFICDTC, birth: BRTHDTC}}
# trailing note
"""


def test_scrambled_file_gets_the_hand_written_canonical_form() -> None:
    # Rule (fmt docstring): model key order, 2-space indent, datasets/variables in block style, lists, free
    # mappings and small objects (origin, derivation) in flow style, params keys as written, comments stay.
    assert format_text(SCRAMBLED_DM, Dataset) == CANONICAL_DM
    assert format_text(CANONICAL_DM, Dataset) == CANONICAL_DM


def test_dataset_file_drops_what_it_inherits_and_is_idempotent() -> None:
    assert format_text(SCRAMBLED_DM, Dataset, "Tabulation") == SLIM_DM
    assert format_text(SLIM_DM, Dataset, "Tabulation") == SLIM_DM


def canonical_example(tmp_path: Path) -> Path:
    """A copy of the example in canonical form (the example itself writes every label out, as a user may)."""
    spec = copy_example(tmp_path)
    format_spec_dir(spec)
    return spec


def test_example_spec_formats_to_a_fixed_point_that_loads_the_same(tmp_path: Path) -> None:
    spec = copy_example(tmp_path)
    assert len(format_spec_dir(spec)) == 6              # methods.yaml was canonical
    assert format_spec_dir(spec, write=False) == []
    for path, model, purpose in spec_files(spec):
        text = path.read_text(encoding="utf-8")
        assert format_text(text, model, purpose) == text, path.name
    assert load_spec(spec) == load_spec(EXAMPLE)         # round trip: load(fmt(spec)) == load(spec)
    dm = (spec / "sdtm" / "DM.yaml").read_text()
    assert "label: Age\n" not in dm and "type: Char\n" not in dm and "class:" not in dm


def _strip_known_comments(text: str) -> str:
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    return "\n".join(ln.split("  # ")[0] for ln in lines) + "\n"


def _reverse(obj, keep: bool = False):
    """Every mapping's keys reversed, except rule params, whose written order fmt keeps by design."""
    if isinstance(obj, dict):
        keys = list(obj) if keep else list(reversed(list(obj)))
        return {k: _reverse(obj[k], keep or k == "params") for k in keys}
    if isinstance(obj, list):
        return [_reverse(x, keep) for x in obj]
    return obj.isoformat() if hasattr(obj, "isoformat") else obj


def test_example_rewritten_as_reversed_json_formats_back_to_the_example(tmp_path: Path) -> None:
    """JSON is YAML: every file as JSON with every mapping's keys reversed must format back to the example
    (comments aside), so the canonical form does not depend on how a file was written."""
    canonical = canonical_example(tmp_path / "canonical")
    spec = copy_example(tmp_path)
    for path, _model, _purpose in spec_files(spec):
        data = _reverse(to_python(compose_text(path.read_text())))
        path.write_text(json.dumps(data, indent=4))
    changed = format_spec_dir(spec)
    assert len(changed) == 7
    for path, model, purpose in spec_files(spec):
        original = format_text(_strip_known_comments((canonical / path.relative_to(spec)).read_text()), model, purpose)
        got = path.read_text()
        if "xpt_created" in got:   # JSON had to carry the timestamp as a string
            got = got.replace('xpt_created: "2024-01-15T00:00:00"', "xpt_created: 2024-01-15T00:00:00")
        assert got == original, path.name
    assert format_spec_dir(spec) == []                 # idempotent: a second run changes nothing


def test_comments_survive_reordering_and_a_second_run(tmp_path: Path) -> None:
    spec = canonical_example(tmp_path)
    dm = spec / "sdtm" / "DM.yaml"
    text = dm.read_text()
    block = ("  - name: AGE\n    data_type: integer\n    length: 8\n    origin: {type: Derived}\n"
             "    derivation: {rule: age, params: {birth: BRTHDAT, ref: RFICDTC}}\n    method: MT.AGE\n")
    assert block in text
    scrambled = ("  - method: MT.AGE  # see methods.yaml\n    derivation:\n      params:\n        birth: BRTHDAT\n"
                 "        ref: RFICDTC  # consent, per SAP\n      rule: age\n"
                 "    core: Exp\n    # AGE is derived, never collected\n"
                 "    origin:\n      type: Derived\n    role: Record Qualifier  # as the IG\n    length: 8\n"
                 "    data_type: integer\n    type: Num\n    label: Age\n    name: AGE\n")
    dm.write_text(text.replace(block, scrambled))
    assert format_spec_dir(spec) == [str(dm)]
    # core, type and label equal SDTMIG 3.4 and go; role stays with its comment; commented objects stay in block
    expected = ("  - name: AGE\n    data_type: integer\n    length: 8\n    role: Record Qualifier  # as the IG\n"
                "    # AGE is derived, never collected\n    origin: {type: Derived}\n"
                "    derivation:\n      rule: age\n      params:\n        birth: BRTHDAT\n"
                "        ref: RFICDTC  # consent, per SAP\n    method: MT.AGE  # see methods.yaml\n")
    once = dm.read_text()
    assert once == text.replace(block, expected)
    assert format_spec_dir(spec) == [] and dm.read_text() == once


def test_comment_inside_a_flow_list_keeps_the_list_in_block_style() -> None:
    src = ("name: DM\nkeys: [\n  STUDYID,  # study\n  USUBJID\n]  # end\nlabel: Demographics   # IG label\n"
           "variables:\n  - name: STUDYID\n    label: x\n    type: Char\n    origin: {type: Protocol}   # p\n")
    assert format_text(src, Dataset) == (
        "name: DM\nlabel: Demographics  # IG label\nkeys:  # end\n  - STUDYID  # study\n  - USUBJID\n"
        "variables:\n  - name: STUDYID\n    label: x\n    type: Char\n    origin: {type: Protocol}  # p\n")


def test_text_with_hash_is_quoted_and_kept() -> None:
    src = "comments:\n  - id: A\n    text: 'Visit #1 only'  # sic\n"
    assert format_text(src, CommentFile) == 'comments:\n  - id: A\n    text: "Visit #1 only"  # sic\n'


def test_check_mode_lists_files_and_writes_nothing(tmp_path: Path) -> None:
    spec = canonical_example(tmp_path)
    ae = spec / "sdtm" / "AE.yaml"
    before = ae.read_bytes().replace(b"keys: [STUDYID, USUBJID, AEDECOD, AESTDTC]",
                                     b"keys:\n    - STUDYID\n    - USUBJID\n    - AEDECOD\n    - AESTDTC")
    ae.write_bytes(before)
    assert format_spec_dir(spec, write=False) == [str(ae)]
    assert ae.read_bytes() == before


def test_unreadable_file_is_reported_with_line(tmp_path: Path) -> None:
    spec = copy_example(tmp_path)
    (spec / "comments.yaml").write_text("comments:\n  - id: X\n    text: [oops\n")
    with pytest.raises(FormatError) as info:
        format_spec_dir(spec)
    assert len(info.value.messages) == 1
    assert info.value.messages[0].startswith(f"{spec / 'comments.yaml'}:4: ERROR YAML syntax error")


def test_strings_needing_quotes_and_blocks() -> None:
    src = ('comments:\n'
           '  - id: A\n    text: \'no\'\n'
           '  - id: B\n    text: "key: value # not a comment"\n'
           '  - id: C\n    text: "line one\\nline two\\n"\n'
           '  - id: D\n    text: \'2024-01-01\'\n'
           '  - id: E\n    text: "  padded"\n')
    out = format_text(src, CommentFile)
    assert out == ('comments:\n'
                   '  - id: A\n    text: "no"\n'
                   '  - id: B\n    text: "key: value # not a comment"\n'
                   '  - id: C\n    text: |\n      line one\n      line two\n'
                   '  - id: D\n    text: "2024-01-01"\n'
                   '  - id: E\n    text: "  padded"\n')
    assert to_python(compose_text(out)) == to_python(compose_text(src))


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufeff"),
                              min_size=1, max_size=150), min_size=1, max_size=4))
def test_any_text_round_trips_and_formatting_is_idempotent(texts: list[str]) -> None:
    """Property: whatever the text, the formatted file reads back to the same values and is a fixed point."""
    src = json.dumps({"comments": [{"text": t, "id": f"C{i}"} for i, t in enumerate(texts)]})
    out = format_text(src, CommentFile)
    # compared with what YAML reads from the source (ruamel reads a JSON surrogate-pair escape as two code units)
    assert to_python(compose_text(out)) == to_python(compose_text(src))
    assert format_text(out, CommentFile) == out


LABELS = st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=40)


@settings(max_examples=100, deadline=None)
@given(label=LABELS, var_label=LABELS, length=st.integers(1, 200), keys=st.permutations(["A", "B", "C"]))
def test_formatted_dataset_loads_to_the_same_model(label: str, var_label: str, length: int, keys: list[str]) -> None:
    """Property: fmt never changes what the loader builds from a dataset file (labels of any printable ASCII)."""
    data = {"variables": [{"origin": {"type": "Derived"}, "length": length, "type": "Char", "label": var_label,
                           "name": n} for n in keys],
            "keys": keys[:2], "standard": "SDTMIG 3.4", "purpose": "Tabulation", "structure": "x",
            "class": "EVENTS", "label": label, "name": "XX"}
    src = json.dumps(data)
    out = format_text(src, Dataset)
    assert Dataset.model_validate(to_python(compose_text(out))) == Dataset.model_validate(data)
    assert out.startswith("name: XX\nlabel: ")
