"""Plain text: paragraphs, headings (ALL CAPS lines, underlined titles), lists, simple tables, key–value lines.

The canonical text is the decoded file itself (newlines normalised, outer whitespace trimmed), so every
node's span is also its exact place in the file; each block carries its 1-based source line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from evidex.errors import EmptyInputError
from evidex.model import Document, NodeKind, Prov
from evidex.parse.base import ParseContext
from evidex.parse.encoding import decode_text
from evidex.structure.builder import DocumentBuilder
from evidex.structure.kv import match_kv
from evidex.structure.sections import Sections

_BULLET = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>[-*•‣◦·+]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)]|\(?[ivxIVX]{1,4}[.)])[ \t]+(?=\S)")
_UNDERLINE = re.compile(r"^(?:=+|-+)\s*$")
_NUMBERED_HEADING = re.compile(r"^(?:(?:section|article|chapter|part)\s+)?(\d+(?:\.\d+)*)\.?\s+\S", re.I)


@dataclass(frozen=True, slots=True)
class Line:
    start: int  # offset of first non-space char in text
    end: int  # offset after last non-space char
    raw_start: int
    number: int  # 1-based line number in the file


def _lines(text: str, first_line: int = 1) -> Iterator[Line]:
    pos = 0
    n = first_line
    length = len(text)
    while pos <= length:
        nl = text.find("\n", pos)
        end = length if nl < 0 else nl
        s, e = pos, end
        while s < e and text[s].isspace():  # no-break and other Unicode spaces too: a heading or key
            s += 1  # must not start with one
        while e > s and text[e - 1].isspace():
            e -= 1
        yield Line(s, e, pos, n)
        if nl < 0:
            break
        pos = nl + 1
        n += 1


def _is_caps_heading(s: str) -> bool:
    letters = [c for c in s if c.isalpha()]
    if len(letters) < 2 or len(s) > 90 or s[-1] in ".,;:":
        return False
    if not all(c.isupper() for c in letters if c.isalpha() and c.lower() != c.upper()):
        return False
    return len(s.split()) <= 12


def _heading_level(s: str, default: int) -> int:
    m = _NUMBERED_HEADING.match(s)
    if m:
        return min(6, m.group(1).count(".") + 1)
    return default


class BlockWriter:
    """Emits blocks of lines of ``text`` (already the canonical text) through a builder."""

    def __init__(self, b: DocumentBuilder, text: str) -> None:
        self.b = b
        self.t = text
        self.sections = Sections(b)

    def gap(self, upto: int) -> None:
        """Emit the source text between the builder's position and ``upto`` as separators."""
        if upto > self.b.pos:
            self.b.sep(self.t[self.b.pos : upto])

    def leaf(self, kind: NodeKind, line_from: Line, start: int, end: int, **kw: object) -> int:
        self.gap(start)
        return self.b.leaf(kind, self.t[start:end], prov=Prov(line=line_from.number), **kw)  # type: ignore[arg-type]

    def kv_line(self, ln: Line) -> bool:
        kv = match_kv(self.t[ln.start : ln.end])
        if kv is None:
            return False
        self.gap(ln.start)
        nid = self.b.open(NodeKind.KEY_VALUE, prov=Prov(line=ln.number))
        self.leaf(NodeKind.KEY, ln, ln.start + kv.key_start, ln.start + kv.key_end)
        self.leaf(NodeKind.VALUE, ln, ln.start + kv.value_start, ln.start + kv.value_end)
        self.b.close(nid)
        return True

    def paragraph(self, lines: list[Line]) -> None:
        self.gap(lines[0].start)
        self.b.leaf(NodeKind.PARAGRAPH, self.t[lines[0].start : lines[-1].end], prov=Prov(line=lines[0].number))

    def table(self, lines: list[Line], delim: str) -> None:
        self.gap(lines[0].start)
        tid = self.b.open(NodeKind.TABLE, prov=Prov(line=lines[0].number))
        for r, ln in enumerate(lines):
            self.gap(ln.start)
            rid = self.b.open(NodeKind.ROW, prov=Prov(line=ln.number))
            pos = ln.start
            c = 0
            line_text = self.t[ln.start : ln.end]
            if delim == "|":
                inner_s = ln.start + (1 if line_text.startswith("|") else 0)
                inner_e = ln.end - (1 if line_text.endswith("|") and len(line_text) > 1 else 0)
            else:
                inner_s, inner_e = ln.start, ln.end
            pos = inner_s
            while pos <= inner_e:
                nxt = self.t.find(delim, pos, inner_e)
                cell_end = inner_e if nxt < 0 else nxt
                cs, ce = pos, cell_end
                while cs < ce and self.t[cs].isspace():  # no-break and other Unicode spaces too
                    cs += 1
                while ce > cs and self.t[ce - 1].isspace():
                    ce -= 1
                self.gap(cs)
                self.b.leaf(NodeKind.CELL, self.t[cs:ce], prov=Prov(line=ln.number),
                            attrs={"row": r, "col": c, "header": r == 0})
                c += 1
                if nxt < 0:
                    break
                pos = nxt + 1
            self.b.close(rid)
        self.b.close(tid)

    def block(self, lines: list[Line], next_line: Line | None) -> None:
        first = lines[0]
        s0 = self.t[first.start : first.end]
        # setext-style underline: "Title\n=====" → heading
        if len(lines) == 2 and _UNDERLINE.match(self.t[lines[1].start : lines[1].end]) and len(s0) <= 120:
            level = 1 if self.t[lines[1].start] == "=" else 2
            self.gap(first.start)
            self.sections.heading(s0, level, prov=Prov(line=first.number), brk=False)
            self.gap(lines[1].end)  # the underline stays in the canonical text, outside the heading
            return
        if _is_caps_heading(s0) and (len(lines) == 1 or not _is_caps_heading(self.t[lines[1].start : lines[1].end])):
            self.gap(first.start)
            self.sections.heading(s0, _heading_level(s0, 1), prov=Prov(line=first.number), brk=False)
            if len(lines) > 1:
                self.block(lines[1:], next_line)
            return
        texts = [self.t[ln.start : ln.end] for ln in lines]
        for delim in ("|", "\t"):
            if len(lines) >= 2 and all(t.count(delim) >= 1 for t in texts):
                counts = {t.strip(delim).count(delim) for t in texts if not re.fullmatch(r"[|\s:+-]+", t)}
                if len(counts) == 1:
                    body = [ln for ln, t in zip(lines, texts, strict=True) if not re.fullmatch(r"[|\s:+-]+", t)]
                    self.table(body, delim)
                    return
        if all(_BULLET.match(self.t[ln.raw_start : ln.end]) for ln in lines[:1]) and sum(
            1 for ln in lines if _BULLET.match(self.t[ln.raw_start : ln.end])
        ) >= max(1, len(lines) // 2):
            self.list_block(lines)
            return
        # key–value lines interleaved with plain lines
        run: list[Line] = []
        for ln in lines:
            if self.kv_line_check(ln):
                if run:
                    self.paragraph(run)
                    run = []
                self.kv_line(ln)
            else:
                run.append(ln)
        if run:
            self.paragraph(run)

    def kv_line_check(self, ln: Line) -> bool:
        return match_kv(self.t[ln.start : ln.end]) is not None

    def list_block(self, lines: list[Line]) -> None:
        self.gap(lines[0].start)
        lid = self.b.open(NodeKind.LIST, prov=Prov(line=lines[0].number))
        items: list[list[Line]] = []
        for ln in lines:
            if _BULLET.match(self.t[ln.raw_start : ln.end]) or not items:
                items.append([ln])
            else:
                items[-1].append(ln)
        for item in items:
            m = _BULLET.match(self.t[item[0].raw_start : item[0].end])
            indent = len(m.group("indent").expandtabs(4)) if m else 0
            start = item[0].raw_start + m.end() if m else item[0].start
            self.gap(start)
            self.b.leaf(NodeKind.LIST_ITEM, self.t[start : item[-1].end], level=1 + indent // 2,
                        prov=Prov(line=item[0].number), attrs={"marker": m.group("marker") if m else ""})
        self.b.close(lid)


def write_blocks(w: BlockWriter, text: str, first_line: int = 1) -> None:
    block: list[Line] = []
    all_lines = _lines(text, first_line)
    for ln in all_lines:
        if ln.start == ln.end:
            if block:
                w.block(block, None)
                block = []
            continue
        block.append(ln)
    if block:
        w.block(block, None)
    w.sections.close_all()
    w.gap(len(text))  # trailing markup no node holds (e.g. a table's closing pipe) stays in the canonical text


class TextParser:
    name = "text"
    media_type = "text/plain"
    extensions = (".txt", ".text", ".log")

    def parse(self, data: bytes, ctx: ParseContext) -> Document:
        text, enc, warnings = decode_text(data)
        stripped = text.strip()
        if not stripped:
            raise EmptyInputError("no text content", path=ctx.name)
        lead = len(text) - len(text.lstrip())
        first_line = 1 + text.count("\n", 0, lead)
        text = stripped
        b = ctx.builder(data, self.media_type)
        b.metadata["encoding"] = enc
        for w in warnings:
            b.warn(w)
        write_blocks(BlockWriter(b, text), text, first_line)
        doc = b.build()
        return doc
