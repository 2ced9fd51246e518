"""Schemas of the built-in datasets (identical to ``examples/schemas/*.yaml``; a test keeps them in sync)."""

from __future__ import annotations

from evidex.model.schema import Schema

KLEISTER_NDA_YAML = """\
# Kleister-NDA: non-disclosure agreements from SEC EDGAR (applicaai/kleister-nda).
# Scored with the official protocol: key=value pairs, spaces/colons -> "_", upper-cased, micro F1.
name: kleister-nda
description: Key facts of a non-disclosure agreement (NDA).
fields:
  effective_date:
    type: date
    description: Date on which the agreement becomes legally binding (its effective date).
  jurisdiction:
    type: string
    description: US state or country whose law governs the agreement, e.g. New York, Delaware.
  party:
    type: string
    many: true
    description: Each company or person that is a party to the agreement, name as written, e.g. Nitromed Inc.
  term:
    type: duration
    description: Length of the agreement (how long it stays in force), e.g. "3 years", "11 months".
"""

SROIE_YAML = """\
# SROIE 2019 task 3: scanned receipts (ICDAR 2019). Scored by exact match after whitespace normalisation,
# so values must be copied as printed: dates and totals are validated as dates and amounts but output as
# printed (as_printed), amounts without their currency.
name: sroie
description: Key information printed on a shop receipt.
fields:
  company:
    type: string
    description: Name of the company that issued the receipt, as printed.
  date:
    type: date
    as_printed: true
    description: Date of the receipt.
  address:
    type: string
    description: Address of the company as printed, lines joined by a space.
  total:
    type: money
    as_printed: true
    description: Total amount paid.
"""

CUAD_YAML = """\
# CUAD v1 (Atticus Project): clause extraction from commercial contracts. A few of the 41 categories;
# each value is a verbatim clause excerpt. Scored by word-Jaccard >= 0.5 matching, AUPR and P@80%R.
name: cuad
description: Clauses of a commercial contract that a lawyer reviews.
fields:
  parties:
    type: string
    many: true
    description: The two or more parties who signed the contract (names as written).
  agreement_date:
    type: string
    many: true
    description: Text stating the date of the contract.
  governing_law:
    type: string
    many: true
    description: Clause stating which state's or country's law governs the contract.
  non_compete:
    type: string
    many: true
    description: Clause restricting a party from competing with the counterparty or operating in a geography or business.
  exclusivity:
    type: string
    many: true
    description: Clause creating an exclusive dealing commitment with the counterparty.
  termination_for_convenience:
    type: string
    many: true
    description: Clause letting a party terminate without cause, by giving notice.
  change_of_control:
    type: string
    many: true
    description: Clause giving rights (termination, consent, notice) when a party undergoes a change of control.
  anti_assignment:
    type: string
    many: true
    description: Clause requiring consent or notice if the contract is assigned to a third party.
  audit_rights:
    type: string
    many: true
    description: Clause giving a party the right to audit the books, records or premises of the counterparty.
  cap_on_liability:
    type: string
    many: true
    description: Clause capping liability for breach, or limiting the time to bring claims.
"""

WNUT17_YAML = """\
# WNUT-17 emerging and rare entities (tweets, Reddit, YouTube, StackExchange).
# Scored at entity level: exact type and character span; also surface-form F1.
name: wnut17
description: Named entities in noisy user-generated text.
entities:
  person: Names of people (real or fictional), including usernames used as names.
  location: Names of places (countries, cities, buildings, landmarks).
  corporation: Names of companies and businesses.
  product: Names of products, including software, devices and brands used as products.
  creative-work: Titles of creative works (songs, films, books, shows, games).
  group: Names of groups (bands, teams, organisations that are not companies).
"""

SWDE_BOOK_YAML = """\
# SWDE book vertical (Hao et al., SIGIR 2011): attributes of the book described on a shop page.
# Scored by page-level F1 per attribute, averaged over attributes.
name: swde-book
description: The book described on an online bookshop product page.
fields:
  title:
    type: string
    description: Title of the book.
  author:
    type: string
    many: true
    description: Each author of the book.
  isbn_13:
    type: string
    description: The 13-digit ISBN, e.g. 9780316125581.
  publisher:
    type: string
    description: Name of the publisher.
  publication_date:
    type: string
    description: Publication date as shown on the page, e.g. June 2010.
"""

SCHEMA_YAML: dict[str, str] = {
    "kleister-nda": KLEISTER_NDA_YAML,
    "sroie": SROIE_YAML,
    "cuad": CUAD_YAML,
    "wnut17": WNUT17_YAML,
    "swde-book": SWDE_BOOK_YAML,
}


def builtin_schema(name: str) -> Schema:
    """The schema of a built-in dataset by name (``kleister-nda``, ``sroie``, ``cuad``, ``wnut17``, ``swde-book``)."""
    return Schema.from_yaml(SCHEMA_YAML[name], name=name)
