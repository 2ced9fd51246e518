"""XLSX → Document: one SHEET per worksheet holding its TABLE(s), cells as Excel displays them.

* Tables on a sheet: declared Excel tables (``ws.tables``, with the header rows they declare) first, then
  connected components of non-empty cells (8-neighbourhood; merged ranges count as filled; overlapping boxes
  merged), so tables separated by empty rows or columns are separate TABLE nodes. A lone cell becomes a
  PARAGRAPH; one-cell text rows in a component's first column above its table ("Quarterly report" over the
  header row) are title PARAGRAPHs (``attrs["role"] == "title"``), never the table's header.
* Header rows of a component: a first row of labels over a body that is not all labels, then further label
  rows (group headers, units) while a label stands over a column of values (``attrs["header_rows"]``).
* Cell text is the *displayed* value: cached formula results (``data_only``), rendered with the cell's
  number format (dates, currency, percentages, thousands separators and scaling, padding, decimals rounded
  half away from zero). Formulas are loaded too when the workbook is small (``attrs["formula"]``); a formula
  saved without a cached value leaves its cell empty (``attrs["cached"] is False``) with a warning naming the
  cells — the formula text is never shown as if it were the value.
* Merged cells: the value sits in the top-left CELL with ``rowspan``/``colspan``; covered cells are omitted.
* Provenance: ``Prov(sheet_cell="Sheet1!C7")`` on every CELL node and as its anchor.
* Hidden sheets, rows and columns → HIDDEN layer (kept, never dropped).

The common package is read directly with lxml (:mod:`evidex.parse.office.xlsx_reader`, openpyxl's value semantics);
anything unusual is loaded with openpyxl as before.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from evidex.errors import LimitError, MalformedError, MissingDependencyError
from evidex.model import Document, Layer, NodeKind, Prov
from evidex.parse.base import ParseContext
from evidex.parse.office.numfmt import display_value, value_type
from evidex.parse.office.package import check_package
from evidex.parse.office.xlsx_reader import SheetData, read_workbook
from evidex.structure.builder import DocumentBuilder

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_CELLS = 200_000  # load a second time (formula text) only if there are formulas and below this size


def _a1(col: int) -> str:
    s = ""
    while col:
        col, r = divmod(col - 1, 26)
        s = chr(65 + r) + s
    return s


def _qsheet(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z_][\w.]*", name) else "'" + name.replace("'", "''") + "'"


@dataclass
class _Cell:
    text: str
    kind: str
    raw: Any
    fmt: str | None
    formula: str | None = None
    cached: bool = True  # False: a formula cell saved without its computed value (its text is empty)


Box = tuple[int, int, int, int]  # min_row, min_col, max_row, max_col


def _components(occupied: set[tuple[int, int]]) -> list[Box]:
    seen: set[tuple[int, int]] = set()
    boxes: list[Box] = []
    for start in sorted(occupied):
        if start in seen:
            continue
        seen.add(start)
        stack = [start]
        r0, c0, r1, c1 = start[0], start[1], start[0], start[1]
        while stack:
            r, c = stack.pop()
            r0, c0, r1, c1 = min(r0, r), min(c0, c), max(r1, r), max(c1, c)
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    n = (r + dr, c + dc)
                    if n in occupied and n not in seen:
                        seen.add(n)
                        stack.append(n)
        boxes.append((r0, c0, r1, c1))
    merged = True
    while merged:  # merge overlapping bounding boxes
        merged = False
        out: list[Box] = []
        for bx in boxes:
            for i, o in enumerate(out):
                if bx[0] <= o[2] and o[0] <= bx[2] and bx[1] <= o[3] and o[1] <= bx[3]:
                    out[i] = (min(bx[0], o[0]), min(bx[1], o[1]), max(bx[2], o[2]), max(bx[3], o[3]))
                    merged = True
                    break
            else:
                out.append(bx)
        boxes = out
    return sorted(boxes)


class XlsxParser:
    name: ClassVar[str] = "xlsx"
    media_type: ClassVar[str] = MEDIA_TYPE
    extensions: ClassVar[tuple[str, ...]] = (".xlsx", ".xlsm")

    def parse(self, data: bytes, ctx: ParseContext) -> Document:
        pkg = check_package(data, ctx.limits, kind="XLSX", require=("xl/workbook.xml",))
        try:
            import openpyxl
        except ImportError:
            raise MissingDependencyError("openpyxl is not installed", hint="pip install 'evidex[formats]'") from None
        want_formulas = pkg.formulas > 0 and pkg.cells <= _FORMULA_CELLS
        sheets = read_workbook(data, formulas=want_formulas)  # the common case, without openpyxl's object model
        if sheets is None:
            try:
                wb = openpyxl.load_workbook(io.BytesIO(data), data_only=True, keep_links=False, rich_text=False)
                wbf = (
                    openpyxl.load_workbook(io.BytesIO(data), data_only=False, keep_links=False)
                    if want_formulas
                    else None
                )
            except Exception as e:
                raise MalformedError(f"openpyxl could not open the workbook: {type(e).__name__}: {e}") from None
            sheets = [
                _from_openpyxl(ws, wbf[ws.title] if wbf is not None and ws.title in wbf.sheetnames else None)
                for ws in wb.worksheets
            ]
        b = ctx.builder(data, MEDIA_TYPE)
        if not want_formulas and pkg.formulas:
            b.warn("XLSX: workbook too large to load formulas; showing cached values only")
        total = 0
        for i, sd in enumerate(sheets):
            total += _sheet(b, sd, i, ctx.limits.max_sheet_cells - total)
        return b.build()


def _from_openpyxl(ws: Any, fws: Any) -> SheetData:
    """The same sheet view from openpyxl's object model (the fallback path)."""
    from openpyxl.utils import range_boundaries

    sd = SheetData(title=str(ws.title), state=str(getattr(ws, "sheet_state", "visible") or "visible"))
    raw_cells: dict[tuple[int, int], Any] = getattr(ws, "_cells", {})
    sd.count = len(raw_cells)
    for pos, cell in raw_cells.items():
        v = cell.value
        sd.cells[pos] = (v, cell.number_format if v is not None else None)
    fcells: dict[tuple[int, int], Any] = getattr(fws, "_cells", {}) if fws is not None else {}
    for pos, fc in fcells.items():
        fv = getattr(fc.value, "text", fc.value)
        if isinstance(fv, str) and fv.startswith("="):
            sd.formulas[pos] = fv
    sd.merged = [(rng.min_row, rng.min_col, rng.max_row, rng.max_col) for rng in ws.merged_cells.ranges]
    sd.hidden_rows = {r for r, d in ws.row_dimensions.items() if getattr(d, "hidden", False)}
    for d in ws.column_dimensions.values():
        if getattr(d, "hidden", False) and d.min and d.max:
            sd.hidden_cols.update(range(int(d.min), min(int(d.max), 16384) + 1))
    for tbl in getattr(ws, "tables", {}).values():
        c0, r0, c1, r1 = range_boundaries(tbl.ref)
        sd.tables.append((str(tbl.name), (r0, c0, r1, c1), int(tbl.headerRowCount or 0)))
    return sd


