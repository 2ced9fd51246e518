"""Document, Node and provenance: one immutable canonical text plus a structure tree pointing into it."""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType
from typing import Any

from evidex.model.span import Span


class NodeKind(StrEnum):
    DOCUMENT = "document"
    SECTION = "section"
    HEADING = "heading"
    TITLE = "title"
    PARAGRAPH = "paragraph"
    LIST = "list"
    LIST_ITEM = "list_item"
    TABLE = "table"
    ROW = "row"
    CELL = "cell"
    KEY_VALUE = "key_value"
    KEY = "key"
    VALUE = "value"
    CODE = "code"
    QUOTE = "quote"
    PAGE_HEADER = "page_header"
    PAGE_FOOTER = "page_footer"
    FOOTNOTE = "footnote"
    CAPTION = "caption"
    EMAIL_HEADER = "email_header"
    ATTACHMENT = "attachment"
    SHEET = "sheet"
    PAGE = "page"
    LINE = "line"
    TEXT = "text"


class Layer(StrEnum):
    """Which kind of text a node holds. Every layer stays in the canonical text (nothing is deleted); views
    and candidate builders choose which layers they read.

    * ``BODY`` — what a person reads as the document.
    * ``FURNITURE`` — running headers/footers, navigation, boilerplate: printed, but not the content.
    * ``HIDDEN`` — text a reader cannot see (display:none, white-on-white, < 1pt …). Never a candidate.
    * ``METADATA`` — what the document carries but does not print: a PDF's info dictionary, DOCX core
      properties, HTML ``<meta>`` elements. Parsers add it through :meth:`DocumentBuilder.add_metadata
      <evidex.structure.builder.DocumentBuilder.add_metadata>`, which appends one ``Key: value`` KEY_VALUE
      node per entry at the end of the canonical text (in one SECTION node with ``attrs["role"] ==
      "metadata"``), each with provenance naming its origin (``Prov.part`` such as ``pdf:/Info/Title`` or
      ``docProps/core.xml#dc:creator``, or the ``<meta>`` element's ``dom_path``), so a metadata value is
      evidence like any other span. Views shown to models skip it by default (``BODY_ONLY``); candidates
      include it (labelled by its key), so a ``title`` / ``author`` / ``date`` field can be answered from it.
      Printed metadata-like text (an e-mail's header block, an HTML ``<title>``) keeps its own layer.
    """

    BODY = "body"
    FURNITURE = "furniture"  # running headers/footers, navigation, boilerplate
    HIDDEN = "hidden"  # text a reader cannot see (display:none, white-on-white, < 1pt …)
    METADATA = "metadata"  # what the document carries but does not print (info dictionary, core properties, <meta>)


class Origin(StrEnum):
    TOP_LEFT = "top-left"
    BOTTOM_LEFT = "bottom-left"


@dataclass(frozen=True, slots=True)
class BBox:
    """A box in page units (PDF points, or pixels for images) with an explicit origin."""

    x0: float
    y0: float
    x1: float
    y1: float
    origin: Origin = Origin.TOP_LEFT

    def to_top_left(self, page_height: float) -> BBox:
        if self.origin is Origin.TOP_LEFT:
            return self
        return BBox(self.x0, page_height - self.y1, self.x1, page_height - self.y0, Origin.TOP_LEFT)

    def union(self, other: BBox) -> BBox:
        if other.origin is not self.origin:
            raise ValueError("cannot union boxes with different origins")
        return BBox(
            min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1), self.origin
        )

    def to_list(self) -> list[float]:
        return [round(self.x0, 2), round(self.y0, 2), round(self.x1, 2), round(self.y1, 2)]


