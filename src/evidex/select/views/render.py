"""Renderings of a Document as :class:`~evidex.model.TextView` s whose maps lead back to ``doc.text``.

* :func:`plain_view` — the canonical text restricted to some layers (body only by default).
* :func:`markdown_view` — Markdown for people and models: headings, lists, tables and key–values keep
  their layout; every copied character maps exactly to the canonical text, markup maps to nothing.
"""

from __future__ import annotations

from collections.abc import Collection

from evidex.model import Document, Layer, Node, NodeKind, OffsetMap, Span, TextView, ViewBuilder

_LEAVES = {
    NodeKind.HEADING, NodeKind.TITLE, NodeKind.PARAGRAPH, NodeKind.CELL, NodeKind.KEY_VALUE, NodeKind.CODE,
    NodeKind.QUOTE, NodeKind.FOOTNOTE, NodeKind.CAPTION, NodeKind.TEXT, NodeKind.LINE, NodeKind.KEY,
    NodeKind.VALUE, NodeKind.PAGE_HEADER, NodeKind.PAGE_FOOTER,
}
BODY_ONLY: frozenset[Layer] = frozenset({Layer.BODY})
ALL_LAYERS: frozenset[Layer] = frozenset(Layer)


def plain_view(doc: Document, layers: Collection[Layer] = BODY_ONLY) -> TextView:
    """The canonical text with nodes outside ``layers`` removed (identity map when nothing is removed)."""
    if set(layers) >= set(Layer):
        return TextView(doc.text, _identity(doc), doc.id)
    excluded = Span.merge(n.span for n in doc.nodes if n.layer not in layers and not n.span.empty)
    b = ViewBuilder(doc.text, doc_id=doc.id)
    pos = 0
    for ex in excluded:
        if ex.start > pos:
            b.copy(pos, ex.start)
        pos = max(pos, ex.end)
    if pos < len(doc.text):
        b.copy(pos, len(doc.text))
    return b.build()


def _identity(doc: Document) -> OffsetMap:
    return OffsetMap.identity(len(doc.text))


