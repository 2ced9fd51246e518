"""Lists of records from tables: one record per row, columns matched to sub-fields by their headers.

Every value is a cell span, so records are grounded by construction. A table row is never split.
"""

from __future__ import annotations

from dataclasses import dataclass

from evidex.extract.prior import FieldQuery, overlap
from evidex.model import Document, Field, FieldType, Layer, Node, NodeKind, Span


@dataclass(frozen=True)
class RowValue:
    index: int  # record number
    field: Field
    span: Span
    text: str
    score: float


def _header_cells(doc: Document, table: Node) -> list[Node]:
    rows = [doc.nodes[r] for r in table.children if doc.nodes[r].kind is NodeKind.ROW]
    return [doc.nodes[c] for c in rows[0].children] if rows else []


def match_columns(doc: Document, table: Node, sub: tuple[Field, ...]) -> dict[int, tuple[Field, float]]:
    """Column index → (sub-field, score) by header similarity; each sub-field used once."""
    headers = [doc.node_text(c) for c in _header_cells(doc, table)]
    pairs: list[tuple[float, int, Field]] = []
    for f in sub:
        q = FieldQuery.of(f)
        for j, h in enumerate(headers):
            s = max(overlap(q.name_terms, h), 0.7 * overlap(q.all_terms, h))
            if s > 0:
                pairs.append((s, j, f))
    pairs.sort(key=lambda x: (-x[0], x[1]))
    used_cols: set[int] = set()
    used_fields: set[str] = set()
    out: dict[int, tuple[Field, float]] = {}
    for s, j, f in pairs:
        if j in used_cols or f.name in used_fields:
            continue
        out[j] = (f, s)
        used_cols.add(j)
        used_fields.add(f.name)
    return out


def _type_ok(f: Field, text: str) -> bool:
    from evidex.ground.normalize import normalize_value

    if f.type is FieldType.STRING:
        return bool(text.strip())
    value, _ = normalize_value(f, text)
    return value is not None


def extract_records(doc: Document, field: Field) -> list[RowValue]:
    """Rows of the best-matching table as records of ``field`` (a record field with ``many``)."""
    best: tuple[float, Node, dict[int, tuple[Field, float]]] | None = None
    for t in doc.iter_nodes(NodeKind.TABLE):
        if t.layer is not Layer.BODY:
            continue
        cols = match_columns(doc, t, field.fields)
        if not cols:
            continue
        score = sum(s for _, s in cols.values()) / max(1, len(field.fields))
        if best is None or score > best[0]:
            best = (score, t, cols)
    if best is None or best[0] < 0.25:
        return []
    _, table, cols = best
    rows = [doc.nodes[r] for r in table.children if doc.nodes[r].kind is NodeKind.ROW][1:]
    out: list[RowValue] = []
    k = 0
    for row in rows:
        cells = [doc.nodes[c] for c in row.children]
        vals: list[RowValue] = []
        for j, (f, s) in cols.items():
            if j < len(cells) and not cells[j].span.empty and _type_ok(f, doc.node_text(cells[j])):
                vals.append(RowValue(k, f, cells[j].span, doc.node_text(cells[j]), s))
        if len(vals) >= max(1, (len(cols) + 1) // 2):  # skip subtotal / blank rows that fit few columns
            out.extend(vals)
            k += 1
    return out
