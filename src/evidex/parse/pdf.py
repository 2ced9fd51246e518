"""PDF → Document, on the pdfium text layer (pypdfium2) with our own layout analysis.

Why this stack (measured on this machine, research/anchors-parsing.md §0/§3 and tests/test_parse_pdf.py):

- **Text layer: pypdfium2** (Apache-2.0/BSD). Per character it gives the Unicode value, a loose box
  (font ascent/descent, so a line's boxes align), the font size and the text object (fill colour, render
  mode, font weight) — everything needed for word boxes, headings and hidden-text detection, at a few
  ms per page (see the speed test; raw pypdfium2 text extraction ran at ~960 pages/s).
- **Tables: our own grid detection** from ruling lines (pdfium path objects: thin rectangles and
  axis-aligned line segments), instead of pdfplumber. pdfplumber finds the same ruled cells but runs at
  ~9 pages/s (pdfminer-bound, 262 MB RSS) and would re-parse the file with a second PDF engine whose
  coordinates and character set may differ from pdfium's. Unruled tables are not detected as tables (their
  rows are kept as lines; rows aligned like a key/value grid are read row by row).
- **Layout** (evidex.parse.layout): words → lines by vertical overlap → reading order by XY-cut over line
  boxes (content-stream order is ignored, so right-column-first streams read left column first) →
  blocks → heading levels from font-size/weight clusters across the whole document.
- **Furniture**: lines in the top/bottom 10 % of pages that repeat at the same position on at least half
  the pages (digits normalised, so "Page 3" matches "Page 4"), or that look like page numbers, become
  PAGE_HEADER/PAGE_FOOTER nodes on the FURNITURE layer.
- **Hidden text** (white fill on no dark background, fill alpha 0, size < 1 pt, off-page, render mode 3
  unless the page is a scan with an OCR text layer) → nodes on the HIDDEN layer + warning ``HIDDEN_TEXT``.
- Pages without a text layer but with images are OCR'd (evidex.parse.ocr) when an engine is installed.

Canonical text: pages separated by a blank line; blocks by a blank line; lines of a block by "\\n";
table rows by "\\n" and cells by " | ". Each word is a fine-grained anchor:
``Prov(page=n, bbox=BBox(x0, top, x1, bottom, Origin.TOP_LEFT))`` in PDF points from the mediabox corner.
"""

from __future__ import annotations

import ctypes
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

from evidex.errors import DecompressionLimitError, EmptyInputError, EncryptedError, LimitError, MalformedError
from evidex.model import BBox, Document, Layer, NodeKind, Origin, Prov, Span
from evidex.parse.base import ParseContext
from evidex.parse.builder import DocumentBuilder
from evidex.parse.layout import (
    Block,
    Line,
    Word,
    body_size,
    group_blocks,
    heading_levels,
    reading_order,
    words_to_lines,
)
from evidex.parse.limits import Limits
from evidex.parse.pdftables import Rule, Table, find_tables

__all__ = ["PdfParser"]

OCR_DPI = 200
_PAGE_NUM = re.compile(
    r"^\s*(?:page|p\.|seite|pagina|página)?\s*[-–—(\[]?\s*(?:\d{1,4}|[ivxlc]{1,6})\s*[-–—)\]]?"
    r"(?:\s*(?:of|/|von|de)\s*\d{1,4})?\s*$",
    re.IGNORECASE,
)


