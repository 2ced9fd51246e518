"""Generic JSONL gold for your own documents.

One JSON object per line::

    {"id": "inv-001", "path": "docs/inv-001.pdf", "fields": {"total": "1,250.00", "items": ["a", "b"]}}
    {"id": "note-7", "text": "Call Ann Lee at ACME.", "spans": [{"label": "PERSON", "start": 8, "end": 15}]}

* ``id`` (required, unique) — matched against a prediction's ``doc_id``, its ``source`` path, file name or stem.
* ``path`` (relative to the JSONL file) or ``text`` — the document; a ``text``-only document is written to the
  dataset cache when it is needed as a file (:meth:`GoldSet.paths`).
* ``fields`` — ``{name: value | [values] | null}``; names are schema leaf paths without list indices
  (``line_items.amount``). ``null`` / ``[]`` means "no value expected".
* ``spans`` (optional) — ``[{"label", "start", "end", "text"?}]`` character offsets into ``text``
  (or into the parsed document's canonical text), compared with predicted ``entities``.

Blank lines and lines starting with ``#`` are skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

from evidex.errors import MalformedError
from evidex.eval.datasets.base import GoldDoc, GoldSet, GoldSpan, as_values, freeze_fields, require
from evidex.model.schema import Schema


def _doc(d: Any, n: int, src: Path) -> GoldDoc:
    where = f"line {n}"
    if not isinstance(d, dict):
        raise MalformedError(f"{where}: expected a JSON object", path=str(src))
    if "id" not in d or not str(d["id"]):
        raise MalformedError(f"{where}: missing 'id'", path=str(src))
    path = text = None
    if d.get("path") is not None:
        path = Path(str(d["path"]))
        path = path if path.is_absolute() else (src.parent / path)
    if d.get("text") is not None:
        text = str(d["text"])
    if path is None and text is None:
        raise MalformedError(f"{where}: needs 'path' or 'text'", path=str(src))
    fields = d.get("fields") or {}
    if not isinstance(fields, dict):
        raise MalformedError(f"{where}: 'fields' must be an object", path=str(src))
    spans: list[GoldSpan] = []
    for k, s in enumerate(d.get("spans") or ()):
        try:
            start, end = int(s["start"]), int(s["end"])
            label = str(s["label"])
        except (KeyError, TypeError, ValueError):
            raise MalformedError(f"{where}: spans[{k}] needs 'label', 'start', 'end'", path=str(src)) from None
        if not 0 <= start <= end or (text is not None and end > len(text)):
            raise MalformedError(f"{where}: spans[{k}] [{start}, {end}) is out of range", path=str(src))
        spans.append(GoldSpan(label, start, end, str(s.get("text", text[start:end] if text is not None else ""))))
    return GoldDoc(
        id=str(d["id"]),
        path=path,
        text=text,
        fields=freeze_fields({str(k): as_values(v) for k, v in fields.items()}),
        spans=tuple(spans),
        meta=MappingProxyType({k: v for k, v in d.items() if k not in {"id", "path", "text", "fields", "spans"}}),
    )


def infer_schema(docs: tuple[GoldDoc, ...], name: str) -> Schema:
    """String fields named after the gold fields (``many`` if any document has several values)."""
    many: dict[str, bool] = {}
    for d in docs:
        for k, v in d.fields.items():
            many[k] = many.get(k, False) or len(v) > 1
    labels = sorted({s.label for d in docs for s in d.spans})
    spec: dict[str, Any] = {"name": name}
    if many:
        spec["fields"] = {k.replace(".", "_"): {"type": "string", "many": m} for k, m in sorted(many.items())}
    if labels:
        spec["entities"] = labels
    if len(spec) == 1:
        spec["fields"] = {"value": "string"}
    return Schema.from_dict(spec)


def load_jsonl_gold(path: Path | str, *, schema: Schema | None = None, name: str | None = None) -> GoldSet:
    src = require(Path(path), "gold JSONL file")
    docs: list[GoldDoc] = []
    seen: set[str] = set()
    for n, line in enumerate(src.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError as e:
            raise MalformedError(f"line {n}: invalid JSON ({e.msg})", path=str(src)) from None
        doc = _doc(d, n, src)
        if doc.id in seen:
            raise MalformedError(f"line {n}: duplicate id {doc.id!r}", path=str(src))
        seen.add(doc.id)
        docs.append(doc)
    if not docs:
        raise MalformedError("no gold documents", path=str(src))
    nm = name or src.stem
    has_spans = any(d.spans for d in docs)
    has_fields = any(d.fields for d in docs)
    metric = "spans" if has_spans and not has_fields else "field"
    return GoldSet(nm, "gold", metric, schema or infer_schema(tuple(docs), nm), tuple(docs))
