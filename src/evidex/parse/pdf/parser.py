"""PDF → Document, on the pdfium text layer (pypdfium2) with our own layout analysis.

Why this stack (measured on this machine, research/anchors-parsing.md §0/§3 and tests/test_parse_pdf.py):

- **Text layer: pypdfium2** (Apache-2.0/BSD). Per character it gives the Unicode value, a loose box
  (font ascent/descent, so a line's boxes align), the font size and the text object (fill colour, render
  mode, font weight) — everything needed for word boxes, headings and hidden-text detection, at a few
  ms per page (see the speed test; raw pypdfium2 text extraction ran at ~960 pages/s).
- **Tables: our own grid detection** from ruling lines (pdfium path objects: thin rectangles and
  axis-aligned line segments), instead of pdfplumber. pdfplumber finds the same ruled cells but runs at
  ~9 pages/s (pdfminer-bound, 262 MB RSS) and would re-parse the file with a second PDF engine whose
  coordinates and character set may differ from pdfium's. Unruled tables of at least three aligned
  columns and three rows become tables too (``attrs["ruled"] is False``; tables.find_unruled_tables); two
  aligned columns stay lines (rows aligned like a key/value grid are read row by row).
- **Words** (evidex.parse.pdf.text): ligature glyphs are read as their letters inside one word ("file",
  never "f ile"); pdfium's line-end hyphen marker is kept as "-" with the hyphen glyph's position.
- **Layout** (evidex.structure.layout): words → rows → lines split at 1.5 em gaps and at column gutters
  found per window of rows → reading order (head block, columns, spanning lines between column zones,
  bands; content-stream order is ignored, so right-column-first streams read left column first) →
  blocks → heading levels from font-size/weight clusters across the whole document. The rules are in
  that module's docstring.
- **Rotation**: a page is laid out in the frame its text reads upright in (text objects' baseline angles,
  quarter turns; most characters decide), then every box is moved to the page as displayed (/Rotate; page
  width/height as displayed). Text turned against the page (a margin label) is read in its own frame and
  placed after the page body as its own block.
- **Paragraphs across columns**: a block that starts a new column in the same style, continuing the previous
  one (a word hyphenated onto it, or a lowercase start after a line with no closing punctuation), is the same
  paragraph.
- **Hyphenated words** are joined across the lines of a block (layout.hyphen_join: syllable breaks lose the
  hyphen, compounds and case changes keep it); the word's two parts keep their own boxes (two anchors).
- **Lists**: a body line starting with a bullet or an enumerator opens a LIST_ITEM (hanging-indent lines
  continue it; deeper markers nest a LIST in the item); see ``_units`` for the rules.
- **Furniture**: lines in the top/bottom 10 % of pages that repeat at the same position on at least half
  the pages (digits normalised, so "Page 3" matches "Page 4"), or that look like page numbers, become
  PAGE_HEADER/PAGE_FOOTER nodes on the FURNITURE layer.
- **Hidden text** (white fill on no dark background, fill alpha 0, size < 1 pt, off-page, render mode 3
  unless the page is a scan with an OCR text layer) → nodes on the HIDDEN layer + warning ``HIDDEN_TEXT``.
- Pages without a text layer but with images are OCR'd (evidex.parse.image.ocr) when an engine is installed.

Canonical text: pages separated by a blank line; blocks by a blank line; lines of a block by "\\n";
table rows by "\\n" and cells by " | ". Each word is a fine-grained anchor:
``Prov(page=n, bbox=BBox(x0, top, x1, bottom, Origin.TOP_LEFT))`` in PDF points from the mediabox corner.

Modules: ``pdf_guard`` (content-stream bomb guard, runs before pdfium), ``pdf_text`` (per-page words, rules
and image boxes from pdfium); this module assigns words to tables, marks furniture, orders and emits.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

from evidex.errors import EmptyInputError, EncryptedError, LimitError, MalformedError
from evidex.model import BBox, Document, Layer, NodeKind, Origin, Prov, Span
from evidex.parse.base import ParseContext
from evidex.parse.pdf.flow import merge_continued
from evidex.parse.pdf.guard import PAGE_CONTENT_CAP, check_content_streams
from evidex.parse.pdf.lists import ListRun, list_units
from evidex.parse.pdf.tables import Table, find_tables, find_unruled_tables
from evidex.parse.pdf.text import PageReader, box_from_frame, box_to_frame, frame_size
from evidex.structure.builder import DocumentBuilder
from evidex.structure.layout import (
    Block,
    Line,
    Word,
    body_size,
    group_blocks,
    heading_levels,
    hyphen_join,
    reading_order,
    words_to_lines,
)
from evidex.structure.limits import limit_hint

__all__ = ["PAGE_CONTENT_CAP", "PdfParser"]  # the guard's error names evidex.parse.pdf.parser.PAGE_CONTENT_CAP

OCR_DPI = 200
_PAGE_NUM = re.compile(
    r"^\s*(?:page|p\.|seite|pagina|página)?\s*[-–—(\[]?\s*(?:\d{1,4}|(?=[ivxlc])c{0,3}(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3}))"
    r"\s*[-–—)\]]?"
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
    frame: int = 0  # rotation (degrees) of the frame the page was laid out in: the one its text reads upright in
    rotate: int = 0  # the page's /Rotate: boxes are reported on the page as displayed
    size0: tuple[float, float] = (0.0, 0.0)  # the unrotated mediabox's width and height
    turned: list[Block] = field(default_factory=list)  # blocks of text running in a minority direction


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
        check_content_streams(data, ctx.limits)  # before pdfium: loading a page parses all of its content
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
                    hint=limit_hint("max_pages"),
                )
            if b"%%EOF" not in data[-2048:]:
                b.warn("TRUNCATED: the file does not end with %%EOF; it may be incomplete")
            try:
                meta = pdf.get_metadata_dict(skip_empty=True)
            except Exception:  # metadata is optional
                meta = {}
            for k, v in meta.items():
                b.metadata[k.lower()] = str(v)
            _info_metadata(b, meta)
            pages = [self._read_page(pdf, i, raw, ctx) for i in range(n)]
        finally:
            pdf.close()
        _mark_furniture(pages)
        _layout(pages)
        for p in pages:
            _to_display(p)
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
            out.size0 = (out.width, out.height)
            try:
                out.rotate = int(page.get_rotation()) % 360
            except Exception:  # an unreadable /Rotate is no rotation
                out.rotate = 0
            textpage = page.get_textpage()
            reader = PageReader(raw)
            try:
                words, rules, _fills, images = reader.read(page.raw, textpage.raw, (left, bottom, right, top))
            finally:
                textpage.close()
            out.frame = reader.frame
            out.width, out.height = frame_size(out.frame, *out.size0)
            for rot, turned_words in reader.turned.items():
                out.turned.extend(_turned_blocks(turned_words, rot, out.frame, out.size0))
            area = max(out.width * out.height, 1.0)
            scan = any((x1 - x0) * (y1 - y0) >= 0.5 * area for x0, y0, x1, y1 in images)
            if scan:  # an OCR'd scan: its invisible text layer is the page's real text
                words = [_unhide(w) if w.hidden and w.size >= 1.0 else w for w in words]
            if not any(not w.hidden for w in words) and images:
                # OCR reads the page as rendered, i.e. as displayed: lay it out in the displayed frame
                for w in words:
                    w.x0, w.y0, w.x1, w.y1 = _reframe((w.x0, w.y0, w.x1, w.y1), out.frame, out.rotate, out.size0)
                images = [_reframe(b, out.frame, out.rotate, out.size0) for b in images]
                out.frame = out.rotate
                out.width, out.height = frame_size(out.frame, *out.size0)
                words = self._ocr_page(page, out, ctx) + words
            tables = find_tables(rules) if rules and not out.ocr else []
            _assign(out, words, tables)
            return out
        finally:
            page.close()

    def _ocr_page(self, page: Any, out: _Page, ctx: ParseContext) -> list[Word]:
        from evidex.errors import MissingDependencyError
        from evidex.parse.image.ocr import get_engine

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


# the info dictionary's keys, as labels a reader (and the candidate builder's label cues) understands
_INFO_LABELS = {
    "Title": "Title", "Author": "Author", "Subject": "Subject", "Keywords": "Keywords", "Creator": "Creator tool",
    "Producer": "Producer", "CreationDate": "Creation date", "ModDate": "Modification date",
}
_PDF_DATE = re.compile(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?\s*(?:([Zz+-])(\d{2})?'?(\d{2})?'?)?")


def pdf_date_iso(raw: str) -> str | None:
    """``D:20230105102231+01'00'`` → ``2023-01-05T10:22:31+01:00`` (PDF 32000 §7.9.4); None when unreadable."""
    m = _PDF_DATE.match(raw.strip())
    if not m:
        return None
    y, mo, d, hh, mi, ss, sign, tzh, tzm = m.groups()
    if not (1 <= int(mo or 1) <= 12 and 1 <= int(d or 1) <= 31):
        return None
    out = f"{y}-{mo or '01'}-{d or '01'}"
    if hh:
        out += f"T{hh}:{mi or '00'}:{ss or '00'}"
        if sign in ("Z", "z"):
            out += "Z"
        elif sign:
            out += f"{sign}{tzh or '00'}:{tzm or '00'}"
    return out


def _info_metadata(b: DocumentBuilder, meta: dict[str, Any]) -> None:
    """The info dictionary as METADATA-layer ``Key: value`` entries (dates shown as ISO 8601, raw kept)."""
    for key, label in _INFO_LABELS.items():
        raw = str(meta.get(key) or "").strip()
        if not raw:
            continue
        attrs: dict[str, Any] = {"origin": "pdf-info", "key": key}
        value = raw
        if key in ("CreationDate", "ModDate"):
            iso = pdf_date_iso(raw)
            if iso is None:
                continue
            value, attrs["raw"] = iso, raw
        b.add_metadata(label, value, Prov(part=f"pdf:/Info/{key}"), attrs=attrs)


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
    unruled, page.lines = find_unruled_tables(page.lines)
    page.tables.extend(unruled)


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
def _reframe(
    b: tuple[float, float, float, float], src: int, dst: int, size0: tuple[float, float]
) -> tuple[float, float, float, float]:
    """A box of the frame turned by ``src`` degrees in the frame turned by ``dst`` (text.box_to_frame)."""
    if src == dst:
        return b
    return box_to_frame(box_from_frame(b, src, *size0), dst, *size0)


def _turned_blocks(words: list[Word], rot: int, frame: int, size0: tuple[float, float]) -> list[Block]:
    """Words of a minority direction: lines, order and blocks in their own frame, then boxes in the page's."""
    visible = [w for w in words if not w.hidden]
    if not visible:
        return []
    lines = words_to_lines(visible)
    sizes = sorted(ln.size for ln in lines)
    blocks = group_blocks(reading_order(lines, max(0.8 * sizes[len(sizes) // 2], 4.0), lambda ln: ln.chars))
    for blk in blocks:
        for ln in blk.lines:
            for w in ln.words:
                w.x0, w.y0, w.x1, w.y1 = _reframe((w.x0, w.y0, w.x1, w.y1), rot, frame, size0)
                if w.hyphen is not None:
                    w.hyphen = w.x1
            ln.refresh()
    return blocks


def _to_display(p: _Page) -> None:
    """Move the page's boxes from its layout frame to the page as displayed (its /Rotate), after layout."""
    rot = p.rotate
    if p.frame == rot:
        return
    w0, h0 = p.size0

    def conv(b: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        return _reframe(b, p.frame, rot, (w0, h0))

    lines = [*p.lines, *p.hidden, *p.header, *p.footer, *(ln for blk in p.turned for ln in blk.lines)]
    for ln in lines:
        for w in ln.words:
            w.x0, w.y0, w.x1, w.y1 = conv((w.x0, w.y0, w.x1, w.y1))
            if w.hyphen is not None:  # the hyphen's cut runs along the text line, which turned: keep the box
                w.hyphen = w.x1
        ln.refresh()
    for t in p.tables:
        t.x0, t.y0, t.x1, t.y1 = conv((t.x0, t.y0, t.x1, t.y1))
        for c in t.cells:
            c.x0, c.y0, c.x1, c.y1 = conv((c.x0, c.y0, c.x1, c.y1))
            for w in c.words:
                w.x0, w.y0, w.x1, w.y1 = conv((w.x0, w.y0, w.x1, w.y1))
    p.width, p.height = frame_size(rot, w0, h0)
    p.frame = rot


def _layout(pages: list[_Page]) -> None:
    for p in pages:
        _layout_page(p)
        p.elements.extend(p.turned)  # text turned against the page's direction: read after the page's body


def _layout_page(p: _Page) -> None:
    items: list[Line | _Region] = [*p.lines, *(_Region(t, t.x0, t.y0, t.x1, t.y1) for t in p.tables)]
    if not items:
        return
    sizes = sorted(ln.size for ln in p.lines) or [10.0]
    gap = max(0.8 * sizes[len(sizes) // 2], 4.0)  # a column gutter can be as narrow as ~1 em
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
    p.elements = merge_continued(p.elements)  # a paragraph running on into the next column is one block


def _emit_list(b: DocumentBuilder, run: ListRun, page: int) -> None:
    """LIST > LIST_ITEM nodes ("\n" between items); an item whose marker is indented past its list's
    marker opens a nested LIST inside the current item."""
    stack: list[tuple[float, int, int | None]] = []  # (marker x0, list node, open item node)
    for it in run.items:
        tol = 0.5 * max(it.lines[0].size, 1.0)
        while stack and it.x0 < stack[-1][0] - tol:
            _x, lid, iid = stack.pop()
            if iid is not None:
                b.close(iid)
            b.close(lid)
        if stack and abs(it.x0 - stack[-1][0]) <= tol:
            x, lid, iid = stack[-1]
            if iid is not None:
                b.close(iid)
            b.ensure_break(1)
        else:
            if stack:
                b.ensure_break(1)
            lid = b.open(NodeKind.LIST, level=len(stack) + 1, attrs={"ordered": it.ordered})
            x = it.x0
            stack.append((x, lid, None))
        box = Block(it.lines).bbox
        iid = b.open(NodeKind.LIST_ITEM, level=len(stack), prov=Prov(page=page, bbox=_bbox(*box)))
        stack[-1] = (stack[-1][0], lid, iid)
        _write_lines(b, it.lines, page)
    while stack:
        _x, lid, iid = stack.pop()
        if iid is not None:
            b.close(iid)
        b.close(lid)


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
        for unit in list_units(p.elements, levels):
            b.ensure_break(2)
            if isinstance(unit, Table):
                _emit_table(b, unit, p.number)
            elif isinstance(unit, ListRun):
                _emit_list(b, unit, p.number)
            elif unit[0] is not None:  # a heading
                lv = unit[0]
                while sections and sections[-1][0] >= lv:
                    b.close(sections.pop()[1])
                sections.append((lv, b.open(NodeKind.SECTION, level=lv)))
                _emit_lines(b, NodeKind.HEADING, unit[1], p.number, None, level=lv)
            else:
                _emit_lines(b, NodeKind.PARAGRAPH, unit[1], p.number, None)
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
    """The lines of one block, "\n" between lines; a word hyphenated across two lines is joined
    (layout.hyphen_join): its first part anchored to its box on the first line (without a dropped hyphen
    glyph), its rest to its box on the next line, and the rest of that line follows the "\n"."""
    box = Block(lines).bbox
    nid = b.open(kind, level=level, layer=layer, prov=Prov(page=page, bbox=_bbox(*box)))
    _write_lines(b, lines, page)
    b.close(nid)


def _write_lines(b: DocumentBuilder, lines: list[Line], page: int) -> None:
    skip = False  # the first word of this line was already written, joined to the previous line
    started = False
    for k, ln in enumerate(lines):
        words = ln.words[1:] if skip else ln.words
        skip = False
        if not words:
            continue
        if started:
            b.sep("\n")
        started = True
        nxt = lines[k + 1].words[0] if k + 1 < len(lines) else None
        mode = hyphen_join(words[-1], nxt) if nxt is not None else None
        if mode is None:
            _emit_words(b, words, page)
            continue
        _emit_words(b, words[:-1], page)
        last = words[-1]
        if len(words) > 1:
            b.sep(" ")
        if mode == "drop":
            cut = last.hyphen if last.hyphen is not None else last.x1 - (last.x1 - last.x0) / len(last.text)
            b.text(last.text[:-1], Prov(page=page, bbox=_bbox(last.x0, last.y0, max(last.x0, cut), last.y1)))
        else:
            b.text(last.text, Prov(page=page, bbox=_bbox(last.x0, last.y0, last.x1, last.y1)))
        assert nxt is not None
        b.text(nxt.text, Prov(page=page, bbox=_bbox(nxt.x0, nxt.y0, nxt.x1, nxt.y1)))
        skip = True


def _emit_table(b: DocumentBuilder, t: Table, page: int) -> None:
    attrs_t: dict[str, Any] = {"rows": t.n_rows, "cols": t.n_cols}
    if not t.ruled:
        attrs_t["ruled"] = False
    tid = b.open(NodeKind.TABLE, prov=Prov(page=page, bbox=_bbox(t.x0, t.y0, t.x1, t.y1)), attrs=attrs_t)
    header_row = all(all(w.bold for w in c.words) and c.words for c in t.cells if c.row == 0)
    first = True
    for r in range(t.n_rows):
        cells = [c for c in t.cells if c.row == r]
        if not cells:
            continue
        if not first:
            b.sep("\n")
        first = False
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
