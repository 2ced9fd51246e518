"""Grounding: exact → normalized → fuzzy → ungrounded, views, and assembled extractions."""

from __future__ import annotations

import random
import time
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from evidex.ground import ground, ground_in_view, make_extraction
from evidex.ground.align import Alignment, _bounded
from evidex.ground.fuzzy import osa_distance
from evidex.model import Field, FieldType, Grounding, Span, ViewBuilder

INVOICE = (
    "INVOICE\n\nBill to: Acme\nCorp.\nInvoice date: 15 March 2024\nDue: 03/04/24\n\n"
    "Item | Qty | Amount\nWidgets | 3 | $1,575.00\nShipping | 1 | 12,50 €\nRefund | 1 | (12.50)\n\n"
    "Total due: USD 1,587.50. Thank you, Acme Corporation Ltd.\n"
)


def _check(a: Alignment, text: str) -> None:
    """Invariants every alignment must satisfy."""
    assert (a.status is Grounding.UNGROUNDED) == (not a.spans)
    for s in a.spans:
        assert 0 <= s.start < s.end <= len(text)
    assert 0.0 <= a.score <= 1.0


def g(value: str, text: str = INVOICE, **kw: object) -> tuple[Grounding, str | None]:
    a = ground(value, text, **kw)  # type: ignore[arg-type]
    _check(a, text)
    return a.status, (a.span.slice(text) if a.span else None)


# ------------------------------------------------------------------------------------------------ exact
def test_exact() -> None:
    assert g("Widgets") == (Grounding.EXACT, "Widgets")
    assert g("$1,575.00", field_type=FieldType.MONEY) == (Grounding.EXACT, "$1,575.00")
    assert g("  Widgets ") == (Grounding.EXACT, "Widgets")  # padding from the engine is not evidence


def test_repeated_mentions_resolved_by_hint() -> None:
    text = "Seller: Acme Ltd. Buyer: Globex. Notes: Acme Ltd ships. Signed for Acme Ltd by J. Doe."
    first = ground("Acme Ltd", text)
    assert first.span == Span(8, 16) and first.candidates == 3
    notes = text.index("Notes")
    a = ground("Acme Ltd", text, hint=Span(notes, notes + 25))
    assert a.status is Grounding.EXACT and a.span == Span(text.index("Acme Ltd", notes), text.index("Acme Ltd", notes) + 8)
    end = len(text)
    b = ground("Acme Ltd", text, hint=Span(end - 3, end))  # nearest occurrence to a hint outside all of them
    assert b.span is not None and b.span.start == text.rindex("Acme Ltd")


def test_word_boundaries_preferred_and_numbers_never_cut() -> None:
    text = "Catalog: cats. The cat sat."
    assert ground("cat", text).span == Span(text.index("cat sat"), text.index("cat sat") + 3)
    # "15" inside 2015 or 15.5 is not evidence for the integer 15; a unit may touch it
    assert g("15", "In 2015 we paid 15.5 and 115.", field_type=FieldType.INTEGER)[0] is Grounding.UNGROUNDED
    assert g("250", "Dose: 250mg daily", field_type=FieldType.DECIMAL) == (Grounding.EXACT, "250")
    assert g("Acme Corp", "Acme Corporation") == (Grounding.EXACT, "Acme Corp")  # last resort: flagged
    assert ground("Acme Corp", "Acme Corporation").method == "exact-subword"
    assert g("15", "In 2015 we paid 15 units.", field_type=FieldType.INTEGER) == (Grounding.EXACT, "15")


def test_region_restricts() -> None:
    text = "Acme here. Acme there."
    a = ground("Acme", text, region=Span(5, len(text)))
    assert a.span == Span(11, 15)
    assert ground("Acme", text, region=Span(0, 3)).status is Grounding.UNGROUNDED


# ------------------------------------------------------------------------------------------------ normalized
def test_split_across_lines_and_case() -> None:
    assert g("Acme Corp") == (Grounding.NORMALIZED, "Acme\nCorp")
    assert g("ACME CORP.") == (Grounding.NORMALIZED, "Acme\nCorp")
    assert g("acme corporation ltd") == (Grounding.NORMALIZED, "Acme Corporation Ltd")
    assert g("Thank you Acme") == (Grounding.NORMALIZED, "Thank you, Acme")


