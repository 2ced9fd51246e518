"""Ruled-table detection from ruling-line geometry (no second PDF engine).

Horizontal and vertical rules that touch form connected grids; a grid with at least two rows or columns
becomes a table whose cells are the grid rectangles, merged across missing separators (row/col spans).
Coordinates: top-left origin, PDF points.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evidex.structure.layout import Word

__all__ = ["Cell", "Rule", "Table", "find_tables"]

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
