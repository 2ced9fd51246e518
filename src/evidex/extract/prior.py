"""A cheap, explainable prior score of each candidate for each field (0…1).

Type compatibility gates the score (a date field only takes date candidates); then the candidate's label
(key, column header, left context) and text are compared with the field's name, description and examples.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evidex.extract.candidates import BARE, Candidate, words
from evidex.model import Field, FieldType
from evidex.scan.dates import MONTHS
from evidex.scan.lexicon import SYNONYMS as _SYNONYMS
from evidex.scan.lexicon import expand as _expand
from evidex.scan.lexicon import stem as _stem

EXTRA_RATIO = 0.8  # a list field also takes the other candidates scoring at least this share of the best
_ID_WORDS = {"number", "no", "id", "ref", "reference", "code", "invoice", "order", "account", "policy"}
_STOP = {"the", "a", "an", "of", "to", "in", "for", "and", "or", "on", "is", "as", "by", "with", "this", "that", "at",
         "be", "which", "from", "value", "field", "document", "e", "g", "eg", "if", "any"}


def stop_word(w: str) -> bool:
    """Whether a (lower-case) word is too common to tie a text to a field."""
    return w in _STOP


def term(w: str) -> str:
    """A (lower-case) word as the field queries hold it (stemmed)."""
    return _stem(w)


def shape(s: str) -> str:
    s = re.sub(r"[A-Za-z]", "a", s)
    s = re.sub(r"\d", "9", s)
    return re.sub(r"(.)\1+", r"\1", s)


_ROLES: dict[str, frozenset[str]] = {
    "org": frozenset(
        ["company", "vendor", "supplier", "seller", "merchant", "store", "shop", "issuer", "organisation", "organization", "business", "firm", "employer", "manufacturer", "lender", "borrower", "landlord", "tenant", "contractor", "party", "parties", "counterparty"]
    ),
    "place": frozenset(["jurisdiction", "state", "country", "governing", "venue"]),
    "address": frozenset(["address", "street", "premises", "location"]),
    # people a byline credits ("by Glenn Beck; Kevin Balfe")
    "person": frozenset(["author", "authors", "writer", "writers", "artist", "artists", "composer", "composers",
                         "director", "directors", "editor", "editors", "creator", "creators", "illustrator",
                         "translator", "narrator", "performer", "performers", "byline"]),
}


def field_role(f: Field) -> str | None:
    """What kind of thing a string field holds, from its name (and description when the name is vague)."""
    name = set(words(f.name.replace("_", " ")))
    for role, cues in _ROLES.items():
        if name & cues:
            return role
    desc = set(words(f.description)[:8])
    for role, cues in _ROLES.items():
        if desc & cues:
            return role
    return None


# Words of a field's name that only restate its type: a date field's "date", a money field's "amount". A label
# naming just these ("Date:") says what the type gate already knows, not *which* date the field wants.
_TYPE_WORDS: dict[FieldType, frozenset[str]] = {
    FieldType.DATE: frozenset({"date", "dated", "day"}),
    FieldType.MONEY: frozenset({"amount", "sum", "money"}),
    FieldType.DECIMAL: frozenset({"amount", "value", "number"}),
    FieldType.INTEGER: frozenset({"number", "count", "num", "no"}),
    FieldType.DURATION: frozenset({"duration", "period", "length"}),
    FieldType.STRING: frozenset({"name", "text"}),
}


def name_words(f: Field) -> list[str]:
    """The words of a field's name (``_`` as a space), without stop words, each once, in order."""
    return [w for w in dict.fromkeys(words(f.name.replace("_", " "))) if w not in _STOP]


def _terms(text: str) -> set[str]:
    """The stemmed words of ``text``, without stop words (what labels and contexts are compared by)."""
    return {_stem(w) for w in words(text) if w not in _STOP}


def key_words(f: Field) -> tuple[frozenset[str], ...]:
    """The words of a field's name that say *which* value of its type it is, each as the stems of it and its
    synonyms: ``termination_date`` → (termination), ``invoice_date`` → (invoice). Empty unless the name also holds a
    word restating its type (``date``, ``amount``, ``name`` …): a one-word name (``total``, ``date``) or one with no
    type word (``party``) has no such split."""
    name = name_words(f)
    typed = _TYPE_WORDS.get(f.type, frozenset())
    key = [w for w in name if w not in typed]
    if not key or len(key) == len(name):
        return ()
    return tuple(frozenset(_stem(s) for s in _expand({w})) for w in key)


