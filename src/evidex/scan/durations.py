"""Durations ("two (2) years", "18 months", "ninety days") → ``"{number} {unit}"`` (e.g. ``"2 years"``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_UNITS = {"year": "year", "yr": "year", "month": "month", "mo": "month", "week": "week", "wk": "week", "day": "day"}
_SMALL = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_WORD = "|".join(sorted([*_SMALL, *_TENS], key=len, reverse=True))
_NUMWORDS = rf"(?:(?:{'|'.join(_TENS)})[\s-]+(?:{'|'.join(_SMALL[1:10])})|{_WORD}|hundred)"
DURATION_RE = re.compile(
    rf"(?<![\w.])(?P<num>\d{{1,3}}(?:\.\d+)?|{_NUMWORDS}|a|an|one)(?:\s*\(\s*(?P<paren>\d{{1,3}})\s*\))?"
    rf"[\s-]+(?:calendar\s+|full\s+|consecutive\s+)?(?P<unit>years?|yrs?|months?|mos?|weeks?|wks?|days?)\b",
    re.IGNORECASE,
)


def _word_number(w: str) -> int | None:
    w = w.lower().replace("-", " ").strip()
    if w.isdigit():
        return int(w)
    if w in ("a", "an", "one"):
        return 1
    if w == "hundred":
        return 100
    if w in _SMALL:
        return _SMALL.index(w)
    parts = w.split()
    if parts and parts[0] in _TENS:
        return _TENS[parts[0]] + (_SMALL.index(parts[1]) if len(parts) > 1 and parts[1] in _SMALL else 0)
    return None


@dataclass(frozen=True, slots=True)
class DurationToken:
    start: int
    end: int
    value: str  # normalized, e.g. "2 years"


def _value(m: re.Match[str]) -> str | None:
    n = int(m.group("paren")) if m.group("paren") else None
    if n is None:
        num = m.group("num")
        try:
            n = int(float(num)) if num[0].isdigit() else _word_number(num)
        except ValueError:
            n = None
    if n is None:
        return None
    unit = _UNITS.get(m.group("unit").lower().rstrip("s"), m.group("unit").lower().rstrip("s"))
    return f"{n} {unit}{'' if n == 1 else 's'}"


def normalize_duration(raw: str) -> str | None:
    m = DURATION_RE.search(raw)
    if m is None or len(raw.strip()) > len(m.group(0)) + 24:  # mostly other text: not a duration value
        return None
    return _value(m)


@lru_cache(maxsize=8)
def find_durations(text: str) -> tuple[DurationToken, ...]:
    out = []
    for m in DURATION_RE.finditer(text):
        v = _value(m)
        if v is not None:
            out.append(DurationToken(m.start(), m.end(), v))
    return tuple(out)


__all__ = ["DURATION_RE", "DurationToken", "find_durations", "normalize_duration"]