def test_normalized_numbers() -> None:
    assert g("1575.00", field_type=FieldType.MONEY) == (Grounding.NORMALIZED, "$1,575.00")
    assert g("1575", field_type=FieldType.DECIMAL) == (Grounding.NORMALIZED, "1,575.00")
    assert g("1575.00") == (Grounding.NORMALIZED, "1,575.00")  # a number-looking string field
    assert g("12.5", field_type=FieldType.DECIMAL) == (Grounding.NORMALIZED, "12,50")
    assert g("EUR 12.50", field_type=FieldType.MONEY) == (Grounding.NORMALIZED, "12,50 €")
    assert g("-12.50", field_type=FieldType.MONEY) == (Grounding.NORMALIZED, "(12.50)")
    assert g("1587.5", field_type=FieldType.MONEY) == (Grounding.NORMALIZED, "USD 1,587.50")
    typed = {"amount": Decimal("1587.50"), "currency": "USD"}
    assert g("1587.50", field_type=FieldType.MONEY, typed_value=typed) == (Grounding.NORMALIZED, "USD 1,587.50")


def test_currency_mismatch_is_not_support() -> None:
    assert g("EUR 1575", field_type=FieldType.MONEY)[0] is Grounding.UNGROUNDED
    assert g("GBP 1,575", field_type=FieldType.MONEY)[0] is Grounding.UNGROUNDED
    # a dropped sign is still support (the refund "(12.50)"), a wrong currency is not
    assert g("12.5", "Refund (12.50) today", field_type=FieldType.MONEY) == (Grounding.NORMALIZED, "(12.50)")
    assert g("GBP 12.50", "Refund (12,50 €)", field_type=FieldType.MONEY)[0] is Grounding.UNGROUNDED
    assert g("CAD 1575", field_type=FieldType.MONEY) == (Grounding.NORMALIZED, "$1,575.00")  # "$" is any dollar


def test_numbers_need_the_same_value_not_similar_digits() -> None:
    assert g("1576.00", field_type=FieldType.MONEY)[0] is Grounding.UNGROUNDED
    assert g("157.5", field_type=FieldType.DECIMAL)[0] is Grounding.UNGROUNDED
    assert g("15750", field_type=FieldType.INTEGER)[0] is Grounding.UNGROUNDED


def test_normalized_dates() -> None:
    assert g("2024-03-15", field_type=FieldType.DATE) == (Grounding.NORMALIZED, "15 March 2024")
    assert g("March 15, 2024", field_type=FieldType.DATE) == (Grounding.NORMALIZED, "15 March 2024")
    assert g("2024-03-15") == (Grounding.NORMALIZED, "15 March 2024")
    assert g("2024-03-04", field_type=FieldType.DATE) == (Grounding.NORMALIZED, "03/04/24")  # US reading
    assert g("2024-04-03", field_type=FieldType.DATE) == (Grounding.NORMALIZED, "03/04/24")  # the other reading
    assert g("2024-03-16", field_type=FieldType.DATE)[0] is Grounding.UNGROUNDED
    text = "Signed 2024-03-15. Delivered 03/15/24 as agreed."
    hint = Span(text.index("Delivered"), len(text))
    assert ground("15 March 2024", text, field_type=FieldType.DATE, hint=hint).span == Span(29, 37)


def test_cjk() -> None:
    text = "患者接受静脉 注射，剂量 250毫克。会社名：株式会社 テスト"
    assert g("静脉注射", text) == (Grounding.NORMALIZED, "静脉 注射")
    assert g("250 毫克", text) == (Grounding.NORMALIZED, "250毫克")
    assert g("250毫克", text) == (Grounding.EXACT, "250毫克")
    assert g("株式会社テスト", text) == (Grounding.NORMALIZED, "株式会社 テスト")
    assert g("头孢", text)[0] is Grounding.UNGROUNDED


# ------------------------------------------------------------------------------------------------ fuzzy
def test_fuzzy_typo() -> None:
    a = ground("Acme Corporaton", INVOICE)
    assert a.status is Grounding.FUZZY and a.span is not None
    assert a.span.slice(INVOICE) == "Acme Corporation"
    assert a.score == pytest.approx(1 - 1 / 16)


