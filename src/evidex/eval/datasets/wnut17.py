"""WNUT-17 emerging entities: CoNLL ``token<TAB>BIO-tag`` lines, sentences separated by blank (or TAB-only) lines.

There are no original offsets or whitespace, so each sentence becomes one document whose text is its tokens
joined by single spaces (written to the dataset cache as ``<split>-<n>.txt``); gold entities are character
spans into that text (verbatim by construction). Entity types are the dataset's tags (``creative-work``…).
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from evidex.errors import MalformedError, UsageError
from evidex.eval.datasets.base import (
    GoldDoc,
    GoldSet,
    GoldSpan,
    dataset_cache,
    freeze_fields,
    require,
    write_if_changed,
)
from evidex.eval.datasets.schemas import builtin_schema
from evidex.eval.metrics import bio_to_spans

FILES = {"train": "wnut17train.conll", "dev": "emerging.dev.conll", "test": "emerging.test.annotated"}


def read_conll(path: Path) -> list[tuple[list[str], list[str]]]:
    sents: list[tuple[list[str], list[str]]] = []
    toks: list[str] = []
    tags: list[str] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if not line.strip():
            if toks:
                sents.append((toks, tags))
                toks, tags = [], []
            continue
        parts = line.rstrip("\r").split("\t")
        if len(parts) != 2:
            raise MalformedError(f"line {n}: expected 'token<TAB>tag'", path=str(path))
        toks.append(parts[0])
        tags.append(parts[1].strip())
    if toks:
        sents.append((toks, tags))
    return sents


def sentence_doc(doc_id: str, tokens: list[str], tags: list[str]) -> tuple[str, list[GoldSpan]]:
    """Text = tokens joined by spaces; token spans → character spans."""
    starts: list[int] = []
    pos = 0
    for t in tokens:
        starts.append(pos)
        pos += len(t) + 1
    text = " ".join(tokens)
    spans = []
    for s in bio_to_spans(tags):
        a, b = starts[s.start], starts[s.end - 1] + len(tokens[s.end - 1])
        spans.append(GoldSpan(s.label, a, b, text[a:b]))
    return text, spans


def load_wnut17(
    root: Path | str, split: str = "dev", limit: int | None = None, *, cache_dir: Path | None = None
) -> GoldSet:
    if split not in FILES:
        raise UsageError(f"unknown WNUT-17 split {split!r}", hint=f"use one of: {', '.join(FILES)}")
    path = require(Path(root) / FILES[split], f"WNUT-17 {split} file")
    sents = read_conll(path)
    if limit is not None:
        sents = sents[:limit]
    cache = dataset_cache("wnut17", split, cache_dir)
    docs: list[GoldDoc] = []
    for i, (toks, tags) in enumerate(sents):
        doc_id = f"{split}-{i:05d}"
        text, spans = sentence_doc(doc_id, toks, tags)
        target = cache / f"{doc_id}.txt"
        write_if_changed(target, text)
        fields: dict[str, list[str]] = {}
        for s in spans:
            fields.setdefault(s.label, []).append(s.text)
        docs.append(
            GoldDoc(doc_id, target, text, freeze_fields(fields), tuple(spans), MappingProxyType({"tokens": len(toks)}))
        )
    return GoldSet("wnut17", split, "wnut17", builtin_schema("wnut17"), tuple(docs), (f"sentences written to {cache}",))
