"""Hostile-input corpus, generated (never committed as binaries).

Each :class:`Case` writes one file (or a non-file: directory, FIFO, missing path) into a directory and says
what a safe parser must do with it: raise one of ``errors`` (a typed :class:`DocumentError`), or, when
``ok`` is set, return a Document that passes ``check`` — always within the watchdog's time and memory.

Item numbers in comments refer to the catalogue in the research notes (reliability.md §5).
"""

from __future__ import annotations

import io
import os
import random
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from evidex.errors import (
    DecompressionLimitError,
    DocumentError,
    EmptyInputError,
    EncryptedError,
    EntryLimitError,
    FileMissingError,
    LimitError,
    MalformedError,
    NestingLimitError,
    NotAFileError,
    PixelLimitError,
    TooLargeError,
    TypeMismatchError,
    UnsafePathError,
    UnsupportedTypeError,
    XmlForbiddenError,
)
from evidex.model import Document, NodeKind
from evidex.parse import Limits
from pdfgen import raw_pdf

MiB = 1024 * 1024

# One set of limits for the whole corpus (the batch test parses everything with it).
HOSTILE_LIMITS = Limits(
    max_bytes=32 * MiB,
    max_text_chars=4 * MiB,
    max_decompressed=32 * MiB,
    max_entries=10_000,
    max_pixels=50_000_000,
    timeout_s=10.0,  # generous: legitimate rejections take < 2 s
    max_memory=2048 * MiB,
)


@dataclass(frozen=True)
class Case:
    name: str
    filename: str
    make: Callable[[Path], None]  # writes the file at the given path
    errors: tuple[type[DocumentError], ...] = ()
    ok: bool = False
    needs: tuple[str, ...] = ()  # parsers that must be importable
    check: Callable[[Document], None] | None = None
    note: str = ""
    known_issue: str = ""  # a real, reported finding not fixed yet: the case is expected to fail (non-strict)


def _rng(seed: int) -> random.Random:
    return random.Random(seed)


def _write(data: bytes) -> Callable[[Path], None]:
    def make(p: Path) -> None:
        p.write_bytes(data)

    return make


