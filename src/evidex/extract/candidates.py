"""Candidate values from a document's structure and typed patterns — grounded by construction.

A tiny local model is bad at copying text but decent at choosing. So the default engine first proposes
candidates, each an exact span of ``Document.text`` with a *label* (the key of a key–value pair, the column
header of a cell, the words just before a pattern), then ranks them per field with a cheap prior and lets
the model choose among the best few by letter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from evidex.extract.gazetteer import ORG_NAME_RE, PLACE_RE, byline_names, defined_names, trim_org
from evidex.model import Document, Layer, Node, NodeKind, Span
from evidex.scan.dates import find_dates
from evidex.scan.durations import find_durations

# money / number tokens: currency symbol or code (optional), digits with separators, optional code after
_AMOUNT = re.compile(
    r"(?<![\w.,])(?:(?:[$€£¥₹]|(?:USD|EUR|GBP|JPY|CHF|CAD|AUD|MYR|RM|SGD|INR|CNY|US\$)\s?)\s?)?"
    r"-?\(?\d{1,3}(?:[,.' \u202f]\d{3})*(?:[.,]\d{1,2})?\)?(?:\s?(?:[€£$]|USD|EUR|GBP|MYR|CHF))?(?![\w])"
    r"|(?<![\w.,])(?:[$€£¥₹]|(?:USD|EUR|GBP|MYR|RM|SGD)\s?)\s?-?\d+(?:[.,]\d{1,2})?(?![\w])"
    r"|(?<![\w.,])-?\d+[.,]\d{2}(?![\w])"
)
_IDENT = re.compile(r"(?<![\w-])(?=[A-Z0-9/#-]*\d)(?=[A-Z0-9/#-]*[A-Z])[A-Z0-9][A-Z0-9/#-]{3,30}(?![\w-])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PERCENT = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)?\s?%")
# Generic cues (not tied to any dataset): legal-entity suffixes, and address parts (street words, postcodes).
_ORG = re.compile(
    r"\b(?:LTD|LIMITED|LLC|L\.L\.C|INC|INCORPORATED|CORP|CORPORATION|COMPANY|PLC|GMBH|AG|S\.A|SARL|SAS|BV|NV|"
    r"SDN\.?\s*BHD|BHD|PTE|PTY|LLP|LP|ENTERPRISES?|TRADING|GROUP|HOLDINGS|INDUSTRIES|SERVICES|PARTNERS|ASSOCIATES)\b\.?",
    re.I,
)
_ADDRESS = re.compile(
    r"\b(?:NO\.?\s*\d+|\d+[A-Z]?,|\d{4,6}\s+[^\W\d_]{3,}|JALAN|JLN|STREET|STR\.|ROAD|RD\.?|AVENUE|AVE\.?|LANE|DRIVE|BLVD|"
    r"BOULEVARD|TAMAN|LOT|SUITE|FLOOR|BUILDING|BLOCK|P\.?O\.?\s*BOX|HIGHWAY|SQUARE|PLAZA|STRASSE|RUE)\b",
    re.I,
)
_ORG_HEAD = re.compile(r"^(?:CO\.?|COMPANY|SDN\.?\s*BHD|BHD|LTD|LIMITED|INC|LLC|PLC|PTE|GMBH|CORP)\b", re.I)
_REG_SUFFIX = re.compile(r"\s*\((?=[^)]*\d)[A-Z0-9 .:/-]{4,24}\)\s*$", re.I)  # "(256864-P)", "(CO. NO. 1138-W)"
# a short bracketed note closing a text, no digits (a registration number is _REG_SUFFIX's) and no quotes (a defined
# term): "(Hardcover)", "(Mass Market Paperback)", "(blue)"
_NOTE_WORD = r"[^()\d“”‘’'\"\s]+"
_TRAILING_NOTE = re.compile(rf"\s+\({_NOTE_WORD}(?:\s{_NOTE_WORD}){{0,3}}\s?\)\s*$")  # one split per text: linear
_BRACKETED = re.compile(r"\([^()]*\)$")  # a line that is one parenthesised note: "(CO.NO. 1208604-T)"
_NAMEISH = re.compile(r"[^\W\d_][\w&'’.,()/ -]{2,60}", re.UNICODE)


def _header_end(text: str, lines: int = 3) -> int:
    """Offset after the first ``lines`` non-empty lines (where letterheads and shop names sit)."""
    pos, seen = 0, 0
    while seen < lines and pos < len(text):
        nl = text.find("\n", pos)
        end = len(text) if nl < 0 else nl
        if text[pos:end].strip():
            seen += 1
        pos = end + 1
    return pos


_CUT_NUMBER = re.compile(r"[.,]\d")  # a span ending where a number goes on (an identifier cut at a decimal point)
_LABEL_TAIL = re.compile(r"([^\W\d_][\w .'/&()#-]{0,40}?)\s*[:#]?\s*$")
_WORDS = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Candidate:
    id: int
    span: Span
    text: str
    source: str  # kv | cell | date | amount | ident | email | percent | line | heading | paragraph | org | name …
    label: str = ""  # key, column header or left context
    tags: frozenset[str] = frozenset()  # date, amount, integer, ident, email, text
    node: int | None = None  # structure node it came from
    position: float = 0.0  # 0 = start of document, 1 = end
    layer: Layer = Layer.BODY
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    def display(self, limit: int = 90) -> str:
        t = " ".join(self.text.split())
        if len(t) > limit:
            t = t[: limit - 1] + "…"
        return f"{self.label}: {t}" if self.label else t


def words(s: str) -> list[str]:
    return [w.lower() for w in _WORDS.findall(s)]


class CandidateSet:
    """All candidates of one document, de-duplicated by span."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.items: list[Candidate] = []
        self._by_span: dict[tuple[int, int], int] = {}

    def add(self, span: Span, source: str, *, label: str = "", tags: Iterable[str] = (), node: int | None = None,
            layer: Layer = Layer.BODY, relabel: bool = False) -> Candidate | None:
        """Add a candidate, or merge ``tags`` into the one already on this span (which keeps its label unless
        ``relabel``: a name's defined term says more than a line's heading)."""
        text = self.doc.text[span.start : span.end]
        stripped = text.strip()
        # whitespace only (e.g. a table cell holding a lone space): nothing to quote. Checked before trimming,
        # since trimming both ends of an all-blank span would give end < start.
        if not stripped or len(stripped) > 400:
            return None
        if stripped != text:  # trim whitespace so candidate spans quote exactly the value
            lead = len(text) - len(text.lstrip())
            span = Span(span.start + lead, span.start + lead + len(stripped))
            text = stripped
        key = (span.start, span.end)
        if key in self._by_span:
            old = self.items[self._by_span[key]]
            merged_tags = old.tags | frozenset(tags)
            new_label = " ".join(label.split())[:60] if relabel and label else (old.label or label)
            self.items[self._by_span[key]] = Candidate(old.id, old.span, old.text, old.source, new_label, merged_tags,
                                                       old.node if old.node is not None else node, old.position, old.layer,
                                                       old.extra)
            return self.items[self._by_span[key]]
        n = max(1, len(self.doc.text))
        c = Candidate(len(self.items), span, text, source, " ".join(label.split())[:60], frozenset(tags), node,
                      span.start / n, layer)
        self._by_span[key] = c.id
        self.items.append(c)
        return c


