"""DOCX parser: structure, provenance, layers, and hostile packages (via the shared OOXML pre-checks)."""

from __future__ import annotations

import io
import struct
import time
import zipfile
import zlib

import docx
import pytest
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from evidex.errors import (
    DecompressionLimitError,
    EmptyInputError,
    EncryptedError,
    EntryLimitError,
    MalformedError,
    UnsafePathError,
    XmlForbiddenError,
)
from evidex.model import Document, Layer, NodeKind, Span
from evidex.parse import parse_bytes
from evidex.parse.base import ParseContext
from evidex.parse.office.docx import DocxParser
from evidex.select.views.render import plain_view
from evidex.structure.limits import Limits, MiB
from oracle import check_document

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
FOOTNOTES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:footnotes xmlns:w="{W_NS}">
<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>
<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/></w:r></w:p></w:footnote>
<w:footnote w:id="1"><w:p><w:r><w:footnoteRef/></w:r><w:r><w:t xml:space="preserve"> Source: internal audit 2023.</w:t></w:r></w:p></w:footnote>
</w:footnotes>"""


def _rewrite(data: bytes, replace: dict[str, bytes | None], add: dict[str, bytes] | None = None) -> bytes:
    """Copy a zip, replacing (or with None dropping) members and adding new ones."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in replace:
                new = replace[info.filename]
                if new is not None:
                    zout.writestr(info.filename, new)
            else:
                zout.writestr(info.filename, zin.read(info.filename))
        for name, content in (add or {}).items():
            zout.writestr(name, content)
    return out.getvalue()


