"""HTML pages as a browser lays them out: layout tables read as blocks, "Label: value" lines and label/value
cell pairs as key–values — on hand-written table-layout pages and on real SWDE shop pages."""

from __future__ import annotations

import random
import tarfile
import time
from pathlib import Path

import pytest

from evidex.model import Document, Layer, NodeKind, Span
from evidex.parse.base import ParseContext
from evidex.parse.html.parser import HtmlParser
from oracle import check_document


def parse(html: str) -> Document:
    doc = HtmlParser().parse(html.encode(), ParseContext(name="t.html"))
    check_document(doc)
    return doc


def kvs(doc: Document, layer: Layer | None = Layer.BODY) -> dict[str, str]:
    out: dict[str, str] = {}
    for n in doc.iter_nodes(NodeKind.KEY_VALUE):
        if layer is not None and n.layer is not layer:
            continue
        kids = doc.children(n)
        key = next((doc.node_text(c) for c in kids if c.kind is NodeKind.KEY), "")
        out[key] = next((doc.node_text(c) for c in kids if c.kind is NodeKind.VALUE), "")
    return out


# A 2000s shop page: the whole page is one table; the main column is one cell holding the title, the author,
# the price, a "Product Information" block of <br> lines and a label/value cell table.
SHOP = """<html><head><title>Wild at Heart - Christianbook-like</title></head>
<body bgcolor="#ffffff">
<table width="100%" border="0" cellpadding="0" cellspacing="0">
 <tr><td colspan="2"><a href="/"><img src="logo.gif" alt="Shop"></a> <a href="/cart">Cart</a></td></tr>
 <tr>
  <td width="160" valign="top">
    <a href="/bibles">Bibles</a><br><a href="/books">Books</a><br><a href="/music">Music</a>
  </td>
  <td valign="top">
    <h1>Wild at Heart: Discovering the Secret of a Man's Soul</h1>
    <div class="author">By: <a href="/a/john-eldredge">John Eldredge</a></div>
    <table border="0"><tr><td>
      <font size="2"><b>Our Price:</b> <font color="#cc0000">$10.99</font></font><br>
      <font size="1">Retail: $16.99</font>
    </td></tr></table>
    <p>A book about what it means to be a man, written for men who want to live from the heart.</p>
    <h3>Product Information</h3>
    <b>Format:</b> Paperback<br>
    <b>Number of Pages:</b> 240<br>
    <b>Vendor:</b> Thomas Nelson<br>
    <b>Publication Date:</b> 2010<br>
    <b>ISBN:</b> 1602600635<br>
    <b>ISBN-13:</b> 9781602600638<br>
    <table cellpadding="2">
      <tr><td class="label">Dimensions:</td><td>8.25 X 5.50 (inches)</td></tr>
      <tr><td class="label">Weight:</td><td>10 ounces</td></tr>
      <tr><td class="label">Stock No:</td><td>WW600638</td></tr>
    </table>
    <span class="small">Customers who bought this also bought</span>
  </td>
 </tr>
</table>
</body></html>"""


def test_layout_table_page_reads_as_blocks() -> None:
    doc = parse(SHOP)
    # no giant cell: the layout tables open no TABLE/CELL nodes, blocks stay blocks
    assert not list(doc.iter_nodes(NodeKind.TABLE)) and not list(doc.iter_nodes(NodeKind.CELL))
    longest = max(len(doc.node_text(n)) for n in doc.iter_nodes(NodeKind.PARAGRAPH))
    assert longest < 120
    title = next(doc.iter_nodes(NodeKind.HEADING))
    assert doc.node_text(title) == "Wild at Heart: Discovering the Secret of a Man's Soul"
    assert title.prov is not None and title.prov.dom_path == "/html/body/table[1]/tr[2]/td[2]/h1[1]"
    sec = next(
        n for n in doc.iter_nodes(NodeKind.SECTION) if doc.node_text(n).startswith("Product Information")
    )
    assert "Format: Paperback\nNumber of Pages: 240\n" in doc.node_text(sec)
    # the navigation column is its own block, not glued to the title
    assert "Bibles\nBooks\nMusic" in doc.text and "Music Wild" not in doc.text