def _left_label(text: str, start: int) -> str:
    """The words just before ``start`` on the same line (e.g. 'Total due' in 'Total due: £692.40')."""
    line_start = text.rfind("\n", 0, start) + 1
    left = text[max(line_start, start - 60) : start]
    if start - 60 > line_start and " " in left:
        left = left[left.index(" ") + 1 :]  # drop a word cut by the window
    left = " ".join(left.split(" ")[-6:])
    m = _LABEL_TAIL.search(left)
    if not m:
        # the previous line, when this line holds only the value (labels above values in receipts)
        prev_end = line_start - 1
        if prev_end > 0 and not text[line_start:start].strip():
            prev_start = text.rfind("\n", 0, prev_end) + 1
            prev = text[prev_start:prev_end].strip()
            if 0 < len(prev) <= 40 and not any(ch.isdigit() for ch in prev):
                return prev.rstrip(":")
        return ""
    return m.group(1).strip().rstrip(":")


def _cell_context(doc: Document, cell: Node) -> tuple[str, str]:
    """(column header, row label) for a table cell."""
    if cell.parent is None:
        return "", ""
    row = doc.nodes[cell.parent]
    if row.parent is None:
        return "", ""
    table = doc.nodes[row.parent]
    col = cell.attrs.get("col", row.children.index(cell.id))
    rows = [doc.nodes[r] for r in table.children if doc.nodes[r].kind is NodeKind.ROW]
    header = ""
    if rows and rows[0].id != row.id:
        first = rows[0].children
        if isinstance(col, int) and col < len(first):
            header = doc.node_text(first[col])
    row_label = doc.node_text(row.children[0]) if row.children and row.children[0] != cell.id else ""
    return header, row_label


