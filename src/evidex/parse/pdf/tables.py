"""Table detection from ruling-line geometry (no second PDF engine), and unruled tables from aligned text.

Horizontal and vertical rules that touch form connected grids; a grid with at least two rows or columns
becomes a table whose cells are the grid rectangles, merged across missing separators (row/col spans).
Coordinates: top-left origin, PDF points.

Unruled tables (``find_unruled_tables``): lines (already split at gaps wider than 1.5 em) that share a row
form a table row when the row has at least two short pieces (≤ 40 characters each). At least three such
rows in a run (each no further below the previous than one line height; the first and last with three
pieces or more) whose pieces fall into at least
three columns — the x-intervals where the run's pieces overlap, every row with at most one piece per
column, every column filled in at least half of the rows — make a table, one cell per piece, unless two
of its columns read like running text (pieces of three words or more on average, most filling the
column's width: a three-column page). Two columns are not enough (two-column pages, indexes and
key/value lists align the same way and are read as lines).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from evidex.structure.layout import Line, Word

__all__ = ["Cell", "Rule", "Table", "find_tables", "find_unruled_tables"]

TOL = 2.0
MAX_RULES = 4000


@dataclass(frozen=True, slots=True)
class Rule:
    horizontal: bool
    pos: float  # y for horizontal rules, x for vertical ones
    a: float  # start along the rule
    b: float  # end along the rule


@dataclass(slots=True)
class Cell:
    row: int
    col: int
    rowspan: int
    colspan: int
    x0: float
    y0: float
    x1: float
    y1: float
    words: list[Word] = field(default_factory=list)


@dataclass(slots=True)
class Table:
    x0: float
    y0: float
    x1: float
    y1: float
    n_rows: int
    n_cols: int
    cells: list[Cell]
    ruled: bool = True  # False: found from the alignment of its text (find_unruled_tables)

    def add_word(self, w: Word, mx: float, my: float) -> bool:
        for c in self.cells:
            if c.x0 - 0.5 <= mx <= c.x1 + 0.5 and c.y0 - 0.5 <= my <= c.y1 + 0.5:
                c.words.append(w)
                return True
        return False

    def has_text(self) -> bool:
        return any(c.words for c in self.cells)


def _cluster(values: list[float]) -> list[float]:
    out: list[float] = []
    for v in sorted(values):
        if out and v - out[-1] <= TOL:
            continue
        out.append(v)
    return out


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _union(parent: list[int], i: int, j: int) -> None:
    ri, rj = _find(parent, i), _find(parent, j)
    if ri != rj:
        parent[max(ri, rj)] = min(ri, rj)


def _merge_collinear(rules: list[Rule]) -> list[Rule]:
    """Join rules on the same line that touch (a table border drawn cell by cell)."""
    out: list[Rule] = []
    for r in sorted(rules, key=lambda r: (r.horizontal, round(r.pos / TOL), r.a)):
        if out:
            p = out[-1]
            if p.horizontal == r.horizontal and abs(p.pos - r.pos) <= TOL and r.a <= p.b + TOL:
                out[-1] = Rule(p.horizontal, p.pos, p.a, max(p.b, r.b))
                continue
        out.append(r)
    return out


def find_tables(rules: list[Rule]) -> list[Table]:
    if len(rules) > MAX_RULES:
        return []
    rules = _merge_collinear(rules)
    hs = [r for r in rules if r.horizontal]
    vs = [r for r in rules if not r.horizontal]
    if len(hs) < 2 or len(vs) < 2:
        return []
    allr = hs + vs
    parent = list(range(len(allr)))
    for i, h in enumerate(hs):
        for j, v in enumerate(vs):
            if h.a - TOL <= v.pos <= h.b + TOL and v.a - TOL <= h.pos <= v.b + TOL:
                _union(parent, i, len(hs) + j)
    comps: dict[int, list[Rule]] = {}
    for i, r in enumerate(allr):
        comps.setdefault(_find(parent, i), []).append(r)
    tables: list[Table] = []
    for comp in comps.values():
        t = _grid(comp)
        if t is not None:
            tables.append(t)
    tables.sort(key=lambda t: (t.y0, t.x0))
    return tables


def _covered(rules: list[Rule], pos: float, a: float, b: float) -> bool:
    """Is the stretch [a, b] at ``pos`` drawn by some rule?"""
    return any(abs(r.pos - pos) <= TOL and r.a <= a + TOL and r.b >= b - TOL for r in rules)


def _grid(comp: list[Rule]) -> Table | None:
    hs = [r for r in comp if r.horizontal]
    vs = [r for r in comp if not r.horizontal]
    if len(hs) < 2 or len(vs) < 2:
        return None
    ys = _cluster([r.pos for r in hs])
    xs = _cluster([r.pos for r in vs])
    n_rows, n_cols = len(ys) - 1, len(xs) - 1
    if n_rows < 1 or n_cols < 1 or n_rows * n_cols < 2 or n_rows * n_cols > 10_000:
        return None
    idx = {(r, c): r * n_cols + c for r in range(n_rows) for c in range(n_cols)}
    parent = list(range(n_rows * n_cols))
    for r in range(n_rows):
        for c in range(n_cols):
            if c + 1 < n_cols and not _covered(vs, xs[c + 1], ys[r], ys[r + 1]):
                _union(parent, idx[r, c], idx[r, c + 1])
            if r + 1 < n_rows and not _covered(hs, ys[r + 1], xs[c], xs[c + 1]):
                _union(parent, idx[r, c], idx[r + 1, c])
    groups: dict[int, list[tuple[int, int]]] = {}
    for (r, c), i in idx.items():
        groups.setdefault(_find(parent, i), []).append((r, c))
    cells: list[Cell] = []
    for members in groups.values():
        r0 = min(m[0] for m in members)
        r1 = max(m[0] for m in members)
        c0 = min(m[1] for m in members)
        c1 = max(m[1] for m in members)
        cells.append(Cell(r0, c0, r1 - r0 + 1, c1 - c0 + 1, xs[c0], ys[r0], xs[c1 + 1], ys[r1 + 1]))
    if len(cells) < 2:
        return None
    cells.sort(key=lambda c: (c.row, c.col))
    return Table(xs[0], ys[0], xs[-1], ys[-1], n_rows, n_cols, cells)


# ---------------------------------------------------------------------------------------------- unruled
UNRULED_MAX_CELL_CHARS = 40


def _line_rows(lines: list[Line]) -> list[list[Line]]:
    """Lines grouped into rows by vertical overlap (over half the smaller height), top to bottom."""
    rows: list[list[Line]] = []
    for ln in sorted(lines, key=lambda ln: ((ln.y0 + ln.y1) / 2, ln.x0)):
        if rows:
            ref = rows[-1][0]
            ov = min(ref.y1, ln.y1) - max(ref.y0, ln.y0)
            if ov > 0.5 * min(ref.y1 - ref.y0, ln.y1 - ln.y0):
                rows[-1].append(ln)
                continue
        rows.append([ln])
    for r in rows:
        r.sort(key=lambda ln: ln.x0)
    return rows


def _table_from_run(run: list[list[Line]]) -> Table | None:
    spans = sorted((ln.x0, ln.x1) for row in run for ln in row)
    cols: list[list[float]] = []
    for a, b in spans:
        if cols and a <= cols[-1][1]:
            cols[-1][1] = max(cols[-1][1], b)
        else:
            cols.append([a, b])
    if len(cols) < 3:
        return None
    filled = [0] * len(cols)
    starts = [a for a, _ in cols]
    cells: list[Cell] = []
    for r, row in enumerate(run):
        used: set[int] = set()
        for ln in row:
            c = bisect.bisect_right(starts, ln.x0) - 1  # the column whose interval holds the piece's left edge
            if c in used:
                return None
            used.add(c)
            filled[c] += 1
            cells.append(Cell(r, c, 1, 1, ln.x0, ln.y0, ln.x1, ln.y1, list(ln.words)))
    if any(f * 2 < len(run) for f in filled):
        return None
    if sum(_text_like(cols[k], [c for c in cells if c.col == k]) for k in range(len(cols))) >= 2:
        return None  # columns of running text set side by side (a newsletter page), not a table
    x0 = min(c.x0 for c in cells)
    y0 = min(c.y0 for c in cells)
    x1 = max(c.x1 for c in cells)
    y1 = max(c.y1 for c in cells)
    return Table(x0, y0, x1, y1, len(run), len(cols), cells, ruled=False)


def _text_like(col: list[float], cells: list[Cell]) -> bool:
    """A column of running text: its pieces hold three words or more on average and most of them fill the
    column's width (justified or nearly full lines), unlike table cells of one or two words."""
    if not cells:
        return False
    width = max(col[1] - col[0], 1e-6)
    words = sum(len(c.words) for c in cells) / len(cells)
    full = sum(1 for c in cells if c.x1 - c.x0 >= 0.85 * width)
    return words >= 3 and full * 10 >= 6 * len(cells)


def find_unruled_tables(lines: list[Line]) -> tuple[list[Table], list[Line]]:
    """Tables of aligned text among a page's lines (rules in the module docstring); returns the tables and
    the lines that are not in them."""
    rows = _line_rows([ln for ln in lines if not ln.hidden])
    tables: list[Table] = []
    used: set[int] = set()
    run: list[list[Line]] = []

    def close() -> None:
        while run and len(run[-1]) < 3:  # a table starts and ends with rows of three pieces or more
            run.pop()
        while run and len(run[0]) < 3:
            run.pop(0)
        if len(run) >= 3:
            t = _table_from_run(run)
            if t is not None:
                tables.append(t)
                used.update(id(ln) for row in run for ln in row)
        run.clear()

    for row in rows:
        ok = len(row) >= 2 and all(ln.chars <= UNRULED_MAX_CELL_CHARS for ln in row)
        if ok and run:
            prev = run[-1]
            h = max(ln.y1 - ln.y0 for ln in prev)
            if min(ln.y0 for ln in row) - max(ln.y1 for ln in prev) > h:
                close()
        if ok:
            run.append(row)
        else:
            close()
    close()
    if not tables:
        return [], lines
    return tables, [ln for ln in lines if id(ln) not in used]