@dataclass(frozen=True, slots=True)
class Prov:
    """Where a piece of text sits in the original file. Only the fields that apply are set."""

    page: int | None = None  # 1-based
    bbox: BBox | None = None
    dom_path: str | None = None  # e.g. /html/body/div[2]/p[1]
    sheet_cell: str | None = None  # e.g. Sheet1!C7
    mime_part: str | None = None  # e.g. 1.2 (RFC 3501 section numbering) or a path of parts
    part: str | None = None  # structural address in other formats (e.g. DOCX body/p[12]/r[3])
    line: int | None = None  # 1-based source line for text formats

    def is_empty(self) -> bool:
        return all(getattr(self, f) is None for f in self.__slots__)

    def merged(self, other: Prov) -> Prov:
        """Fill fields missing here from ``other`` (used when embedding child documents)."""
        return Prov(**{f: getattr(self, f) if getattr(self, f) is not None else getattr(other, f) for f in self.__slots__})


@dataclass(frozen=True, slots=True)
class Anchor:
    """Fine-grained provenance: a span of the canonical text and where it came from (a PDF word, a cell …)."""

    span: Span
    prov: Prov


@dataclass(frozen=True, slots=True)
class Node:
    id: int
    kind: NodeKind
    span: Span
    parent: int | None = None
    children: tuple[int, ...] = ()
    level: int | None = None  # heading level, list depth, …
    layer: Layer = Layer.BODY
    prov: Prov | None = None
    attrs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __reduce__(self) -> tuple[Any, ...]:  # picklable (read-only mappings are not)
        return (_node, (self.id, self.kind, self.span, self.parent, self.children, self.level, self.layer, self.prov,
                        dict(self.attrs)))


def _node(id: int, kind: NodeKind, span: Span, parent: int | None, children: tuple[int, ...], level: int | None,
          layer: Layer, prov: Prov | None, attrs: dict[str, Any]) -> Node:
    return Node(id, kind, span, parent, children, level, layer, prov, MappingProxyType(attrs))


@dataclass(frozen=True, slots=True)
class Page:
    number: int  # 1-based
    width: float
    height: float
    span: Span
    unit: str = "pt"


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    media_type: str
    size: int
    sha256: str
    path: str | None = None


