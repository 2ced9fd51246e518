"""Type-aware keys of field values: what two equal values share, whoever wrote them.

Used where a value written by a person (gold labels, a teacher's answer) must be compared with a value evidex
printed or normalised: training data (``evidex.distill``: which candidate is the gold value) and evaluation
(``evidex.eval``: is a prediction the gold value). Values are normalised by the field's type with
:func:`evidex.ground.normalize.normalize_value` (dates to ISO, money and numbers to their amount), so "2 May 2024"
equals 2024-05-02 and "RM 78.08" equals 78.08; strings compare case- and whitespace-insensitively.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from decimal import Decimal
from typing import Any

from evidex.ground.normalize import normalize_value
from evidex.model import Field, FieldType
from evidex.scan.dates import date_readings

_NON_ALNUM = re.compile(r"[\W_]+")


def _text_key(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).replace("_", " ")
    return " ".join(s.casefold().split())


def loose_key(s: str) -> str:
    return _NON_ALNUM.sub("", unicodedata.normalize("NFKC", s).casefold())


def typed_key(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, dict) and "amount" in v:
        v = v["amount"]
    if isinstance(v, Decimal):
        return f"n:{v.normalize():f}"
    if isinstance(v, int | float) and not isinstance(v, bool):
        return f"n:{Decimal(str(v)).normalize():f}"
    return f"v:{_text_key(str(v))}"


def value_key(f: Field, raw: str) -> str:
    """The strict, type-aware key of a value of field ``f`` (what two equal values share)."""
    if f.type is not FieldType.STRING:
        typed = dataclasses.replace(f, as_printed=False)
        for cand in (raw, raw.replace("_", " ")):
            try:
                v, _ = normalize_value(typed, cand)
            except Exception:
                v = None
            k = typed_key(v)
            if k is not None:
                return k
    return f"s:{_text_key(raw)}"


def value_keys(f: Field, raw: str) -> frozenset[str]:
    """:func:`value_key` plus, for dates, every ISO date the text may denote (``01/11/2019`` is 1 November or
    11 January: the gold says which, so either reading matches)."""
    keys = {value_key(f, raw)}
    if f.type is FieldType.DATE:
        keys |= {f"v:{iso}" for iso in date_readings(raw.replace("_", " "))}
    return frozenset(keys)


__all__ = ["loose_key", "typed_key", "value_key", "value_keys"]
