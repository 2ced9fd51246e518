"""Open a (pre-checked) DOCX package with lxml directly — the fast path of :mod:`evidex.parse.office.docx`.

python-docx loads and parses every XML part it knows (styles, settings, numbering, ...) into custom
element classes; the DOCX parser needs only the main document, the headers/footers it references, the
numbering definitions, the core properties and the few styles the paragraphs actually use. This module
reads exactly those, resolving parts the way python-docx does (package relationships → main document
part → its relationships; ``[Content_Types].xml`` overrides, then defaults by extension), with a parser
that loads no DTD, reads nothing from the network and resolves no entities.

:func:`open_docx` returns ``None`` whenever the package is in any way irregular (a relationship target
missing from the zip, a part without a content type, a main part that is not a WordprocessingML document,
no styles or core-properties part, a part that is not well-formed XML, ...). The caller then falls back to
python-docx, so odd packages keep exactly the old behaviour (including its errors).
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from evidex.parse.office.docx_styles import (
    Style,
    StyleTable,
    numbering_formats,
    style_table,
    styles_from_root,
)

_PR = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
RT_OFFICE = _RT + "officeDocument"
RT_STYLES = _RT + "styles"
RT_NUMBERING = _RT + "numbering"
RT_CORE = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
_WML = "application/vnd.openxmlformats-officedocument.wordprocessingml."
CT_MAIN = _WML + "document.main+xml"
CT_STYLES = _WML + "styles+xml"
CT_NUMBERING = _WML + "numbering+xml"
CT_HEADER = _WML + "header+xml"
CT_FOOTER = _WML + "footer+xml"
CT_CORE = "application/vnd.openxmlformats-package.core-properties+xml"
_DC = "{http://purl.org/dc/elements/1.1/}"
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
W_BODY = _W + "body"
W_SECT = _W + "sectPr"
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


class _Irregular(Exception):
    """The package needs python-docx's handling (or its error)."""


@dataclass
class _Rel:
    reltype: str
    target: str  # absolute part name ("/word/header1.xml"); "" when external
    external: bool


@dataclass
class DocxPackage:
    """The parts the DOCX walker needs, already parsed."""

    body: Any
    styles: StyleTable
    numbering: Any | None  # root of the numbering part, or None
    metadata: dict[str, str]
    related: dict[str, tuple[str, Any]] = field(default_factory=dict)  # rId → (part name, root) of headers/footers


def _parser() -> Any:
    from lxml import etree

    # Same tree as python-docx's oxml parser (remove_blank_text) but hardened; one parser per call
    # (lxml parsers must not be shared between threads).
    return etree.XMLParser(
        remove_blank_text=True, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )


def _parse(raw: bytes) -> Any:
    from lxml import etree

    try:
        return etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError:
        raise _Irregular from None


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.zf = zipfile.ZipFile(io.BytesIO(data))
        self.names = set(self.zf.namelist())
        self.overrides: dict[str, str] = {}
        self.defaults: dict[str, str] = {}
        ct = _parse(self.read("/[Content_Types].xml"))
        for el in ct:
            tag = el.tag
            if tag == f"{{{_CT_NS}}}Override":
                pn, c = el.get("PartName"), el.get("ContentType")
                if pn is None or c is None:
                    raise _Irregular
                self.overrides[pn.lower()] = c
            elif tag == f"{{{_CT_NS}}}Default":
                ext, c = el.get("Extension"), el.get("ContentType")
                if ext is None or c is None:
                    raise _Irregular
                self.defaults[ext.lower()] = c
        self.rels: dict[str, dict[str, _Rel]] = {}

    def read(self, partname: str) -> bytes:
        member = partname[1:]
        if member not in self.names:
            raise _Irregular
        return self.zf.read(member)

    def content_type(self, partname: str) -> str:
        c = self.overrides.get(partname.lower())
        if c is not None:
            return c
        raw_ext = posixpath.splitext(partname)[1]
        ext = raw_ext[1:] if raw_ext.startswith(".") else raw_ext
        c = self.defaults.get(ext.lower())
        if c is None:
            raise _Irregular
        return c

    def rels_of(self, partname: str) -> dict[str, _Rel]:
        """Relationships of a part (``"/"`` = the package), as python-docx reads them."""
        if partname in self.rels:
            return self.rels[partname]
        base, fname = posixpath.split(partname)
        member = posixpath.join(base, "_rels", f"{fname}.rels")[1:]
        out: dict[str, _Rel] = {}
        if member in self.names:
            for el in _parse(self.zf.read(member)):
                if el.tag != _PR:
                    continue
                rid, reltype, target = el.get("Id"), el.get("Type"), el.get("Target")
                if rid is None or reltype is None or target is None:
                    raise _Irregular
                external = el.get("TargetMode", "Internal") == "External"
                if not external:
                    target = posixpath.abspath(posixpath.join(base, target))
                    if not target.startswith("/"):
                        raise _Irregular
                out[rid] = _Rel(reltype, "" if external else target, external)
        self.rels[partname] = out
        return out

    def walk(self) -> None:
        """Every part reachable from the package must exist and have a content type (as python-docx requires)."""
        seen: set[str] = set()
        stack = ["/"]
        while stack:
            for rel in self.rels_of(stack.pop()).values():
                if rel.external or rel.target in seen:
                    continue
                seen.add(rel.target)
                if rel.target[1:] not in self.names:
                    raise _Irregular
                self.content_type(rel.target)
                stack.append(rel.target)

    def one(self, source: str, reltype: str, ct: str | None) -> str | None:
        """The single internal target of ``reltype`` from ``source`` (None if absent; irregular if ambiguous)."""
        matching = [r for r in self.rels_of(source).values() if r.reltype == reltype]
        if not matching:
            return None
        if len(matching) > 1 or matching[0].external:
            raise _Irregular
        target = matching[0].target
        if ct is not None and self.content_type(target) != ct:
            raise _Irregular
        return target


