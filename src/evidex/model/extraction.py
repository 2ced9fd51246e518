"""Extracted values with their evidence, and per-document results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from evidex.model.span import Span


class Grounding(StrEnum):
    """How a value is supported by the text: where it is printed, not whether it is the answer (that is the
    confidence)."""

    EXACT = "exact"  # the value's text occurs verbatim at the evidence span
    NORMALIZED = "normalized"  # equal after case/whitespace/punctuation/number/date normalisation
    FUZZY = "fuzzy"  # approximately equal (score in ``Extraction.score``)
    INFERRED = "inferred"  # not a substring, but supported by the evidence (e.g. a boolean, a label)
    UNGROUNDED = "ungrounded"  # no support found: never present this as a fact


@dataclass(frozen=True)
class Extraction:
    """One leaf value.

    ``path`` addresses the field: ``total``, ``line_items[2].amount``; ``value`` is typed (``str``, ``int``,
    ``Decimal``, ISO date ``str``, ``{"amount": Decimal, "currency": str}``, ``bool``); ``raw`` is what the
    engine produced before normalisation; ``evidence`` holds spans into ``Document.text``. ``grounding`` says
    where the value is printed; ``confidence`` how likely it is the answer (a probability when the scorer is
    calibrated); ``review`` marks a value under the pipeline's review threshold, or one a model inferred (not
    printed) with no calibrated confidence: shown for a person to check, not as a fact.
    """

    path: str
    value: Any
    raw: str
    evidence: tuple[Span, ...]
    grounding: Grounding
    confidence: float
    engine: str
    score: float = 1.0  # alignment score (1.0 exact; fuzzy < 1)
    notes: tuple[str, ...] = ()
    review: bool = False  # under the review threshold, or an uncalibrated inference: a person should check it


@dataclass(frozen=True)
class Entity:
    type: str
    span: Span
    text: str
    confidence: float = 1.0


@dataclass(frozen=True)
class Relation:
    type: str
    head: int  # index into Result.entities
    tail: int
    evidence: tuple[Span, ...] = ()
    confidence: float = 1.0


@dataclass(frozen=True)
class Label:
    name: str  # the label set
    value: str
    evidence: tuple[Span, ...] = ()
    confidence: float = 1.0


@dataclass(frozen=True)
class Usage:
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    seconds: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.calls + other.calls,
            self.tokens_in + other.tokens_in,
            self.tokens_out + other.tokens_out,
            self.seconds + other.seconds,
        )


@dataclass(frozen=True)
class Coverage:
    """Which parts of a document an engine read, and whether an output limit cut anything short."""

    chunks_total: int = 0
    chunks_read: int = 0
    chars_total: int = 0
    chars_read: int = 0
    truncated_fields: tuple[str, ...] = ()
    spans_read: tuple[Span, ...] = ()  # the parts of Document.text that were read, merged and sorted


@dataclass(frozen=True)
class Result:
    """What one document yielded: grounded extractions (and entities, relations, labels), usage, the coverage of
    what was read, a coded ``error`` when the document failed, diagnostics, and the hash of the pipeline spec."""

    doc_id: str
    source: str
    extractions: tuple[Extraction, ...] = ()
    entities: tuple[Entity, ...] = ()
    relations: tuple[Relation, ...] = ()
    labels: tuple[Label, ...] = ()
    usage: Usage = Usage()
    coverage: Coverage = Coverage()
    error: Mapping[str, Any] | None = None
    diagnostics: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    spec: str = ""  # hash of the PipelineSpec that made this result ("" when made outside a pipeline)

    @property
    def ok(self) -> bool:
        return self.error is None

    def values(self) -> dict[str, Any]:
        """``{path: value}`` for grounded extractions (lists collect several values)."""
        out: dict[str, Any] = {}
        for e in self.extractions:
            if e.grounding is Grounding.UNGROUNDED:
                continue
            if e.path in out:
                prev = out[e.path]
                out[e.path] = [*prev, e.value] if isinstance(prev, list) else [prev, e.value]
            else:
                out[e.path] = e.value
        return out
