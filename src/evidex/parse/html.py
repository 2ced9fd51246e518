"""HTML → Document: headings/sections, paragraphs, lists, tables, key–values, with DOM-path provenance.

* The DOM is walked **iteratively** (explicit stack), so 10,000-deep markup cannot overflow Python's stack.
  Beyond ``limits.max_depth`` no structure nodes are created; deeper text is flattened into the nearest
  node, never dropped. libxml2 refuses markup nested deeper than 255 levels (it silently truncates the
  rest); the tolerant stdlib ``html.parser`` then rebuilds the tree instead, with a warning.
* Canonical text is what a reader sees: whitespace collapsed (except in ``<pre>``), ``<br>`` → newline,
  blocks separated by a blank line, list items / table rows / ``<dl>`` entries by a newline, cells by `` | ``.
* Navigation, page header/footer, asides and cookie banners stay in the text on the FURNITURE layer.
  Text a reader cannot see (``display:none``, ``visibility:hidden``, ``font-size:0``, ``hidden``,
  ``aria-hidden``, ``<template>``, comments) stays on the HIDDEN layer and raises a ``HIDDEN_TEXT`` warning.
  Hidden/furniture text *inside* a visible block (a hidden ``<span>`` in a paragraph) is moved out of
  the block into a TEXT node right after it, so a paragraph or key–value never mixes in invisible text.
* ``<script>``, ``<style>``, ``<noscript>`` are not text and are dropped. ``<title>`` goes to
  ``metadata["title"]`` and to a TITLE node on the furniture layer at the start.
* Each text run gets an Anchor whose ``Prov.dom_path`` is its element's path, e.g. ``/html/body/div[2]/p[1]``
  (1-based index among same-tag siblings; ``html``/``head``/``body`` unindexed).
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser as _StdHTMLParser
from typing import Any, ClassVar

from lxml import etree

from evidex.errors import EmptyInputError
from evidex.model import Document, Layer, NodeKind, Prov
from evidex.parse.base import ParseContext
from evidex.parse.builder import DocumentBuilder
from evidex.parse.encoding import decode_text
from evidex.parse.kv import match_kv

_COMMENT_TAG = "evidex-comment"  # comments in trees built by the fallback parser
_DROP = frozenset({"script", "style", "noscript", "head", "colgroup", "iframe", "embed"})
_VOID_BLOCK = frozenset({"hr"})
_BLOCK = frozenset(
    {
        "address", "article", "aside", "body", "center", "details", "dialog", "div", "fieldset", "figure",
        "footer", "form", "header", "hgroup", "html", "main", "nav", "search", "section", "template",
        "thead", "tbody", "tfoot", "option", "optgroup", "select", "frameset", "frame", "noframes",
    }
)  # fmt: skip
_PARA = frozenset({"p", "summary", "legend", "figcaption", "caption", "textarea"})
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_PRE = frozenset({"pre", "listing", "xmp", "plaintext"})
_LISTS = frozenset({"ul", "ol", "menu", "dir"})
_SECTIONING = frozenset({"article", "section", "main", "aside", "nav"})
_FURNITURE_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search"})
_SAFE = frozenset({NodeKind.DOCUMENT, NodeKind.SECTION, NodeKind.QUOTE, NodeKind.PAGE_HEADER, NodeKind.PAGE_FOOTER})
_WS = re.compile(r"[ \t\n\r\f]+")  # HTML whitespace (not NBSP)
_HIDE_STYLE = re.compile(
    r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse)"
    r"|font-size\s*:\s*(?:0+(?:\.0*)?|\.0+)(?:px|pt|em|rem|%|vw|vh)?\s*(?:!important)?\s*(?:;|$)"
    r"|opacity\s*:\s*(?:0+(?:\.0*)?|\.0+)\s*(?:!important)?\s*(?:;|$))",
    re.I,
)
_META_CHARSET = re.compile(rb"""<meta[^>]{0,512}?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]{1,40})""", re.I)
_LAYER_RANK = {Layer.BODY: 0, Layer.FURNITURE: 1, Layer.HIDDEN: 2}

# run kinds
_TEXT, _PRETEXT, _BR, _SPACE = 0, 1, 2, 3


@dataclass(slots=True)
class _Run:
    kind: int
    text: str
    path: str | None
    layer: Layer


@dataclass(slots=True)
class _Ctx:
    """Per-element walk state (inherited by descendants)."""

    layer: Layer
    path: str
    depth: int
    flatten: bool = False  # inside a leaf block (p, h1, td …): nested blocks become spaces
    pre: bool = False
    in_cell: bool = False
    sectioning: bool = False  # inside article/section/main/aside/nav
    lists: int = 0  # enclosing lists
    in_table: bool = False
    dl: _Dl | None = None


@dataclass(slots=True)
class _Dl:
    groups: list[tuple[list[_Run] | None, list[list[_Run]]]] = field(default_factory=list)
    layer: Layer = Layer.BODY


@dataclass(slots=True)
class _Exit:
    el: Any
    ctx: _Ctx
    finalize: str | None = None  # heading/para/caption/code/cell/dt/dd/dl/block
    nid: int | None = None  # container node opened for this element
    first: int = 0  # first node id that may be opened inside this element
    level: int = 0


@dataclass(slots=True)
class _Tail:
    text: str
    ctx: _Ctx


def _local(tag: str) -> str:
    if "}" in tag:
        tag = tag.rsplit("}", 1)[1]
    if ":" in tag:
        tag = tag.rsplit(":", 1)[1]
    return tag.lower()


def _is_comment(el: Any) -> bool:
    return isinstance(el, etree._Comment) or el.tag == _COMMENT_TAG


# ---------------------------------------------------------------------------- decoding & tree building
def _decode(data: bytes) -> tuple[str, list[str]]:
    if data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text, _, warns = decode_text(data)
        return text, warns
    m = _META_CHARSET.search(data[:4096])
    if m is not None:
        name = m.group(1).decode("ascii", "replace").lower()
        if name in ("iso-8859-1", "latin1", "latin-1", "us-ascii", "ascii", "iso8859-1"):
            name = "cp1252"  # the WHATWG encoding standard maps these labels to windows-1252
        try:
            enc = codecs.lookup(name).name
        except LookupError:
            enc = "utf-8"
        if enc not in ("utf-8", "utf-16-le", "utf-16-be", "utf-16", "utf-32"):
            try:
                text = data.decode(enc)
                return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", ""), []
            except UnicodeDecodeError:
                text, _, warns = decode_text(data)
                return text, [f"ENCODING: bytes do not match the declared charset {name}", *warns]
    text, _, warns = decode_text(data)
    return text, warns


_END_DOC = re.compile(r"</\s*(?:html|body)\s*>", re.I)
_TAG = re.compile(r"<[^>]*>")
_NON_WORD = re.compile(r"\W+")


def _words(s: str) -> int:
    return len(_NON_WORD.sub("", s))


def _lxml_tree(text: str) -> Any | None:
    """Parse with libxml2; None when it gave up (depth limit, fatal error) or lost text."""
    # libxml2 silently drops everything after </html>; browsers ignore these end tags
    text = _END_DOC.sub("", text)
    parser = etree.HTMLParser(
        recover=True, huge_tree=False, no_network=True, remove_comments=False, remove_pis=True, encoding="utf-8"
    )
    try:
        root = etree.fromstring(text.encode("utf-8", "surrogatepass"), parser)
    except (etree.XMLSyntaxError, ValueError):
        return None
    if root is None or any(e.level == etree.ErrorLevels.FATAL for e in parser.error_log):
        return None
    # safety net: word characters outside tags must survive (entities shrink, so allow some slack)
    got = sum(_words(el.text or "") + _words(el.tail or "") for el in root.iter())
    if got < 0.8 * _words(_TAG.sub(" ", text)) - 16:
        return None
    return root


_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
)
_CLOSES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # start tag: (open elements it closes, elements that stop the search)
    "li": (frozenset({"li"}), frozenset({"ul", "ol", "menu", "dir", "table"})),
    "dt": (frozenset({"dt", "dd"}), frozenset({"dl", "table"})),
    "dd": (frozenset({"dt", "dd"}), frozenset({"dl", "table"})),
    "tr": (frozenset({"tr", "td", "th"}), frozenset({"table"})),
    "td": (frozenset({"td", "th"}), frozenset({"tr", "table"})),
    "th": (frozenset({"td", "th"}), frozenset({"tr", "table"})),
    "option": (frozenset({"option"}), frozenset({"select"})),
}
_CLOSES_P = _BLOCK | _PARA | _LISTS | _PRE | frozenset({"table", "dl", "blockquote", "hr", *_HEADINGS})


class _TreeBuilder(_StdHTMLParser):
    """Tolerant fallback: stdlib tokenizer → lxml element tree with no depth limit."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = etree.Element("html")
        self.head = etree.SubElement(self.root, "head")
        self.body = etree.SubElement(self.root, "body")
        self.stack: list[Any] = [self.body]
        self.open_tags: dict[str, int] = {}  # tag → open elements with it (end tags search only if > 0)
        self.in_body = False

    def _push(self, el: Any) -> None:
        self.stack.append(el)
        self.open_tags[el.tag] = self.open_tags.get(el.tag, 0) + 1

    def _pop_to(self, i: int) -> None:
        for el in self.stack[i:]:
            self.open_tags[el.tag] -= 1
        del self.stack[i:]

    def _new(self, parent: Any, tag: str, attrs: list[tuple[str, str | None]]) -> Any:
        try:
            el = etree.SubElement(parent, tag)
        except ValueError:
            el = etree.SubElement(parent, "span")
        for k, v in attrs:
            with contextlib.suppress(ValueError, TypeError):
                el.set(k, v or "")
        return el

    def _append_text(self, text: str) -> None:
        cur = self.stack[-1]
        if len(cur):
            last = cur[-1]
            last.tail = (last.tail or "") + text
        else:
            cur.text = (cur.text or "") + text

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("html", "body", "head"):
            return
        if not self.in_body and tag in ("title", "meta", "link", "base", "style", "script"):
            el = self._new(self.head, tag, attrs)
            if tag not in _VOID:
                self._push(el)
            return
        self.in_body = True
        rule = _CLOSES.get(tag)
        if rule is not None:
            closes, stops = rule
            for i in range(len(self.stack) - 1, max(0, len(self.stack) - 64), -1):
                t = self.stack[i].tag
                if t in stops:
                    break
                if t in closes:
                    self._pop_to(i)
                    break
        if tag in _CLOSES_P and len(self.stack) > 1 and self.stack[-1].tag == "p":
            self._pop_to(len(self.stack) - 1)
        el = self._new(self.stack[-1], tag, attrs)
        if tag not in _VOID:
            self._push(el)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID and tag not in ("html", "body", "head") and len(self.stack) > 1:
            self._pop_to(len(self.stack) - 1)

    def handle_endtag(self, tag: str) -> None:
        if not self.open_tags.get(tag):
            return  # stray end tag: ignored in O(1)
        for i in range(len(self.stack) - 1, 0, -1):  # amortised: everything searched is popped
            if self.stack[i].tag == tag:
                self._pop_to(i)
                return

    def handle_data(self, data: str) -> None:
        if self.stack[-1] is not self.body or data.strip():
            if data.strip():
                self.in_body = True
            self._append_text(data)

    def handle_comment(self, data: str) -> None:
        el = etree.SubElement(self.stack[-1], _COMMENT_TAG)
        el.text = data


