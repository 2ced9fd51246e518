"""The ``Selector`` stage: which text a model or scorer reads, under a token budget, mapped back to the source.

A selector gets a :class:`Reading` — one document's view and its chunkings, each computed once and shared by
every stage of a document — and returns a :class:`Selection`: the views to read (each maps to ``Document.text``)
and the coverage ledger (which source spans were read, how many chunks of how many). Selectors are registered by
name (entry-point group ``evidex.selectors``); ``relevant`` is the built-in.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from evidex.model import Document, OffsetMap, Span, TextView
from evidex.registry import Options
from evidex.select.chunk import Chunk, approx_tokens, chunk_view, concat_views, pack_chunks
from evidex.select.views import markdown_view

Tokenizer = Callable[[str], int]


class Reading:
    """One document as stages read it: the Markdown view and its chunkings (one per chunk size, cached)."""

    def __init__(self, doc: Document, view: TextView | None = None, count: Tokenizer = approx_tokens) -> None:
        self.doc = doc
        self.view = view if view is not None else markdown_view(doc)
        self.count = count
        self._chunks: dict[int, list[Chunk]] = {}

    def chunks(self, max_tokens: int) -> list[Chunk]:
        got = self._chunks.get(max_tokens)
        if got is None:
            got = self._chunks[max_tokens] = chunk_view(self.view, max_tokens, self.count)
        return got


@dataclass(frozen=True)
class Selection:
    views: tuple[TextView, ...]  # what the reader sees, in reading order; each maps to Document.text
    spans_read: tuple[Span, ...] = ()  # merged source spans behind the views
    chunks_total: int = 0
    chunks_read: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # selector-specific notes for the diagnostics

    @property
    def chars_read(self) -> int:
        return sum(len(s) for s in self.spans_read)

    def ledger(self) -> dict[str, Any]:
        """The coverage ledger as written to a result's diagnostics."""
        return {"chunks_total": self.chunks_total, "chunks_read": self.chunks_read, "chars_read": self.chars_read,
                "spans_read": [s.to_list() for s in self.spans_read], **self.extra}


@runtime_checkable
class Selector(Protocol):
    name: ClassVar[str]
    version: ClassVar[str]

    def select(self, reading: Reading, queries: Sequence[str], budget: int | None, *, chunk_tokens: int) -> Selection:
        """Views to read for ``queries`` within ``budget`` tokens (``None``: the whole document, chunk by chunk)."""
        ...


class RelevantOptions(Options):
    first_chunk_bonus: float = 0.5  # titles and parties usually live in the first chunk


class RelevantSelector:
    """Structure-aware chunks (never splitting a table row; headers repeated) ranked by BM25 against the queries
    and packed in document order within the budget; with no budget, every chunk is read as its own view."""

    name: ClassVar[str] = "relevant"
    version: ClassVar[str] = "1"
    Options: ClassVar[type[RelevantOptions]] = RelevantOptions

    def __init__(self, options: RelevantOptions | None = None) -> None:
        self.o = options or RelevantOptions()

    def select(self, reading: Reading, queries: Sequence[str], budget: int | None, *, chunk_tokens: int) -> Selection:
        chunks = reading.chunks(chunk_tokens)
        if not chunks:
            return Selection((reading.view,) if reading.view.text else (), (), 0, 0)
        if budget is None:
            return Selection(tuple(c.view for c in chunks), tuple(Span.merge(c.source_span for c in chunks)),
                             len(chunks), len(chunks))
        picked = pack_chunks(chunks, queries, budget, first_bonus=self.o.first_chunk_bonus)
        seps = ["\n\n" if c.index == prev.index + 1 else "\n…\n" for prev, c in itertools.pairwise(picked)]
        view = concat_views([c.view for c in picked], seps) if picked else TextView("", OffsetMap((), 0), None)
        return Selection((view,), tuple(Span.merge(c.source_span for c in picked)), len(chunks), len(picked))


__all__ = ["Reading", "RelevantSelector", "Selection", "Selector"]
