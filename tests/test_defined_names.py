"""Names a contract defines a term for — ``MusclePharm Corporation, a Nevada corporation (the “Company”)`` — are
candidates of their own, labelled by the term: the way contracts introduce their parties (Kleister-NDA: 43 % of
the gold parties on train are such names, most with no other candidate that spans them)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from evidex.extract.candidates import build_candidates
from evidex.extract.gazetteer import defined_names
from evidex.extract.prior import FieldQuery, rank
from evidex.model import Field, FieldType
from evidex.parse import parse_bytes

NDA = (
    "CONFIDENTIALITY AND NON-DISCLOSURE AGREEMENT\n"
    "This confidentiality and non-disclosure agreement (the “Agreement”) is made and entered into as of June 23, "
    "2015, by and between Consac,\nLLC (the “Recipient”), and MusclePharm Corporation, a Nevada corporation (the "
    "“Company”). Each of the Recipient and the Company is sometimes referred to herein as a “Party” and "
    "collectively as “Parties.” The Recipient may discuss a transaction with Wynnefield Capital, Inc. and others.\n"
    "IN WITNESS WHEREOF the parties have signed this Agreement.\n"
    "MUSCLEPHARM CORPORATION\nTitle: President and Chief Executive Officer\nHOWARD ISAACS (“CONSULTANT”)\n"
)


def _names(text: str) -> list[tuple[str, str]]:
    return [(text[s:e], term) for s, e, term in defined_names(text)]


def test_a_defined_name_is_the_capitalised_run_before_its_term() -> None:
    got = _names(NDA)
    # the comma before a legal suffix and the line break of a name wrapped in running text are kept (the span
    # quotes the document); the appositive "a Nevada corporation" is skipped
    assert ("Consac,\nLLC", "Recipient") in got
    assert ("MusclePharm Corporation", "Company") in got
    # a signature line: the name is its own line, not "Chief Executive Officer / HOWARD ISAACS"
    assert ("HOWARD ISAACS", "CONSULTANT") in got
    # "the Agreement", "a “Party”": after a determiner or inside quotes, not names
    assert all(term not in ("Agreement", "Party", "Parties") for _, term in got), got
    assert len(got) == 3, got


def test_things_persons_and_restated_terms() -> None:
    text = ("PARTIES:\nEric Dean Sprunk (“EMPLOYEE”)\nand\nNIKE, Inc., divisions, subsidiaries (“NIKE”). "
            "Confidential Information (“Confidential Information”) means … under the Stock Purchase Agreement "
            "(the “Purchase Agreement”) and this Non-Disclosure Agreement (the “NDA”) between Peoples Bank SB "
            "(the “Peoples” or “Bank”) and Bernd Brust\nBernd Brust (“Employee”).")
    got = _names(text)
    assert ("Eric Dean Sprunk", "EMPLOYEE") in got  # "PARTIES:" ends the run (a key, not part of the name)
    assert ("Peoples Bank SB", "Peoples") in got  # a term abbreviating the name is fine
    assert ("Bernd Brust", "Employee") in got  # a line repeated under a signature is one name
    for name, _ in got:
        assert "Agreement" not in name and "Information" not in name, got  # things and restated terms


def test_odd_whitespace_and_connectors_at_a_line_start() -> None:
    # a no-break space, a carriage return or a line separator before a name is whitespace, not a word
    for lead in ("\xa0", "x\n\xa0", "\r", "\u2028", "\f"):
        got = _names(lead + "Acme\nWidgets (“X”)")
        assert got == [("Widgets", "X")], (lead, got)  # not wrapped in running text: its last line is the name
    assert _names("between Acme\n& Co (“X”)") == [("Acme\n& Co", "X")]
    assert _names("Title: Acme\n& Co (“X”)") == [("Co", "X")]  # cut to the last line, no leading "&"


def test_a_candidate_spanning_a_defined_name_takes_its_term_as_label() -> None:
    # the key-value candidate "Vendor: Acme Widgets, Inc." came first; the definition below relabels it
    doc = parse_bytes("Vendor: Acme Widgets, Inc.\n(the “Supplier”) sells.\n".encode(), name="n.txt")
    (c,) = [c for c in build_candidates(doc).items if c.text == "Acme Widgets, Inc."]
    assert c.source == "kv" and c.label == "Supplier" and "defined" in c.tags


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([
    "Acme Widgets, Inc.", "(the “Supplier”)", "(“Buyer”)", ", a Delaware corporation", "and", "between", "\n",
    "John Q. Public", "this Agreement", "“", "”", "(", ")", ",", "the", "Zeta & Sons, L.L.C.", " ", "é", "Title:",
    "\xa0", "\r", "\u2028", "&", "of",
]), max_size=30))
def test_defined_names_quote_the_text(parts: list[str]) -> None:
    text = " ".join(parts)
    for s, e, term in defined_names(text):
        name = text[s:e]
        assert 0 <= s < e <= len(text)
        assert name == name.strip() and not name.endswith(","), (text, name)
        assert any(w[:1].isupper() for w in name.split()) and term


def test_defined_names_are_labelled_candidates_and_lead_a_party_field() -> None:
    doc = parse_bytes(NDA.encode(), name="nda.txt")
    cands = build_candidates(doc).items
    defined = {c.text: c for c in cands if "defined" in c.tags}
    assert set(defined) == {"Consac,\nLLC", "MusclePharm Corporation", "HOWARD ISAACS"}
    for c in cands:  # offsets are sacred
        assert doc.text[c.span.start : c.span.end] == c.text
    assert defined["MusclePharm Corporation"].label == "Company" and "org" in defined["Consac,\nLLC"].tags
    party = Field("party", FieldType.STRING, description="a party to the agreement")
    ranked = [c.text for c, _ in rank(FieldQuery.of(party), list(cands), 6)]
    # both parties rank above a company the text only mentions
    assert ranked.index("Wynnefield Capital, Inc.") > max(ranked.index("MusclePharm Corporation"),
                                                            ranked.index("Consac,\nLLC")), ranked
    # a field named like a term takes the name defined with it
    top = rank(FieldQuery.of(Field("recipient", FieldType.STRING)), list(cands), 1)
    assert top and top[0][0].text == "Consac,\nLLC"


def test_a_text_of_definitions_is_read_up_to_a_bound() -> None:
    from evidex.extract.gazetteer import MAX_DEFINITIONS

    got = defined_names("Acme Widgets, Inc. (the “Supplier”) " * (MAX_DEFINITIONS + 500))
    assert len(got) == MAX_DEFINITIONS and all(t == "Supplier" for _, _, t in got)