def _address_runs(text: str, lines: list[Span]) -> list[tuple[int, int]]:
    """Runs of 2–6 consecutive lines that read like an address (street words, numbers, postcodes, trailing commas)."""
    def addressy(i: int) -> bool:
        t = text[lines[i].start : lines[i].end].strip()
        return bool(t) and len(t) <= 80 and (bool(_ADDRESS.search(t)) or t.endswith(",")) and not _BRACKETED.match(t)

    out: list[tuple[int, int]] = []
    i = 0
    while i < len(lines):
        if not addressy(i):
            i += 1
            continue
        j = i
        while j + 1 < len(lines) and (addressy(j + 1) or text[lines[j].start : lines[j].end].rstrip().endswith(",")):
            j += 1
            if j - i >= 5:
                break
        if j > i:
            out.append((i, j))
        i = j + 1
    return out


def _two_col_table(doc: Document, row: Node) -> bool:
    if row.parent is None:
        return False
    table = doc.nodes[row.parent]
    return all(len(doc.nodes[r].children) == 2 for r in table.children if doc.nodes[r].kind is NodeKind.ROW)


def _section_heading(doc: Document, n: Node) -> str:
    """The heading of the innermost section holding ``n`` when it is short (e.g. 'Bill to')."""
    for a in doc.ancestors(n):
        if a.kind is NodeKind.SECTION and a.children:
            h = doc.nodes[a.children[0]]
            if h.kind is NodeKind.HEADING and h.id != n.id:
                t = doc.node_text(h)
                return t if len(t) <= 40 else ""
            return ""
    return ""


_NOT_SCANNED = frozenset({Layer.HIDDEN, Layer.METADATA})


def _title_heading(doc: Document) -> int | None:
    """The node id of the document's first heading when it is a top-level one (the title of most reports,
    papers and pages: an ``<h1>``, a PDF's largest first line); None when the first heading is a sub-heading."""
    first: Node | None = None
    top: int | None = None
    for n in doc.nodes:
        if n.kind is not NodeKind.HEADING or n.layer is not Layer.BODY or n.span.empty:
            continue
        if first is None:
            first = n
        lv = n.level or 1
        top = lv if top is None else min(top, lv)
    if first is None or (first.level or 1) != top:
        return None
    return first.id


def build_candidates(doc: Document, *, include_furniture: bool = True) -> CandidateSet:
    """Every candidate span of ``doc``: from its structure, from typed patterns, then tagged by what they look like."""
    cs = CandidateSet(doc)
    _structure_candidates(doc, cs, include_furniture)
    date_hulls = _pattern_candidates(doc, cs)
    _tag_candidates(doc.text, cs, date_hulls)
    _bare_amounts(cs)
    return cs


