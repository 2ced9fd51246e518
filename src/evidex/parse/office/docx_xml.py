"""WordprocessingML helpers shared by the DOCX parser: namespaced tags, on/off and value properties, text
presence, text boxes, page background, header/footer parts."""

from __future__ import annotations

import re
from typing import Any

from evidex.parse.office.docx_pkg import Lookup
from evidex.parse.office.docx_styles import dark_color

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_OFF = ("0", "false", "off")
_MAX_TABLE_DEPTH = 32


_TAGS: dict[str, str] = {}


def _w(tag: str) -> str:
    t = _TAGS.get(tag)
    if t is None:
        t = _TAGS[tag] = f"{{{W}}}{tag}"
    return t


_T_VAL = _w("val")
_T_T = _w("t")
_T_FNREF = _w("footnoteReference")
_T_ENREF = _w("endnoteReference")
_T_PPR = _w("pPr")
_T_RPR = _w("rPr")
_HEADING = re.compile(r"heading\s*(\d)")
_LIST = re.compile(r"list\s*(bullet|number|continue)?\s*(\d)?")


def _local(el: Any) -> str:
    tag = el.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _wval(el: Any, child: str, attr: str = "val") -> str | None:
    if el is None:
        return None
    c = el.find(_w(child))
    if c is None:
        return None
    v = c.get(_T_VAL if attr == "val" else _w(attr))
    return str(v) if v is not None else ""


def _on(el: Any, child: str) -> bool:
    v = _wval(el, child)
    return v is not None and v.lower() not in _OFF


def _has_text(el: Any) -> bool:
    """Whether walking ``el`` will append any text (visible ``w:t`` text or note references)."""
    for t in el.iter(_T_T, _T_FNREF, _T_ENREF):
        if t.tag != _T_T:
            return True
        tx = t.text
        if tx and not tx.isspace():
            return True
    return False


def _last_with_text(els: list[Any]) -> int:
    """Index of the last element with text (``-1`` if none)."""
    for i in range(len(els) - 1, -1, -1):
        if _has_text(els[i]):
            return i
    return -1


def _text_boxes(container: Any) -> list[Any]:
    """Text-box contents under a drawing, once (``mc:Fallback`` copies and nested boxes excluded)."""
    out: list[Any] = []
    for t in container.iter(_w("txbxContent")):
        skip = False
        for a in t.iterancestors():
            if a is container:
                break
            if _local(a) in ("Fallback", "txbxContent"):
                skip = True
                break
        if not skip:
            out.append(t)
    return out


def _dark_page(body: Any) -> bool:
    """The document sets a dark page colour (``w:background``): white text is then meant to be read."""
    root = body.getparent()
    bg = root.find(_w("background")) if root is not None else None
    return bg is not None and dark_color(bg)


def _header_parts(lookup: Lookup, body: Any) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """Header and footer parts with text, once each."""
    headers: list[tuple[str, Any]] = []
    footers: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for sect in body.iter(_w("sectPr")):
        for ref in sect:
            name = _local(ref)
            if name not in ("headerReference", "footerReference"):
                continue
            rid = ref.get(f"{{{R}}}id")
            found = lookup(rid) if rid else None
            if found is None:
                continue
            partname, part = found
            pname = partname.lstrip("/").removeprefix("word/").removesuffix(".xml")
            if pname in seen:
                continue
            seen.add(pname)
            el = part()
            if _has_text(el):
                (headers if name == "headerReference" else footers).append((pname, el))
    return headers, footers
