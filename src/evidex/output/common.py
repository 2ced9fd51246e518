"""Helpers shared by the writers: field paths, nested values, JSON-safe values, evidence and provenance."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from enum import Enum
from typing import Any, TypeAlias

from evidex.model import Anchor, Document, Extraction, Grounding, Result, Span

Record: TypeAlias = tuple[Document | None, Result]
"""What the writers consume: the parsed document (``None`` when parsing failed) and its result."""

PathToken: TypeAlias = str | int

_SEGMENT = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")
_INDEX = re.compile(r"\[(\d+)\]")
_MAX_DEPTH = 64


def parse_path(path: str) -> list[PathToken] | None:
    """``line_items[2].amount`` → ``["line_items", 2, "amount"]``; ``None`` if the path is malformed."""
    out: list[PathToken] = []
    for seg in path.split("."):
        m = _SEGMENT.fullmatch(seg)
        if m is None:
            return None
        out.append(m.group(1))
        out.extend(int(i) for i in _INDEX.findall(m.group(2)))
    return out


def column_of(path: str) -> str:
    """The table column for a field path: indices dropped (``line_items[2].amount`` → ``line_items.amount``)."""
    return _INDEX.sub("", path)


def is_grounded(e: Extraction) -> bool:
    return e.grounding is not Grounding.UNGROUNDED


# ---------------------------------------------------------------- nested values
def nest_values(extractions: Iterable[Extraction], *, include_ungrounded: bool = False) -> dict[str, Any]:
    """Grounded values nested by field path (``line_items`` becomes a list of records).

    A path that occurs several times collects its values in a list (as :meth:`Result.values` does);
    list positions without any value are ``None``. A path that conflicts with another (``a`` and ``a.b``)
    is kept flat under its full path rather than dropped.
    """
    grouped: dict[str, list[Any]] = {}
    for e in extractions:
        if include_ungrounded or is_grounded(e):
            grouped.setdefault(e.path, []).append(json_safe(e.value))
    root: dict[str, Any] = {}
    for path, vals in grouped.items():
        value = vals[0] if len(vals) == 1 else vals
        tokens = parse_path(path)
        if tokens is None or not _insert(root, tokens, value):
            root[path] = value
    return root


def _new_container(nxt: PathToken) -> dict[str, Any] | list[Any]:
    return {} if isinstance(nxt, str) else []


def _insert(root: dict[str, Any], tokens: list[PathToken], value: Any) -> bool:
    cur: Any = root
    for i, tok in enumerate(tokens):
        last = i == len(tokens) - 1
        if isinstance(tok, str):
            if not isinstance(cur, dict):
                return False
            if last:
                if tok in cur:
                    return False
                cur[tok] = value
                return True
            if tok not in cur:
                cur[tok] = _new_container(tokens[i + 1])
            cur = cur[tok]
        else:
            if not isinstance(cur, list) or tok > 100_000:
                return False
            if len(cur) <= tok:
                cur.extend([None] * (tok + 1 - len(cur)))
            if last:
                if cur[tok] is not None:
                    return False
                cur[tok] = value
                return True
            if cur[tok] is None:
                cur[tok] = _new_container(tokens[i + 1])
            cur = cur[tok]
    return False


# ---------------------------------------------------------------- JSON-safe values
def json_safe(v: Any, _depth: int = 0) -> Any:
    """Typed values → plain JSON: ``Decimal`` as string (exact), dates ISO, enums by value, NaN/inf → ``None``."""
    if v is None or isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, Enum):
        return json_safe(v.value, _depth + 1)
    if isinstance(v, _dt.date | _dt.time):
        return v.isoformat()
    if _depth >= _MAX_DEPTH:
        return repr(v)
    if isinstance(v, Mapping):
        return {str(k): json_safe(x, _depth + 1) for k, x in v.items()}
    if isinstance(v, list | tuple | set | frozenset):
        items = sorted(v, key=repr) if isinstance(v, set | frozenset) else v
        return [json_safe(x, _depth + 1) for x in items]
    if isinstance(v, Span):
        return [v.start, v.end]
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: json_safe(getattr(v, f.name), _depth + 1) for f in dataclasses.fields(v)}
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def display_value(v: Any) -> str:
    """A short human rendering of a typed value (money as ``12.50 EUR``)."""
    import json

    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Mapping) and set(v) == {"amount", "currency"}:
        return f"{json_safe(v['amount'])} {json_safe(v['currency'])}"
    safe = json_safe(v)
    if isinstance(safe, str):
        return safe
    return json.dumps(safe, ensure_ascii=False)


# ---------------------------------------------------------------- evidence and provenance
def quote(doc: Document | None, span: Span) -> str | None:
    """The evidence text ``doc.text[s:e]`` (``None`` without a document or for an out-of-range span)."""
    if doc is None or span.end > len(doc.text):
        return None
    return doc.text[span.start : span.end]


def _prov_key(a: Anchor) -> tuple[Any, ...]:
    p = a.prov
    return (p.page, p.dom_path, p.sheet_cell, p.mime_part, p.part, p.line, p.bbox.origin if p.bbox else None)


class Locator:
    """Provenance of spans of one document (``doc`` may be ``None`` for failed documents); out-of-range
    spans locate nowhere instead of raising."""

    def __init__(self, doc: Document | None) -> None:
        self.doc = doc
        self.n_text = len(doc.text) if doc is not None else -1

    def valid(self, span: Span) -> bool:
        return span.end <= self.n_text

    def quote(self, span: Span) -> str | None:
        return quote(self.doc, span)

    def locate(self, span: Span) -> list[Anchor]:
        if self.doc is None or not self.valid(span):
            return []
        return self.doc.locate(span)

    def provenance(self, span: Span) -> list[dict[str, Any]]:
        """Where ``span`` came from. Consecutive anchors that differ only in their box are merged into one
        entry with a ``bboxes`` list (a phrase of twenty PDF words is one entry with twenty boxes)."""
        out: list[dict[str, Any]] = []
        last_key: tuple[Any, ...] | None = None
        for a in self.locate(span):
            key = _prov_key(a)
            if out and key == last_key:
                entry = out[-1]
                entry["end"] = a.span.end
            else:
                p = a.prov
                entry = {"start": a.span.start, "end": a.span.end}
                for name in ("page", "sheet_cell", "dom_path", "mime_part", "part", "line"):
                    val = getattr(p, name)
                    if val is not None:
                        entry[name] = val
                if p.bbox is not None:
                    entry["bboxes"] = []
                    entry["origin"] = p.bbox.origin.value
                out.append(entry)
                last_key = key
            if a.prov.bbox is not None:
                entry["bboxes"].append(a.prov.bbox.to_list())
        return out

    def pages(self, span: Span) -> list[int]:
        """Page numbers of ``span`` (from its provenance, else from the document's pages), sorted, unique."""
        doc = self.doc
        if doc is None or not self.valid(span):
            return []
        found = {a.prov.page for a in self.locate(span) if a.prov.page is not None}
        if not found and doc.pages:
            found.update(doc.pages_of(span))
        return sorted(found)


def error_info(result: Result) -> dict[str, Any] | None:
    """The per-document error as a plain dict (``code``, ``reason``, ``message``, ``hint`` …)."""
    if result.error is None:
        return None
    safe = json_safe(result.error)
    return safe if isinstance(safe, dict) else {"message": str(safe)}