@dataclass
class _Region:  # a table placed in the reading order
    table: Table
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass
class _Page:
    number: int
    width: float
    height: float
    lines: list[Line] = field(default_factory=list)  # visible, non-table lines
    hidden: list[Line] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    header: list[Line] = field(default_factory=list)
    footer: list[Line] = field(default_factory=list)
    elements: list[Block | Table] = field(default_factory=list)
    ocr: bool = False
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- pdfium
class _PageReader:
    """Extract words (with style and visibility), ruling lines and image boxes from one pdfium page."""

    def __init__(self, raw: Any) -> None:
        self.r = raw
        self._styles: dict[int, tuple[bool, bool, bool]] = {}  # text object address → (bold, invisible, white)
        self._text_object = _text_object_fn(raw)

    def _style(self, key: int) -> tuple[bool, bool, bool]:
        st = self._styles.get(key)
        if st is not None:
            return st
        r = self.r
        obj = ctypes.cast(key, r.FPDF_PAGEOBJECT)
        mode = r.FPDFTextObj_GetTextRenderMode(obj)
        cr, cg, cb, ca = (ctypes.c_uint() for _ in range(4))
        getter = r.FPDFPageObj_GetStrokeColor if mode == 1 else r.FPDFPageObj_GetFillColor
        has_color = getter(obj, cr, cg, cb, ca)
        white = bool(has_color) and min(cr.value, cg.value, cb.value) >= 245
        invisible = mode == r.FPDF_TEXTRENDERMODE_INVISIBLE or (bool(has_color) and ca.value == 0)
        bold = False
        font = r.FPDFTextObj_GetFont(obj)
        if font:
            buf = ctypes.create_string_buffer(256)
            r.FPDFFont_GetBaseFontName(font, buf, 256)
            name = buf.value.decode("latin-1", "replace").lower()
            weight = r.FPDFFont_GetWeight(font)
            bold = weight >= 600 or any(s in name for s in ("bold", "black", "heavy", "semibold", "demi"))
        st = (bold, invisible, white)
        self._styles[key] = st
        return st

    def read(
        self, page: Any, textpage: Any, box: tuple[float, float, float, float]
    ) -> tuple[list[Word], list[Rule], list[tuple[float, float, float, float]], list[tuple[float, float, float, float]]]:
        """Words, ruling lines, dark filled areas and image boxes (all top-left origin, points)."""
        r = self.r
        left, _bottom, _right, top = box
        fills: list[tuple[float, float, float, float]] = []
        images: list[tuple[float, float, float, float]] = []
        rules: list[Rule] = []
        for k in range(r.FPDFPage_CountObjects(page)):
            obj = r.FPDFPage_GetObject(page, k)
            t = r.FPDFPageObj_GetType(obj)
            if t not in (r.FPDF_PAGEOBJ_PATH, r.FPDF_PAGEOBJ_IMAGE):
                continue
            bl, bb, br, bt = (ctypes.c_float() for _ in range(4))
            if not r.FPDFPageObj_GetBounds(obj, bl, bb, br, bt):
                continue
            bx = (bl.value - left, top - bt.value, br.value - left, top - bb.value)
            if t == r.FPDF_PAGEOBJ_IMAGE:
                images.append(bx)
                continue
            if len(rules) < 5000:
                rules.extend(self._path_rules(obj, bx, left, top))
            fm, st = ctypes.c_int(), ctypes.c_int()
            r.FPDFPath_GetDrawMode(obj, fm, st)
            if fm.value:
                cr, cg, cb, ca = (ctypes.c_uint() for _ in range(4))
                if r.FPDFPageObj_GetFillColor(obj, cr, cg, cb, ca) and min(cr.value, cg.value, cb.value) < 200:
                    fills.append(bx)
        words = self._words(textpage, box, fills + images)
        return words, rules, fills, images

    def _path_rules(self, obj: Any, bx: tuple[float, float, float, float], left: float, top: float) -> list[Rule]:
        r = self.r
        x0, y0, x1, y1 = bx
        w, h = x1 - x0, y1 - y0
        if h <= 3 and w >= 5:
            return [Rule(True, (y0 + y1) / 2, x0, x1)]
        if w <= 3 and h >= 5:
            return [Rule(False, (x0 + x1) / 2, y0, y1)]
        n = r.FPDFPath_CountSegments(obj)
        if n < 2 or n > 200:
            return []
        m = r.FS_MATRIX()
        if not r.FPDFPageObj_GetMatrix(obj, m):
            return []
        out: list[Rule] = []
        prev: tuple[float, float] | None = None
        start: tuple[float, float] | None = None
        px, py = ctypes.c_float(), ctypes.c_float()
        for i in range(n):
            seg = r.FPDFPath_GetPathSegment(obj, i)
            if not r.FPDFPathSegment_GetPoint(seg, px, py):
                continue
            pt = (m.a * px.value + m.c * py.value + m.e - left, top - (m.b * px.value + m.d * py.value + m.f))
            kind = r.FPDFPathSegment_GetType(seg)
            if kind == r.FPDF_SEGMENT_LINETO and prev is not None:
                out.extend(_seg_rule(prev, pt))
            if kind == r.FPDF_SEGMENT_MOVETO:
                start = pt
            if r.FPDFPathSegment_GetClose(seg) and start is not None:
                out.extend(_seg_rule(pt, start))
            prev = pt
        return out

    def _words(
        self, tp: Any, box: tuple[float, float, float, float], backgrounds: list[tuple[float, float, float, float]]
    ) -> list[Word]:
        r = self.r
        left, bottom, right, top = box
        pw, ph = right - left, top - bottom
        n = r.FPDFText_CountChars(tp)
        rect = r.FS_RECTF()
        get_obj = self._text_object
        get_unicode, get_box, get_size = r.FPDFText_GetUnicode, r.FPDFText_GetLooseCharBox, r.FPDFText_GetFontSize
        text = _page_text(r, tp, n)
        words: list[Word] = []
        cur: list[str] = []
        cx0 = cy0 = cx1 = cy1 = 0.0
        csize = 0.0
        cbold = chidden = False

        def flush() -> None:
            if cur:
                words.append(Word("".join(cur), cx0, cy0, cx1, cy1, csize, cbold, chidden))
                cur.clear()

        for i in range(n):
            ch = text[i] if text is not None else chr(get_unicode(tp, i))
            if ch <= " " or ch.isspace() or ch in "\ufffe\uffff\ufeff":
                flush()
                continue
            obj = get_obj(tp, i)
            bold, invisible, white = self._style(obj) if obj else (False, False, False)
            get_box(tp, i, rect)
            x0, x1 = rect.left - left, rect.right - left
            y0, y1 = top - rect.top, top - rect.bottom
            size = get_size(tp, i)
            mx, my = (x0 + x1) / 2, (y0 + y1) / 2
            hidden = (
                invisible
                or size < 1.0
                or not (0 <= mx <= pw and 0 <= my <= ph)
                or (white and not any(b[0] <= mx <= b[2] and b[1] <= my <= b[3] for b in backgrounds))
            )
            if cur:
                h = max(cy1 - cy0, 1e-6)
                if (
                    hidden != chidden
                    or abs((y0 + y1) / 2 - (cy0 + cy1) / 2) > 0.5 * h
                    or x0 < cx1 - 0.5 * max(size, 1.0)
                    or x0 - cx1 > 0.35 * max(size, csize)
                ):
                    flush()
            if not cur:
                cx0, cy0, cx1, cy1, csize, cbold, chidden = x0, y0, x1, y1, size, bold, hidden
            else:
                if x0 < cx0:
                    cx0 = x0
                if y0 < cy0:
                    cy0 = y0
                if x1 > cx1:
                    cx1 = x1
                if y1 > cy1:
                    cy1 = y1
                if size > csize:
                    csize = size
                cbold = cbold and bold
            cur.append(ch)
        flush()
        return words


