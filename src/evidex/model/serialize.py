"""Lossless JSON round-trip for documents and results (plain dicts; no I/O here)."""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType
from typing import Any

from evidex.model.document import Anchor, BBox, Document, Layer, Node, NodeKind, Origin, Page, Prov, Source
from evidex.model.extraction import (
    Coverage,
    Entity,
    Extraction,
    Grounding,
    Label,
    Relation,
    Result,
    Usage,
)
from evidex.model.span import Span

FORMAT_VERSION = 1


def _prov_to(p: Prov | None) -> dict[str, Any] | None:
    if p is None:
        return None
    d: dict[str, Any] = {}
    for f in Prov.__slots__:
        v = getattr(p, f)
        if v is None:
            continue
        if isinstance(v, BBox):
            d["bbox"] = [v.x0, v.y0, v.x1, v.y1]
            d["origin"] = v.origin.value
        else:
            d[f] = v
    return d


def _prov_from(d: dict[str, Any] | None) -> Prov | None:
    if d is None:
        return None
    d = dict(d)
    bbox = None
    if "bbox" in d:
        x0, y0, x1, y1 = d.pop("bbox")
        bbox = BBox(x0, y0, x1, y1, Origin(d.pop("origin", "top-left")))
    return Prov(bbox=bbox, **d)


def document_to_dict(doc: Document) -> dict[str, Any]:
    return {
        "evidex": FORMAT_VERSION,
        "id": doc.id,
        "source": {
            "name": doc.source.name,
            "media_type": doc.source.media_type,
            "size": doc.source.size,
            "sha256": doc.source.sha256,
            "path": doc.source.path,
        },
        "text": doc.text,
        "nodes": [
            {
                k: v
                for k, v in {
                    "id": n.id,
                    "kind": n.kind.value,
                    "span": n.span.to_list(),
                    "parent": n.parent,
                    "children": list(n.children),
                    "level": n.level,
                    "layer": n.layer.value if n.layer is not Layer.BODY else None,
                    "prov": _prov_to(n.prov),
                    "attrs": dict(n.attrs) or None,
                }.items()
                if v is not None
            }
            for n in doc.nodes
        ],
        "pages": [
            {"number": p.number, "width": p.width, "height": p.height, "span": p.span.to_list(), "unit": p.unit}
            for p in doc.pages
        ],
        "anchors": [[a.span.start, a.span.end, _prov_to(a.prov)] for a in doc.anchors],
        "warnings": list(doc.warnings),
        "metadata": dict(doc.metadata),
    }


def document_from_dict(d: dict[str, Any]) -> Document:
    if d.get("evidex") != FORMAT_VERSION:
        raise ValueError(f"unsupported document format version {d.get('evidex')!r}")
    s = d["source"]
    nodes = tuple(
        Node(
            id=n["id"],
            kind=NodeKind(n["kind"]),
            span=Span(*n["span"]),
            parent=n.get("parent"),
            children=tuple(n.get("children", ())),
            level=n.get("level"),
            layer=Layer(n.get("layer", "body")),
            prov=_prov_from(n.get("prov")),
            attrs=MappingProxyType(dict(n.get("attrs") or {})),
        )
        for n in d["nodes"]
    )
    return Document(
        id=d["id"],
        text=d["text"],
        nodes=nodes,
        source=Source(s["name"], s["media_type"], s["size"], s["sha256"], s.get("path")),
        pages=tuple(Page(p["number"], p["width"], p["height"], Span(*p["span"]), p.get("unit", "pt")) for p in d["pages"]),
        anchors=tuple(Anchor(Span(a[0], a[1]), _prov_from(a[2]) or Prov()) for a in d["anchors"]),
        warnings=tuple(d.get("warnings", ())),
        metadata=MappingProxyType(dict(d.get("metadata", {}))),
    )


def jsonable(v: Any) -> Any:
    """Typed values → JSON (Decimal as string to keep precision)."""
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [jsonable(x) for x in v]
    return v


