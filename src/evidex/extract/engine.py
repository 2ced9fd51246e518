"""The extraction engine: schema + document → :class:`~evidex.model.Result` with grounded values.

Modes:
* ``choice`` (default for the embedded model): candidates from structure and typed patterns ranked by a
  prior (optionally re-ranked by the model) — grounded by construction. Fields with no type-compatible
  candidate (and booleans, enums, record lists without a matching table) fall back to free generation over
  the most relevant chunks within ``fallback_tokens``; which parts were read is in the diagnostics.
* ``generate``: the model writes JSON per structure-aware chunk; every leaf is grounded afterwards.
* ``rules``: candidates and the prior only, no model (fast baseline; also what runs with no backend).
"""

from __future__ import annotations

import dataclasses
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField

from evidex.backends import Backend, Message, Request, Response
from evidex.errors import (
    BackendError,
    BackendTimeoutError,
    DeadlineExceededError,
    EvidexError,
    InternalError,
    ModelOutputError,
)
from evidex.extract import prompts
from evidex.extract.candidates import build_candidates
from evidex.extract.choice import build_requests, decide, grammar_for
from evidex.extract.generate import RawValue, parse_json, run_generate, salvage_json
from evidex.extract.records import extract_records
from evidex.ground.align import ground_in_view
from evidex.ground.normalize import normalize_value, printed_value
from evidex.model import (
    Coverage,
    Document,
    Entity,
    Extraction,
    Field,
    FieldType,
    Grounding,
    Label,
    Relation,
    Result,
    Schema,
    Span,
    TextView,
    Usage,
)
from evidex.select import chunk_view, select_context
from evidex.select.chunk import rank_chunks
from evidex.select.views import markdown_view

Mode = Literal["auto", "choice", "generate", "rules"]
_RANK = {Grounding.EXACT: 4, Grounding.NORMALIZED: 3, Grounding.FUZZY: 2, Grounding.INFERRED: 1, Grounding.UNGROUNDED: 0}


