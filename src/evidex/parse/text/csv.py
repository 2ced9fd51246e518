"""CSV/TSV → Document: one TABLE, rows by line, cells with ``Prov(sheet_cell="data.csv!B3", line=3)``.

The dialect is sniffed on a sample (``csv.Sniffer``, delimiters ``, ; TAB |``), falling back to comma
(tab for ``.tsv``). Bytes are decoded with :func:`evidex.parse.encoding.decode_text`. Row numbers in the
A1 address count records (as a spreadsheet would show the file); ``line`` is the 1-based source line
where the record starts. Newlines inside quoted fields are shown as spaces in the canonical text.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any, ClassVar

from evidex.errors import EmptyInputError, LimitError, MalformedError
from evidex.model import Document, NodeKind, Prov
from evidex.parse.base import ParseContext
from evidex.parse.encoding import decode_text
from evidex.structure.limits import limit_hint

_SAMPLE = 64 * 1024
_FIELD_LIMIT = 16 * 1024 * 1024
_NUMBER = re.compile(r"^[-+(]?[$€£¥]?\s*\d[\d,.\s]*%?\)?$")


def _col(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _basename(name: str) -> str:
    return re.split(r"[/\\]", name)[-1] or name


def _score(sample: str, delimiter: str) -> tuple[bool, float, int]:
    """How well ``delimiter`` explains the sample: (multi-column?, share of rows with the modal width, width)."""
    try:
        rows = [r for _, r in zip(range(200), csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter), strict=False) if r]
    except csv.Error:
        return (False, 0.0, 0)
    if not rows:
        return (False, 0.0, 0)
    widths: dict[int, int] = {}
    for r in rows[:-1] if len(rows) > 1 else rows:  # the last sample row may be cut short
        widths[len(r)] = widths.get(len(r), 0) + 1
    width, freq = max(widths.items(), key=lambda kv: (kv[1], kv[0]))
    return (width > 1, freq / sum(widths.values()), width)


def _dialect(sample: str, name: str) -> Any:
    default_delim = "\t" if name.lower().endswith((".tsv", ".tab")) else ","
    sniffed: Any = None
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        if sniffed.delimiter not in ",;\t|":
            sniffed = None
        else:
            # the sniffer says "no doubled quotes" when its sample shows none ('"","""0,"' it misreads), but with no
            # escape character a quote inside a quoted cell can only be doubled: every writer does
            sniffed.doublequote = True
    except csv.Error:
        sniffed = None
    # a guess that splits every row into the same number of columns stands (the sniffer also read the quoting:
    # '"","|"' is two columns by ",", three by "|" only if quotes are ignored); else check it against a plain
    # consistency score, preferring it (then the default) on ties
    if sniffed is not None and _score(sample, sniffed.delimiter)[:2] == (True, 1.0):
        return sniffed
    order = ([sniffed.delimiter] if sniffed is not None else []) + [default_delim, ",", ";", "\t", "|"]
    best = max(dict.fromkeys(order), key=lambda d: (_score(sample, d), -order.index(d)))
    if sniffed is not None and best == sniffed.delimiter:
        return sniffed

    class _D(csv.excel):
        delimiter = best

    return _D


def _is_header(first: list[str], later: list[list[str]]) -> bool:
    """Labels over data: non-empty, non-numeric, distinct, and not repeated in their column below."""
    if not later or not all(v and not _NUMBER.match(v) for v in first) or len(set(first)) != len(first):
        return False
    numeric_below = any(_NUMBER.match(r[i]) for r in later for i in range(min(len(r), len(first))) if r[i])
    repeated = any(r[i] == first[i] for r in later for i in range(min(len(r), len(first))))
    return numeric_below or not repeated


class CsvParser:
    name: ClassVar[str] = "csv"
    media_type: ClassVar[str] = "text/csv"
    extensions: ClassVar[tuple[str, ...]] = (".csv", ".tsv")

    def parse(self, data: bytes, ctx: ParseContext) -> Document:
        if not data.strip():
            raise EmptyInputError("empty CSV file")
        text, enc, warnings = decode_text(data)
        b = ctx.builder(data, "text/tab-separated-values" if ctx.name.lower().endswith(".tsv") else "text/csv")
        b.metadata["encoding"] = enc
        for w in warnings:
            b.warn(w)
        text = text.lstrip("\ufeff")
        sample = text[:_SAMPLE]
        if len(text) > _SAMPLE and "\n" in sample:
            sample = sample[: sample.rfind("\n")]
        dialect = _dialect(sample, ctx.name)
        sheet = _basename(ctx.name)
        qsheet = sheet if re.fullmatch(r"[\w.-]+", sheet) else "'" + sheet.replace("'", "''") + "'"
        # the limit is process-global (other code may raise it): set ours for this parse, restore after
        previous_limit = csv.field_size_limit(_FIELD_LIMIT)
        reader = csv.reader(io.StringIO(text, newline=""), dialect)
        max_cells = ctx.limits.max_sheet_cells
        n_cells = 0
        rows_out = 0
        prev_line = 0
        first_row: list[tuple[int, str]] = []  # (cell nid, value) of the first record
        later: list[list[str]] = []  # a few later records, to decide whether the first is a header
        tid = b.open(NodeKind.TABLE, prov=Prov(sheet_cell=qsheet), attrs={"delimiter": dialect.delimiter})
        try:
            for rec_no, record in enumerate(reader, 1):
                start_line = prev_line + 1
                prev_line = reader.line_num
                if not record or all(not f.strip() for f in record):
                    continue
                n_cells += len(record)
                if n_cells > max_cells:
                    raise LimitError(
                        f"CSV has more than {max_cells:,} cells", hint=limit_hint("max_sheet_cells")
                    )
                if rows_out and len(later) < 50:
                    later.append([f.strip() for f in record])
                if rows_out:
                    b.sep("\n")
                b.open(NodeKind.ROW, prov=Prov(sheet_cell=f"{qsheet}!{rec_no}:{rec_no}", line=start_line),
                       attrs={"row": rows_out, "line": start_line})
                last = max(i for i, f in enumerate(record, 1) if f.strip())
                for ci, field in enumerate(record, 1):
                    if 1 < ci <= last:  # trailing empty cells are zero-width nodes after the last value
                        b.sep(" | ")
                    a1 = f"{_col(ci)}{rec_no}"
                    value = field.strip()
                    if "\n" in value or "\r" in value:
                        value = value.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
                    nid = b.leaf(
                        NodeKind.CELL,
                        value,
                        prov=Prov(sheet_cell=f"{qsheet}!{a1}", line=start_line),
                        anchor=True,
                        attrs={"row": rows_out, "col": ci - 1, "ref": a1, "header": False},
                    )
                    if not rows_out:
                        first_row.append((nid, value))
                b.close()
                rows_out += 1
        except csv.Error as e:
            raise MalformedError(f"CSV syntax error near line {prev_line + 1}: {e}") from None
        finally:
            csv.field_size_limit(previous_limit)
        b.close(tid)
        if rows_out == 0:
            raise EmptyInputError("CSV has no non-empty records")
        if _is_header([v for _, v in first_row], later):
            for nid, _ in first_row:
                b.set_attr(nid, "header", True)
        return b.build()