def test_fuzzy_never_truncates_and_respects_threshold() -> None:
    text = "Observed: chest pain radiating left. Patient Johnathan Smith."
    a = ground("chest pains", text)
    assert a.status is Grounding.FUZZY and a.span is not None and a.span.slice(text) == "chest pain"
    b = ground("Jonathan Smith", text)
    assert b.status is Grounding.FUZZY and b.span is not None and b.span.slice(text) == "Johnathan Smith"
    assert ground("Jonathan Smith", text, fuzzy_threshold=0.95).status is Grounding.UNGROUNDED
    c = ground("Smi", text)  # too short for fuzzy matching: exact only
    assert c.status is Grounding.EXACT and c.span is not None and c.span.slice(text) == "Smi"


def test_fuzzy_not_used_for_numbers_or_dates() -> None:
    assert g("1,575.01", field_type=FieldType.MONEY)[0] is Grounding.UNGROUNDED
    assert g("15 March 2023", field_type=FieldType.DATE)[0] is Grounding.UNGROUNDED


def test_hallucination_is_ungrounded() -> None:
    a = ground("Globex International", INVOICE)
    assert a == Alignment((), Grounding.UNGROUNDED, 0.0)
    assert ground("", INVOICE).status is Grounding.UNGROUNDED
    assert ground("   ", INVOICE).status is Grounding.UNGROUNDED
    assert ground("anything", "").status is Grounding.UNGROUNDED


# ------------------------------------------------------------------------------------------------ views
def test_ground_in_view_maps_back_and_reverifies() -> None:
    src = "Name: Acme\nCorp\nTotal: 1,575.00\n"
    b = ViewBuilder(src)
    b.insert("**Name**")
    b.copy(4, 6)
    b.replace("Acme Corp", 6, 15)  # newline shown as a space (same length: positional)
    b.replace(" ", 15, 16)
    b.copy(16, len(src))
    view = b.build()
    assert "Acme Corp" in view.text
    a = ground_in_view("Acme Corp", view, src)
    assert a.status is Grounding.NORMALIZED and a.span is not None
    assert a.span.slice(src) == "Acme\nCorp"  # exact in the view, but the source has a line break
    m = ground_in_view("1575", view, src, field_type=FieldType.DECIMAL)
    assert m.span is not None and m.span.slice(src) == "1,575.00"
    assert ground_in_view("Globex", view, src).status is Grounding.UNGROUNDED
    assert ground_in_view("Name", view, src).span == Span(0, 4)  # inserted markup re-grounded nearby


def test_ground_in_view_does_not_search_blindly() -> None:
    src = "Vendor: Acme. " + "x " * 500 + "Customer: Acme."
    b = ViewBuilder(src)
    b.copy(0, 14)
    view = b.build()  # a compressed view showing only the start
    a = ground_in_view("Acme", view, src)
    assert a.span == Span(8, 12)
    assert ground_in_view("Customer", view, src).status is Grounding.UNGROUNDED


# ------------------------------------------------------------------------------------------------ extractions
def test_make_extraction_typed_and_grounded() -> None:
    e = make_extraction("total", Field("total", FieldType.MONEY), "1587.50", INVOICE, engine="fake", confidence=0.9)
    assert e.value == {"amount": Decimal("1587.50"), "currency": "USD"}  # currency read from the evidence
    assert e.grounding is Grounding.NORMALIZED and e.evidence[0].slice(INVOICE) == "USD 1,587.50"
    assert e.confidence == pytest.approx(0.9 * 0.95)
    d = make_extraction("date", Field("date", FieldType.DATE), "March 15, 2024", INVOICE, engine="fake")
    assert d.value == "2024-03-15" and d.evidence[0].slice(INVOICE) == "15 March 2024"


def test_make_extraction_untyped_and_ungrounded() -> None:
    e = make_extraction("due", Field("due", FieldType.DATE), "upon receipt", INVOICE, engine="fake")
    assert e.value is None and e.grounding is Grounding.UNGROUNDED and not e.evidence
    assert any("unparsed date" in n for n in e.notes) and e.confidence < 0.2
    n = make_extraction("po", Field("po"), "PO-99812", INVOICE, engine="fake", confidence=1.0)
    assert n.grounding is Grounding.UNGROUNDED and n.confidence == pytest.approx(0.2)
    empty = make_extraction("po", Field("po"), None, INVOICE, engine="fake")
    assert empty.value is None and empty.notes == ("empty",)


