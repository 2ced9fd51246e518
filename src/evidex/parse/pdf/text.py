"""Per-page extraction from pdfium: words (with style and visibility), ruling lines, filled areas, image boxes.

Characters come from the pdfium text page (one ``FPDFText_GetText`` call when possible), styles from their
text objects (cached per object): bold from the font, invisible from render mode 3 or fill alpha 0, white
from the fill colour. A word is hidden when invisible, under 1 pt, off-page, or white on no dark background.
"""

from __future__ import annotations

import ctypes
import math
from typing import Any

from evidex.parse.pdf.tables import Rule
from evidex.structure.layout import Word


class PageReader:
    """Extract words (with style and visibility), ruling lines and image boxes from one pdfium page."""

    def __init__(self, raw: Any) -> None:
        self.r = raw
        # text object address → (bold, invisible, white, vertical scale of the object's matrix)
        self._styles: dict[int, tuple[bool, bool, bool, float]] = {}
        self._text_object = _text_object_fn(raw)

    def _style(self, key: int) -> tuple[bool, bool, bool, float]:
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
        m = r.FS_MATRIX()
        scale = math.hypot(m.c, m.d) if r.FPDFPageObj_GetMatrix(obj, m) else 1.0
        st = (bold, invisible, white, scale if math.isfinite(scale) else 1.0)
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
            bold, invisible, white, scale = self._style(obj) if obj else (False, False, False, 1.0)
            get_box(tp, i, rect)
            x0, x1 = rect.left - left, rect.right - left
            y0, y1 = top - rect.top, top - rect.bottom
            size = get_size(tp, i) * scale  # the Tf operand × the text/CTM matrix's vertical scale
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
