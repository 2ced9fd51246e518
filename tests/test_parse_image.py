from __future__ import annotations

import io
import struct
import time
import zlib

import pytest
from PIL import Image, ImageDraw, ImageFont

from conftest import DEJAVU_FONT, needs_ocr
from evidex.errors import EmptyInputError, MalformedError, MissingDependencyError, PixelLimitError
from evidex.model import Document, NodeKind, Origin, Span
from evidex.parse import parse_bytes
from evidex.parse.base import ParseContext
from evidex.parse.image import ocr
from evidex.parse.image.ocr import parse_tesseract_tsv
from evidex.parse.image.parser import ImageParser
from evidex.structure.limits import Limits
from oracle import check_document

FONT = DEJAVU_FONT

# (text, x, y) drawn at 40 px
LINES = [("Invoice number 4711", 60, 60), ("Total amount due: 250.00 EUR", 60, 160)]


def render(lines: list[tuple[str, int, int]] = LINES, size: tuple[int, int] = (1100, 300)) -> Image.Image:
    im = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(im)
    font = ImageFont.truetype(str(FONT), 40)
    for text, x, y in lines:
        d.text((x, y), text, font=font, fill="black")
    return im


def to_bytes(im: Image.Image, fmt: str = "PNG", **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def parse(data: bytes, **limits: int) -> Document:
    doc = ImageParser().parse(data, ParseContext(name="scan.png", limits=Limits().with_(**limits)))
    check_document(doc)
    return doc


def png_header(width: int, height: int) -> bytes:
    """A PNG that only *declares* its size (a decompression bomb needs no pixel data to be refused)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)  # a few bytes of "pixels"; the rest would come from decompression
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@needs_ocr
def test_png_ocr_words_with_boxes_near_where_drawn() -> None:
    im = render()
    doc = parse(to_bytes(im))
    assert "4711" in doc.text and "250.00" in doc.text and "Invoice" in doc.text
    assert [p.unit for p in doc.pages] == ["px"] and (doc.pages[0].width, doc.pages[0].height) == im.size
    draw = ImageDraw.Draw(im)
    font = ImageFont.truetype(str(FONT), 40)
    for word, (line, x, y) in (("4711", LINES[0]), ("amount", LINES[1])):
        s = doc.text.index(word)
        (a,) = doc.locate(Span(s, s + len(word)))
        bb = a.prov.bbox
        assert a.prov.page == 1 and bb is not None and bb.origin is Origin.TOP_LEFT
        # where Pillow drew that word: offset of the word inside its line
        off = line.index(word)
        wx0, wy0, wx1, wy1 = draw.textbbox((x + draw.textlength(line[:off], font=font), y), word, font=font)
        assert abs(bb.x0 - wx0) < 8 and abs(bb.x1 - wx1) < 8, (word, bb, (wx0, wx1))
        assert abs(bb.y0 - wy0) < 8 and abs(bb.y1 - wy1) < 8, (word, bb, (wy0, wy1))
    paras = [doc.node_text(n) for n in doc.iter_nodes(NodeKind.PARAGRAPH)]
    assert paras[0].startswith("Invoice") and paras[-1].endswith("EUR")
    assert doc.metadata["ocr_engine"] in ("tesseract", "rapidocr")


@needs_ocr
def test_multi_frame_tiff_pages() -> None:
    a = render([("First page alpha", 40, 40)], (700, 140))
    b = render([("Second page omega", 40, 40)], (700, 140))
    buf = io.BytesIO()
    a.save(buf, "TIFF", save_all=True, append_images=[b])
    doc = parse(buf.getvalue())
    assert [p.number for p in doc.pages] == [1, 2]
    assert "alpha" in doc.span_text(doc.pages[0].span) and "omega" in doc.span_text(doc.pages[1].span)
    s = doc.text.index("omega")
    assert doc.locate(Span(s, s + 5))[0].prov.page == 2
    assert doc.source.media_type == "image/tiff"


def test_decompression_bomb_header_is_refused_fast() -> None:
    data = png_header(100_000, 100_000)
    t = time.perf_counter()
    with pytest.raises(PixelLimitError):
        parse(data)
    with pytest.raises(PixelLimitError, match="max_pixels"):
        parse(png_header(12_000, 12_000))  # 144 M pixels: above our limit, below Pillow's own bomb check
    assert time.perf_counter() - t < 1.0


def test_pixel_limit_applies_before_decoding_and_before_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_engine(prefer: str | None = None) -> ocr.OcrEngine:
        raise AssertionError("OCR must not start for an over-limit image")

    monkeypatch.setattr("evidex.parse.image.parser.get_engine", no_engine)
    with pytest.raises(PixelLimitError):
        parse(to_bytes(Image.new("L", (200, 200), 255)), max_pixels=10_000)


def test_garbage_empty_and_truncated() -> None:
    with pytest.raises(EmptyInputError):
        parse(b"")
    with pytest.raises(MalformedError):
        parse(b"\x89PNG\r\n\x1a\n" + b"junk" * 50)
    data = to_bytes(Image.new("RGB", (400, 400), "white"))
    with pytest.raises(MalformedError):
        parse(data[: len(data) // 2] if len(data) > 200 else data[:60])


def test_no_engine_is_a_missing_dependency_error_with_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "_tesseract_binary", lambda: None)
    monkeypatch.setattr(ocr, "_rapidocr_installed", lambda: False)
    monkeypatch.setattr(ocr, "_engines", {})
    assert not ocr.ocr_available()
    with pytest.raises(MissingDependencyError, match="tesseract-ocr"):
        parse(to_bytes(Image.new("L", (50, 50), 255)))


def test_tesseract_tsv_parsing() -> None:
    tsv = (
        "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
        "4\t1\t1\t1\t1\t0\t64\t68\t419\t30\t-1\t\n"
        "5\t1\t1\t1\t1\t1\t64\t68\t137\t30\t95.8\tInvoice\n"
        "5\t1\t1\t1\t1\t2\t220\t68\t151\t30\t96.1\tnumber\n"
        "5\t1\t1\t1\t1\t3\t300\t68\t10\t30\t10\t \n"
        "5\t1\t2\t1\t1\t1\t60\t168\t89\t30\t95.1\tTotal\n"
    )
    words = parse_tesseract_tsv(tsv)
    assert [(w.text, w.line) for w in words] == [("Invoice", 0), ("number", 0), ("Total", 1)]
    assert (words[1].x0, words[1].y0, words[1].x1, words[1].y1) == (220, 68, 371, 98)
    assert words[0].conf == pytest.approx(0.958)


@needs_ocr
def test_rapidocr_fallback_uses_packaged_models() -> None:
    pytest.importorskip("rapidocr")
    engine = ocr.get_engine("rapidocr")
    words = engine.recognize(render([("Invoice 4711", 30, 30)], (500, 110)))
    assert "4711" in " ".join(w.text for w in words)
    assert all(0 <= w.conf <= 1 and w.x0 < w.x1 and w.y0 < w.y1 for w in words)


@needs_ocr
def test_registered_image_parser_via_parse_bytes() -> None:
    doc = parse_bytes(to_bytes(render([("Hello evidex", 30, 30)], (500, 110)), "JPEG", quality=95), "x.jpg")
    assert "evidex" in doc.text and doc.source.media_type == "image/jpeg"
