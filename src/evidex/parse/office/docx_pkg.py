"""Open a (pre-checked) DOCX package with lxml directly — the fast path of :mod:`evidex.parse.office.docx`.

python-docx loads and parses every XML part it knows (styles, settings, numbering, ...) into custom
element classes; the DOCX parser needs only the main document, the headers/footers it references, the
numbering definitions, the core properties and the few styles the paragraphs actually use. This module
reads exactly those, resolving parts the way python-docx does (package relationships → main document
part → its relationships; ``[Content_Types].xml`` overrides, then defaults by extension) through the
package reader shared with XLSX (:class:`evidex.parse.office.package.PartReader`: a parser that loads no
DTD, reads nothing from the network and resolves no entities).

:func:`open_docx` returns ``None`` whenever the package is in any way irregular (a relationship target
missing from the zip, a part without a content type, a main part that is not a WordprocessingML document,
no styles or core-properties part, a part that is not well-formed XML, ...). The caller then falls back to
python-docx, so odd packages keep exactly the old behaviour (including its errors).
"""

from __future__ import annotations

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
from evidex.parse.office.package import FALLBACK_ERRORS, IrregularPackage, PartReader, parse_part

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


@dataclass
class DocxPackage:
    """The parts the DOCX walker needs, already parsed."""

    body: Any
    styles: StyleTable
    numbering: Any | None  # root of the numbering part, or None
    metadata: dict[str, str]
    related: dict[str, tuple[str, Any]] = field(default_factory=dict)  # rId → (part name, root) of headers/footers
    core: tuple[tuple[str, str, str], ...] = ()  # core properties: (label, value, origin), see core_properties()
    core_part: str = "/docProps/core.xml"


# core properties (OPC part 2 §11) by qualified name → the label Word shows for them
_CORE_LABELS = {
    "dc:title": "Title", "dc:subject": "Subject", "dc:creator": "Author", "cp:keywords": "Keywords",
    "dc:description": "Description", "cp:category": "Category", "cp:contentStatus": "Status",
    "cp:version": "Version", "cp:revision": "Revision", "cp:lastModifiedBy": "Last modified by",
    "dcterms:created": "Creation date", "dcterms:modified": "Modification date",
    "cp:lastPrinted": "Last printed date", "dc:language": "Language", "dc:identifier": "Identifier",
}
_CORE_NS = {
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://purl.org/dc/terms/": "dcterms",
    "http://schemas.openxmlformats.org/package/2006/metadata/core-properties": "cp",
}


def core_properties(root: Any) -> tuple[tuple[str, str, str], ...]:
    """``(label, value, qualified name)`` for each non-empty core property, in the order of ``_CORE_LABELS``."""
    found: dict[str, str] = {}
    for el in root if root is not None else ():
        tag = el.tag if isinstance(el.tag, str) else ""
        ns, _, local = tag[1:].partition("}")
        qname = f"{_CORE_NS.get(ns, '')}:{local}"
        if qname in _CORE_LABELS and el.text and el.text.strip() and qname not in found:
            found[qname] = el.text.strip()
    return tuple((label, found[q], q) for q, label in _CORE_LABELS.items() if q in found)


def _parse(raw: bytes) -> Any:
    # the same tree as python-docx's oxml parser (remove_blank_text), hardened
    return parse_part(raw, remove_blank_text=True)


def open_docx(data: bytes) -> DocxPackage | None:
    """Parse the parts the DOCX walker needs, or return None to let python-docx handle the package."""
    try:
        return _open(data)
    except FALLBACK_ERRORS:
        return None


def _open(data: bytes) -> DocxPackage:
    rd = PartReader(data, remove_blank_text=True)
    rd.walk()  # every reachable part must exist and have a content type, as python-docx requires
    main = rd.one("/", RT_OFFICE, CT_MAIN)
    core = rd.one("/", RT_CORE, CT_CORE)
    if main is None or core is None:
        raise IrregularPackage
    styles_part = rd.one(main, RT_STYLES, CT_STYLES)
    if styles_part is None:
        raise IrregularPackage  # python-docx substitutes its default style table
    numbering_part = rd.one(main, RT_NUMBERING, CT_NUMBERING)
    root = rd.xml(main)
    body = root.find(W_BODY)
    if body is None:
        raise IrregularPackage
    metadata: dict[str, str] = {}
    cp = rd.xml(core)
    for key, tag in (("title", "title"), ("author", "creator"), ("subject", "subject")):
        el = cp.find(_DC + tag)
        if el is not None and el.text:
            metadata[key] = str(el.text)
    styles = style_table(rd.read(styles_part), _parse)
    numbering = rd.xml(numbering_part) if numbering_part is not None else None
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
                raise IrregularPackage
            if rel.target not in parsed:
                parsed[rel.target] = rd.xml(rel.target)
            related[rid] = (rel.target, parsed[rel.target])
    return DocxPackage(body, styles, numbering, metadata, related, core_properties(cp), core)


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
