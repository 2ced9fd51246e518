"""Derived texts (Markdown renderings, compressed contexts, prompts) and their maps back to source offsets.

An :class:`OffsetMap` is a sequence of contiguous *segments* covering the view text. A segment maps
view range ``[vs, ve)`` to source range ``[ss, se)``:

* a **copy** segment (``ve - vs == se - ss``) maps character by character (the characters may be
  normalised, e.g. a newline shown as a space, but positions correspond one to one);
* an **insertion** (``ss == se``) is text that exists only in the view (Markdown markers, separators);
* a **coarse** segment (lengths differ: collapsed whitespace, a summary) maps any position inside it to
  the whole source range, so a span touching it widens to the range — never silently shrinks.

Maps compose: if ``b`` maps view C to B and ``a`` maps B to A, ``a.compose(b)`` maps C to A.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from evidex.model.span import Span


@dataclass(frozen=True, slots=True)
class Segment:
    vs: int
    ve: int
    ss: int
    se: int
    coarse: bool = False  # explicitly coarse even when the lengths happen to match

    @property
    def is_copy(self) -> bool:
        return not self.coarse and self.ve - self.vs == self.se - self.ss and self.ve > self.vs

    @property
    def is_insertion(self) -> bool:
        return self.ss == self.se


@dataclass(frozen=True)
class OffsetMap:
    segments: tuple[Segment, ...]
    view_length: int

    def __post_init__(self) -> None:
        pos = 0
        for s in self.segments:
            if s.vs != pos or s.ve < s.vs or s.se < s.ss or s.ss < 0:
                raise ValueError(f"segments must tile the view contiguously; bad segment {s} at {pos}")
            pos = s.ve
        if pos != self.view_length:
            raise ValueError(f"segments cover {pos} chars but the view has {self.view_length}")

    # ------------------------------------------------------------------ constructors
    @staticmethod
    def identity(n: int) -> OffsetMap:
        return OffsetMap((Segment(0, n, 0, n),) if n else (), n)

    # ------------------------------------------------------------------ mapping
    @cached_property
    def _vstarts(self) -> list[int]:
        return [s.vs for s in self.segments]

    def _seg_at(self, pos: int, *, for_end: bool) -> int:
        """Index of the segment holding view position ``pos`` (as a start, or as an exclusive end)."""
        if for_end:
            i = bisect.bisect_left(self._vstarts, pos) - 1
        else:
            i = bisect.bisect_right(self._vstarts, pos) - 1
        return max(0, min(i, len(self.segments) - 1))

    def source_pos(self, pos: int, *, for_end: bool = False) -> int:
        if not 0 <= pos <= self.view_length:
            raise IndexError(f"view position {pos} outside [0, {self.view_length}]")
        if not self.segments:
            return 0
        s = self.segments[self._seg_at(pos, for_end=for_end)]
        if s.is_copy:
            return s.ss + (pos - s.vs)
        if for_end:
            return s.se if pos > s.vs else s.ss
        return s.ss if pos < s.ve else s.se

    def to_source(self, span: Span) -> Span:
        """Map a view span to the smallest source span that covers everything it was derived from."""
        if span.end > self.view_length:
            raise IndexError(f"view span {span} beyond view length {self.view_length}")
        if span.empty:
            p = self.source_pos(span.start)
            return Span(p, p)
        i0 = self._seg_at(span.start, for_end=False)
        i1 = self._seg_at(span.end, for_end=True)
        lo: int | None = None
        hi: int | None = None
        for i in range(i0, i1 + 1):
            s = self.segments[i]
            a, b = max(span.start, s.vs), min(span.end, s.ve)
            if a >= b and s.vs != s.ve:
                continue
            if s.is_copy:
                x, y = s.ss + (a - s.vs), s.ss + (b - s.vs)
            else:
                x, y = s.ss, s.se
            if s.is_insertion:
                continue
            lo = x if lo is None else min(lo, x)
            hi = y if hi is None else max(hi, y)
        if lo is None or hi is None:  # only inserted text
            p = self.source_pos(span.start)
            return Span(p, p)
        return Span(lo, hi)

    def from_source(self, span: Span) -> Span | None:
        """The smallest view span showing every part of the source span that the view shows; None if absent."""
        lo: int | None = None
        hi: int | None = None
        for s in self.segments:
            if s.is_insertion:
                continue
            a, b = max(span.start, s.ss), min(span.end, s.se)
            if a > b or (a == b and not span.empty):
                continue
            if s.is_copy:
                x, y = s.vs + (a - s.ss), s.vs + (b - s.ss)
            else:
                x, y = s.vs, s.ve
            lo = x if lo is None else min(lo, x)
            hi = y if hi is None else max(hi, y)
        if lo is None or hi is None:
            return None
        return Span(lo, hi)

    def compose(self, inner: OffsetMap) -> OffsetMap:
        """``self`` maps B→A and ``inner`` maps C→B; return the map C→A."""
        out: list[Segment] = []
        for c in inner.segments:
            if c.is_copy:
                pos_c, pos_b = c.vs, c.ss
                while pos_b < c.se:
                    j = self._seg_at(pos_b, for_end=False)
                    s = self.segments[j]
                    stop_b = min(c.se, s.ve) if s.ve > pos_b else c.se
                    n = stop_b - pos_b
                    if s.is_copy:
                        ss = s.ss + (pos_b - s.vs)
                        out.append(Segment(pos_c, pos_c + n, ss, ss + n))
                    else:
                        out.append(Segment(pos_c, pos_c + n, s.ss, s.se, coarse=not s.is_insertion))
                    pos_c += n
                    pos_b = stop_b
            elif c.is_insertion:
                p = self.source_pos(c.ss) if self.segments else 0
                out.append(Segment(c.vs, c.ve, p, p))
            else:
                src = self.to_source(Span(c.ss, c.se))
                out.append(Segment(c.vs, c.ve, src.start, src.end, coarse=src.start != src.end))
        return OffsetMap(tuple(_coalesce(out)), inner.view_length)

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        return {
            "view_length": self.view_length,
            "segments": [[s.vs, s.ve, s.ss, s.se, 1] if s.coarse else [s.vs, s.ve, s.ss, s.se] for s in self.segments],
        }

    @staticmethod
    def from_dict(d: dict[str, Any]) -> OffsetMap:
        return OffsetMap(
            tuple(Segment(int(x[0]), int(x[1]), int(x[2]), int(x[3]), len(x) > 4 and bool(x[4])) for x in d["segments"]),
            int(d["view_length"]),
        )


def _coalesce(segs: Iterable[Segment]) -> list[Segment]:
    out: list[Segment] = []
    for s in segs:
        if s.ve == s.vs:
            continue
        if out:
            p = out[-1]
            if p.is_copy and s.is_copy and p.ve == s.vs and p.se == s.ss:
                out[-1] = Segment(p.vs, s.ve, p.ss, s.se)
                continue
            if p.is_insertion and s.is_insertion and p.ss == s.ss:
                out[-1] = Segment(p.vs, s.ve, p.ss, p.se)
                continue
        out.append(s)
    return out


@dataclass(frozen=True)
class TextView:
    """A derived text plus its map back to the source document's canonical text."""

    text: str
    map: OffsetMap
    doc_id: str | None = None

    def to_source(self, span: Span) -> Span:
        return self.map.to_source(span)

    def from_source(self, span: Span) -> Span | None:
        return self.map.from_source(span)

    def derive(self, child: TextView) -> TextView:
        """``child`` was built from this view's text; return it mapped straight to the source."""
        return TextView(child.text, self.map.compose(child.map), self.doc_id)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "map": self.map.to_dict(), "doc_id": self.doc_id}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> TextView:
        return TextView(d["text"], OffsetMap.from_dict(d["map"]), d.get("doc_id"))


