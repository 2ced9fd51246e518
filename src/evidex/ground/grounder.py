"""The ``Grounder`` stage: the one policy that turns a value into an :class:`~evidex.model.Extraction`.

Both kinds of value go through it: a candidate span chosen by a scorer (``from_span``: grounded by construction)
and a value a model wrote (``from_raw``: aligned in the text the model read, then mapped back). Normalisation,
grounding status, evidence and confidence come from :func:`evidex.ground.validate.make_extraction`, so a value
gets the same treatment whichever stage produced it. Registered by name (entry-point group ``evidex.grounders``);
``evidence`` is the built-in.
"""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

from pydantic import Field as PydanticField

from evidex.ground.validate import make_extraction
from evidex.model import Document, Extraction, Field, Span, TextView
from evidex.registry import Options


@runtime_checkable
class Grounder(Protocol):
    name: ClassVar[str]
    version: ClassVar[str]

    def from_span(self, field: Field, path: str, doc: Document, span: Span, score: float, *,
                  engine: str) -> Extraction:
        """A value that *is* a span of ``doc.text`` (e.g. a chosen candidate), with the engine's score."""
        ...

    def from_raw(self, field: Field, path: str, raw: object, doc: Document, *, engine: str,
                 view: TextView | None = None, hint: Span | None = None, confidence: float = 1.0) -> Extraction:
        """A value written by a model after reading ``view`` (``hint``: the part of the view it came from)."""
        ...


class EvidenceOptions(Options):
    fuzzy_threshold: float = PydanticField(default=0.8, ge=0.0, le=1.0)  # below this similarity: ungrounded
    dayfirst: bool | None = None  # how to read 03/04/2024 (None: from the document's other dates)


class EvidenceGrounder:
    """Normalise to the field's type, align exact → normalized → fuzzy in the text that was read, and discount the
    engine's confidence by how well the value is supported (see :func:`make_extraction`)."""

    name: ClassVar[str] = "evidence"
    version: ClassVar[str] = "1"
    Options: ClassVar[type[EvidenceOptions]] = EvidenceOptions

    def __init__(self, options: EvidenceOptions | None = None) -> None:
        self.o = options or EvidenceOptions()

    def from_span(self, field: Field, path: str, doc: Document, span: Span, score: float, *,
                  engine: str) -> Extraction:
        return make_extraction(path, field, span.slice(doc.text), doc.text, engine=engine, hint=span,
                               confidence=max(0.0, min(1.0, score)), dayfirst=self.o.dayfirst,
                               fuzzy_threshold=self.o.fuzzy_threshold)

    def from_raw(self, field: Field, path: str, raw: object, doc: Document, *, engine: str,
                 view: TextView | None = None, hint: Span | None = None, confidence: float = 1.0) -> Extraction:
        return make_extraction(path, field, raw, doc.text, engine=engine, hint=hint, confidence=confidence,
                               view=view, dayfirst=self.o.dayfirst, fuzzy_threshold=self.o.fuzzy_threshold)


__all__ = ["EvidenceGrounder", "Grounder"]
