"""HTML → Document: headings/sections, paragraphs, lists, tables, key–values, with DOM-path provenance.

* The DOM is walked **iteratively** (explicit stack), so 10,000-deep markup cannot overflow Python's stack.
  Beyond ``limits.max_depth`` no structure nodes are created; deeper text is flattened into the nearest
  node, never dropped. libxml2 refuses markup nested deeper than 255 levels (it silently truncates the
  rest); the tolerant stdlib ``html.parser`` then rebuilds the tree instead, with a warning.
* Canonical text is what a reader sees: whitespace collapsed (except in ``<pre>``), ``<br>`` → newline,
  blocks separated by a blank line, list items / table rows / ``<dl>`` entries by a newline, cells by `` | ``.
* Navigation, page header/footer, asides and cookie banners stay in the text on the FURNITURE layer
  (a cookie/consent/GDPR class or id counts only on a banner-like element: dialog/alert role, fixed or
  sticky position, or short text without a heading — a privacy policy's ``id="consent"`` section is body).
  Text a sighted reader cannot see (``display:none``, ``visibility:hidden``, ``font-size:0``, ``hidden``,
  text coloured like its background, off-screen/clipped/screen-reader-only boxes, ``<template>``, comments —
  from inline styles and the page's own ``<style>`` rules, see the package docstring and ``css.py``; external
  stylesheets are not fetched) stays on the HIDDEN layer and raises a ``HIDDEN_TEXT`` warning.
  ``aria-hidden`` text is painted, so it stays where it is. Layout tables are read as blocks (``tables.py``).
  Under ``font-size:0`` only text that no descendant resizes (px/pt/rem/keyword sizes) is hidden: the
  inline-block whitespace trick keeps its children visible.
  Hidden/furniture text *inside* a visible block (a hidden ``<span>`` in a paragraph) is moved out of
  the block into a TEXT node right after it, so a paragraph or key–value never mixes in invisible text.
* ``<script>``, ``<style>``, ``<noscript>`` are not text and are dropped. ``<title>`` goes to
  ``metadata["title"]`` and to a TITLE node on the furniture layer at the start. Descriptive ``<meta>``
  elements (author, description, keywords, dates, ``og:title`` …; not viewport/robots) become METADATA-layer
  ``name: content`` entries at the end of the text, with the element's DOM path as provenance.
* Each text run gets an Anchor whose ``Prov.dom_path`` is its element's path, e.g. ``/html/body/div[2]/p[1]``
  (1-based index among same-tag siblings; ``html``/``head``/``body`` unindexed).

Modules: ``tree`` (decoding, libxml2 tree, fallback tree builder), ``layers`` (hidden/furniture detection),
``css`` (the page's own CSS, for hiding), ``tables`` (layout vs data tables), ``segments`` (inline runs →
whitespace-collapsed segments), ``walk`` (the DOM walk).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, ClassVar

from evidex.errors import EmptyInputError
from evidex.model import Document, Layer, NodeKind, Prov
from evidex.parse.base import ParseContext
from evidex.parse.html.tree import WS, decode_html, fallback_tree, find_title, local_name, lxml_tree
from evidex.parse.html.walk import Ctx, Walker
from evidex.structure.builder import DocumentBuilder

__all__ = ["HtmlParser"]


# <meta name|property> whose name holds one of these words describes the document (title, author, dates …);
# technical ones (viewport, robots, og:image, twitter:card …) do not
_META_WORDS = frozenset(
    ["title", "author", "authors", "creator", "description", "abstract", "keywords", "subject", "date", "published", "modified", "created", "updated", "issued", "version", "publisher", "copyright", "site_name"]
)
_META_NAME_WORDS = re.compile(r"[a-z]+(?:_name)?")


def _meta_entry(b: DocumentBuilder, meta: Any) -> None:
    """A descriptive ``<meta>`` element as a METADATA-layer entry, keyed by its own name, with its DOM path."""
    name = WS.sub(" ", meta.get("name") or meta.get("property") or meta.get("itemprop") or "").strip()
    content = WS.sub(" ", meta.get("content") or "").strip()
    if not name or not content or len(name) > 60:
        return
    if not set(_META_NAME_WORDS.findall(name.lower())) & _META_WORDS:
        return
    b.add_metadata(name, content, Prov(dom_path=_dom_path(meta)), attrs={"origin": "html-meta"})


def _dom_path(el: Any) -> str:
    parts: list[str] = []
    cur = el
    while cur is not None and len(parts) < 64:
        parent = cur.getparent()
        tag = local_name(cur.tag) if isinstance(cur.tag, str) else "node()"
        if parent is None or tag in ("html", "head", "body"):
            parts.append(tag)
        else:
            idx = 1 + sum(1 for s in cur.itersiblings(preceding=True) if s.tag == cur.tag)
            parts.append(f"{tag}[{idx}]")
        cur = parent
    return "/" + "/".join(reversed(parts))


class HtmlParser:
    name: ClassVar[str] = "html"
    media_type: ClassVar[str] = "text/html"
    extensions: ClassVar[tuple[str, ...]] = (".html", ".htm", ".xhtml")

    def parse(self, data: bytes, ctx: ParseContext) -> Document:
        if not data.strip():
            raise EmptyInputError("the HTML file is empty")
        text, warnings = decode_html(data)
        if not text.strip():
            raise EmptyInputError("the HTML file has no content")
        b = ctx.builder(data, self.media_type)
        for msg in warnings:
            b.warn(msg)
        root = lxml_tree(text)
        if root is None:
            root = fallback_tree(text)
            b.warn(
                "PARSER: libxml2 could not parse the markup without losing text (nesting deeper than 255 levels, "
                "a text node over 10 MB, or damage); parsed with the tolerant fallback parser instead"
            )
        walker = Walker(b, max(ctx.limits.max_depth, 3))
        found = find_title(root)
        if found is not None:
            walker.skip, title, tpath = found
            b.metadata["title"] = title
            b.leaf(NodeKind.TITLE, title, layer=Layer.FURNITURE, prov=Prov(dom_path=tpath), anchor=True)
        for meta in root.iter("meta"):
            name = (meta.get("name") or "").strip().lower()
            if name in ("description", "author", "keywords") and meta.get("content"):
                b.metadata.setdefault(name, WS.sub(" ", meta.get("content") or "").strip())
            _meta_entry(b, meta)
        walker.walk(root)
        walker.flush(Ctx(Layer.BODY, "/html", 0))
        while b.current != 0:
            b.close()
        walker.emit_deferred()
        if walker.deep:
            b.warn(
                f"NESTING: markup nested deeper than {walker.max_depth} levels; deeper structure was flattened "
                "into the enclosing node (text kept)"
            )
        doc = b.build()
        if not doc.text.strip():
            raise EmptyInputError("the HTML has no text")
        hidden = sum(
            len(doc.text[n.span.start : n.span.end].strip())
            for n in doc.nodes
            if n.layer is Layer.HIDDEN and (n.parent is None or doc.nodes[n.parent].layer is not Layer.HIDDEN)
        )
        if hidden:
            msg = (
                f"HIDDEN_TEXT: {hidden:,} characters a reader cannot see kept on the hidden layer "
                f"({', '.join(sorted(walker.hidden_reasons))})"
            )
            doc = dataclasses.replace(doc, warnings=(*doc.warnings, msg))
        return doc