def extraction_to_dict(e: Extraction, text: str | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {
        "path": e.path,
        "value": jsonable(e.value),
        "raw": e.raw,
        "grounding": e.grounding.value,
        "confidence": round(e.confidence, 4),
        "score": round(e.score, 4),
        "engine": e.engine,
        "evidence": [
            {"start": s.start, "end": s.end, **({"text": text[s.start : s.end]} if text is not None else {})}
            for s in e.evidence
        ],
    }
    if e.notes:
        d["notes"] = list(e.notes)
    if e.review:
        d["review"] = True
    return d


def extraction_from_dict(d: dict[str, Any]) -> Extraction:
    return Extraction(
        path=d["path"],
        value=d["value"],
        raw=d.get("raw", ""),
        evidence=tuple(Span(x["start"], x["end"]) for x in d.get("evidence", ())),
        grounding=Grounding(d["grounding"]),
        confidence=float(d.get("confidence", 0.0)),
        engine=d.get("engine", ""),
        score=float(d.get("score", 1.0)),
        notes=tuple(d.get("notes", ())),
        review=bool(d.get("review", False)),
    )


def result_to_dict(r: Result, text: str | None = None) -> dict[str, Any]:
    return {
        "doc_id": r.doc_id,
        "source": r.source,
        "extractions": [extraction_to_dict(e, text) for e in r.extractions],
        "entities": [
            {"type": x.type, "start": x.span.start, "end": x.span.end, "text": x.text, "confidence": x.confidence}
            for x in r.entities
        ],
        "relations": [
            {"type": x.type, "head": x.head, "tail": x.tail, "evidence": [s.to_list() for s in x.evidence], "confidence": x.confidence}
            for x in r.relations
        ],
        "labels": [
            {"name": x.name, "value": x.value, "evidence": [s.to_list() for s in x.evidence], "confidence": x.confidence}
            for x in r.labels
        ],
        "usage": {"calls": r.usage.calls, "tokens_in": r.usage.tokens_in, "tokens_out": r.usage.tokens_out, "seconds": round(r.usage.seconds, 4)},
        "coverage": {
            "chunks_total": r.coverage.chunks_total,
            "chunks_read": r.coverage.chunks_read,
            "chars_total": r.coverage.chars_total,
            "chars_read": r.coverage.chars_read,
            "truncated_fields": list(r.coverage.truncated_fields),
            "spans_read": [x.to_list() for x in r.coverage.spans_read],
        },
        "error": dict(r.error) if r.error is not None else None,
        "diagnostics": jsonable(dict(r.diagnostics)),
        **({"spec": r.spec} if r.spec else {}),
    }


def result_from_dict(d: dict[str, Any]) -> Result:
    u, c = d.get("usage", {}), d.get("coverage", {})
    return Result(
        doc_id=d["doc_id"],
        source=d["source"],
        extractions=tuple(extraction_from_dict(x) for x in d.get("extractions", ())),
        entities=tuple(Entity(x["type"], Span(x["start"], x["end"]), x["text"], x.get("confidence", 1.0)) for x in d.get("entities", ())),
        relations=tuple(Relation(x["type"], x["head"], x["tail"], tuple(Span(*s) for s in x.get("evidence", ())), x.get("confidence", 1.0)) for x in d.get("relations", ())),
        labels=tuple(Label(x["name"], x["value"], tuple(Span(*s) for s in x.get("evidence", ())), x.get("confidence", 1.0)) for x in d.get("labels", ())),
        usage=Usage(u.get("calls", 0), u.get("tokens_in", 0), u.get("tokens_out", 0), u.get("seconds", 0.0)),
        coverage=Coverage(c.get("chunks_total", 0), c.get("chunks_read", 0), c.get("chars_total", 0), c.get("chars_read", 0), tuple(c.get("truncated_fields", ())),
                          tuple(Span(*x) for x in c.get("spans_read", ()))),
        error=d.get("error"),
        diagnostics=MappingProxyType(dict(d.get("diagnostics", {}))),
        spec=str(d.get("spec", "")),
    )
