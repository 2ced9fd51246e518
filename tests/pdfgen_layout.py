"""Generated PDFs for reading-fidelity tests: ligatures, line-end hyphens, multi-column pages, rotation.

Every generator returns the PDF bytes and, where the tests need them, the coordinates it drew at
(reportlab's bottom-left origin; the parser reports top-left boxes: ``top = PAGE_H - y - ascent``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from reportlab.lib.pagesizes import letter
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

from pdfgen import raw_pdf, raw_stream

PAGE_W, PAGE_H = letter  # 612 x 792 pt


# ---------------------------------------------------------------------------------------------- ligatures
def _one_font_page(content: bytes, font: bytes, extra: tuple[bytes, ...] = (), page_extra: bytes = b"") -> bytes:
    """One letter page (objects: 1 catalog, 2 pages, 3 page, 4 content, 5 font /F1, 6… ``extra``)."""
    return raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> " + page_extra + b">>",
        raw_stream(content),
        font,
        *extra,
    ])


def _cmap(pairs: dict[int, str]) -> bytes:
    lines = b"".join(b"<%02X> <%s>\n" % (code, s.encode("utf-16-be").hex().upper().encode()) for code, s in pairs.items())
    return (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        b"/CMapName /Lig def /CMapType 2 def\n1 begincodespacerange <00> <FF> endcodespacerange\n"
        + b"%d beginbfchar\n" % len(pairs) + lines + b"endbfchar\nendcmap CMapName currentdict /CMap defineresource pop end end"
    )


# Helvetica's built-in (Standard) encoding: 0xAE is the "fi" glyph, 0xAF the "fl" glyph
LIGATURE_LINES = [(b"Read the \xaele and \xaeeld \xafow again", "Read the file and field flow again"),
                  (b"The speci\xaecation is de\xaened here", "The specification is defined here")]
LIGATURE_X, LIGATURE_Y, LIGATURE_SIZE = 72.0, 700.0, 14.0


def ligatures(to_unicode: str | None) -> bytes:
    """Two lines of Helvetica set with its fi/fl ligature glyphs. ``to_unicode``: "letters" maps each
    ligature glyph to its letters (one glyph → "f", "i" in one box, as TeX fonts do), "presentation" to
    U+FB01/U+FB02, None gives no ToUnicode map (pdfium reads the glyph names)."""
    ops = b"BT /F1 %g Tf %g %g Td 18 TL\n" % (LIGATURE_SIZE, LIGATURE_X, LIGATURE_Y)
    for raw, _ in LIGATURE_LINES:
        ops += b"(" + raw + b") Tj T*\n"
    ops += b"ET"
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica"
    extra: tuple[bytes, ...] = ()
    if to_unicode is not None:
        pairs = {c: chr(c) for c in range(32, 127)}
        pairs.update({0xAE: "fi", 0xAF: "fl"} if to_unicode == "letters" else {0xAE: "\ufb01", 0xAF: "\ufb02"})
        font += b" /ToUnicode 6 0 R"
        extra = (raw_stream(_cmap(pairs)),)
    return _one_font_page(ops, font + b" >>", extra)


def ligature_glyph_x(line: int, before: str) -> tuple[float, float]:
    """x0, x1 of the ligature glyph drawn after the text ``before`` on ``line`` (widths of the letters
    before it and of the "fi" glyph, which Helvetica draws as wide as the letters f and i)."""
    x0 = LIGATURE_X + stringWidth(before, "Helvetica", LIGATURE_SIZE)
    return x0, x0 + stringWidth("fi", "Helvetica", LIGATURE_SIZE)


# ---------------------------------------------------------------------------------------------- hyphens
HYPHEN_SIZE = 12.0
HYPHEN_LINES = [
    "The publica-",  # syllable break → publications
    "tions of the self-",  # kept compound → self-aware
    "aware group met Jane-",  # case change → Jane-Ellen
    "Ellen at the pre-",  # conjunction follows → not joined
    "and post-war meetings, IM-",  # capitals on both sides → IMPLIED
    "PLIED by all.",
]
HYPHEN_X, HYPHEN_Y, HYPHEN_LEADING = 72.0, 700.0, 15.0


def hyphenated() -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=letter)
    c.setFont("Helvetica", HYPHEN_SIZE)
    for i, line in enumerate(HYPHEN_LINES):
        c.drawString(HYPHEN_X, HYPHEN_Y - i * HYPHEN_LEADING, line)
    c.showPage()
    c.save()
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------- columns
WORDS = ["amber", "basalt", "cobalt", "delta", "ember", "fjord", "garnet", "harbor", "island", "jasper", "kelp", "lagoon", "meadow", "nectar", "onyx", "prairie", "quartz", "river", "savanna", "tundra", "umber", "valley", "willow", "xenon", "yarrow", "zephyr"]


@dataclass(frozen=True)
class Column:
    x: float  # left edge
    width: float
    lines: tuple[str, ...]


def column_lines(tag: str, n: int, width: float, size: float, seed: int = 0) -> tuple[str, ...]:
    """``n`` lines of words filling ``width`` at ``size``: each line starts with a marker ``<tag><k>`` so a
    test can find it, the words cycle through WORDS (deterministic, no randomness)."""
    out = []
    k = seed
    for i in range(n):
        words = [f"{tag}{i + 1}"]
        while True:
            w = WORDS[k % len(WORDS)]
            if stringWidth(" ".join([*words, w]), "Helvetica", size) > width:
                break
            words.append(w)
            k += 3
        out.append(" ".join(words))
    return tuple(out)


def _justified(c: canvas.Canvas, text: str, x: float, y: float, width: float, size: float) -> None:
    """Draw ``text`` word by word, stretched to ``width`` (wide spaces, as justified text is set)."""
    words = text.split()
    if len(words) == 1:
        c.drawString(x, y, text)
        return
    natural = sum(stringWidth(w, "Helvetica", size) for w in words)
    space = (width - natural) / (len(words) - 1)
    for w in words:
        c.drawString(x, y, w)
        x += stringWidth(w, "Helvetica", size) + space


def multi_column(
    columns: list[Column],
    *,
    size: float = 10.0,
    leading: float = 12.0,
    top: float = 640.0,
    title: str | None = None,
    abstract: tuple[str, ...] = (),
    footer: tuple[str, ...] = (),
    justify: bool = True,
    reverse: bool = True,
) -> bytes:
    """One page: an optional full-width title and abstract, columns set at the same baselines (justified),
    and an optional full-width block at the bottom (a footnote-like paragraph). ``reverse`` draws the
    columns right to left in the content stream."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=letter)
    left = min(col.x for col in columns)
    right = max(col.x + col.width for col in columns)
    y = 740.0
    if title:
        c.setFont("Helvetica-Bold", 18)
        c.drawCentredString((left + right) / 2, y, title)
        y -= 30
    c.setFont("Helvetica", size)
    for line in abstract:
        _justified(c, line, left, y, right - left, size)
        y -= leading
    for col in reversed(columns) if reverse else columns:
        c.setFont("Helvetica", size)
        for i, line in enumerate(col.lines):
            yy = top - i * leading
            last = i == len(col.lines) - 1
            if justify and not last:
                _justified(c, line, col.x, yy, col.width, size)
            else:
                c.drawString(col.x, yy, line)
    bottom = top - max(len(col.lines) for col in columns) * leading - 2 * leading
    c.setFont("Helvetica", size - 1)
    for i, line in enumerate(footer):
        c.drawString(left, bottom - i * leading, line)
    c.showPage()
    c.save()
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------- rotation
ROTATED_LINES = ["Rotated page heading line", "The second line of the rotated page", "And a third line to close"]


