"""Flat tables: one row per document (or per item of a list-of-records field), CSV and Parquet.

Columns: ``doc_id``, ``source``, then for every field (path without list indices, e.g. ``line_items.amount``)
its value column(s) — a money value ``{"amount", "currency"}`` becomes ``total.amount`` and
``total.currency`` — followed by ``<field>__grounding``, ``<field>__confidence`` (the lowest, when a field
has several values), ``<field>__evidence`` (the quoted source text) and ``<field>__page``; then
``error_code`` and ``error_message``. Several values in one cell are joined with ``join`` (``" | "``).

Ungrounded values are left out of value cells (their ``__grounding`` still says ``ungrounded``) unless
``include_ungrounded`` is set.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from evidex.errors import ConfigError
from evidex.model import Extraction
from evidex.output.common import Locator, Record, column_of, error_info, is_grounded, parse_path

__all__ = ["BASE_COLUMNS", "ERROR_COLUMNS", "META_SUFFIXES", "to_rows", "write_csv", "write_parquet"]

BASE_COLUMNS = ("doc_id", "source")
ERROR_COLUMNS = ("error_code", "error_message")
META_SUFFIXES = ("__grounding", "__confidence", "__review", "__evidence", "__page")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _flatten(col: str, value: Any, out: list[tuple[str, Any]], depth: int = 0) -> None:
    if isinstance(value, Mapping) and value and depth < 8:
        for k, v in value.items():
            _flatten(f"{col}.{k}", v, out, depth + 1)
    elif isinstance(value, list | tuple) and depth < 8:
        for v in value:
            _flatten(col, v, out, depth + 1)
    else:
        out.append((col, value))


def _cell(values: list[Any], join: str) -> Any:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return join.join(_text(v) for v in values)


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


class _Columns:
    """Column order: first-seen field order, each field's value columns followed by its meta columns."""

    def __init__(self, explode: str | None) -> None:
        self.fields: dict[str, dict[str, None]] = {}
        self.explode = explode

    def add(self, field: str, value_cols: Iterable[str]) -> None:
        cols = self.fields.setdefault(field, {})
        for c in value_cols:
            cols.setdefault(c, None)

    def order(self) -> list[str]:
        out = list(BASE_COLUMNS)
        if self.explode is not None:
            out.append(f"{self.explode}__index")
        for field, cols in self.fields.items():
            out.extend(cols or [field])
            out.extend(field + s for s in META_SUFFIXES)
        out.extend(ERROR_COLUMNS)
        return out


def _fill(
    row: dict[str, Any],
    loc: Locator,
    items: list[tuple[str, Extraction]],
    cols: _Columns,
    join: str,
    include_ungrounded: bool,
) -> None:
    by_field: dict[str, list[Extraction]] = {}
    for field, e in items:
        by_field.setdefault(field, []).append(e)
    for field, exs in by_field.items():
        flat: list[tuple[str, Any]] = []
        for e in exs:
            if include_ungrounded or is_grounded(e):
                _flatten(field, e.value, flat)
        grouped: dict[str, list[Any]] = {}
        for c, v in flat:
            grouped.setdefault(c, []).append(v)
        cols.add(field, grouped)
        for c, vs in grouped.items():
            row[c] = _cell(vs, join)
        row[field + "__grounding"] = join.join(e.grounding.value for e in exs)
        confs = [e.confidence for e in exs if math.isfinite(e.confidence)]
        row[field + "__confidence"] = min(confs) if confs else None
        row[field + "__review"] = any(e.review for e in exs)  # under the review threshold: check before use
        quoted = [q for e in exs for s in e.evidence if (q := loc.quote(s)) is not None]
        row[field + "__evidence"] = join.join(quoted) if quoted else None
        pg = sorted({p for e in exs for s in e.evidence for p in loc.pages(s)})
        row[field + "__page"] = ",".join(map(str, pg)) if pg else None


