"""Sheets as people lay them out: titles over tables, header rows, several tables per sheet, cached formula
values (written into the file's XML: openpyxl does not compute formulas), displayed numbers and dates."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from typing import Any

import openpyxl
from openpyxl.worksheet.table import Table

from evidex.model import Document, Layer, Node, NodeKind, Span
from evidex.parse import parse_bytes
from evidex.select.views.sheet import compact_sheet_view
from oracle import check_document


def _save(wb: Any) -> bytes:
    bio = io.BytesIO()
    wb.save(bio)
    return bio.getvalue()


def _parse(data: bytes) -> Document:
    doc = parse_bytes(data, "book.xlsx")
    check_document(doc)
    return doc


def _tables(doc: Document) -> list[Node]:
    return list(doc.iter_nodes(NodeKind.TABLE))


def _header_texts(doc: Document, table: Node) -> list[str]:
    return [doc.node_text(c) for c in doc.iter_nodes(NodeKind.CELL)
            if c.attrs.get("header") and table.span.start <= c.span.start < table.span.end]


def _titles(doc: Document) -> list[str]:
    return [doc.node_text(p) for p in doc.iter_nodes(NodeKind.PARAGRAPH) if p.attrs.get("role") == "title"]


def test_title_row_directly_above_the_header_is_not_the_header() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "Quarterly report"
    for row in (["Region", "Q1", "Q2"], ["North", 10, 20], ["South", 30, 40]):
        ws.append(row)
    doc = _parse(_save(wb))
    (t,) = _tables(doc)
    assert t.attrs["ref"] == "A2:C4"
    assert _header_texts(doc, t) == ["Region", "Q1", "Q2"]
    assert _titles(doc) == ["Quarterly report"]
    (title,) = [p for p in doc.iter_nodes(NodeKind.PARAGRAPH) if p.attrs.get("role") == "title"]
    assert title.prov is not None and title.prov.sheet_cell == "Sheet!A1"
    assert title.span.end <= t.span.start  # the title reads before its table


def test_merged_title_and_subtitle_rows() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "ACME Ltd"
    ws.merge_cells("A1:D1")
    ws["A2"] = "Balance in EUR"
    for row in (["Item", "2022", "2023", "Change"], ["Cash", 5, 7, 0.4], ["Debt", 3, 2, -0.33]):
        ws.append(row)
    doc = _parse(_save(wb))
    (t,) = _tables(doc)
    assert t.attrs["ref"] == "A3:D5"
    assert _titles(doc) == ["ACME Ltd", "Balance in EUR"]
    assert _header_texts(doc, t) == ["Item", "2022", "2023", "Change"]


def test_several_tables_on_one_sheet_have_their_own_headers() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Mixed"
    ws["A1"] = "Sales"
    ws.append(["Region", "Amount"])
    ws.append(["North", 10])
    ws.append(["South", 12])
    ws.append([])  # row 5 empty
    ws["A6"] = "Costs"
    ws["A7"], ws["B7"] = "Kind", "Amount"
    ws["A8"], ws["B8"] = "Rent", 4
    ws["A9"], ws["B9"] = "Power", 2
    # a third table beside the first, past an empty column
    ws["D2"], ws["E2"] = "Team", "Size"
    ws["D3"], ws["E3"] = "Ops", 3
    doc = _parse(_save(wb))
    tables = _tables(doc)
    assert [t.attrs["ref"] for t in tables] == ["A2:B4", "D2:E3", "A7:B9"]
    assert [_header_texts(doc, t) for t in tables] == [["Region", "Amount"], ["Team", "Size"], ["Kind", "Amount"]]
    assert _titles(doc) == ["Sales", "Costs"]
    assert [doc.node_text(c) for c in doc.iter_nodes(NodeKind.CELL) if c.attrs.get("header") is False][:2] == [
        "North", "10"]


def test_two_header_rows_and_a_text_body_row_with_gaps() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"], ws["B1"], ws["D1"] = "Region", "2023", "2024"
    ws.merge_cells("A1:A2")
    ws.merge_cells("B1:C1")
    ws.merge_cells("D1:E1")
    ws["B2"], ws["C2"], ws["D2"], ws["E2"] = "H1", "H2", "H1", "H2"
    ws.append(["North", 1, 2, 3, 4])
    ws.append(["South", 5, 6, 7, 8])
    doc = _parse(_save(wb))
    (t,) = _tables(doc)
    assert t.attrs["header_rows"] == 2
    assert _header_texts(doc, t) == ["Region", "2023", "2024", "H1", "H2", "H1", "H2"]

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in (["Name", "Note", "Amount"], ["Alice", "late", None], ["Bob", "ok", 20]):
        ws.append(row)
    doc = _parse(_save(wb))
    (t,) = _tables(doc)
    assert _header_texts(doc, t) == ["Name", "Note", "Amount"]  # "Alice | late" is a body row

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in (["Name", "City"], ["Alice", "Oslo"], ["Bob", "Rome"]):  # all labels: only the first row
        ws.append(row)
    (t,) = _tables(doc := _parse(_save(wb)))
    assert _header_texts(doc, t) == ["Name", "City"]


def test_declared_table_header_row_count_is_honoured() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in (["Bolt", 4], ["Nut", 9]):
        ws.append(row)
    ws.add_table(Table(displayName="NoHeader", ref="A1:B2", headerRowCount=0))
    doc = _parse(_save(wb))
    (t,) = _tables(doc)
    assert t.attrs["name"] == "NoHeader" and _header_texts(doc, t) == []


# ---------------------------------------------------------------------------- formulas and their cached values
def _with_cached(data: bytes, values: dict[str, tuple[str, str | None]]) -> bytes:
    """Write cached results into the formula cells of the first sheet (``ref → (value, t attribute)``), the way
    Excel saves them: ``<c r="B3" t="str"><f>…</f><v>value</v></c>``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            raw = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = raw.decode()
                for ref, (value, typ) in values.items():
                    pat = re.compile(rf'<c r="{ref}"([^>]*)>(<f>[^<]*</f>)<v\s*/?>(?:</v>)?')
                    t_attr = f' t="{typ}"' if typ else ""
                    text, n = pat.subn(
                        lambda m, r=ref, v=value, t=t_attr: f'<c r="{r}"{m.group(1)}{t}>{m.group(2)}<v>{v}</v>', text
                    )
                    assert n == 1, ref
                raw = text.encode()
            zout.writestr(info, raw)
    return out.getvalue()


