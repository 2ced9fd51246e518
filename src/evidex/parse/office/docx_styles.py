"""DOCX style table: what the walker needs from ``w:style`` definitions, read lazily.

A style table can be large (python-docx's and Word's full default sets are ~350 KB of XML with 160+
styles) while a document uses a handful of them. :func:`style_table` indexes the ``<w:style>`` elements of
``word/styles.xml`` with a byte scan and parses only the styles that are looked up. The scan is used
only when it is unambiguous — UTF-8, the WordprocessingML namespace bound once to the ``w`` prefix on the
root, no comments / CDATA / processing instructions, no nested ``w:style``, plain ``styleId`` values —
otherwise the whole part is parsed as before. Either way ``get(style_id)`` returns what a full parse
would give (the last definition of an id wins).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from evidex.errors import MalformedError

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_OFF = ("0", "false", "off")
_T_STYLE = f"{{{W}}}style"
_T_ID = f"{{{W}}}styleId"
_T_PPR = f"{{{W}}}pPr"
_T_RPR = f"{{{W}}}rPr"
_T_NUMPR = f"{{{W}}}numPr"
_T_VAL = f"{{{W}}}val"


@dataclass
class Style:
    name: str = ""
    based_on: str | None = None
    outline: int | None = None
    num_id: str | None = None
    ilvl: int | None = None
    hidden: bool = False  # w:vanish / w:specVanish in the style's run properties
    color: str | None = None  # "white" or "other" when the style's run properties set a colour, else None
    dark_fill: bool = False  # the style shades something (paragraph, cell, table region) with a dark fill


def _val(el: Any, child: str) -> str | None:
    c = el.find(f"{{{W}}}{child}") if el is not None else None
    if c is None:
        return None
    v = c.get(_T_VAL)
    return str(v) if v is not None else ""


def on(el: Any, child: str) -> bool:
    """A WordprocessingML toggle property (``<w:b/>``, ``<w:vanish w:val="0"/>`` …) is set on ``el``."""
    v = _val(el, child)
    return v is not None and v.lower() not in _OFF


def hidden_rpr(rpr: Any) -> bool:
    """Run properties that hide text: ``w:vanish`` or ``w:specVanish``."""
    return rpr is not None and (on(rpr, "vanish") or on(rpr, "specVanish"))


_WHITE = frozenset(("ffffff", "white"))
_LIGHT_THEMES = frozenset(("background1", "bg1", "light1", "lt1"))


def text_color(rpr: Any) -> str | None:
    """``"white"`` / ``"other"`` for the colour ``w:color`` gives a run, None when it sets none (or ``auto``)."""
    c = rpr.find(f"{{{W}}}color") if rpr is not None else None
    if c is None:
        return None
    theme = (c.get(f"{{{W}}}themeColor") or "").lower()
    if theme:
        return "white" if theme in _LIGHT_THEMES else "other"
    val = (c.get(_T_VAL) or "").lower()
    if not val or val == "auto":
        return None
    return "white" if val in _WHITE else "other"


_HIGHLIGHT_DARK = frozenset((
    "black", "blue", "cyan", "darkblue", "darkcyan", "darkgray", "darkgreen", "darkmagenta", "darkred",
    "darkyellow", "green", "magenta", "red",
))


def _dark_hex(fill: str) -> bool:
    if len(fill) != 6:
        return False
    try:
        r, g, b = (int(fill[i : i + 2], 16) for i in (0, 2, 4))
    except ValueError:
        return False
    return 0.299 * r + 0.587 * g + 0.114 * b < 160  # white text reads on it


_DARK_THEMES = frozenset(("dark1", "dk1", "text1", "tx1", "dark2", "dk2", "text2", "tx2"))


def dark_color(el: Any) -> bool:
    """An element's ``w:color`` / ``w:themeColor`` attributes name a dark colour (e.g. ``w:background``)."""
    theme = (el.get(f"{{{W}}}themeColor") or "").lower()
    if theme:
        return theme in _DARK_THEMES
    return _dark_hex((el.get(f"{{{W}}}color") or "").lower())