@dataclass(frozen=True)
class FieldQuery:
    field: Field
    name_terms: frozenset[str]
    all_terms: frozenset[str]  # name + description, expanded with synonyms, stemmed
    shapes: frozenset[str]
    role: str | None = None
    key_terms: tuple[frozenset[str], ...] = ()  # :func:`key_words`

    @staticmethod
    def of(f: Field) -> FieldQuery:
        name = set(name_words(f))
        desc = {w for w in words(f.description) if w not in _STOP}
        return FieldQuery(
            f,
            frozenset(_stem(w) for w in _expand(name)),
            frozenset(_stem(w) for w in _expand(name | desc)),
            frozenset(shape(e) for e in f.examples),
            field_role(f) if f.type is FieldType.STRING else None,
            key_words(f),
        )


def key_cover(q: FieldQuery, text: str) -> float:
    """Share of the field's :func:`key_words` that ``text`` names (a word or a synonym); 0 when it has none."""
    if not q.key_terms:
        return 0.0
    ws = _terms(text)
    return sum(1 for k in q.key_terms if k & ws) / len(q.key_terms)


_DATE_NAME_WORDS = frozenset(["date", "dated", "birthday", "dob"])
# a month and a year, "March 2009", "Sept. 2010" (whole text; month names from the date scanner's list)
_MONTH_YEAR = re.compile(r"(?i)(?:" + "|".join(re.escape(m) for m in sorted(MONTHS, key=len, reverse=True)) +
                         r")\.?,?\s+(?:1[6-9]|20)\d\d")


def type_score(f: Field, c: Candidate) -> float:
    t = f.type
    if t is FieldType.DATE:
        return 1.0 if "date" in c.tags else 0.0
    if t in (FieldType.MONEY, FieldType.DECIMAL):
        if "amount" in c.tags:
            return 1.0 if ("." in c.text or "," in c.text or not c.text.isdigit()) else 0.6
        return 0.0
    if t is FieldType.DURATION:
        return 1.0 if "duration" in c.tags else 0.0
    if t is FieldType.INTEGER:
        return 1.0 if "integer" in c.tags else (0.3 if "amount" in c.tags else 0.0)
    if t is FieldType.STRING:
        name = set(words(f.name.replace("_", " ")))
        if name & _DATE_NAME_WORDS and ("date" in c.tags or _MONTH_YEAR.fullmatch(c.text)):
            return 1.0  # a date kept as text: "publication_date" typed string ("June 2010", as shown on the page)
        if c.tags & {"date", "amount", "percent"} and (c.source in ("date", "amount", "percent") or "text" in c.tags):
            return 0.15  # a bare date or amount is rarely the answer to a text field
        if "ident" in c.tags and name & _ID_WORDS:
            return 1.0
        if "email" in c.tags:
            return 1.0 if "email" in name or "mail" in name else 0.2
        return 0.8 if c.source in ("kv", "cell", "line", "paragraph", "heading", "address", "place", "org", "name") else 0.4
    return 0.0


_GROUP_STEMS: tuple[frozenset[str], ...] = tuple(frozenset(_stem(w) for w in g) for g in _SYNONYMS)


def conflict(own: frozenset[str], label: str) -> float:
    """Share of the label's words that name *another* kind of value (e.g. 'quantity' for a total)."""
    ws = [_stem(w) for w in words(label) if w not in _STOP]
    if not ws:
        return 0.0
    foreign = 0
    for w in ws:
        if w in own:
            continue
        if any(w in g and not (g & own) for g in _GROUP_STEMS):
            foreign += 1
    return foreign / len(ws)


def overlap(terms: frozenset[str], text: str) -> float:
    ws = _terms(text)
    if not ws or not terms:
        return 0.0
    hit = len(ws & terms)
    return min(1.0, hit / min(len(ws), 3))


_LAYER_PEN = {"body": 1.0, "metadata": 0.85}


