"""Typed normalization of raw value strings: pure functions, no network, no locale state.

:func:`normalize_value` turns what an engine produced for a :class:`~evidex.model.Field` into the typed
value stored on an :class:`~evidex.model.Extraction` (``str``, ``int``, ``Decimal``, ISO date ``str``,
``{"amount": Decimal, "currency": str | None}``, ``bool``, an enum choice) plus notes. When the raw text
cannot be read as the field's type it returns ``(None, ["unparsed …"])`` (or raises
:class:`NormalizeError` with ``strict=True``): a value is flagged, never guessed.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from evidex.ground.fuzzy import similarity
from evidex.model.schema import Field, FieldType
from evidex.scan.dates import date_readings, is_iso_date, normalize_date
from evidex.scan.numbers import Money, money_readings, normalize_money, parse_number


class NormalizeError(ValueError):
    """A raw value could not be read as its field's type (only raised with ``strict=True``)."""


NULLS = frozenset({"", "null", "none", "n/a", "na", "nil", "-", "--", "—", "–", "unknown", "not found", "not stated"})

_TRUE = frozenset({
    "yes", "y", "true", "t", "1", "on", "checked", "check", "x", "[x]", "☑", "☒", "✓", "✔", "✅", "ja", "oui",
    "si", "sí", "是", "はい", "예", "correct", "present", "enabled",
})
_FALSE = frozenset({
    "no", "n", "false", "f", "0", "off", "unchecked", "[ ]", "[]", "☐", "✗", "✘", "❌", "nein", "non", "否",
    "いいえ", "아니요", "incorrect", "absent", "disabled", "none",
})
_WORD_NUMBERS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
}
_PERCENT_RE = re.compile(r"^(.*?)\s*(?:%|percent|per\s*cent)$", re.IGNORECASE)
_NON_ALNUM = re.compile(r"[\W_]+")


def is_null(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip().lower() in NULLS)


def enum_key(s: str) -> str:
    """Case-, accent-, space- and punctuation-insensitive key: ``"Credit-Note "`` → ``"creditnote"``."""
    s = unicodedata.normalize("NFKD", s.casefold())
    s = "".join(c for c in s if not unicodedata.combining(c))
    return _NON_ALNUM.sub("", s)


def normalize_bool(raw: object) -> bool | None:
    """``yes/no/true/false/✓/[x]/1/0…`` → bool; None if not a boolean.

    >>> normalize_bool("Yes"), normalize_bool("✓"), normalize_bool("false"), normalize_bool("maybe")
    (True, True, False, None)
    """
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if not isinstance(raw, str):
        return None
    s = " ".join(raw.strip().lower().split()).rstrip(".!")
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    return None


def normalize_enum(raw: str, choices: tuple[str, ...] | list[str], *, threshold: float = 0.8) -> tuple[str | None, float]:
    """The choice ``raw`` names and a match score; ``(None, best_score)`` when nothing is close enough.

    Exact, then case/space/punctuation/accent-insensitive equality (score 1.0), then the nearest choice by
    edit-distance similarity if it reaches ``threshold`` and is not tied with another choice.

    >>> normalize_enum("credit  NOTE", ["Invoice", "Credit Note"])
    ('Credit Note', 1.0)
    >>> normalize_enum("Invoce", ["Invoice", "Credit Note"])
    ('Invoice', 0.8571)
    """
    if not isinstance(raw, str) or not choices:
        return None, 0.0
    if raw in choices:
        return raw, 1.0
    key = enum_key(raw)
    if not key:
        return None, 0.0
    keyed = [(enum_key(c), c) for c in choices]
    for k, c in keyed:
        if k == key:
            return c, 1.0
    scored = sorted(((similarity(key, k, transpositions=True), c) for k, c in keyed if k), key=lambda x: -x[0])
    if not scored:
        return None, 0.0
    best, choice = scored[0]
    if best >= threshold and (len(scored) == 1 or scored[1][0] < best):
        return choice, round(best, 4)
    return None, round(best, 4)


def _to_text(raw: object) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float):
        return repr(raw)
    return str(raw)


def normalize_decimal(raw: object) -> tuple[Decimal | None, list[str]]:
    if isinstance(raw, bool):
        return None, [f"unparsed decimal: {raw!r}"]
    if isinstance(raw, int | Decimal):
        return Decimal(raw), []
    if isinstance(raw, float):
        return Decimal(repr(raw)), []
    s = _to_text(raw).strip()
    v = parse_number(s)
    if v is not None:
        return v, []
    p = _PERCENT_RE.match(s)
    if p and (v := parse_number(p.group(1))) is not None:
        return v, ["percent sign dropped"]
    m = normalize_money(s)
    if m is not None:
        return m["amount"], [f"currency dropped: {m['currency']}"] if m["currency"] else []
    if (w := _WORD_NUMBERS.get(s.lower())) is not None:
        return Decimal(w), ["number written in words"]
    return None, [f"unparsed decimal: {s!r}"]


def normalize_integer(raw: object) -> tuple[int | None, list[str]]:
    if isinstance(raw, bool):
        return None, [f"unparsed integer: {raw!r}"]
    if isinstance(raw, int):
        return raw, []
    s = _to_text(raw).strip()
    readings = [r["amount"] for r in money_readings(s)]  # "1.575" → 1575 first: thousands for integers
    ints = [r for r in readings if r == r.to_integral_value()]
    if ints:
        notes = [f"ambiguous separators in {s!r}: read as {int(ints[0])}"] if len(readings) > 1 else []
        return int(ints[0]), notes
    d, notes = normalize_decimal(raw)
    if d is None:
        return None, [f"unparsed integer: {s!r}"]
    if d != d.to_integral_value():
        return None, [*notes, f"not an integer: {d}"]
    return int(d), notes


