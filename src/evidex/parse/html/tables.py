"""Layout tables vs data tables: a page laid out with ``<table>`` is read as blocks, not as one giant cell.

Pages of the 2000s (and many shop pages still) put the whole page into a table: the main column is one
``<td>`` holding headings, paragraphs, lists and more tables. Read as a data table that cell is flattened into
a single run of text, and not one paragraph or "Label: value" line survives. A browser lays such cells out as
blocks; so do we: a *layout* table opens no TABLE/ROW/CELL nodes, its rows and block-holding cells are blocks,
and cells holding only inline content are read side by side on one line (``Publication Date:`` ``2010`` →
the key–value line ``Publication Date: 2010``).

The decision (adapted from Mozilla Readability's data-table test, biased towards *data* when unsure):

1. ``role="presentation"``/``"none"`` → layout;
2. a nested ``<table>`` or block content (paragraphs, lists, headings, forms, sections …) in a cell → layout;
3. ``<th>``, ``<thead>``, ``<tfoot>``, ``<caption>``, ``<col>``/``<colgroup>`` or a ``summary`` → data;
4. ``<div>`` in cells → layout;
5. rows of at most two filled cells whose first cell is a label ending in ``:`` → layout (a key–value form);
6. a single cell (a box drawn with a table) → layout;
7. otherwise data.

The look-ahead stops at the first layout sign and never reads more than :data:`SCAN_LIMIT` elements, so a
page of nested layout tables costs about one pass over the page.
"""

from __future__ import annotations

import itertools
from typing import Any

from evidex.parse.html.tree import local_name

SCAN_LIMIT = 5_000
_HEAVY = frozenset(
    {
        "p", "ul", "ol", "dl", "menu", "dir", "h1", "h2", "h3", "h4", "h5", "h6", "form", "fieldset",
        "blockquote", "pre", "listing", "xmp", "hr", "section", "article", "header", "footer", "nav", "aside",
        "main", "address", "figure", "details", "center", "table",
    }
)  # fmt: skip
_DATA = frozenset({"th", "thead", "tfoot", "caption", "col", "colgroup"})
# a cell holding one of these is laid out as a block (it breaks the row's line)
CELL_BLOCKS = _HEAVY | frozenset({"div", "li", "dt", "dd", "tr", "td", "th", "tbody", "select", "textarea"})


def is_layout_table(el: Any) -> bool:
    """True when ``el`` (a ``<table>``) lays out a page rather than holding data (see the module docstring)."""
    if (el.get("role") or "").strip().lower() in ("presentation", "none"):
        return True
    data = el.get("summary") is not None
    div = False
    for k, d in enumerate(el.iterdescendants()):
        if k >= SCAN_LIMIT:
            return False
        if not isinstance(d.tag, str):
            continue
        t = local_name(d.tag)
        if t in _HEAVY:
            return True
        if t in _DATA:
            data = True
        elif t == "div":
            div = True
    if data:
        return False
    if div:
        return True
    return _label_rows(el) or _single_cell(el)


def _text(el: Any) -> str:
    return "".join(el.itertext()).strip()


def _label_rows(table: Any) -> bool:
    pairs = labels = 0
    for k, tr in enumerate(table.iter("tr")):
        if k >= 500:
            break
        cells = [
            t
            for t in (_text(c) for c in tr if isinstance(c.tag, str) and local_name(c.tag) in ("td", "th"))
            if t
        ]
        if len(cells) > 2:
            return False
        if len(cells) == 2:
            pairs += 1
            labels += cells[0].endswith((":", "：")) and len(cells[0]) <= 60
    return pairs > 0 and 2 * labels >= pairs


def _single_cell(table: Any) -> bool:
    """One cell in all: a box drawn with a table, not data."""
    return sum(1 for _ in itertools.islice(table.iter("td", "th"), 2)) == 1


def is_kv_table(table: Any) -> bool:
    """A data table whose every row is a header cell and a value cell (``<tr><th>ISBN-13</th><td>978…``), at
    least two rows: a vertical key–value table, read as key–values (like ``<dl>``)."""
    rows = 0
    for k, tr in enumerate(table.iter("tr")):
        if k >= 500:
            return False
        cells = [c for c in tr if isinstance(c.tag, str) and local_name(c.tag) in ("td", "th")]
        if not cells:
            continue
        if len(cells) != 2 or local_name(cells[0].tag) != "th" or local_name(cells[1].tag) != "td":
            return False
        rows += 1
    return rows >= 2


def cell_is_inline(el: Any) -> bool:
    """A layout-table cell holding only inline content (read on its row's line); bounded look-ahead."""
    for k, d in enumerate(el.iterdescendants()):
        if k >= SCAN_LIMIT:
            return False
        if isinstance(d.tag, str) and local_name(d.tag) in CELL_BLOCKS:
            return False
    return True
