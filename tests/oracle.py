"""Offset oracle: invariants every Document and every Result produced by the suite must satisfy."""

from __future__ import annotations

from evidex.model import Document, Grounding, Result


def check_document(doc: Document) -> None:
    doc.check()
    text = doc.text
    for n in doc.nodes:
        assert 0 <= n.span.start <= n.span.end <= len(text), n
        assert doc.node_text(n) == text[n.span.start : n.span.end]
        for c in n.children:
            assert n.span.contains(doc.nodes[c].span), (n, doc.nodes[c])
    prev = 0
    for a in doc.anchors:
        assert prev <= a.span.start < a.span.end <= len(text), a
        prev = a.span.end
    for p in doc.pages:
        assert p.span.end <= len(text)


def check_result(result: Result, doc: Document) -> None:
    """``doc.text[s:e]`` is the evidence; grounded values always carry evidence."""
    for e in result.extractions:
        for s in e.evidence:
            assert 0 <= s.start <= s.end <= len(doc.text), (e.path, s)
        if e.grounding in (Grounding.EXACT, Grounding.NORMALIZED, Grounding.FUZZY):
            assert e.evidence, f"{e.path} is {e.grounding} without evidence"
        if e.grounding is Grounding.EXACT:
            quoted = " ".join(doc.text[s.start : s.end] for s in e.evidence)
            assert (e.raw.strip() and e.raw.strip() in quoted) or quoted == e.raw, (e.path, e.raw, quoted)
    for ent in result.entities:
        assert doc.text[ent.span.start : ent.span.end] == ent.text
