"""Grounding: find the exact source text that supports a value, or say honestly that none does.

:func:`ground` cascades, stopping at the first level that finds support:

1. **EXACT** — the value occurs verbatim. Repeated mentions are resolved by the ``hint`` span (an
   occurrence inside it wins, then the nearest), then by word boundaries, then by position.
2. **NORMALIZED** — equal after normalisation: case, whitespace and punctuation (``Acme\\nCorp``), spaces
   between CJK characters, typed numbers (``1575.00`` ↔ ``$1,575.00``, ``1.575,00 €``) and typed dates
   (``2024-03-15`` ↔ ``15 March 2024`` ↔ ``03/15/24``). Text is searched with patterns built from the
   value, so offsets come straight from the source — no index maps to get wrong.
3. **FUZZY** — approximately equal (``Acme Corporaton``): candidate windows from rare character trigrams,
   scored with Myers' bit-parallel edit distance; accepted when the similarity reaches the threshold.
   Never used for numbers or dates, where one wrong digit is a different fact.
4. **UNGROUNDED** — no spans.

Spans are never truncated: every reported span covers all of the value's matched content, and fuzzy spans
are widened to whole words. ``text[s.start:s.end]`` is always the evidence.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from evidex.ground.fuzzy import distance, search_all
from evidex.ground.normalize import to_decimal
from evidex.model.extraction import Grounding
from evidex.model.schema import FieldType
from evidex.model.span import Span
from evidex.model.textview import TextView
from evidex.scan.dates import date_readings, is_iso_date, scan_dates
from evidex.scan.numbers import Money, money_readings, scan_amounts

_NUMERIC = (FieldType.INTEGER, FieldType.DECIMAL, FieldType.MONEY)
_MAX_OCCURRENCES = 5000
_HINT_WINDOW = 4000  # chars either side of a hint searched for repeated mentions
# Scripts written without spaces between words: matched character by character, no word boundaries.
_CJK = "\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\u0e00-\u0e7f"
_NO_BOUNDARY_RE = re.compile(rf"[{_CJK}\uac00-\ud7af\u1100-\u11ff]")
_CJK_RE = re.compile(rf"[{_CJK}]")
_PIECE_RE = re.compile(rf"[{_CJK}]|\d+|[^\W\d_{_CJK}]+")


@dataclass(frozen=True, slots=True)
class Alignment:
    """Where a value is supported in a text: ``spans`` (empty iff UNGROUNDED), status, similarity score."""

    spans: tuple[Span, ...]
    status: Grounding
    score: float
    method: str = ""  # exact | text | date | number | fuzzy (+ "via-view", "nearby")
    candidates: int = 0  # matches found at this level (>1: a repeated mention, resolved by the hint)

    @property
    def span(self) -> Span | None:
        return self.spans[0] if self.spans else None

    @property
    def grounded(self) -> bool:
        return self.status is not Grounding.UNGROUNDED


UNGROUNDED = Alignment((), Grounding.UNGROUNDED, 0.0)


# ------------------------------------------------------------------------------------------- ranking
def _hint_rank(span: Span, hint: Span | None) -> tuple[int, int]:
    """(0 inside the hint, 1 overlapping it, 2 elsewhere or no hint; distance to the hint)."""
    if hint is None:
        return 2, 0
    if hint.contains(span):
        return 0, 0
    if hint.overlaps(span) or (span.empty and hint.contains_pos(span.start)):
        return 1, 0
    return 2, hint.start - span.end if span.end <= hint.start else span.start - hint.end


def _word_char(c: str) -> bool:
    return c.isalnum() and not _NO_BOUNDARY_RE.match(c)


def _bounded(text: str, s: int, e: int, *, numeric: bool) -> bool:
    """The span does not cut a word; for numbers, it does not cut a longer number (``2015``, ``12.50``),
    while units may touch it (``250mg``)."""
    a, b = text[s], text[e - 1]
    if s > 0 and _word_char(a) and _word_char(text[s - 1]) and not (numeric and (a.isdigit() != text[s - 1].isdigit())):
        return False
    if e < len(text) and _word_char(b) and _word_char(text[e]) and not (numeric and (b.isdigit() != text[e].isdigit())):
        return False
    if numeric:
        if s >= 2 and a.isdigit() and text[s - 1] in ".," and text[s - 2].isdigit():
            return False
        if e + 1 < len(text) and b.isdigit() and text[e] in ".," and text[e + 1].isdigit():
            return False
    return True


@lru_cache(maxsize=2048)
def _whole_re(v: str, numeric: bool) -> re.Pattern[str]:
    """``v`` verbatim where :func:`_bounded` holds. Look-behinds follow the literal so that the regex
    engine can skip ahead on it."""
    n = len(v)
    pre: list[str] = []
    post: list[str] = []
    if v[0].isdigit() and numeric:
        pre += [rf"(?<!\d.{{{n}}})", rf"(?<!\d[.,].{{{n}}})"]
    elif _word_char(v[0]):
        pre.append(rf"(?<![^\W_].{{{n}}})")  # (a CJK neighbour counts as a word here: compiling a
        # CJK-aware class per value costs milliseconds; such matches fall back to "exact-subword")
    if v[-1].isdigit() and numeric:
        post += [r"(?!\d)", r"(?![.,]\d)"]
    elif _word_char(v[-1]):
        post.append(r"(?![^\W_])")
    return re.compile(re.escape(v) + "".join(pre) + "".join(post), re.DOTALL)


def _pick(cands: list[tuple[tuple[Any, ...], Span]], hint: Span | None) -> Span:
    return min(cands, key=lambda c: (_hint_rank(c[1], hint)[0], *c[0], _hint_rank(c[1], hint)[1], c[1].start))[1]


# ------------------------------------------------------------------------------------------- levels
def _exact(v: str, text: str, lo: int, hi: int, hint: Span | None, numeric: bool) -> Alignment | None:
    n = len(v)
    count = text.count(v, lo, hi)
    if not count:
        return None
    if hint is None:  # the first whole-word occurrence in reading order, else the first one
        m = _whole_re(v, numeric).search(text, lo)
        if m is not None and m.end() <= hi:
            return Alignment((Span(m.start(), m.end()),), Grounding.EXACT, 1.0, "exact", count)
        first = p = text.find(v, lo, hi)
        for _ in range(256):  # the regex treats CJK neighbours as words; _bounded does not
            if p == -1:
                break
            if _bounded(text, p, p + n, numeric=numeric):
                return Alignment((Span(p, p + n),), Grounding.EXACT, 1.0, "exact", count)
            p = text.find(v, p + 1, hi)
        if numeric:
            return None
        return Alignment((Span(first, first + n),), Grounding.EXACT, 1.0, "exact-subword", count)
    # around the hint: every occurrence nearby, plus the nearest ones on either side
    wlo, whi = max(lo, hint.start - _HINT_WINDOW), min(hi, hint.end + _HINT_WINDOW)
    starts: list[int] = []
    p = text.find(v, wlo, whi)
    while p != -1 and len(starts) < _MAX_OCCURRENCES:
        starts.append(p)
        p = text.find(v, p + 1, whi)
    if not starts:
        starts = [q for q in (text.rfind(v, lo, wlo + n - 1), text.find(v, max(lo, whi - n + 1), hi)) if q != -1]
    cands: list[tuple[tuple[Any, ...], Span]] = []
    for s in starts:
        ok = _bounded(text, s, s + n, numeric=numeric)
        if ok or not numeric:
            cands.append(((0 if ok else 1,), Span(s, s + n)))
    if not cands:
        return None
    best = _pick(cands, hint)
    whole = _bounded(text, best.start, best.end, numeric=numeric)
    return Alignment((best,), Grounding.EXACT, 1.0, "exact" if whole else "exact-subword", count)


@lru_cache(maxsize=2048)
def _text_pattern(value: str) -> re.Pattern[str] | None:
    """A pattern matching ``value`` up to case, whitespace and punctuation (and spaces inside CJK)."""
    pieces = list(_PIECE_RE.finditer(value))
    if not pieces:
        return None
    parts: list[str] = []
    for i, m in enumerate(pieces):
        if i:
            prev = pieces[i - 1]
            a, b = prev.group(), m.group()
            if prev.end() == m.start():
                parts.append(r"\s{0,3}" if _CJK_RE.match(a[-1]) or _CJK_RE.match(b[0]) else r"\s?")
            else:  # the value had separators here: any short run of non-word characters (or none)
                parts.append(r"[\W_]{1,8}" if a[-1].isdigit() and b[0].isdigit() else r"[\W_]{0,8}")
        parts.append(re.escape(m.group()))
    first, last = pieces[0].group(), pieces[-1].group()[-1]
    if not _NO_BOUNDARY_RE.match(first[0]):  # word boundary, checked after the first piece so that the
        parts.insert(1, rf"(?<![^\W_]{'.' * len(first)})")  # engine can skip ahead on its literal prefix
    post = "" if _NO_BOUNDARY_RE.match(last) else r"(?![^\W_])"
    return re.compile("".join(parts) + post, re.IGNORECASE)


def _normalized_text(v: str, text: str, lo: int, hi: int, hint: Span | None) -> Alignment | None:
    pat = _text_pattern(v)
    if pat is None:
        return None
    cands: list[tuple[tuple[Any, ...], Span]] = []
    for m in pat.finditer(text, lo):  # no endpos: look-arounds must see the real text
        if m.start() >= hi or len(cands) >= _MAX_OCCURRENCES:
            break
        if m.end() <= hi and m.end() > m.start():
            cands.append(((), Span(m.start(), m.end())))
    if not cands:
        return None
    return Alignment((_pick(cands, hint),), Grounding.NORMALIZED, 1.0, "text", len(cands))


def _date_targets(v: str, typed: Any, dayfirst: bool | None) -> list[str]:
    out: list[str] = [typed] if isinstance(typed, str) and is_iso_date(typed) else []
    out += [r for r in date_readings(v, dayfirst=dayfirst) if r not in out]
    return out


def _dates(targets: list[str], text: str, lo: int, hi: int, hint: Span | None) -> Alignment | None:
    cands: list[tuple[tuple[Any, ...], Span]] = [
        ((k, 0 if preferred else 1), Span(s, e)) for s, e, k, preferred in scan_dates(text, targets, lo, hi)
    ]
    if not cands:
        return None
    return Alignment((_pick(cands, hint),), Grounding.NORMALIZED, 1.0, "date", len(cands))


def _money_targets(v: str, typed: Any, ftype: FieldType) -> tuple[list[Decimal], str | None]:
    """Amounts the value may denote (preferred first) and its currency, if any."""
    amounts: list[Decimal] = []
    currency: str | None = None
    if isinstance(typed, dict) and "amount" in typed:
        d = to_decimal(typed["amount"])
        if d is not None:
            amounts.append(d)
        currency = typed.get("currency") or None
    elif (d := to_decimal(typed)) is not None:
        amounts.append(d)
    readings: list[Money] = money_readings(v)
    for r in readings:
        if r["amount"] not in amounts:
            amounts.append(r["amount"])
        currency = currency or r["currency"]
    if ftype is FieldType.INTEGER:
        amounts = [a for a in amounts if a == a.to_integral_value()] or amounts
    return amounts, currency


def _amounts(
    targets: list[Decimal], currency: str | None, ftype: FieldType, text: str, lo: int, hi: int, hint: Span | None
) -> Alignment | None:
    if not targets:
        return None
    tokens = scan_amounts(text, [*targets, *(-t for t in targets)], lo, hi)
    cands: list[tuple[tuple[Any, ...], Span]] = []
    with_currency = ftype is FieldType.MONEY or currency is not None
    for t in tokens:
        tier = next((i * 2 + (0 if t.values[0] == x else 1) for i, x in enumerate(targets) if x in t.values), None)
        sign_flip = False
        if tier is None:
            tier = next((100 + i for i, x in enumerate(targets) if -x in t.values), None)
            sign_flip = True
            if tier is None:
                continue
        if currency and t.currencies and currency not in t.currencies:
            continue
        cur_tier = 0 if currency and currency in t.currencies else 1
        if with_currency or (t.values[0] < 0 and not sign_flip):
            span = Span(t.start, t.end)
        else:
            span = Span(t.num_start, t.num_end)
        cands.append(((tier, cur_tier), span))
    if not cands:
        return None
    return Alignment((_pick(cands, hint),), Grounding.NORMALIZED, 1.0, "number", len(cands))


# ------------------------------------------------------------------------------------------- fuzzy
@lru_cache(maxsize=4)
def _lower(text: str) -> str:
    low = text.lower()
    if len(low) != len(text):  # a few characters lower-case to two ('İ'): keep offsets aligned
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return low


def _collapse(s: str, base: int) -> tuple[str, list[int]]:
    """Whitespace runs → one space, with each output character's offset (``base`` + index) in the input."""
    out: list[str] = []
    idx: list[int] = []
    space = False
    for k, ch in enumerate(s):
        if ch.isspace():
            if space:
                continue
            ch, space = " ", True
        else:
            space = False
        out.append(ch)
        idx.append(base + k)
    return "".join(out), idx


