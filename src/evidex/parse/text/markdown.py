"""Markdown: ATX/setext headings → sections, paragraphs, nested lists, pipe tables, code, quotes, key–values.

The canonical text is what a reader sees: block markers (``#``, ``-``, ``>``, table pipes) and inline markup
(``**``, ``_``, backticks, link targets) are dropped; every node keeps its 1-based source line.
"""

from __future__ import annotations

import re

from evidex.errors import EmptyInputError
from evidex.model import Document, NodeKind, Prov
from evidex.parse.base import ParseContext
from evidex.parse.encoding import decode_text
from evidex.structure.builder import DocumentBuilder
from evidex.structure.kv import match_kv
from evidex.structure.sections import Sections

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_LIST = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>[-*+]|\d{1,9}[.)])(?:[ \t]+\[[ xX]\])?[ \t]+(?P<body>\S.*)$")
_QUOTE = re.compile(r"^ {0,3}> ?(.*)$")
_HR = re.compile(r"^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{1,}:?\s*(?:\|\s*:?-{1,}:?\s*)*\|?\s*$")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)

_INLINE = [
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images → alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links → text
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?!\*)"), r"\1"),
    (re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])"), r"\1"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),
    (re.compile(r"<(https?://[^>]+)>"), r"\1"),
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>])"), r"\1"),
]


def strip_inline(s: str) -> str:
    for rx, rep in _INLINE:
        if len(s) > 100_000:
            break
        s = rx.sub(rep, s)
    return s.strip()


def _split_row(line: str) -> list[str]:
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    cells = re.split(r"(?<!\\)\|", s)
    return [c.strip() for c in cells]


