"""Page layout from positioned words: words → lines → reading order (XY-cut) → blocks → heading levels.

Shared by the PDF parser (words from the pdfium text layer, or OCR for text-less pages) and the image
parser (OCR words). All boxes use a top-left origin in page units (PDF points or pixels).

Reading order is a recursive XY-cut over line boxes, independent of content-stream order:

1. if a vertical gutter (a gap wider than about one em that no line crosses) splits the region, and the
   split does not look like the rows of a key/value grid, read the columns left to right;
2. otherwise split the region into horizontal bands at every vertical gap, and merge consecutive bands
   that share a gutter (the body of a multi-column page) so their columns are read one after another;
   bands without a gutter (titles, full-width paragraphs) are read top to bottom.
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

__all__ = ["Block", "Line", "Word", "group_blocks", "heading_levels", "reading_order", "words_to_lines"]


@dataclass(slots=True)
class Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    size: float  # font size (or box height for OCR)
    bold: bool = False
    hidden: bool = False
    conf: float | None = None


@dataclass(slots=True)
class Line:
    words: list[Word]
    x0: float = 0.0
    y0: float = 0.0
    x1: float = 0.0
    y1: float = 0.0
    size: float = 0.0
    bold: bool = False
    hidden: bool = False

    def __post_init__(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        ws = self.words
        self.x0 = min(w.x0 for w in ws)
        self.y0 = min(w.y0 for w in ws)
        self.x1 = max(w.x1 for w in ws)
        self.y1 = max(w.y1 for w in ws)
        n = sum(len(w.text) for w in ws) or 1
        self.size = sum(w.size * len(w.text) for w in ws) / n
        self.bold = sum(len(w.text) for w in ws if w.bold) * 2 > n
        self.hidden = all(w.hidden for w in ws)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def chars(self) -> int:
        return sum(len(w.text) for w in self.words)


@dataclass(slots=True)
class Block:
    lines: list[Line] = field(default_factory=list)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        return (
            min(ln.x0 for ln in self.lines),
            min(ln.y0 for ln in self.lines),
            max(ln.x1 for ln in self.lines),
            max(ln.y1 for ln in self.lines),
        )

    @property
    def text(self) -> str:
        return "\n".join(ln.text for ln in self.lines)

    @property
    def size(self) -> float:
        return self.lines[0].size

    @property
    def bold(self) -> bool:
        return all(ln.bold for ln in self.lines)


class Boxed(Protocol):
    @property
    def x0(self) -> float: ...
    @property
    def y0(self) -> float: ...
    @property
    def x1(self) -> float: ...
    @property
    def y1(self) -> float: ...


T = TypeVar("T", bound=Boxed)


# ---------------------------------------------------------------------------------------------- lines
def words_to_lines(words: Sequence[Word], gap_factor: float = 1.5) -> list[Line]:
    """Group words into lines by vertical overlap, then split each row at horizontal gaps wider than
    ``gap_factor`` × font size (so the two columns of a page never share a line)."""
    rows: list[tuple[float, float, list[Word]]] = []  # (y0, y1, words)
    for w in sorted(words, key=lambda w: ((w.y0 + w.y1) / 2, w.x0)):
        h = max(w.y1 - w.y0, 1e-6)
        best, best_ov = -1, 0.0
        for k in range(len(rows) - 1, max(-1, len(rows) - 6), -1):
            ry0, ry1, rw = rows[k]
            if rw[0].hidden != w.hidden:
                continue
            ov = min(ry1, w.y1) - max(ry0, w.y0)
            if ov > 0.5 * min(h, ry1 - ry0) and ov > best_ov:
                best, best_ov = k, ov
        if best >= 0:
            ry0, ry1, rw = rows[best]
            rw.append(w)
            rows[best] = (min(ry0, w.y0), max(ry1, w.y1), rw)
        else:
            rows.append((w.y0, w.y1, [w]))
    lines: list[Line] = []
    for _, _, rw in rows:
        rw.sort(key=lambda w: w.x0)
        seg: list[Word] = [rw[0]]
        right = rw[0].x1
        for w in rw[1:]:
            size = max(seg[-1].size, w.size, 1e-6)
            if w.x0 - right > gap_factor * size:
                lines.append(Line(seg))
                seg = [w]
                right = w.x1
            else:
                seg.append(w)
                right = max(right, w.x1)
        lines.append(Line(seg))
    return lines


# ---------------------------------------------------------------------------------------------- order
def _x_groups(items: Sequence[T], min_gap: float) -> list[list[T]]:
    srt = sorted(items, key=lambda it: it.x0)
    groups: list[list[T]] = [[srt[0]]]
    right = srt[0].x1
    for it in srt[1:]:
        if it.x0 - right >= min_gap:
            groups.append([it])
        else:
            groups[-1].append(it)
        right = max(right, it.x1)
    return groups


def _looks_like_grid(a: Sequence[T], b: Sequence[T], region_w: float, chars: Callable[[T], int]) -> bool:
    """Two side-by-side groups whose items sit on the same rows and are short or narrow: key/value pairs or
    an unruled table, to be read row by row rather than column by column."""
    small, big = (a, b) if len(a) <= len(b) else (b, a)
    aligned = 0
    for s in small:
        cy, h = (s.y0 + s.y1) / 2, max(s.y1 - s.y0, 1e-6)
        if any(abs((t.y0 + t.y1) / 2 - cy) < 0.35 * h for t in big):
            aligned += 1
    if aligned < 0.7 * len(small):
        return False
    wa = max(t.x1 for t in a) - min(t.x0 for t in a)
    wb = max(t.x1 for t in b) - min(t.x0 for t in b)
    mean_chars = statistics.fmean(chars(t) for t in [*a, *b])
    return min(wa, wb) < 0.3 * region_w or mean_chars < 12


def _col_split(items: Sequence[T], min_gap: float, chars: Callable[[T], int]) -> list[list[T]] | None:
    if len(items) < 2:
        return None
    groups = _x_groups(items, min_gap)
    if len(groups) < 2:
        return None
    region_w = max(t.x1 for t in items) - min(t.x0 for t in items)
    for a, b in itertools.pairwise(groups):
        if _looks_like_grid(a, b, region_w, chars):
            return None
    return groups


def _y_bands(items: Sequence[T]) -> list[list[T]]:
    srt = sorted(items, key=lambda it: (it.y0, it.x0))
    bands: list[list[T]] = [[srt[0]]]
    bottom = srt[0].y1
    for it in srt[1:]:
        if it.y0 >= bottom - 0.01:
            bands.append([it])
        else:
            bands[-1].append(it)
        bottom = max(bottom, it.y1)
    return bands


def reading_order(items: Sequence[T], min_gap: float, chars: Callable[[T], int] = lambda _t: 20) -> list[T]:
    """Order boxes for reading (recursive XY-cut, see the module docstring). ``min_gap``: narrowest gutter."""
    if len(items) <= 1:
        return list(items)
    cols = _col_split(items, min_gap, chars)
    if cols is not None:
        return [x for c in cols for x in reading_order(c, min_gap, chars)]
    bands = _y_bands(items)
    if len(bands) == 1:
        return sorted(items, key=lambda it: (it.y0, it.x0))
    out: list[T] = []
    group: list[T] = list(bands[0])
    group_cols = _col_split(group, min_gap, chars) is not None

    def flush(g: list[T], has_cols: bool) -> None:
        if has_cols and len(g) < len(items):
            out.extend(reading_order(g, min_gap, chars))
        else:
            out.extend(sorted(g, key=lambda it: (it.y0, it.x0)))

    for band in bands[1:]:
        band_cols = _col_split(band, min_gap, chars) is not None
        if group_cols and band_cols and _col_split([*group, *band], min_gap, chars) is not None:
            group.extend(band)
        elif not group_cols and not band_cols:
            flush(group, False)
            group = list(band)
        else:
            flush(group, group_cols)
            group, group_cols = list(band), band_cols
    flush(group, group_cols)
    return out


# ---------------------------------------------------------------------------------------------- blocks
def _same_style(a: Line, b: Line, size_tol: float) -> bool:
    return a.hidden == b.hidden and a.bold == b.bold and abs(a.size - b.size) <= size_tol * max(a.size, b.size)


def group_blocks(lines: Sequence[Line], size_tol: float = 0.08, max_gap: float = 0.9) -> list[Block]:
    """Merge consecutive lines (already in reading order) into blocks: same style, same column, and a
    vertical gap below ``max_gap`` × line height."""
    blocks: list[Block] = []
    for ln in lines:
        if blocks:
            prev = blocks[-1].lines[-1]
            h = max(prev.y1 - prev.y0, 1e-6)
            gap = ln.y0 - prev.y1
            if (
                _same_style(prev, ln, size_tol)
                and -0.3 * h <= gap <= max_gap * h
                and ln.x0 < prev.x1
                and ln.x1 > prev.x0
            ):
                blocks[-1].lines.append(ln)
                continue
        blocks.append(Block([ln]))
    return blocks


def _size_key(size: float) -> float:
    return round(size * 2) / 2


def body_size(lines: Sequence[Line]) -> float:
    c: Counter[float] = Counter()
    for ln in lines:
        if not ln.hidden:
            c[_size_key(ln.size)] += ln.chars
    return c.most_common(1)[0][0] if c else 0.0


def heading_levels(blocks: Sequence[Block], body: float, body_bold: bool = False) -> dict[int, int]:
    """Map block index → heading level for blocks that look like headings (larger or bold short lines).

    Levels come from clustering the heading styles: larger sizes first, bold before regular at equal size.
    """
    if body <= 0:
        return {}
    cands: dict[int, tuple[float, bool]] = {}
    for i, b in enumerate(blocks):
        if b.lines[0].hidden or len(b.lines) > 2:
            continue
        text = b.text.strip()
        if not text or len(text) > 120 or text[-1] in ".,;" or not any(ch.isalpha() for ch in text):
            continue
        key = _size_key(b.size)
        if key >= body * 1.12 or (b.bold and not body_bold and key >= body - 0.5 and len(b.lines) == 1):
            cands[i] = (key, b.bold)
    styles = sorted(set(cands.values()), key=lambda s: (-s[0], not s[1]))[:6]
    rank = {s: k + 1 for k, s in enumerate(styles)}
    return {i: rank[s] for i, s in cands.items() if s in rank}