def _fuzzy(v: str, text: str, lo: int, hi: int, hint: Span | None, threshold: float) -> Alignment | None:
    pv = " ".join(v.lower().split())
    m = len(pv)
    if m < 4 or m > 5000 or hi - lo < 1:
        return None
    low = _lower(text)
    grams: dict[str, int] = {}
    for i in range(m - 2):
        grams.setdefault(pv[i : i + 3], i)
    items = list(grams.items())
    if len(items) > 16:  # an even sample: enough to locate the value, cheap on long texts
        step = len(items) / 16
        items = [items[int(k * step)] for k in range(16)]
    counted = sorted((c, g, k) for g, k in items if (c := low.count(g, lo, hi)))
    if not counted:
        return None
    bucket = max(8, m // 2)
    votes: Counter[int] = Counter()
    for c, g, k in counted[:8]:
        if c > 2000 and votes:
            break
        p = low.find(g, lo, hi)
        while p != -1:
            votes[(p - k) // bucket] += 1
            p = low.find(g, p + 1, hi)
    chosen = {b for b, _ in votes.most_common(6)}
    if hint is not None:
        near = [b for b in votes if hint.start - m <= b * bucket <= hint.end]
        chosen.update(sorted(near, key=lambda b: -votes[b])[:2])
    slack = m // 4 + 2
    windows = sorted((max(lo, b * bucket - slack), min(hi, (b + 1) * bucket + m + slack)) for b in chosen)
    merged: list[list[int]] = []
    for ws, we in windows:
        if merged and ws <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], we)
        elif ws < we:
            merged.append([ws, we])
    best: tuple[float, tuple[int, int], Span] | None = None
    found = 0
    for ws, we in merged:
        cw, idx = _collapse(low[ws:we], ws)
        d0, spans = search_all(pv, cw)
        if d0 > (1.0 - threshold) * m + 1:
            continue
        ok = False
        for s, e in spans:  # equally close substrings: rescore each once trimmed and widened to words
            span = _widen(text, idx[s], idx[e - 1] + 1, lo, hi, m) if e > s else None
            if span is None:
                continue
            seg = " ".join(low[span.start : span.end].split())
            if not covers(pv, seg):
                continue  # the evidence must support the whole value: every digit, every word
            d = d0 if seg == cw[s:e] else distance(pv, seg)
            score = 1.0 - d / max(m, len(seg))
            ok = ok or score >= threshold
            key = (-score, _hint_rank(span, hint))
            if best is None or key < (-best[0], best[1]):
                best = (score, _hint_rank(span, hint), span)
        found += ok
    if best is None or best[0] < threshold:
        return None
    status = Grounding.NORMALIZED if best[0] >= 1.0 else Grounding.FUZZY
    return Alignment((best[2],), status, round(best[0], 4), "fuzzy", found)


