"""Built-in scorers: per field, a distribution over the proposer's candidates and a decision.

* ``prior`` — the hand-written prior (key/label cues, type fit, layout, position): no model call.
* ``choice`` — the model answers one multiple-choice question per field (its next-token distribution over
  the option letters, contextually calibrated), mixed with the prior by ``prior_weight``.
* ``pmi`` — the model scores each candidate as a continuation after the field's cue and after a neutral cue
  (pointwise mutual information); needs a backend that scores continuations.

The model scorers read a shared document context chosen by the pipeline's selector within ``context_tokens``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from evidex.extract.candidates import Candidate
from evidex.extract.choice import Choice, build_requests, decide
from evidex.extract.stages import DocContext
from evidex.model import Field
from evidex.registry import Options

CONTEXT_CHUNK_TOKENS = 384  # chunk size of the context shown to model scorers


class PriorScorer:
    name: ClassVar[str] = "prior"
    version: ClassVar[str] = "1"
    requires: ClassVar[frozenset[str]] = frozenset()
    Options: ClassVar[type[Options]] = Options

    def __init__(self, options: object = None) -> None:
        pass

    def choose(self, ctx: DocContext, fields: Sequence[Field], candidates: Sequence[Candidate]) -> list[Choice]:
        o = ctx.options
        plans, _ = build_requests(fields, candidates, "", backend=None, top_k=o.top_k, fmt=o.prompt_format)
        return decide(plans, None, prior_weight=1.0, min_score=o.min_score)


class _ModelScorer:
    method: ClassVar[str] = "choice"
    Options: ClassVar[type[Options]] = Options

    def __init__(self, options: object = None) -> None:
        pass

    def choose(self, ctx: DocContext, fields: Sequence[Field], candidates: Sequence[Candidate]) -> list[Choice]:
        o = ctx.options
        context = ""
        if o.context_tokens > 0 and fields:
            sel = ctx.select([f"{f.name} {f.description}" for f in fields], o.context_tokens,
                             chunk_tokens=CONTEXT_CHUNK_TOKENS)
            context = sel.views[0].text if sel.views else ""
            ctx.diagnostics["model_context"] = {k: v for k, v in sel.ledger().items() if k != "chars_read"}
        plans, reqs = build_requests(fields, candidates, context, backend=ctx.backend, top_k=o.top_k,
                                     fmt=o.prompt_format, scorer=self.method)
        resps = ctx.ask(reqs) if reqs else None
        return decide(plans, resps, prior_weight=o.prior_weight if resps else 1.0, min_score=o.min_score)


class ChoiceScorer(_ModelScorer):
    name: ClassVar[str] = "choice"
    version: ClassVar[str] = "1"
    requires: ClassVar[frozenset[str]] = frozenset({"backend"})
    method = "choice"


class PmiScorer(_ModelScorer):
    name: ClassVar[str] = "pmi"
    version: ClassVar[str] = "1"
    requires: ClassVar[frozenset[str]] = frozenset({"backend", "scoring"})
    method = "pmi"


__all__ = ["ChoiceScorer", "PmiScorer", "PriorScorer"]
