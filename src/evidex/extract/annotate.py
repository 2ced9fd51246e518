"""Document-level annotations written by a model: labels (classification), entities and relations.

Labels are one multiple-choice question per label set over the selected context; entities are mentions the
model lists per chunk, kept only where they occur verbatim; relations are asked per chunk among the entities it
holds, with the schema's head/tail types enforced.
"""

from __future__ import annotations

from collections.abc import Sequence

from evidex.backends import Message, Request
from evidex.extract import prompts
from evidex.extract.choice import grammar_for, letter_probs
from evidex.extract.generate import parse_json, salvage_json
from evidex.extract.stages import DocContext
from evidex.model import Entity, Label, Relation, Span
from evidex.select.chunk import rank_chunks

LABEL_EVIDENCE_CHUNK_TOKENS = 200
LABEL_CONTEXT_CHUNK_TOKENS = 384


def _json_answer(ctx: DocContext, req: Request, what: str) -> object:
    resp = ctx.ask([req])[0]
    try:
        return parse_json(resp.text)
    except ValueError as e:
        if not resp.truncated:  # cut off by the output limit: what was finished is kept
            ctx.call.failures.append(f"{what}: invalid JSON ({e})")
        return (salvage_json(resp.text) or ({}, ""))[0]


def labels(ctx: DocContext) -> list[Label]:
    assert ctx.backend is not None
    schema, o = ctx.schema, ctx.options
    sel = ctx.select([ls.name for ls in schema.labels], o.context_tokens or 600, chunk_tokens=LABEL_CONTEXT_CHUNK_TOKENS)
    context = sel.views[0].text if sel.views else ""
    chunks = ctx.reading.chunks(LABEL_EVIDENCE_CHUNK_TOKENS)
    caps = ctx.backend.capabilities
    out = []
    for ls in schema.labels:
        q, letters = prompts.label_question(ls.name, ls.labels, ls.description, o.prompt_format)
        req = Request((Message("system", prompts.SYSTEM), Message("user", prompts.document_block(context) + q)),
                      grammar=grammar_for(letters) if caps.grammar else None, max_tokens=1,
                      logprobs=40 if caps.logprobs else None, tag=f"label:{ls.name}")
        probs = letter_probs(ctx.ask([req])[0], letters) or {}
        if not probs:
            continue
        ch = max(probs, key=lambda k: probs[k])
        label = ls.labels[letters.index(ch)]
        scores = rank_chunks(chunks, [label]) if chunks else []
        evidence: tuple[Span, ...] = ()
        if scores and max(scores) > 0:
            evidence = (chunks[max(range(len(scores)), key=lambda i: scores[i])].source_span,)
        out.append(Label(ls.name, label, evidence, round(probs[ch], 4)))
    return out


def entities(ctx: DocContext) -> list[Entity]:
    assert ctx.backend is not None
    doc, o = ctx.doc, ctx.options
    types = {e.name: e.description for e in ctx.schema.entities}
    js = prompts.entities_schema(list(types))
    found: dict[tuple[int, int, str], Entity] = {}
    for ch in ctx.reading.chunks(o.chunk_tokens):
        req = Request((Message("system", prompts.SYSTEM), Message("user", prompts.entities_prompt(ch.view.text, types))),
                      json_schema=js if ctx.backend.capabilities.json_schema else None,
                      max_tokens=o.max_output_tokens, tag=f"entities:chunk{ch.index}")
        obj = _json_answer(ctx, req, f"entities chunk {ch.index}")
        for item in obj.get("entities", []) if isinstance(obj, dict) else []:
            if not isinstance(item, dict) or item.get("type") not in types or not isinstance(item.get("text"), str):
                continue
            mention = item["text"].strip()
            if not mention:
                continue
            start = 0  # every exact occurrence in the chunk is a mention (entities are extractive)
            while (i := ch.view.text.find(mention, start)) >= 0:
                src = ch.view.to_source(Span(i, i + len(mention)))
                if doc.text[src.start : src.end] == mention:
                    found[(src.start, src.end, item["type"])] = Entity(item["type"], src, mention)
                start = i + len(mention)
    return sorted(found.values(), key=lambda e: (e.span.start, e.type))


def relations(ctx: DocContext, ents: Sequence[Entity]) -> list[Relation]:
    """Relations between extracted entities, asked per chunk among the entities it holds; head and tail types
    are checked against the schema, evidence is the hull of the two mentions."""
    assert ctx.backend is not None
    o = ctx.options
    rel_types = {r.name: (r.head, r.tail, r.description) for r in ctx.schema.relations}
    js = prompts.relations_schema(list(rel_types))
    out: dict[tuple[str, int, int], Relation] = {}
    for ch in ctx.reading.chunks(o.chunk_tokens):
        inside = [i for i, e in enumerate(ents) if ch.source_span.contains(e.span)]
        if len(inside) < 2:
            continue
        listing = [(k, ents[i].type, ents[i].text) for k, i in enumerate(inside)]
        req = Request((Message("system", prompts.SYSTEM),
                       Message("user", prompts.relations_prompt(ch.view.text, listing, rel_types, o.prompt_format))),
                      json_schema=js if ctx.backend.capabilities.json_schema else None,
                      max_tokens=o.max_output_tokens, tag=f"relations:chunk{ch.index}")
        obj = _json_answer(ctx, req, f"relations chunk {ch.index}")
        for item in obj.get("relations", []) if isinstance(obj, dict) else []:
            if not isinstance(item, dict) or item.get("type") not in rel_types:
                continue
            h, t = item.get("head"), item.get("tail")
            if not (isinstance(h, int) and isinstance(t, int) and 0 <= h < len(inside) and 0 <= t < len(inside)) or h == t:
                continue
            head, tail = inside[h], inside[t]
            want_h, want_t, _ = rel_types[item["type"]]
            if ents[head].type != want_h or ents[tail].type != want_t:
                continue  # type constraint of the schema
            hull = ents[head].span.union(ents[tail].span)
            out[(item["type"], head, tail)] = Relation(item["type"], head, tail, (hull,), 0.5)
    return list(out.values())


__all__ = ["entities", "labels", "relations"]
