"""Package manifest: deterministic, complete, and it notices a changed file."""

from __future__ import annotations

import json
import os

from studyforge.manifest import MANIFEST_NAME, verify_manifest, write_manifest

ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"   # FIPS 180-2 example "abc"


def _package(root):
    (root / "m5" / "sdtm").mkdir(parents=True)
    (root / "m5" / "sdtm" / "dm.xpt").write_bytes(b"abc")
    (root / "m5" / "sdtm" / "define.xml").write_bytes(b"<ODM/>")
    (root / "json").mkdir()
    (root / "json" / "dm.json").write_bytes(b"{}")
    return root


def test_manifest_golden_and_sorted(tmp_path):
    root = _package(tmp_path / "pkg")
    path = write_manifest(root)
    assert path == root / MANIFEST_NAME
    doc = json.loads(path.read_text())
    assert [e["path"] for e in doc["files"]] == ["json/dm.json", "m5/sdtm/define.xml", "m5/sdtm/dm.xpt"]
    dm = doc["files"][2]
    assert (dm["size"], dm["sha256"]) == (3, ABC_SHA256)
    # rewriting includes no entry for the manifest itself
    write_manifest(root)
    assert MANIFEST_NAME not in [e["path"] for e in json.loads(path.read_text())["files"]]


def test_two_builds_identical_bytes(tmp_path):
    a = write_manifest(_package(tmp_path / "a")).read_bytes()
    root_b = _package(tmp_path / "b")
    os.utime(root_b / "json" / "dm.json", (0, 0))                 # timestamps do not matter
    b = write_manifest(root_b).read_bytes()
    assert a == b


def test_changed_file_changes_hash(tmp_path):
    root = _package(tmp_path / "pkg")
    before = {e["path"]: e["sha256"] for e in json.loads(write_manifest(root).read_text())["files"]}
    assert verify_manifest(root) == []
    (root / "m5" / "sdtm" / "dm.xpt").write_bytes(b"abd")
    (root / "extra.txt").write_text("x")
    (root / "json" / "dm.json").unlink()
    problems = verify_manifest(root)
    assert problems[0] == "missing: json/dm.json" and problems[1] == "not in manifest: extra.txt"
    assert problems[2].startswith("changed: m5/sdtm/dm.xpt")
    after = {e["path"]: e["sha256"] for e in json.loads(write_manifest(root).read_text())["files"]}
    assert after["m5/sdtm/dm.xpt"] != before["m5/sdtm/dm.xpt"]
    assert after["m5/sdtm/define.xml"] == before["m5/sdtm/define.xml"]


def test_unlisted_files_are_named_and_ignored_by_verify(tmp_path):
    import json

    from studyforge.manifest import verify_manifest, write_manifest

    (tmp_path / "report").mkdir()
    (tmp_path / "dm.xpt").write_bytes(b"x" * 80)
    (tmp_path / "report" / "index.html").write_text("built in 1.2 s")
    doc = json.loads(write_manifest(tmp_path, unlisted=("report/index.html",)).read_text())
    assert [e["path"] for e in doc["files"]] == ["dm.xpt"]
    assert doc["unlisted"] == ["report/index.html"]
    (tmp_path / "report" / "index.html").write_text("built in 3.4 s")   # timings change: still verified
    assert verify_manifest(tmp_path) == []
    (tmp_path / "dm.xpt").write_bytes(b"y" * 80)
    assert verify_manifest(tmp_path) == ["changed: dm.xpt (sha256 " + doc["files"][0]["sha256"][:12] + "... -> "
                                         + __import__("hashlib").sha256(b"y" * 80).hexdigest()[:12] + "...)"]