def _structure_candidates(doc: Document, cs: CandidateSet, include_furniture: bool) -> None:
    """Key–value pairs, table cells, titles and headings, paragraphs and their short lines."""
    first_heading = _title_heading(doc)
    for n in doc.nodes:
        if n.layer is Layer.HIDDEN or (n.layer is Layer.FURNITURE and not include_furniture):
            continue
        if n.kind is NodeKind.KEY_VALUE:
            _kv_candidate(doc, cs, n)
        elif n.kind is NodeKind.CELL and not n.span.empty:
            _cell_candidate(doc, cs, n)
        elif n.kind is NodeKind.TITLE:  # the document says this is its title (HTML <title>, a Title style)
            cs.add(n.span, "heading", label="subtitle" if (n.level or 1) > 1 else "title", tags={"text", "title"},
                   node=n.id, layer=n.layer)
        elif n.kind is NodeKind.HEADING:
            label = "title" if n.id == first_heading else ""
            cs.add(n.span, "heading", label=label, tags={"text", "title"} if label else {"text"}, node=n.id,
                   layer=n.layer)
        elif n.kind in (NodeKind.PARAGRAPH, NodeKind.LIST_ITEM, NodeKind.TEXT, NodeKind.LINE):
            _block_candidates(doc, cs, n)


def _kv_candidate(doc: Document, cs: CandidateSet, n: Node) -> None:
    kids = [doc.nodes[c] for c in n.children]
    key = next((k for k in kids if k.kind is NodeKind.KEY), None)
    val = next((k for k in kids if k.kind is NodeKind.VALUE), None)
    if key is not None and val is not None and not val.span.empty:
        label = doc.node_text(key)
        meaning = n.attrs.get("meaning")  # what a standard key stands for (e-mail From → author)
        if isinstance(meaning, str) and meaning and meaning.lower() not in label.lower():
            label = f"{label} ({meaning})"
        cs.add(val.span, "kv", label=label, tags={"text"}, node=val.id, layer=n.layer)


def _cell_candidate(doc: Document, cs: CandidateSet, n: Node) -> None:
    header, row_label = _cell_context(doc, n)
    if n.attrs.get("header"):
        return
    label = header if header and row_label == "" else (f"{row_label} / {header}" if header else row_label)
    # a two-column table is a key–value list: column 0 holds keys, column 1 values
    row = doc.nodes[n.parent] if n.parent is not None else None
    if row is not None and len(row.children) == 2 and _two_col_table(doc, row):
        if n.attrs.get("col", row.children.index(n.id)) == 0:
            return
        label = row_label
    cs.add(n.span, "cell", label=label, tags={"text"}, node=n.id, layer=n.layer)


def _block_candidates(doc: Document, cs: CandidateSet, n: Node) -> None:
    """A short block itself, each of its short lines, address runs and names wrapped over two lines."""
    text = doc.text
    body = doc.node_text(n)
    heading = _section_heading(doc, n)
    if len(body) <= 160 and body.count("\n") <= 5:
        cs.add(n.span, "paragraph", label=heading, tags={"text"}, node=n.id, layer=n.layer)
    pos = n.span.start  # each short line of a block (addresses, names, receipt lines)
    lines: list[Span] = []
    for line in body.split("\n"):
        s = Span(pos, pos + len(line))
        pos += len(line) + 1
        lines.append(s)
        if 2 <= len(line.strip()) <= 120:
            cs.add(s, "line", label=heading, tags={"text"}, node=n.id, layer=n.layer)
    for a, b in _address_runs(text, lines):
        cs.add(Span(lines[a].start, lines[b].end), "address", label=heading, tags={"text", "address"},
               node=n.id, layer=n.layer)
    for k in range(len(lines) - 1):  # a name wrapped over two lines: "POPULAR BOOK" / "CO. (M) SDN BHD"
        first, second = (text[x.start : x.end].strip() for x in (lines[k], lines[k + 1]))
        if first and second and _ORG_HEAD.match(second) and not _ORG.search(first) and len(first) <= 50 \
                and not any(ch.isdigit() for ch in first):
            cs.add(Span(lines[k].start, lines[k + 1].end), "line", label=heading, tags={"text", "org"},
                   node=n.id, layer=n.layer)