_DIGITS = re.compile(r"\d+")
_WORDS = re.compile(r"[^\W\d_]{2,}")


def covers(value: str, evidence: str) -> bool:
    """Whether fuzzy ``evidence`` supports all of ``value``: the same digits in the same order (a number is never
    "approximately" right), and each word of the value found in the evidence within one edit (two for words of 8+
    letters) — so "INV-6" is not supported by "INV-", nor "John Smith" by "John".

    >>> covers("acme corporaton", "acme corporation"), covers("inv-6", "inv-"), covers("john smith", "john")
    (True, False, False)
    """
    if _DIGITS.findall(value) != _DIGITS.findall(evidence):
        return False
    squeezed = "".join(evidence.lower().split())  # a typo may join or split words
    for w in dict.fromkeys(_WORDS.findall(value.lower())):
        budget = 2 if len(w) >= 8 else 1
        if w not in squeezed and search_all(w, squeezed)[0] > budget:
            return False
    return True


def _widen(text: str, s: int, e: int, lo: int, hi: int, m: int) -> Span | None:
    """Trim surrounding whitespace, then extend a span that cuts a word to the whole word (bounded)."""
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    if e <= s:
        return None
    cap = m // 4 + 2
    k = 0
    while s > lo and k < cap and _word_char(text[s - 1]) and _word_char(text[s]):
        s, k = s - 1, k + 1
    k = 0
    while e < hi and k < cap and _word_char(text[e - 1]) and _word_char(text[e]):
        e, k = e + 1, k + 1
    return Span(s, e)


