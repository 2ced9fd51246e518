"""Date recognition: surface forms → ISO ``YYYY-MM-DD``, and a scanner that finds dates in running text.

One compiled pattern serves both jobs: :func:`normalize_date` full-matches it against a value, and
:func:`find_dates` scans a document with it (cached per text) so that ``2024-03-15`` can be grounded on
``15 March 2024``. Purely numeric dates can be ambiguous (``03/04/2024``); every reading is kept, the
preferred one first: month-first for ``/`` and ``-`` (US), day-first for ``.`` (European), unless
``dayfirst`` says otherwise; a first number above 12 can only be a day.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from functools import lru_cache

_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("january", "jan", "januar", "jänner", "janvier", "janv", "enero", "ene", "gennaio", "gen", "januari"),
    2: ("february", "feb", "febr", "februar", "février", "fevrier", "févr", "fevr", "febrero", "febbraio", "februari"),
    3: ("march", "mar", "märz", "maerz", "mär", "mars", "marzo", "maart"),
    4: ("april", "apr", "avril", "avr", "abril", "abr", "aprile"),
    5: ("may", "mai", "mayo", "maggio", "mei"),
    6: ("june", "jun", "juni", "juin", "junio", "giugno"),
    7: ("july", "jul", "juli", "juillet", "juil", "julio", "luglio"),
    8: ("august", "aug", "août", "aout", "agosto", "ago", "augustus"),
    9: ("september", "sep", "sept", "septembre", "septiembre", "setiembre", "settembre"),
    10: ("october", "oct", "oktober", "okt", "octobre", "octubre", "ottobre", "ott"),
    11: ("november", "nov", "novembre", "noviembre"),
    12: ("december", "dec", "dezember", "dez", "décembre", "decembre", "déc", "diciembre", "dic", "dicembre"),
}
MONTHS: dict[str, int] = {name: num for num, names in _MONTH_NAMES.items() for name in names}

_MON = "|".join(re.escape(n) for n in sorted(MONTHS, key=len, reverse=True))
_ORD = r"(?:st|nd|rd|th|er|e|º|°|\.)?"

# Order matters at equal start positions: ISO before numeric before textual.
_DATE_PATTERN = rf"""
  (?<![\d.,/-])(?P<y1>\d{{4}})(?P<s1>[-/.])(?P<m1>\d{{1,2}})(?P=s1)(?P<d1>\d{{1,2}})(?!\d|[.,/-]\d)