def _text_object_fn(raw: Any) -> Any:
    """``FPDFText_GetTextObject`` returning a plain address (int), to key the per-object style cache cheaply."""
    try:
        from pypdfium2_raw import bindings  # type: ignore[import-untyped]

        fn = bindings._libs["pdfium"]["FPDFText_GetTextObject"]  # a fresh function pointer: pypdfium2's is untouched
        fn.argtypes = [raw.FPDF_TEXTPAGE, ctypes.c_int]
        fn.restype = ctypes.c_void_p
        return fn
    except (ImportError, AttributeError, KeyError, TypeError):  # pragma: no cover - older/newer bindings
        get = raw.FPDFText_GetTextObject
        return lambda tp, i: ctypes.cast(get(tp, i), ctypes.c_void_p).value


def _page_text(raw: Any, tp: Any, n: int) -> str | None:
    """The page's characters in one call when they map 1:1 to char indices (no surrogate pairs), else None."""
    if n <= 0:
        return ""
    buf = ctypes.create_string_buffer((n + 1) * 2)
    got = raw.FPDFText_GetText(tp, 0, n, ctypes.cast(buf, ctypes.POINTER(ctypes.c_ushort)))
    text = buf.raw[: max(0, got - 1) * 2].decode("utf-16-le", "replace")
    return text if len(text) == n else None


