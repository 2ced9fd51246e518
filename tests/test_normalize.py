"""Typed normalizers: dates, numbers, money, booleans, enums, normalize_value."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidex.ground.fuzzy import distance, search
from evidex.ground.normalize import (
    NormalizeError,
    enum_key,
    normalize_bool,
    normalize_decimal,
    normalize_enum,
    normalize_integer,
    normalize_value,
)
from evidex.model import Field, FieldType
from evidex.scan.dates import date_readings, find_dates, is_iso_date, normalize_date
from evidex.scan.numbers import money_readings, normalize_money, number_readings, parse_number

# ------------------------------------------------------------------------------------------------ dates
MARCH_15 = [
    "2024-03-15", "15 March 2024", "March 15, 2024", "15.03.2024", "03/15/24", "15-Mar-24", "Mar. 15th, 2024",
    "2024/03/15", "15th day of March, 2024", "the 15th day of March in the year 2024", "Friday, March 15, 2024",
    "2024-03-15T10:30:00Z", "2024-03-15 10:30", "15/03/2024", "15. März 2024", "15 de marzo de 2024", "15 mars 2024",
    "2024年3月15日", "2024년 3월 15일", "20240315", "MARCH 15 2024", "15-03-2024", "Dated: 15 March 2024",
    "march 15th, '24", "3/15/2024", "15 Mar 2024", "15th March, 2024", "(15.03.2024)",
]


@pytest.mark.parametrize("raw", MARCH_15)
def test_dates_many_surface_forms(raw: str) -> None:
    assert normalize_date(raw) == "2024-03-15"


@pytest.mark.parametrize(
    ("raw", "default", "dayfirst"),
    [
        ("03/04/24", "2024-03-04", "2024-04-03"),  # US default, day-first on request
        ("03.04.2024", "2024-04-03", "2024-04-03"),  # dots are European: day first unless told otherwise
        ("13/04/24", "2024-04-13", "2024-04-13"),  # 13 cannot be a month
        ("04/13/24", "2024-04-13", "2024-04-13"),  # ... nor here
        ("01/02/1999", "1999-01-02", "1999-02-01"),
        ("5/6/70", "1970-05-06", "1970-06-05"),  # two-digit years pivot at 69
        ("5/6/68", "2068-05-06", "2068-06-05"),
    ],
)
def test_ambiguous_numeric_dates(raw: str, default: str, dayfirst: str) -> None:
    assert normalize_date(raw) == default
    assert normalize_date(raw, dayfirst=True) == dayfirst


def test_dot_dates_respect_explicit_monthfirst() -> None:
    assert normalize_date("03.04.2024", dayfirst=False) == "2024-03-04"


def test_ambiguous_readings_are_all_kept() -> None:
    assert date_readings("03/04/2024") == ["2024-03-04", "2024-04-03"]
    assert date_readings("03/03/2024") == ["2024-03-03"]
    assert date_readings("15 March 2024") == ["2024-03-15"]


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "hello", "March 2024", "2024", "Feb 30, 2024", "2023-02-29", "31/31/2024", "13/13/13", "12.50",
     "1,575.00", "15th of Smarch 2024", "2024-13-45", "99999999", "tomorrow", "Q1 2024", "1.2.3", None, 20240315],
)
def test_not_dates(raw: object) -> None:
    assert normalize_date(raw) is None  # type: ignore[arg-type]


def test_leap_day_and_iso_helper() -> None:
    assert normalize_date("29 Feb 2024") == "2024-02-29"
    assert is_iso_date("2024-02-29") and not is_iso_date("2023-02-29") and not is_iso_date("2024-3-1")


def test_find_dates_in_text() -> None:
    text = "Signed on 15 March 2024; due March 31, 2024 (or 2024-04-30), see 03/04/24. Ref 12.50, 1,575."
    found = {text[t.start : t.end]: t.readings for t in find_dates(text)}
    assert found == {
        "15 March 2024": ("2024-03-15",),
        "March 31, 2024": ("2024-03-31",),
        "2024-04-30": ("2024-04-30",),
        "03/04/24": ("2024-03-04", "2024-04-03"),
    }


def test_find_dates_prose_without_digits_is_empty() -> None:
    assert find_dates("May the force be with you in March, said Mark in June. " * 50) == ()


_FORMATS: list[Callable[[dt.date], str]] = [
    lambda d: d.isoformat(),
    lambda d: f"{d.day} {d.strftime('%B')} {d.year}",
    lambda d: f"{d.strftime('%B')} {d.day}, {d.year}",
    lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}",
    lambda d: f"{d.day:02d}-{d.strftime('%b')}-{d.year % 100:02d}",
    lambda d: f"{d.strftime('%b')}. {d.day}th, {d.year}",
    lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",
    lambda d: f"{d.day}th day of {d.strftime('%B')}, {d.year}",
]


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=dt.date(1970, 1, 1), max_value=dt.date(2068, 12, 31)), st.sampled_from(range(len(_FORMATS))))
def test_date_formats_roundtrip_and_iso_idempotent(d: dt.date, k: int) -> None:
    raw = _FORMATS[k](d)
    iso = normalize_date(raw)
    assert iso == d.isoformat(), raw
    assert normalize_date(iso) == iso  # idempotent on ISO
    assert normalize_date(iso, dayfirst=True) == iso


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_normalize_date_total(raw: str) -> None:
    out = normalize_date(raw)
    assert out is None or (is_iso_date(out) and normalize_date(out) == out)


# ------------------------------------------------------------------------------------------------ numbers
@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1575", "1575"), ("1,575.00", "1575.00"), ("1.575,00", "1575.00"), ("12,50", "12.50"), ("1,575", "1575"),
        ("1.575", "1.575"), ("1 575,50", "1575.50"), ("1'575.50", "1575.50"), ("1,575,000", "1575000"),
        ("1.575.000", "1575000"), ("1,50,000", "150000"), ("(12.50)", "-12.50"), ("-12.50", "-12.50"),
        ("12.50-", "-12.50"), ("+3", "3"), (".5", "0.5"), ("0,575", "0.575"), ("1575,000", "1575.000"),
    ],
)
def test_parse_number(raw: str, value: str) -> None:
    assert parse_number(raw) == Decimal(value)
    assert str(parse_number(raw)) == value  # scale is preserved


@pytest.mark.parametrize("raw", ["", "abc", "1,2,3", "15.03.2024", "1,575.000.5", "12.5.0", "(12", "--5", "1 5", "1e5"])
def test_parse_number_rejects(raw: str) -> None:
    assert parse_number(raw) is None


def test_one_sign_per_number() -> None:
    """Parentheses, a leading minus and a trailing minus each make a number negative; two of them are a
    malformed value, not a double negative (mutant numbers-double-negative accepted ``(-5)`` as -5)."""
    assert parse_number("(5)") == Decimal(-5) and parse_number("5-") == Decimal(-5) and parse_number("-5") == Decimal(-5)
    for raw in ("(-5)", "-5-", "(5-)", "-(5)"):
        assert parse_number(raw) is None, raw



def test_separator_ambiguity_keeps_every_reading() -> None:
    assert number_readings("1,575") == [Decimal("1575"), Decimal("1.575")]
    assert number_readings("1.575") == [Decimal("1.575"), Decimal("1575")]
    assert number_readings("1.575", money=True) == [Decimal("1575"), Decimal("1.575")]
    assert number_readings("1,575.00") == [Decimal("1575.00")]
    assert number_readings("12,50") == [Decimal("12.50")]


@pytest.mark.parametrize(
    ("raw", "amount", "currency"),
    [
        ("$1,575.00", "1575.00", "USD"), ("USD 1,575", "1575", "USD"), ("1.575,00 €", "1575.00", "EUR"),
        ("€1.575,00", "1575.00", "EUR"), ("EUR 12", "12", "EUR"), ("RM 9.00", "9.00", "MYR"), ("£3", "3", "GBP"),
        ("1,575.00", "1575.00", None), ("(12.50)", "-12.50", None), ("-$12.50", "-12.50", "USD"),
        ("$-12.50", "-12.50", "USD"), ("$ (12.50)", "-12.50", "USD"), ("12.50 dollars", "12.50", "USD"),
        ("usd 12", "12", "USD"), ("USD1575", "1575", "USD"), ("1 575,00 €", "1575.00", "EUR"),
        ("1'575.50 CHF", "1575.50", "CHF"), ("¥1000", "1000", "JPY"), ("12,50 €", "12.50", "EUR"),
        ("EUR 1.575", "1575", "EUR"), ("A$ 20", "20", "AUD"), ("RMB 8", "8", "CNY"), ("₹ 1,50,000", "150000", "INR"),
    ],
)
def test_money(raw: str, amount: str, currency: str | None) -> None:
    m = normalize_money(raw)
    assert m == {"amount": Decimal(amount), "currency": currency}


@pytest.mark.parametrize("raw", ["", "USD", "Total: $12", "abc", "$12 and $13", "€ 1,2,3", "$ USD 5", "--$5", "12 34"])
def test_money_rejects(raw: str) -> None:
    assert normalize_money(raw) is None


def test_money_ambiguity_readings() -> None:
    assert [r["amount"] for r in money_readings("1,575")] == [Decimal("1575"), Decimal("1.575")]


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False))
def test_money_format_roundtrip(v: Decimal) -> None:
    us = f"{v:,.2f}"
    eu = us.replace(",", "\0").replace(".", ",").replace("\0", ".")
    for raw in (f"${us}", f"{eu} €", f"USD {us}", us):
        m = normalize_money(raw)
        assert m is not None and m["amount"] == v, raw
    assert parse_number(us) == v


@pytest.mark.parametrize(
    ("raw", "value"),
    [("42", 42), ("1,575", 1575), ("1.575", 1575), ("12.0", 12), ("(3)", -3), ("seven", 7), (" 1 575 ", 1575), (8, 8)],
)
def test_integers(raw: object, value: int) -> None:
    assert normalize_integer(raw)[0] == value


@pytest.mark.parametrize("raw", ["12.5", "abc", "", True, "1.2.3"])
def test_integers_reject(raw: object) -> None:
    v, notes = normalize_integer(raw)
    assert v is None and notes


def test_decimals() -> None:
    assert normalize_decimal("12.5%") == (Decimal("12.5"), ["percent sign dropped"])
    assert normalize_decimal("$1,575.00") == (Decimal("1575.00"), ["currency dropped: USD"])
    assert normalize_decimal(1.25) == (Decimal("1.25"), [])
    assert normalize_decimal("n/a x")[0] is None


# ------------------------------------------------------------------------------------------------ booleans, enums
@pytest.mark.parametrize("raw", ["yes", "Yes", "TRUE", "y", "1", "✓", "✔", "☑", "[x]", "checked", "ja", "oui", True, 1])
def test_true(raw: object) -> None:
    assert normalize_bool(raw) is True


@pytest.mark.parametrize("raw", ["no", "NO", "false", "n", "0", "✗", "☐", "[ ]", "unchecked", "nein", False, 0])
def test_false(raw: object) -> None:
    assert normalize_bool(raw) is False


@pytest.mark.parametrize("raw", ["maybe", "", "2", "yes no", None, 2.5])
def test_not_bool(raw: object) -> None:
    assert normalize_bool(raw) is None


CHOICES = ("Invoice", "Credit Note", "Purchase Order", "Receipt")


@pytest.mark.parametrize(
    ("raw", "choice"),
    [("Invoice", "Invoice"), ("invoice", "Invoice"), ("  CREDIT-NOTE ", "Credit Note"), ("credit_note", "Credit Note"),
     ("purchaseorder", "Purchase Order"), ("Invoce", "Invoice"), ("Reciept", "Receipt"), ("Crédit Note", "Credit Note")],
)
def test_enum_matches(raw: str, choice: str) -> None:
    assert normalize_enum(raw, CHOICES)[0] == choice


@pytest.mark.parametrize("raw", ["Letter", "", "!!!", "Order", "x"])
def test_enum_rejects(raw: str) -> None:
    assert normalize_enum(raw, CHOICES)[0] is None


def test_enum_ties_are_refused() -> None:
    choice, score = normalize_enum("cat", ["bat", "hat"])
    assert choice is None and score == pytest.approx(0.6667, abs=1e-3)
    # a tie *above* the threshold (mutant normalize-enum-ties: the first choice won): one edit from both
    choice, score = normalize_enum("Invoise", ["Invoice", "Invoize"])
    assert choice is None and score == pytest.approx(6 / 7, abs=1e-3)
    assert normalize_enum("Invoise", ["Invoice", "Receipt"])[0] == "Invoice"  # no tie: accepted
    assert enum_key("Crédit-Note ") == "creditnote"


# ------------------------------------------------------------------------------------------------ normalize_value
@pytest.mark.parametrize(
    ("ftype", "raw", "value"),
    [
        (FieldType.STRING, "  Acme \n Corp ", "Acme Corp"),
        (FieldType.INTEGER, "1,575", 1575),
        (FieldType.DECIMAL, "1.575,50", Decimal("1575.50")),
        (FieldType.DATE, "Mar. 15th, 2024", "2024-03-15"),
        (FieldType.MONEY, "RM 9.00", {"amount": Decimal("9.00"), "currency": "MYR"}),
        (FieldType.MONEY, 12.5, {"amount": Decimal("12.5"), "currency": None}),
        (FieldType.MONEY, {"amount": "3", "currency": "eur"}, {"amount": Decimal("3"), "currency": "EUR"}),
        (FieldType.BOOLEAN, "✓", True),
        (FieldType.BOOLEAN, "none", False),
    ],
)
def test_normalize_value(ftype: FieldType, raw: object, value: object) -> None:
    assert normalize_value(Field("f", ftype), raw)[0] == value


def test_normalize_value_enum_and_notes() -> None:
    f = Field("kind", FieldType.ENUM, choices=CHOICES)
    assert normalize_value(f, "credit note") == ("Credit Note", [])
    v, notes = normalize_value(f, "Invoce")
    assert v == "Invoice" and "nearest choice" in notes[0]
    v, notes = normalize_value(f, "Letter")
    assert v is None and "not one of the choices" in notes[0]


def test_normalize_value_flags_and_raises() -> None:
    f = Field("d", FieldType.DATE)
    assert normalize_value(f, "sometime in spring") == (None, ["unparsed date: 'sometime in spring'"])
    assert normalize_value(f, "N/A") == (None, ["empty"])
    assert normalize_value(f, None) == (None, ["empty"])
    v, notes = normalize_value(f, "03/04/2024")
    assert v == "2024-03-04" and "ambiguous" in notes[0]
    with pytest.raises(NormalizeError):
        normalize_value(f, "never", strict=True)
    with pytest.raises(NormalizeError):
        normalize_value(Field("r", FieldType.RECORD, fields=(Field("x"),)), "x")


# ------------------------------------------------------------------------------------------------ edit distance
def _dp(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


@settings(max_examples=300, deadline=None)
@given(st.text("abc ", max_size=12), st.text("abc ", max_size=40))
def test_myers_matches_dynamic_programming(p: str, t: str) -> None:
    assert distance(p, t) == _dp(p, t)
    d, s, e = search(p, t)
    if p:
        best = min(_dp(p, t[i:j]) for i in range(len(t) + 1) for j in range(i, len(t) + 1))
        assert d == best
        assert _dp(p, t[s:e]) == d


def test_long_pattern_bit_parallel() -> None:
    a = "lorem ipsum dolor sit amet " * 10
    b = a.replace("dolor", "dolour")
    assert distance(a, b) == 10
    assert search("consectetur", "xx consectetur adipiscing") == (0, 3, 14)