def _fallback_tree(text: str) -> Any:
    tb = _TreeBuilder()
    tb.feed(text)
    tb.close()
    return tb.root


# ---------------------------------------------------------------------------- attributes
def _hidden_reason(el: Any, tag: str) -> str | None:
    if tag == "template":
        return "template"
    if tag == "dialog" and el.get("open") is None:
        return "closed dialog"
    if el.get("hidden") is not None:
        return "hidden attribute"
    if (el.get("aria-hidden") or "").strip().lower() == "true":
        return "aria-hidden"
    if tag == "input" and (el.get("type") or "").lower() == "hidden":
        return "hidden input"
    style = el.get("style")
    if style:
        m = _HIDE_STYLE.search(style)
        if m is not None:
            return "style " + re.sub(r"\s+", "", m.group(0).strip("; ")).split("!")[0].rstrip(";")
    return None


def _furniture_kind(el: Any, tag: str, ctx: _Ctx) -> tuple[NodeKind, str] | None:
    role = (el.get("role") or "").strip().lower()
    if tag in ("nav", "aside") or role in _FURNITURE_ROLES:
        return NodeKind.SECTION, role or tag
    if tag == "header" and not ctx.sectioning:
        return NodeKind.PAGE_HEADER, "header"
    if tag == "footer" and not ctx.sectioning:
        return NodeKind.PAGE_FOOTER, "footer"
    if tag not in ("html", "body", "main", "article"):
        marks = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
        if "cookie" in marks or "consent" in marks or "gdpr" in marks:
            return NodeKind.SECTION, "cookie banner"
    return None