@dataclass
class ViewBuilder:
    """Build a view text piece by piece, recording where each piece came from.

    >>> src = "Total: 12"
    >>> b = ViewBuilder(src)
    >>> b.insert("**"); b.copy(0, 5); b.insert("**"); b.copy(5, 9)
    >>> v = b.build(); v.text
    '**Total**: 12'
    >>> v.to_source(Span(2, 7))
    Span(start=0, end=5)
    """

    source: str
    parts: list[str] = field(default_factory=list)
    segs: list[Segment] = field(default_factory=list)
    pos: int = 0
    last_src: int = 0
    doc_id: str | None = None

    def copy(self, start: int, end: int) -> None:
        """Append ``source[start:end]`` verbatim (exact char mapping)."""
        if end <= start:
            return
        text = self.source[start:end]
        self._add(text, start, end)
        self.last_src = end

    def insert(self, text: str, at: int | None = None) -> None:
        """Append text that has no source (markup, separators), anchored at source position ``at``."""
        if not text:
            return
        p = self.last_src if at is None else at
        self._add(text, p, p)

    def replace(self, text: str, start: int, end: int) -> None:
        """Append ``text`` standing for ``source[start:end]`` (e.g. collapsed whitespace, an ellipsis).

        Same length means positional correspondence (e.g. a newline shown as a space); a different
        length gives a coarse segment that maps to the whole source range.
        """
        if not text:
            return
        self._add(text, start, end)
        self.last_src = end

    def _add(self, text: str, ss: int, se: int) -> None:
        self.parts.append(text)
        self.segs.append(Segment(self.pos, self.pos + len(text), ss, se))
        self.pos += len(text)

    @property
    def length(self) -> int:
        return self.pos

    def build(self) -> TextView:
        text = "".join(self.parts)
        return TextView(text, OffsetMap(tuple(_coalesce(self.segs)), len(text)), self.doc_id)


def view_of(source: str, pieces: Sequence[tuple[str, Span | None]]) -> TextView:
    """Convenience: build a view from ``(text, source_span_or_None)`` pieces."""
    b = ViewBuilder(source)
    for text, span in pieces:
        if span is None:
            b.insert(text)
        else:
            b.replace(text, span.start, span.end)
    return b.build()
