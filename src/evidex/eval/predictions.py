"""Prediction records (evidex JSONL output) → per-document values, and matching them to gold documents.

A record is one JSON object per document::

    {"doc_id", "source", "values": {path: value | [values]},
     "extractions": [{"path", "value", "grounding", "confidence", "evidence": [{"start", "end", "text"}]}],
     "entities": [{"type", "start", "end", "text", "confidence"}], "usage": {...}, "error": {...} | null}

Predicted values come from ``values`` (what a user sees: grounded values only); when a record has no
``values``, or ``include_ungrounded`` is set, they are rebuilt from ``extractions``. Paths lose their list
indices (``line_items[2].amount`` → ``line_items.amount``) and nested records are flattened with dots.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidex.eval.datasets.base import GoldDoc
from evidex.eval.metrics import value_text

_INDEX = re.compile(r"\[\d+\]")


def field_key(path: str) -> str:
    return _INDEX.sub("", path)


def _is_money(v: Mapping[str, Any]) -> bool:
    return "amount" in v and set(v) <= {"amount", "currency"}


def flatten_values(values: Mapping[str, Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}

    def put(key: str, v: Any) -> None:
        if isinstance(v, list | tuple):
            for x in v:
                put(key, x)
        elif isinstance(v, Mapping) and not _is_money(v):
            for k, x in v.items():
                put(f"{key}.{k}", x)
        elif v is not None and value_text(v) != "":
            out.setdefault(key, []).append(v)

    for k, v in values.items():
        put(field_key(str(k)), v)
    return out


@dataclass(frozen=True)
class ValueInfo:
    """What the extractions say about one predicted value."""

    confidence: float = 1.0
    grounding: str = ""
    evidence: str = ""
    has_confidence: bool = False  # whether an extraction gave the value a confidence (else 1.0 is assumed)


@dataclass(frozen=True)
class PredDoc:
    doc_id: str
    source: str
    values: Mapping[str, list[Any]]
    extractions: tuple[Mapping[str, Any], ...] = ()
    entities: tuple[Mapping[str, Any], ...] = ()
    usage: Mapping[str, Any] | None = None
    error: Mapping[str, Any] | None = None
    info: Mapping[tuple[str, str], ValueInfo] = field(default_factory=dict)

    def value_info(self, key: str, value: Any) -> ValueInfo:
        return self.info.get((key, value_text(value)), ValueInfo())

    def ranked(self, key: str) -> list[tuple[str, float]]:
        """Predicted values of ``key`` as ``(text, confidence)``, highest confidence first (stable)."""
        items = [(value_text(v), self.value_info(key, v).confidence) for v in self.values.get(key, ())]
        return sorted(items, key=lambda x: -x[1])


def entity_label(e: Mapping[str, Any]) -> str:
    """A predicted entity's label: records write it as ``type``; a ``label`` key is read too (hand-made files)."""
    return str(e.get("type", e.get("label", "")))


def _evidence_text(e: Mapping[str, Any]) -> str:
    parts = [str(ev.get("text", "")) for ev in e.get("evidence") or () if isinstance(ev, Mapping)]
    return " … ".join(p for p in parts if p)


def pred_doc(record: Mapping[str, Any], *, include_ungrounded: bool = False) -> PredDoc:
    exts = tuple(e for e in record.get("extractions") or () if isinstance(e, Mapping))
    info: dict[tuple[str, str], ValueInfo] = {}
    for e in exts:
        key = (field_key(str(e.get("path", ""))), value_text(e.get("value")))
        conf = e.get("confidence")
        has = isinstance(conf, int | float) and not isinstance(conf, bool)
        vi = ValueInfo(float(e.get("confidence", 1.0) or 0.0), str(e.get("grounding", "")), _evidence_text(e), has)
        if key not in info or vi.confidence > info[key].confidence:
            info[key] = vi
    values = record.get("values")
    if include_ungrounded or not isinstance(values, Mapping):
        values = {}
        for e in exts:
            if include_ungrounded or str(e.get("grounding", "")).lower() != "ungrounded":
                values.setdefault(str(e.get("path", "")), []).append(e.get("value"))
    usage = record.get("usage")
    error = record.get("error")
    return PredDoc(
        doc_id=str(record.get("doc_id", "")),
        source=str(record.get("source", "")),
        values=flatten_values(values),
        extractions=exts,
        entities=tuple(x for x in record.get("entities") or () if isinstance(x, Mapping)),
        usage=usage if isinstance(usage, Mapping) else None,
        error=error if isinstance(error, Mapping) else None,
        info=info,
    )


def read_jsonl(path: Path | str) -> list[dict[str, Any]]:
    """Read prediction records (the output package's reader: a bad line is a MalformedError naming it, a last
    line cut short by a crash is skipped)."""
    from evidex.output.jsonl import read_jsonl as read_records

    return list(read_records(path))


def _keys_for(source: str, doc_id: str) -> list[str]:
    keys = [doc_id, source] if doc_id else [source]
    if source:
        p = Path(source)
        keys += [p.name, p.stem]
    return [k for k in keys if k]


def match_predictions(
    golds: Sequence[GoldDoc], records: Iterable[Mapping[str, Any]], *, include_ungrounded: bool = False
) -> tuple[dict[str, PredDoc], list[PredDoc]]:
    """Pair records with gold documents by ``doc_id``, then ``source`` path, file name, or file stem.

    Returns ``({gold id: prediction}, unmatched predictions)``; a second record for an already matched gold
    document is reported as unmatched.
    """
    index: dict[str, str] = {}
    for g in golds:
        for k in [g.id] + ([str(g.path), g.path.name, g.path.stem] if g.path is not None else []):
            index.setdefault(k, g.id)
    matched: dict[str, PredDoc] = {}
    unmatched: list[PredDoc] = []
    for rec in records:
        pd = pred_doc(rec, include_ungrounded=include_ungrounded)
        gid = next((index[k] for k in _keys_for(pd.source, pd.doc_id) if k in index), None)
        if gid is None or gid in matched:
            unmatched.append(pd)
        else:
            matched[gid] = pd
    return matched, unmatched
