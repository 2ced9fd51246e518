"""HTML vocabulary, byte decoding and element-tree building (libxml2 first, a tolerant stdlib fallback).

libxml2 refuses markup nested deeper than 255 levels (it silently truncates the rest) and drops text after
``</html>``; :func:`lxml_tree` returns None when it gave up or lost text, and :func:`fallback_tree` then
rebuilds the tree from the stdlib ``html.parser`` tokenizer with no depth limit.
"""

from __future__ import annotations

import codecs
import contextlib
import re
from html.parser import HTMLParser as _StdHTMLParser
from typing import Any

from lxml import etree

from evidex.parse.encoding import decode_text

_COMMENT_TAG = "evidex-comment"  # comments in trees built by the fallback parser
DROP = frozenset({"script", "style", "noscript", "head", "colgroup", "iframe", "embed"})
VOID_BLOCK = frozenset({"hr"})
BLOCK = frozenset(
    {
        "address", "article", "aside", "body", "center", "details", "dialog", "div", "fieldset", "figure",
        "footer", "form", "header", "hgroup", "html", "main", "nav", "search", "section", "template",
        "thead", "tbody", "tfoot", "option", "optgroup", "select", "frameset", "frame", "noframes",
    }
)  # fmt: skip
PARA = frozenset({"p", "summary", "legend", "figcaption", "caption", "textarea"})
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
PRE = frozenset({"pre", "listing", "xmp", "plaintext"})
LISTS = frozenset({"ul", "ol", "menu", "dir"})
SECTIONING = frozenset({"article", "section", "main", "aside", "nav"})
WS = re.compile(r"[ \t\n\r\f]+")  # HTML whitespace (not NBSP)

_META_CHARSET = re.compile(rb"""<meta[^>]{0,512}?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]{1,40})""", re.I)


def local_name(tag: str) -> str:
    if "}" in tag:
        tag = tag.rsplit("}", 1)[1]
    if ":" in tag:
        tag = tag.rsplit(":", 1)[1]
    return tag.lower()


def is_comment(el: Any) -> bool:
    return isinstance(el, etree._Comment) or el.tag == _COMMENT_TAG


# ---------------------------------------------------------------------------- decoding & tree building
def decode_html(data: bytes) -> tuple[str, list[str]]:
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


def lxml_tree(text: str) -> Any | None:
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
_CLOSES_P = BLOCK | PARA | LISTS | PRE | frozenset({"table", "dl", "blockquote", "hr", *HEADINGS})


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


def fallback_tree(text: str) -> Any:
    tb = _TreeBuilder()
    tb.feed(text)
    tb.close()
    return tb.root


def find_title(root: Any) -> tuple[Any, str, str] | None:
    """The ``<head>``'s ``<title>``: (element, collapsed text, DOM path); None when absent or empty."""
    for el in root.iter("title"):
        parent = el.getparent()
        if parent is None or local_name(parent.tag) != "head":
            continue
        text = WS.sub(" ", "".join(el.itertext())).strip()
        if not text:
            return None
        parts: list[str] = []
        cur = el
        while cur is not None and len(parts) < 64:
            parent = cur.getparent()
            tag = local_name(cur.tag)
            if parent is None or tag in ("html", "head", "body"):
                parts.append(tag)
            else:
                idx = 1 + sum(1 for s in cur.itersiblings(preceding=True) if s.tag == cur.tag)
                parts.append(f"{tag}[{idx}]")
            cur = parent
        return el, text, "/" + "/".join(reversed(parts))
    return None

