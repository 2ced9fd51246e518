"""DocumentBuilder: the one way parsers create Documents, so offsets are right by construction.

Parsers append text; every node's span is the exact range of canonical text appended while it was open
(trailing separators excluded). Separators between blocks are plain newlines owned by no leaf node.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from evidex.model import Anchor, Document, Layer, Node, NodeKind, Page, Prov, Source, Span
from evidex.structure.limits import DEFAULT_LIMITS, Limits, limit_hint


@dataclass
class _Open:
    kind: NodeKind
    start: int
    parent: int | None
    level: int | None
    layer: Layer
    prov: Prov | None
    attrs: dict[str, Any]
    children: list[int] = field(default_factory=list)
    end: int | None = None


_PLACEHOLDERS = frozenset({"untitled", "anonymous", "(unspecified)", "unspecified", "unknown", "none", "null", "n/a"})


class DocumentBuilder:
    def __init__(self, source: Source, doc_id: str, limits: Limits = DEFAULT_LIMITS) -> None:
        self.source = source
        self.doc_id = doc_id
        self.limits = limits
        self._parts: list[str] = []
        self._pos = 0
        self._content_end = 0
        self._nodes: list[_Open] = [_Open(NodeKind.DOCUMENT, 0, None, None, Layer.BODY, None, {})]
        self._stack: list[int] = [0]
        self._anchors: list[Anchor] = []
        self._pages: list[Page] = []
        self.warnings: list[str] = []
        self.metadata: dict[str, str] = {}
        self._meta_entries: list[tuple[str, str, Prov, dict[str, Any]]] = []

    # ------------------------------------------------------------------ text
    @property
    def pos(self) -> int:
        return self._pos

    @property
    def current(self) -> int:
        return self._stack[-1]

    @property
    def depth(self) -> int:
        return len(self._stack) - 1

    def text(self, s: str, prov: Prov | None = None) -> Span:
        """Append content text (counts toward the open nodes' spans). Returns its span."""
        start = self._pos
        if s:
            if self._pos + len(s) > self.limits.max_text_chars:
                from evidex.errors import LimitError

                raise LimitError(
                    f"canonical text exceeds {self.limits.max_text_chars:,} characters",
                    hint=limit_hint("max_text_chars"),
                )
            self._parts.append(s)
            self._pos += len(s)
            self._content_end = self._pos
            span = Span(start, self._pos)
            if prov is not None:
                self._anchors.append(Anchor(span, prov))  # Span is immutable: one object serves both
            return span
        return Span(start, start)

    def sep(self, s: str) -> None:
        """Append a separator (does not extend the open nodes' content end)."""
        if s:
            self._parts.append(s)
            self._pos += len(s)

    def _tail(self, n: int) -> str:
        out = ""
        for p in reversed(self._parts):
            out = p + out
            if len(out) >= n:
                break
        return out[-n:]

    def ensure_break(self, newlines: int = 2) -> None:
        """Make the text end with at least ``newlines`` newlines (no-op at the very start)."""
        if self._pos == 0:
            return
        tail = self._tail(newlines)
        have = len(tail) - len(tail.rstrip("\n"))
        if have < newlines:
            self.sep("\n" * (newlines - have))

    def ensure_space(self) -> None:
        if self._pos and not self._tail(1).isspace():
            self.sep(" ")

    # ------------------------------------------------------------------ nodes
    def open(
        self,
        kind: NodeKind,
        *,
        level: int | None = None,
        layer: Layer | None = None,
        prov: Prov | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> int:
        if len(self._nodes) >= self.limits.max_nodes:
            from evidex.errors import LimitError

            raise LimitError(f"document has more than {self.limits.max_nodes:,} structure nodes",
                             hint=limit_hint("max_nodes"))
        parent = self._stack[-1]
        p = self._nodes[parent]
        node = _Open(kind, self._pos, parent, level, layer or p.layer, prov, dict(attrs or {}))
        self._nodes.append(node)
        nid = len(self._nodes) - 1
        p.children.append(nid)
        self._stack.append(nid)
        return nid

    def close(self, nid: int | None = None) -> int:
        """Close the innermost open node (which must be ``nid`` if given)."""
        top = self._stack[-1]
        if nid is not None and nid != top:
            raise RuntimeError(f"closing node {nid} but innermost open node is {top}")
        if top == 0:
            raise RuntimeError("cannot close the document root")
        self._stack.pop()
        n = self._nodes[top]
        n.end = max(n.start, min(self._content_end, self._pos)) if self._content_end >= n.start else n.start
        self._clamp_children(n)
        return top

    def _clamp_children(self, n: _Open) -> None:
        """Empty children opened after the node's last content (behind a separator) are pulled back to the
        node's end, so every child span stays inside its parent."""
        assert n.end is not None
        stack = [c for c in n.children if self._nodes[c].start > n.end]
        while stack:
            c = self._nodes[stack.pop()]
            c.start = n.end
            c.end = n.end
            stack.extend(c.children)

    def leaf(
        self,
        kind: NodeKind,
        text: str,
        *,
        level: int | None = None,
        layer: Layer | None = None,
        prov: Prov | None = None,
        anchor: bool = False,
        attrs: Mapping[str, Any] | None = None,
    ) -> int:
        """Append a node holding exactly ``text``. With ``anchor``, ``prov`` is also a fine-grained anchor."""
        nid = self.open(kind, level=level, layer=layer, prov=prov, attrs=attrs)
        self.text(text, prov if anchor else None)
        return self.close(nid)

    def set_attr(self, nid: int, key: str, value: Any) -> None:
        self._nodes[nid].attrs[key] = value

    def add_anchor(self, span: Span, prov: Prov) -> None:
        self._anchors.append(Anchor(span, prov))

    def add_page(self, number: int, width: float, height: float, span: Span, unit: str = "pt") -> None:
        self._pages.append(Page(number, width, height, span, unit))

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    # ------------------------------------------------------------------ document metadata
    def add_metadata(self, key: str, value: str, prov: Prov, *, attrs: Mapping[str, Any] | None = None) -> bool:
        """Record one of the document's own metadata entries (a PDF info key, a DOCX core property, a ``<meta>``).

        The entries are written by :meth:`build` after all content, one ``Key: value`` line each, as
        KEY_VALUE / KEY / VALUE nodes on the METADATA layer inside one SECTION (``attrs["role"] ==
        "metadata"``); ``prov`` names the origin (node provenance, which :meth:`Document.locate` returns; no page
        anchor, since the entry is on no page). ``key`` is a
        short human label (``Title``, ``Author``, ``Creation date``); ``attrs`` may add e.g. ``raw`` (the value
        as stored, when it was reformatted) and ``meaning`` (what the key stands for, used as a label cue).
        Whitespace in the value is collapsed; empty values and exact repeats are skipped. Returns whether
        the entry was kept.
        """
        key = " ".join(key.split())
        value = " ".join(value.split())[:2000]
        if value.lower() in _PLACEHOLDERS:  # a tool's "no value" (ReportLab writes untitled / anonymous)
            return False
        if not key or not value or any(k == key and v == value for k, v, _, _ in self._meta_entries):
            return False
        self._meta_entries.append((key, value, prov, dict(attrs or {})))
        return True

    def _write_metadata(self) -> None:
        if not self._meta_entries:
            return
        # the section opens before its separator, so a view without the metadata layer ends exactly where the
        # content does (plain_view(doc).text is the text without metadata)
        sid = self.open(NodeKind.SECTION, layer=Layer.METADATA, attrs={"role": "metadata"})
        self.ensure_break(2)
        for i, (key, value, prov, attrs) in enumerate(self._meta_entries):
            if i:
                self.sep("\n")
            kv = self.open(NodeKind.KEY_VALUE, layer=Layer.METADATA, prov=prov, attrs={"name": key, **attrs})
            self.leaf(NodeKind.KEY, key, prov=prov)
            self.sep(": ")
            self.leaf(NodeKind.VALUE, value, prov=prov)
            self.close(kv)
        self.close(sid)
        self._meta_entries.clear()

    # ------------------------------------------------------------------ composition
    def embed(self, child: Document, prov: Prov | None = None) -> None:
        """Inline a child document (e.g. an e-mail attachment) under the current node.

        The child's nodes are re-based; its anchors keep their provenance, completed with ``prov``
        (typically the MIME part).
        """
        base = self._pos
        offset = len(self._nodes)
        parent = self._stack[-1]
        self._parts.append(child.text)
        self._pos += len(child.text)
        if child.text:
            self._content_end = self._pos
        for n in child.nodes[1:]:  # the child's root is replaced by the current node
            self._nodes.append(
                _Open(
                    n.kind,
                    n.span.start + base,
                    parent if n.parent in (None, 0) else n.parent + offset - 1,
                    n.level,
                    n.layer if n.layer is not Layer.BODY else self._nodes[parent].layer,
                    (n.prov.merged(prov) if n.prov is not None else prov) if prov is not None else n.prov,
                    dict(n.attrs),
                    [c + offset - 1 for c in n.children],
                    n.span.end + base,
                )
            )
            if n.parent in (None, 0):
                self._nodes[parent].children.append(len(self._nodes) - 1)
        for a in child.anchors:
            self._anchors.append(Anchor(a.span.shift(base), a.prov.merged(prov) if prov is not None else a.prov))
        if prov is not None and not child.anchors and child.text:
            self._anchors.append(Anchor(Span(base, self._pos), prov))
        for w in child.warnings:
            self.warn(f"{child.source.name}: {w}")

    # ------------------------------------------------------------------ result
    def build(self) -> Document:
        while len(self._stack) > 1:
            self.close()
        self._write_metadata()
        text = "".join(self._parts)
        root = self._nodes[0]
        root.end = len(text)
        nodes = tuple(
            Node(
                id=i,
                kind=n.kind,
                span=Span(n.start, n.end if n.end is not None else n.start),
                parent=n.parent,
                children=tuple(n.children),
                level=n.level,
                layer=n.layer,
                prov=n.prov,
                attrs=MappingProxyType(n.attrs),
            )
            for i, n in enumerate(self._nodes)
        )
        anchors = sorted(self._anchors, key=lambda a: (a.span.start, a.span.end))
        disjoint: list[Anchor] = []
        for a in anchors:
            if a.span.empty:
                continue
            if disjoint and a.span.start < disjoint[-1].span.end:
                continue  # keep the first (finest-grained parsers add anchors in order)
            disjoint.append(a)
        return Document(
            id=self.doc_id,
            text=text,
            nodes=nodes,
            source=self.source,
            pages=tuple(self._pages),
            anchors=tuple(disjoint),
            warnings=tuple(self.warnings),
            metadata=MappingProxyType(dict(self.metadata)),
        )