def _pattern_candidates(doc: Document, cs: CandidateSet) -> list[Span]:
    """Typed patterns anywhere in the text (hidden text skipped); returns the date spans."""
    text = doc.text
    layer_at = doc.layer_of  # the innermost node's layer (a tree descent, not a scan of all nodes)
    for d in find_dates(text):
        s = Span(d.start, d.end)
        lay = layer_at(s)
        if lay is not Layer.HIDDEN:
            cs.add(s, "date", label=_left_label(text, d.start), tags={"date"}, layer=lay)
    date_hulls = [Span(d.start, d.end) for d in find_dates(text)]
    # below, patterns in the metadata layer are skipped: its entries are key–value candidates already, and
    # tool names there ("Producer: … Corporation") are not the document's organisations or places
    for rx, tag in ((_AMOUNT, "amount"), (_IDENT, "ident"), (_EMAIL, "email"), (_PERCENT, "percent")):
        for m in rx.finditer(text):
            s = Span(m.start(), m.end())
            lay = layer_at(s)
            if lay in _NOT_SCANNED or any(d.overlaps(s) for d in date_hulls):
                continue
            tags = {tag}
            if tag == "amount" and re.fullmatch(r"\d+", m.group().strip()):
                tags.add("integer")
            cs.add(s, tag, label=_left_label(text, m.start()), tags=tags, layer=lay)
    def scanned(start: int, end: int, source: str, label: str, tags: set[str], relabel: bool = False) -> None:
        """A pattern's span, unless it lies in a layer patterns skip."""
        s = Span(start, end)
        lay = layer_at(s)
        if lay not in _NOT_SCANNED:
            cs.add(s, source, label=label, tags=tags, layer=lay, relabel=relabel)

    for du in find_durations(text):
        scanned(du.start, du.end, "duration", _left_label(text, du.start), {"duration"})
    for m in PLACE_RE.finditer(text):
        scanned(m.start(), m.end(), "place", _left_label(text, m.start()), {"place", "text"})
    # a name the text defines a term for ("MusclePharm Corporation, a Nevada corporation (the “Company”)"): a party,
    # labelled by its term (also when a line or cell already spans it), first so an organisation name keeps it
    for start, end, term in defined_names(text):
        scanned(start, end, "org", term, {"org", "text", "defined"}, relabel=True)
    for start, end in byline_names(text):  # "by Glenn Beck; Kevin Balfe": each person a byline names
        scanned(start, end, "name", "by", {"person", "text"})
    for m in ORG_NAME_RE.finditer(text):
        cut, name = trim_org(m.group())
        if len(name.split()) >= 2 and "\n" not in name.strip():
            start = m.start() + cut
            scanned(start, m.end(), "org", _left_label(text, start), {"org", "text"})
    # names followed by a registration number: "BOON SENG PAPER SDN BHD (1248717-W)" → the name alone
    for c in list(cs.items):
        reg = _REG_SUFFIX.search(c.text)
        if reg and "\n" not in c.text and _ORG.search(c.text[: reg.start()]):
            cs.add(Span(c.span.start, c.span.start + reg.start()), c.source, label=c.label, tags={"text", "org"},
                   node=c.node, layer=c.layer)
    # a title or name followed by a short note in brackets: "The Overton Window (Hardcover)", "Dark Stranger (Mass
    # Market Paperback)" → the text alone too, tagged "noted"; whether the note belongs is the gold's to say
    for c in list(cs.items):
        if "\n" in c.text or c.source not in ("heading", "line", "kv", "cell", "paragraph") or not c.text.endswith(")"):
            continue
        note = _TRAILING_NOTE.search(c.text)
        if note:
            head = c.text[: note.start()].rstrip(" ,:;-")
            if any(ch.isalpha() for ch in head):
                cs.add(Span(c.span.start, c.span.start + len(head)), c.source, label=c.label,
                       tags=(c.tags - {"org", "header"}) | {"text", "noted"}, node=c.node, layer=c.layer)
    return date_hulls