def test_make_extraction_inferred_booleans_and_enums() -> None:
    paid = Field("paid", FieldType.BOOLEAN)
    ev = Span(INVOICE.index("Refund"), INVOICE.index("Refund") + 20)
    e = make_extraction("paid", paid, "yes", INVOICE, engine="fake", hint=ev)
    assert e.value is True and e.grounding is Grounding.INFERRED and e.evidence == (ev,)
    assert make_extraction("paid", paid, "yes", INVOICE, engine="fake").grounding is Grounding.UNGROUNDED
    kind = Field("kind", FieldType.ENUM, choices=("Invoice", "Receipt"))
    head = Span(0, 7)
    k = make_extraction("kind", kind, "invoice", INVOICE, engine="fake", hint=head)
    assert k.value == "Invoice" and k.grounding is Grounding.NORMALIZED and k.evidence == (head,)
    r = make_extraction("kind", kind, "Receipt", INVOICE, engine="fake", hint=Span(9, 30))
    assert r.grounding is Grounding.INFERRED and r.evidence == (Span(9, 30),)


def test_make_extraction_fuzzy_and_repeats() -> None:
    e = make_extraction("vendor", Field("vendor"), "Acme Corporaton", INVOICE, engine="fake", confidence=1.0)
    assert e.grounding is Grounding.FUZZY and 0.9 < e.score < 1 and e.confidence < 0.85
    text = "Acme Ltd ... Acme Ltd"
    r = make_extraction("vendor", Field("vendor"), "Acme Ltd", text, engine="fake", hint=Span(13, 21))
    assert r.evidence == (Span(13, 21),) and any("2 matching mentions" in n for n in r.notes)


# ------------------------------------------------------------------------------------------------ properties
_ALPHABET = st.sampled_from(list("abcAB xyz,.-\n12$€静脉注射"))


@settings(max_examples=300, deadline=None)
@given(st.text(_ALPHABET, min_size=1, max_size=80), st.data())
def test_property_substring_grounds_exactly(text: str, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(text) - 1))
    j = data.draw(st.integers(i + 1, len(text)))
    sub = text[i:j]
    assume(sub.strip())
    a = ground(sub, text)
    _check(a, text)
    if a.status is Grounding.EXACT:
        assert a.span is not None and text[a.span.start : a.span.end] == sub
    else:  # only when every occurrence cuts a word may a whole-word normalized match win
        assert a.status is Grounding.NORMALIZED
        occ = [k for k in range(len(text)) if text.startswith(sub, k)]
        assert all(not _bounded(text, k, k + len(sub), numeric=False) for k in occ)
    h = ground(sub, text, hint=Span(i, j))  # with the true location as hint, that occurrence is chosen
    assert h.span == Span(i, j)


@settings(max_examples=300, deadline=None)
@given(
    st.text(_ALPHABET, max_size=60),
    st.text(_ALPHABET, min_size=1, max_size=15),
    st.sampled_from(list(FieldType)[:7]),
    st.one_of(st.none(), st.tuples(st.integers(0, 70), st.integers(0, 20))),
)
def test_property_any_result_is_well_formed(text: str, value: str, ftype: FieldType, h: tuple[int, int] | None) -> None:
    hint = Span(h[0], h[0] + h[1]) if h else None
    a = ground(value, text, field_type=ftype, hint=hint)
    _check(a, text)
    if a.status is Grounding.EXACT:
        assert a.span is not None and a.span.slice(text) in (value, value.strip())
    if a.status is Grounding.FUZZY:
        assert 0.8 <= a.score < 1.0


@settings(max_examples=100, deadline=None)
@given(st.text(st.sampled_from(list("abcdefgh ")), min_size=6, max_size=24), st.integers(0, 30))
def test_property_fuzzy_finds_one_typo(word: str, k: int) -> None:
    word = " ".join(word.split())
    assume(len(word) >= 10)
    text = "zzz qqq " * 5 + word + " zzz qqq" * 5
    where = Span(40, 40 + len(word))
    pos = k % len(word)
    typo = word[:pos] + "y" + word[pos + 1 :]
    a = ground(typo, text)
    assert a.status is Grounding.FUZZY and a.score >= 0.9
    assert a.span is not None and a.span.overlaps(where)
    assert osa_distance(a.span.slice(text), word) <= 1


