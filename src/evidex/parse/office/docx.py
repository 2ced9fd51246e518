"""DOCX → Document: body order kept (paragraphs and tables interleaved), structure from styles.

* Headings from paragraph styles (``Heading N``, outline levels, ``Title``) with SECTION containers.
* Lists from ``List Bullet/Number N`` styles and ``w:numPr``/``w:ilvl`` → nested LIST > LIST_ITEM.
* Tables → TABLE > ROW > CELL with ``colspan`` (``w:gridSpan``) and ``rowspan`` (``w:vMerge``); merged
  continuation cells are not repeated.
* Headers and footers → PAGE_HEADER / PAGE_FOOTER on the FURNITURE layer; footnotes and endnotes
  (read from their parts with a safe XML parser) → FOOTNOTE; hidden runs (``w:vanish``) → HIDDEN layer.
* Provenance is a structural address: ``body/p[12]/r[3]``, ``body/tbl[1]/tr[2]/tc[3]/p[1]/r[1]``,
  ``footnotes/footnote[2]/p[1]/r[2]`` (XPath-like, 1-based among same-named siblings).

The package is pre-checked by :mod:`evidex.parse.office.package`, then read with lxml directly
(:mod:`evidex.parse.office.docx_pkg`; only the styles the paragraphs use are parsed, :mod:`evidex.parse.office.docx_styles`).
Irregular packages fall back to python-docx, which keeps their old behaviour and errors.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, ClassVar

from evidex.errors import MalformedError, MissingDependencyError
from evidex.model import Document, Layer, NodeKind, Prov
from evidex.parse.base import ParseContext
from evidex.parse.office.docx_pkg import (
    core_properties,
    docx_lookup,
    docx_numbering_of,
    docx_styles_of,
    fast_lookup,
    open_docx,
)
from evidex.parse.office.docx_styles import Style as _Style
from evidex.parse.office.docx_styles import (
    StyleTable,
    dark_shading,
    hidden_rpr,
    numbering_formats,
    text_color,
)
from evidex.parse.office.docx_xml import (
    _HEADING,
    _LIST,
    _MAX_TABLE_DEPTH,
    _T_PPR,
    _T_RPR,
    MC,
    MEDIA_TYPE,
    _dark_page,
    _has_text,
    _header_parts,
    _last_with_text,
    _local,
    _on,
    _text_boxes,
    _w,
    _wval,
)
from evidex.parse.office.package import check_package, parse_xml
from evidex.structure.builder import DocumentBuilder
from evidex.structure.kv import match_kv


@dataclass
class _Para:
    kind: str  # heading | title | list | para
    level: int = 0
    ordered: bool = False
    hidden: bool = False


@dataclass
class _Piece:
    text: str
    prov: Prov | None
    hidden: bool
    reason: str = ""  # why hidden: "vanish" (w:vanish, w:specVanish, a hidden style) or "white-text"


class _Walker:
    def __init__(self, b: DocumentBuilder, styles: StyleTable, numfmt: dict[tuple[str, int], str]) -> None:
        self.b = b
        self.styles = styles
        self._resolved: dict[str | None, _Style] = {}
        self.numfmt = numfmt
        self.sections: list[tuple[int, int]] = []  # (level, nid)
        self.lists: list[tuple[int, int, int | None, bool]] = []  # (level, list nid, open item, ordered)
        self.flat = False  # inside headers/footers/notes: no sections
        self.note_mark = ""
        self.table_depth = 0
        self._cell_start = 0
        self.dark = 0  # > 0 inside something shaded dark (cell, text box, page background): white text shows
        self._para_dark = False
        self._para_color: str | None = None

    # ------------------------------------------------------------------ styles
    def _style(self, sid: str | None) -> _Style:
        out = self._resolved.get(sid)
        if out is None:
            out = self._resolved[sid] = self._resolve(sid)
        return out

    def _resolve(self, sid: str | None) -> _Style:
        out = _Style()
        seen = 0
        while sid and seen < 16:
            s = self.styles.get(sid)
            if s is None:
                break
            out.name = out.name or s.name
            out.outline = s.outline if out.outline is None else out.outline
            if out.num_id is None:
                out.num_id, out.ilvl = s.num_id, s.ilvl
            out.hidden = out.hidden or s.hidden
            out.color = s.color if out.color is None else out.color
            out.dark_fill = out.dark_fill or s.dark_fill
            sid, seen = s.based_on, seen + 1
        return out

    def classify(self, p: Any) -> _Para:
        ppr = p.find(_T_PPR)
        st = self._style(_wval(ppr, "pStyle"))
        name = st.name.lower()
        hidden = st.hidden or (ppr is not None and _on(ppr.find(_T_RPR), "vanish"))
        m = _HEADING.fullmatch(name)
        outline = _wval(ppr, "outlineLvl")
        if m:
            return _Para("heading", int(m.group(1)), hidden=hidden)
        if name == "title":
            return _Para("title", hidden=hidden)
        if name == "subtitle":  # a TITLE node of level 2
            return _Para("title", 2, hidden=hidden)
        if outline is not None and outline.isdigit() and int(outline) < 9:
            return _Para("heading", int(outline) + 1, hidden=hidden)
        if st.outline is not None and st.outline < 9:
            return _Para("heading", st.outline + 1, hidden=hidden)
        num_pr = ppr.find(_w("numPr")) if ppr is not None else None
        num_id, ilvl = st.num_id, st.ilvl
        if num_pr is not None:
            num_id = _wval(num_pr, "numId") or num_id
            lv = _wval(num_pr, "ilvl")
            ilvl = int(lv) if lv and lv.isdigit() else ilvl
        sm = _LIST.fullmatch(name)
        if num_id and num_id != "0":
            lvl = (ilvl or 0) + 1
            if sm and sm.group(2) and ilvl is None:
                lvl = int(sm.group(2))
            fmt = self.numfmt.get((num_id, lvl - 1), "")
            ordered = "number" in name or (fmt not in ("", "bullet", "none"))
            return _Para("list", min(lvl, 9), ordered, hidden)
        if sm and sm.group(1) in ("bullet", "number"):
            return _Para("list", int(sm.group(2) or 1), sm.group(1) == "number", hidden)
        return _Para("para", hidden=hidden)

    # ------------------------------------------------------------------ inline content
    def pieces(self, p: Any, path: str) -> tuple[list[_Piece], list[tuple[Any, str]]]:
        out: list[_Piece] = []
        boxes: list[tuple[Any, str]] = []
        ppr = p.find(_T_PPR)
        st = self._style(_wval(ppr, "pStyle"))
        self._para_dark = dark_shading(ppr) or st.dark_fill
        self._para_color = st.color
        self._inline(p, path, out, boxes)
        return out, boxes

    def _inline(self, el: Any, path: str, out: list[_Piece], boxes: list[tuple[Any, str]]) -> None:
        counts: dict[str, int] = {}
        for c in el:
            name = _local(c)
            if not name:
                continue
            counts[name] = counts.get(name, 0) + 1
            cpath = f"{path}/{name}[{counts[name]}]"
            if name == "r":
                self._run(c, cpath, out, boxes)
            elif name in ("hyperlink", "ins", "smartTag", "customXml", "fldSimple", "moveTo", "dir", "bdo"):
                self._inline(c, cpath, out, boxes)
            elif name == "sdt":
                content = c.find(_w("sdtContent"))
                if content is not None:
                    self._inline(content, f"{cpath}/sdtContent", out, boxes)
            elif name == "AlternateContent":
                choice = c.find(f"{{{MC}}}Choice")
                if choice is not None:
                    self._inline(choice, f"{cpath}/Choice", out, boxes)

    def _hidden_run(self, rpr: Any) -> str:
        """Why a run cannot be seen ("" when it can): hidden by its properties or its character style, or white
        text (its own colour, its character style's or its paragraph style's) on no dark background."""
        rst = self._style(_wval(rpr, "rStyle")) if rpr is not None else None
        if hidden_rpr(rpr) or (rst is not None and rst.hidden):
            return "vanish"
        color = text_color(rpr)
        if color is None and rst is not None:
            color = rst.color
        if color is None:
            color = self._para_color
        if color != "white" or self.dark or self._para_dark or dark_shading(rpr):
            return ""
        return "" if rst is not None and rst.dark_fill else "white-text"

    def _run(self, r: Any, path: str, out: list[_Piece], boxes: list[tuple[Any, str]]) -> None:
        reason = self._hidden_run(r.find(_T_RPR))
        parts: list[str] = []
        for c in r:
            name = _local(c)
            if name == "t":
                parts.append(c.text or "")
            elif name in ("tab", "ptab"):
                parts.append("\t")
            elif name in ("br", "cr"):
                parts.append("\n")
            elif name == "noBreakHyphen":
                parts.append("-")
            elif name == "footnoteReference":
                parts.append(f"[{c.get(_w('id'))}]")
            elif name == "endnoteReference":
                parts.append(f"[e{c.get(_w('id'))}]")
            elif name in ("footnoteRef", "endnoteRef"):
                parts.append(self.note_mark)
            elif name in ("drawing", "pict", "object", "AlternateContent"):
                for box in _text_boxes(c):
                    boxes.append((box, f"{path}/txbx[{len(boxes) + 1}]"))
        text = "".join(parts)
        if text:
            out.append(_Piece(text, Prov(part=path), bool(reason), reason))

    def emit(self, pieces: list[_Piece], a: int, z: int, node_hidden: bool) -> None:
        """Append the characters ``[a, z)`` of the joined pieces, one anchor per run slice."""
        pos = 0
        for pc in pieces:
            s, e = max(a, pos), min(z, pos + len(pc.text))
            if s < e:
                piece = pc.text[s - pos : e - pos]
                if pc.hidden and not node_hidden:
                    self.b.open(NodeKind.TEXT, layer=Layer.HIDDEN, prov=pc.prov, attrs={"hidden": pc.reason})
                    self.b.text(piece, pc.prov)
                    self.b.close()
                else:
                    self.b.text(piece, pc.prov)
            pos += len(pc.text)

    # ------------------------------------------------------------------ blocks
    def blocks(self, el: Any, path: str, *, in_cell: bool = False) -> None:
        counts: dict[str, int] = {}
        for c in el:
            name = _local(c)
            if name not in ("p", "tbl", "sdt", "customXml"):
                continue
            counts[name] = counts.get(name, 0) + 1
            cpath = f"{path}/{name}[{counts[name]}]"
            if name == "p":
                self.paragraph(c, cpath, in_cell=in_cell)
            elif name == "tbl":
                self.table(c, cpath, in_cell=in_cell)
            elif name == "sdt":
                content = c.find(_w("sdtContent"))
                if content is not None:
                    self.blocks(content, f"{cpath}/sdtContent", in_cell=in_cell)
            else:
                self.blocks(c, cpath, in_cell=in_cell)

    def close_lists(self) -> None:
        while self.lists:
            _, lid, item, _o = self.lists.pop()
            if item is not None:
                self.b.close(item)
            self.b.close(lid)

    def close_sections(self, level: int = 0) -> None:
        self.close_lists()
        while self.sections and self.sections[-1][0] >= level:
            self.b.close(self.sections.pop()[1])

    def paragraph(self, p: Any, path: str, *, in_cell: bool = False) -> None:
        info = self.classify(p)
        pieces, boxes = self.pieces(p, path)
        text = "".join(pc.text for pc in pieces)
        a = len(text) - len(text.lstrip())
        z = len(text.rstrip())
        hidden = info.hidden or (bool(pieces) and all(pc.hidden for pc in pieces))
        layer = Layer.HIDDEN if hidden else None
        prov = Prov(part=path)
        b = self.b
        if a >= z:
            pass
        elif in_cell:
            if b.pos > self._cell_start:
                b.sep(" ")
            if hidden:
                b.open(NodeKind.TEXT, layer=Layer.HIDDEN, prov=prov)
                self.emit(pieces, a, z, True)
                b.close()
            else:
                self.emit(pieces, a, z, False)
        elif info.kind == "heading" and not self.flat:
            self.close_sections(info.level)
            b.ensure_break(2)
            sid = b.open(NodeKind.SECTION, level=info.level, layer=layer, prov=prov)
            self.sections.append((info.level, sid))
            b.open(NodeKind.HEADING, level=info.level, layer=layer, prov=prov)
            self.emit(pieces, a, z, hidden)
            b.close()
        elif info.kind in ("heading", "title"):
            self.close_lists()
            b.ensure_break(2)
            kind = NodeKind.TITLE if info.kind == "title" else NodeKind.HEADING
            b.open(kind, level=info.level or None, layer=layer, prov=prov)
            self.emit(pieces, a, z, hidden)
            b.close()
        elif info.kind == "list":
            self.list_item(info, pieces, a, z, hidden, prov)
        else:
            self.close_lists()
            b.ensure_break(2)
            kv = None if hidden or any(pc.hidden for pc in pieces) or "\n" in text[a:z] else match_kv(text[a:z])
            if kv is not None:
                b.open(NodeKind.KEY_VALUE, layer=layer, prov=prov)
                b.open(NodeKind.KEY)
                self.emit(pieces, a + kv.key_start, a + kv.key_end, False)
                b.close()
                self.emit(pieces, a + kv.key_end, a + kv.value_start, False)
                b.open(NodeKind.VALUE)
                self.emit(pieces, a + kv.value_start, a + kv.value_end, False)
                b.close()
                self.emit(pieces, a + kv.value_end, z, False)
                b.close()
            else:
                b.open(NodeKind.PARAGRAPH, layer=layer, prov=prov)
                self.emit(pieces, a, z, hidden)
                b.close()
        self.dark += 1  # a text box sits on its shape, whose fill this walker does not read: white text may show
        for box, bpath in boxes:
            self.blocks(box, bpath, in_cell=in_cell)
        self.dark -= 1

    def list_item(self, info: _Para, pieces: list[_Piece], a: int, z: int, hidden: bool, prov: Prov) -> None:
        b = self.b
        lv = info.level
        while self.lists and (
            self.lists[-1][0] > lv or (self.lists[-1][0] == lv and self.lists[-1][3] != info.ordered)
        ):
            _, lid, item, _o = self.lists.pop()
            if item is not None:
                b.close(item)
            b.close(lid)
        if self.lists and self.lists[-1][0] == lv:
            _, lid, item, _o = self.lists[-1]
            if item is not None:
                b.close(item)
            b.ensure_break(1)
        else:
            if self.lists:
                b.ensure_break(1)
            else:
                b.ensure_break(2)
            lid = b.open(NodeKind.LIST, level=lv, attrs={"ordered": info.ordered})
            self.lists.append((lv, lid, None, info.ordered))
        iid = b.open(NodeKind.LIST_ITEM, level=lv, layer=Layer.HIDDEN if hidden else None, prov=prov)
        self.lists[-1] = (lv, lid, iid, info.ordered)
        self.emit(pieces, a, z, hidden)

    # ------------------------------------------------------------------ tables
    def table(self, tbl: Any, path: str, *, in_cell: bool = False) -> None:
        b = self.b
        if in_cell:
            if b.pos > self._cell_start:
                b.sep(" ")
        else:
            self.close_lists()
            b.ensure_break(2)
        if not _has_text(tbl):
            return
        if self.table_depth >= _MAX_TABLE_DEPTH:
            b.warn("DOCX: tables nested too deeply were flattened to text")
            b.text(" ".join(t.strip() for t in tbl.itertext() if t.strip()), Prov(part=path))
            return
        self.table_depth += 1
        b.open(NodeKind.TABLE, prov=Prov(part=path))
        rows = [c for c in tbl if _local(c) == "tr"]
        last_row = _last_with_text(rows)
        tblpr = tbl.find(_w("tblPr"))
        shaded_table = dark_shading(tblpr) or self._style(_wval(tblpr, "tblStyle")).dark_fill
        origin: dict[int, list[int]] = {}  # grid column → [cell nid, rowspan]
        for ri, tr in enumerate(rows):
            if ri and ri <= last_row:
                b.sep("\n")
            rpath = f"{path}/tr[{ri + 1}]"
            trpr = tr.find(_w("trPr"))
            header = _on(trpr, "tblHeader") or (ri == 0 and len(rows) > 1)
            b.open(NodeKind.ROW, prov=Prov(part=rpath), attrs={"row": ri})
            before = _wval(trpr, "gridBefore")
            col = int(before) if before and before.isdigit() else 0
            first = True
            tcs = [c for c in tr if _local(c) == "tc"]
            last_cell = _last_with_text(tcs)
            for ci, tc in enumerate(tcs):
                tcpr = tc.find(_w("tcPr"))
                gs = _wval(tcpr, "gridSpan")
                span = max(1, int(gs)) if gs and gs.isdigit() else 1
                vm = _wval(tcpr, "vMerge")
                if vm is not None and vm != "restart" and col in origin:
                    origin[col][1] += 1
                    b.set_attr(origin[col][0], "rowspan", origin[col][1])
                    if "".join(tc.itertext()).strip():
                        b.warn("DOCX: text in a vertically merged continuation cell was skipped")
                    col += span
                    continue
                if not first and ci <= last_cell:
                    b.sep(" | ")
                first = False
                attrs: dict[str, Any] = {"row": ri, "col": col, "header": header}
                if span > 1:
                    attrs["colspan"] = span
                cid = b.open(NodeKind.CELL, prov=Prov(part=f"{rpath}/tc[{ci + 1}]"), attrs=attrs)
                if vm == "restart":
                    origin[col] = [cid, 1]
                else:
                    origin.pop(col, None)
                saved = self._cell_start
                self._cell_start = b.pos
                shaded = shaded_table or dark_shading(tcpr)
                self.dark += shaded
                self.blocks(tc, f"{rpath}/tc[{ci + 1}]", in_cell=True)
                self.dark -= shaded
                self._cell_start = saved
                b.close(cid)
                col += span
            b.close()
        b.close()
        self.table_depth -= 1


def _core_metadata(b: DocumentBuilder, core: tuple[tuple[str, str, str], ...], part: str) -> None:
    """Core properties (title, subject, author, version, revision, dates …) as METADATA-layer entries."""
    for label, value, qname in core:
        b.add_metadata(label, value, Prov(part=f"{part}#{qname}"), attrs={"origin": "docx-core", "key": qname})


class DocxParser:
    name: ClassVar[str] = "docx"
    media_type: ClassVar[str] = MEDIA_TYPE
    extensions: ClassVar[tuple[str, ...]] = (".docx",)

    def parse(self, data: bytes, ctx: ParseContext) -> Document:
        pkg = check_package(
            data,
            ctx.limits,
            kind="DOCX",
            require=("word/document.xml",),
            keep=("word/footnotes.xml", "word/endnotes.xml"),
        )
        try:
            import docx
        except ImportError:
            raise MissingDependencyError(
                "python-docx is not installed", hint="pip install 'evidex[formats]'"
            ) from None
        fast = open_docx(data)
        if fast is not None:  # the common case: lxml directly, lazy style table
            b = ctx.builder(data, MEDIA_TYPE)
            b.metadata.update(fast.metadata)
            _core_metadata(b, fast.core, fast.core_part)
            numfmt = numbering_formats(fast.numbering) if fast.numbering is not None else {}
            w = _Walker(b, fast.styles, numfmt)
            body = fast.body
            headers, footers = _header_parts(fast_lookup(fast.related), body)
        else:  # irregular packages: python-docx (and its errors), as before
            try:
                d = docx.Document(io.BytesIO(data))
            except Exception as e:
                raise MalformedError(f"python-docx could not open the file: {type(e).__name__}: {e}") from None
            b = ctx.builder(data, MEDIA_TYPE)
            try:
                cp = d.core_properties
                for key in ("title", "author", "subject"):
                    v = getattr(cp, key, None)
                    if v:
                        b.metadata[key] = str(v)
                _core_metadata(b, core_properties(cp._element), "/docProps/core.xml")
            except Exception:
                pass
            w = _Walker(b, docx_styles_of(d), docx_numbering_of(d))
            body = d.element.body
            headers, footers = _header_parts(docx_lookup(d), body)
        w.dark = int(_dark_page(body))
        w.flat = True
        for pname, el in headers:
            _furniture(w, NodeKind.PAGE_HEADER, pname, el)
        w.flat = False
        w.blocks(body, "body")
        w.close_sections(0)
        w.flat = True
        for part, tag in (("word/footnotes.xml", "footnote"), ("word/endnotes.xml", "endnote")):
            raw = pkg.kept.get(part)
            if raw:
                _notes(w, parse_xml(raw, part), tag)
        for pname, el in footers:
            _furniture(w, NodeKind.PAGE_FOOTER, pname, el)
        if pkg.has("word/comments.xml"):
            b.warn("DOCX: comments are not extracted")
        return b.build()


def _furniture(w: _Walker, kind: NodeKind, pname: str, el: Any) -> None:
    w.b.ensure_break(2)
    w.b.open(kind, layer=Layer.FURNITURE, prov=Prov(part=pname), attrs={"part": pname})
    w.blocks(el, pname)
    w.close_lists()
    w.b.close()


def _notes(w: _Walker, root: Any, tag: str) -> None:
    k = 0
    for note in root:
        if _local(note) != tag:
            continue
        k += 1
        if (note.get(_w("type")) or "normal") != "normal":
            continue  # separators
        nid = note.get(_w("id")) or str(k)
        if not _has_text(note):
            continue
        w.note_mark = f"[{nid}]" if tag == "footnote" else f"[e{nid}]"
        w.b.ensure_break(2)
        path = f"{tag}s/{tag}[{k}]"
        fid = w.b.open(NodeKind.FOOTNOTE, prov=Prov(part=path), attrs={"id": nid, "note": tag})
        w._cell_start = w.b.pos
        w.blocks(note, path, in_cell=True)
        w.b.close(fid)
    w.note_mark = ""