def dark_shading(props: Any) -> bool:
    """``props`` (``w:rPr``/``w:pPr``/``w:tcPr``/``w:tblPr``) shades its content dark enough for white text:
    a ``w:shd`` fill (or a solid pattern colour), or a dark ``w:highlight``."""
    if props is None:
        return False
    shd = props.find(f"{{{W}}}shd")
    if shd is not None:
        fill = (shd.get(f"{{{W}}}fill") or "").lower()
        pattern = (shd.get(_T_VAL) or "").lower()
        if shd.get(f"{{{W}}}themeFill") and (shd.get(f"{{{W}}}themeFill") or "").lower() not in _LIGHT_THEMES:
            return True
        if _dark_hex(fill):
            return True
        if pattern == "solid" and _dark_hex((shd.get(f"{{{W}}}color") or "").lower()):
            return True
    hl = _val(props, "highlight")
    return hl is not None and hl.lower() in _HIGHLIGHT_DARK


def style_of(s: Any) -> Style:
    """The fields of one ``w:style`` element."""
    ppr = s.find(_T_PPR)
    ol = _val(ppr, "outlineLvl")
    num_pr = ppr.find(_T_NUMPR) if ppr is not None else None
    ilvl = _val(num_pr, "ilvl") if num_pr is not None else None
    rpr = s.find(_T_RPR)
    return Style(
        name=_val(s, "name") or "",
        based_on=_val(s, "basedOn"),
        outline=int(ol) if ol and ol.isdigit() else None,
        num_id=_val(num_pr, "numId") if num_pr is not None else None,
        ilvl=int(ilvl) if ilvl and ilvl.isdigit() else None,
        hidden=hidden_rpr(rpr),
        color=text_color(rpr),
        # any shading in the style (its paragraph, run, or a table style's regions): white text may be meant
        dark_fill=any(dark_shading(el.getparent()) for el in s.iter(f"{{{W}}}shd", f"{{{W}}}highlight")),
    )


def styles_from_root(root: Any) -> dict[str, Style]:
    """Every style of a parsed styles part (the full, eager reading)."""
    out: dict[str, Style] = {}
    for s in root.iter(_T_STYLE):
        sid = s.get(_T_ID)
        if sid:
            out[sid] = style_of(s)
    return out


def numbering_formats(root: Any) -> dict[tuple[str, int], str]:
    """(numId, level) → ``w:numFmt`` of a numbering part."""
    out: dict[tuple[str, int], str] = {}
    abstract: dict[str, dict[int, str]] = {}
    for an in root.iter(f"{{{W}}}abstractNum"):
        levels: dict[int, str] = {}
        for lvl in an.iter(f"{{{W}}}lvl"):
            i = lvl.get(f"{{{W}}}ilvl")
            if i is not None and i.isdigit():
                levels[int(i)] = _val(lvl, "numFmt") or ""
        abstract[an.get(f"{{{W}}}abstractNumId") or ""] = levels
    for num in root.iter(f"{{{W}}}num"):
        nid = num.get(f"{{{W}}}numId") or ""
        for i, fmt in abstract.get(_val(num, "abstractNumId") or "", {}).items():
            out[(nid, i)] = fmt
    return out


class StyleTable(Protocol):
    def get(self, sid: str) -> Style | None: ...