def _sheet(b: DocumentBuilder, sd: SheetData, index: int, budget: int) -> int:
    name = sd.title
    q = _qsheet(name)
    state = sd.state
    hidden = state != "visible"
    if sd.count > budget:
        raise LimitError(f"workbook has more than the limit of cells (sheet {name!r}: {sd.count:,})")
    cells: dict[tuple[int, int], _Cell] = {}
    uncached: list[tuple[int, int]] = []
    for (r, c), (v, fmt) in sd.cells.items():
        formula = sd.formulas.get((r, c))
        if v is None and formula is not None:
            # never the formula text as if it were the value: the cell stays empty, the formula is an attribute
            uncached.append((r, c))
            cells[(r, c)] = _Cell("", "formula", None, None, formula, cached=False)
            continue
        if v is None or (isinstance(v, str) and not v.strip()):
            continue
        text = display_value(v, fmt).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
        cells[(r, c)] = _Cell(text, value_type(v, fmt), v, fmt, formula)
    if uncached:
        refs = ", ".join(f"{_a1(c)}{r}" for r, c in sorted(uncached)[:5]) + (", …" if len(uncached) > 5 else "")
        b.warn(
            f"XLSX: {len(uncached)} formula cell(s) on {name!r} have no cached value ({refs}): the workbook was "
            "saved without calculating; those cells are left empty (the formula is in the cell's 'formula' attribute)"
        )
    spans: dict[tuple[int, int], tuple[int, int]] = {}
    covered: set[tuple[int, int]] = set()
    occupied = set(cells)
    for r0, c0, r1, c1 in sd.merged:
        spans[(r0, c0)] = (r1 - r0 + 1, c1 - c0 + 1)
        if (r1 - r0 + 1) * (c1 - c0 + 1) > 100_000:
            continue
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                if (r, c) != (r0, c0):
                    covered.add((r, c))
                    if (r0, c0) in cells:
                        occupied.add((r, c))
    grid = _Grid(q, cells, spans, covered, sd.hidden_rows, sd.hidden_cols)

    regions: list[tuple[Box, str | None, int]] = []
    for tn, (r0, c0, r1, c1), hdr in sd.tables:
        regions.append(((r0, c0, r1, c1), tn, max(0, hdr)))  # a declared table says how many header rows it has
        occupied = {p for p in occupied if not (r0 <= p[0] <= r1 and c0 <= p[1] <= c1)}
    regions.extend((bx, None, -1) for bx in _components(occupied))
    regions.sort(key=lambda t: (t[0][0], t[0][1]))

    b.ensure_break(2)
    sid = b.open(
        NodeKind.SHEET,
        layer=Layer.HIDDEN if hidden else None,
        prov=Prov(sheet_cell=q),
        attrs={"name": name, "index": index, "hidden": hidden, "state": state},
    )
    b.leaf(NodeKind.HEADING, name, level=1, prov=Prov(sheet_cell=q))
    for box, tname, header_rows in regions:
        if tname is None:
            titles, rest = _split_titles(box, grid)
            for pos in titles:  # a lone value is a paragraph; one-cell rows over a table are its title
                _lone(b, grid, pos, role="title" if rest is not None else None)
            if rest is None:
                continue
            box = rest
        _region(b, grid, box, tname, header_rows)
    b.close(sid)
    return sd.count