# ------------------------------------------------------------------------------------------------ performance
def _big_text() -> str:
    rnd = random.Random(7)
    words = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 9))) for _ in range(3000)]
    filler = " ".join(rnd.choice(words) for _ in range(17000))
    return filler[:60000] + " Vendor Acme\nCorporation, total $1,575.00 due 15 March 2024. " + filler[60000:100000]


@pytest.mark.parametrize(
    ("value", "ftype", "status"),
    [
        ("Acme\nCorporation", FieldType.STRING, Grounding.EXACT),
        ("ACME Corporation", FieldType.STRING, Grounding.NORMALIZED),
        ("1575.00", FieldType.MONEY, Grounding.NORMALIZED),
        ("2024-03-15", FieldType.DATE, Grounding.NORMALIZED),
        ("Globex Industries", FieldType.STRING, Grounding.UNGROUNDED),
    ],
)
def test_performance_100k(value: str, ftype: FieldType, status: Grounding) -> None:
    text = _big_text()
    assert len(text) > 100_000
    ground(value, text, field_type=ftype)  # warm the per-text caches
    t0 = time.perf_counter()
    for _ in range(5):
        a = ground(value, text, field_type=ftype)
    per_call = (time.perf_counter() - t0) / 5
    assert a.status is status
    assert per_call < 0.05, f"{value!r}: {per_call * 1000:.1f} ms per call"


def test_ground_in_view_coarse_segment_and_view_hint() -> None:
    src = "Header\n\nThe buyer is Acme\nCorp of Springfield.\n\nFooter Acme Corp"
    b = ViewBuilder(src)
    b.replace("Buyer: Acme Corp (summary)", 8, 48)  # a summary standing for a whole paragraph
    b.insert("\n")
    view = b.build()
    a = ground_in_view("Acme Corp", view, src)
    assert a.status is Grounding.NORMALIZED and a.span is not None
    assert a.span.slice(src) == "Acme\nCorp" and a.method.endswith("via-view")  # not the footer's copy
    e = make_extraction("buyer", Field("buyer"), "Acme Corp", src, engine="fake", view=view, hint=Span(0, 26))
    assert e.evidence == (a.span,)
    flag = Field("flag", FieldType.BOOLEAN)
    f = make_extraction("flag", flag, "true", src, engine="fake", view=view, hint=Span(0, 26))
    assert f.grounding is Grounding.INFERRED and f.evidence == (Span(8, 48),)  # the hint mapped to the source


def test_make_extractions_for_lists_and_hint_bounds() -> None:
    from evidex.ground.validate import make_extractions

    text = "Items: Widgets, Gadgets, Sprockets."
    out = make_extractions("items", Field("items", many=True), ["Widgets", "gadgets", "Gizmos"], text, engine="fake")
    assert [e.path for e in out] == ["items[0]", "items[1]", "items[2]"]
    assert [e.grounding for e in out] == [Grounding.EXACT, Grounding.NORMALIZED, Grounding.UNGROUNDED]
    a = ground("Sprockets", text, hint=Span(30, 500))  # a hint beyond the text is clipped, not an error
    assert a.span == Span(25, 34)


def test_osa_distance_counts_swaps_once() -> None:
    assert osa_distance("reciept", "receipt") == 1
    assert osa_distance("abc", "") == 3 and osa_distance("", "") == 0
    assert osa_distance("kitten", "sitting") == 3


def test_special_characters_in_values() -> None:
    text = "Requires C++ (v2.0) and [x] items; price is $5 (five dollars)."
    assert g("C++ (v2.0)", text) == (Grounding.EXACT, "C++ (v2.0)")
    assert g("c++ v2.0", text) == (Grounding.NORMALIZED, "C++ (v2.0")
    assert g("$5 (five dollars)", text) == (Grounding.EXACT, "$5 (five dollars)")
    assert g("—", text)[0] is Grounding.UNGROUNDED


# ------------------------------------------------------------------------------------------------ mutation kills
# Each test below fails on a mutant of ground/align.py that every other test let through (bench/mutation.py).
def test_number_is_never_the_tail_of_a_longer_number_near_the_hint() -> None:
    """Mutant ``ground-number-inside-number``: with a hint, ``50`` may match the tail of ``12.50``."""
    text = "Unit price 12.50 EUR. Quantity ordered: 50 units."
    hint = Span(text.index("12.50"), text.index("12.50") + 5)
    a = ground("50", text, field_type=FieldType.INTEGER, hint=hint)
    assert a.span == Span(text.index(": 50") + 2, text.index(": 50") + 4)