def _seg_rule(a: tuple[float, float], b: tuple[float, float]) -> list[Rule]:
    if abs(a[1] - b[1]) <= 1 and abs(a[0] - b[0]) >= 5:
        return [Rule(True, (a[1] + b[1]) / 2, min(a[0], b[0]), max(a[0], b[0]))]
    if abs(a[0] - b[0]) <= 1 and abs(a[1] - b[1]) >= 5:
        return [Rule(False, (a[0] + b[0]) / 2, min(a[1], b[1]), max(a[1], b[1]))]
    return []


# ------------------------------------------------------------------------------------ stream-bomb guard
PAGE_CONTENT_CAP = 64 * 1024 * 1024  # decompressed content-stream bytes per page (and per form XObject)
_OBJ_RE = re.compile(rb"(\d{1,10})\s+\d{1,5}\s+obj\b")
_LEN_RE = re.compile(rb"/Length\s+(\d{1,12})(?!\s+\d+\s+R)")
_FLATE_RE = re.compile(rb"/Filter\s*(?:\[\s*)?/(?:FlateDecode|Fl)\b")  # Flate first: measure its output
_CONTENTS_RE = re.compile(rb"/Contents\s*(\[(?:\s*\d+\s+\d+\s+R)*\s*\]|\d+\s+\d+\s+R)")
_REF_RE = re.compile(rb"(\d+)\s+\d+\s+R")


def _inflated(buf: memoryview, cap: int) -> int:
    """Bytes a zlib stream expands to, counted in 1 MiB steps; stops once past ``cap``. Corrupt → bytes so far."""
    d = zlib.decompressobj()
    n, tail, rest = 0, bytes(buf[: 1 << 20]), buf[1 << 20 :]
    try:
        while True:
            out = d.decompress(tail, 1 << 20)
            n += len(out)
            if n > cap or d.eof:
                return n
            tail = d.unconsumed_tail
            if not tail and rest:
                tail, rest = bytes(rest[: 1 << 20]), rest[1 << 20 :]
            elif not tail and not out:
                return n
    except zlib.error:
        return n