_WURI = W.encode()
_ATTRS = rb"((?:\s+[^\s=/><]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*(/?)>"
_ROOT = re.compile(rb"\s*(?:<\?xml[^>]*\?>)?\s*(<w:styles(?=[\s/>])" + _ATTRS + rb")")
_START = re.compile(rb"<w:style" + _ATTRS)
_DELIM = frozenset(bytes([c]) for c in b" \t\r\n/>")
_SID = re.compile(rb"\sw:styleId\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_ENC = re.compile(rb"<\?xml[^>]*encoding\s*=\s*[\"']([^\"']*)[\"']")
_NSDECL = re.compile(rb"xmlns:w\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")


class _Lazy:
    def __init__(self, raw: bytes, wrapper: bytes, chunks: dict[str, bytes], parse: Callable[[bytes], Any]) -> None:
        self._raw = raw
        self._full: dict[str, Style] | None = None
        self._wrapper = wrapper
        self._chunks = chunks
        self._parse = parse
        self._done: dict[str, Style] = {}

    def get(self, sid: str) -> Style | None:
        if self._full is not None:
            return self._full.get(sid)
        st = self._done.get(sid)
        if st is not None:
            return st
        chunk = self._chunks.get(sid)
        if chunk is None:
            return None
        try:
            el = self._parse(self._wrapper + chunk + b"</w:styles>").find(_T_STYLE)
        except Exception:
            el = None
        if el is None:  # e.g. a prefix declared on an ancestor: read the whole part after all
            try:
                self._full = styles_from_root(self._parse(self._raw))
            except Exception:
                raise MalformedError("malformed XML in 'word/styles.xml'") from None
            return self._full.get(sid)
        st = style_of(el)
        self._done[sid] = st
        return st


def _index(raw: bytes) -> tuple[bytes, dict[str, bytes]] | None:
    """(root start tag, styleId → ``<w:style>`` bytes) when the byte scan is unambiguous, else None."""
    data = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    if b"\x00" in data or (b"!" in data and b"<!" in data):  # comments, CDATA
        return None
    decl_end = data.find(b"?>") + 2 if data[:64].lstrip().startswith(b"<?xml") else 0
    if data.find(b"?", decl_end) >= 0 and data.find(b"<?", decl_end) >= 0:  # processing instructions
        return None
    enc = _ENC.match(data)
    if enc is not None and enc.group(1).lower().replace(b"-", b"") != b"utf8":
        return None
    root = _ROOT.match(data)
    if root is None or root.group(3) or data.count(_WURI) != 1 or data.find(b"xmlns", root.end()) >= 0:
        return None  # namespaces declared only on the root
    decl = _NSDECL.search(root.group(1))
    if decl is None or (decl.group(1) or decl.group(2)) != _WURI:
        return None
    chunks: dict[str, bytes] = {}
    starts = 0
    pieces = data.split(b"</w:style>")
    for k, piece in enumerate(pieces):
        pos = 0 if k else root.end()
        while True:
            i = piece.find(b"<w:style", pos)
            if i < 0:
                break
            j = piece.find(b">", i) + 1
            tag = piece[i:j]
            if not j or tag.count(b'"') % 2 or tag.count(b"'") % 2:  # a ">" inside a quoted value
                m = _START.match(piece, i)
                if m is None:
                    return None
                j = m.end()
                tag = piece[i:j]
            if tag[8:9] not in _DELIM:
                return None
            starts += 1
            if tag.endswith(b"/>"):  # <w:style .../>
                chunk = tag
                pos = j
            elif k == len(pieces) - 1:
                return None  # unclosed
            else:
                chunk = piece[i:] + b"</w:style>"
                pos = len(piece)  # nothing else may start in this style: checked by the count below
            sm = _SID.search(tag)
            rawid = (sm.group(1) if sm.group(1) is not None else sm.group(2)) if sm else None
            if not rawid:
                continue
            if b"&" in rawid or b"\t" in rawid or b"\n" in rawid or b"\r" in rawid:
                return None
            try:
                chunks[rawid.decode("utf-8")] = chunk
            except UnicodeDecodeError:
                return None
    if data.count(b"<w:style") != starts + 1:  # + the root; anything else: nesting or an unknown element
        return None
    return root.group(1), chunks


def style_table(raw: bytes, parse: Callable[[bytes], Any]) -> StyleTable:
    """A style table for the bytes of a styles part; ``parse`` parses XML bytes (hardened parser)."""
    idx = _index(raw)
    if idx is None:
        return styles_from_root(parse(raw))
    return _Lazy(raw, idx[0], idx[1], parse)
