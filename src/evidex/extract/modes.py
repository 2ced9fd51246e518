"""The per-document plans (registered ``modes``): which stages run, in which order.

* ``choice`` — the proposer's candidates, decided by the scorer (grounded by construction); table rows for record
  fields; fields no candidate can answer (booleans, enums, free text with no candidate, records without a table)
  fall back to the generator over the selector's most relevant text within ``fallback_tokens``.
* ``generate`` — the generator writes every field from the selector's views (the whole document chunk by chunk,
  or ``budget_tokens`` of the most relevant text); every value is grounded afterwards.
* ``rules`` — ``choice`` without a model: the scorer must not need a backend (the prior, or a trained scorer).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import ClassVar

from evidex.extract.candidates import Candidate
from evidex.extract.records import extract_records
from evidex.extract.stages import DocContext, ModeOutcome
from evidex.model import Coverage, Extraction, Field, FieldType, Grounding, Span
from evidex.registry import Options
from evidex.select.base import Selection

RANK = {Grounding.EXACT: 4, Grounding.NORMALIZED: 3, Grounding.FUZZY: 2, Grounding.INFERRED: 1, Grounding.UNGROUNDED: 0}
GENERATED_CONFIDENCE = 0.8  # a model-written value before grounding discounts it
UNCALIBRATED_INFERENCE = ("inferred by the model, not printed: its confidence is not a calibrated probability, "
                          "so it is flagged for review")
FALLBACK_CHUNK_TOKENS = 400
_CHOOSABLE_NOT = (FieldType.BOOLEAN, FieldType.ENUM)


def merge(items: Sequence[Extraction], many_paths: set[str]) -> list[Extraction]:
    """Merge values across chunks: the best value per single-valued path; distinct values for lists."""
    best: dict[str, Extraction] = {}
    listed: dict[tuple[str, str], Extraction] = {}
    for x in items:
        if x.path in many_paths or "[" in x.path:
            key = (x.path, " ".join(str(x.value).lower().split()))
            cur = listed.get(key)
            if cur is None or (RANK[x.grounding], x.confidence) > (RANK[cur.grounding], cur.confidence):
                listed[key] = x
            continue
        cur = best.get(x.path)
        if cur is None or (RANK[x.grounding], x.confidence) > (RANK[cur.grounding], cur.confidence):
            best[x.path] = x
    return [*best.values(), *listed.values()]


def generate_fields(ctx: DocContext, fields: Sequence[Field],
                    sel: Selection) -> tuple[list[Extraction], tuple[str, ...], int]:
    """The generator's values for ``fields`` from the selected views, grounded and merged; the fields whose
    answer was cut by the output limit; how many views were read."""
    g = ctx.stages.generator.generate(ctx, fields, sel.views)
    d = ctx.diagnostics
    if g.errors:
        d["generate_errors"] = g.errors[:20]
    if g.dropped:  # fields that failed validation alone; the other fields of their chunk were kept
        d["dropped_fields"] = dict(list(g.dropped.items())[:20])
    if g.cut:
        d["cut_by_output_limit"] = g.cut
    ctx.call.failures.extend(f"generate {x}" for x in g.failed)
    grounder, doc = ctx.stages.grounder, ctx.doc
    values = []
    for v in g.values:
        f = v.field
        inferable = f.type in _CHOOSABLE_NOT or not f.extractive
        hint = Span(0, len(v.view.text)) if inferable else None  # what the model read is the evidence of an inference
        x = grounder.from_raw(f, v.path, v.raw, doc, engine=ctx.engine_name, view=v.view, hint=hint,
                              confidence=GENERATED_CONFIDENCE)
        if x.grounding is Grounding.INFERRED:  # nothing printed says it and nothing measured the model's odds
            x = dataclasses.replace(x, review=True, notes=(*x.notes, UNCALIBRATED_INFERENCE))
        values.append(x)
    many = {f.name for f in fields if f.many}
    cut = tuple(f.name for f in fields if (f.many and g.truncated) or f.name in g.cut)
    return merge(values, many), cut, g.read


class _Plan:
    Options: ClassVar[type[Options]] = Options

    def __init__(self, options: object = None) -> None:
        pass


class ChoicePlan(_Plan):
    name: ClassVar[str] = "choice"
    version: ClassVar[str] = "1"
    uses: ClassVar[tuple[str, ...]] = ("proposer", "scorer", "selector", "generator", "grounder")
    needs_backend: ClassVar[bool] = True
    fallback: ClassVar[bool] = True

    def run(self, ctx: DocContext) -> ModeOutcome:
        doc, schema, st = ctx.doc, ctx.schema, ctx.stages
        scalar = [f for f in schema.fields if f.type is not FieldType.RECORD]
        whole = (Span(0, len(doc.text)),) if doc.text else ()
        coverage = Coverage(1, 1, len(doc.text), len(doc.text), spans_read=whole)  # candidates: the whole document
        choosable = [f for f in scalar if f.type not in _CHOOSABLE_NOT]
        choices = st.scorer.choose(ctx, choosable, ctx.candidates())
        ctx.diagnostics["scorer"] = st.scorer.name
        out: list[Extraction] = []
        leftovers: list[Field] = []
        held: dict[str, tuple[Field, Candidate, float]] = {}
        for ch in choices:
            if ch.candidate is None:
                if not ch.options:
                    leftovers.append(ch.field)
                    if ch.held is not None:
                        held[ch.field.name] = (ch.field, *ch.held)
                continue
            for cand, score in ((ch.candidate, ch.score), *ch.extra):
                e = st.grounder.from_span(ch.field, ch.field.name, doc, cand.span, score, engine=ctx.engine_name)
                form = ch.values.get(cand.id)
                if form is not None and e.grounding is not Grounding.UNGROUNDED:
                    # the student's learnt form of the printed text ("II-VI Incorporated" → "II-VI Inc."): the
                    # evidence stays the printed span, the value says it was rewritten
                    value = " ".join(form.split()) if isinstance(e.value, str) else form  # as text values are
                    e = dataclasses.replace(e, value=value, grounding=Grounding.NORMALIZED,
                                            notes=(*e.notes, f"written in the gold's form (printed {e.raw!r})"))
                out.append(e)
        ctx.diagnostics["choices"] = {
            ch.field.name: [{"text": c.text[:60], "prior": round(p, 3)} for c, p in ch.options] for ch in choices
        }
        leftovers += [f for f in scalar if f.type in _CHOOSABLE_NOT]
        for rf in (f for f in schema.fields if f.type is FieldType.RECORD):
            rows = extract_records(doc, rf)
            if not rows:
                leftovers.append(rf)
            for r in rows:
                out.append(st.grounder.from_span(r.field, f"{rf.name}[{r.index}].{r.field.name}", doc, r.span, r.score,
                                                 engine=ctx.engine_name))
        if leftovers and self.fallback and ctx.backend is not None:
            # fields without candidates: read only the most relevant text within a budget (recorded below)
            o = ctx.options
            sel = ctx.select([f"{f.name} {f.description}" for f in leftovers], o.fallback_tokens,
                             chunk_tokens=min(o.chunk_tokens, FALLBACK_CHUNK_TOKENS))
            ctx.diagnostics["fallback"] = {"fields": [f.name for f in leftovers], "chars_read": sel.chars_read,
                                           "chars_total": len(ctx.reading.view.text),
                                           "spans_read": [x.to_list() for x in sel.spans_read]}
            got, cut, _ = generate_fields(ctx, leftovers, sel)
            kept = _kept(ctx, held, got)
            replaced = {e.path for e in kept}  # an ungrounded teacher value gives way to the student's answer
            out.extend(e for e in got if e.path not in replaced)
            out.extend(kept)
            if cut:
                coverage = Coverage(coverage.chunks_total, coverage.chunks_read, coverage.chars_total,
                                    coverage.chars_read, cut, coverage.spans_read)
        return ModeOutcome(out, coverage)


def _kept(ctx: DocContext, held: dict[str, tuple[Field, Candidate, float]],
          got: Sequence[Extraction]) -> list[Extraction]:
    """The scorer's own answers for escalated fields the generator gave no supported value for (the teacher
    returned nothing, or only ungrounded text): the student's candidate stands, with its (low) probability, so
    the review threshold flags it rather than the field going empty. Recorded in ``diagnostics["cascade"]``."""
    supported = {e.path for e in got if e.grounding is not Grounding.UNGROUNDED}
    kept = [(f, c, s) for name, (f, c, s) in held.items() if name not in supported]
    if kept and isinstance(ctx.diagnostics.get("cascade"), dict):
        ctx.diagnostics["cascade"]["kept_student"] = [f.name for f, _, _ in kept]
    return [ctx.stages.grounder.from_span(f, f.name, ctx.doc, c.span, s, engine=ctx.engine_name) for f, c, s in kept]


class RulesPlan(ChoicePlan):
    name: ClassVar[str] = "rules"
    version: ClassVar[str] = "1"
    uses: ClassVar[tuple[str, ...]] = ("proposer", "scorer", "grounder")
    needs_backend: ClassVar[bool] = False
    fallback: ClassVar[bool] = False


class GeneratePlan(_Plan):
    name: ClassVar[str] = "generate"
    version: ClassVar[str] = "1"
    uses: ClassVar[tuple[str, ...]] = ("selector", "generator", "grounder")
    needs_backend: ClassVar[bool] = True

    def run(self, ctx: DocContext) -> ModeOutcome:
        doc, o = ctx.doc, ctx.options
        fields = list(ctx.schema.fields)
        if not fields:  # e.g. a schema of labels or entities only
            return ModeOutcome([], Coverage(chars_total=len(doc.text)))
        sel = ctx.select([f"{f.name} {f.description}" for f in fields], o.budget_tokens, chunk_tokens=o.chunk_tokens)
        if o.budget_tokens is not None:  # the coverage ledger: what was read for which field, within what budget
            ctx.diagnostics["selection"] = {"selector": ctx.stages.selector.name, **sel.ledger()}
        if not sel.views:
            return ModeOutcome([], Coverage(0, 0, len(doc.text), 0))
        got, cut, read = generate_fields(ctx, fields, sel)
        spans = sel.spans_read if read >= len(sel.views) else tuple(Span.merge(
            v.to_source(Span(0, len(v.text))) for v in sel.views[:read]))
        coverage = Coverage(sel.chunks_total or len(sel.views), sel.chunks_read if read >= len(sel.views) else read,
                            len(doc.text), sum(len(x) for x in spans), cut, spans)
        return ModeOutcome(got, coverage)


__all__ = ["ChoicePlan", "GeneratePlan", "RulesPlan", "generate_fields", "merge"]