# ------------------------------------------------------------------------------------------- entry points
def ground(
    value_raw: str,
    text: str,
    *,
    field_type: FieldType = FieldType.STRING,
    hint: Span | None = None,
    typed_value: Any = None,
    region: Span | None = None,
    dayfirst: bool | None = None,
    fuzzy_threshold: float = 0.8,
    fuzzy: bool = True,
) -> Alignment:
    """Align ``value_raw`` (what the engine wrote) against ``text``; see the module docstring.

    ``hint`` (a span of ``text``, e.g. the chunk or node the value came from) picks among repeated
    mentions; ``region`` restricts the search; ``typed_value`` is the normalised value, if known.

    >>> t = "Total due: $1,575.00 by 15 March 2024."
    >>> a = ground("1575.00", t, field_type=FieldType.MONEY); a.status.value, a.span.slice(t)
    ('normalized', '$1,575.00')
    >>> a = ground("2024-03-15", t, field_type=FieldType.DATE); a.status.value, a.span.slice(t)
    ('normalized', '15 March 2024')
    """
    if not isinstance(value_raw, str):
        value_raw = str(value_raw)
    n = len(text)
    lo, hi = (0, n) if region is None else (min(region.start, n), min(region.end, n))
    if hint is not None and hint.start > n:
        hint = None
    elif hint is not None and hint.end > n:
        hint = Span(hint.start, n)
    v = value_raw.strip()
    if not v or lo >= hi:
        return UNGROUNDED
    numeric = field_type in _NUMERIC or field_type is FieldType.DATE
    exact = _exact(value_raw, text, lo, hi, hint, numeric)
    if exact is None and v != value_raw:
        exact = _exact(v, text, lo, hi, hint, numeric)
    if exact is not None and exact.method == "exact":
        return exact
    # A verbatim match that cuts a word ("Acme Corp" inside "Acme Corporation") is weaker evidence than
    # a whole-word normalized match; it wins only when it is closer to the hint.

    def by_date() -> Alignment | None:
        targets = _date_targets(v, typed_value, dayfirst)
        return _dates(targets, text, lo, hi, hint) if targets else None

    def by_number() -> Alignment | None:
        targets, currency = _money_targets(v, typed_value, field_type)
        return _amounts(targets, currency, field_type, text, lo, hi, hint)

    if field_type is FieldType.DATE:
        steps = [by_date]
    elif field_type in _NUMERIC:
        steps = [by_number]
    else:
        steps = [lambda: _normalized_text(v, text, lo, hi, hint), by_date, by_number]
    for step in steps:
        found = step()
        if found is not None:
            if exact is not None and exact.span and found.span and (
                exact.span == found.span
                or (hint is not None and _hint_rank(exact.span, hint) <= _hint_rank(found.span, hint))
            ):
                return exact
            return found
    if exact is not None:
        return exact
    if fuzzy and not numeric:
        found = _fuzzy(v, text, lo, hi, hint, fuzzy_threshold)
        if found is not None:
            return found
    return UNGROUNDED


