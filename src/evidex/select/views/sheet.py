"""A compact, provenance-preserving view of table-heavy documents for models (in the spirit of SheetCompressor).

Large sheets are mostly repetition: thousands of rows with the same shape. :func:`compact_sheet_view`
keeps the *structural anchors* of every table — header rows, the first rows of every run of same-shaped
rows and the boundary (last) row — and replaces the middle of long runs with one summary line such as
``… 1,994 similar rows (A5:D1998): text | date | currency …``. Rows are "similar" when their cells have
the same value types column by column (text, number, currency, percent, date, empty …), so the summary
also groups cells by type/format.

Every cell text in the view is *copied* from ``doc.text`` (``ViewBuilder.copy``), so
``view.to_source(span)`` gives the cell's exact span; separators are insertions; each summary is a coarse
segment standing for the rows it replaces (a span touching it widens to those rows, never silently
shrinks). Text outside tables is copied verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from evidex.model import Document, Node, NodeKind, TextView, ViewBuilder

# (rows kept at the start of a run, rows kept at its end, shortest run that is collapsed)
_LEVELS: tuple[tuple[int, int, int], ...] = ((2, 1, 5), (1, 1, 3), (1, 0, 2))

_RE_TYPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("percent", re.compile(r"^[-+(]?\d[\d,]*(?:\.\d+)?\s*%\)?$")),
    ("currency", re.compile(r"^[-+(]?\s*(?:[$€£¥₹]\s*[-+]?\d[\d,]*(?:\.\d+)?|\d[\d,]*(?:\.\d+)?\s*[$€£¥₹]|[A-Z]{3}\s+[-+]?\d[\d,]*(?:\.\d+)?)\)?$")),
    ("number", re.compile(r"^[-+(]?\d[\d,]*(?:\.\d+)?(?:[Ee][-+]?\d+)?\)?$")),
    ("date", re.compile(
        r"^(?:\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|"
        r"\d{1,2}[ -][A-Za-z]{3,9}[ -]\d{2,4}|[A-Za-z]{3,9}\.? \d{1,2},? \d{4})$"
    )),
    ("time", re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AP]M)?$", re.I)),
)


def cell_type(text: str, attr: Any = None) -> str:
    """A cell's value class: the parser's ``type`` attribute when present, else guessed from its text."""
    t = text.strip()
    if not t:
        return "empty"
    if isinstance(attr, str) and attr:
        return attr
    for name, rx in _RE_TYPES:
        if rx.match(t):
            return name
    return "text"


@dataclass
class _Row:
    node: Node
    cells: list[Node]
    sig: tuple[tuple[int, str], ...]
    header: bool


# ops: ("copy", start, end) | ("ins", text, at) | ("rep", text, start, end)
_Op = tuple[Any, ...]


def _rows(doc: Document, table: Node) -> list[_Row]:
    out: list[_Row] = []
    for r in doc.children(table):
        if r.kind is not NodeKind.ROW:
            continue
        cells = [c for c in doc.children(r) if c.kind is NodeKind.CELL]
        sig = tuple(
            (int(c.attrs.get("col", i)), cell_type(doc.node_text(c), c.attrs.get("type"))) for i, c in enumerate(cells)
        )
        sig = tuple(x for x in sig if x[1] != "empty")
        out.append(_Row(r, cells, sig, any(bool(c.attrs.get("header")) for c in cells)))
    return out


def _similar(a: _Row, b: _Row) -> bool:
    """Same value type wherever both have a value, and (almost) the same filled columns."""
    da, db = dict(a.sig), dict(b.sig)
    if any(da[c] != t for c, t in db.items() if c in da):
        return False
    return len(da.keys() ^ db.keys()) <= max(1, len(da) // 4)


def _types(rows: list[_Row]) -> str:
    """Column types of a run of rows, e.g. ``date | text | currency | text?`` (``?``: sometimes empty)."""
    seen: dict[int, dict[str, int]] = {}
    for r in rows:
        for c, t in r.sig:
            seen.setdefault(c, {}).setdefault(t, 0)
            seen[c][t] += 1
    out = []
    for c in sorted(seen):
        kinds = seen[c]
        name = "/".join(sorted(kinds, key=lambda k: -kinds[k]))
        out.append(name + ("?" if sum(kinds.values()) < len(rows) else ""))
    return " | ".join(out) or "empty"


def _render_row(doc: Document, row: _Row, ops: list[_Op]) -> None:
    cells = list(row.cells)
    while cells and cells[-1].span.empty:
        cells.pop()
    for i, c in enumerate(cells):
        if i:
            ops.append(("ins", " | ", c.span.start))
        if not c.span.empty:
            ops.append(("copy", c.span.start, c.span.end))


_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")


def _col_num(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _ref_range(rows: list[_Row]) -> str:
    """The A1 range covered by ``rows`` (``A14:D133``), or ``rows 14–133`` when cells carry no refs."""
    cols: list[tuple[int, str]] = []
    nums: list[int] = []
    for r in rows:
        for c in r.cells:
            m = _REF.match(str(c.attrs.get("ref", "")))
            if m:
                cols.append((_col_num(m.group(1)), m.group(1)))
                nums.append(int(m.group(2)))
    if cols:
        return f"{min(cols)[1]}{min(nums)}:{max(cols)[1]}{max(nums)}"
    r0, r1 = rows[0].node.attrs.get("row"), rows[-1].node.attrs.get("row")
    return f"rows {int(r0) + 1}–{int(r1) + 1}" if r0 is not None and r1 is not None else "rows"


def _table_ops(doc: Document, table: Node, level: tuple[int, int, int], stats: dict[str, int]) -> list[_Op]:
    keep_head, keep_tail, min_run = level
    rows = _rows(doc, table)
    stats["rows"] += len(rows)
    # runs of same-shaped rows (header rows and the first row are their own anchors)
    runs: list[list[_Row]] = []
    for i, row in enumerate(rows):
        if i <= 1 or row.header or runs[-1][0].header or not _similar(runs[-1][0], row):
            runs.append([row])
        else:
            runs[-1].append(row)
    ops: list[_Op] = []
    first = True

    def emit(row: _Row) -> None:
        nonlocal first
        if not first:
            ops.append(("ins", "\n", row.node.span.start))
        first = False
        _render_row(doc, row, ops)
        stats["rows_kept"] += 1

    for run in runs:
        if len(run) < max(min_run, keep_head + keep_tail + 1):
            for row in run:
                emit(row)
            continue
        head, mid, tail = run[:keep_head], run[keep_head : len(run) - keep_tail], run[len(run) - keep_tail :]
        for row in head:
            emit(row)
        types = _types(mid)
        summary = f"… {len(mid):,} similar rows ({_ref_range(mid)}): {types} …"
        if not first:
            ops.append(("ins", "\n", mid[0].node.span.start))
        first = False
        start, end = mid[0].node.span.start, mid[-1].node.span.end
        if end - start == len(summary):
            summary += " "  # keep the summary a coarse segment (never a positional copy)
        ops.append(("rep", summary, start, end))
        stats["rows_collapsed"] += len(mid)
        stats["summaries"] += 1
        for row in tail:
            emit(row)
    return ops


def _outer_tables(doc: Document) -> list[Node]:
    out: list[Node] = []
    stack = [doc.root]
    while stack:
        n = stack.pop()
        if n.kind is NodeKind.TABLE:
            out.append(n)
            continue
        stack.extend(doc.nodes[c] for c in reversed(n.children))
    return sorted(out, key=lambda n: n.span.start)


def _ops(doc: Document, level: tuple[int, int, int], stats: dict[str, int]) -> list[_Op]:
    ops: list[_Op] = []
    pos = 0
    for t in _outer_tables(doc):
        if t.span.start < pos:
            continue
        ops.append(("copy", pos, t.span.start))
        ops.extend(_table_ops(doc, t, level, stats))
        pos = t.span.end
        stats["tables"] += 1
    ops.append(("copy", pos, len(doc.text)))
    return ops


def _length(ops: list[_Op]) -> int:
    return sum(op[2] - op[1] if op[0] == "copy" else len(op[1]) for op in ops)


def _materialize(doc: Document, ops: list[_Op], max_chars: int | None) -> tuple[TextView, bool]:
    vb = ViewBuilder(doc.text, doc_id=doc.id)
    truncated = False
    marker = "\n… [truncated] …"
    budget = None if max_chars is None else max(0, max_chars - len(marker))
    for op in _iter_ops(ops):
        if budget is not None:
            size = op[2] - op[1] if op[0] == "copy" else len(op[1])
            if vb.length + size > budget:
                if op[0] == "copy" and vb.length < budget:
                    vb.copy(op[1], op[1] + (budget - vb.length))
                rest = vb.last_src
                vb.replace(marker, rest, max(rest, len(doc.text)))
                truncated = True
                break
        if op[0] == "copy":
            vb.copy(op[1], op[2])
        elif op[0] == "ins":
            vb.insert(op[1], op[2])
        else:
            vb.replace(op[1], op[2], op[3])
    return vb.build(), truncated


def _iter_ops(ops: list[_Op]) -> Iterator[_Op]:
    for op in ops:
        if op[0] == "copy" and op[2] <= op[1]:
            continue
        yield op


def compact_sheet_view(doc: Document, *, max_chars: int | None = None) -> tuple[TextView, dict[str, Any]]:
    """A compact TextView of ``doc`` with long runs of similar table rows collapsed; plus stats.

    Stats: ``source_chars``, ``view_chars``, ``ratio`` (= view/source), ``compression`` (= source/view),
    ``tables``, ``rows``, ``rows_kept``, ``rows_collapsed``, ``summaries``, ``level``, ``truncated``.
    With ``max_chars``, increasingly aggressive levels are tried; if none fits, the view is cut and ends
    with a ``… [truncated] …`` marker standing for the rest of the document.
    """
    stats: dict[str, int] = {}
    ops: list[_Op] = []
    level_used = 0
    for li, level in enumerate(_LEVELS):
        stats = {"tables": 0, "rows": 0, "rows_kept": 0, "rows_collapsed": 0, "summaries": 0}
        ops = _ops(doc, level, stats)
        level_used = li
        if max_chars is None or _length(ops) <= max_chars:
            break
    view, truncated = _materialize(doc, ops, max_chars)
    n_src = len(doc.text)
    out: dict[str, Any] = dict(stats)
    out.update(
        source_chars=n_src,
        view_chars=len(view.text),
        ratio=(len(view.text) / n_src) if n_src else 1.0,
        compression=(n_src / len(view.text)) if view.text else float("inf") if n_src else 1.0,
        level=level_used,
        truncated=truncated,
    )
    return view, out