class ExtractOptions(BaseModel):
    """Engine options (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Mode = "auto"
    top_k: int = 5  # options shown per field in choice mode
    context_tokens: int = 900  # document context shared by the choice prompts (0 = options only)
    chunk_tokens: int = 1500  # chunk size in generate mode
    fallback_tokens: int = 1500  # choice mode: budget of the generative fallback (the most relevant chunks only)
    max_repairs: int = 2  # re-asks after invalid output
    max_output_tokens: int = 512
    max_value_chars: int = 200  # generate mode: longest string value (bounds runaway decoding; raise for clauses)
    prior_weight: float = 0.5  # choice mode: weight of the prior vs the model's probability
    min_score: float = 0.2
    keep_ungrounded: bool = False  # keep values with no support in the text (marked UNGROUNDED)
    prompt_format: int = 0  # 0, 1, 2: equivalent prompt formats (FormatSpread)
    # How the model re-ranks candidates in choice mode. auto = "prior": measured best with the packaged 270M base
    # model (docs/benchmarks.md), which then only handles fields without candidates, labels and entities.
    # "pmi" (backends that score continuations) and "choice" (multiple-choice by next-token) suit larger models.
    scorer: Literal["auto", "prior", "pmi", "choice"] = "auto"
    fuzzy_threshold: float = 0.8
    # wall-time budget of one document (seconds; None or 0 = none): every model call gets what is left as its
    # timeout, and a document that runs out fails with EVX-B007 (usage and diagnostics so far are kept)
    deadline_s: float | None = PydanticField(default=300.0, ge=0)


@dataclass
class _Call:
    """The state of one ``extract`` call: the model's responses so far and the document's deadline."""

    responses: list[Response] = field(default_factory=list)
    deadline: float | None = None  # time.monotonic() value
    deadline_s: float | None = None
    failures: list[str] = field(default_factory=list)  # model output that could not be used

    def left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()


class Extractor:
    def __init__(self, backend: Backend | None, options: ExtractOptions | None = None, *, engine_name: str = "") -> None:
        self.backend = backend
        self.options = options or ExtractOptions()
        mode = self.options.mode
        if mode == "auto":
            mode = "rules" if backend is None else ("choice" if backend.name in ("llamacpp", "fake") else "generate")
        if backend is None and mode != "rules":
            from evidex.errors import ConfigError

            raise ConfigError(f"mode {mode!r} needs a backend", hint="use --mode rules to run without a model")
        self.mode: Mode = mode
        self.engine_name = engine_name or (f"{mode}:{backend.name}" if backend is not None else "rules")

    # ------------------------------------------------------------------ public
    def extract(self, doc: Document, schema: Schema) -> Result:
        """Extract one document. Never raises for a document: backend failures, model output that stays unusable,
        a passed deadline and unexpected exceptions (bugs) all become ``Result.error`` with a stable code."""
        t0 = time.monotonic()
        limit = self.options.deadline_s or None
        call = _Call(deadline=None if limit is None else t0 + limit, deadline_s=limit)
        diagnostics: dict[str, object] = {"mode": self.mode}
        source = doc.source.path or doc.source.name
        try:
            extractions, labels, entities, relations, coverage = self._run(doc, schema, call, diagnostics)
        except BackendError as e:
            if isinstance(e, BackendTimeoutError) and not isinstance(e, DeadlineExceededError) \
                    and call.deadline is not None and (call.left() or 0.0) <= 0.05:
                e = self._deadline_error(call, str(e.message))
            return Result(doc.id, source, usage=_usage(call.responses, time.monotonic() - t0), error=e.to_dict(),
                          diagnostics=diagnostics)
        except EvidexError as e:  # e.g. a configuration problem found late: still this document only
            return Result(doc.id, source, usage=_usage(call.responses, time.monotonic() - t0), error=e.to_dict(),
                          diagnostics=diagnostics)
        except Exception as e:  # a bug in a stage: this document fails alone, the traceback is kept
            return Result(doc.id, source, usage=_usage(call.responses, time.monotonic() - t0),
                          error=internal_error(e, source).to_dict(),
                          diagnostics={**diagnostics, "traceback": traceback.format_exc()[-20000:]})
        if not self.options.keep_ungrounded:
            dropped = [x.path for x in extractions if x.grounding is Grounding.UNGROUNDED]
            if dropped:
                diagnostics["dropped_ungrounded"] = dropped
            extractions = [x for x in extractions if x.grounding is not Grounding.UNGROUNDED]
        missing = [f.name for f in schema.fields if f.required and not any(_top(x.path) == f.name for x in extractions)]
        if missing:
            diagnostics["missing_required"] = missing
        error = None
        if call.failures:
            # the model could not produce usable output (after the bounded re-ask): a coded per-document failure,
            # never "ok" with silently missing values; whatever other parts yielded is kept for inspection
            diagnostics["model_output_failures"] = call.failures[:20]
            n = len(call.failures)
            error = ModelOutputError(f"{n} model answer{'s' if n > 1 else ''} could not be used: {call.failures[0]}"[:500],
                                     path=source).to_dict()
        return Result(
            doc_id=doc.id,
            source=source,
            extractions=tuple(extractions),
            entities=tuple(entities),
            relations=tuple(relations),
            labels=tuple(labels),
            usage=_usage(call.responses, time.monotonic() - t0),
            coverage=coverage,
            error=error,
            diagnostics=diagnostics,
        )

    # ------------------------------------------------------------------ internals
    def _deadline_error(self, call: _Call, detail: str = "") -> DeadlineExceededError:
        used = time.monotonic() - (call.deadline or 0.0) + (call.deadline_s or 0.0)
        more = f"; {detail}" if detail else ""
        return DeadlineExceededError(f"the document's deadline of {call.deadline_s:g}s ran out after {used:.1f}s and "
                                     f"{len(call.responses)} model calls{more}")

    def _generate(self, reqs: Sequence[Request], call: _Call) -> list[Response]:
        """Call the model; with a deadline, one request at a time, each bounded by the time that is left."""
        assert self.backend is not None
        if call.deadline is None:
            out = self.backend.generate(reqs)
            call.responses.extend(out)
            return out
        out = []
        for r in reqs:
            left = call.left() or 0.0
            if left <= 0.0:
                raise self._deadline_error(call)
            bound = left if r.timeout_s is None else min(r.timeout_s, left)
            (resp,) = self.backend.generate([dataclasses.replace(r, timeout_s=bound)])
            call.responses.append(resp)
            out.append(resp)
        return out

    def _run(
        self, doc: Document, schema: Schema, call: _Call, diag: dict[str, object]
    ) -> tuple[list[Extraction], list[Label], list[Entity], list[Relation], Coverage]:
        o = self.options
        scalar = [f for f in schema.fields if f.type is not FieldType.RECORD]
        records = [f for f in schema.fields if f.type is FieldType.RECORD]
        out: list[Extraction] = []
        view = markdown_view(doc)
        whole = (Span(0, len(doc.text)),) if doc.text else ()
        coverage = Coverage(chars_total=len(doc.text))
        leftovers: list[Field] = []

        if self.mode in ("choice", "rules"):
            cands = build_candidates(doc).items
            # candidates come from the whole document (all layers but hidden text)
            coverage = Coverage(1, 1, len(doc.text), len(doc.text), spans_read=whole)
            context = ""
            if self.mode == "choice" and o.scorer not in ("auto", "prior") and o.context_tokens > 0:
                queries = [f"{f.name} {f.description}" for f in scalar]
                ctx_view, selected, all_chunks = select_context(doc, queries, o.context_tokens, view=view)
                context = ctx_view.text
                diag["model_context"] = {"chunks_total": len(all_chunks), "chunks_read": len(selected),
                                         "spans_read": [x.to_list() for x in Span.merge(c.source_span for c in selected)]}
            choosable = [f for f in scalar if f.type not in (FieldType.BOOLEAN, FieldType.ENUM)]
            scorer = "prior" if o.scorer == "auto" or self.mode == "rules" else o.scorer
            if scorer == "pmi" and self.backend is not None and not self.backend.capabilities.scoring:
                scorer = "choice"
            diag["scorer"] = scorer
            ask = self.backend if scorer != "prior" else None
            plans, reqs = build_requests(choosable, cands, context, backend=ask, top_k=o.top_k, fmt=o.prompt_format,
                                         scorer=scorer if scorer != "prior" else "choice")
            resps = self._generate(reqs, call) if reqs else None
            choices = decide(plans, resps, prior_weight=o.prior_weight if resps else 1.0, min_score=o.min_score)
            for ch in choices:
                if ch.candidate is None:
                    if not ch.options:
                        leftovers.append(ch.field)
                    continue
                for cand, score in ((ch.candidate, ch.score), *ch.extra):
                    out.append(self._from_span(ch.field, ch.field.name, doc, cand.span, score))
            diag["choices"] = {
                ch.field.name: [{"text": c.text[:60], "prior": round(p, 3)} for c, p in ch.options] for ch in choices
            }
            leftovers += [f for f in scalar if f.type in (FieldType.BOOLEAN, FieldType.ENUM)]
            for rf in records:
                rows = extract_records(doc, rf)
                if rows:
                    out.extend(self._from_span(r.field, f"{rf.name}[{r.index}].{r.field.name}", doc, r.span, r.score) for r in rows)
                else:
                    leftovers.append(rf)
        else:
            leftovers = list(schema.fields)

        if leftovers and self.mode != "rules" and self.backend is not None:
            all_chunks = chunk_view(view, o.chunk_tokens, self.backend.count_tokens)
            views = [c.view for c in all_chunks] or [view]
            if self.mode == "choice":
                # fields without candidates: read only the most relevant text within a budget (recorded below)
                queries = [f"{f.name} {f.description}" for f in leftovers]
                ctx, picked, _ = select_context(doc, queries, o.fallback_tokens, chunk_tokens=min(o.chunk_tokens, 400),
                                                count=self.backend.count_tokens, view=view)
                views = [ctx]
                diag["fallback"] = {"fields": [f.name for f in leftovers], "chars_read": len(ctx.text),
                                    "chars_total": len(view.text),
                                    "spans_read": [x.to_list() for x in Span.merge(c.source_span for c in picked)]}
            sub = Schema(schema.name, tuple(leftovers))
            g = run_generate(self.backend, sub, leftovers, views, fmt=o.prompt_format, max_repairs=o.max_repairs,
                             max_tokens=o.max_output_tokens, max_value_chars=o.max_value_chars,
                             ask=lambda rs: self._generate(rs, call))
            read = g.read
            if g.errors:
                diag["generate_errors"] = g.errors[:20]
            if g.dropped:  # fields that failed validation alone; the other fields of their chunk were kept
                diag["dropped_fields"] = dict(list(g.dropped.items())[:20])
            if g.cut:
                diag["cut_by_output_limit"] = g.cut
            call.failures.extend(f"generate {x}" for x in g.failed)
            many_paths = {f.name for f in leftovers if f.many}
            out.extend(self._merge([self._ground_raw(v, doc) for v in g.values], many_paths))
            cut = tuple(f.name for f in leftovers if (f.many and g.truncated) or f.name in g.cut)
            if self.mode == "generate":
                spans = Span.merge(c.source_span for c in all_chunks[:read]) if all_chunks else whole
                coverage = Coverage(len(views), read, len(doc.text), sum(len(x) for x in spans), cut, spans)
            elif cut:
                coverage = Coverage(coverage.chunks_total, coverage.chunks_read, coverage.chars_total,
                                    coverage.chars_read, cut, coverage.spans_read)

        labels = self._labels(doc, schema, view, call) if schema.labels and self.backend is not None else []
        entities = self._entities(doc, schema, view, call) if schema.entities and self.backend is not None else []
        relations = self._relations(doc, schema, view, entities, call) if schema.relations and len(entities) > 1 else []
        return out, labels, entities, relations, coverage

    def _from_span(self, f: Field, path: str, doc: Document, span: Span, score: float) -> Extraction:
        raw = doc.text[span.start : span.end]
        value, notes = normalize_value(f, raw)
        value = printed_value(f, raw, value)
        return Extraction(path, value if value is not None else raw, raw, (span,), Grounding.EXACT,
                          round(max(0.0, min(1.0, score)), 4), self.engine_name, 1.0, tuple(notes))

    def _ground_raw(self, v: RawValue, doc: Document) -> Extraction:
        f = v.field
        typed, notes = normalize_value(f, v.raw)
        al = ground_in_view(v.raw, v.view, doc.text, field_type=f.type, typed_value=typed)
        if f.type in (FieldType.BOOLEAN, FieldType.ENUM) or not f.extractive:
            status = al.status if al.status is not Grounding.UNGROUNDED else Grounding.INFERRED
            return Extraction(v.path, typed if typed is not None else v.raw, v.raw, al.spans, status,
                              0.5 * al.score + 0.25, self.engine_name, al.score, tuple(notes))
        spans: tuple[Span, ...] = ()
        if al.status is Grounding.FUZZY and al.score < self.options.fuzzy_threshold:
            al_status = Grounding.UNGROUNDED
        else:
            al_status, spans = al.status, al.spans
        conf = {Grounding.EXACT: 0.8, Grounding.NORMALIZED: 0.7, Grounding.FUZZY: 0.5 * al.score}.get(al_status, 0.0)
        value = typed if typed is not None else v.raw
        if f.as_printed and spans:  # as printed in the document, not as the model rewrote it
            printed = " ".join(doc.text[s.start : s.end] for s in spans)
            value = printed_value(f, printed, typed if typed is not None else printed)
        return Extraction(v.path, value, v.raw, spans, al_status, round(conf, 4), self.engine_name, al.score,
                          tuple(notes))

    @staticmethod
    def _merge(items: Sequence[Extraction], many_paths: set[str]) -> list[Extraction]:
        """Merge values across chunks: the best value per single-valued path; distinct values for lists."""
        best: dict[str, Extraction] = {}
        listed: dict[tuple[str, str], Extraction] = {}
        for x in items:
            if x.path in many_paths or "[" in x.path:
                key = (x.path, " ".join(str(x.value).lower().split()))
                cur = listed.get(key)
                if cur is None or (_RANK[x.grounding], x.confidence) > (_RANK[cur.grounding], cur.confidence):
                    listed[key] = x
                continue
            cur = best.get(x.path)
            if cur is None or (_RANK[x.grounding], x.confidence) > (_RANK[cur.grounding], cur.confidence):
                best[x.path] = x
        return [*best.values(), *listed.values()]

    def _labels(self, doc: Document, schema: Schema, view: TextView, call: _Call) -> list[Label]:
        assert self.backend is not None
        ctx_view, _, _ = select_context(doc, [ls.name for ls in schema.labels], self.options.context_tokens or 600, view=view)
        out = []
        chunks = chunk_view(view, 200)
        for ls in schema.labels:
            q, letters = prompts.label_question(ls.name, ls.labels, ls.description, self.options.prompt_format)
            caps = self.backend.capabilities
            req = Request((Message("system", prompts.SYSTEM), Message("user", prompts.document_block(ctx_view.text) + q)),
                          grammar=grammar_for(letters) if caps.grammar else None, max_tokens=1,
                          logprobs=40 if caps.logprobs else None, tag=f"label:{ls.name}")
            resp = self._generate([req], call)[0]
            from evidex.extract.choice import _letter_probs

            probs = _letter_probs(resp, letters) or {}
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

    def _entities(self, doc: Document, schema: Schema, view: TextView, call: _Call) -> list[Entity]:
        assert self.backend is not None
        types = {e.name: e.description for e in schema.entities}
        js = prompts.entities_schema(list(types))
        found: dict[tuple[int, int, str], Entity] = {}
        for ch in chunk_view(view, self.options.chunk_tokens, self.backend.count_tokens):
            req = Request((Message("system", prompts.SYSTEM), Message("user", prompts.entities_prompt(ch.view.text, types))),
                          json_schema=js if self.backend.capabilities.json_schema else None,
                          max_tokens=self.options.max_output_tokens, tag=f"entities:chunk{ch.index}")
            resp = self._generate([req], call)[0]
            try:
                obj = parse_json(resp.text)
            except ValueError as e:
                if not resp.truncated:  # cut off by the output limit: the mentions found so far are kept
                    call.failures.append(f"entities chunk {ch.index}: invalid JSON ({e})")
                obj = (salvage_json(resp.text) or ({}, ""))[0]
            for item in obj.get("entities", []) if isinstance(obj, dict) else []:
                if not isinstance(item, dict) or item.get("type") not in types or not isinstance(item.get("text"), str):
                    continue
                mention = item["text"].strip()
                if not mention:
                    continue
                # every exact occurrence in the chunk is a mention (entities are extractive)
                start = 0
                while (i := ch.view.text.find(mention, start)) >= 0:
                    src = ch.view.to_source(Span(i, i + len(mention)))
                    if doc.text[src.start : src.end] == mention:
                        found[(src.start, src.end, item["type"])] = Entity(item["type"], src, mention)
                    start = i + len(mention)
        return sorted(found.values(), key=lambda e: (e.span.start, e.type))


    def _relations(self, doc: Document, schema: Schema, view: TextView, entities: Sequence[Entity],
                   call: _Call) -> list[Relation]:
        """Relations between extracted entities, asked per chunk among the entities it holds; head and tail types
        are checked against the schema, evidence is the hull of the two mentions."""
        assert self.backend is not None
        rel_types = {r.name: (r.head, r.tail, r.description) for r in schema.relations}
        js = prompts.relations_schema(list(rel_types))
        out: dict[tuple[str, int, int], Relation] = {}
        for ch in chunk_view(view, self.options.chunk_tokens, self.backend.count_tokens):
            inside = [i for i, e in enumerate(entities) if ch.source_span.contains(e.span)]
            if len(inside) < 2:
                continue
            listing = [(k, entities[i].type, entities[i].text) for k, i in enumerate(inside)]
            req = Request((Message("system", prompts.SYSTEM),
                           Message("user", prompts.relations_prompt(ch.view.text, listing, rel_types, self.options.prompt_format))),
                          json_schema=js if self.backend.capabilities.json_schema else None,
                          max_tokens=self.options.max_output_tokens, tag=f"relations:chunk{ch.index}")
            resp = self._generate([req], call)[0]
            try:
                obj = parse_json(resp.text)
            except ValueError as e:
                if not resp.truncated:
                    call.failures.append(f"relations chunk {ch.index}: invalid JSON ({e})")
                obj = (salvage_json(resp.text) or ({}, ""))[0]
            for item in obj.get("relations", []) if isinstance(obj, dict) else []:
                if not isinstance(item, dict) or item.get("type") not in rel_types:
                    continue
                h, t = item.get("head"), item.get("tail")
                if not (isinstance(h, int) and isinstance(t, int) and 0 <= h < len(inside) and 0 <= t < len(inside)) or h == t:
                    continue
                head, tail = inside[h], inside[t]
                want_h, want_t, _ = rel_types[item["type"]]
                if entities[head].type != want_h or entities[tail].type != want_t:
                    continue  # type constraint of the schema
                hull = entities[head].span.union(entities[tail].span)
                out[(item["type"], head, tail)] = Relation(item["type"], head, tail, (hull,), 0.5)
        return list(out.values())


def internal_error(e: BaseException, path: str | None = None) -> InternalError:
    """An unexpected exception as a coded per-document error (the caller keeps the traceback)."""
    where = ""
    tb = traceback.extract_tb(e.__traceback__)
    if tb:
        last = tb[-1]
        where = f" in {last.name} ({last.filename.rsplit('/', 1)[-1]}:{last.lineno})"
    return InternalError(f"unexpected {type(e).__name__}{where}: {e}"[:500], path=path)


def _top(path: str) -> str:
    return path.split(".")[0].split("[")[0]


def _usage(responses: Sequence[Response], seconds: float) -> Usage:
    return Usage(len(responses), sum(r.tokens_in for r in responses), sum(r.tokens_out for r in responses), seconds)