def test_a_mention_inside_the_hint_beats_one_that_only_overlaps_it() -> None:
    """Mutant ``ground-hint-inside``: containment no longer ranks above partial overlap."""
    text = "ab ab"
    a = ground("ab", text, hint=Span(1, 5))  # [0, 2) overlaps the hint, [3, 5) lies inside it
    assert a.span == Span(3, 5) and a.candidates == 2


def test_fuzzy_span_is_widened_to_whole_words() -> None:
    """Mutant ``ground-widen-words``: a fuzzy match that ends inside a word is not extended to the word."""
    text = "Invoice from Acme Corporation Holdings, paid in full."
    a = ground("Acme Corporaion Holding", text)  # a typo, and "Holdings" cut short
    assert a.status is Grounding.FUZZY and a.span is not None
    assert a.span.slice(text) == "Acme Corporation Holdings"


def test_view_value_is_regrounded_only_near_where_the_view_put_it() -> None:
    """Mutant ``ground-view-anywhere``: when the mapped source does not support the value, any occurrence
    anywhere in the document would do. A value the view shows over "one hundred" is not evidenced by an
    unrelated "100" hundreds of characters away."""
    from evidex.model.textview import OffsetMap, Segment, TextView

    source = "Total: one hundred" + " lorem ipsum" * 40 + " Reference 100."
    view = TextView("Total: 100", OffsetMap((Segment(0, 10, 0, 18),), 10))  # a coarse rendering
    a = ground_in_view("100", view, source, field_type=FieldType.INTEGER)
    assert a.status is Grounding.UNGROUNDED and not a.spans


def test_normalized_match_does_not_stop_inside_a_word() -> None:
    """Mutant ``ground-text-boundary``: the case-insensitive match may end inside ``CORPORATION``."""
    text = "ACME CORPORATION owns acme corp, a subsidiary."
    status, got = g("Acme Corp", text)
    assert (status, got) == (Grounding.NORMALIZED, "acme corp")


# ------------------------------------------------------------------------------------------------ coverage
def test_fuzzy_evidence_must_support_the_whole_value() -> None:
    text = "Invoice INV-4410 issued to Jonathan Smithers, Acme Corporation Ltd, on 3 May 2024."
    assert ground("INV-6", text).status is Grounding.UNGROUNDED  # "INV-" would be 1 edit away: no digit support
    assert ground("INV-4411", text).status is Grounding.UNGROUNDED  # a digit differs: numbers are never approximate
    assert ground("Jonathn Smithers", text).status is Grounding.FUZZY  # a typo in a name is still the name …
    assert ground("Jonathan Carter", text).status is Grounding.UNGROUNDED  # … a word missing from the evidence is not
    a = ground("Acme Corporaton Ltd", text)
    assert a.status is Grounding.FUZZY and a.span is not None and a.span.slice(text) == "Acme Corporation Ltd"


def test_generated_value_with_partial_evidence_is_not_a_fact() -> None:
    from evidex.backends.fake import FakeBackend
    from evidex.extract import ExtractOptions, Extractor
    from evidex.model import Schema
    from evidex.parse import parse_bytes

    doc = parse_bytes(b"INVOICE\nInvoice number: INV-4410\nTotal: USD 120.00\n", "inv.txt")
    schema = Schema.from_dict({"fields": {"invoice_number": "string"}})
    be = FakeBackend().push('{"invoice_number": "INV-6"}')
    res = Extractor(be, ExtractOptions(mode="generate")).extract(doc, schema)
    assert res.extractions == () and res.diagnostics["dropped_ungrounded"] == ["invoice_number"]


@settings(max_examples=150, deadline=None)
@given(st.text(st.sampled_from(list("ab12 -")), min_size=4, max_size=14))
def test_property_fuzzy_evidence_keeps_every_digit(value: str) -> None:
    import re as _re

    text = "xx INV-4410 ab12 a-b 1 2 b2a yy"
    a = ground(value, text)
    if a.status is Grounding.FUZZY:
        assert a.span is not None
        assert _re.findall(r"\d+", value) == _re.findall(r"\d+", a.span.slice(text))
