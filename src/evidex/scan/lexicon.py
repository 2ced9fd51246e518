"""A small, generic lexicon shared by the prior (extract) and the selectors (select): sets of words that label the
same kind of value, and the crude stem both use. Not tuned to any dataset."""

from __future__ import annotations

# Small, generic synonym sets (not tuned to any dataset): words that label the same kind of value.
SYNONYMS: tuple[frozenset[str], ...] = tuple(
    frozenset(s.split())
    for s in (
        "total amount sum due balance payable grand net gross",
        "date dated issued on day",
        "number no num nr id ref reference code #",
        "company vendor supplier seller merchant store shop business firm organisation organization",
        "customer client buyer bill billed purchaser recipient",
        "address addr street located location",
        "party parties between counterparty",
        "jurisdiction governed law laws courts state",
        "term duration period years months",
        "effective commencement start starting begins",
        "name named",
        "tax vat gst sst",
        "phone tel telephone fax",
        "email mail",
        "price rate cost unit",
        "quantity qty hours units",
        "description item service product details",
        "subtotal sub",
        "version revision release edition",
    )
)

def expand(terms: set[str]) -> set[str]:
    out = set(terms)
    for t in terms:
        for syn in SYNONYMS:
            if t in syn:
                out |= syn
    return out


def stem(w: str) -> str:
    return w[:5] if len(w) > 5 else w