| (?P<y2>\d{{4}})\s*[年년]\s*(?P<m2>\d{{1,2}})\s*[月월]\s*(?P<d2>\d{{1,2}})(?:\s*[日일号])?
| (?<![\d.,/-])(?P<a3>\d{{1,2}})(?P<s3>[-/.])(?P<b3>\d{{1,2}})(?P=s3)(?P<y3>\d{{4}}|\d{{2}})(?!\d|[.,/-]\d)
| (?<![\w])(?:the\s+)?(?P<d4>[0-3]?\d){_ORD}(?:\s+day)?(?:\s+(?:of|de))?[\s,./-]*(?=[^\W\d_]{{3}})
      (?P<m4>{_MON})(?![^\W\d_])\.?[\s,./-]*(?:(?:de|in\s+the\s+year(?:\s+of)?)\s+)?
      (?P<y4>\d{{4}}|'?\d{{2}})(?!\d)
| (?<![\w])(?=[^\W\d_]{{3,10}}\.?\s*\d)(?P<m5>{_MON})(?![^\W\d_])\.?\s*(?P<d5>[0-3]?\d)(?:st|nd|rd|th)?(?!\d)\s*,?\s*
      (?P<y5>\d{{4}}|'\d{{2}})(?!\d)
"""
DATE_RE = re.compile(_DATE_PATTERN, re.IGNORECASE | re.VERBOSE)

_WEEKDAY_RE = re.compile(
    r"^(?:(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|rsday|urday|sday)?|"
    r"montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|lundi|mardi|mercredi|jeudi|vendredi|"
    r"samedi|dimanche|lunes|martes|miércoles|jueves|viernes|sábado|domingo)\.?,?\s+",
    re.IGNORECASE,
)
_PREFIX_RE = re.compile(r"^(?:dated|date[d:]?|on|as\s+of|effective)\s*:?\s+", re.IGNORECASE)
_TIME_RE = re.compile(
    r"(?:[T\s,]+|\s+at\s+)\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[ap]\.?m\.?)?\s*"
    r"(?:z|utc|gmt|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
_COMPACT_RE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_ISO_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _year(s: str) -> int:
    s = s.lstrip("'")
    y = int(s)
    if len(s) == 2:  # POSIX pivot, as strptime's %y: 69-99 → 19xx, 00-68 → 20xx
        y += 1900 if y >= 69 else 2000
    return y


def _iso(y: int, m: int, d: int) -> str | None:
    try:
        return _dt.date(y, m, d).isoformat()
    except ValueError:
        return None


def _readings(m: re.Match[str], dayfirst: bool | None) -> list[str]:
    """All valid ISO readings of a match, the preferred one first."""
    g = m.group
    out: list[str | None] = []
    if g("y1") is not None:
        y, a, b = int(g("y1")), int(g("m1")), int(g("d1"))
        out = [_iso(y, a, b)] if a <= 12 else [_iso(y, b, a)]  # 2024/15/03 can only be Y-D-M
    elif g("y2") is not None:
        out = [_iso(int(g("y2")), int(g("m2")), int(g("d2")))]
    elif g("y3") is not None:
        a, b, y = int(g("a3")), int(g("b3")), _year(g("y3"))
        dmy, mdy = _iso(y, b, a), _iso(y, a, b)
        first_day = dayfirst if dayfirst is not None else g("s3") == "."
        if a > 12:
            out = [dmy]
        elif b > 12:
            out = [mdy]
        else:
            out = [dmy, mdy] if first_day else [mdy, dmy]
    elif g("m4") is not None:
        out = [_iso(_year(g("y4")), MONTHS[g("m4").lower()], int(g("d4")))]
    elif g("m5") is not None:
        out = [_iso(_year(g("y5")), MONTHS[g("m5").lower()], int(g("d5")))]
    seen: list[str] = []
    for x in out:
        if x is not None and x not in seen:
            seen.append(x)
    return seen


def _clean(raw: str) -> str:
    s = raw.strip().strip("\"'“”‘’()[]").strip().rstrip(".,;")
    s = _PREFIX_RE.sub("", s)
    s = _WEEKDAY_RE.sub("", s)
    s = _TIME_RE.sub("", s)
    return " ".join(s.split())


def date_readings(raw: str, *, dayfirst: bool | None = None) -> list[str]:
    """Every ISO date ``raw`` may denote (preferred first); ``[]`` if it is not a date."""
    if not isinstance(raw, str):
        return []
    s = _clean(raw)
    if not s or len(s) > 64:
        return []
    c = _COMPACT_RE.fullmatch(s)
    if c:
        iso = _iso(int(c[1]), int(c[2]), int(c[3]))
        return [iso] if iso and int(c[1]) >= 1000 else []
    m = DATE_RE.fullmatch(s)
    if m is None:
        return []
    return _readings(m, dayfirst)


def normalize_date(raw: str, *, dayfirst: bool | None = None) -> str | None:
    """``raw`` as ISO ``YYYY-MM-DD``, or None if it is not a (valid, complete) date.

    >>> normalize_date("Mar. 15th, 2024"), normalize_date("15.03.2024"), normalize_date("03/15/24")
    ('2024-03-15', '2024-03-15', '2024-03-15')
    >>> normalize_date("03/04/24"), normalize_date("03/04/24", dayfirst=True), normalize_date("Feb 30, 2024")
    ('2024-03-04', '2024-04-03', None)
    """
    r = date_readings(raw, dayfirst=dayfirst)
    return r[0] if r else None


def is_iso_date(s: str) -> bool:
    return bool(_ISO_RE.fullmatch(s)) and _iso(int(s[:4]), int(s[5:7]), int(s[8:10])) == s


_DIGITS_RE = re.compile(r"\d+")
_MARGIN = 24


@dataclass(frozen=True, slots=True)
class DateToken:
    start: int
    end: int
    readings: tuple[str, ...]  # ISO dates, preferred first


@lru_cache(maxsize=8)
def find_dates(text: str) -> tuple[DateToken, ...]:
    """Every date expression in ``text`` (cached per text: grounding calls this once per document)."""
    out: list[DateToken] = []
    # Every date holds a digit and starts at most ~20 characters before its first one, so only the
    # neighbourhoods of digit runs are searched: prose without digits costs almost nothing.
    n = len(text)
    regions: list[list[int]] = []
    for d in _DIGITS_RE.finditer(text):
        lo, hi = max(0, d.start() - _MARGIN), min(n, d.end() + _MARGIN)
        if regions and lo <= regions[-1][1]:
            regions[-1][1] = hi
        else:
            regions.append([lo, hi])
    for lo, hi in regions:
        for m in DATE_RE.finditer(text, lo, hi):
            r = _readings(m, None)
            if r:
                out.append(DateToken(m.start(), m.end(), tuple(r)))
    return tuple(out)


def scan_dates(text: str, targets: list[str], start: int = 0, end: int | None = None) -> list[tuple[int, int, int, bool]]:
    """Date expressions in ``text[start:end]`` that may denote one of the ISO ``targets``.

    Returns ``(start, end, target index, is the expression's preferred reading)``. Every supported form
    writes the day as its own digit run, so only the neighbourhoods of that number are parsed: the cost
    follows the number of candidate days, not the length or density of the text.
    """
    end = len(text) if end is None else end
    out: dict[tuple[int, int], tuple[int, int, int, bool]] = {}
    days = {str(int(t[8:10])) for t in targets if is_iso_date(t)}
    for day in sorted(days):
        for h in re.compile(day + r"(?!\d)").finditer(text, start, end):
            p = h.start()
            q = p - 1 if p > 0 and text[p - 1] == "0" else p
            if q > 0 and text[q - 1].isdigit():
                continue
            for m in DATE_RE.finditer(text, max(start, p - _MARGIN), min(len(text), p + 2 * _MARGIN)):
                if m.start() > p:
                    break
                if m.end() <= p or m.end() > end or (m.end() < len(text) and text[m.end()].isdigit()):
                    continue
                readings = _readings(m, None)
                for k, iso in enumerate(targets):
                    if iso in readings:
                        out.setdefault((m.start(), m.end()), (m.start(), m.end(), k, readings[0] == iso))
                        break
    return sorted(out.values())


__all__ = [
    "DATE_RE", "MONTHS", "DateToken", "date_readings", "find_dates", "is_iso_date", "normalize_date", "scan_dates",
]