@dataclass(frozen=True)
class Document:
    """An immutable parsed document.

    ``text`` is the canonical text. Every node, page and anchor points into it with a :class:`Span`;
    ``doc.text[n.span.start:n.span.end]`` *is* the node's text.
    """

    id: str
    text: str
    nodes: tuple[Node, ...]
    source: Source
    pages: tuple[Page, ...] = ()
    anchors: tuple[Anchor, ...] = ()  # sorted by span.start
    warnings: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __reduce__(self) -> tuple[Any, ...]:  # picklable (read-only mappings are not); caches are dropped
        return (_document, (self.id, self.text, self.nodes, self.source, self.pages, self.anchors, self.warnings,
                            dict(self.metadata)))

    # ------------------------------------------------------------------ access
    def node_text(self, node: Node | int) -> str:
        n = self.nodes[node] if isinstance(node, int) else node
        return self.text[n.span.start : n.span.end]

    def span_text(self, span: Span) -> str:
        return self.text[span.start : span.end]

    @property
    def root(self) -> Node:
        return self.nodes[0]

    def children(self, node: Node | int) -> list[Node]:
        n = self.nodes[node] if isinstance(node, int) else node
        return [self.nodes[c] for c in n.children]

    def iter_nodes(
        self, kind: NodeKind | None = None, layer: Layer | None = None
    ) -> Iterator[Node]:
        for n in self.nodes:
            if (kind is None or n.kind is kind) and (layer is None or n.layer is layer):
                yield n

    def walk(self, node: Node | int = 0, depth: int = 0) -> Iterator[tuple[Node, int]]:
        """Depth-first pre-order walk, iterative (documents may nest deeply)."""
        start = self.nodes[node] if isinstance(node, int) else node
        stack: list[tuple[Node, int]] = [(start, depth)]
        while stack:
            n, d = stack.pop()
            yield n, d
            stack.extend((self.nodes[c], d + 1) for c in reversed(n.children))

    def ancestors(self, node: Node | int) -> list[Node]:
        n = self.nodes[node] if isinstance(node, int) else node
        out: list[Node] = []
        while n.parent is not None:
            n = self.nodes[n.parent]
            out.append(n)
        return out

    def nodes_at(self, span: Span) -> list[Node]:
        """Nodes whose span contains ``span``, outermost first (a descent of the tree, not a scan)."""
        out: list[Node] = []
        node: Node | None = self.nodes[0] if self.nodes else None
        while node is not None and node.span.contains(span):
            out.append(node)
            node = self._child_containing(node, span)
        return out

    def _child_containing(self, node: Node, span: Span) -> Node | None:
        kids = node.children
        if not kids:
            return None
        starts = self._child_starts.get(node.id)
        if starts is None:
            starts = self._child_starts[node.id] = [self.nodes[c].span.start for c in kids]
        i = bisect.bisect_right(starts, span.start) - 1
        # the last child (in document order) that contains the span; empty siblings may share a start
        while i >= 0:
            child = self.nodes[kids[i]]
            if child.span.contains(span):
                return child
            if child.span.end < span.start and not child.span.empty:
                return None
            i -= 1
        return None

    @cached_property
    def _child_starts(self) -> dict[int, list[int]]:
        return {}

    def layer_of(self, span: Span) -> Layer:
        """The layer of the innermost node containing ``span``."""
        path = self.nodes_at(span)
        return path[-1].layer if path else Layer.BODY

    def locate(self, span: Span) -> list[Anchor]:
        """Fine-grained provenance (page + box, cell, DOM node, MIME part) for every anchor overlapping ``span``.

        Anchors are disjoint and sorted. When the format has no anchor over the span, the provenance
        of the innermost node containing it is returned instead.
        """
        out: list[Anchor] = []
        if self.anchors:
            j = bisect.bisect_left(self._anchor_starts, span.end) - 1
            if span.empty:
                j = bisect.bisect_right(self._anchor_starts, span.start) - 1
            while j >= 0:
                a = self.anchors[j]
                if a.span.overlaps(span) or (span.empty and a.span.contains_pos(span.start)):
                    out.append(a)
                elif a.span.end <= span.start:
                    break
                j -= 1
            out.reverse()
        if out:
            return out
        for n in reversed(self.nodes_at(span)):  # innermost node with provenance
            if n.prov is not None and not n.prov.is_empty():
                return [Anchor(n.span, n.prov)]
        return []

    def pages_of(self, span: Span) -> list[int]:
        return [p.number for p in self.pages if p.span.overlaps(span) or p.span.contains(span)]

    @cached_property
    def _anchor_starts(self) -> list[int]:
        return [a.span.start for a in self.anchors]

    def check(self) -> None:
        """Raise ``ValueError`` if an invariant is broken (spans in range, tree consistent)."""
        n_text = len(self.text)
        for i, n in enumerate(self.nodes):
            if n.id != i:
                raise ValueError(f"node {i} has id {n.id}")
            if n.span.end > n_text:
                raise ValueError(f"node {i} span {n.span} beyond text length {n_text}")
            if n.parent is not None:
                p = self.nodes[n.parent]
                if i not in p.children:
                    raise ValueError(f"node {i} not among children of its parent {n.parent}")
                if not p.span.contains(n.span):
                    raise ValueError(f"node {i} span {n.span} outside parent span {p.span}")
            for c in n.children:
                if self.nodes[c].parent != i:
                    raise ValueError(f"child {c} of node {i} has parent {self.nodes[c].parent}")
        prev_end = 0
        for a in self.anchors:
            if a.span.end > n_text:
                raise ValueError(f"anchor {a.span} beyond text length")
            if a.span.start < prev_end:
                raise ValueError(f"anchor {a.span} overlaps the previous one (anchors must be disjoint and sorted)")
            prev_end = a.span.end
        for page in self.pages:
            if page.span.end > n_text:
                raise ValueError(f"page {page.number} span beyond text length")


def _document(id: str, text: str, nodes: tuple[Node, ...], source: Source, pages: tuple[Page, ...],
              anchors: tuple[Anchor, ...], warnings: tuple[str, ...], metadata: dict[str, str]) -> Document:
    return Document(id, text, nodes, source, pages, anchors, warnings, MappingProxyType(metadata))


def content_id(data: bytes) -> str:
    """Stable document id: the first 16 hex digits of the SHA-256 of the source bytes."""
    return hashlib.sha256(data).hexdigest()[:16]