class _Md:
    def __init__(self, b: DocumentBuilder, lines: list[str], first_line: int) -> None:
        self.b = b
        self.lines = lines
        self.first = first_line
        self.sections = Sections(b)
        self.i = 0

    def prov(self, i: int) -> Prov:
        return Prov(line=self.first + i)

    def text_block(self, kind: NodeKind, text: str, i: int, **kw: object) -> None:
        if text:
            self.b.ensure_break(2)
            self.b.leaf(kind, text, prov=self.prov(i), **kw)  # type: ignore[arg-type]

    def kv_or_para(self, parts: list[tuple[int, str]]) -> None:
        run: list[tuple[int, str]] = []

        def flush() -> None:
            if run:
                self.text_block(NodeKind.PARAGRAPH, "\n".join(t for _, t in run), run[0][0])
                run.clear()

        for i, t in parts:
            kv = match_kv(t)
            if kv is None:
                run.append((i, t))
                continue
            flush()
            self.b.ensure_break(2 if not self.b.pos or not self._after_kv else 1)
            nid = self.b.open(NodeKind.KEY_VALUE, prov=self.prov(i))
            self.b.leaf(NodeKind.KEY, t[kv.key_start : kv.key_end], prov=self.prov(i))
            self.b.sep(t[kv.key_end : kv.value_start])
            self.b.leaf(NodeKind.VALUE, t[kv.value_start : kv.value_end], prov=self.prov(i))
            self.b.close(nid)
            self._after_kv = True
            continue
        flush()
        self._after_kv = False

    _after_kv = False

    def run(self) -> None:
        lines, n = self.lines, len(self.lines)
        para: list[tuple[int, str]] = []

        def flush_para() -> None:
            if para:
                self.kv_or_para(para)
                para.clear()

        while self.i < n:
            i, line = self.i, lines[self.i]
            if not line.strip():
                flush_para()
                self._after_kv = False
                self.i += 1
                continue
            if m := _FENCE.match(line):
                flush_para()
                fence = m.group(1)
                j = i + 1
                while j < n and not lines[j].strip().startswith(fence):
                    j += 1
                code = "\n".join(lines[i + 1 : j])
                self.text_block(NodeKind.CODE, code, i + 1, attrs={"lang": m.group(2).strip()})
                self.i = j + 1
                continue
            if m := _ATX.match(line):
                flush_para()
                title = strip_inline(m.group(2) or "")
                if title:
                    self.b.ensure_break(2)
                    self.sections.heading(title, len(m.group(1)), prov=self.prov(i))
                self.i += 1
                continue
            if para and len(para) == 1 and _SETEXT.match(line) and not _LIST.match(para[0][1]):
                j, t = para.pop()
                self.b.ensure_break(2)
                self.sections.heading(t, 1 if line.strip()[0] == "=" else 2, prov=self.prov(j))
                self.i += 1
                continue
            if _HR.match(line):
                flush_para()
                self.i += 1
                continue
            if "|" in line and i + 1 < n and _TABLE_SEP.match(lines[i + 1]) and "-" in lines[i + 1]:
                flush_para()
                self.table(i)
                continue
            if _LIST.match(line):
                flush_para()
                self.list_block(i)
                continue
            if _QUOTE.match(line):
                flush_para()
                j = i
                quoted: list[str] = []
                while j < n and (m2 := _QUOTE.match(lines[j])):
                    quoted.append(m2.group(1))
                    j += 1
                self.text_block(NodeKind.QUOTE, strip_inline("\n".join(quoted)), i)
                self.i = j
                continue
            stripped = strip_inline(_HTML_COMMENT.sub("", line))
            if stripped:
                para.append((i, stripped))
            self.i += 1
        flush_para()
        self.sections.close_all()

    def table(self, i: int) -> None:
        lines, n = self.lines, len(self.lines)
        header = _split_row(lines[i])
        rows = [(i, header)]
        j = i + 2
        while j < n and lines[j].strip() and "|" in lines[j]:
            rows.append((j, _split_row(lines[j])))
            j += 1
        self.b.ensure_break(2)
        tid = self.b.open(NodeKind.TABLE, prov=self.prov(i))
        for r, (li, cells) in enumerate(rows):
            if r:
                self.b.sep("\n")
            rid = self.b.open(NodeKind.ROW, prov=self.prov(li))
            for c, cell in enumerate(cells):
                if c:
                    self.b.sep(" | ")
                self.b.leaf(NodeKind.CELL, strip_inline(cell), prov=self.prov(li),
                            attrs={"row": r, "col": c, "header": r == 0})
            self.b.close(rid)
        self.b.close(tid)
        self.i = j

    def list_block(self, i: int) -> None:
        lines, n = self.lines, len(self.lines)
        self.b.ensure_break(2)
        base_indent = len(_LIST.match(lines[i]).group("indent").expandtabs(4))  # type: ignore[union-attr]
        stack: list[tuple[int, int]] = []  # (indent, list node id)
        j = i
        while j < n:
            line = lines[j]
            m = _LIST.match(line)
            if m is None:
                if not line.strip():
                    # a blank line ends the list unless the next line continues it
                    if j + 1 < n and (_LIST.match(lines[j + 1]) or lines[j + 1].startswith(("  ", "\t"))):
                        j += 1
                        continue
                    break
                if line.startswith(("  ", "\t")) and stack:
                    # continuation of the previous item: a new leaf would break the span; append as paragraph
                    self.b.sep("\n")
                    self.b.leaf(NodeKind.PARAGRAPH, strip_inline(line), prov=self.prov(j))
                    j += 1
                    continue
                break
            indent = len(m.group("indent").expandtabs(4))
            if indent < base_indent:
                break
            while stack and indent < stack[-1][0]:
                self.b.close(stack.pop()[1])
            if not stack or indent > stack[-1][0]:
                if stack:
                    self.b.sep("\n")
                stack.append((indent, self.b.open(NodeKind.LIST, level=len(stack) + 1, prov=self.prov(j),
                                                  attrs={"ordered": m.group("marker")[0].isdigit()})))
            elif self.b.pos:
                self.b.sep("\n")
            body = strip_inline(m.group("body"))
            kv = match_kv(body)
            if kv is not None:
                iid = self.b.open(NodeKind.LIST_ITEM, level=len(stack), prov=self.prov(j))
                kid = self.b.open(NodeKind.KEY_VALUE, prov=self.prov(j))
                self.b.leaf(NodeKind.KEY, body[kv.key_start : kv.key_end])
                self.b.sep(body[kv.key_end : kv.value_start])
                self.b.leaf(NodeKind.VALUE, body[kv.value_start : kv.value_end])
                self.b.close(kid)
                self.b.close(iid)
            else:
                self.b.leaf(NodeKind.LIST_ITEM, body, level=len(stack), prov=self.prov(j))
            j += 1
        while stack:
            self.b.close(stack.pop()[1])
        self.i = j


class MarkdownParser:
    name = "markdown"
    media_type = "text/markdown"
    extensions = (".md", ".markdown")

    def parse(self, data: bytes, ctx: ParseContext) -> Document:
        text, enc, warnings = decode_text(data)
        if not text.strip():
            raise EmptyInputError("no text content", path=ctx.name)
        b = ctx.builder(data, self.media_type)
        b.metadata["encoding"] = enc
        for w in warnings:
            b.warn(w)
        lines = text.split("\n")
        # YAML front matter → metadata
        first = 0
        if lines and lines[0].strip() == "---":
            for k in range(1, min(len(lines), 200)):
                if lines[k].strip() in ("---", "..."):
                    for fm in lines[1:k]:
                        key, sep, val = fm.partition(":")
                        if sep and key.strip():
                            b.metadata[key.strip()] = val.strip()
                    first = k + 1
                    break
        _Md(b, lines[first:], first + 1).run()
        return b.build()
