"""Numbers and money amounts: parsing with separator disambiguation, currencies, and a text scanner.

Separators are the hard part. ``1,575.00`` and ``1.575,00`` are the same amount; ``12,50`` is twelve and a
half; ``1,575`` and ``1.575`` are ambiguous. :func:`number_readings` returns every reading (preferred
first): a lone ``,`` before exactly three digits reads as a thousands separator, a lone ``.`` as a decimal
point, except for money, where three decimals are rare and ``1.575`` reads as 1575. Grounding compares
against every reading, so an ambiguous surface form still matches the value it denotes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import TypedDict


class Money(TypedDict):
    amount: Decimal
    currency: str | None


ISO_CURRENCIES = frozenset(
    ["USD", "EUR", "GBP", "JPY", "CNY", "RMB", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK", "ISK", "PLN", "CZK", "HUF", "RON", "BGN", "HRK", "INR", "PKR", "LKR", "NPR", "MYR", "SGD", "HKD", "TWD", "KRW", "IDR", "THB", "PHP", "VND", "BRL", "MXN", "ARS", "CLP", "COP", "PEN", "ZAR", "NGN", "KES", "EGP", "MAD", "RUB", "UAH", "TRY", "ILS", "AED", "SAR", "QAR", "KWD", "BHD", "OMR", "JOD"]
)
# Symbols and local abbreviations → ISO code (longest first when matching).
SYMBOLS: dict[str, str] = {
    "US$": "USD", "CA$": "CAD", "C$": "CAD", "A$": "AUD", "AU$": "AUD", "NZ$": "NZD", "S$": "SGD",
    "HK$": "HKD", "NT$": "TWD", "R$": "BRL", "MX$": "MXN", "$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY",
    "￥": "JPY", "₹": "INR", "₩": "KRW", "₽": "RUB", "₺": "TRY", "₪": "ILS", "฿": "THB", "₫": "VND",
    "₱": "PHP", "₦": "NGN", "₴": "UAH", "zł": "PLN", "Kč": "CZK", "RM": "MYR", "Rp": "IDR", "Rs": "INR",
    "Rs.": "INR", "円": "JPY", "元": "CNY", "kr": "SEK", "kr.": "DKK", "Fr.": "CHF", "CHF": "CHF",
}
# A bare symbol may stand for several currencies; any of them is consistent with it.
SYMBOL_FAMILY: dict[str, frozenset[str]] = {
    "$": frozenset({"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "TWD", "MXN", "ARS", "CLP", "COP"}),
    "¥": frozenset({"JPY", "CNY", "RMB"}), "￥": frozenset({"JPY", "CNY", "RMB"}),
    "kr": frozenset({"SEK", "NOK", "DKK", "ISK"}), "kr.": frozenset({"SEK", "NOK", "DKK", "ISK"}),
    "Rs": frozenset({"INR", "PKR", "LKR", "NPR"}), "Rs.": frozenset({"INR", "PKR", "LKR", "NPR"}),
    "元": frozenset({"CNY", "RMB"}),
}
WORDS: dict[str, str] = {
    "dollar": "USD", "dollars": "USD", "euro": "EUR", "euros": "EUR", "pound": "GBP", "pounds": "GBP",
    "yen": "JPY", "yuan": "CNY", "renminbi": "CNY", "rupee": "INR", "rupees": "INR", "ringgit": "MYR",
    "franc": "CHF", "francs": "CHF",
}

_SIGNED_RE = re.compile(
    r"(?P<open>\()?\s*(?P<sign>[-−+])?\s*(?P<body>\d+(?:[.,'’\u00a0\u202f\u2009 _]\d+)*|\d*[.,]\d+)"
    r"\s*(?P<tail>-|−)?\s*(?P<close>\))?"
)
_SPACES = re.compile(r"\s+")


def _thousands_ok(groups: list[str]) -> bool:
    """``groups`` (split at thousands separators) form a valid grouping: 1,575,000 or Indian 15,75,000."""
    first, rest = groups[0], groups[1:]
    if not rest or not 1 <= len(first) <= 3 or first.startswith("0"):
        return False
    if len(rest[-1]) != 3:
        return False
    mids = rest[:-1]
    return all(len(g) == 3 for g in mids) or (len(first) <= 2 and all(len(g) == 2 for g in mids))


def _split(body: str) -> tuple[list[str], list[str]]:
    groups: list[str] = []
    seps: list[str] = []
    cur = ""
    for ch in body:
        if ch.isdigit():
            cur += ch
        else:
            groups.append(cur)
            seps.append(ch)
            cur = ""
    groups.append(cur)
    return groups, seps


def number_readings(body: str, *, money: bool = False) -> list[Decimal]:
    """Every value a digit string with separators may denote, preferred first; ``[]`` if malformed.

    >>> number_readings("1,575.00"), number_readings("1.575,00"), number_readings("12,50")
    ([Decimal('1575.00')], [Decimal('1575.00')], [Decimal('12.50')])
    >>> number_readings("1,575"), number_readings("1.575"), number_readings("1.575", money=True)
    ([Decimal('1575'), Decimal('1.575')], [Decimal('1.575'), Decimal('1575')], [Decimal('1575'), Decimal('1.575')])
    """
    if body[:1] in ".," and body[1:].isdigit():  # ".5"
        return [Decimal("0." + body[1:])]
    groups, seps = _split(body)
    if not seps:
        return [Decimal(body)] if body.isdigit() else []
    if any(not g for g in groups):
        return []
    readings: list[Decimal] = []
    # (a) the last separator is a decimal point: it must be ',' or '.', used once
    last = seps[-1]
    if last in ".," and seps.count(last) == 1:
        head, head_seps = groups[:-1], seps[:-1]
        if not head_seps or (len(set(head_seps)) == 1 and _thousands_ok(head)):
            readings.append(Decimal("".join(head) + "." + groups[-1]))
    # (b) every separator groups thousands: all the same character
    thousands: Decimal | None = None
    if len(set(seps)) == 1 and _thousands_ok(groups):
        thousands = Decimal("".join(groups))
    if thousands is not None:
        if readings and not (last == "," or money):
            readings.append(thousands)  # "1.575": decimal first
        else:
            readings.insert(0, thousands)
    return [r for i, r in enumerate(readings) if r not in readings[:i]]


def _signed(s: str, *, money: bool) -> list[Decimal]:
    m = _SIGNED_RE.fullmatch(s.strip())
    if m is None:
        return []
    if (m["open"] is None) != (m["close"] is None):
        return []
    vals = number_readings(m["body"], money=money)
    negs = sum(x is not None for x in (m["sign"] if m["sign"] in ("-", "−") else None, m["tail"], m["open"]))
    if negs > 1:
        return []
    return [-v for v in vals] if negs else vals


def parse_number(raw: str) -> Decimal | None:
    """A plain number (signs, parentheses for negatives, any separator convention), or None.

    >>> parse_number("(12.50)"), parse_number("1 575,5"), parse_number("abc")
    (Decimal('-12.50'), Decimal('1575.5'), None)
    """
    if not isinstance(raw, str) or len(raw) > 64:
        return None
    r = _signed(raw, money=False)
    return r[0] if r else None


# ---------------------------------------------------------------------------------------------- money
_SYM_ALT = "|".join(  # a symbol ending in a letter (RM, kr) must not run into a word (RMB, krona)
    re.escape(k) + (r"(?![^\W\d_])" if k[-1].isalpha() else "") for k in sorted(SYMBOLS, key=len, reverse=True)
)
_CODE_ALT = "|".join(sorted(ISO_CURRENCIES))
_CUR = rf"(?:{_SYM_ALT}|(?<![^\W\d_])(?:{_CODE_ALT})(?![^\W\d_]))"
_CUR_I = rf"(?:{_SYM_ALT}|(?<![^\W\d_])(?i:{_CODE_ALT})(?![^\W\d_]))"
_WORD_ALT = "|".join(sorted(WORDS, key=len, reverse=True))


def _currency_of(tok: str) -> str | None:
    tok = tok.strip()
    if tok in SYMBOLS:
        return SYMBOLS[tok]
    up = tok.upper()
    if up in ISO_CURRENCIES:
        return "CNY" if up == "RMB" else up
    return WORDS.get(tok.lower())


def currencies_of(tok: str) -> frozenset[str]:
    """Every ISO code a currency marker is consistent with (``$`` → any dollar)."""
    tok = tok.strip()
    if tok in SYMBOL_FAMILY:
        return SYMBOL_FAMILY[tok]
    c = _currency_of(tok)
    return frozenset({c}) if c else frozenset()


_MONEY_RE = re.compile(
    rf"(?P<neg>[-−])?\s*(?P<pre>{_CUR_I})?\s*(?P<num>.*?)\s*(?P<post>{_CUR_I}|(?i:{_WORD_ALT}))?\.?",
)


def money_readings(raw: str) -> list[Money]:
    """Every ``{"amount", "currency"}`` reading of ``raw`` (preferred first), ``[]`` if not an amount."""
    if not isinstance(raw, str) or len(raw) > 80:
        return []
    s = _SPACES.sub(" ", raw.strip())
    m = _MONEY_RE.fullmatch(s)
    if m is None or not m["num"] or (m["pre"] and m["post"]):
        return []
    cur_tok = m["pre"] or m["post"]
    currency = _currency_of(cur_tok) if cur_tok else None
    num = m["num"]
    if m["neg"]:
        if num.lstrip().startswith(("-", "−", "(")):
            return []
        num = "-" + num
    vals = _signed(num, money=True)
    return [{"amount": v, "currency": currency} for v in vals]


def normalize_money(raw: str) -> Money | None:
    """``{"amount": Decimal, "currency": ISO code or None}`` or None.

    >>> normalize_money("1.575,00 €")
    {'amount': Decimal('1575.00'), 'currency': 'EUR'}
    >>> normalize_money("RM 9.00")["currency"], normalize_money("(12.50)")["amount"]
    ('MYR', Decimal('-12.50'))
    """
    r = money_readings(raw)
    return r[0] if r else None


# ---------------------------------------------------------------------------------------------- scanning
_AMOUNT_RE = re.compile(
    rf"""(?<![\w.,/\-−])
    (?P<open>\()?(?P<sign>[-−])?
    (?:(?P<pre>{_CUR})\s?(?P<sign2>[-−])?)?
    (?P<num>\d+(?:(?:[.,'’\u00a0\u202f\u2009]|\x20(?=\d{{3}}(?!\d)))\d+)*)(?!\d|[/-]\d)
    (?:\s?(?P<post>{_CUR}))?
    (?P<close>\))?""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class AmountToken:
    start: int  # the whole token, currency and sign included
    end: int
    num_start: int  # the digits only
    num_end: int
    values: tuple[Decimal, ...]  # signed readings, preferred first
    currencies: frozenset[str]  # empty: no currency marker


def _token(m: re.Match[str], num_start: int, num_end: int, body: str, whole: bool) -> AmountToken | None:
    cur_tok = m["pre"] or m["post"]
    vals = number_readings(body, money=bool(cur_tok))
    if not vals:
        return None
    paren = m["open"] is not None and m["close"] is not None
    neg = paren or m["sign"] is not None or m["sign2"] is not None
    if not whole:
        return AmountToken(num_start, num_end, num_start, num_end, tuple(vals), frozenset())
    start = min(i for i in (m.start("open") if paren else -1, m.start("sign"), m.start("pre"),
                            m.start("sign2"), num_start) if i >= 0)
    end = max(m.end("post"), m.end("close") if paren else -1, num_end)
    return AmountToken(
        start, end, num_start, num_end, tuple(-v for v in vals) if neg else tuple(vals),
        currencies_of(cur_tok) if cur_tok else frozenset(),
    )


_SEP = "[.,'’\u00a0\u202f\u2009 ]?"


def digit_key(v: Decimal) -> str:
    """The significant digits of ``|v|`` (no sign, point, leading or trailing zeros): ``1575.00`` → ``1575``."""
    return format(abs(v), "f").replace(".", "").strip("0")


@lru_cache(maxsize=512)
def _key_re(key: str) -> re.Pattern[str]:
    # starts with a literal digit so that the regex engine can skip ahead fast; leading zeros and the
    # digit-run boundary are checked in Python
    body = _SEP.join(key) if key else "0"
    return re.compile(rf"{body}(?:{_SEP}0)*(?!\d)")


_ZERO_RUN = frozenset("0.,'’\u00a0\u202f\u2009 ")


def _token_at(text: str, ds: int, lo: int) -> AmountToken | None:
    """The amount token whose digits start at ``ds`` (currency, sign and parentheses included)."""
    for st in range(max(lo, ds - 8), ds + 1):
        m = _AMOUNT_RE.match(text, st)
        if m is not None and m.start("num") == ds:
            return _token(m, ds, m.end("num"), m["num"], True)
    return None


def scan_amounts(
    text: str, values: Iterable[Decimal], start: int = 0, end: int | None = None, *, limit: int = 5000
) -> list[AmountToken]:
    """Amount tokens in ``text[start:end]`` whose digits could denote one of ``values``.

    Instead of tokenising the whole text, a pattern built from each value's significant digits (with
    optional separators between them) finds the few candidate places in C; only those are parsed.
    """
    end = len(text) if end is None else end
    out: dict[tuple[int, int], AmountToken] = {}
    n = 0
    for key in sorted({digit_key(v) for v in values}):
        for h in _key_re(key).finditer(text, start, end):
            n += 1
            if n > limit:
                break
            ds, he = h.start(), h.end()
            if he + 1 < len(text) and text[he] in ".," and text[he + 1].isdigit():
                continue  # the number goes on ("1.5" is not 1)
            while ds > start and text[ds - 1] in _ZERO_RUN:  # leading zeros: "0.50" for 0.5
                ds -= 1
            while not text[ds].isdigit():
                ds += 1
            if ds > 0 and (text[ds - 1].isdigit() or (text[ds - 1] in ".," and ds > 1 and text[ds - 2].isdigit())):
                continue  # inside a longer number
            t = _token_at(text, ds, start)
            if t is not None and t.end <= end:
                out.setdefault((t.start, t.end), t)
    return sorted(out.values(), key=lambda t: t.start)


__all__ = [
    "ISO_CURRENCIES",
    "SYMBOLS",
    "AmountToken",
    "Money",
    "currencies_of",
    "digit_key",
    "money_readings",
    "normalize_money",
    "number_readings",
    "parse_number",
    "scan_amounts",
]