def test_product_information_key_values() -> None:
    doc = parse(SHOP)
    got = kvs(doc)
    assert got["Publication Date"] == "2010"
    assert got["ISBN-13"] == "9781602600638"
    assert got["ISBN"] == "1602600635"
    assert got["Number of Pages"] == "240"
    assert got["Vendor"] == "Thomas Nelson"
    assert got["By"] == "John Eldredge"
    assert got["Our Price"] == "$10.99" and got["Retail"] == "$16.99"
    # label/value cell pairs of the layout form table are key–values too, one per row
    assert got["Dimensions"] == "8.25 X 5.50 (inches)"
    assert got["Weight"] == "10 ounces" and got["Stock No"] == "WW600638"
    # every value maps back to its own element: the ISBN-13 value is the text after <b>ISBN-13:</b>
    isbn = next(
        c for n in doc.iter_nodes(NodeKind.KEY_VALUE) for c in doc.children(n)
        if c.kind is NodeKind.VALUE and doc.node_text(c) == "9781602600638"
    )  # fmt: skip
    anchors = [a for a in doc.anchors if a.span.overlaps(isbn.span)]
    assert anchors and all(a.prov.dom_path == "/html/body/table[1]/tr[2]/td[2]" for a in anchors)
    weight = next(
        c for n in doc.iter_nodes(NodeKind.KEY_VALUE) for c in doc.children(n)
        if c.kind is NodeKind.VALUE and doc.node_text(c) == "10 ounces"
    )  # fmt: skip
    assert {a.prov.dom_path for a in doc.anchors if a.span.overlaps(weight.span)} == {
        "/html/body/table[1]/tr[2]/td[2]/table[2]/tr[2]/td[2]"
    }


def test_data_tables_stay_tables() -> None:
    doc = parse(
        "<table><tr><th>Item</th><th>Price</th></tr><tr><td><div>Widget</div></td><td>EUR 4</td></tr></table>"
        "<table><tr><td>a</td><td>b</td><td>c</td></tr><tr><td>d</td><td>e</td><td>f</td></tr></table>"
        "<table summary='prices'><tr><td>Retail Price: $13.99</td></tr></table>"
    )
    tables = list(doc.iter_nodes(NodeKind.TABLE))
    assert len(tables) == 3
    assert [doc.node_text(c) for c in doc.iter_nodes(NodeKind.CELL)][:4] == [
        "Item",
        "Price",
        "Widget",
        "EUR 4",
    ]
    assert kvs(doc) == {"Retail Price": "$13.99"}  # a "Label: value" cell is still a key–value


def test_header_value_rows_are_key_values() -> None:
    doc = parse(
        "<table class='specs'><tr><th>ISBN-13</th><td>9781602600638</td></tr>"
        "<tr><th>Publisher</th><td>Thomas <b>Nelson</b></td></tr><tr><th>Pages</th><td></td></tr></table>"
        "<table><tr><th>ISBN-13</th><th>Pages</th></tr><tr><td>978</td><td>240</td></tr></table>"
    )
    got = kvs(doc)
    assert got == {"ISBN-13": "9781602600638", "Publisher": "Thomas Nelson", "Pages": ""}
    kv = next(n for n in doc.iter_nodes(NodeKind.KEY_VALUE) if doc.node_text(n).startswith("Publisher"))
    value = next(c for c in doc.children(kv) if c.kind is NodeKind.VALUE)
    assert {a.prov.dom_path for a in doc.anchors if a.span.overlaps(value.span)} == {
        "/html/body/table[1]/tr[2]/td[1]", "/html/body/table[1]/tr[2]/td[1]/b[1]"
    }
    # a header row over columns is a data table, not key–values
    assert len(list(doc.iter_nodes(NodeKind.TABLE))) == 1


@pytest.mark.parametrize(
    ("table", "layout"),
    [
        ("<table role='presentation'><tr><th>A</th><td>b</td></tr></table>", True),
        ("<table><tr><td><p>para</p></td><td>x</td></tr></table>", True),
        ("<table><tr><td><table><tr><td>in</td></tr></table></td></tr></table>", True),
        ("<table><tr><td><div>a</div></td><td><div>b</div></td></tr></table>", True),
        ("<table><tr><td>Name:</td><td>Ann</td></tr><tr><td>Age:</td><td>3</td></tr></table>", True),
        ("<table><tr><td>Name</td><td>Ann</td></tr><tr><td>Age</td><td>3</td></tr></table>", False),
        ("<table><tr><td>Name:</td><td>Ann</td><td>x</td></tr></table>", False),
        ("<table><caption>C</caption><tr><td><div>a</div></td></tr></table>", False),
    ],
)
def test_layout_or_data(table: str, layout: bool) -> None:
    doc = parse(f"<p>before</p>{table}")
    assert (not list(doc.iter_nodes(NodeKind.TABLE))) is layout