# ------------------------------------------------------------------------------------------ building blocks
def png(width: int, height: int, rows: int | None = None) -> bytes:
    """A greyscale PNG; the IDAT holds ``rows`` zero rows (all of them by default), streamed through zlib."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    comp = zlib.compressobj(6)
    row = b"\x00" * (width + 1)
    parts = []
    block = row * max(1, min(256, height))
    n = height if rows is None else rows
    done = 0
    while done < n:
        k = min(n - done, max(1, min(256, height)))
        parts.append(comp.compress(block if k == len(block) // len(row) else row * k))
        done += k
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


pdf = raw_pdf  # a PDF from raw object bodies with a correct xref table


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def simple_pdf(text: str = "Hello hostile world") -> bytes:
    content = b"BT /F1 12 Tf 72 720 Td (" + text.encode("latin-1") + b") Tj ET"
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        _stream(content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ])


def pdf_stream_bomb(expanded: int = 96 * MiB) -> bytes:
    """Item 3: one FlateDecode content stream that expands to ``expanded`` bytes of text-showing operators."""
    line = b"(" + b"A" * 1000 + b") Tj\n"
    comp = zlib.compressobj(6)
    body = [comp.compress(b"BT /F1 1 Tf 0 0 Td\n")]
    chunk = line * (MiB // len(line))
    for _ in range(expanded // len(chunk)):
        body.append(comp.compress(chunk))
    body.append(comp.compress(b"ET\n"))
    body.append(comp.flush())
    data = b"".join(body)
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        _stream(data, b"/Filter /FlateDecode "),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ])


def pdf_loops() -> bytes:
    """Items 5–6: a page tree whose /Kids point back at itself, a /Parent cycle, an outline loop."""
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R /Outlines 6 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 /Parent 2 0 R >>",
        b"<< /Type /Page /Parent 7 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        _stream(b"BT /F1 12 Tf 72 720 Td (loop) Tj ET"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Outlines /First 8 0 R /Last 8 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R] /Count 1 /Parent 2 0 R >>",
        b"<< /Title (o) /Parent 6 0 R /Next 8 0 R /Prev 8 0 R /First 8 0 R >>",
    ], trailer_extra=b"/Prev 0 ")


def encrypted_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, encrypt="secret")
    c.drawString(72, 720, "secret text")
    c.save()
    return buf.getvalue()


_CT = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/word/document.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    b'officeDocument" Target="word/document.xml"/></Relationships>'
)
_W = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def document_xml(body: bytes, prolog: bytes = b"") -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + prolog
        + b"<w:document " + _W + b"><w:body>" + body + b"</w:body></w:document>"
    )


def para(text: bytes) -> bytes:
    return b"<w:p><w:r><w:t>" + text + b"</w:t></w:r></w:p>"


def docx(doc_xml: bytes, extra: list[tuple[str, bytes]] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CT)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("word/document.xml", doc_xml)
        for name, data in extra or []:
            z.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def docx_zip_bomb(size: int = 64 * MiB) -> bytes:
    """Item 9: a document.xml that inflates to ``size`` bytes (one giant run of text)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", _CT)
        z.writestr("_rels/.rels", _RELS)
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            f.write(b'<?xml version="1.0" encoding="UTF-8"?><w:document ' + _W + b"><w:body><w:p><w:r><w:t>")
            chunk = b"A" * MiB
            for _ in range(size // MiB):
                f.write(chunk)
            f.write(b"</w:t></w:r></w:p></w:body></w:document>")
    return buf.getvalue()


def docx_overlap(copies: int = 1000, member: int = 10 * MiB) -> bytes:
    """Item 10: ``copies`` central-directory records all pointing at one 10 MiB member (full overlap)."""
    base = docx(document_xml(para(b"overlap")), [("word/media/big.bin", b"\x00" * member)])
    eocd = base.rfind(b"PK\x05\x06")
    cd_size, cd_off = struct.unpack("<II", base[eocd + 12 : eocd + 20])
    count = struct.unpack("<H", base[eocd + 10 : eocd + 12])[0]
    cd = base[cd_off : cd_off + cd_size]
    pos = 0  # walk the central directory to find the big member's record
    rec = b""
    while pos < len(cd):
        n, m, k = struct.unpack("<HHH", cd[pos + 28 : pos + 34])
        end = pos + 46 + n + m + k
        if cd[pos + 46 : pos + 46 + n] == b"word/media/big.bin":
            rec = cd[pos:end]
        pos = end
    assert rec
    new_cd = cd + rec * (copies - 1)
    total = count + copies - 1
    tail = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, total, total, len(new_cd), cd_off, 0)
    return base[:cd_off] + new_cd + tail


def docx_many_entries(n: int = 100_000) -> bytes:
    """Item 8: a real docx plus 100,000 empty stored members (written raw: zipfile is too slow for this)."""
    head = docx(document_xml(para(b"many")))
    eocd = head.rfind(b"PK\x05\x06")
    count = struct.unpack("<H", head[eocd + 10 : eocd + 12])[0]
    cd_size, cd_off = struct.unpack("<II", head[eocd + 12 : eocd + 20])
    locals_, centrals = [head[:cd_off]], [head[cd_off : cd_off + cd_size]]
    off = cd_off
    crc0 = zlib.crc32(b"")
    for i in range(n):
        name = b"customXml/i%d.xml" % i
        local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0x21, crc0, 0, 0, len(name), 0) + name
        centrals.append(
            struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, crc0, 0, 0, len(name), 0, 0, 0, 0, 0, off)
            + name
        )
        locals_.append(local)
        off += len(local)
    cd = b"".join(centrals)
    total = count + n
    z64 = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, total, total, len(cd), off)
    loc = struct.pack("<4sIQI", b"PK\x06\x07", 0, off + len(cd), 1)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, len(cd), off, 0)
    return b"".join(locals_) + cd + z64 + loc + end


_BILLION_LAUGHS = (
    b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, b"".join(b"&lol%d;" % (i - 1) for _ in range(10))) for i in range(2, 10)
    )
    + b"]>"
)