def _span_int(v: str | None) -> int:
    try:
        n = int((v or "1").strip())
    except ValueError:
        return 1
    return min(max(n, 1), 1000)


# ---------------------------------------------------------------------------- segments
def _collapse(runs: list[_Run], cell: bool = False) -> list[tuple[str, str | None]]:
    """Runs → segments (text, dom_path) with HTML whitespace rules; a None path marks a ``<br>`` newline.

    Linear in the input: parts are joined once at the end.
    """
    segs: list[tuple[list[str], str | None]] = []
    last = "\n"

    def push(t: str, path: str | None) -> None:
        nonlocal last
        if path is not None and segs and segs[-1][1] == path:
            segs[-1][0].append(t)
        else:
            segs.append(([t], path))
        last = t[-1]

    for r in runs:
        if r.kind == _BR and not cell:
            if last == " ":  # collapsed whitespace leaves at most one trailing space
                parts = segs[-1][0]
                parts[-1] = parts[-1][:-1]
                if not parts[-1]:
                    parts.pop()
                if not parts:
                    segs.pop()
                last = segs[-1][0][-1][-1] if segs else "\n"
            if segs and not (len(segs) > 1 and segs[-1][1] is None and segs[-2][1] is None):
                push("\n", None)
        elif r.kind in (_SPACE, _BR):
            if segs and last not in " \n":
                push(" ", r.path)
        elif r.kind == _PRETEXT:
            if r.text:
                push(r.text, r.path)
        else:
            t = _WS.sub(" ", r.text)
            if t[:1] == " " and last in " \n":
                t = t[1:]
            if t:
                push(t, r.path)
    out = [("".join(parts), path) for parts, path in segs]
    while out:  # trim the end
        t, path = out[-1]
        t = "" if path is None else t.rstrip(" \n\t")
        if t:
            out[-1] = (t, path)
            break
        out.pop()
    if out and out[0][0].startswith("\n"):  # <pre>'s leading newline
        out[0] = (out[0][0].lstrip("\n"), out[0][1])
    return [(t, p) for t, p in out if t]


