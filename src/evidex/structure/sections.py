"""Section bookkeeping shared by parsers: a heading closes open sections of the same or deeper level."""

from __future__ import annotations

from evidex.model import Layer, NodeKind, Prov
from evidex.structure.builder import DocumentBuilder


class Sections:
    def __init__(self, b: DocumentBuilder) -> None:
        self.b = b
        self.stack: list[tuple[int, int]] = []  # (level, section node id)

    def heading(
        self, text: str, level: int, *, prov: Prov | None = None, layer: Layer | None = None, brk: bool = True
    ) -> int:
        """Close sections at ``level`` or deeper, open a new section and add the heading leaf."""
        self.close_to(level)
        if brk:
            self.b.ensure_break(2)
        sid = self.b.open(NodeKind.SECTION, level=level, prov=prov, layer=layer)
        self.stack.append((level, sid))
        return self.b.leaf(NodeKind.HEADING, text, level=level, prov=prov, layer=layer)

    def close_to(self, level: int) -> None:
        while self.stack and self.stack[-1][0] >= level:
            _, sid = self.stack.pop()
            # close any nodes opened inside the section that the parser left open
            while self.b.current != sid:
                self.b.close()
            self.b.close(sid)

    def close_all(self) -> None:
        self.close_to(0)