def normalize_value(field: Field, raw: object, *, dayfirst: bool | None = None, strict: bool = False) -> tuple[Any, list[str]]:
    """``(typed value, notes)`` for one leaf value of ``field``; ``(None, notes)`` when ``raw`` is null or
    cannot be read as the field's type (``strict=True`` raises :class:`NormalizeError` instead).

    >>> from evidex.model import Field, FieldType
    >>> normalize_value(Field("total", FieldType.MONEY), "1.575,00 €")
    ({'amount': Decimal('1575.00'), 'currency': 'EUR'}, [])
    """
    value: Any
    notes: list[str]
    if field.type is FieldType.RECORD:
        raise NormalizeError(f"{field.name}: a record is not a leaf value")
    if is_null(raw) and not (field.type is FieldType.BOOLEAN and isinstance(raw, str) and normalize_bool(raw) is not None):
        return None, ["empty"]
    ftype = field.type
    text = _to_text(raw)
    if ftype is FieldType.STRING:
        value = " ".join(text.split())
        notes = ["whitespace collapsed"] if value != text.strip() else []
    elif ftype is FieldType.INTEGER:
        value, notes = normalize_integer(raw)
    elif ftype is FieldType.DECIMAL:
        value, notes = normalize_decimal(raw)
    elif ftype is FieldType.DATE:
        value, notes = _date(text, dayfirst)
    elif ftype is FieldType.MONEY:
        value, notes = _money(raw, text)
    elif ftype is FieldType.DURATION:
        from evidex.scan.durations import normalize_duration

        value = normalize_duration(text)
        notes = [] if value is not None else [f"unparsed duration: {text.strip()!r}"]
    elif ftype is FieldType.BOOLEAN:
        value = normalize_bool(raw)
        notes = [] if value is not None else [f"unparsed boolean: {text.strip()!r}"]
    elif ftype is FieldType.ENUM:
        value, score = normalize_enum(text, field.choices)
        if value is None:
            notes = [f"not one of the choices: {text.strip()!r} (best similarity {score})"]
        else:
            notes = [] if score == 1.0 else [f"nearest choice {value!r} (similarity {score})"]
    else:  # pragma: no cover - exhaustive
        raise NormalizeError(f"{field.name}: unsupported type {ftype}")
    if value is None and strict:
        raise NormalizeError(f"{field.name}: {'; '.join(notes) or 'unparsed value'}")
    return value, notes


def _date(text: str, dayfirst: bool | None) -> tuple[str | None, list[str]]:
    readings = date_readings(text, dayfirst=dayfirst)
    if not readings:
        return None, [f"unparsed date: {text.strip()!r}"]
    if len(readings) > 1:
        order = "day-first" if dayfirst else "month-first" if dayfirst is False else "the default order"
        return readings[0], [f"ambiguous date {text.strip()!r}: read with {order} (could be {readings[1]})"]
    return readings[0], []


def _money(raw: object, text: str) -> tuple[Money | None, list[str]]:
    if isinstance(raw, int | float | Decimal) and not isinstance(raw, bool):
        d, _ = normalize_decimal(raw)
        return ({"amount": d, "currency": None} if d is not None else None), []
    if isinstance(raw, dict) and "amount" in raw:
        d, _ = normalize_decimal(raw["amount"])
        cur = raw.get("currency")
        return ({"amount": d, "currency": str(cur).upper() if cur else None} if d is not None else None), []
    readings = money_readings(text)
    if not readings:
        return None, [f"unparsed amount: {text.strip()!r}"]
    notes: list[str] = []
    if len(readings) > 1:
        notes.append(f"ambiguous separators in {text.strip()!r}: read as {readings[0]['amount']}")
    return readings[0], notes


def to_decimal(v: object) -> Decimal | None:
    """A typed numeric value (int, Decimal, float, numeric str) as Decimal."""
    if isinstance(v, bool):
        return None
    if isinstance(v, Decimal):
        return v
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, float):
        try:
            return Decimal(repr(v))
        except InvalidOperation:  # pragma: no cover - nan/inf
            return None
    if isinstance(v, str):
        return parse_number(v)
    return None


__all__ = [
    "NULLS", "NormalizeError", "enum_key", "is_iso_date", "is_null", "normalize_bool", "normalize_date",
    "normalize_decimal", "normalize_enum", "normalize_integer", "normalize_money", "normalize_value",
    "parse_number", "to_decimal",
]


_CURRENCY_EDGE = re.compile(r"^(?:[^\d(+-]+)|(?:[^\d)]+)$")
# an amount as printed, its currency included: stray marks at its edges (a trailing "." or "*") are not part of it
_PRINTED_AMOUNT = re.compile(
    r"[^\w(+-]*?((?:(?:[$€£¥₹]|US\$|[A-Z]{2,3})\s?)?[(+-]?\d(?:.*\d)?\)?(?:\s?(?:[$€£¥₹]|[A-Z]{3}))?)[^\w)]*"
)


def printed_value(field: Field, raw: str, value: Any) -> Any:
    """The value to output for an ``as_printed`` field: the text as printed once it validated as the type.

    Whitespace is collapsed; an amount keeps the currency printed with it when the text holds it (``RM5.00``,
    ``RM 8.50``: people copy either form, so which one is the choice of whoever chose the span) and loses stray
    marks at its edges; text that is not a lone amount loses everything before and after the number.
    """
    if value is None or not field.as_printed:
        return value
    text = " ".join(raw.split())
    if field.type in (FieldType.MONEY, FieldType.DECIMAL, FieldType.INTEGER):
        m = _PRINTED_AMOUNT.fullmatch(text)
        text = m.group(1) if m else _CURRENCY_EDGE.sub("", text).strip()
    return text
