"""The prior tells *which* value of a type a field wants from the words of its name that do not restate the type:
a label naming only the type ("Date:") counts half for ``termination_date``, words naming the rest ("… will
terminate on") count even in a running sentence."""

from __future__ import annotations

from evidex.extract.candidates import build_candidates
from evidex.extract.prior import FieldQuery, key_cover, key_words, rank
from evidex.model import Field, FieldType
from evidex.parse import parse_bytes

LETTER = (b"Harrington & Cole LLP\n\nRef: HC/2024/1187\nDate: 2 May 2024\n\nDear Mr. Okafor,\n\n"
          b"We act for our client under the supply agreement dated 9 January 2021 (the \"Agreement\"). Our client "
          b"hereby gives notice that the Agreement will terminate on 31 July 2024.\n\nOutstanding invoices remain "
          b"payable by 31 May 2024.\n")


def _top(f: Field, data: bytes = LETTER) -> str:
    doc = parse_bytes(data, name="letter.txt")
    ranked = rank(FieldQuery.of(f), list(build_candidates(doc).items), 10)
    assert ranked, "no candidate"
    return ranked[0][0].text


def test_key_words_are_the_name_words_that_do_not_restate_the_type() -> None:
    assert [sorted(k) for k in key_words(Field("termination_date", FieldType.DATE))] == [["termi"]]
    # synonyms of a key word count as naming it ("commencement" for effective)
    assert "comme" in key_words(Field("effective_date", FieldType.DATE))[0]
    assert [sorted(k)[0] for k in key_words(Field("landlord_name", FieldType.STRING))] == ["landl"]
    # no split: one word, no type word, or only type words
    for f in (Field("date", FieldType.DATE), Field("total", FieldType.MONEY), Field("party", FieldType.STRING),
              Field("due_date", FieldType.STRING), Field("amount", FieldType.MONEY)):
        assert key_words(f) == (), f.name
    q = FieldQuery.of(Field("termination_date", FieldType.DATE))
    assert key_cover(q, "Date") == 0.0 and key_cover(q, "the Agreement will terminate on") == 1.0
    assert key_cover(FieldQuery.of(Field("date", FieldType.DATE)), "Date") == 0.0  # no key words: nothing to cover


def test_the_prior_takes_the_date_its_key_word_introduces() -> None:
    desc = "the date the agreement terminates"
    assert _top(Field("termination_date", FieldType.DATE, description=desc)) == "31 July 2024"
    # the label naming only the type still wins when nothing names the key word ("letter")
    assert _top(Field("letter_date", FieldType.DATE, description="the date the letter was written")) == "2 May 2024"
    assert _top(Field("date", FieldType.DATE)) == "2 May 2024"  # one-word names are scored as before
    assert _top(Field("payment_due_date", FieldType.DATE, description="when payment is due")) == "31 May 2024"


def test_a_label_naming_the_whole_field_beats_one_naming_its_type() -> None:
    data = b"Invoice\nDate: 1 March 2024\nDelivery date: 4 March 2024\nDue date: 31 March 2024\n"
    assert _top(Field("delivery_date", FieldType.DATE), data) == "4 March 2024"
    assert _top(Field("due_date", FieldType.DATE), data) == "31 March 2024"
    assert _top(Field("date", FieldType.DATE), data) == "1 March 2024"