def _tag_candidates(text: str, cs: CandidateSet, date_hulls: list[Span]) -> None:
    """Tag structural candidates whose text is itself a date, amount, identifier, organisation, address…"""
    header_end = _header_end(text)
    # tag structural candidates whose text is itself a date / amount
    date_spans = {(d.start, d.end) for d in date_hulls}
    for i, c in enumerate(cs.items):
        extra: set[str] = set()
        if (c.span.start, c.span.end) in date_spans:
            extra.add("date")
        if _AMOUNT.fullmatch(c.text) and not _CUT_NUMBER.match(text, c.span.end):  # not "RM40" of "RM40.00"
            extra.add("amount")
            if c.text.isdigit():
                extra.add("integer")
        if _IDENT.fullmatch(c.text):
            extra.add("ident")
        if len(c.text) <= 80 and "\n" not in c.text and _ORG.search(c.text):
            extra.add("org")
        if c.span.start < header_end and c.source in ("line", "paragraph", "heading") and _NAMEISH.fullmatch(c.text):
            extra.add("header")  # a name-like line at the top: letterheads, shop names
        if c.source in ("line", "paragraph", "kv", "cell") and "\n" not in c.text and _ADDRESS.search(c.text):
            extra.add("address")
        if extra - c.tags:
            cs.items[i] = Candidate(c.id, c.span, c.text, c.source, c.label, c.tags | extra, c.node, c.position, c.layer)


_CURRENCY_HEAD = re.compile(r"^(?:[$€£¥₹]|US\$|(?:USD|EUR|GBP|JPY|CHF|CAD|AUD|MYR|RM|SGD|INR|CNY)(?![A-Za-z]))\s*")
_CURRENCY_TAIL = re.compile(r"\s*(?:[€£$]|(?<![A-Za-z])(?:USD|EUR|GBP|MYR|CHF))$")
BARE = "bare"  # Candidate.extra key of an amount's variant without its printed currency (value: the full one's id)


def _bare_amounts(cs: CandidateSet) -> None:
    """An amount printed with its currency ("RM5.00", "$ 8.90", "12.50 EUR") is also proposed without it: people
    copy either form, so a scorer that learns a user's convention needs both. The bare variant keeps the full
    one's source, label and node and is marked ``extra[BARE]``; :func:`evidex.extract.prior.rank` offers it only to
    fields output as printed (for the others it is the same value with less evidence), in its full form's place.
    It is a candidate of its own even when its span is proposed already (a bare line under "RM"), since it
    stands for the full one."""
    for c in list(cs.items):
        if "amount" not in c.tags:
            continue
        head, tail = _CURRENCY_HEAD.search(c.text), _CURRENCY_TAIL.search(c.text)
        start = head.end() if head else 0
        end = tail.start() if tail else len(c.text)
        bare = c.text[start:end]
        if (start == 0 and end == len(c.text)) or not any(ch.isdigit() for ch in bare):
            continue
        tags = c.tags - {"integer"} | ({"integer"} if bare.isdigit() else set())
        cs.items.append(Candidate(len(cs.items), Span(c.span.start + start, c.span.start + end), bare, c.source,
                                  c.label, tags, c.node, c.position, c.layer, {BARE: str(c.id)}))


def unique_texts(cands: Sequence[Candidate]) -> list[Candidate]:
    """Keep the first candidate of each distinct text (e.g. an amount found as a cell and as a pattern)."""
    seen: set[str] = set()
    out = []
    for c in cands:
        k = " ".join(c.text.lower().split())
        if k not in seen:
            seen.add(k)
            out.append(c)
    return out