def _check_content_streams(data: bytes, limits: Limits) -> None:
    """Bound what pdfium will parse: the decompressed size of each page's content streams (summed over the
    page's /Contents array) and of each form XObject must stay under :data:`PAGE_CONTENT_CAP`, and all of them
    together under ``limits.max_decompressed``. pdfium parses a page's whole content when the page is loaded
    (a 96 MiB stream of text operators took >3 s and >1.3 GB, then aborted the process in get_textpage), so
    this runs on the raw bytes first: stream objects are found by their ``N G obj`` headers (streams are never
    inside object streams), page /Contents references in the file and in its object streams. Only FlateDecode
    and unfiltered streams are measured; other filter chains are left to pdfium. Cost: one inflate of the
    content streams, a few % of a normal parse.
    """
    mv = memoryview(data)
    streams: dict[int, tuple[int, int, bytes]] = {}  # object number → (data start, data end, stream dict)
    for m in _OBJ_RE.finditer(data):
        head = data[m.end() : m.end() + 4096]
        s = head.find(b"stream")
        e = head.find(b"endobj")
        if s < 0 or 0 <= e < s:
            continue
        start = m.end() + s + 6
        start += 2 if data[start : start + 2] == b"\r\n" else 1 if data[start : start + 1] in (b"\n", b"\r") else 0
        lm = _LEN_RE.search(head, 0, s)
        end = start + int(lm.group(1)) if lm else -1
        if end < 0 or end > len(data) or data[end : end + 30].lstrip()[:9] != b"endstream":
            end = data.find(b"endstream", start)
            end = len(data) if end < 0 else end
        streams[int(m.group(1))] = (start, end, head[:s])
    budget = limits.max_decompressed
    sizes: dict[int, int] = {}

    def size(num: int, cap: int) -> int:
        if num not in sizes:
            start, end, d = streams[num]
            flate = _FLATE_RE.search(d)
            sizes[num] = _inflated(mv[start:end], cap) if flate else end - start if b"/Filter" not in d else 0
        return sizes[num]

    def spend(n: int, what: str) -> None:
        nonlocal budget
        if n > PAGE_CONTENT_CAP:
            raise DecompressionLimitError(
                f"{what} expands to more than {PAGE_CONTENT_CAP // (1 << 20)} MiB of content stream "
                f"(evidex.parse.pdf.PAGE_CONTENT_CAP); refused before rendering (possible stream bomb)",
                hint="no real page holds this much drawing code; the file is likely hostile")
        budget -= n
        if budget < 0:
            raise DecompressionLimitError(
                f"content streams expand beyond Limits.max_decompressed={limits.max_decompressed:,} bytes "
                f"(possible stream bomb)", hint="raise Limits.max_decompressed for trusted input")

    sources: list[bytes] = [data]
    for num, (start, end, d) in streams.items():
        if b"/ObjStm" in d and _FLATE_RE.search(d):  # page dictionaries may live in object streams
            try:
                body = zlib.decompressobj().decompress(mv[start:end], PAGE_CONTENT_CAP)
            except zlib.error:
                continue
            sizes[num] = len(body)
            budget -= len(body)
            spend(0, "object streams")
            sources.append(body)
    page = 0
    for src in sources:
        for m in _CONTENTS_RE.finditer(src):
            refs = [int(r) for r in _REF_RE.findall(m.group(1))]
            refs = [r for r in refs if r in streams]
            if not refs:
                continue
            page += 1
            total = 0
            for r in refs:
                total += size(r, min(PAGE_CONTENT_CAP - total, max(budget, 0)) + 1)
                if total > PAGE_CONTENT_CAP:
                    break
            spend(total, f"page content ({len(refs)} stream(s), page object #{page} in file order)")
    for num, (_s, _e, d) in streams.items():
        if b"/Form" in d and num not in sizes:
            spend(size(num, min(PAGE_CONTENT_CAP, max(budget, 0)) + 1), f"form XObject {num}")


