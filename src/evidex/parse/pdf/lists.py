"""Lists in PDF text: bullet and enumerator markers, hanging indents, runs of items across blocks, nesting by
the markers' indentation (see :func:`list_units`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from evidex.parse.pdf.tables import Table
from evidex.structure.layout import Block, Line

_BULLETS = frozenset("•◦▪▫‣⁃●○■□►▸▹➢➤✓✔∙·–—-*")
_WEAK_BULLETS = frozenset("·–—-*")  # also start ordinary lines: a list needs two items in a row
_ENUM = re.compile(r"^(?:\(?(?:\d{1,3}|[a-zA-Z]|[ivxlc]{1,6})[.)]|\d{1,3}(?:\.\d{1,3})+\.?)$")


@dataclass
class _Item:
    marker: str  # the marker's kind: the bullet glyph, or "1" / "a" / "i" for enumerators
    ordered: bool
    x0: float  # the marker's left edge (nesting)
    lines: list[Line]
    block: int  # index of the block it came from


@dataclass
class ListRun:
    items: list[_Item]


def _marker(ln: Line) -> tuple[str, bool] | None:
    """The list marker a line starts with — a bullet glyph or an enumerator ("1.", "a)", "(iv)", "2.1") — as
    (kind, ordered), or None. The marker must be followed by text on the same line."""
    t = ln.words[0].text
    if len(ln.words) >= 2:
        if len(t) == 1 and t in _BULLETS:
            return t, False
        if _ENUM.match(t):
            core = t.strip("().")
            return ("1" if core[0].isdigit() else "i" if set(core) <= set("ivxlc") and len(core) > 1 else "a"), True
    if len(t) > 1 and t[0] in _BULLETS and t[0] not in _WEAK_BULLETS and t[1].isalnum():  # "•Text" glued
        return t[0], False
    return None


def list_units(
    elements: list[Block | Table], levels: dict[int, int]
) -> list[Table | ListRun | tuple[int | None, list[Line]]]:
    """A page's elements as emission units: tables, headings (level, lines), paragraphs (None, lines) and
    list runs. List rules: inside a body block a line starting with a marker (``_marker``) opens an item,
    the block's following unmarked lines indented past the marker (a hanging indent) and set tight below
    it continue it, any other line ends the list and starts a paragraph (an indented first line after a
    gap is a new paragraph); items of consecutive blocks form one run; a run of a
    single item whose marker is an enumerator or a weak bullet (- * – ·) is not a list ("… see Section\n3.
    Then …" stays a paragraph). Nesting comes from the markers' indentation."""
    raw: list[Table | _Item | tuple[int | None, list[Line], int]] = []
    for k, el in enumerate(elements):
        if isinstance(el, Table):
            raw.append(el)
            continue
        lv = levels.get(id(el))
        if lv is not None:
            raw.append((lv, el.lines, k))
            continue
        cur: _Item | None = None
        for ln in el.lines:
            m = _marker(ln)
            if m is not None:
                cur = _Item(m[0], m[1], ln.words[0].x0, [ln], k)
                raw.append(cur)
            elif (
                cur is not None
                and ln.x0 > cur.x0 + 0.3 * max(ln.size, 1.0)
                and ln.y0 - cur.lines[-1].y1 <= 0.35 * max(ln.y1 - ln.y0, 1e-6)
            ):
                cur.lines.append(ln)
            elif raw and isinstance(raw[-1], tuple) and raw[-1][0] is None and raw[-1][2] == k:
                raw[-1][1].append(ln)
            else:
                cur = None
                raw.append((None, [ln], k))
    out: list[Table | ListRun | tuple[int | None, list[Line]]] = []
    i = 0
    while i < len(raw):
        u = raw[i]
        if not isinstance(u, _Item):
            if isinstance(u, Table):
                out.append(u)
            else:
                out.append((u[0], list(u[1])))
            i += 1
            continue
        j = i
        while j < len(raw) and isinstance(raw[j], _Item):
            j += 1
        run = [it for it in raw[i:j] if isinstance(it, _Item)]
        if len(run) == 1 and (run[0].ordered or run[0].marker in _WEAK_BULLETS):
            # not a list: back into the paragraph of its block (before and after it)
            item = run[0]
            prev = out[-1] if out else None
            lines = list(item.lines)
            if isinstance(prev, tuple) and prev[0] is None and i > 0 and isinstance(raw[i - 1], tuple):
                before = raw[i - 1]
                if isinstance(before, tuple) and before[2] == item.block:
                    prev[1].extend(lines)
                    lines = []
            if lines:
                out.append((None, lines))
        else:
            out.append(ListRun(run))
        i = j
    return out


__all__ = ["ListRun", "list_units"]
