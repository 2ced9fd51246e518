"""The ``structured`` selector: per field, the most relevant structural units under a token budget.

Units come from the Markdown view's structure, not from fixed-size chunks: a key–value line, a list item, a table
row (with its header row as an anchor), a short paragraph, or a clause-sized piece of a long paragraph (sentences
grouped up to ``unit_tokens``, cut after ``.``/``;``/``:``; units shrink with the budget so each field can get two);
a signature block (its By:/Name:/Title: lines with the names above them) stays one unit. Each unit is scored for
each query (one query per field: its name and description) with BM25 over words, the query widened by the words
that usually introduce the kind of value it asks for, and raised when the unit holds a value of that kind: a date,
an amount, a duration, a place (a US state or country, not a state of incorporation), an organisation, or a party —
an entity defined in a "between … and …" clause (``Acme Inc. (the “Company”)``) or named in a signature block. Such
kinds are found by structure and entity type, never by a dataset's strings. The fields take turns (the surest field
of each round first), each taking its best unit left that fits, discounted when it repeats words the field already
has (diversity), until its best is worth little; what is left goes to the best units overall. The document's
opening is read first. The picked units are emitted in document order, each preceded once by its anchors (the
nearest section heading, a table's header row), with ``…`` where text was skipped.
Every character of the result maps back to the canonical text; the selection records, per query, the source spans it
read (a coverage ledger), so "not found" can be told apart from "not read".
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from pydantic import Field as PydanticField

from evidex.model import Span, TextView, ViewBuilder
from evidex.registry import Options
from evidex.scan.dates import find_dates
from evidex.scan.durations import find_durations
from evidex.scan.lexicon import expand, stem
from evidex.select.base import Reading, RelevantSelector, Selection

_WORD = re.compile(r"[^\W_]+", re.U)
_CUT = re.compile(r"(?<=[.;:])\s+(?=[\"'(\[A-Z0-9])")
_AMOUNT = re.compile(r"(?<![\w.])(?:[$€£¥]|[A-Z]{3}\s?)?\d{1,3}(?:[ ,.]\d{3})*(?:[.,]\d{1,2})?(?![\w])")
_STOP = frozenset(["the", "a", "an", "of", "to", "in", "for", "and", "or", "on", "is", "as", "by", "with", "this", "that", "at", "be", "which", "from", "any", "its", "it"])
_TYPE_CUES: dict[str, frozenset[str]] = {
    "date": frozenset(["date", "dated", "day", "effective", "commencement", "start", "signed", "issued", "expiry", "expiration"]),
    "amount": frozenset(["total", "amount", "sum", "price", "cost", "fee", "payment", "paid", "due", "balance", "tax", "subtotal", "money"]),
    "duration": frozenset(["term", "duration", "period", "length", "years", "months"]),
    "org": frozenset(["party", "parties", "company", "vendor", "supplier", "seller", "buyer", "customer", "employer",
                      "organisation", "organization", "corporation", "firm", "merchant", "store", "person", "signed"]),
    "place": frozenset(["jurisdiction", "state", "country", "governs", "governing", "venue", "province", "location"]),
}
# a field asking for a kind of value also looks for the words that usually introduce it (generic English, not tied
# to a dataset): a term is said to expire or stay in force, a governing law "governs", parties are "between" ...
_KIND_WORDS: dict[str, frozenset[str]] = {
    "duration": frozenset(["expire", "expires", "terminate", "terminates", "remain", "force", "until", "period"]),
    "place": frozenset(["governed", "laws", "law", "construed", "courts", "state"]),
    "org": frozenset(["between", "among", "party", "parties", "undersigned"]),
    "date": frozenset(["dated", "effective", "entered", "made", "date"]),
}


_ORG = re.compile(r"\b(?:Inc|INC|CORP|CORPORATION|COMPANY|LIMITED|LTD|LLC|L\.?L\.?C|Ltd|Limited|Corp|Corporation|Company|GmbH|plc|PLC|L\.?P|LLP|AG|S\.?A|N\.?V|B\.?V|Sdn\.? Bhd)\b\.?")
# a defined term in parentheses — (the “Company”), (hereinafter “Employee”), (CLIENT) — the way contracts name a party
_DEFINED = re.compile(r"\(\s*(?:(?:the|hereinafter|referred|to|as|collectively|individually|each|a)\s+){0,4}"
                      r"[\"“‘']?[A-Z][\w.&' -]{0,40}[\"”’']?\s*\)")
_BETWEEN = re.compile(r"\b(?:between|among|by and between|by and among)\b", re.I)
# the markers of a signature block: "By:", "Name:", "Title:", "/s/", signature lines, "IN WITNESS WHEREOF"
_SIGNATURE = re.compile(r"(?im)^\s*(?:by|name|title|sign|signature|signed|print(?:ed)? name)\s*:|/s/|_{6,}|"
                        r"\bin witness whereof\b|\((?:print(?:ed)? name|signature)[^)]*\)")
_SIGN_FIELD = re.compile(r"(?i)(?:by|name|title|its|sign|signature|signed)\s*:")
_US_STATES = ("Alabama Alaska Arizona Arkansas California Colorado Connecticut Delaware Florida Georgia Hawaii Idaho "
              "Illinois Indiana Iowa Kansas Kentucky Louisiana Maine Maryland Massachusetts Michigan Minnesota "
              "Mississippi Missouri Montana Nebraska Nevada New_Hampshire New_Jersey New_Mexico New_York "
              "North_Carolina North_Dakota Ohio Oklahoma Oregon Pennsylvania Rhode_Island South_Carolina South_Dakota "
              "Tennessee Texas Utah Vermont Virginia Washington West_Virginia Wisconsin Wyoming")
_COUNTRIES = ("England Wales Scotland Ireland Canada Germany France Italy Spain Netherlands Switzerland Sweden Norway "
              "Denmark Belgium Austria Japan China India Singapore Australia Israel Brazil Mexico Malaysia Korea "
              "Luxembourg Bermuda")
# places a law can come from (an entity type, as a tagger would give it): a US state, a country, or "State of X"
_PLACE = re.compile(r"\b(?:" + "|".join(x.replace("_", r"\s+") for x in (_US_STATES + " " + _COUNTRIES).split())
                    + r"|(?:State|Commonwealth|Province|Republic|Kingdom) of [A-Z][a-z]+)\b"
                    r"(?!,?\s+(?:corporation|limited|company|general|partnership|LLC|L\.?P\.|Corp|banking|business))")
# a party is an organisation or a person named as one: a query asking for organisations also wants party units
_WANTS: dict[str, frozenset[str]] = {"org": frozenset(["org", "party"])}


def _terms(s: str) -> list[str]:
    """Stemmed content words (the prior's crude stem: "governs" and "governed" meet)."""
    return [stem(w) for w in (x.lower() for x in _WORD.findall(s)) if len(w) > 1 and w not in _STOP]


def _query_terms(q: str) -> set[str]:
    words = {w for w in (x.lower() for x in _WORD.findall(q)) if len(w) > 1 and w not in _STOP}
    return {stem(w) for w in expand(words)}


@dataclass
class _Unit:
    start: int  # view offsets
    end: int
    tokens: int
    terms: Counter[str]
    kinds: frozenset[str]  # typed values it holds: date, amount, duration
    anchors: tuple[tuple[int, int], ...] = ()  # view spans to show before it (heading, table header)


@dataclass
class _Units:
    items: list[_Unit] = field(default_factory=list)
    anchor_tokens: dict[tuple[int, int], int] = field(default_factory=dict)


class StructuredOptions(Options):
    unit_tokens: int = PydanticField(default=80, ge=8)  # longest unit; longer paragraphs are cut at clauses
    diversity: float = PydanticField(default=0.3, ge=0.0, le=1.0)  # penalty weight for repeating picked words
    type_bonus: float = PydanticField(default=1.5, ge=0.0)  # added when a unit holds the type the query asks for
    # a field stops taking units when its best one left is worth less than this share of its best one
    min_relevance: float = PydanticField(default=0.1, ge=0.0, le=1.0)
    # units shrink with the budget so that each field can get at least two: budget / (2 × fields), in these bounds
    min_unit_tokens: int = PydanticField(default=24, ge=8)
    # the opening of a document (title, parties, dates) is read first, as a person would: this share of the budget,
    # at most head_tokens, goes to the first units in order
    head_share: float = PydanticField(default=0.25, ge=0.0, le=1.0)
    head_tokens: int = PydanticField(default=256, ge=0)


class StructuredSelector:
    name: ClassVar[str] = "structured"
    version: ClassVar[str] = "2"
    Options: ClassVar[type[StructuredOptions]] = StructuredOptions

    def __init__(self, options: StructuredOptions | None = None) -> None:
        self.o = options or StructuredOptions()

    def select(self, reading: Reading, queries: Sequence[str], budget: int | None, *, chunk_tokens: int) -> Selection:
        if budget is None:  # no budget: the whole document, chunk by chunk
            return RelevantSelector().select(reading, queries, None, chunk_tokens=chunk_tokens)
        view = reading.view
        unit = max(self.o.min_unit_tokens, min(self.o.unit_tokens, budget // (2 * max(1, len(queries)))))
        units = self._units(view, reading, unit)
        if not units.items:
            return Selection((), (), 0, 0)
        scores = [self._scores(units.items, q) for q in queries] or [[1.0] * len(units.items)]
        picked, per_query = self._pack(units, scores, budget)
        out = _emit(view, units, picked)
        spans = tuple(Span.merge(view.to_source(Span(u.start, u.end)) for u in (units.items[i] for i in picked)))
        ledger = {q: [s.to_list() for s in Span.merge(view.to_source(Span(units.items[i].start, units.items[i].end))
                                                      for i in idx)]
                  for q, idx in zip(queries, per_query, strict=False)}
        return Selection((out,), spans, len(units.items), len(picked),
                         extra={"unit": "structural", "per_query": ledger, "budget": budget,
                                "tokens": reading.count(out.text) if out.text else 0})

    # ------------------------------------------------------------------ units
    def _units(self, view: TextView, reading: Reading, unit: int) -> _Units:
        text = view.text
        out = _Units()
        heading: tuple[int, int] | None = None
        header: tuple[int, int] | None = None
        pos = 0
        block: list[tuple[int, int]] = []

        def flush() -> None:
            if block:
                self._paragraph_units(text, block[0][0], block[-1][1], heading, out, reading, unit)
                block.clear()

        for line in text.split("\n"):
            s, e = pos, pos + len(line)
            pos = e + 1
            stripped = line.strip()
            if not stripped:
                flush()
                header = None
                continue
            if stripped.startswith("#"):
                flush()
                heading = (s, e)
                out.anchor_tokens[heading] = reading.count(line)
                continue
            if stripped.startswith("|"):
                flush()
                if re.fullmatch(r"\|[\s:|-]+\|?", stripped):  # the separator under a header row
                    if header is not None:
                        header = (header[0], e)
                        out.anchor_tokens[header] = reading.count(text[header[0]:e])
                    continue
                if header is None:
                    header = (s, e)
                    continue
                self._add(out, text, s, e, reading, tuple(a for a in (heading, header) if a))
                continue
            if _SIGN_FIELD.match(stripped) and len(stripped) <= 80:
                block.append((s, e))  # By:/Name:/Title: lines stay with the signature block they belong to
                continue
            if re.match(r"^\s*(?:[-*+]|\d{1,3}[.)])\s", line) or ": " in stripped[:60]:
                flush()  # a list item or a key-value line is a unit of its own
                self._add(out, text, s, e, reading, (heading,) if heading else ())
                continue
            block.append((s, e))
        flush()
        return out

    def _paragraph_units(self, text: str, s: int, e: int, heading: tuple[int, int] | None, out: _Units,
                         reading: Reading, unit: int) -> None:
        anchors = (heading,) if heading else ()
        if reading.count(text[s:e]) <= unit:
            self._add(out, text, s, e, reading, anchors)
            return
        lines = text[s:e].split("\n")
        if len(lines) >= 3 and max(len(x.strip()) for x in lines) <= 60:  # a block of short lines (signatures,
            cuts = [m.end() for m in re.finditer(r"\n", text[s:e])]   # addresses): cut between lines only
            cuts = [s + c for c in cuts] + [e]
        else:
            cuts = self._cuts(text, s, e, reading, unit)
        start = prev = s
        for c in cuts:
            if c > prev and reading.count(text[start:c]) > unit and prev > start:
                self._add(out, text, start, prev, reading, anchors)  # close the group before this piece
                start = prev
            prev = c
        self._add(out, text, start, e, reading, anchors)

    def _cuts(self, text: str, s: int, e: int, reading: Reading, unit: int) -> list[int]:
        """Where a long paragraph may be cut: clause ends; inside a clause still too long, line breaks; then
        commas. The last cut is ``e``."""
        out: list[int] = []
        prev = s
        for c in [m.start() for m in _CUT.finditer(text, s, e)] + [e]:
            if reading.count(text[prev:c]) > unit:
                inner = [m.end() for m in re.finditer(r"\n", text[prev:c])]
                if len(inner) < 2:
                    inner = [m.end() for m in re.finditer(r",\s", text[prev:c])]
                out.extend(prev + k for k in inner)
            out.append(c)
            prev = c
        return out

    @staticmethod
    def _add(out: _Units, text: str, s: int, e: int, reading: Reading, anchors: tuple[tuple[int, int], ...]) -> None:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e <= s:
            return
        piece = text[s:e]
        kinds = set()
        if find_dates(piece):
            kinds.add("date")
        if _AMOUNT.search(piece):
            kinds.add("amount")
        if find_durations(piece):
            kinds.add("duration")
        if _ORG.search(piece):
            kinds.add("org")
        if _SIGNATURE.search(piece) or (_DEFINED.search(piece) and ("org" in kinds or _BETWEEN.search(piece))):
            kinds.update(("org", "party"))  # a party: defined in a "between … and …" clause, or in a signature block
        if _PLACE.search(piece):
            kinds.add("place")
        for a in anchors:
            out.anchor_tokens.setdefault(a, reading.count(text[a[0]:a[1]]))
        out.items.append(_Unit(s, e, reading.count(piece), Counter(_terms(piece)), frozenset(kinds), anchors))

    # ------------------------------------------------------------------ scoring and packing
    def _scores(self, units: list[_Unit], query: str) -> list[float]:
        raw = {w.lower() for w in _WORD.findall(query)}
        want = {k for k, cues in _TYPE_CUES.items() if raw & cues}
        q = _query_terms(query) | {stem(w) for k in want for w in _KIND_WORDS.get(k, ())}
        wanted = set().union(*(_WANTS.get(k, frozenset([k])) for k in want)) if want else set()
        n = len(units)
        df = Counter(t for u in units for t in set(u.terms))
        avg = sum(sum(u.terms.values()) for u in units) / max(1, n)
        out = []
        for u in units:
            length = sum(u.terms.values())
            sc = 0.0
            for t in q:
                f = u.terms.get(t, 0)
                if f:
                    idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                    sc += idf * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * length / max(avg, 1e-9)))
            k = len(wanted & u.kinds)  # a unit holding the kind of value asked for is a candidate, not only context
            sc = sc * (1 + k) + self.o.type_bonus * k
            out.append(sc)
        return out

    def _pack(self, units: _Units, scores: list[list[float]], budget: int) -> tuple[list[int], list[list[int]]]:
        items = units.items
        used_anchors: set[tuple[int, int]] = set()
        picked: set[int] = set()
        spent = 0

        def cost(i: int) -> int:
            return items[i].tokens + 1 + sum(units.anchor_tokens.get(a, 0) + 1 for a in items[i].anchors
                                             if a not in used_anchors)

        def take(i: int) -> bool:
            nonlocal spent
            if i in picked:
                return True
            c = cost(i)
            if spent + c > budget:
                return False
            spent += c
            used_anchors.update(items[i].anchors)
            picked.add(i)
            return True

        head = min(int(budget * self.o.head_share), self.o.head_tokens)
        if items and head < cost(0) <= budget * 0.35:
            head = cost(0)  # the first unit whole rather than nothing of the opening
        for i in range(len(items)):
            if spent + cost(i) > head:
                break
            take(i)
        per_query = self._round_robin(items, scores, take)
        total = [sum(s[i] for s in scores) for i in range(len(items))]
        for i in sorted(range(len(items)), key=lambda k: (-total[k], k)):
            if total[i] <= 0:
                break
            take(i)
        if not picked and items:  # nothing scored: the beginning of the document (titles, parties)
            for i in range(len(items)):
                if not take(i):
                    break
        return sorted(picked), per_query

    def _round_robin(self, items: list[_Unit], scores: list[list[float]],
                     take: Callable[[int], bool]) -> list[list[int]]:
        """The queries take turns, each picking its best unit left (discounted when it repeats words the query
        already has: diversity) that fits what is left of the budget, until its best is worth less than
        ``min_relevance`` of its top unit. A small budget thus still gives every field its own best unit."""
        order = [sorted((i for i, v in enumerate(sc) if v > 0), key=sc.__getitem__, reverse=True) for sc in scores]
        top = [sc[o[0]] if o else 0.0 for sc, o in zip(scores, order, strict=True)]
        per_query: list[list[int]] = [[] for _ in scores]
        seen: list[Counter[str]] = [Counter() for _ in scores]
        done: list[set[int]] = [set() for _ in scores]  # read for the query, or too big for what is left
        active = [bool(o) for o in order]
        while any(active):
            bests = []
            for qi, sc in enumerate(scores):
                if not active[qi]:
                    continue
                best, best_val = -1, 0.0
                for i in order[qi]:
                    if sc[i] <= best_val:
                        break  # sorted by score: nothing further can beat it
                    if i in done[qi]:
                        continue
                    terms = items[i].terms
                    overlap = sum(1 for t in terms if t in seen[qi]) / max(1, len(terms))
                    val = sc[i] * (1 - self.o.diversity * overlap)
                    if val > best_val:
                        best, best_val = i, val
                if best < 0 or best_val < self.o.min_relevance * top[qi]:
                    active[qi] = False
                else:
                    bests.append((-best_val, qi, best))
            for _, qi, best in sorted(bests):  # in each round the surest field goes first
                done[qi].add(best)
                if take(best):  # else it does not fit: the query tries a smaller unit on its next turn
                    per_query[qi].append(best)
                    seen[qi].update(items[best].terms)
        return per_query


def _emit(view: TextView, units: _Units, picked: list[int]) -> TextView:
    """The picked units in document order, each after its anchors (once), ``…`` where text was skipped."""
    b = ViewBuilder(view.text, doc_id=view.doc_id)
    shown: set[tuple[int, int]] = set()
    last_end = -1

    def piece(s: int, e: int) -> None:
        nonlocal last_end
        if b.length:  # "…" marks text that was skipped between two pieces
            b.insert("\n" if last_end >= 0 and view.text[last_end:s].strip() == "" else "\n…\n")
        b.copy(s, e)
        last_end = e

    for i in picked:
        u = units.items[i]
        for a in u.anchors:
            if a not in shown:
                shown.add(a)
                piece(*a)
        piece(u.start, u.end)
    return view.derive(b.build())


__all__ = ["StructuredSelector"]