def _add_footnotes(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        rels = z.read("word/_rels/document.xml.rels").decode()
        ct = z.read("[Content_Types].xml").decode()
    rels = rels.replace(
        "</Relationships>",
        '<Relationship Id="rIdFn1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'footnotes" Target="footnotes.xml"/></Relationships>',
    )
    ct = ct.replace(
        "</Types>",
        '<Override PartName="/word/footnotes.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'wordprocessingml.footnotes+xml"/></Types>',
    )
    return _rewrite(
        data,
        {"word/_rels/document.xml.rels": rels.encode(), "[Content_Types].xml": ct.encode()},
        {"word/footnotes.xml": FOOTNOTES.encode()},
    )


def make_docx() -> bytes:
    d = docx.Document()
    d.core_properties.title = "Test Doc"
    d.add_heading("Annual Report", level=0)
    d.add_heading("Introduction", level=1)
    d.add_paragraph("Invoice date: 14 March 2024")
    p = d.add_paragraph("Visible text ")
    r = p.add_run("secret hidden")
    r.font.hidden = True
    p.add_run(" and more.")
    p2 = d.add_paragraph("Revenue grew strongly.")
    ref = OxmlElement("w:r")
    fr = OxmlElement("w:footnoteReference")
    fr.set(qn("w:id"), "1")
    ref.append(fr)
    p2._p.append(ref)
    d.add_paragraph("First bullet", style="List Bullet")
    d.add_paragraph("Nested bullet", style="List Bullet 2")
    d.add_paragraph("Second bullet", style="List Bullet")
    d.add_paragraph("Step one", style="List Number")
    d.add_heading("Data", level=2)
    t = d.add_table(rows=3, cols=3)
    for i in range(3):
        for j in range(3):
            t.cell(i, j).text = f"r{i}c{j}"
    t.cell(1, 0).merge(t.cell(2, 0)).text = "tall"
    t.cell(0, 1).merge(t.cell(0, 2)).text = "wide"
    d.add_paragraph("After the table.")
    d.add_heading("Second", level=1)
    d.add_paragraph("Last words.")
    s = d.sections[0]
    s.header.paragraphs[0].text = "ACME Corp confidential"
    s.footer.paragraphs[0].text = "Page footer text"
    bio = io.BytesIO()
    d.save(bio)
    return _add_footnotes(bio.getvalue())


@pytest.fixture(scope="module")
def docx_bytes() -> bytes:
    return make_docx()


@pytest.fixture(scope="module")
def doc(docx_bytes: bytes) -> Document:
    d = DocxParser().parse(docx_bytes, ParseContext(name="report.docx"))
    check_document(d)
    return d


def _find(doc: Document, kind: NodeKind, text: str) -> list:  # type: ignore[type-arg]
    return [n for n in doc.iter_nodes(kind) if doc.node_text(n) == text]


def test_headings_sections_and_title(doc: Document) -> None:
    assert _find(doc, NodeKind.TITLE, "Annual Report")
    h1 = [doc.node_text(n) for n in doc.iter_nodes(NodeKind.HEADING) if n.level == 1]
    assert h1 == ["Introduction", "Second"]
    (data_h,) = _find(doc, NodeKind.HEADING, "Data")
    assert data_h.level == 2
    sec = doc.nodes[data_h.parent]  # type: ignore[index]
    assert sec.kind is NodeKind.SECTION and sec.level == 2
    assert doc.nodes[sec.parent].kind is NodeKind.SECTION  # type: ignore[index]  # nested in "Introduction"
    assert "After the table." in doc.node_text(sec)
    assert "Last words." not in doc.node_text(sec)


def test_body_order_interleaves_tables(doc: Document) -> None:
    t = doc.text
    assert t.index("Data") < t.index("r0c0") < t.index("After the table.") < t.index("\n\nSecond\n")


def test_key_value(doc: Document) -> None:
    (kv,) = _find(doc, NodeKind.KEY_VALUE, "Invoice date: 14 March 2024")
    kinds = {c.kind: doc.node_text(c) for c in doc.children(kv)}
    assert kinds == {NodeKind.KEY: "Invoice date", NodeKind.VALUE: "14 March 2024"}


def test_nested_list(doc: Document) -> None:
    (item,) = _find(doc, NodeKind.LIST_ITEM, "Nested bullet")
    assert item.level == 2
    inner = doc.nodes[item.parent]  # type: ignore[index]
    assert inner.kind is NodeKind.LIST and inner.level == 2
    outer_item = doc.nodes[inner.parent]  # type: ignore[index]
    assert outer_item.kind is NodeKind.LIST_ITEM and doc.node_text(outer_item).startswith("First bullet")
    lists = list(doc.iter_nodes(NodeKind.LIST))
    ordered = [bool(n.attrs.get("ordered")) for n in lists if "Step one" in doc.node_text(n)]
    assert ordered == [True]
    assert doc.text.count("Nested bullet") == 1


def test_table_merged_cells(doc: Document) -> None:
    (table,) = doc.iter_nodes(NodeKind.TABLE)
    assert doc.node_text(table) == "r0c0 | wide\ntall | r1c1 | r1c2\nr2c1 | r2c2"
    (wide,) = _find(doc, NodeKind.CELL, "wide")
    assert wide.attrs["colspan"] == 2
    (tall,) = _find(doc, NodeKind.CELL, "tall")
    assert tall.attrs["rowspan"] == 2 and tall.prov is not None
    assert tall.prov.part == "body/tbl[1]/tr[2]/tc[1]"
    assert doc.text.count("tall") == 1 and doc.text.count("wide") == 1
    rows = doc.children(table)
    assert [len(doc.children(r)) for r in rows] == [2, 3, 2]


def test_header_footer_furniture(doc: Document) -> None:
    (h,) = doc.iter_nodes(NodeKind.PAGE_HEADER)
    (f,) = doc.iter_nodes(NodeKind.PAGE_FOOTER)
    assert doc.node_text(h) == "ACME Corp confidential" and h.layer is Layer.FURNITURE
    assert doc.node_text(f) == "Page footer text" and f.layer is Layer.FURNITURE
    for n in doc.iter_nodes(NodeKind.PARAGRAPH):
        if doc.node_text(n) == "ACME Corp confidential":
            assert n.layer is Layer.FURNITURE


def test_footnote(doc: Document) -> None:
    (fn,) = doc.iter_nodes(NodeKind.FOOTNOTE)
    assert doc.node_text(fn) == "[1] Source: internal audit 2023."
    assert fn.attrs["id"] == "1"
    assert "Revenue grew strongly.[1]" in doc.text
    span = Span(doc.text.index("internal audit"), doc.text.index("internal audit") + 8)
    (a,) = doc.locate(span)
    assert a.prov.part == "footnotes/footnote[3]/p[1]/r[2]"


def test_hidden_run(doc: Document) -> None:
    (hid,) = [n for n in doc.iter_nodes(layer=Layer.HIDDEN)]
    assert doc.node_text(hid) == "secret hidden"
    par = doc.nodes[hid.parent]  # type: ignore[index]
    assert par.layer is Layer.BODY and doc.node_text(par) == "Visible text secret hidden and more."


def test_run_provenance(doc: Document) -> None:
    i = doc.text.index("and more.")
    (a,) = doc.locate(Span(i, i + 3))
    assert a.prov.part == "body/p[4]/r[3]"
    assert doc.span_text(a.span) == " and more."
    j = doc.text.index("r1c2")
    (c,) = doc.locate(Span(j, j + 4))
    assert c.prov.part == "body/tbl[1]/tr[2]/tc[3]/p[1]/r[1]"
    assert doc.metadata["title"] == "Test Doc"


def test_parse_bytes_integration(docx_bytes: bytes) -> None:
    d = parse_bytes(docx_bytes, "x.docx")
    check_document(d)
    assert d.source.media_type.endswith("wordprocessingml.document")


# ---------------------------------------------------------------------------- hostile input
def _parse(data: bytes, limits: Limits | None = None) -> Document:
    return DocxParser().parse(data, ParseContext(name="evil.docx", limits=limits or Limits()))


def test_billion_laughs_refused(docx_bytes: bytes) -> None:
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        f'<w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>&lol3;</w:t></w:r></w:p></w:body></w:document>'
    )
    with pytest.raises(XmlForbiddenError):
        _parse(_rewrite(docx_bytes, {"word/document.xml": bomb.encode()}))
    utf16 = bomb.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16")
    with pytest.raises(XmlForbiddenError):
        _parse(_rewrite(docx_bytes, {"word/document.xml": utf16}))