class _MdWriter:
    def __init__(self, doc: Document, layers: Collection[Layer]) -> None:
        self.doc = doc
        self.layers = set(layers)
        self.b = ViewBuilder(doc.text, doc_id=doc.id)
        self.after_marker = False  # just wrote a list marker: the item's text follows on the same line

    def marker(self, text: str, at: int) -> None:
        self.b.insert(text, at)
        self.after_marker = True

    def block_break(self) -> None:
        if self.after_marker:
            return
        if self.b.length:
            tail = self.b.parts[-1] if self.b.parts else ""
            if not tail.endswith("\n\n"):
                self.b.insert("\n" if tail.endswith("\n") else "\n\n")

    def line_break(self) -> None:
        if self.after_marker:
            return
        if self.b.length and self.b.parts and not self.b.parts[-1].endswith("\n"):
            self.b.insert("\n")

    def copy_inline(self, span: Span) -> None:
        """Copy a span verbatim (exact character mapping)."""
        self.b.copy(span.start, span.end)
        self.after_marker = False

    def visible(self, n: Node) -> bool:
        return n.layer in self.layers

    def node(self, n: Node, list_depth: int = 0) -> None:
        # iterative over siblings, recursive over depth but bounded by the document's own depth limit
        stack: list[tuple[Node, int, bool]] = [(n, list_depth, False)]
        while stack:
            node, depth, closing = stack.pop()
            if closing:
                if node.kind is NodeKind.LIST:
                    self.block_break() if depth <= 1 else self.line_break()
                continue
            if not self.visible(node):
                continue
            k = node.kind
            if k is NodeKind.TABLE:
                self.table(node)
                continue
            if k is NodeKind.HEADING or k is NodeKind.TITLE:
                self.block_break()
                self.b.insert("#" * max(1, min(6, node.level or 1)) + " ", node.span.start)
                self.copy_inline(node.span)
                self.block_break()
                continue
            if k is NodeKind.LIST_ITEM:
                self.line_break()
                self.marker("  " * max(0, (node.level or 1) - 1) + "- ", node.span.start)
                if node.children:
                    self.gaps_and_children(node, depth, stack, inline=True)
                else:
                    self.copy_inline(node.span)
                continue
            if k is NodeKind.KEY_VALUE:
                self.line_break()
                self.copy_inline(node.span)
                continue
            if k is NodeKind.CODE:
                self.block_break()
                self.b.insert("```\n", node.span.start)
                self.copy_inline(node.span)
                self.b.insert("\n```", node.span.end)
                self.block_break()
                continue
            if k is NodeKind.QUOTE:
                self.block_break()
                self.b.insert("> ", node.span.start)
                self.copy_inline(node.span)
                self.block_break()
                continue
            if k in _LEAVES or not node.children:
                if node.span.empty:
                    continue
                self.block_break()
                self.copy_inline(node.span)
                continue
            if k is NodeKind.LIST:
                self.block_break() if depth == 0 else self.line_break()
            self.gaps_and_children(node, depth + (1 if k is NodeKind.LIST else 0), stack, inline=False)

    def table(self, t: Node) -> None:
        doc = self.doc
        rows = [doc.nodes[r] for r in t.children if doc.nodes[r].kind is NodeKind.ROW and self.visible(doc.nodes[r])]
        self.block_break()
        ncols = max((len(r.children) for r in rows), default=0)
        for i, r in enumerate(rows):
            self.b.insert("| ", r.span.start)
            cells = [doc.nodes[c] for c in r.children]
            for j, c in enumerate(cells):
                if j:
                    self.b.insert(" | ", c.span.start)
                self.cell_text(c.span)
            self.b.insert(" | " * (ncols - len(cells)) + " |", r.span.end)
            self.b.insert("\n", r.span.end)
            if i == 0:
                self.b.insert("|" + "---|" * max(1, ncols) + "\n", r.span.end)
        self.block_break()

    def cell_text(self, span: Span) -> None:
        """A cell's text on one line: newlines shown as spaces (mapped position by position), and each ``|``
        escaped as ``\\|`` — the backslash is an insertion, the pipe itself is copied, so the view still maps
        back to the canonical text character by character."""
        text = self.doc.text[span.start : span.end]
        if "\n" not in text and "|" not in text:
            self.b.copy(span.start, span.end)
            return
        pos = span.start
        for k, piece in enumerate(text.split("|")):
            if k:
                self.b.insert("\\", pos)
                self.b.copy(pos, pos + 1)
                pos += 1
            if piece:
                if "\n" in piece:
                    self.b.replace(piece.replace("\n", " "), pos, pos + len(piece))
                else:
                    self.b.copy(pos, pos + len(piece))
                pos += len(piece)

    def gaps_and_children(self, node: Node, depth: int, stack: list[tuple[Node, int, bool]], *, inline: bool) -> None:
        """Push children (reverse order) plus any non-whitespace text the node holds outside its children."""
        items: list[tuple[Node, int, bool]] = [(node, depth, True)]
        pos = node.span.end
        kids = [self.doc.nodes[c] for c in node.children]
        for child in reversed(kids):
            gap = self.doc.text[child.span.end : pos]
            if gap.strip():
                items.append(_gap_node(child.span.end, pos, node))
            items.append((child, depth, False))
            pos = min(pos, child.span.start)
        gap = self.doc.text[node.span.start : pos]
        if gap.strip():
            items.append(_gap_node(node.span.start, pos, node))
        stack.extend(items)


def _gap_node(start: int, end: int, parent: Node) -> tuple[Node, int, bool]:
    return (Node(-1, NodeKind.TEXT, Span(start, end), parent=parent.id, layer=parent.layer), 0, False)




def markdown_view(doc: Document, layers: Collection[Layer] = BODY_ONLY) -> TextView:
    w = _MdWriter(doc, layers)
    w.node(doc.root)
    view = w.b.build()
    text = view.text.rstrip("\n")
    if len(text) != len(view.text):
        b = ViewBuilder(view.text)
        b.copy(0, len(text))
        view = view_derive(view, b.build())
    return view


def view_derive(parent: TextView, child: TextView) -> TextView:
    return parent.derive(child)