def xlsx_with_dtd() -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active["A1"] = "x"
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                decl_end = data.find(b"?>") + 2 if data.startswith(b"<?xml") else 0
                data = (data[:decl_end] + _BILLION_LAUGHS + data[decl_end:]).replace(b">x<", b">&lol9;<")
                if b"&lol9;" not in data:  # inline string layout differs: put the entity in a cell anyway
                    data = data.replace(b"<sheetData>", b"<sheetData><row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>&lol9;</t></is></c></row>", 1)
            z.writestr(info, data)
    return out.getvalue()


def eml_nested(levels: int = 5000) -> bytes:
    m = b"Content-Type: text/plain\n\nhi\n"
    for _ in range(levels):
        m = b"MIME-Version: 1.0\nContent-Type: message/rfc822\n\n" + m
    return m


def eml_huge_to() -> bytes:
    to = ", ".join(f"u{i}@x.org" for i in range(26_000))  # ~ 280 KiB
    return f"From: a@example.org\nTo: {to}\nSubject: many recipients\n\nbody text\n".encode()


def eml_traversal() -> bytes:
    return (
        b"From: a@example.org\nSubject: files\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
        b"--B\nContent-Type: text/plain\n\nsee attachment\n"
        b"--B\nContent-Type: text/plain\n"
        b"Content-Disposition: attachment; filename*=UTF-8''..%2F..%2F..%2Ftmp%2Fpwn.sh\n\necho pwned\n--B--\n"
    )


def eml_broken() -> bytes:
    return (
        b"From: alice@example.org(<bob@example.org>\nTo: x@example.org\nMIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed; boundary=B\n\n"
        b"--B\nContent-Type: text/plain; charset=x-unknown\n\nbroken but readable\n"
        b"--B\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n!!!\n"
    )


def _fifo(p: Path) -> None:
    os.mkfifo(p)


def _directory(p: Path) -> None:
    p.mkdir()


def _nothing(p: Path) -> None:
    pass


def _jpeg_truncated() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.effect_noise((500, 500), 64).convert("RGB").save(buf, "JPEG")
    return buf.getvalue()[:1000]


def _make_lazy(fn: Callable[[], bytes]) -> Callable[[Path], None]:
    def make(p: Path) -> None:
        p.write_bytes(fn())

    return make


# ------------------------------------------------------------------------------------------ checks on OK results
def _has(*needles: str) -> Callable[[Document], None]:
    def check(doc: Document) -> None:
        for n in needles:
            assert n in doc.text, f"{n!r} missing from {doc.text[:200]!r}"

    return check


def _no_secret(doc: Document) -> None:
    assert "root:" not in doc.text and "&lol" not in doc.text and "lollollol" not in doc.text


def _huge_to(doc: Document) -> None:
    assert any(w.startswith("HEADER_TRUNCATED") for w in doc.warnings)
    assert "body text" in doc.text


def _traversal(doc: Document) -> None:
    names = [str(n.attrs.get("filename")) for n in doc.iter_nodes(NodeKind.ATTACHMENT)]
    assert names == ["pwn.sh"], names


def _broken(doc: Document) -> None:
    assert "broken but readable" in doc.text
    assert any(w.startswith("HEADER_DEFECT: From") for w in doc.warnings)
    assert any("MIME_DEFECT" in w for w in doc.warnings)


def _utf8(doc: Document) -> None:
    assert "\ufffd" in doc.text or any("ENCODING" in w for w in doc.warnings)
    assert "valid start" in doc.text


def _oddities(doc: Document) -> None:
    assert "\x00" not in doc.text and "\r" not in doc.text


def _mostly_utf8(doc: Document) -> None:
    """One invalid sequence must not turn the valid UTF-8 around it into mojibake (item 46)."""
    _oddities(doc)
    assert "c\u200dd" in doc.text and "end" in doc.text, repr(doc.text)


def _bounded(doc: Document) -> None:
    assert len(doc.text) <= HOSTILE_LIMITS.max_text_chars


def _truncated_pdf(doc: Document) -> None:
    assert doc.text.strip() == "Hello hostile world", doc.text
    assert any(w.startswith("TRUNCATED") for w in doc.warnings), doc.warnings


