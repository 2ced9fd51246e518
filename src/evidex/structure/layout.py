"""Page layout from positioned words: words → lines → reading order → blocks → heading levels.

Shared by the PDF parser (words from the pdfium text layer, or OCR for text-less pages) and the image
parser (OCR words). All boxes use a top-left origin in page units (PDF points or pixels).

**Lines** (``words_to_lines``). Words are grouped into rows by vertical overlap with the row's first word
(more than half the smaller height; the row's band does not grow, so the tight lines of a column never chain
into one row). A row is then split into lines at horizontal gaps wider than 1.5 em, and at the page's
**gutters** (``find_gutters``), so the words of one line never mix two columns, even when the gutter is
narrower than a wide justified space:

- every row is turned into a bitmap of the x-bins (⅛ em) its words cover; a bin that stays empty in
  ``GUTTER_ROWS`` (4) consecutive rows, between text on both sides of that window, at least 0.8 em wide,
  with at least 3 em of text on each side, is a gutter for the rows of that window. The gutter is local (its
  rows), so a full-width title or abstract above two columns, a three-column band under a two-column one,
  or a figure beside one column do not hide it; a title's narrow word gap never makes a window's common gap
  0.8 em wide, so titles are not cut.

**Reading order** (``reading_order``), independent of content-stream order, recursive over line boxes:

0. a head block of at most three rows (a title over the middle column, authors and affiliations side by
   side) that ends at a full-width vertical gap of at least 1.2 line heights, when it or the region below it
   is split into columns, is read before what is below it (not as the top of one column);
1. if a vertical gutter (a gap of at least ``min_gap`` that no line crosses) splits the region, and the split
   does not look like the rows of a key/value grid, read the columns left to right;
2. else, if an x-interval of at least ``min_gap`` is crossed by only a few lines (no more than lie wholly on
   its smaller side) while at least three lines lie wholly on each side, side by side (their vertical
   extents overlap by half) — a column gutter crossed by full-width lines (title, abstract, full-width
   figure caption, footnotes) — those crossing
   lines are *spanning* lines: they cut the region into zones read top to bottom, each zone read
   recursively (so by columns), each spanning line read at its place between them;
3. otherwise split the region into horizontal bands at every vertical gap, and merge consecutive bands
   that share a gutter (the body of a multi-column page) so their columns are read one after another;
   bands without a gutter (titles, full-width paragraphs) are read top to bottom.

**Hyphens** (``hyphen_join``). A line ending in a word that ends with a hyphen after a letter, followed (in
the same block) by a line starting with a letter or digit, is joined: the word continues on the next line with no
separator. The hyphen is dropped (a syllable break: "publica-" + "tions" = "publications") when both sides
have the same case (lowercase on both, or capitals on both: "IM-" + "PLIED") and the first part is not one of
the prefixes that keep their hyphen
(self, non, well, all, half, quasi, cross; not "ex": syllable breaks make "ex-ample" too often); a soft
hyphen (U+00AD) is always dropped; otherwise (a change of case or a digit, "Jane-" + "Ellen", or a kept
prefix, "self-" + "aware", "NON-" + "INFRINGEMENT") the hyphen stays ("Jane-Ellen"). A continuation that is a conjunction ("pre- and
post-") is not joined. Each part keeps its own box: the first part's box ends where the dropped hyphen glyph
begins. Joins stay inside a block: a word hyphenated across a column or page break is left as it is.
"""

from __future__ import annotations

import bisect
import itertools
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

__all__ = [
    "Block", "Line", "Word", "find_gutters", "group_blocks", "heading_levels", "hyphen_join", "reading_order",
    "words_to_lines",
]


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
    hyphen: float | None = None  # left edge of a trailing hyphen glyph (PDF), for joins across lines


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
GUTTER_ROWS = 4  # consecutive rows a gutter must stay empty in
GUTTER_MIN_EM = 0.8  # narrowest gutter, in em
GUTTER_SIDE_EM = 3.0  # text needed on each side of a gutter, in em