@dataclass
class _Grid:
    """One sheet's displayed cells and layout."""

    q: str  # quoted sheet name
    cells: dict[tuple[int, int], _Cell]
    spans: dict[tuple[int, int], tuple[int, int]]  # merged top-left → (rows, cols)
    covered: set[tuple[int, int]]  # cells hidden under a merge
    hidden_rows: set[int]
    hidden_cols: set[int]

    def filled(self, r: int, c0: int, c1: int) -> list[int]:
        """Columns of row ``r`` in ``[c0, c1]`` with a value (or an uncached formula)."""
        return [c for c in range(c0, c1 + 1) if (r, c) in self.cells]


def _split_titles(box: Box, g: _Grid) -> tuple[list[tuple[int, int]], Box | None]:
    """Title rows above a table (one text cell in the table's first column, e.g. "Quarterly report" over the
    header row), and the table's own box without them. A lone value is a title; a block of one-cell rows (a
    list in one column) is a table."""
    r0, c0, r1, c1 = box
    rows = [r for r in range(r0, r1 + 1) if g.filled(r, c0, c1)]
    if len(rows) == 1 and len(g.filled(rows[0], c0, c1)) == 1:
        return [(rows[0], g.filled(rows[0], c0, c1)[0])], None
    titles: list[tuple[int, int]] = []
    k = 0
    while k < len(rows) - 1:
        cols = g.filled(rows[k], c0, c1)
        pos = (rows[k], cols[0])
        if len(cols) != 1 or cols[0] != c0 or g.cells[pos].kind != "text":
            break
        titles.append(pos)
        k += 1
    rest = rows[k:]
    if not titles or not any(len(g.filled(r, c0, c1)) > 1 for r in rest):
        return [], box
    cols = [c for r in rest for c in g.filled(r, c0, c1)]
    last = max(c + g.spans.get((r, c), (1, 1))[1] - 1 for r in rest for c in g.filled(r, c0, c1))
    return titles, (rest[0], min(cols), r1, min(c1, last))


