"""Checks on real documents nobody here wrote (see docs/realworld.md).

The corpus is collected by ``bench/realworld/collect.py`` into ``~/.cache/evidex/realworld`` (or the folder
named by ``EVIDEX_REALWORLD``); without it every test here is skipped with a message saying how to collect it.
The expectations are hand-written in ``tests/realworld_expect.yaml``.
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from evidex.model import Document, Layer, NodeKind, Schema
from oracle import check_document

ROOT = Path(os.environ.get("EVIDEX_REALWORLD") or Path.home() / ".cache" / "evidex" / "realworld")
EXPECT: dict[str, dict[str, Any]] = yaml.safe_load((Path(__file__).parent / "realworld_expect.yaml").read_text("utf-8"))
SCHEMA = Schema.from_dict({"fields": {
    "title": {"type": "string", "description": "the document's title"},
    "author": {"type": "string", "description": "who wrote the document"},
    "date": {"type": "date", "description": "when the document was written"},
}})
_WS = re.compile(r"\s+")


def _norm(s: str) -> str:
    return _WS.sub(" ", s).strip()


def _path(name: str) -> Path:
    p = ROOT / name
    if not p.exists():
        pytest.skip(f"real-world corpus not found at {ROOT} ({name} missing): run "
                    "`.venv/bin/python bench/realworld/collect.py` or set EVIDEX_REALWORLD to its folder")
    return p


@functools.lru_cache(maxsize=4)
def _doc(name: str) -> Document:
    from evidex.parse import parse_file

    doc = parse_file(_path(name))
    check_document(doc)
    return doc


def _cases(kind: str) -> list[Any]:
    out = []
    for name, spec in EXPECT.items():
        for item in spec.get(kind) or []:
            value, reason = (item["text"], item.get("xfail")) if isinstance(item, dict) else (item, None)
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            label = value if isinstance(value, str) else "|".join(value)
            out.append(pytest.param(name, value, marks=marks, id=f"{name}:{label[:40]}"))
    return out


def test_manifest_records_package_version_licence_and_hash() -> None:
    import hashlib

    manifest = _path("manifest.json")
    files = json.loads(manifest.read_text("utf-8"))["files"]
    assert {f["name"] for f in files} >= set(EXPECT), "every file with expectations is in the manifest"
    for f in files:
        assert f["package"] and f["version"] and f["licence"] and f["origin"], f
        assert hashlib.sha256((ROOT / f["name"]).read_bytes()).hexdigest() == f["sha256"], f["name"]


@pytest.mark.parametrize(("name", "sentence"), _cases("contiguous"))
def test_sentence_is_contiguous(name: str, sentence: str) -> None:
    assert _norm(sentence) in _norm(_doc(name).text)


@pytest.mark.parametrize(("name", "word"), _cases("words"))
def test_word_is_whole(name: str, word: str) -> None:
    text = _doc(name).text
    assert re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text), f"{word!r} never appears whole"
    splits = [rf"(?<!\w){re.escape(word[:i])}[ \n\u00ad-]+\n?{re.escape(word[i:])}(?!\w)" for i in range(1, len(word))]
    found = [m.group() for rx in splits for m in re.finditer(rx, text)]
    assert not found, f"{word!r} split {len(found)} times, e.g. {found[:3]}"


@pytest.mark.parametrize(("name", "heading"), _cases("headings"))
def test_heading_is_found(name: str, heading: str) -> None:
    doc = _doc(name)
    texts = {_norm(doc.node_text(n)) for n in doc.nodes if n.kind in (NodeKind.HEADING, NodeKind.TITLE)}
    assert _norm(heading) in texts


@pytest.mark.parametrize(("name", "header"), _cases("tables"))
def test_table_header_is_found(name: str, header: list[str]) -> None:
    doc = _doc(name)
    firsts = []
    for t in doc.iter_nodes(NodeKind.TABLE):
        rows = [doc.nodes[r] for r in t.children if doc.nodes[r].kind is NodeKind.ROW]
        if rows:
            firsts.append([_norm(doc.node_text(c)) for c in rows[0].children])
    assert [_norm(h) for h in header] in firsts, firsts[:5]


def _on_layer(layer: Layer) -> Any:
    def check(name: str, text: str) -> None:
        doc = _doc(name)
        want = _norm(text)
        assert any(want in _norm(doc.node_text(n)) for n in doc.nodes if n.layer is layer), \
            f"{text!r} is not on the {layer.value} layer"
    return check


@pytest.mark.parametrize(("name", "text"), _cases("furniture"))
def test_text_is_furniture(name: str, text: str) -> None:
    _on_layer(Layer.FURNITURE)(name, text)


@pytest.mark.parametrize(("name", "text"), _cases("hidden"))
def test_text_is_hidden(name: str, text: str) -> None:
    _on_layer(Layer.HIDDEN)(name, text)


@pytest.mark.parametrize(("name", "text"), _cases("metadata"))
def test_text_is_metadata(name: str, text: str) -> None:
    _on_layer(Layer.METADATA)(name, text)


@pytest.mark.parametrize("name", [n for n, s in EXPECT.items() if s.get("extract")])
def test_title_author_date_in_rules_mode(name: str) -> None:
    from evidex.extract import ExtractOptions
    from evidex.pipeline import Pipeline
    from oracle import check_result

    path = _path(name)
    ((_, doc, result),) = list(Pipeline.create(SCHEMA, None, options=ExtractOptions(mode="rules")).run([path]))
    assert doc is not None and result.error is None, result.error
    check_result(result, doc)
    values = result.values()
    want = EXPECT[name]["extract"]
    assert {k: _norm(str(values.get(k))) for k in want} == {k: _norm(str(v)) for k, v in want.items()}