def _formula_book() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Calc"
    ws.append(["Item", "Amount", "Share"])
    ws.append(["Rent", 1200, 0.6])
    ws.append(["Power", 800, 0.4])
    ws.append(["Total", "=SUM(B2:B3)", "=C2+C3"])
    ws.append(["Label", '=A2&" and "&A3', "=B4/0"])
    for ref in ("B2", "B3", "B4"):
        ws[ref].number_format = "#,##0.00"
    for ref in ("C2", "C3", "C4"):
        ws[ref].number_format = "0%"
    return _save(wb)


def test_formula_cells_show_their_cached_values() -> None:
    data = _with_cached(_formula_book(), {
        "B4": ("2000", None), "C4": ("1", None), "B5": ("Rent and Power", "str"), "C5": ("#DIV/0!", "e"),
    })
    doc = _parse(data)
    cells = {c.attrs["ref"]: c for c in doc.iter_nodes(NodeKind.CELL)}
    assert doc.node_text(cells["B4"]) == "2,000.00" and cells["B4"].attrs["formula"] == "=SUM(B2:B3)"
    assert doc.node_text(cells["C4"]) == "100%"
    assert doc.node_text(cells["B5"]) == "Rent and Power"
    assert doc.node_text(cells["C5"]) == "#DIV/0!"
    assert "cached" not in cells["B4"].attrs
    assert not any("cached value" in w for w in doc.warnings)
    assert "SUM(" not in doc.text


def test_formula_without_cached_value_is_said_not_shown() -> None:
    data = _with_cached(_formula_book(), {"B4": ("2000", None)})  # C4, B5, C5 stay uncalculated
    for doc in (_parse(data), _parse(_openpyxl_only(data))):
        cells = {c.attrs["ref"]: c for c in doc.iter_nodes(NodeKind.CELL)}
        assert doc.node_text(cells["B4"]) == "2,000.00"
        for ref, formula in (("C4", "=C2+C3"), ("B5", '=A2&" and "&A3'), ("C5", "=B4/0")):
            assert doc.node_text(cells[ref]) == ""
            assert cells[ref].attrs["formula"] == formula and cells[ref].attrs["cached"] is False
        assert "C2+C3" not in doc.text and "B4/0" not in doc.text
        (w,) = [w for w in doc.warnings if "no cached value" in w]
        assert "3 formula cell(s) on 'Calc'" in w and "C4, B5, C5" in w


