"""The stages of extraction behind small protocols, and the per-document context they share.

A pipeline is assembled from named, registered parts (entry-point groups in ``pyproject.toml``; built-ins are
registered the same way as plugins):

* a **mode** (:class:`Mode`) — the per-document plan: which stages run, in which order (``choice``,
  ``generate``, ``rules``);
* a **selector** (:class:`~evidex.select.base.Selector`) — what text a model or scorer reads, with coverage;
* a **proposer** (:class:`Proposer`) — candidate spans of the canonical text;
* a **scorer** (:class:`Scorer`) — per field, a distribution over its candidates and a decision (the built-in
  ``prior``; ``choice`` and ``pmi`` re-rank with a model);
* a **generator** (:class:`Generator`) — values written by a model from selected views;
* a **grounder** (:class:`~evidex.ground.grounder.Grounder`) — the one policy from a value to an Extraction.

Each part declares what it ``requires`` of the backend (``backend``, ``scoring``, ``logprobs``, ``json_schema``,
``grammar``); :func:`check_requirements` verifies it when the pipeline is assembled, before any model call.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from evidex.backends import Backend, Request, Response
from evidex.errors import ConfigError, DeadlineExceededError
from evidex.extract.candidates import Candidate
from evidex.extract.choice import Choice
from evidex.extract.generate import GenerateOutcome
from evidex.extract.options import ExtractOptions
from evidex.ground.grounder import Grounder
from evidex.model import Coverage, Document, Extraction, Field, Schema, TextView
from evidex.select.base import Reading, Selection, Selector

CAPABILITIES = ("scoring", "logprobs", "json_schema", "grammar")


@runtime_checkable
class Proposer(Protocol):
    name: ClassVar[str]
    version: ClassVar[str]

    def propose(self, doc: Document) -> Sequence[Candidate]:
        """Candidate spans of ``doc.text`` (each with its kind, cues and structure context)."""
        ...


@runtime_checkable
class Scorer(Protocol):
    name: ClassVar[str]
    version: ClassVar[str]
    requires: ClassVar[frozenset[str]]

    def choose(self, ctx: DocContext, fields: Sequence[Field], candidates: Sequence[Candidate]) -> list[Choice]:
        """One :class:`Choice` per field: the ranked options with scores and the decision (or none)."""
        ...


@runtime_checkable
class Generator(Protocol):
    name: ClassVar[str]
    version: ClassVar[str]
    requires: ClassVar[frozenset[str]]

    def generate(self, ctx: DocContext, fields: Sequence[Field], views: Sequence[TextView]) -> GenerateOutcome:
        """Values for ``fields`` written by the model after reading each view (one answer per view)."""
        ...


@dataclass(frozen=True)
class ModeOutcome:
    extractions: list[Extraction]
    coverage: Coverage


@runtime_checkable
class Mode(Protocol):
    name: ClassVar[str]
    version: ClassVar[str]
    uses: ClassVar[tuple[str, ...]]  # stage roles this plan calls
    needs_backend: ClassVar[bool]

    def run(self, ctx: DocContext) -> ModeOutcome: ...


@dataclass(frozen=True)
class Stages:
    """The assembled parts of one pipeline."""

    selector: Selector
    proposer: Proposer
    scorer: Scorer
    generator: Generator
    grounder: Grounder

    def versions(self) -> dict[str, str]:
        """``role → name@version``, with ``+DIGEST`` for a part that runs a trained model (its ``model_digest``):
        a spec made with one student is refused by a pipeline holding another."""
        out = {}
        for role in ("selector", "proposer", "scorer", "generator", "grounder"):
            part = getattr(self, role)
            digest = getattr(part, "model_digest", "")
            out[role] = f"{part.name}@{part.version}" + (f"+{digest}" if digest else "")
        return out


def check_requirements(mode: Mode, stages: Stages, backend: Backend | None) -> None:
    """Fail before any model call when a part of the plan needs something the backend does not have."""
    problems = []
    if mode.needs_backend and backend is None:
        problems.append(f"mode {mode.name!r} needs a backend")
    for role in mode.uses:
        part = getattr(stages, role)
        needs: frozenset[str] = getattr(part, "requires", frozenset())
        if not needs:
            continue
        if backend is None:
            problems.append(f"{role} {part.name!r} needs a backend")
            continue
        missing = [c for c in sorted(needs & set(CAPABILITIES)) if not getattr(backend.capabilities, c)]
        if missing:
            problems.append(f"{role} {part.name!r} needs a backend with {', '.join(missing)}; "
                            f"backend {backend.name!r} does not declare it")
    if problems:
        raise ConfigError("the pipeline cannot run: " + "; ".join(problems),
                          hint="choose another mode or stage (e.g. --mode rules without a model, --scorer prior or "
                               "choice with a server that cannot score continuations)")


@dataclass
class Call:
    """The state of one document's extraction: the model's responses so far and the document's deadline."""

    responses: list[Response] = field(default_factory=list)
    deadline: float | None = None  # time.monotonic() value
    deadline_s: float | None = None
    failures: list[str] = field(default_factory=list)  # model output that could not be used

    def left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def deadline_error(self, detail: str = "") -> DeadlineExceededError:
        used = time.monotonic() - (self.deadline or 0.0) + (self.deadline_s or 0.0)
        more = f"; {detail}" if detail else ""
        return DeadlineExceededError(f"the document's deadline of {self.deadline_s:g}s ran out after {used:.1f}s and "
                                     f"{len(self.responses)} model calls{more}")


@dataclass
class DocContext:
    """Everything the stages of one document share: the document, its reading (view + chunkings, computed once),
    the backend and options, the assembled stages, the model calls so far and the diagnostics."""

    doc: Document
    schema: Schema
    backend: Backend | None
    options: ExtractOptions
    stages: Stages
    reading: Reading
    engine_name: str
    call: Call = field(default_factory=Call)
    diagnostics: dict[str, Any] = field(default_factory=dict)
    _candidates: list[Candidate] | None = None

    @property
    def source(self) -> str:
        return self.doc.source.path or self.doc.source.name

    def ask(self, requests: Sequence[Request]) -> list[Response]:
        """Call the model; with a deadline, one request at a time, each bounded by the time that is left."""
        if self.backend is None:
            raise ConfigError("a stage asked for a model but the pipeline has no backend")
        if self.call.deadline is None:
            out = self.backend.generate(requests)
            self.call.responses.extend(out)
            return out
        out = []
        for r in requests:
            left = self.call.left() or 0.0
            if left <= 0.0:
                raise self.call.deadline_error()
            bound = left if r.timeout_s is None else min(r.timeout_s, left)
            (resp,) = self.backend.generate([dataclasses.replace(r, timeout_s=bound)])
            self.call.responses.append(resp)
            out.append(resp)
        return out

    def candidates(self) -> list[Candidate]:
        """The proposer's candidates (computed once per document)."""
        if self._candidates is None:
            self._candidates = list(self.stages.proposer.propose(self.doc))
        return self._candidates

    def select(self, queries: Sequence[str], budget: int | None, *, chunk_tokens: int) -> Selection:
        return self.stages.selector.select(self.reading, queries, budget, chunk_tokens=chunk_tokens)

    def count_tokens(self, text: str) -> int:
        return self.reading.count(text)


__all__ = ["CAPABILITIES", "Call", "DocContext", "Generator", "Mode", "ModeOutcome", "Proposer", "Scorer", "Stages",
           "check_requirements"]