def rotated_page(rotate: int, *, matrix: bool = False) -> bytes:
    """One page with three lines of text and ``/Rotate rotate``. With ``matrix``, the text is drawn with a
    text matrix turned by ``rotate`` so that it reads upright on the displayed (rotated) page — as
    landscape pages are usually made; without it, the text turns with the page."""
    import math

    ops = b"BT /F1 12 Tf\n"
    a = math.radians(rotate) if matrix else 0.0
    cos, sin = round(math.cos(a), 6), round(math.sin(a), 6)
    # displayed-page positions of the three baselines, mapped back to user space when the matrix is used
    for i, text in enumerate(ROTATED_LINES):
        if matrix:
            x, y = _user_point(rotate, 72.0, 100.0 + i * 16.0)
        else:
            x, y = 72.0, 700.0 - i * 16.0
        ops += b"%g %g %g %g %g %g Tm (%s) Tj\n" % (cos, sin, -sin, cos, x, y, text.encode())
    ops += b"ET"
    return _one_font_page(ops, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
                          page_extra=b"/Rotate %d " % rotate)


def _user_point(rotate: int, dx: float, dtop: float) -> tuple[float, float]:
    """User-space point (612 x 792 mediabox) of the displayed page's point ``dx`` from the left, ``dtop``
    from the top (the baseline of an upright line on the displayed page)."""
    r = rotate % 360
    if r == 0:
        return dx, PAGE_H - dtop
    if r == 90:  # displayed page is 792 wide, 612 high; displayed x runs along user y, top is user x = 0
        return dtop, dx
    if r == 180:
        return PAGE_W - dx, dtop
    return PAGE_W - dtop, PAGE_H - dx  # 270