def _lone(b: DocumentBuilder, g: _Grid, pos: tuple[int, int], role: str | None = None) -> None:
    """A value standing alone (a title, a note): a paragraph."""
    cell = g.cells[pos]
    if not cell.text:
        return  # a lone formula without a cached value: nothing to show (the warning names it)
    b.ensure_break(2)
    layer = Layer.HIDDEN if pos[0] in g.hidden_rows or pos[1] in g.hidden_cols else None
    a1 = f"{_a1(pos[1])}{pos[0]}"
    attrs: dict[str, Any] = {"ref": a1, "type": cell.kind}
    if role:
        attrs["role"] = role
    b.leaf(NodeKind.PARAGRAPH, cell.text, layer=layer, prov=Prov(sheet_cell=f"{g.q}!{a1}"), anchor=True, attrs=attrs)


def _guess_header_rows(rows: list[int], c0: int, c1: int, g: _Grid) -> int:
    """Header rows of a table found by layout: a first row of labels over a body that is not all labels, then
    further all-label rows (a band of group headers, units) while a label stands over a column whose body
    below is all values (numbers, dates …) — a body row of text with gaps is not taken for a header."""
    if len(rows) < 2:
        return 0
    if not all(g.cells[(rows[0], c)].kind == "text" for c in g.filled(rows[0], c0, c1)):
        return 0
    n = 1
    while n < min(len(rows) - 1, 4):
        cols = g.filled(rows[n], c0, c1)
        if not cols or any(g.cells[(rows[n], c)].kind != "text" for c in cols):
            break
        below = rows[n + 1 :]

        def values_below(c: int, below: list[int] = below) -> bool:
            kinds = [g.cells[(r, c)].kind for r in below if (r, c) in g.cells]
            return bool(kinds) and all(k not in ("text", "formula") for k in kinds)

        if not any(values_below(c) for c in cols):
            break
        n += 1
    return n


def _region(b: DocumentBuilder, g: _Grid, box: Box, tname: str | None, header_rows: int) -> None:
    r0, c0, r1, c1 = box
    cells = g.cells
    b.ensure_break(2)
    ref = f"{_a1(c0)}{r0}:{_a1(c1)}{r1}"
    attrs: dict[str, Any] = {"ref": ref}
    if tname:
        attrs["name"] = tname
    rows = [r for r in range(r0, r1 + 1) if any((r, c) in cells for c in range(c0, c1 + 1))]
    if not rows:
        return
    if header_rows < 0:
        header_rows = _guess_header_rows(rows, c0, c1, g)
    if header_rows:
        attrs["header_rows"] = header_rows
    q = g.q
    b.open(NodeKind.TABLE, prov=Prov(sheet_cell=f"{q}!{ref}"), attrs=attrs)
    for ri, r in enumerate(rows):
        if ri:
            b.sep("\n")
        b.open(
            NodeKind.ROW,
            layer=Layer.HIDDEN if r in g.hidden_rows else None,
            prov=Prov(sheet_cell=f"{q}!{r}:{r}"),
            attrs={"row": ri, "sheet_row": r},
        )
        last = max(c for c in range(c0, c1 + 1) if (r, c) in cells)
        first_cell = True
        for c in range(c0, last + 1):
            if (r, c) in g.covered:
                continue
            if not first_cell:
                b.sep(" | ")
            first_cell = False
            cell = cells.get((r, c))
            a1 = f"{_a1(c)}{r}"
            cattrs: dict[str, Any] = {"row": ri, "col": c - c0, "ref": a1, "header": ri < header_rows}
            if cell is not None:
                cattrs["type"] = cell.kind
                if cell.fmt and cell.fmt != "General":
                    cattrs["number_format"] = cell.fmt
                if cell.formula:
                    cattrs["formula"] = cell.formula
                if not cell.cached:
                    cattrs["cached"] = False
            if (r, c) in g.spans:
                rs, cs = g.spans[(r, c)]
                if rs > 1:
                    cattrs["rowspan"] = rs
                if cs > 1:
                    cattrs["colspan"] = cs
            layer = Layer.HIDDEN if c in g.hidden_cols and r not in g.hidden_rows else None
            b.leaf(NodeKind.CELL, cell.text if cell else "", layer=layer, prov=Prov(sheet_cell=f"{q}!{a1}"),
                   anchor=True, attrs=cattrs)
        b.close()
    b.close()