class _Emitter:
    """Writes segments into the builder with one anchor per segment piece (calls must be in order)."""

    def __init__(self, b: DocumentBuilder, segs: list[tuple[str, str | None]]) -> None:
        self.b = b
        self.segs = segs
        self.text = "".join(t for t, _ in segs)
        self._i = 0  # first segment that may still be emitted
        self._pos = 0  # its start offset

    def emit(self, start: int, end: int) -> None:
        i, pos = self._i, self._pos
        while i < len(self.segs) and pos + len(self.segs[i][0]) <= start:
            pos += len(self.segs[i][0])
            i += 1
        self._i, self._pos = i, pos
        while i < len(self.segs) and pos < end:
            t, p = self.segs[i]
            s, e = max(start, pos), min(end, pos + len(t))
            if s < e:
                piece = t[s - pos : e - pos]
                if p is None:
                    self.b.sep(piece)
                else:
                    self.b.text(piece, Prov(dom_path=p))
            pos += len(t)
            i += 1

    def all(self) -> None:
        self.emit(0, len(self.text))

    def lines(self) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        pos = 0
        for seg in self.text.split("\n"):
            out.append((pos, pos + len(seg)))
            pos += len(seg) + 1
        return out


# ---------------------------------------------------------------------------- the walker
class _Walker:
    def __init__(self, b: DocumentBuilder, max_depth: int) -> None:
        self.b = b
        self.max_depth = max_depth
        self.buf: list[_Run] = []
        self.deferred: list[_Run] = []
        self.layers: dict[int, Layer] = {0: Layer.BODY}
        self.kinds: dict[int, NodeKind] = {0: NodeKind.DOCUMENT}
        self.starts: dict[int, int] = {0: 0}
        self.parents: dict[int, int] = {}
        self.hsec: dict[int, int] = {}  # heading-section node id → level
        self.counts: dict[int, int] = {}  # TABLE → rows
        self.grid: dict[int, list[tuple[int, int, int]]] = {}  # TABLE → (col0, col1, rows left)
        self.row_index: dict[int, int] = {}
        self.col_pos: dict[int, int] = {}
        self.hidden_reasons: set[str] = set()
        self.deep = False
        self.last_nid = 0
        self.skip: Any = None  # the <title> already used

    # -- builder helpers
    def open(self, kind: NodeKind, layer: Layer, path: str, level: int | None = None, **attrs: Any) -> int:
        parent = self.b.current
        nid = self.b.open(kind, level=level, layer=layer, prov=Prov(dom_path=path), attrs=attrs or None)
        self.layers[nid], self.kinds[nid], self.starts[nid], self.parents[nid] = layer, kind, self.b.pos, parent
        self.last_nid = nid
        return nid

    def close_to(self, nid: int) -> None:
        while self.b.current != nid:
            self.b.close()
        self.b.close(nid)

    def cur_kind(self) -> NodeKind:
        return self.kinds.get(self.b.current, NodeKind.TEXT)

    def brk(self, ctx: _Ctx) -> None:
        self.b.ensure_break(1 if ctx.lists or ctx.in_table or ctx.dl is not None else 2)

    # -- runs
    def add(self, kind: int, text: str, ctx: _Ctx, path: str | None = None) -> None:
        self.buf.append(_Run(kind, text, path if path is not None else ctx.path, ctx.layer))

    def take(self, layer: Layer) -> list[_Run]:
        """Take the buffer: runs of ``layer`` are returned, more hidden ones are deferred."""
        runs, self.buf = self.buf, []
        keep: list[_Run] = []
        gap = True
        for r in runs:
            if _LAYER_RANK[r.layer] > _LAYER_RANK[layer]:
                if gap and self.deferred and self.deferred[-1].kind != _SPACE:
                    self.deferred.append(_Run(_SPACE, " ", None, r.layer))
                self.deferred.append(r)
                gap = False
            else:
                keep.append(r)
                gap = True
        if self.deferred and self.deferred[-1].kind != _SPACE:
            self.deferred.append(_Run(_SPACE, " ", None, Layer.HIDDEN))
        return keep

    def flush(self, ctx: _Ctx, own: bool = False) -> None:
        """Emit the pending inline text as a block; ``own``: it is ``ctx``'s element's own text (a ``<p>``)."""
        if not self.buf:
            return
        layer = self.layers[self.b.current]
        runs = self.take(layer)
        path = ctx.path if own else _common_path([r.path for r in runs if r.path and r.kind == _TEXT], ctx.path)
        segs = _collapse(runs)
        if segs:
            kind = self.cur_kind()
            direct = kind in (NodeKind.LIST_ITEM, NodeKind.CELL)
            if direct and self.b.pos > self.starts[self.b.current]:
                self.b.ensure_break(1)
            elif not direct:
                self.brk(ctx)
            if kind in (NodeKind.LIST, NodeKind.TABLE, NodeKind.ROW):
                nid = self.open(NodeKind.TEXT, layer, path)
                self.kv_lines(_Emitter(self.b, segs), layer, path)
                self.b.close(nid)
            else:
                self.kv_block(segs, layer, path, direct)
        self.emit_deferred()

    def kv_block(self, segs: list[tuple[str, str | None]], layer: Layer, path: str, direct: bool) -> None:
        em = _Emitter(self.b, segs)
        lines = em.lines()
        kvs = [match_kv(em.text[s:e]) for s, e in lines]
        if direct or all(kv is not None for kv in kvs):
            self.kv_lines(em, layer, path, lines, kvs)
        else:
            nid = self.open(NodeKind.PARAGRAPH, layer, path)
            self.kv_lines(em, layer, path, lines, kvs)
            self.b.close(nid)

    def kv_lines(
        self,
        em: _Emitter,
        layer: Layer,
        path: str,
        lines: list[tuple[int, int]] | None = None,
        kvs: list[Any] | None = None,
    ) -> None:
        lines = lines if lines is not None else em.lines()
        kvs = kvs if kvs is not None else [match_kv(em.text[s:e]) for s, e in lines]
        prev = 0
        for (s, e), kv in zip(lines, kvs, strict=True):
            em.emit(prev, s)  # the newline(s) between lines
            if kv is None:
                em.emit(s, e)
            else:
                nid = self.open(NodeKind.KEY_VALUE, layer, path)
                key_id = self.open(NodeKind.KEY, layer, path)
                em.emit(s + kv.key_start, s + kv.key_end)
                self.b.close(key_id)
                em.emit(s + kv.key_end, s + kv.value_start)
                vid = self.open(NodeKind.VALUE, layer, path)
                em.emit(s + kv.value_start, s + kv.value_end)
                self.b.close(vid)
                em.emit(s + kv.value_end, e)
                self.b.close(nid)
            prev = e

    def emit_deferred(self) -> None:
        if not self.deferred or self.cur_kind() not in _SAFE:
            return
        runs, self.deferred = self.deferred, []
        cur_layer = self.layers[self.b.current]
        i = 0
        while i < len(runs):
            layer = runs[i].layer
            j = i
            while j < len(runs) and (runs[j].layer is layer or runs[j].kind == _SPACE):
                j += 1
            if _LAYER_RANK[layer] < _LAYER_RANK[cur_layer]:
                layer = cur_layer
            segs = _collapse(runs[i:j])
            if segs:
                self.b.ensure_break(2)
                nid = self.open(NodeKind.TEXT, layer, next((p for _, p in segs if p), "/html"))
                _Emitter(self.b, segs).all()
                self.b.close(nid)
            i = j

    def leaf_block(self, kind: NodeKind, runs: list[_Run], ctx: _Ctx, level: int | None = None) -> None:
        segs = _collapse(runs)
        if not segs:
            return
        layer = self.layers[self.b.current]
        if kind is NodeKind.HEADING and level is not None and self.cur_kind() in _SAFE:
            while self.b.current in self.hsec and self.hsec[self.b.current] >= level:
                self.b.close()
            self.brk(ctx)
            sid = self.open(NodeKind.SECTION, layer, ctx.path, level)
            self.hsec[sid] = level
        else:
            self.brk(ctx)
        nid = self.open(kind, layer, ctx.path, level)
        _Emitter(self.b, segs).all()
        self.b.close(nid)

    # -- the walk
    def walk(self, root: Any) -> None:
        ctx0 = _Ctx(Layer.BODY, "", 0)
        stack: list[Any] = [(root, ctx0, "/" + _local(root.tag) if isinstance(root.tag, str) else "/html")]
        while stack:
            item = stack.pop()
            if isinstance(item, _Exit):
                self.exit(item)
            elif isinstance(item, _Tail):
                self.add(_PRETEXT if item.ctx.pre else _TEXT, item.text, item.ctx)
            else:
                el, pctx, path = item
                ex = self.enter(el, pctx, path)
                if ex is None:
                    continue
                stack.append(ex)
                kids = list(el)
                counts: dict[str, int] = {}
                paths: list[str] = []
                for k in kids:
                    if _is_comment(k):
                        t = "comment()"
                    elif isinstance(k.tag, str):
                        t = _local(k.tag)
                    else:
                        t = ""
                    counts[t] = counts.get(t, 0) + 1
                    if ex.ctx.depth >= self.max_depth:
                        paths.append(ex.ctx.path)
                    elif t in ("html", "head", "body"):
                        paths.append(f"{ex.ctx.path}/{t}")
                    else:
                        paths.append(f"{ex.ctx.path}/{t}[{counts[t]}]")
                for k, p in zip(reversed(kids), reversed(paths), strict=True):
                    if k.tail:
                        stack.append(_Tail(k.tail, ex.ctx))
                    stack.append((k, ex.ctx, p))
                if el.text and not _is_comment(el):
                    self.add(_PRETEXT if ex.ctx.pre else _TEXT, el.text, ex.ctx)

    def enter(self, el: Any, pctx: _Ctx, path: str) -> _Exit | None:
        if _is_comment(el):
            text = (el.text or "").strip()
            if text:
                self.hidden_reasons.add("HTML comment")
                self.buf.append(_Run(_SPACE, " ", path, Layer.HIDDEN))
                self.buf.append(_Run(_TEXT, text, path, Layer.HIDDEN))
                self.buf.append(_Run(_SPACE, " ", path, Layer.HIDDEN))
            return None
        if not isinstance(el.tag, str):
            return None
        tag = _local(el.tag)
        if tag in _DROP or el is self.skip:
            return None
        depth = pctx.depth + 1
        if depth > self.max_depth:
            self.deep = True
        ctx = _Ctx(
            pctx.layer, path, depth, pctx.flatten, pctx.pre, pctx.in_cell,
            pctx.sectioning or tag in _SECTIONING, pctx.lists, pctx.in_table, pctx.dl,
        )  # fmt: skip
        own_layer = False
        reason = _hidden_reason(el, tag)
        furn = _furniture_kind(el, tag, pctx) if reason is None else None
        if reason is not None and pctx.layer is not Layer.HIDDEN:
            ctx.layer, own_layer = Layer.HIDDEN, True
            self.hidden_reasons.add(reason)
        elif furn is not None and pctx.layer is Layer.BODY:
            ctx.layer, own_layer = Layer.FURNITURE, True
        ex = _Exit(el, ctx, first=self.last_nid + 1)
        structured = not pctx.flatten and depth <= self.max_depth
        if tag == "br":
            self.add(_BR if not ctx.pre else _PRETEXT, "\n", ctx)
            return None
        if not structured:
            if tag in _VOID_BLOCK or tag in _BLOCK or tag in _PARA or tag in _HEADINGS or tag in _LISTS or tag in (
                "li", "tr", "td", "th", "table", "dl", "dt", "dd", "blockquote", "pre"
            ):  # fmt: skip
                self.add(_SPACE, " ", ctx)
                ex.finalize = "space"
            if tag in _PRE and not ctx.in_cell:
                ctx.pre = True
            return ex
        kind = self.cur_kind()
        if tag in _VOID_BLOCK:
            self.flush(ctx)
            return None
        if tag in _HEADINGS or tag in _PARA or tag in _PRE or (tag in ("dt", "dd") and ctx.dl is not None):
            self.flush(ctx)
            ctx.flatten = True
            ctx.pre = tag in _PRE
            ex.finalize, ex.level = tag, _HEADINGS.get(tag, 0)
            return ex
        if tag in ("td", "th") and kind is NodeKind.ROW:
            self.flush(ctx)
            row = self.b.current
            if self.b.pos > self.starts[row]:
                self.b.sep(" | ")
            table = self.parents[row]
            r, c = self.row_index[row], self.col_pos[row]
            spans = self.grid[table]
            moved = True
            while moved:
                moved = False
                for c0, c1, left in spans:
                    if left > 0 and c0 <= c < c1:
                        c, moved = c1, True
            rs, cs = _span_int(el.get("rowspan")), _span_int(el.get("colspan"))
            self.col_pos[row] = c + cs
            if rs > 1:
                spans.append((c, c + cs, rs))
            ex.nid = self.open(
                NodeKind.CELL, ctx.layer, path, row=r, col=c, header=tag == "th", rowspan=rs, colspan=cs
            )
            ctx.flatten = ctx.in_cell = True
            ex.finalize = "cell"
            return ex
        if tag == "tr" and kind is NodeKind.TABLE:
            self.flush(ctx)
            table = self.b.current
            n = self.counts.get(table, 0)
            if self.b.pos > self.starts[table]:
                self.b.ensure_break(1)
                self.grid[table] = [(c0, c1, left - 1) for c0, c1, left in self.grid[table] if left > 1]
            self.counts[table] = n + 1
            ex.nid = self.open(NodeKind.ROW, ctx.layer, path, row=n)
            self.row_index[ex.nid], self.col_pos[ex.nid] = n, 0
            return ex
        if tag == "table":
            self.flush(ctx)
            self.brk(ctx)
            ex.nid = self.open(NodeKind.TABLE, ctx.layer, path)
            self.grid[ex.nid] = []
            ctx.in_table = True
            return ex
        if tag in _LISTS:
            self.flush(ctx)
            self.brk(ctx)
            ctx.lists += 1
            ex.nid = self.open(NodeKind.LIST, ctx.layer, path, ctx.lists, ordered=tag == "ol")
            return ex
        if tag == "li" and kind is NodeKind.LIST:
            self.flush(ctx)
            if self.b.pos > self.starts[self.b.current]:
                self.b.ensure_break(1)
            ex.nid = self.open(NodeKind.LIST_ITEM, ctx.layer, path, ctx.lists)
            return ex
        if tag == "dl":
            self.flush(ctx)
            self.brk(ctx)
            ctx.dl = _Dl(layer=self.layers[self.b.current])
            ex.finalize = "dl"
            return ex
        if tag == "blockquote":
            self.flush(ctx)
            self.brk(ctx)
            ex.nid = self.open(NodeKind.QUOTE, ctx.layer, path)
            return ex
        if own_layer and (tag in _BLOCK or tag in ("li", "dt", "dd", "tr", "td", "th")):
            self.flush(ctx)
            self.brk(ctx)
            if ctx.layer is Layer.HIDDEN:
                ex.nid = self.open(NodeKind.SECTION, ctx.layer, path, tag=tag, hidden=reason)
            else:
                fk, role = furn or (NodeKind.SECTION, tag)
                ex.nid = self.open(fk, ctx.layer, path, tag=tag, role=role)
            return ex
        if tag in _BLOCK or tag in ("li", "dt", "dd", "tr", "td", "th"):
            self.flush(ctx)
            ex.finalize = "block"
        return ex

    def exit(self, ex: _Exit) -> None:
        ctx, fin = ex.ctx, ex.finalize
        if ex.nid is None and fin == "block" and _local(ex.el.tag) in _SECTIONING | {"body", "html"}:
            self.flush(ctx)  # headings inside <main>/<article>… do not open sections beyond it
            while self.b.current in self.hsec and self.b.current >= ex.first:
                self.b.close()
        if fin == "space":
            self.add(_SPACE, " ", ctx)
        elif fin == "block":
            self.flush(ctx)
        elif fin == "cell":
            layer = self.layers[self.b.current]
            runs = self.take(layer)
            segs = _collapse(runs, cell=True)
            if segs:
                self.kv_lines(_Emitter(self.b, segs), layer, ctx.path)
        elif fin == "dl" and ctx.dl is not None:
            self.flush(ctx)
            self.emit_dl(ctx.dl, ctx)
        elif fin in ("dt", "dd") and ctx.dl is not None:
            runs = self.take(ctx.dl.layer)
            if fin == "dt":
                ctx.dl.groups.append((runs, []))
            elif ctx.dl.groups:
                ctx.dl.groups[-1][1].append(runs)
            else:
                ctx.dl.groups.append((None, [runs]))
        elif fin is not None:
            layer = self.layers[self.b.current]
            runs = self.take(layer)
            if fin in _HEADINGS:
                self.leaf_block(NodeKind.HEADING, runs, ctx, ex.level)
            elif fin in _PRE:
                self.leaf_block(NodeKind.CODE, runs, ctx)
            elif fin in ("caption", "figcaption"):
                self.leaf_block(NodeKind.CAPTION, runs, ctx)
            else:
                self.buf = runs
                self.flush(ctx, own=True)
        if ex.nid is not None:
            if fin != "cell":
                self.flush(ctx)
            self.close_to(ex.nid)
            if self.kinds[ex.nid] not in (NodeKind.CELL, NodeKind.ROW, NodeKind.LIST_ITEM):
                self.emit_deferred()
        elif fin is not None:
            self.emit_deferred()

    def emit_dl(self, dl: _Dl, ctx: _Ctx) -> None:
        path = ctx.path
        for key, values in dl.groups:
            ksegs = _collapse(key) if key else []
            vsegs = [s for s in (_collapse(v) for v in values) if s]
            if not ksegs and not vsegs:
                continue
            self.b.ensure_break(1)
            nid = self.open(NodeKind.KEY_VALUE, dl.layer, path)
            if ksegs:
                kid = self.open(NodeKind.KEY, dl.layer, path)
                _Emitter(self.b, ksegs).all()
                self.b.close(kid)
                if vsegs:
                    self.b.sep(": ")
            for i, vs in enumerate(vsegs):
                if i:
                    self.b.sep("; ")
                vid = self.open(NodeKind.VALUE, dl.layer, path)
                _Emitter(self.b, vs).all()
                self.b.close(vid)
            self.b.close(nid)


