"""XLSX parser: tables per sheet, displayed values, merged cells, hidden layers, cell provenance, limits."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from openpyxl.worksheet.table import Table

from evidex.errors import LimitError, MalformedError, XmlForbiddenError
from evidex.model import Document, Layer, Node, NodeKind, Span
from evidex.parse import parse_bytes
from evidex.parse.base import ParseContext
from evidex.parse.office.numfmt import format_date, format_number
from evidex.parse.office.xlsx import XlsxParser
from evidex.structure.limits import Limits
from oracle import check_document


def make_xlsx() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sales"
    ws["A1"] = "Quarterly report"
    ws.merge_cells("A1:D1")
    rows = [("Region", "Date", "Revenue", "Share"), ("North", dt.date(2024, 3, 14), 1234.5, 0.25),
            ("South", dt.date(2024, 4, 1), -99, 0.5)]
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            c = ws.cell(row=3 + i, column=1 + j, value=v)
            if i and j == 1:
                c.number_format = "d mmmm yyyy"
            if i and j == 2:
                c.number_format = '"$"#,##0.00_);("$"#,##0.00)'
            if i and j == 3:
                c.number_format = "0%"
    # a second table on the same sheet, separated by an empty column
    ws["F3"], ws["G3"] = "Headcount", "Team"
    ws["F4"], ws["G4"] = 12, "Ops"
    ws["F5"], ws["G5"] = 7, "Eng"
    # a merged block (rowspan + colspan) and a hidden row / column
    ws["A10"], ws["C10"] = "Block", "x"
    ws.merge_cells("A10:B11")
    ws["C11"] = "y"
    ws["D10"] = "secret col"
    ws.column_dimensions["D"].hidden = True
    ws["A12"], ws["C12"] = "tail", "z"
    ws.row_dimensions[12].hidden = True
    ws["B15"], ws["C15"] = "Total", "=SUM(C4:C5)"
    # a declared Excel table on a second sheet
    t = wb.create_sheet("Data Sheet")
    for r in [("Item", "Qty"), ("Bolt", 4), ("Nut", 9)]:
        t.append(r)
    t.add_table(Table(displayName="Parts", ref="A1:B3"))
    h = wb.create_sheet("Secret")
    h["A1"], h["B1"] = "user", "password"
    h["A2"], h["B2"] = "admin", "hunter2"
    h.sheet_state = "hidden"
    bio = io.BytesIO()
    wb.save(bio)
    return bio.getvalue()


@pytest.fixture(scope="module")
def xlsx_bytes() -> bytes:
    return make_xlsx()


@pytest.fixture(scope="module")
def doc(xlsx_bytes: bytes) -> Document:
    d = XlsxParser().parse(xlsx_bytes, ParseContext(name="book.xlsx"))
    check_document(d)
    return d


def _cell(doc: Document, text: str) -> Node:
    (n,) = [n for n in doc.iter_nodes(NodeKind.CELL) if doc.node_text(n) == text]
    return n


def _sheet_of(doc: Document, n: Node) -> Node:
    (s,) = [a for a in doc.ancestors(n) if a.kind is NodeKind.SHEET]
    return s


def test_sheets_and_two_tables(doc: Document) -> None:
    sheets = list(doc.iter_nodes(NodeKind.SHEET))
    assert [s.attrs["name"] for s in sheets] == ["Sales", "Data Sheet", "Secret"]
    sales_tables = [t for t in doc.iter_nodes(NodeKind.TABLE) if _sheet_of(doc, t).attrs["name"] == "Sales"]
    refs = [t.attrs["ref"] for t in sales_tables]
    assert "A3:D5" in refs and "F3:G5" in refs
    (t1,) = [t for t in sales_tables if t.attrs["ref"] == "A3:D5"]
    assert doc.node_text(t1) == (
        "Region | Date | Revenue | Share\nNorth | 14 March 2024 | $1,234.50 | 25%\nSouth | 1 April 2024 | ($99.00) | 50%"
    )
    title = [p for p in doc.iter_nodes(NodeKind.PARAGRAPH) if doc.node_text(p) == "Quarterly report"]
    assert title and title[0].prov is not None and title[0].prov.sheet_cell == "Sales!A1"
    assert _cell(doc, "Region").attrs["header"] is True
    assert _cell(doc, "North").attrs["header"] is False


def test_displayed_values(doc: Document) -> None:
    assert _cell(doc, "14 March 2024").attrs["type"] == "date"
    assert _cell(doc, "$1,234.50").attrs["type"] == "currency"
    assert _cell(doc, "25%").attrs["type"] == "percent"
    # openpyxl-written files have no cached formula values: the cell is empty, never the formula text
    (f,) = [n for n in doc.iter_nodes(NodeKind.CELL) if n.attrs.get("formula") == "=SUM(C4:C5)"]
    assert doc.node_text(f) == "" and f.attrs["cached"] is False and f.attrs["ref"] == "C15"
    assert "SUM(" not in doc.text
    assert any("no cached value (C15)" in w for w in doc.warnings)


def test_cell_provenance(doc: Document) -> None:
    i = doc.text.index("$1,234.50")
    (a,) = doc.locate(Span(i, i + len("$1,234.50")))
    assert a.prov.sheet_cell == "Sales!C4"
    assert doc.span_text(a.span) == "$1,234.50"
    n = _cell(doc, "$1,234.50")
    assert n.prov is not None and n.prov.sheet_cell == "Sales!C4" and n.attrs["ref"] == "C4"
    bolt = _cell(doc, "Bolt")
    assert bolt.prov is not None and bolt.prov.sheet_cell == "'Data Sheet'!A2"
    for a in doc.anchors:  # every anchor is exactly one cell's text
        assert a.prov.sheet_cell


def test_merged_cells(doc: Document) -> None:
    block = _cell(doc, "Block")
    assert block.attrs["rowspan"] == 2 and block.attrs["colspan"] == 2
    assert doc.text.count("Block") == 1
    row = doc.nodes[block.parent]  # type: ignore[index]
    table = doc.nodes[row.parent]  # type: ignore[index]
    assert table.attrs["ref"] == "A10:D12"
    # covered cells B10, A11, B11 produce no CELL nodes
    refs = {c.attrs["ref"] for c in doc.iter_nodes(NodeKind.CELL)}
    assert not {"B10", "A11", "B11"} & refs


def test_declared_table(doc: Document) -> None:
    (t,) = [t for t in doc.iter_nodes(NodeKind.TABLE) if t.attrs.get("name") == "Parts"]
    assert doc.node_text(t) == "Item | Qty\nBolt | 4\nNut | 9"
    assert _cell(doc, "Item").attrs["header"] is True


def test_hidden_sheet_rows_columns(doc: Document) -> None:
    (secret,) = [s for s in doc.iter_nodes(NodeKind.SHEET) if s.attrs["name"] == "Secret"]
    assert secret.layer is Layer.HIDDEN and secret.attrs["hidden"] is True
    pw = _cell(doc, "hunter2")
    assert pw.layer is Layer.HIDDEN  # inherited from the sheet
    assert _cell(doc, "secret col").layer is Layer.HIDDEN
    tail = _cell(doc, "tail")
    assert doc.nodes[tail.parent].layer is Layer.HIDDEN  # type: ignore[index]
    assert tail.layer is Layer.HIDDEN
    assert _cell(doc, "North").layer is Layer.BODY


def test_parse_bytes_and_limits(xlsx_bytes: bytes) -> None:
    d = parse_bytes(xlsx_bytes, "book.xlsx")
    check_document(d)
    with pytest.raises(LimitError):
        XlsxParser().parse(xlsx_bytes, ParseContext(name="b.xlsx", limits=Limits().with_(max_sheet_cells=10)))
    with pytest.raises(MalformedError):
        XlsxParser().parse(xlsx_bytes[:-100], ParseContext(name="b.xlsx"))


def test_billion_laughs_in_sheet(xlsx_bytes: bytes) -> None:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx_bytes)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + data
            zout.writestr(info.filename, data)
    with pytest.raises(XmlForbiddenError):
        XlsxParser().parse(out.getvalue(), ParseContext(name="evil.xlsx"))


@pytest.mark.parametrize(
    ("value", "fmt", "want"),
    [
        (1234.5, '"$"#,##0.00_);("$"#,##0.00)', "$1,234.50"),
        (-1234.5, '"$"#,##0.00_);("$"#,##0.00)', "($1,234.50)"),
        (-5, "$#,##0.00", "-$5.00"),
        (1234.5, "#,##0.00 [$€-407]", "1,234.50 €"),
        (0.256, "0.0%", "25.6%"),
        (1234567, "#,##0", "1,234,567"),
        (0.000123, "0.00E+00", "1.23E-04"),
        (1 / 3, "General", "0.3333333333"),
        (12.0, "General", "12"),
        (0, '#,##0;-#,##0;"-"', "-"),
        (5.123, "0.0#", "5.12"),
        (5, "0.0#", "5.0"),
        (1234.5, '#,##0,"K"', "1K"),  # a trailing comma scales by a thousand
        (1_500_000, '#,##0.0,,"M"', "1.5M"),
        (3, "000", "003"),  # zero padding
        (2.675, "0.00", "2.68"),  # halves away from zero, on the shortest decimal form (as Excel shows it)
        (0.245, "0%", "25%"),
        (-0.001, "0.00", "0.00"),  # rounds to zero: no sign
        (0, '_-* #,##0.00\\ "€"_-;\\-* #,##0.00\\ "€"_-;_-* "-"??\\ "€"_-;_-@_-', "- €"),  # accounting zero
        (-1234.5, '_-* #,##0.00\\ "€"_-;\\-* #,##0.00\\ "€"_-;_-* "-"??\\ "€"_-;_-@_-', "-1,234.50 €"),
        (0.5, "#.00", ".50"),
    ],
)
def test_format_number(value: float, fmt: str, want: str) -> None:
    assert format_number(value, fmt) == want


def test_format_date() -> None:
    t = dt.datetime(2024, 3, 14, 15, 7, 9)
    assert format_date(t, "yyyy-mm-dd") == "2024-03-14"
    assert format_date(t, "d-mmm-yy") == "14-Mar-24"
    assert format_date(t, "dd/mm/yyyy hh:mm") == "14/03/2024 15:07"
    assert format_date(t, "h:mm AM/PM") == "3:07 PM"
    assert format_date(t, "[$-409]mmmm d, yyyy;@") == "March 14, 2024"
    assert format_date(dt.datetime(2024, 3, 14), None) == "2024-03-14"


# ---------------------------------------------------------------------------- compact sheet view
def _big_sheet(n: int = 2000) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Ledger"
    ws["A1"] = "General ledger 2024"
    ws.append([])
    ws.append(["Date", "Account", "Description", "Amount"])
    for i in range(n):
        ws.append([dt.date(2024, 1, 1) + dt.timedelta(days=i % 365), f"ACC-{i % 17:03d}", f"Payment {i}", i * 1.25])
        ws.cell(row=ws.max_row, column=1).number_format = "yyyy-mm-dd"
        ws.cell(row=ws.max_row, column=4).number_format = '"$"#,##0.00'
    ws.append([])
    ws.append(["Total", None, None, "=SUM(D4:D2003)"])
    bio = io.BytesIO()
    wb.save(bio)
    return bio.getvalue()


def test_compact_sheet_view_compresses_and_maps_back() -> None:
    from evidex.select.views.sheet import compact_sheet_view

    d = XlsxParser().parse(_big_sheet(), ParseContext(name="ledger.xlsx"))
    check_document(d)
    view, stats = compact_sheet_view(d)
    assert stats["compression"] >= 5, stats
    assert stats["ratio"] == pytest.approx(len(view.text) / len(d.text))
    assert stats["rows_collapsed"] > 1900 and stats["summaries"] >= 1
    assert "… 1,997 similar rows (A6:D2002): date | text | text | currency …" in view.text
    # the header row, the first data rows, the boundary row and the total are all present
    for must in ("General ledger 2024", "Date | Account | Description | Amount", "Payment 0 |", "Payment 1999", "Total"):
        assert must in view.text, must
    shown = 0
    for c in d.iter_nodes(NodeKind.CELL):
        if c.span.empty:
            continue
        vs = view.from_source(c.span)
        assert vs is not None
        if view.text[vs.start : vs.end] == d.node_text(c):
            assert view.to_source(vs) == c.span
            shown += 1
        else:  # collapsed: represented by a summary standing for its rows
            assert "similar rows" in view.text[vs.start : vs.end]
            assert view.to_source(vs).contains(c.span)
    assert 12 <= shown < 100
    # every copied piece of the view maps to exactly the same characters in the source
    for seg in view.map.segments:
        if seg.is_copy:
            assert view.text[seg.vs : seg.ve] == d.text[seg.ss : seg.se]


def test_compact_sheet_view_budget_and_small_docs() -> None:
    from evidex.select.views.sheet import compact_sheet_view

    d = XlsxParser().parse(_big_sheet(300), ParseContext(name="ledger.xlsx"))
    view, stats = compact_sheet_view(d, max_chars=150)
    assert len(view.text) <= 150 and stats["truncated"] is True
    assert view.text.endswith("… [truncated] …")
    end = view.to_source(Span(len(view.text) - 3, len(view.text)))
    assert end.end == len(d.text)  # the marker stands for the rest of the document
    small = XlsxParser().parse(make_xlsx(), ParseContext(name="book.xlsx"))
    v2, s2 = compact_sheet_view(small)
    assert v2.text == small.text and s2["rows_collapsed"] == 0 and s2["ratio"] == 1.0