# ---------------------------------------------------------------------------------------------- parser
class PdfParser:
    name: ClassVar[str] = "pdf"
    media_type: ClassVar[str] = "application/pdf"
    extensions: ClassVar[tuple[str, ...]] = (".pdf",)

    def parse(self, data: bytes, ctx: ParseContext) -> Document:
        import pypdfium2 as pdfium
        import pypdfium2.raw as raw

        if not data.strip():
            raise EmptyInputError("empty PDF")
        _check_content_streams(data, ctx.limits)  # before pdfium: loading a page parses all of its content
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as e:
            code = getattr(e, "err_code", None)
            if code in (raw.FPDF_ERR_PASSWORD, raw.FPDF_ERR_SECURITY):
                raise EncryptedError("the PDF is password-protected") from None
            raise MalformedError(f"not a readable PDF ({e})") from None
        b = ctx.builder(data, self.media_type)
        try:
            n = len(pdf)
            if n == 0:
                raise MalformedError("the PDF has no pages (damaged or truncated)")
            if n > ctx.limits.max_pages:
                raise LimitError(
                    f"{n:,} pages exceeds Limits.max_pages={ctx.limits.max_pages:,}",
                    hint="raise the max_pages limit (--max-pages) for trusted input",
                )
            if b"%%EOF" not in data[-2048:]:
                b.warn("TRUNCATED: the file does not end with %%EOF; it may be incomplete")
            try:
                meta = pdf.get_metadata_dict(skip_empty=True)
            except Exception:  # metadata is optional
                meta = {}
            for k, v in meta.items():
                b.metadata[k.lower()] = str(v)
            pages = [self._read_page(pdf, i, raw, ctx) for i in range(n)]
        finally:
            pdf.close()
        _mark_furniture(pages)
        _layout(pages)
        _emit(b, pages)
        return b.build()

    def _read_page(self, pdf: Any, i: int, raw: Any, ctx: ParseContext) -> _Page:
        try:
            page = pdf[i]
        except Exception as e:  # one bad page must not lose the others
            p = _Page(i + 1, 0.0, 0.0)
            p.warnings.append(f"PAGE_UNREADABLE: page {i + 1} could not be read ({e}); its content is missing")
            return p
        try:
            left, bottom, right, top = page.get_mediabox()
            out = _Page(i + 1, right - left, top - bottom)
            textpage = page.get_textpage()
            try:
                words, rules, _fills, images = _PageReader(raw).read(page.raw, textpage.raw, (left, bottom, right, top))
            finally:
                textpage.close()
            area = max(out.width * out.height, 1.0)
            scan = any((x1 - x0) * (y1 - y0) >= 0.5 * area for x0, y0, x1, y1 in images)
            if scan:  # an OCR'd scan: its invisible text layer is the page's real text
                words = [_unhide(w) if w.hidden and w.size >= 1.0 else w for w in words]
            if not any(not w.hidden for w in words) and images:
                words = self._ocr_page(page, out, ctx) + words
            tables = find_tables(rules) if rules and not out.ocr else []
            _assign(out, words, tables)
            return out
        finally:
            page.close()

    def _ocr_page(self, page: Any, out: _Page, ctx: ParseContext) -> list[Word]:
        from evidex.errors import MissingDependencyError
        from evidex.parse.ocr import get_engine

        try:
            engine = get_engine()
        except MissingDependencyError:
            out.warnings.append(
                f"NO_TEXT_LAYER: page {out.number} has no text layer and no OCR engine is installed "
                "(apt-get install tesseract-ocr); its text is missing"
            )
            return []
        scale = OCR_DPI / 72.0
        pixels = out.width * out.height * scale * scale
        if pixels > ctx.limits.max_pixels:  # a huge page: render at a lower resolution, within the pixel limit
            scale *= (ctx.limits.max_pixels / pixels) ** 0.5
        image = page.render(scale=scale).to_pil()
        ocr_words = engine.recognize(image, dpi=max(70, round(scale * 72)), timeout=ctx.limits.timeout_s)
        image.close()
        out.ocr = True
        out.warnings.append(f"OCR: page {out.number} has no text layer; its text was recognised with {engine.name}")
        k = 1.0 / scale
        return [Word(w.text, w.x0 * k, w.y0 * k, w.x1 * k, w.y1 * k, (w.y1 - w.y0) * k, conf=w.conf) for w in ocr_words]


def _unhide(w: Word) -> Word:
    return Word(w.text, w.x0, w.y0, w.x1, w.y1, w.size, w.bold, False, w.conf)