def _rows(words: Sequence[Word]) -> list[list[Word]]:
    """Words grouped into rows: a word joins the recent row whose *first* word it overlaps most vertically
    (over half the smaller height); rows are returned top to bottom, words left to right."""
    rows: list[tuple[float, float, list[Word]]] = []  # (band y0, band y1 = the first word's, words)
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
            rows[best][2].append(w)
        else:
            rows.append((w.y0, w.y1, [w]))
    out = [rw for _, _, rw in rows]
    for rw in out:
        rw.sort(key=lambda w: w.x0)
    return out


def _bit_runs(m: int) -> list[tuple[int, int]]:
    """Runs of set bits of ``m`` as (first bit, last bit + 1)."""
    out: list[tuple[int, int]] = []
    while m:
        start = (m & -m).bit_length() - 1
        t = m >> start
        length = ((t + 1) & ~t).bit_length() - 1
        out.append((start, start + length))
        m &= ~(((1 << length) - 1) << start)
    return out


def find_gutters(rows: Sequence[Sequence[Word]], em: float | None = None) -> list[list[tuple[float, float]]]:
    """For each row (words sorted by x), the x-intervals of the column gutters that pass through it
    (see the module docstring). ``em``: the text size (median word size when not given)."""
    out: list[list[tuple[float, float]]] = [[] for _ in rows]
    vis = [[w for w in rw if not w.hidden] for rw in rows]
    if len(rows) < GUTTER_ROWS:
        return out
    if em is None:
        sizes = sorted(w.size for rw in vis for w in rw)
        if not sizes:
            return out
        em = sizes[len(sizes) // 2]
    em = max(em, 1e-3)
    xs0 = min((w.x0 for rw in vis for w in rw), default=0.0)
    xs1 = max((w.x1 for rw in vis for w in rw), default=0.0)
    binw = em / 8
    nb = int((xs1 - xs0) / binw) + 1
    if nb < 16 or nb > 40000:
        return out
    full = (1 << nb) - 1
    cover: list[int] = []
    for rw in vis:
        m = 0
        for w in rw:
            b0 = int((w.x0 - xs0) / binw)
            b1 = int((w.x1 - xs0) / binw)
            m |= ((1 << (b1 + 1)) - 1) ^ ((1 << b0) - 1)
        cover.append(m)
    min_bins = GUTTER_MIN_EM * 8
    side_bins = GUTTER_SIDE_EM * 8
    for i in range(len(rows) - GUTTER_ROWS + 1):
        window = cover[i : i + GUTTER_ROWS]
        if any(c == 0 for c in window):
            continue  # a hidden-only or empty row breaks the window
        empty = full
        used = 0
        for c in window:
            empty &= ~c
            used |= c
        if not empty:
            continue
        lo, hi = (used & -used).bit_length() - 1, used.bit_length()  # the window's text extent
        empty &= ((1 << hi) - 1) ^ ((1 << lo) - 1)
        prev_end = lo
        for a, b in _bit_runs(empty):
            if b - a < min_bins:
                continue
            left_text = used & (((1 << a) - 1) ^ ((1 << prev_end) - 1))
            right_text = used & (((1 << hi) - 1) ^ ((1 << b) - 1))
            if left_text.bit_count() < side_bins or right_text.bit_count() < side_bins:
                continue
            g = (xs0 + a * binw, xs0 + b * binw)
            for j in range(i, i + GUTTER_ROWS):
                if g not in out[j]:
                    out[j].append(g)
            prev_end = b
    return out


def words_to_lines(words: Sequence[Word], gap_factor: float = 1.5) -> list[Line]:
    """Group words into rows by vertical overlap, then split each row at horizontal gaps wider than
    ``gap_factor`` × font size and at column gutters (so the columns of a page never share a line)."""
    rows = _rows(words)
    gutters = find_gutters(rows)
    lines: list[Line] = []
    for rw, gs in zip(rows, gutters, strict=True):
        seg: list[Word] = [rw[0]]
        right = rw[0].x1
        for w in rw[1:]:
            size = max(seg[-1].size, w.size, 1e-6)
            if w.x0 - right > gap_factor * size or any(right <= (g0 + g1) / 2 <= w.x0 for g0, g1 in gs):
                lines.append(Line(seg))
                seg = [w]
                right = w.x1
            else:
                seg.append(w)
                right = max(right, w.x1)
        lines.append(Line(seg))
    return lines


_KEEP_HYPHEN_PREFIXES = frozenset({"self", "non", "well", "all", "half", "quasi", "cross"})
_NOT_CONTINUATIONS = frozenset({"and", "or", "nor", "to", "und", "oder", "et", "ou", "y", "e", "o"})
_HYPHEN_CHARS = "-\u2010\u00ad"


def hyphen_join(last: Word, nxt: Word) -> str | None:
    """How the last word of a line continues into the first word of the next line of the same block:
    ``"drop"`` (join without the hyphen), ``"keep"`` (join keeping it) or None (no join). Rules in the module
    docstring."""
    t, u = last.text, nxt.text
    if len(t) < 2 or t[-1] not in _HYPHEN_CHARS or not t[-2].isalpha() or last.hidden != nxt.hidden:
        return None
    if not u[0].isalnum():
        return None
    core = u.rstrip(".,;:!?)]\"'’”").lower()
    if core in _NOT_CONTINUATIONS:
        return None
    if t[-1] == "\u00ad" and u[0].isalpha():
        return "drop"
    lower = t[-2].islower() and u[0].islower()
    upper = t[-2].isupper() and len(u) >= 2 and u[:2].isalpha() and u[:2].isupper()  # "IM-" + "PLIED"
    if lower or upper:
        prefix = t[:-1].lstrip("([\"'‘“").lower()
        return "keep" if prefix in _KEEP_HYPHEN_PREFIXES else "drop"
    return "keep"


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
    centers = sorted((t.y0 + t.y1) / 2 for t in big)
    aligned = 0
    for s in small:
        cy, h = (s.y0 + s.y1) / 2, max(s.y1 - s.y0, 1e-6)
        k = bisect.bisect_right(centers, cy - 0.35 * h)  # the first centre above cy - 0.35 h
        if k < len(centers) and centers[k] < cy + 0.35 * h:
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


def _span_zones(items: Sequence[T], min_gap: float, chars: Callable[[T], int]) -> list[list[T]] | None:
    """A column gutter crossed by a few spanning items (step 2 of the module docstring): the region as
    [zone, [spanner], zone, [spanner], …] top to bottom, or None."""
    n = len(items)
    if n < 7 or min_gap <= 0:
        return None
    rx0 = min(it.x0 for it in items)
    rx1 = max(it.x1 for it in items)
    binw = min_gap / 4
    nb = int((rx1 - rx0) / binw) + 1
    if nb < 8 or nb > 40000:
        return None
    diff = [0] * (nb + 1)
    for it in items:
        diff[int((it.x0 - rx0) / binw)] += 1
        diff[int((it.x1 - rx0) / binw) + 1] -= 1
    ends = sorted(it.x1 for it in items)
    starts = sorted(it.x0 for it in items)
    best: tuple[int, int, int] | None = None  # (crossing count, -width, first bin)
    run_start, run_max = -1, 0
    cover = 0
    for b in range(nb + 1):
        ok = False
        if b < nb:
            cover += diff[b]
            bx0 = rx0 + b * binw
            left = bisect.bisect_right(ends, bx0)
            right = n - bisect.bisect_left(starts, bx0 + binw)
            ok = min(left, right) >= 3 and cover <= min(left, right)
        if ok:
            if run_start < 0:
                run_start, run_max = b, cover
            run_max = max(run_max, cover)
        elif run_start >= 0:
            if (b - run_start + 2) * binw >= min_gap:  # the bins at both ends may be partly empty
                cand = (run_max, -(b - run_start), run_start)
                if best is None or cand < best:
                    best = cand
            run_start = -1
    if best is None or best[0] == 0:
        return None  # no gutter, or one no item crosses (then the plain column split has refused it)
    gm = rx0 + (best[2] - best[1] / 2) * binw  # the gutter's middle
    spanners = sorted((it for it in items if it.x0 < gm < it.x1), key=lambda it: (it.y0, it.x0))
    rest = [it for it in items if not it.x0 < gm < it.x1]
    if not spanners or not rest:
        return None  # each zone must be smaller than the region (the recursion ends)
    left_items = [it for it in rest if it.x1 <= gm]
    right_items = [it for it in rest if it.x0 >= gm]
    if not left_items or not right_items or _looks_like_grid(left_items, right_items, rx1 - rx0, chars):
        return None
    ly0, ly1 = min(it.y0 for it in left_items), max(it.y1 for it in left_items)
    ry0, ry1 = min(it.y0 for it in right_items), max(it.y1 for it in right_items)
    if min(ly1, ry1) - max(ly0, ry0) < 0.5 * min(ly1 - ly0, ry1 - ry0):
        return None  # the two sides are not side by side (a letter's sender above its recipient)
    centers = [(sp.y0 + sp.y1) / 2 for sp in spanners]
    zones: list[list[T]] = [[] for _ in range(len(spanners) + 1)]
    for it in rest:
        zones[bisect.bisect_right(centers, (it.y0 + it.y1) / 2)].append(it)
    out: list[list[T]] = []
    for k, sp in enumerate(spanners):
        if zones[k]:
            out.append(zones[k])
        out.append([sp])
    if zones[-1]:
        out.append(zones[-1])
    return out


def _head_cut(items: Sequence[T], min_gap: float, chars: Callable[[T], int]) -> list[list[T]] | None:
    """Step 0 of the module docstring: a head block of at most three rows (a title, authors and
    affiliations set side by side) that ends at a full-width vertical gap of at least 1.2 line heights, above
    columns or itself split in columns, is read before what is below it rather than as the tops of the
    columns."""
    bands = _y_bands(items)
    if len(bands) < 2:
        return None
    heights = sorted(it.y1 - it.y0 for it in items)
    need = 1.2 * heights[len(heights) // 2]
    above: list[T] = []
    for k in range(min(3, len(bands) - 1)):
        above.extend(bands[k])
        gap = min(it.y0 for it in bands[k + 1]) - max(it.y1 for it in above)
        if gap < need:
            continue
        below = [it for band in bands[k + 1 :] for it in band]
        if len(_x_groups(above, min_gap)) > 1 or len(_x_groups(below, min_gap)) > 1:
            return [above, below]
    return None


MAX_ORDER_DEPTH = 60  # deeper than any real page's nesting: past it, plain top-to-bottom order (bounded time)


def reading_order(
    items: Sequence[T], min_gap: float, chars: Callable[[T], int] = lambda _t: 20, _depth: int = 0
) -> list[T]:
    """Order boxes for reading (recursive XY-cut, see the module docstring). ``min_gap``: narrowest gutter."""
    if len(items) <= 1:
        return list(items)
    if _depth > MAX_ORDER_DEPTH:
        return sorted(items, key=lambda it: (it.y0, it.x0))
    d = _depth + 1
    head = _head_cut(items, min_gap, chars)
    if head is not None:
        return [x for part in head for x in reading_order(part, min_gap, chars, d)]
    cols = _col_split(items, min_gap, chars)
    if cols is not None:
        return [x for c in cols for x in reading_order(c, min_gap, chars, d)]
    zones = _span_zones(items, min_gap, chars)
    if zones is not None:
        return [x for z in zones for x in reading_order(z, min_gap, chars, d)]
    bands = _y_bands(items)
    if len(bands) == 1:
        return sorted(items, key=lambda it: (it.y0, it.x0))
    out: list[T] = []
    group: list[T] = list(bands[0])
    group_cols = _col_split(group, min_gap, chars) is not None

    def flush(g: list[T], has_cols: bool) -> None:
        if has_cols and len(g) < len(items):
            out.extend(reading_order(g, min_gap, chars, d))
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