SIDEBAR = "arXiv:2401.00001v1 [cs.CL] 5 Jan 2024"


def page_with_sidebar() -> bytes:
    """Upright body lines and, in the left margin, a label drawn turned by 90 degrees (reading upwards), as
    arXiv stamps its papers."""
    ops = b"BT /F1 12 Tf\n"
    for i, text in enumerate(ROTATED_LINES):
        ops += b"1 0 0 1 72 %g Tm (%s) Tj\n" % (700 - i * 16, text.encode())
    ops += b"0 1 -1 0 30 300 Tm (%s) Tj\nET" % SIDEBAR.encode()
    return _one_font_page(ops, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")


# ---------------------------------------------------------------------------------------------- lists
LIST_PAGE: list[tuple[float, str]] = [  # (indent of the line, text): 0 = body edge
    (0, "The tools we packed for the trip:"),
    (10, "• a tent for four people"),
    (20, "and its poles, pegs and lines"),  # hanging indent: continues the item above
    (10, "• two stoves"),
    (30, "– one for gas"),  # nested list, weak bullets
    (30, "– one for wood"),
    (10, "• a first aid kit"),
    (0, "The plan for each day was simple, as the"),
    (0, "guide describes it in Section"),
    (0, "3. Then we walked until the evening."),  # a wrapped line starting with "3.": not a list
    (0, "Steps to pitch the tent:"),
    (10, "1. Clear the ground"),
    (10, "2. Lay out the floor"),
    (10, "3. Raise the poles"),
]
LIST_BLOCK_BREAKS = {7, 10}  # extra space before these lines (new blocks)


def list_page() -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=letter)
    c.setFont("Helvetica", 11)
    y = 720.0
    for k, (indent, text) in enumerate(LIST_PAGE):
        if k in LIST_BLOCK_BREAKS:
            y -= 10
        marker, _, rest = text.partition(" ")
        if marker in ("•", "–") or (marker[:-1].isdigit() and marker.endswith(".")):
            c.drawString(72 + indent, y, marker)  # the marker, then the text at a tab stop
            c.drawString(72 + indent + 14, y, rest)
        else:
            c.drawString(72 + indent, y, text)
        y -= 14
    c.showPage()
    c.save()
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------- unruled tables
UNRULED_ROWS = [
    ("Item", "Qty", "Unit price", "Total"),
    ("Copper wire", "12", "3.50", "42.00"),
    ("Fuse box", "1", "118.00", "118.00"),
    ("Cable ties", "200", "0.05", "10.00"),
]
UNRULED_KV = [("Invoice no:", "4711"), ("Date:", "2024-03-14"), ("Due:", "2024-04-13")]


def unruled_table() -> bytes:
    """A paragraph, a four-column table without any rule (text columns left-aligned, numbers right-aligned,
    bold header), a two-column key/value list and a closing paragraph."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=letter)
    c.setFont("Helvetica", 11)
    c.drawString(72, 720, "The order below was shipped on Monday.")
    y = 690.0
    for r, row in enumerate(UNRULED_ROWS):
        c.setFont("Helvetica-Bold" if r == 0 else "Helvetica", 11)
        c.drawString(72, y, row[0])
        for k, right in enumerate((260.0, 360.0, 460.0)):
            c.drawRightString(right, y, row[k + 1])
        y -= 15
    c.setFont("Helvetica", 11)
    y -= 15
    for key, value in UNRULED_KV:
        c.drawString(72, y, key)
        c.drawString(200, y, value)
        y -= 15
    c.drawString(72, y - 15, "Thank you for your order.")
    c.showPage()
    c.save()
    return buf.getvalue()