def _openpyxl_only(data: bytes) -> bytes:
    """The same workbook with a sheet the fast reader declines (a cell without a reference): openpyxl reads it."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            raw = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                raw = raw.replace(b"</sheetData>", b'<row r="40"><c t="n"><v>1</v></c></row></sheetData>')
            zout.writestr(info, raw)
    return out.getvalue()


def test_openpyxl_fallback_is_exercised() -> None:
    from evidex.parse.office.xlsx_reader import read_workbook

    data = _with_cached(_formula_book(), {"B4": ("2000", None)})
    assert read_workbook(data, formulas=True) is not None
    assert read_workbook(_openpyxl_only(data), formulas=True) is None


# ---------------------------------------------------------------------------- displayed dates and numbers
def test_dates_and_numbers_as_displayed() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["What", "Value"])
    rows: list[tuple[str, Any, str]] = [
        ("day first", dt.date(2024, 3, 5), "dd/mm/yyyy"),
        ("long", dt.date(2024, 3, 5), "dddd, mmmm d, yyyy"),
        ("month", dt.date(2024, 3, 5), "mmm-yy"),
        ("time", dt.datetime(2024, 3, 5, 14, 7), "h:mm AM/PM"),
        ("percent", 0.1234, "0.0%"),
        ("thousands", 1234567.891, "#,##0"),
        ("euro", 1234.5, "#,##0.00 [$€-407]"),
        ("negative", -99, '"$"#,##0.00_);("$"#,##0.00)'),
        ("millions", 2_500_000, '#,##0.0,,"M"'),
    ]
    for label, value, fmt in rows:
        ws.append([label, value])
        ws.cell(row=ws.max_row, column=2).number_format = fmt
    doc = _parse(_save(wb))
    shown = {doc.node_text(c): c for c in doc.iter_nodes(NodeKind.CELL) if c.attrs.get("col") == 1}
    want = ["05/03/2024", "Tuesday, March 5, 2024", "Mar-24", "2:07 PM", "12.3%", "1,234,568", "1,234.50 €",
            "($99.00)", "2.5M"]
    assert [t for t in shown if t != "Value"] == want
    assert [shown[t].attrs["type"] for t in want] == ["date"] * 4 + ["percent", "number", "currency", "currency",
                                                                    "number"]


# ---------------------------------------------------------------------------- compact view, several tables
def test_compact_view_keeps_every_table_of_a_sheet() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Two"
    ws["A1"] = "Payments"
    ws.append(["Date", "Payee", "Amount"])
    for i in range(60):
        ws.append([dt.date(2024, 1, 1) + dt.timedelta(days=i), f"Payee {i}", i * 10.5])
        ws.cell(row=ws.max_row, column=1).number_format = "yyyy-mm-dd"
    ws.append([])
    ws.append(["Refunds"])
    ws.append(["Date", "Reason", "Amount"])
    for i in range(40):
        ws.append([dt.date(2024, 6, 1) + dt.timedelta(days=i), f"Reason {i}", i * 2.0])
        ws.cell(row=ws.max_row, column=1).number_format = "yyyy-mm-dd"
    doc = _parse(_save(wb))
    tables = _tables(doc)
    assert len(tables) == 2 and _titles(doc) == ["Payments", "Refunds"]
    view, stats = compact_sheet_view(doc)
    assert stats["tables"] == 2 and stats["summaries"] == 2
    assert view.text.count("Date | Payee | Amount") == 1 and view.text.count("Date | Reason | Amount") == 1
    assert "Payments" in view.text and "Refunds" in view.text
    assert view.text.index("Payments") < view.text.index("Date | Payee") < view.text.index("Refunds")
    for needle in ("Payee 0", "Payee 59", "Reason 0", "Reason 39"):  # first and boundary rows of each table
        i = view.text.index(needle)
        src = view.to_source(Span(i, i + len(needle)))
        assert doc.text[src.start : src.end] == needle
    assert "similar rows (A5:C61)" in view.text  # the run of the first table, named by its own refs
    assert all(n.layer is Layer.BODY for n in tables)