def ground_in_view(
    value_raw: str,
    view: TextView,
    source_text: str,
    *,
    field_type: FieldType = FieldType.STRING,
    hint: Span | None = None,
    typed_value: Any = None,
    dayfirst: bool | None = None,
    fuzzy_threshold: float = 0.8,
    fuzzy: bool = True,
) -> Alignment:
    """Align against a derived text (Markdown, a compressed context) and map the evidence to the source.

    ``hint`` is a span of the *view*. The mapped source text is checked to still support the value (a
    view may collapse whitespace or render markup); if it does not, the value is re-grounded in the source
    near the mapped location only — never searched for blindly elsewhere in the document.
    """
    kw: dict[str, Any] = {"field_type": field_type, "typed_value": typed_value, "dayfirst": dayfirst,
                          "fuzzy_threshold": fuzzy_threshold, "fuzzy": fuzzy}
    a = ground(value_raw, view.text, hint=hint, **kw)
    if not a.spans:
        return a
    mapped = view.to_source(a.spans[0])
    b = ground(value_raw, source_text, hint=mapped, region=mapped, **kw)
    if b.spans:
        return Alignment(b.spans, b.status, b.score, f"{b.method}+via-view", a.candidates)
    margin = max(64, 2 * len(value_raw))
    near = Span(max(0, mapped.start - margin), min(len(source_text), mapped.end + margin))
    c = ground(value_raw, source_text, hint=mapped, region=near, **kw)
    if c.spans:
        return Alignment(c.spans, c.status, c.score, f"{c.method}+nearby", a.candidates)
    return UNGROUNDED


__all__ = ["UNGROUNDED", "Alignment", "ground", "ground_in_view"]