def open_docx(data: bytes) -> DocxPackage | None:
    """Parse the parts the DOCX walker needs, or return None to let python-docx handle the package."""
    try:
        return _open(data)
    except (_Irregular, zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError, NotImplementedError):
        return None


def _open(data: bytes) -> DocxPackage:
    rd = _Reader(data)
    rd.walk()
    main = rd.one("/", RT_OFFICE, CT_MAIN)
    core = rd.one("/", RT_CORE, CT_CORE)
    if main is None or core is None:
        raise _Irregular
    styles_part = rd.one(main, RT_STYLES, CT_STYLES)
    if styles_part is None:
        raise _Irregular  # python-docx substitutes its default style table
    numbering_part = rd.one(main, RT_NUMBERING, CT_NUMBERING)
    root = _parse(rd.read(main))
    body = root.find(W_BODY)
    if body is None:
        raise _Irregular
    metadata: dict[str, str] = {}
    cp = _parse(rd.read(core))
    for key, tag in (("title", "title"), ("author", "creator"), ("subject", "subject")):
        el = cp.find(_DC + tag)
        if el is not None and el.text:
            metadata[key] = str(el.text)
    styles = style_table(rd.read(styles_part), _parse)
    numbering = _parse(rd.read(numbering_part)) if numbering_part is not None else None
    doc_rels = rd.rels_of(main)
    related: dict[str, tuple[str, Any]] = {}
    parsed: dict[str, Any] = {}
    for sect in body.iter(W_SECT):
        for ref in sect:
            tag = ref.tag
            if not isinstance(tag, str) or tag.rsplit("}", 1)[-1] not in ("headerReference", "footerReference"):
                continue
            rid = ref.get(R_ID)
            rel = doc_rels.get(rid) if rid else None
            if rel is None or rel.external:
                continue
            if rd.content_type(rel.target) not in (CT_HEADER, CT_FOOTER):
                raise _Irregular
            if rel.target not in parsed:
                parsed[rel.target] = _parse(rd.read(rel.target))
            related[rid] = (rel.target, parsed[rel.target])
    return DocxPackage(body, styles, numbering, metadata, related)


# ---------------------------------------------------------------- shared with the python-docx fallback
Lookup = Callable[[str], "tuple[str, Callable[[], Any]] | None"]


def docx_lookup(d: Any) -> Lookup:
    """rId → (part name, its root element) for the document part's internal relationships (python-docx)."""
    related = d.part.related_parts

    def lookup(rid: str) -> tuple[str, Callable[[], Any]] | None:
        part = related.get(rid)
        return None if part is None else (str(part.partname), lambda: part.element)

    return lookup


def fast_lookup(related: dict[str, tuple[str, Any]]) -> Lookup:
    def lookup(rid: str) -> tuple[str, Callable[[], Any]] | None:
        found = related.get(rid)
        return None if found is None else (found[0], lambda: found[1])

    return lookup


def docx_styles_of(doc: Any) -> dict[str, Style]:
    """The style table of a python-docx document (fallback path)."""
    try:
        root = doc.styles.element
    except Exception:
        return {}
    return styles_from_root(root)


def docx_numbering_of(doc: Any) -> dict[tuple[str, int], str]:
    """Numbering formats of a python-docx document (fallback path)."""
    try:
        root = doc.part.numbering_part.element
    except Exception:
        return {}
    return numbering_formats(root)
