"""The review page: each document's source as the person saw it, next to the extracted values.

The page is static assets (``review_assets/review.html|js|css``, package data) plus data: one *payload* per
document (:func:`doc_payload`) — the JSONL record (:func:`~evidex.output.jsonl.record_to_dict`: values, evidence,
pages, provenance with boxes), the canonical text, its non-body layers, the page sizes and the word boxes of paged
documents (so a click on a rendered page can propose a word as a value). Page images are rendered by
:func:`render_page_png` (pypdfium2 for PDF pages, the image itself for scans).

Two ways to serve it: ``evidex serve`` sends the shell and answers the page's API calls, and
:func:`write_review_site` writes a standalone directory (``index.html`` with the payloads in a non-executable
``<script type="application/json">`` block, the script and style files, ``pages/*.png``) that opens from disk.
Security: the page never puts document text into HTML markup (the script builds DOM nodes with ``textContent``),
the only script is ``review.js`` (CSP ``script-src 'self'``, no inline script), hidden-layer text is shown as
hidden text and no document HTML is ever rendered.
"""

from __future__ import annotations

import html
import io
import json
import os
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from evidex.model import Document, Result
from evidex.output.html_report import _layer_regions
from evidex.output.jsonl import record_to_dict

__all__ = [
    "ASSETS", "CSP", "MAX_WORDS", "asset_bytes", "doc_kind", "doc_payload", "render_page_png", "review_shell",
    "write_review_site",
]

ASSETS = ("review.js", "review.css")
MAX_WORDS = 50_000  # word boxes sent per document (clicking a word on a page proposes it)
MAX_PAGES_RENDERED = 200  # page images written per document by the standalone site
RENDER_SCALE = 2.0  # pixels per PDF point of rendered page images
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'"
)


def asset_bytes(name: str) -> bytes:
    """A static asset of the page (``review.js``, ``review.css``, ``review.html``)."""
    return resources.files("evidex.output").joinpath("review_assets", name).read_bytes()


def doc_kind(doc: Document | None) -> str:
    """How the source is shown: ``pdf`` / ``image`` (rendered pages), ``html``, ``sheet``, ``email`` or ``text``."""
    if doc is None:
        return "none"
    mt = doc.source.media_type
    if mt == "application/pdf":
        return "pdf"
    if mt.startswith("image/"):
        return "image"
    if "html" in mt:
        return "html"
    if "spreadsheet" in mt or mt in ("text/csv", "application/vnd.ms-excel"):
        return "sheet"
    if mt.startswith("message/"):
        return "email"
    return "text"


def _words(doc: Document) -> list[list[Any]]:
    """``[start, end, page, x0, y0, x1, y1]`` per anchor with a box (top-left origin, page units)."""
    heights = {p.number: p.height for p in doc.pages}
    out: list[list[Any]] = []
    for a in doc.anchors:
        p = a.prov
        if p.bbox is None or p.page is None:
            continue
        b = p.bbox.to_top_left(heights.get(p.page, 0.0))
        out.append([a.span.start, a.span.end, p.page, *b.to_list()])
        if len(out) >= MAX_WORDS:
            break
    return out


def _cells(doc: Document) -> list[list[Any]]:
    """``[sheet!cell, start, end]`` per anchor with a sheet cell (the page draws the sheet's grid from them)."""
    out: list[list[Any]] = []
    for a in doc.anchors:
        if a.prov.sheet_cell:
            out.append([a.prov.sheet_cell, a.span.start, a.span.end])
            if len(out) >= MAX_WORDS:
                break
    return out


