"""CSV/TSV parser: dialect sniffing, encodings, provenance (file!A1 + line), limits, round-trip property."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidex.errors import EmptyInputError, LimitError, MalformedError
from evidex.model import Document, NodeKind, Span
from evidex.parse import parse_bytes
from evidex.parse.base import ParseContext
from evidex.parse.text.csv import CsvParser
from evidex.structure.limits import Limits
from oracle import check_document


def _parse(data: bytes, name: str = "data.csv", limits: Limits | None = None) -> Document:
    d = CsvParser().parse(data, ParseContext(name=name, limits=limits or Limits()))
    check_document(d)
    return d


def _cells(d: Document) -> list[list[str]]:
    return [[d.node_text(c) for c in d.children(r)] for r in d.iter_nodes(NodeKind.ROW)]


def test_basic_table_and_provenance() -> None:
    d = _parse(b"Name,Amount,Date\nAlice,12.50,2024-03-14\nBob,7,2024-03-15\n", "dir/sales.csv")
    assert d.text == "Name | Amount | Date\nAlice | 12.50 | 2024-03-14\nBob | 7 | 2024-03-15"
    (t,) = d.iter_nodes(NodeKind.TABLE)
    assert t.attrs["delimiter"] == ","
    i = d.text.index("2024-03-14")
    (a,) = d.locate(Span(i, i + 10))
    assert a.prov.sheet_cell == "sales.csv!C2" and a.prov.line == 2
    header = [c.attrs["header"] for c in d.iter_nodes(NodeKind.CELL)]
    assert header == [True] * 3 + [False] * 6


def test_sniff_semicolon_and_tsv() -> None:
    d = _parse("Produkt;Preis\nÄpfel;1,20\nBirnen;2,10\n".encode())
    assert _cells(d) == [["Produkt", "Preis"], ["Äpfel", "1,20"], ["Birnen", "2,10"]]
    t = _parse(b"a\tb\n1\t2\n", "x.tsv")
    assert _cells(t) == [["a", "b"], ["1", "2"]]
    one = _parse(b"just one column\nsecond\n", "x.csv")
    assert _cells(one) == [["just one column"], ["second"]]


def test_quoted_newlines_blank_lines_and_lines() -> None:
    data = b'id,note\n1,"multi\nline note"\n\n2,"say ""hi"""\n'
    d = _parse(data)
    assert _cells(d) == [["id", "note"], ["1", "multi line note"], ["2", 'say "hi"']]
    (c,) = [c for c in d.iter_nodes(NodeKind.CELL) if d.node_text(c) == 'say "hi"']
    assert c.prov is not None and c.prov.line == 5 and c.prov.sheet_cell == "data.csv!B4"


def test_encodings() -> None:
    d = _parse("Stadt,Größe\nKöln,1\n".encode("cp1252"))
    assert "Größe" in d.text
    assert any("ENCODING" in w for w in d.warnings)
    bom = _parse("\ufeffa,b\n1,2\n".encode("utf-8-sig"))
    assert bom.text.startswith("a | b")


def test_errors_and_limits() -> None:
    with pytest.raises(EmptyInputError):
        _parse(b"")
    with pytest.raises(EmptyInputError):
        _parse(b"\n , \n")
    with pytest.raises(LimitError):
        _parse(b"a,b,c\n" * 100, limits=Limits().with_(max_sheet_cells=50))
    with pytest.raises(MalformedError):
        _parse(b"a,b\n" + b'x,"' + b"y" * (17 * 1024 * 1024) + b"\n")


def test_parse_bytes_integration() -> None:
    d = parse_bytes(b"k,v\nx,1\n", "kv.csv")
    assert d.source.media_type == "text/csv" and d.text == "k | v\nx | 1"


_field = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=8).map(str.strip)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(_field, min_size=2, max_size=4), min_size=1, max_size=6), st.sampled_from([",", ";", "\t"]))
def test_roundtrip_property(rows: list[list[str]], delim: str) -> None:
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    rows = [r for r in rows if any(r)]
    if not rows:
        return
    buf = io.StringIO()
    csv.writer(buf, delimiter=delim, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    d = _parse(buf.getvalue().encode(), "p.tsv" if delim == "\t" else "p.csv")
    got = _cells(d)
    assert got == rows
    for c in d.iter_nodes(NodeKind.CELL):
        if not c.span.empty:
            (a,) = d.locate(c.span)
            assert a.span == c.span and a.prov.sheet_cell == c.prov.sheet_cell  # type: ignore[union-attr]


def test_compact_view_of_csv() -> None:
    from evidex.select.views.sheet import compact_sheet_view

    body = "".join(f"2024-01-{i % 28 + 1:02d},item {i},{i}.50,\n" for i in range(1000))
    d = _parse(("date,item,price,note\n" + body + "TOTAL,,,done\n").encode(), "big.csv")
    view, stats = compact_sheet_view(d)
    assert stats["compression"] >= 5
    assert "similar rows (A4:D1000): date | text | number …" in view.text
    assert view.text.startswith("date | item | price | note\n2024-01-01 | item 0 | 0.50\n")
    assert view.text.endswith("TOTAL |  |  | done")
    i = view.text.index("item 1 ")
    assert view.to_source(Span(i, i + 6)) == Span(d.text.index("item 1 "), d.text.index("item 1 ") + 6)


def test_quoted_cells_holding_another_delimiter() -> None:
    # found by the round-trip property in CI: every cell quoted, one holding "|" — two columns by ",", not three
    d = _parse(b'"","|"\n"","|"\n', "p.csv")
    assert _cells(d) == [["", "|"], ["", "|"]]


def test_a_doubled_quote_the_sniffer_misses() -> None:
    # found by the round-trip property: one row, a cell '"0,' written as """0," — the sniffer reads no doubling
    d = _parse(b'"","""0,"\n', "p.csv")
    assert _cells(d) == [["", '"0,']]