def test_inline_cells_share_a_line_block_cells_break() -> None:
    doc = parse(
        "<table><tr><td><div>Menu</div></td><td>Price:</td><td><b>$5</b></td></tr>"
        "<tr><td><ul><li>one</li></ul></td><td>Weight:</td><td>2 kg</td></tr></table>"
    )
    assert kvs(doc) == {"Price": "$5", "Weight": "2 kg"}
    assert "Menu\n\nPrice: $5" in doc.text


def test_hidden_cell_of_layout_table_stays_hidden() -> None:
    doc = parse(
        "<table><tr><td><div>Main</div></td></tr><tr><td>Price:</td><td>$10</td>"
        "<td style='display:none'>$9,999.00</td></tr></table>"
    )
    assert kvs(doc) == {"Price": "$10"}
    start = doc.text.index("$9,999.00")
    assert doc.layer_of(Span(start, start + 9)) is Layer.HIDDEN


def test_product_card_in_dt_is_not_a_key() -> None:
    doc = parse(
        "<dl><dt><div>Dead in the Family<br>(Hardcover)</div><span>Club Price: $14.01</span><br>"
        "<div>Save 46%</div></dt><dd>Add to Cart</dd></dl><dl><dt>Total</dt><dd>EUR 3</dd></dl>"
    )
    got = kvs(doc)
    assert got == {"Club Price": "$14.01", "Total": "EUR 3"}


def test_nested_layout_tables_in_bounded_time() -> None:
    cell = "<table><tr><td><div>x</div><table><tr><td>Label: v</td></tr></table></td></tr></table>"
    html = (
        "<div>"
        + cell * 3000
        + "</div>"
        + "<table><tr><td>" * 200
        + "<p>deep</p>"
        + "</td></tr></table>" * 200
    )
    t = time.perf_counter()
    doc = parse(html)
    assert time.perf_counter() - t < 10
    assert doc.text.count("Label: v") == 3000 and "deep" in doc.text


# ---------------------------------------------------------------------------- real shop pages (SWDE)
SWDE_ATTRS = ("isbn_13", "publisher", "publication_date")
SWDE_KEYS = {"isbn_13": "ISBN-13", "publisher": "Publisher", "publication_date": "Date"}


def _swde_gold(root: Path, site: str) -> dict[str, dict[str, list[str]]]:
    gold: dict[str, dict[str, list[str]]] = {}
    for attr in SWDE_ATTRS:
        lines = (
            (root / "groundtruth" / f"book-{site}-{attr}.txt").read_text(encoding="utf-8-sig").splitlines()
        )
        for line in lines[2:]:
            pid, _n, *vals = line.split("\t")
            gold.setdefault(pid, {})[attr] = [v.lstrip(":").strip() for v in vals if v != "<NULL>"]
    return gold


@pytest.mark.data
def test_swde_product_information_key_values(shared_data: Path) -> None:
    """On a sample of real shop pages of every SWDE book site present, the product-information fields
    (ISBN-13, publisher, publication date) are key–value nodes on the body layer whose value is the gold value."""
    root = shared_data / "swde"
    archives = sorted(root.glob("book-*-*.html.tar.xz"))
    if not archives:
        pytest.skip(f"no SWDE page archive under {root}")
    rng = random.Random(7)
    for archive in archives:
        site = archive.name.split("-")[1]
        gold = _swde_gold(root, site)
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(".htm")]
            sample = rng.sample(members, 25)
            found = total = 0
            for m in sample:
                f = tar.extractfile(m)
                assert f is not None
                doc = HtmlParser().parse(f.read(), ParseContext(name=m.name))
                got = kvs(doc)
                for attr, values in gold[Path(m.name).stem].items():
                    if not values:
                        continue
                    total += 1
                    found += got.get(SWDE_KEYS[attr]) in values
        assert total >= 50, (site, total)
        assert found >= 0.95 * total, f"{site}: {found}/{total} product fields found as key–values"