def doc_payload(key: str, doc: Document | None, result: Result, *, page_url: str | None = None) -> dict[str, Any]:
    """What the page needs for one document (JSON-safe). ``page_url`` is a format string with ``{n}`` for the
    page number (an image path or an API route); pages of PDFs and scans get ``image`` set from it."""
    kind = doc_kind(doc)
    out: dict[str, Any] = {"key": key, "kind": kind, "record": record_to_dict(doc, result), "text": None,
                           "layers": [], "pages": [], "words": [], "cells": []}
    if doc is None:
        return out
    out["text"] = doc.text
    out["layers"] = [[a, b, layer.value] for a, b, layer in _layer_regions(doc)]
    rendered = kind in ("pdf", "image")
    out["pages"] = [{"n": p.number, "width": p.width, "height": p.height, "unit": p.unit, "start": p.span.start,
                     "end": p.span.end,
                     "image": page_url.format(n=p.number) if rendered and page_url is not None else None}
                    for p in doc.pages]
    if rendered:
        out["words"] = _words(doc)
    if kind == "sheet":
        out["cells"] = _cells(doc)
    return out


def render_page_png(path: str | os.PathLike[str], page: int, *, media_type: str = "application/pdf",
                    scale: float = RENDER_SCALE) -> bytes:
    """PNG bytes of page ``page`` (1-based) of a PDF (pypdfium2) or of an image file (its frame ``page``)."""
    if media_type == "application/pdf":
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(str(path))
        try:
            if not 1 <= page <= len(pdf):
                raise IndexError(f"no page {page}")
            bitmap = pdf[page - 1].render(scale=scale)
            img = bitmap.to_pil()
        finally:
            pdf.close()
    else:
        from PIL import Image

        with Image.open(path) as im:
            if page > 1:
                im.seek(page - 1)  # raises EOFError past the last frame
            img = im.convert("RGB")
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def _json_block(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">`` (no ``</script>``, no ``<!--``)."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def review_shell(*, title: str, base: str = "", data: Any = None, api: str | None = None,
                 csp_meta: bool = True) -> str:
    """The page's HTML: no inline script; ``data`` (standalone) goes in a JSON data block, ``api`` (served) names
    the job URL the script reads its payloads from."""
    attrs = f' data-api="{html.escape(api, quote=True)}"' if api is not None else ""
    meta = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' if csp_meta else ""
    block = (f'<script type="application/json" id="evidex-data">{_json_block(data)}</script>'
             if data is not None else "")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">" + meta +
            '<meta name="referrer" content="no-referrer">'
            '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">'
            f"<title>{html.escape(title)}</title>"
            f'<link rel="stylesheet" href="{html.escape(base)}review.css"></head>'
            f'<body{attrs} data-title="{html.escape(title, quote=True)}">'
            '<noscript>The review page needs JavaScript.</noscript>'
            f'{block}<script src="{html.escape(base)}review.js"></script></body></html>\n')


def write_review_site(records: Iterable[tuple[Document | None, Result]], out_dir: str | os.PathLike[str], *,
                      title: str = "evidex review") -> int:
    """Write the standalone review page into ``out_dir`` (``index.html``, assets, ``pages/``); return the count.

    Corrections made on it are kept in the browser (localStorage) and exported as gold JSONL from the page."""
    out = Path(out_dir)
    (out / "pages").mkdir(parents=True, exist_ok=True)
    docs: list[dict[str, Any]] = []
    for k, (doc, res) in enumerate(records):
        key = f"d{k}"
        payload = doc_payload(key, doc, res, page_url=f"pages/{key}-{{n}}.png")
        if doc is not None and payload["kind"] in ("pdf", "image") and doc.source.path:
            for pg in payload["pages"]:
                if pg["n"] > MAX_PAGES_RENDERED:
                    pg["image"] = None
                    continue
                try:
                    png = render_page_png(doc.source.path, pg["n"], media_type=doc.source.media_type)
                except Exception:  # source gone or unreadable now: the page shows its boxes without an image
                    pg["image"] = None
                    continue
                (out / "pages" / f"{key}-{pg['n']}.png").write_bytes(png)
        docs.append(payload)
    for name in ASSETS:
        (out / name).write_bytes(asset_bytes(name))
    page = review_shell(title=title, data={"title": title, "docs": docs})
    (out / "index.html").write_text(page, encoding="utf-8", newline="\n")
    return len(docs)