def to_rows(
    records: Iterable[Record],
    *,
    explode: str | None = None,
    join: str = " | ",
    include_ungrounded: bool = False,
) -> list[dict[str, Any]]:
    """Flatten results into rows that all have the same columns (in a stable order).

    ``explode`` names a list-of-records field (``"line_items"``): each document then gives one row per item
    (``<explode>__index`` says which; fields outside the list repeat on every row). A document without items
    still gives one row, so no document ever disappears from the table.
    """
    if explode is not None:
        explode = explode.replace("[]", "").strip(".")
        if not explode or parse_path(explode) is None:
            raise ConfigError(f"explode: {explode!r} is not a field path", hint="e.g. --explode line_items")
    cols = _Columns(explode)
    ex_tokens = parse_path(explode) if explode is not None else None
    rows: list[dict[str, Any]] = []
    for doc, result in records:
        loc = Locator(doc)
        base: dict[str, Any] = {"doc_id": result.doc_id, "source": result.source}
        err = error_info(result)
        if err is not None:
            base["error_code"] = err.get("code")
            base["error_message"] = err.get("message")
        shared: list[tuple[str, Extraction]] = []
        per_item: dict[int, list[tuple[str, Extraction]]] = {}
        for e in result.extractions:
            field = column_of(e.path)
            tokens = parse_path(e.path)
            if ex_tokens is not None and tokens is not None and len(tokens) > len(ex_tokens) and tokens[: len(ex_tokens)] == ex_tokens:
                idx = tokens[len(ex_tokens)]
                if isinstance(idx, int):
                    per_item.setdefault(idx, []).append((field, e))
                    continue
            shared.append((field, e))
        _fill(base, loc, shared, cols, join, include_ungrounded)
        if explode is None:
            rows.append(base)
            continue
        if not per_item:
            rows.append({**base, f"{explode}__index": None})
            continue
        for idx in range(max(per_item) + 1):
            row = {**base, f"{explode}__index": idx}
            _fill(row, loc, per_item.get(idx, []), cols, join, include_ungrounded)
            rows.append(row)
    order = cols.order()
    return [{c: row.get(c) for c in order} for row in rows]


# ---------------------------------------------------------------- CSV
def _csv_cell(v: Any, guard: bool) -> str:
    s = _text(v) if not isinstance(v, float) else repr(v)
    if guard and s.startswith(_FORMULA_START):
        s = "'" + s
    return s


def write_csv(
    records: Iterable[Record],
    path: str | os.PathLike[str],
    *,
    explode: str | None = None,
    join: str = " | ",
    include_ungrounded: bool = False,
    guard_formulas: bool = False,
) -> int:
    """Write :func:`to_rows` as UTF-8 CSV with a header; return the number of rows.

    ``guard_formulas`` prefixes cells starting with ``= + - @`` with ``'`` so spreadsheet programs do not run
    formulas smuggled into documents (this changes such values; leave it off for data pipelines).
    """
    rows = to_rows(records, explode=explode, join=join, include_ungrounded=include_ungrounded)
    columns = list(rows[0]) if rows else [*BASE_COLUMNS, *ERROR_COLUMNS]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        for row in rows:
            w.writerow([_csv_cell(row[c], guard_formulas) for c in columns])
    return len(rows)


# ---------------------------------------------------------------- Parquet
def _column_type(values: list[Any]) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return "string"
    if all(isinstance(v, bool) for v in present):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "int64"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "float64"
    return "string"


def _as_string(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, Decimal):
        return str(v)
    return _text(v)


def write_parquet(
    records: Iterable[Record],
    path: str | os.PathLike[str],
    *,
    explode: str | None = None,
    join: str = " | ",
    include_ungrounded: bool = False,
) -> int:
    """Write :func:`to_rows` as Parquet (needs ``pyarrow``); return the number of rows.

    A column is ``bool``, ``int64`` or ``float64`` when all its values are; otherwise ``string``
    (``Decimal`` values are kept exact as strings). ``__page`` and ``__grounding`` are always strings.
    """
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError(
            "writing Parquet needs pyarrow, which is not installed",
            hint="pip install 'evidex[outputs]'",
        ) from None
    rows = to_rows(records, explode=explode, join=join, include_ungrounded=include_ungrounded)
    columns = list(rows[0]) if rows else [*BASE_COLUMNS, *ERROR_COLUMNS]
    arrays = []
    fields = []
    for c in columns:
        vals = [r[c] for r in rows]
        kind = "string" if c.endswith(("__page", "__grounding", "__evidence")) else _column_type(vals)
        if kind == "string":
            arrays.append(pa.array([_as_string(v) for v in vals], type=pa.string()))
        elif kind == "float64":
            arrays.append(pa.array([None if v is None else float(v) for v in vals], type=pa.float64()))
        else:
            arrays.append(pa.array(vals, type=pa.bool_() if kind == "bool" else pa.int64()))
        fields.append(pa.field(c, arrays[-1].type))
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    pq.write_table(table, os.fspath(path))
    return len(rows)
