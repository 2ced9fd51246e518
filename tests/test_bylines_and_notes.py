"""Two ways web pages print a value beside something else: the people of a byline ("by Glenn Beck; Kevin Balfe")
and a title closed by a bracketed note ("The Overton Window (Hardcover)"). Each person and the bare title are
candidates of their own (SWDE book pages: author 0.0 → 0.96, title 0.0 → 0.70 under the prior)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from evidex.extract.candidates import build_candidates
from evidex.extract.gazetteer import MAX_BYLINE_NAMES, MAX_BYLINES, byline_names
from evidex.extract.prior import FieldQuery, field_role, rank
from evidex.model import Field, FieldType
from evidex.parse import parse_bytes

PAGE = b"""<html><head><title>The Overton Window by Glenn Beck; Kevin Balfe (Hardcover): Books</title></head>
<body><h1>The Overton Window (Hardcover)</h1>
<h2>by Glenn Beck and Kevin Balfe and Emily Bestler</h2>
<p>Sold by Bookstore Partners LLC. Shipped by mail.</p>
<table><tr><td>Publisher:</td><td>Threshold Editions</td></tr><tr><td>ISBN-13:</td><td>9781439184301</td></tr></table>
</body></html>"""


def _names(text: str) -> list[str]:
    return [text[s:e] for s, e in byline_names(text)]


def test_a_byline_names_each_person() -> None:
    assert _names("The Overton Window by Glenn Beck; Kevin Balfe; Emily Bestler (Hardcover): shop") == \
        ["Glenn Beck", "Kevin Balfe", "Emily Bestler"]
    assert _names("Written by J. K. Rowling & Jack Thorne\nnext line Words") == ["J. K. Rowling", "Jack Thorne"]
    assert _names("by Ludwig van Beethoven, with Anne-Sophie Mutter") == ["Ludwig van Beethoven", "Anne-Sophie Mutter"]
    assert _names("by Glenn Beck. It is good") == ["Glenn Beck"]  # a sentence's end closes the list
    assert _names("by Lili St. Crow and Sharnnia Artis Ph. D.") == ["Lili St. Crow", "Sharnnia Artis Ph. D."]
    assert _names("by Émile Zola and Se Ri Pak") == ["Émile Zola", "Se Ri Pak"]  # any capital; "Se" is no suffix
    # not people: a company, a determiner, a lower-case word, a single word
    for text in ("signed by Acme Widgets Inc. on", "by The Company", "by mail", "by Madonna", "by and between X",
                 "Sold by Amazon Digital Services, Inc.", "Sold by Acme Trading, Inc. today"):
        assert _names(text) == [], text


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["by", "By", "Glenn", "Beck", "van", ";", ",", "and", "(", ")", "\n", "Inc.", "The",
                                 "x", "J.", "&", ":", "with", "\xa0", "\r", "\u2028", "Émile", "Beck."]), max_size=25))
def test_byline_names_quote_the_text(parts: list[str]) -> None:
    text = " ".join(parts)
    for s, e in byline_names(text):
        name = text[s:e]
        assert name == name.strip() and "\n" not in name and 2 <= len(name.split()) <= 5, (text, name)
    # bounded: bylines per text, names per byline
    assert len(byline_names("by Glenn Beck " * (MAX_BYLINES + 50))) == MAX_BYLINES
    assert len(byline_names("by " + "Glenn Beck, " * (MAX_BYLINE_NAMES + 20))) == MAX_BYLINE_NAMES


def test_a_page_gives_its_authors_and_its_bare_title() -> None:
    doc = parse_bytes(PAGE, name="book.html")
    cands = list(build_candidates(doc).items)
    for c in cands:  # offsets are sacred
        assert doc.text[c.span.start : c.span.end] == c.text
    author = Field("author", FieldType.STRING, description="Each author of the book.", many=True)
    assert field_role(author) == "person"
    top = [c.text for c, _ in rank(FieldQuery.of(author), cands, 3)]
    assert top == ["Glenn Beck", "Kevin Balfe", "Emily Bestler"], top
    title = Field("title", FieldType.STRING, description="Title of the book.")
    ranked = [c.text for c, _ in rank(FieldQuery.of(title), cands, 3)]
    assert ranked[0] == "The Overton Window" and "The Overton Window (Hardcover)" in ranked, ranked
    # a registration number or a defined term (either quotes) is not a note: no bare variant of them
    receipt = parse_bytes("BOON SENG PAPER SDN BHD (1248717-W)\nAcme Trading (the “Seller”)\nAcme Ltd (the ‘Buyer’)\n"
                          .encode(), name="r.txt")
    assert not [c for c in build_candidates(receipt).items if "noted" in c.tags]
    # a long bracketed word (a URL) is read in one pass, not split every way (that took minutes at 400 chars)
    url = "(http://shop/" + "a" * 380 + ")"
    page = parse_bytes(f"<html><body><h2>The Book {url}</h2><table><tr><td>{url}</td></tr></table></body></html>"
                       .encode(), name="u.html")
    assert not [c for c in build_candidates(page).items if "noted" in c.tags]


def test_a_text_field_named_for_a_date_takes_a_date() -> None:
    # "publication_date" typed string ("as shown on the page"): the date beats a publisher whose key shares the
    # stem ("Publisher" / "publication"), and a month and year is a date here too
    doc = parse_bytes(b"<html><body><table><tr><td>Publisher:</td><td>Whitman Publishing</td></tr>"
                      b"<tr><td>Date:</td><td>March 2009</td></tr></table></body></html>", name="b.html")
    cands = list(build_candidates(doc).items)
    f = Field("publication_date", FieldType.STRING, description="Publication date as shown on the page.")
    assert rank(FieldQuery.of(f), cands, 1)[0][0].text == "March 2009"
    # a text field not named for a date still keeps dates down
    g = Field("publisher", FieldType.STRING, description="Name of the publisher.")
    assert rank(FieldQuery.of(g), cands, 1)[0][0].text == "Whitman Publishing"