def _loops(doc: Document) -> None:
    """The one real page is read; the page the cycle points at is reported missing, not looped over."""
    assert doc.text.strip() == "loop", doc.text
    assert any(w.startswith("PAGE_UNREADABLE") for w in doc.warnings), doc.warnings


def _deep_html(doc: Document) -> None:
    assert doc.text == "deep text", doc.text[:200]
    assert any(w.startswith("NESTING") for w in doc.warnings), doc.warnings


def _deep_markdown(doc: Document) -> None:
    """5,000 nested quotes and list markers: the words survive, whatever nesting is kept as text."""
    words = doc.text.split()
    assert "quoted" in words and "item" in words, doc.text[-200:]
    assert len(doc.text) < 30_000  # the markers at most, never blown up


# ------------------------------------------------------------------------------------------ the corpus
def _cases() -> list[Case]:
    r = _rng(20261123)
    deep_html = b"<html><body>" + b"<div>" * 10_000 + b"deep text" + b"</div>" * 10_000 + b"</body></html>"
    bad_html = (
        b"<html><head><title>t</title><body><p>para one<table><td>cell</p></td><p>"
        b"<div><span>x</div></span><p>last paragraph & stray < bracket</html><!-- unterminated <p>"
    )
    return [
        Case("empty", "empty.txt", _write(b""), (EmptyInputError,)),
        Case("random-bytes-txt", "random.txt", _write(r.randbytes(64 * 1024)), (UnsupportedTypeError,)),
        Case("random-bytes-pdf", "random.pdf", _write(r.randbytes(64 * 1024)), (TypeMismatchError,)),
        Case("png-named-pdf", "image.pdf", _write(png(4, 4)), (TypeMismatchError,)),
        Case("ole-named-doc", "legacy.doc", _write(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512),
             (UnsupportedTypeError,)),
        Case("plain-zip-named-docx", "plain.docx", _write(_plain_zip()), (UnsupportedTypeError, MalformedError)),
        Case("nul-filled-csv", "nul.csv", _write(b"\x00" * MiB), (UnsupportedTypeError, EmptyInputError)),
        Case("directory", "a-directory", _directory, (NotAFileError,)),
        Case("missing", "missing.pdf", _nothing, (FileMissingError,)),
        Case("fifo", "pipe.txt", _fifo, (NotAFileError,)),
        Case("too-large", "huge.txt", _write(b"a" * (33 * MiB)), (TooLargeError,)),
        # PDF
        Case("pdf-truncated", "truncated.pdf", _write(simple_pdf()[:300]), (MalformedError,), needs=("pdf",),
             note="cut inside the page's content stream, before the xref: PDFium cannot load it"),
        Case("pdf-missing-eof", "no-eof.pdf", _write(simple_pdf()[:-10]), ok=True, needs=("pdf",),
             check=_truncated_pdf, note="only 'startxref … %%EOF' cut off: the text is all there"),
        Case("pdf-garbage-after-header", "garbage.pdf", _write(b"%PDF-1.7\n" + r.randbytes(32 * 1024)),
             (MalformedError, EmptyInputError), needs=("pdf",)),
        Case("pdf-stream-bomb", "bomb.pdf", _make_lazy(pdf_stream_bomb),
             (DecompressionLimitError, LimitError, TooLargeError), needs=("pdf",)),
        Case("pdf-loops", "loops.pdf", _write(pdf_loops()), ok=True, needs=("pdf",), check=_loops),
        Case("pdf-encrypted", "encrypted.pdf", _make_lazy(encrypted_pdf), (EncryptedError,), needs=("pdf",)),
        # OOXML
        Case("docx-billion-laughs", "laughs.docx",
             _write(docx(document_xml(para(b"&lol9;"), _BILLION_LAUGHS))), (XmlForbiddenError,), needs=("docx",)),
        Case("docx-xxe", "xxe.docx",
             _write(docx(document_xml(para(b"&xxe;"), b'<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'))),
             (XmlForbiddenError,), needs=("docx",)),
        Case("docx-zip-bomb", "zipbomb.docx", _make_lazy(docx_zip_bomb),
             (DecompressionLimitError, LimitError), needs=("docx",)),
        Case("docx-overlapping-entries", "overlap.docx", _make_lazy(docx_overlap), (DecompressionLimitError,),
             needs=("docx",), note="1,000 records of one 10 MiB member declare 10 GB: refused before inflating"),
        Case("docx-zip-slip-names", "slip.docx",
             _write(docx(document_xml(para(b"slip")), [("../../evil.txt", b"x"), ("/etc/evil", b"y"),
                                                       ("word/../../../x.xml", b"z")])),
             (UnsafePathError,), needs=("docx",)),
        Case("docx-100k-entries", "entries.docx", _make_lazy(docx_many_entries), (EntryLimitError,),
             needs=("docx",)),
        Case("docx-truncated", "cut.docx", _write(docx(document_xml(para(b"cut" * 2000)))[:700]),
             (MalformedError,), needs=("docx",)),
        Case("xlsx-dtd", "dtd.xlsx", _make_lazy(xlsx_with_dtd), (XmlForbiddenError,), needs=("xlsx",)),
        # e-mail
        Case("eml-nested-5000", "deep.eml", _write(eml_nested()), (NestingLimitError,), needs=("eml",)),
        Case("eml-256k-to", "to.eml", _write(eml_huge_to()), ok=True, needs=("eml",), check=_huge_to),
        Case("eml-traversal-name", "slip.eml", _write(eml_traversal()), ok=True, needs=("eml",), check=_traversal),
        Case("eml-broken-mime", "broken.eml", _write(eml_broken()), ok=True, needs=("eml",), check=_broken),
        # images
        Case("png-bomb", "bomb.png", _make_lazy(lambda: png(12_000, 12_000)), (PixelLimitError,), needs=("image",)),
        Case("jpeg-truncated", "cut.jpg", _make_lazy(_jpeg_truncated), (MalformedError,), needs=("image",)),
        # text, CSV, HTML, Markdown
        Case("invalid-utf8", "latin.txt", _write(b"valid start \xff\xfe\xed\xa0\x80 caf\xe9 end\n"), ok=True,
             needs=("text",), check=_utf8),
        Case("text-oddities-nul", "odd.txt", _write("a\0b \u202e c\u200dd\r\ne\rf".encode() + b"\xed\xa0\x80"),
             (UnsupportedTypeError,), needs=("text",), note="a NUL byte makes sniffing call the file binary"),
        Case("text-oddities", "odd2.txt", _write("a b \u202e c\u200dd\r\ne\rf ".encode() + b"\xed\xa0\x80 end"),
             ok=True, needs=("text",), check=_mostly_utf8),
        Case("single-line-8mib", "line.txt", _write(b"a" * (8 * MiB)), (LimitError, TooLargeError), needs=("text",)),
        Case("csv-10mb-field", "field.csv", _write(b"a,b\n1,\"" + b"x" * (10 * MiB) + b"\n2,3\n"),
             (LimitError, MalformedError, TooLargeError), needs=("csv",)),
        Case("html-nested-10000", "deep.html", _write(deep_html), ok=True, needs=("html",), check=_deep_html),
        Case("html-malformed", "bad.html", _write(bad_html), ok=True, needs=("html",),
             check=_has("para one", "cell", "last paragraph")),
        Case("markdown-nested-quotes", "deep.md", _write(b"> " * 5000 + b"quoted\n" + b"- " * 5000 + b"item\n"),
             ok=True, needs=("markdown",), check=_deep_markdown),
    ]


def _plain_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "not an office document")
    return buf.getvalue()


CASES: list[Case] = _cases()


def good_files() -> list[tuple[str, bytes, str]]:
    """Well-formed files for the mixed batch: (file name, bytes, a phrase that must be in the text)."""
    return [
        ("good.eml", b"From: a@example.org\nSubject: Invoice 7\n\nThe total is 12.00 EUR.\n", "12.00 EUR"),
        ("good.txt", b"Invoice number: INV-1\nTotal: 99.50\n", "INV-1"),
        ("good.csv", b"item,amount\nwidget,3.50\n", "widget"),
        ("good.html", b"<html><body><h1>Report</h1><p>All good.</p></body></html>", "All good."),
        ("good.pdf", simple_pdf("Quarterly total 42"), "Quarterly total 42"),
    ]
