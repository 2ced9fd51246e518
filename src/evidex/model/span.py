"""Half-open character spans into a document's canonical text."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """``[start, end)`` character offsets into ``Document.text``.

    >>> Span(2, 5).overlaps(Span(4, 9))
    True
    """

    start: int
    end: int

    def __post_init__(self) -> None:
        if not isinstance(self.start, int) or not isinstance(self.end, int):
            raise TypeError("Span offsets must be ints")
        if self.start < 0 or self.end < self.start:
            raise ValueError(f"invalid span [{self.start}, {self.end})")

    def __len__(self) -> int:
        return self.end - self.start

    @property
    def empty(self) -> bool:
        return self.start == self.end

    def contains(self, other: Span) -> bool:
        return self.start <= other.start and other.end <= self.end

    def contains_pos(self, pos: int) -> bool:
        return self.start <= pos < self.end

    def overlaps(self, other: Span) -> bool:
        """True when the spans share at least one character (an empty span overlaps nothing)."""
        return self.start < other.end and other.start < self.end and self.start < self.end and other.start < other.end

    def intersection(self, other: Span) -> Span | None:
        s, e = max(self.start, other.start), min(self.end, other.end)
        return Span(s, e) if s < e else None

    def union(self, other: Span) -> Span:
        """Smallest span covering both (the hull)."""
        return Span(min(self.start, other.start), max(self.end, other.end))

    def shift(self, delta: int) -> Span:
        return Span(self.start + delta, self.end + delta)

    def slice(self, text: str) -> str:
        return text[self.start : self.end]

    def to_list(self) -> list[int]:
        return [self.start, self.end]

    @staticmethod
    def merge(spans: Iterable[Span]) -> tuple[Span, ...]:
        """Sort and merge overlapping or touching spans."""
        out: list[Span] = []
        for s in sorted(spans):
            if out and s.start <= out[-1].end:
                if s.end > out[-1].end:
                    out[-1] = Span(out[-1].start, s.end)
            else:
                out.append(s)
        return tuple(out)