def prior(q: FieldQuery, c: Candidate) -> float:
    ts = type_score(q.field, c)
    if ts == 0.0:
        return 0.0
    label = 0.0
    if c.label:
        # the field's name counts fully; words of its description only weakly (they describe context too)
        label = max(overlap(q.name_terms, c.label), 0.4 * overlap(q.all_terms, c.label))
        if q.key_terms:
            # a label naming only the type ("Date:" for termination_date) counts half; one naming which value
            # ("… will terminate on", "payable by" for a payment due date) beats it even when it is a clause
            # rather than a key
            cover = key_cover(q, c.label)
            label = max(label * (0.5 + 0.5 * cover), 0.5 + 0.25 * cover if cover else 0.0)
        if "defined" not in c.tags:  # a defined term ("the “Company”") names a party's role, not another field
            label -= 0.5 * conflict(q.name_terms, c.label)
        if ts < 0.8 and label >= 0.99 and c.source in ("kv", "cell") and q.field.type is FieldType.STRING:
            ts = 0.8  # a value whose key names the field ("Version: 2.1") answers a text field even if numeric
    content = 0.5 * overlap(q.all_terms, c.text) if q.field.type is FieldType.STRING else 0.0
    shp = 1.0 if q.shapes and shape(c.text) in q.shapes else 0.0
    src = {"kv": 1.0, "cell": 0.9, "address": 0.8, "duration": 0.6, "place": 0.5, "org": 0.6, "name": 0.6, "date": 0.6, "amount": 0.6, "ident": 0.6, "heading": 0.5, "line": 0.4,
           "paragraph": 0.3, "email": 0.5, "percent": 0.5}.get(c.source, 0.3)
    length_pen = 1.0 if len(c.text) <= (200 if c.source == "address" else 80) else 0.6
    # the document's own metadata is nearly as good as its body (often stale or a template's); furniture is not
    layer_pen = _LAYER_PEN.get(c.layer.value, 0.5)
    role = 0.0
    if q.role is not None:
        if q.role in c.tags:
            role = 0.25 + (0.1 * (1.0 - c.position) if q.role == "org" else 0.0)  # names head documents
            if q.role == "org" and "defined" in c.tags:
                role += 0.1  # a name the text defines a term for: "Acme Inc. (the “Supplier”)"
        elif q.role == "org" and "header" in c.tags:
            role = 0.2  # an unsuffixed name on the first lines (a letterhead, a shop's name)
        if q.role == "place" and c.source == "place":
            role += 0.1  # a place name in running text ("laws of the State of Delaware")
        if q.role == "address" and c.source == "address":
            role = 0.35  # a multi-line address block beats any single line of it
        if q.role == "address" and "address" not in c.tags:
            role -= 0.1
    base = 0.12 if q.field.type is FieldType.STRING else 0.22  # passing a type gate is evidence already
    score = ts * (base + 0.55 * label + 0.13 * max(content, 0.0) + 0.1 * shp + 0.1 * src + role) * length_pen * layer_pen
    if "noted" in c.tags:
        score *= 1.05  # a value without the bracketed note closing its text ("The Overton Window", not "… (Hardcover)")
    return min(1.0, score)


def rank(q: FieldQuery, cands: list[Candidate], k: int) -> list[tuple[Candidate, float]]:
    """The ``k`` best candidates of a field by prior, one per distinct text. An amount's variant without its printed
    currency (:data:`~evidex.extract.candidates.BARE`) is offered only to a field output as printed, and ranks just
    before its full form on a tie: the prior's default is the bare amount, a trained scorer may learn otherwise."""
    printed = q.field.as_printed
    full = {c.id: c for c in cands} if printed else {}

    def of(c: Candidate) -> Candidate:  # the candidate a bare variant stands for (scored and placed as it)
        return full.get(int(c.extra[BARE]), c) if BARE in c.extra else c

    scored = [(c, prior(q, of(c))) for c in cands if printed or BARE not in c.extra]
    scored = [x for x in scored if x[1] > 0.0]
    scored.sort(key=lambda x: (-x[1], of(x[0]).span.start, 0 if of(x[0]) is not x[0] else 1))
    out: list[tuple[Candidate, float]] = []
    seen: set[str] = set()
    for c, s in scored:
        key = " ".join(c.text.lower().split())
        if key in seen:
            continue
        seen.add(key)
        out.append((c, s))
        if len(out) >= k:
            break
    return out
