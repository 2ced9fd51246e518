"""Images (PNG, JPEG, TIFF) → Document by OCR, with a word-level anchor per recognised word.

Safety: the pixel count is checked from the *header* (``Image.open`` is lazy) against
``ctx.limits.max_pixels`` before any pixel is decoded, so a decompression bomb fails fast with
:class:`~evidex.errors.PixelLimitError`. Pillow's own global bomb check is not relied on or changed.

Each frame of a multi-frame TIFF is a page. Boxes are pixels with a top-left origin
(``Prov(page=n, bbox=BBox(..., Origin.TOP_LEFT))``); ``Page.unit`` is ``"px"``.
Lines and blocks come from the shared layout code (reading order by XY-cut, like PDF pages).
"""

from __future__ import annotations

import io
import warnings
from typing import Any, ClassVar

from evidex.errors import EmptyInputError, LimitError, MalformedError, PixelLimitError
from evidex.model import BBox, Document, NodeKind, Origin, Prov, Span
from evidex.parse.base import ParseContext
from evidex.parse.image.ocr import get_engine
from evidex.structure.builder import DocumentBuilder
from evidex.structure.layout import Line, Word, group_blocks, reading_order, words_to_lines
from evidex.structure.limits import limit_hint

__all__ = ["ImageParser"]

_MEDIA = {"PNG": "image/png", "JPEG": "image/jpeg", "MPO": "image/jpeg", "TIFF": "image/tiff"}


class ImageParser:
    name: ClassVar[str] = "image"
    media_type: ClassVar[str] = "image/png"
    extensions: ClassVar[tuple[str, ...]] = (".png", ".jpg", ".jpeg", ".tif", ".tiff")

    def parse(self, data: bytes, ctx: ParseContext) -> Document:
        from PIL import Image, UnidentifiedImageError

        if not data:
            raise EmptyInputError("empty image")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                im = Image.open(io.BytesIO(data))  # lazy: reads the header only
        except Image.DecompressionBombError as e:
            raise PixelLimitError(str(e)) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
            raise MalformedError(f"not a readable image ({e})") from None
        with im:
            fmt = im.format or "PNG"
            _check_pixels(im.size, ctx, 1)
            n_frames = int(getattr(im, "n_frames", 1) or 1)
            if n_frames > ctx.limits.max_pages:
                raise LimitError(
                    f"{n_frames:,} frames exceeds Limits.max_pages={ctx.limits.max_pages:,}",
                    hint=limit_hint("max_pages"),
                )
            engine = get_engine()
            b = ctx.builder(data, _MEDIA.get(fmt, self.media_type))
            b.metadata["ocr_engine"] = engine.name
            for k in range(n_frames):
                if k:
                    try:
                        im.seek(k)
                    except EOFError:
                        b.warn(f"TRUNCATED: frame {k + 1} of {n_frames} could not be read")
                        break
                _check_pixels(im.size, ctx, k + 1)
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                        frame = _normalise(im)
                except (OSError, SyntaxError, ValueError) as e:
                    raise MalformedError(f"cannot decode image frame {k + 1}: {e}") from None
                dpi = _dpi(im.info)
                words = engine.recognize(frame, dpi=dpi, timeout=ctx.limits.timeout_s)
                _emit_page(b, k + 1, frame.width, frame.height, words_to_layout(words))
                frame.close()
            if not b.pos:
                b.warn("NO_TEXT: OCR found no text in the image")
            return b.build()


def _check_pixels(size: tuple[int, int], ctx: ParseContext, frame: int) -> None:
    w, h = size
    if w <= 0 or h <= 0:
        raise MalformedError(f"image frame {frame} has no pixels ({w}×{h})")
    if w * h > ctx.limits.max_pixels:
        raise PixelLimitError(
            f"image frame {frame} is {w:,}×{h:,} = {w * h:,} pixels, over Limits.max_pixels={ctx.limits.max_pixels:,}"
        )


def _normalise(im: Any) -> Any:
    """Decode the current frame into 8-bit greyscale or RGB (what OCR engines expect)."""
    im.load()
    if im.mode in ("L", "RGB"):
        return im.copy()
    if im.mode in ("RGBA", "LA", "P", "PA"):
        from PIL import Image

        rgba = im.convert("RGBA")
        bg = Image.new("RGB", rgba.size, (255, 255, 255))
        bg.paste(rgba, mask=rgba.getchannel("A"))
        rgba.close()
        return bg
    return im.convert("RGB" if im.mode.startswith(("CMYK", "YCbCr")) else "L")


def _dpi(info: Any) -> int:
    dpi = info.get("dpi")
    try:
        v = round(float(dpi[0])) if isinstance(dpi, tuple) and dpi else 0
    except (TypeError, ValueError):
        v = 0
    return v if 70 <= v <= 1200 else 300


def words_to_layout(ocr_words: list[Any]) -> list[list[Line]]:
    """OCR words (pixel boxes) → blocks of lines in reading order."""
    words = [Word(w.text, w.x0, w.y0, w.x1, w.y1, max(w.y1 - w.y0, 1.0), conf=w.conf) for w in ocr_words]
    if not words:
        return []
    lines = words_to_lines(words)
    heights = sorted(ln.y1 - ln.y0 for ln in lines)
    gap = max(heights[len(heights) // 2], 4.0)
    ordered = reading_order(lines, gap, lambda ln: ln.chars)
    return [blk.lines for blk in group_blocks(ordered, size_tol=0.35, max_gap=1.0)]


def _emit_page(b: DocumentBuilder, number: int, width: int, height: int, blocks: list[list[Line]]) -> None:
    b.ensure_break(2)
    start = b.pos
    for lines in blocks:
        b.ensure_break(2)
        x0 = min(ln.x0 for ln in lines)
        y0 = min(ln.y0 for ln in lines)
        x1 = max(ln.x1 for ln in lines)
        y1 = max(ln.y1 for ln in lines)
        confs = [w.conf for ln in lines for w in ln.words if w.conf is not None]
        attrs = {"ocr_confidence": round(sum(confs) / len(confs), 3)} if confs else None
        nid = b.open(NodeKind.PARAGRAPH, prov=Prov(page=number, bbox=BBox(x0, y0, x1, y1, Origin.TOP_LEFT)), attrs=attrs)
        for i, ln in enumerate(lines):
            if i:
                b.sep("\n")
            for j, w in enumerate(ln.words):
                if j:
                    b.sep(" ")
                b.text(w.text, Prov(page=number, bbox=BBox(w.x0, w.y0, w.x1, w.y1, Origin.TOP_LEFT)))
        b.close(nid)
    b.add_page(number, float(width), float(height), Span(start, max(start, b.pos)), unit="px")