def _common_path(paths: list[str], default: str) -> str:
    if not paths:
        return default
    parts = paths[0].split("/")
    for p in paths[1:]:
        q = p.split("/")
        n = 0
        while n < len(parts) and n < len(q) and parts[n] == q[n]:
            n += 1
        parts = parts[:n]
    return "/".join(parts) or default


def _title(root: Any) -> tuple[Any, str, str] | None:
    for el in root.iter("title"):
        parent = el.getparent()
        if parent is None or _local(parent.tag) != "head":
            continue
        text = _WS.sub(" ", "".join(el.itertext())).strip()
        if not text:
            return None
        parts: list[str] = []
        cur = el
        while cur is not None and len(parts) < 64:
            parent = cur.getparent()
            tag = _local(cur.tag)
            if parent is None or tag in ("html", "head", "body"):
                parts.append(tag)
            else:
                idx = 1 + sum(1 for s in cur.itersiblings(preceding=True) if s.tag == cur.tag)
                parts.append(f"{tag}[{idx}]")
            cur = parent
        return el, text, "/" + "/".join(reversed(parts))
    return None


class HtmlParser:
    name: ClassVar[str] = "html"
    media_type: ClassVar[str] = "text/html"
    extensions: ClassVar[tuple[str, ...]] = (".html", ".htm", ".xhtml")

    def parse(self, data: bytes, ctx: ParseContext) -> Document:
        if not data.strip():
            raise EmptyInputError("the HTML file is empty")
        text, warnings = _decode(data)
        if not text.strip():
            raise EmptyInputError("the HTML file has no content")
        b = ctx.builder(data, self.media_type)
        for msg in warnings:
            b.warn(msg)
        root = _lxml_tree(text)
        if root is None:
            root = _fallback_tree(text)
            b.warn(
                "PARSER: libxml2 could not parse the markup without losing text (nesting deeper than 255 levels, "
                "a text node over 10 MB, or damage); parsed with the tolerant fallback parser instead"
            )
        walker = _Walker(b, max(ctx.limits.max_depth, 3))
        found = _title(root)
        if found is not None:
            walker.skip, title, tpath = found
            b.metadata["title"] = title
            b.leaf(NodeKind.TITLE, title, layer=Layer.FURNITURE, prov=Prov(dom_path=tpath), anchor=True)
        for meta in root.iter("meta"):
            name = (meta.get("name") or "").strip().lower()
            if name in ("description", "author", "keywords") and meta.get("content"):
                b.metadata.setdefault(name, _WS.sub(" ", meta.get("content") or "").strip())
        walker.walk(root)
        walker.flush(_Ctx(Layer.BODY, "/html", 0))
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