def _assign(page: _Page, words: list[Word], tables: list[Table]) -> None:
    free: list[Word] = []
    for w in words:
        if not w.hidden and tables:
            mx, my = (w.x0 + w.x1) / 2, (w.y0 + w.y1) / 2
            t = next((t for t in tables if t.x0 <= mx <= t.x1 and t.y0 <= my <= t.y1), None)
            if t is not None and t.add_word(w, mx, my):
                continue
        free.append(w)
    lines = words_to_lines(free)
    page.lines = [ln for ln in lines if not ln.hidden]
    page.hidden = sorted((ln for ln in lines if ln.hidden), key=lambda ln: (ln.y0, ln.x0))
    page.tables = [t for t in tables if t.has_text()]  # an empty ruled grid (form boxes) holds nothing to keep


# ---------------------------------------------------------------------------------------------- furniture
def _norm(s: str) -> str:
    return re.sub(r"\d+", "#", " ".join(s.lower().split()))


def _mark_furniture(pages: list[_Page]) -> None:
    def zone(p: _Page, ln: Line) -> str | None:
        if p.height <= 0:
            return None
        if ln.y1 <= 0.1 * p.height:
            return "top"
        if ln.y0 >= 0.9 * p.height:
            return "bottom"
        return None

    counts: Counter[tuple[str, str, int]] = Counter()
    for p in pages:
        if p.ocr:
            continue
        seen = set()
        for ln in p.lines:
            z = zone(p, ln)
            if z is not None:
                seen.add((z, _norm(ln.text), round(ln.y0 / 6)))
        counts.update(seen)
    need = max(2, (len(pages) + 1) // 2)
    body = body_size([ln for p in pages if not p.ocr for ln in p.lines]) or 1e9
    for p in pages:
        keep: list[Line] = []
        for ln in p.lines:
            z = zone(p, ln)
            key = (z or "", _norm(ln.text), round(ln.y0 / 6))
            is_furn = z is not None and (
                (len(pages) >= 2 and counts[key] >= need and ln.size <= body * 1.1) or (_PAGE_NUM.match(ln.text) is not None and len(ln.text) <= 20)
            )
            if is_furn:
                (p.header if z == "top" else p.footer).append(ln)
            else:
                keep.append(ln)
        p.lines = keep
        p.header.sort(key=lambda ln: (ln.y0, ln.x0))
        p.footer.sort(key=lambda ln: (ln.y0, ln.x0))


# ---------------------------------------------------------------------------------------------- layout
def _layout(pages: list[_Page]) -> None:
    for p in pages:
        items: list[Line | _Region] = [*p.lines, *(_Region(t, t.x0, t.y0, t.x1, t.y1) for t in p.tables)]
        if not items:
            continue
        sizes = sorted(ln.size for ln in p.lines) or [10.0]
        gap = max(sizes[len(sizes) // 2], 4.0)
        ordered = reading_order(items, gap, lambda it: it.chars if isinstance(it, Line) else 40)
        run: list[Line] = []
        for it in ordered:
            if isinstance(it, Line):
                run.append(it)
                continue
            p.elements.extend(group_blocks(run))
            run = []
            p.elements.append(it.table)
        p.elements.extend(group_blocks(run))


def _emit(b: DocumentBuilder, pages: list[_Page]) -> None:
    text_pages = [p for p in pages if not p.ocr]
    body = body_size([ln for p in text_pages for ln in p.lines])
    blocks = [e for p in text_pages for e in p.elements if isinstance(e, Block)]
    body_bold = False
    if body:
        bold_chars = sum(ln.chars for blk in blocks for ln in blk.lines if ln.bold and abs(ln.size - body) < 0.5)
        all_chars = sum(ln.chars for blk in blocks for ln in blk.lines if abs(ln.size - body) < 0.5)
        body_bold = bold_chars * 2 > all_chars
    levels_by_index = heading_levels(blocks, body, body_bold)
    levels = {id(blocks[i]): lv for i, lv in levels_by_index.items()}
    sections: list[tuple[int, int]] = []  # (level, node id)
    hidden_pages: list[int] = []
    for p in pages:
        b.ensure_break(2)
        start = b.pos
        if p.header:
            _emit_lines(b, NodeKind.PAGE_HEADER, p.header, p.number, Layer.FURNITURE)
        for el in p.elements:
            b.ensure_break(2)
            if isinstance(el, Table):
                _emit_table(b, el, p.number)
                continue
            lv = levels.get(id(el))
            if lv is not None:
                while sections and sections[-1][0] >= lv:
                    b.close(sections.pop()[1])
                sections.append((lv, b.open(NodeKind.SECTION, level=lv)))
                _emit_lines(b, NodeKind.HEADING, el.lines, p.number, None, level=lv)
            else:
                _emit_lines(b, NodeKind.PARAGRAPH, el.lines, p.number, None)
        if p.hidden:
            hidden_pages.append(p.number)
            for blk in group_blocks(p.hidden):
                b.ensure_break(2)
                _emit_lines(b, NodeKind.TEXT, blk.lines, p.number, Layer.HIDDEN)
        if p.footer:
            b.ensure_break(2)
            _emit_lines(b, NodeKind.PAGE_FOOTER, p.footer, p.number, Layer.FURNITURE)
        end = max(start, b.pos)
        b.add_page(p.number, p.width, p.height, Span(start, end))
        for w in p.warnings:
            b.warn(w)
    if hidden_pages:
        b.warn(
            f"HIDDEN_TEXT: text a reader cannot see (white-on-white, < 1 pt, off-page or invisible) on page(s) "
            f"{', '.join(map(str, hidden_pages))}; kept on the hidden layer"
        )
    if not b.pos:
        b.warn("NO_TEXT: the PDF has no extractable text")


def _bbox(x0: float, y0: float, x1: float, y1: float) -> BBox:
    return BBox(round(x0, 2), round(y0, 2), round(x1, 2), round(y1, 2), Origin.TOP_LEFT)


def _emit_words(b: DocumentBuilder, words: list[Word], page: int, sep: str = " ") -> None:
    for k, w in enumerate(words):
        if k:
            b.sep(sep)
        b.text(w.text, Prov(page=page, bbox=_bbox(w.x0, w.y0, w.x1, w.y1)))


def _emit_lines(
    b: DocumentBuilder, kind: NodeKind, lines: list[Line], page: int, layer: Layer | None, level: int | None = None
) -> None:
    box = Block(lines).bbox
    nid = b.open(kind, level=level, layer=layer, prov=Prov(page=page, bbox=_bbox(*box)))
    for k, ln in enumerate(lines):
        if k:
            b.sep("\n")
        _emit_words(b, ln.words, page)
    b.close(nid)


def _emit_table(b: DocumentBuilder, t: Table, page: int) -> None:
    tid = b.open(NodeKind.TABLE, prov=Prov(page=page, bbox=_bbox(t.x0, t.y0, t.x1, t.y1)), attrs={"rows": t.n_rows, "cols": t.n_cols})
    header_row = all(all(w.bold for w in c.words) and c.words for c in t.cells if c.row == 0)
    for r in range(t.n_rows):
        cells = [c for c in t.cells if c.row == r]
        if not cells:
            continue
        if r:
            b.sep("\n")
        rid = b.open(NodeKind.ROW, attrs={"row": r})
        for k, c in enumerate(sorted(cells, key=lambda c: c.col)):
            if k:
                b.sep(" | ")
            attrs: dict[str, Any] = {"row": c.row, "col": c.col, "header": bool(header_row and r == 0)}
            if c.rowspan > 1:
                attrs["rowspan"] = c.rowspan
            if c.colspan > 1:
                attrs["colspan"] = c.colspan
            cid = b.open(NodeKind.CELL, prov=Prov(page=page, bbox=_bbox(c.x0, c.y0, c.x1, c.y1)), attrs=attrs)
            lines = words_to_lines(c.words) if c.words else []
            lines.sort(key=lambda ln: (ln.y0, ln.x0))
            for j, ln in enumerate(lines):
                if j:
                    b.sep(" ")
                _emit_words(b, ln.words, page)
            b.close(cid)
        b.close(rid)
    b.close(tid)