def _zero_bomb(docx_bytes: bytes, size: int) -> bytes:
    out = io.BytesIO(docx_bytes)
    out.seek(0, 2)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as z, z.open("word/media/zeros.bin", "w", force_zip64=True) as f:
        chunk = bytes(4 * MiB)
        for _ in range(size // len(chunk)):
            f.write(chunk)
    return out.getvalue()


def test_zip_bomb_ratio(docx_bytes: bytes) -> None:
    t0 = time.perf_counter()
    bomb = _zero_bomb(docx_bytes, 300 * MiB)
    assert len(bomb) < 2 * MiB
    with pytest.raises(DecompressionLimitError, match="expands more than"):
        _parse(bomb)
    assert time.perf_counter() - t0 < 10


def test_zip_bomb_total_streamed(docx_bytes: bytes) -> None:
    bomb = _zero_bomb(docx_bytes, 32 * MiB)
    with pytest.raises(DecompressionLimitError, match="declare"):  # declared sizes checked up front
        _parse(bomb, Limits().with_(max_decompressed=16 * MiB, max_ratio=1e9))
    # a member that lies about its size: the stream is cut at the declared size and the CRC fails
    lying = _overlap_zip(["word/document.xml"], bytes(32 * MiB), declared=1000)
    with pytest.raises((DecompressionLimitError, MalformedError)):
        _parse(lying, Limits().with_(max_decompressed=16 * MiB, max_ratio=1e9))


def _overlap_zip(names: list[str], payload: bytes, declared: int | None = None) -> bytes:
    """A hand-made zip whose central-directory entries all point at the same compressed data."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = comp.compress(payload) + comp.flush()
    crc = zlib.crc32(payload)
    usize = len(payload) if declared is None else declared
    first = names[0].encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), usize, len(first), 0)
    local += first + data
    cd = b""
    for n in names:
        nb = n.encode()
        cd += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(data), usize, len(nb), 0, 0, 0, 0, 0, 0
        ) + nb
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(names), len(names), len(cd), len(local), 0)
    return local + cd + eocd


def test_overlapping_entries_zip() -> None:
    names = ["word/document.xml"] + [f"word/media/copy{i}.bin" for i in range(50)]
    bomb = _overlap_zip(names, b"<w:document/>" + bytes(2 * MiB))
    with pytest.raises(DecompressionLimitError, match="overlap"):
        _parse(bomb)
    with pytest.raises(EntryLimitError):
        _parse(bomb, Limits().with_(max_entries=10))


def test_entry_limit(docx_bytes: bytes) -> None:
    with pytest.raises(EntryLimitError):
        _parse(docx_bytes, Limits().with_(max_entries=3))


@pytest.mark.parametrize("name", ["../../evil.xml", "/etc/evil.xml", "word/../../x.xml", "C:/x.xml"])
def test_zip_slip_names(docx_bytes: bytes, name: str) -> None:
    with pytest.raises(UnsafePathError):
        _parse(_rewrite(docx_bytes, {}, {name: b"<x/>"}))


def test_truncated_and_garbage(docx_bytes: bytes) -> None:
    for bad in (docx_bytes[: len(docx_bytes) // 2], docx_bytes[:-30], b"PK\x03\x04" + b"\x00" * 100, b"hello"):
        with pytest.raises(MalformedError):
            _parse(bad)
    with pytest.raises(EmptyInputError):
        _parse(b"")
    with pytest.raises(EncryptedError):
        _parse(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    with pytest.raises(MalformedError, match="missing part"):
        _parse(_rewrite(docx_bytes, {"word/document.xml": None}))


def test_corrupt_member_is_malformed(docx_bytes: bytes) -> None:
    raw = bytearray(docx_bytes)
    i = raw.find(b"word/document.xml") + len("word/document.xml")  # first local header's name
    for k in range(i + 20, i + 60):
        raw[k] ^= 0xFF
    with pytest.raises(MalformedError):
        _parse(bytes(raw))


def test_empty_cells_tables_and_hyperlinks() -> None:
    d = docx.Document()
    t = d.add_table(rows=2, cols=3)
    t.cell(0, 0).text = "a"
    t.cell(0, 1).text = "b"  # (0, 2) and all of row 2 stay empty
    d.add_table(rows=2, cols=2)  # an entirely empty table
    p = d.add_paragraph("See ")
    link = OxmlElement("w:hyperlink")
    r = OxmlElement("w:r")
    tx = OxmlElement("w:t")
    tx.text = "the site"
    r.append(tx)
    link.append(r)
    p._p.append(link)
    d.add_paragraph("Owner:\tJane Roe")
    bio = io.BytesIO()
    d.save(bio)
    doc = _parse(bio.getvalue())
    check_document(doc)
    assert plain_view(doc).text == "a | b\n\nSee the site\n\nOwner:\tJane Roe"  # python-docx's core properties follow
    (table,) = doc.iter_nodes(NodeKind.TABLE)
    assert [len(doc.children(r)) for r in doc.children(table)] == [3, 3]
    i = doc.text.index("the site")
    (a,) = doc.locate(Span(i, i + 3))
    assert a.prov.part == "body/p[1]/hyperlink[1]/r[1]"
    (kv,) = doc.iter_nodes(NodeKind.KEY_VALUE, Layer.BODY)
    assert [doc.node_text(c) for c in doc.children(kv)] == ["Owner", "Jane Roe"]
