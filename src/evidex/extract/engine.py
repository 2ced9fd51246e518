"""The extraction engine: assembles the named stages once, then runs the per-document plan.

``Extractor(backend, options)`` resolves every open choice through the registries (mode, selector, proposer,
scorer, generator, grounder — see :mod:`evidex.extract.stages`), checks that each part gets what it needs from
the backend *before any model call*, and then, per document: builds the shared context (one view, chunked once
per size), runs the mode's plan, adds labels, entities and relations, and turns the outcome into a
:class:`~evidex.model.Result`. It never raises for a document: backend failures, unusable model output, a
passed deadline and bugs in a stage become ``Result.error`` with a stable code.
"""

from __future__ import annotations

import dataclasses
import time
import traceback
from collections.abc import Sequence
from typing import Any

from evidex import registry
from evidex.backends import Backend, Response
from evidex.errors import (
    BackendError,
    BackendTimeoutError,
    DeadlineExceededError,
    EvidexError,
    InternalError,
    ModelOutputError,
)
from evidex.extract import annotate
from evidex.extract.options import STAGE_ROLES, ExtractOptions
from evidex.extract.stages import Call, DocContext, Mode, ModeOutcome, Stages, check_requirements
from evidex.model import Document, Grounding, Result, Schema, Usage
from evidex.select.base import Reading

# "auto" picks a registered part from what the backend declares, never from its name. The scorer: the packaged
# prior-anchored student (no model call, same candidates), which beats the hand-written prior (itself better than
# re-ranking with the 270M model, §2.3) on schemas it never saw: F1 better or equal on every left-out dataset, value
# ECE better on SROIE and SWDE, not significantly different on Kleister-NDA (docs/benchmarks.md "List-field extras
# and out-of-dataset calibration")
AUTO_SCORER = "student"


def resolve_mode(mode: str, backend: Backend | None) -> str:
    """``auto`` → ``rules`` without a backend, ``choice`` for a backend declaring ``small_model``, else ``generate``."""
    if mode != "auto":
        return mode
    if backend is None:
        return "rules"
    return "choice" if backend.capabilities.small_model else "generate"


def build_stages(options: ExtractOptions) -> Stages:
    """Instantiate the stages named in ``options`` with their validated options."""
    parts: dict[str, Any] = {}
    for role in STAGE_ROLES:
        name, opts = options.stage(role)
        if role == "scorer" and name == "auto":
            name = AUTO_SCORER
        parts[role] = registry.STAGE_REGISTRIES[role].create(name, opts)
    return Stages(**parts)


class Extractor:
    def __init__(self, backend: Backend | None, options: ExtractOptions | None = None, *, engine_name: str = "") -> None:
        self.backend = backend
        self.options = options or ExtractOptions()
        self.mode = resolve_mode(self.options.mode, backend)
        self.plan: Mode = registry.modes.create(self.mode)
        self.stages = build_stages(self.options)
        check_requirements(self.plan, self.stages, backend)
        self.engine_name = engine_name or (f"{self.mode}:{backend.name}" if backend is not None else self.mode)

    def versions(self) -> dict[str, str]:
        """``role → name@version`` of the mode and every stage (recorded in pipeline specs)."""
        return {"mode": f"{self.plan.name}@{self.plan.version}", **self.stages.versions()}

    # ------------------------------------------------------------------ public
    def extract(self, doc: Document, schema: Schema) -> Result:
        """Extract one document. Never raises for a document (see the module docstring)."""
        t0 = time.monotonic()
        limit = self.options.deadline_s or None
        call = Call(deadline=None if limit is None else t0 + limit, deadline_s=limit)
        count = self.backend.count_tokens if self.backend is not None else None
        reading = Reading(doc, count=count) if count is not None else Reading(doc)
        ctx = DocContext(doc, schema, self.backend, self.options, self.stages, reading, self.engine_name, call,
                         {"mode": self.mode})
        try:
            outcome = self.plan.run(ctx)
            annotations = self._annotate(ctx)
        except Exception as e:
            return self._failed(ctx, e, t0)
        return self._result(ctx, outcome, annotations, t0)

    # ------------------------------------------------------------------ internals
    def _annotate(self, ctx: DocContext) -> tuple[list[Any], list[Any], list[Any]]:
        schema = ctx.schema
        if self.backend is None:
            return [], [], []
        labels = annotate.labels(ctx) if schema.labels else []
        entities = annotate.entities(ctx) if schema.entities else []
        relations = annotate.relations(ctx, entities) if schema.relations and len(entities) > 1 else []
        return labels, entities, relations

    def _failed(self, ctx: DocContext, e: Exception, t0: float) -> Result:
        usage = _usage(ctx.call.responses, time.monotonic() - t0)
        if isinstance(e, BackendError):
            if isinstance(e, BackendTimeoutError) and not isinstance(e, DeadlineExceededError) \
                    and ctx.call.deadline is not None and (ctx.call.left() or 0.0) <= 0.05:
                e = ctx.call.deadline_error(str(e.message))
            return Result(ctx.doc.id, ctx.source, usage=usage, error=e.to_dict(), diagnostics=ctx.diagnostics)
        if isinstance(e, EvidexError):  # e.g. a configuration problem found late: still this document only
            return Result(ctx.doc.id, ctx.source, usage=usage, error=e.to_dict(), diagnostics=ctx.diagnostics)
        # a bug in a stage: this document fails alone, the traceback is kept
        return Result(ctx.doc.id, ctx.source, usage=usage, error=internal_error(e, ctx.source).to_dict(),
                      diagnostics={**ctx.diagnostics, "traceback": traceback.format_exc()[-20000:]})

    def _result(self, ctx: DocContext, outcome: ModeOutcome, annotations: tuple[list[Any], list[Any], list[Any]],
                t0: float) -> Result:
        diagnostics, schema = ctx.diagnostics, ctx.schema
        extractions = outcome.extractions
        if not self.options.keep_ungrounded:
            dropped = [x.path for x in extractions if x.grounding is Grounding.UNGROUNDED]
            if dropped:
                diagnostics["dropped_ungrounded"] = dropped
            extractions = [x for x in extractions if x.grounding is not Grounding.UNGROUNDED]
        bar = self.options.review_threshold
        extractions = [dataclasses.replace(x, review=True) if x.confidence < bar and not x.review else x
                       for x in extractions]
        missing = [f.name for f in schema.fields if f.required and not any(_top(x.path) == f.name for x in extractions)]
        if missing:
            diagnostics["missing_required"] = missing
        error = None
        failures = ctx.call.failures
        if failures:
            # the model could not produce usable output (after the bounded re-ask): a coded per-document failure,
            # never "ok" with silently missing values; whatever other parts yielded is kept for inspection
            diagnostics["model_output_failures"] = failures[:20]
            n = len(failures)
            error = ModelOutputError(f"{n} model answer{'s' if n > 1 else ''} could not be used: {failures[0]}"[:500],
                                     path=ctx.source).to_dict()
        labels, entities, relations = annotations
        return Result(doc_id=ctx.doc.id, source=ctx.source, extractions=tuple(extractions), entities=tuple(entities),
                      relations=tuple(relations), labels=tuple(labels),
                      usage=_usage(ctx.call.responses, time.monotonic() - t0), coverage=outcome.coverage,
                      error=error, diagnostics=diagnostics)


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


__all__ = ["ExtractOptions", "Extractor", "build_stages", "internal_error", "resolve_mode"]
