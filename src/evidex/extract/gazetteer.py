"""Small, generic name lists and name finders used to propose candidates: US states and countries (jurisdictions,
places), organisation names with a legal suffix, names a contract defines a term for, the people of a byline."""

from __future__ import annotations

import itertools
import re

US_STATES = ["Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut", "Delaware", "Florida", "Georgia", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa", "Kansas", "Kentucky", "Louisiana", "Maine", "Maryland", "Massachusetts", "Michigan", "Minnesota", "Mississippi", "Missouri", "Montana", "Nebraska", "Nevada", "Ohio", "Oklahoma", "Oregon", "Pennsylvania", "Tennessee", "Texas", "Utah", "Vermont", "Virginia", "Washington", "Wisconsin", "Wyoming", "New Hampshire", "New Jersey", "New Mexico", "New York", "North Carolina", "North Dakota", "Rhode Island", "South Carolina", "South Dakota", "West Virginia", "District of Columbia"]
COUNTRIES = ["Argentina", "Australia", "Austria", "Belgium", "Brazil", "Bulgaria", "Canada", "Chile", "China", "Colombia", "Croatia", "Cyprus", "Denmark", "Egypt", "Estonia", "Finland", "France", "Germany", "Greece", "Hungary", "Iceland", "India", "Indonesia", "Ireland", "Israel", "Italy", "Japan", "Kenya", "Korea", "Latvia", "Lithuania", "Luxembourg", "Malaysia", "Malta", "Mexico", "Morocco", "Netherlands", "Nigeria", "Norway", "Pakistan", "Peru", "Philippines", "Poland", "Portugal", "Romania", "Russia", "Singapore", "Slovakia", "Slovenia", "Spain", "Sweden", "Switzerland", "Taiwan", "Thailand", "Turkey", "Ukraine", "Vietnam", "Bermuda", "United States", "United Kingdom", "England and Wales", "England", "Scotland", "Hong Kong", "New Zealand", "South Africa", "Saudi Arabia", "United Arab Emirates", "Cayman Islands", "British Virgin Islands", "Czech Republic", "Ontario", "Quebec", "British Columbia"]
PLACES = tuple(sorted({*US_STATES, *COUNTRIES}, key=len, reverse=True))
PLACE_RE = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(p) for p in PLACES) + r")(?![\w-])", re.IGNORECASE)

# "Acme Widgets, Inc.", "NITROMED, INC.", "Virgin Mobile USA, LLC": capitalised words ending in a legal suffix
ORG_NAME_RE = re.compile(
    r"(?<![\w&])(?:(?:[A-Z0-9][\w&'’.-]*|&),?\s+){1,6}"
    r"(?:Inc|INC|Incorporated|INCORPORATED|LLC|L\.L\.C|Ltd|LTD|Limited|LIMITED|Corporation|CORPORATION|Corp|CORP|"
    r"Company|COMPANY|Co|CO|PLC|plc|LLP|L\.P|LP|N\.A|S\.A|GmbH|AG|B\.V|N\.V|Holdings|HOLDINGS|Trust|TRUST)"
    r"(?:\.(?!\w))?(?![\w])"
)
_ORG_STOP = re.compile(r"^(?:The|THE|This|THIS|Each|EACH|Such|SUCH|Said|SAID|Both|BOTH|And|AND|Between|BETWEEN|By|BY|"
                       r"With|WITH|Of|OF|For|FOR|To|TO|In|IN|On|ON|From|FROM|Whereas|WHEREAS|Agreement|AGREEMENT)\s+")


def trim_org(name: str) -> tuple[int, str]:
    """Drop leading function words ("between Acme Inc." → "Acme Inc."); returns (chars dropped, name)."""
    dropped = 0
    while True:
        m = _ORG_STOP.match(name)
        if not m:
            return dropped, name
        dropped += m.end()
        name = name[m.end() :]


# A defined term in parentheses, the way contracts introduce a party: "(the “Company”)", "(“Recipient”)",
# "(hereinafter referred to as the “Employee”)", "(collectively, “KBS”)". Group 1 is the term.
_DEFINITION = re.compile(
    r"\(\s*(?:(?:the|hereinafter|herein|referred|to|as|called|collectively|individually|each|together|jointly|a|an)"
    r"[\s,]+){0,5}[\"“‘']\s*([A-Z][^\"”’'()\n]{0,50}?)\s*[\"”’']"
)
# what may stand between a name and its definition: ", a Nevada corporation", ",\na Delaware limited liability company"
_APPOSITIVE = re.compile(r"(?:,\s*|\s+)an?\s+[A-Za-z][^()\"“”;:\n]{0,80}?,?\s*$")
_SUFFIX = re.compile(r"^(?:Inc|Incorporated|LLC|L\.L\.C|Ltd|Limited|Corporation|Corp|Company|Co|PLC|LLP|L\.P|LP|N\.A|"
                     r"S\.A|S\.A\.S|GmbH|AG|B\.V|N\.V|SA|SB|NA|Pty|Pte|AB|AS|A/S|SE|KG|Bhd)\.?,?$", re.I)
_CONNECTORS = frozenset(["&", "of", "de", "du", "des", "la", "le", "van", "von", "der", "den", "di", "da", "y", "e"])
# a capitalised run ending in one of these names a document, a clause or a thing, not a party
_THINGS = frozenset(["agreement", "agreements", "contract", "plan", "policy", "act", "date", "information", "section",
                     "exhibit", "schedule", "transaction", "transactions", "period", "term", "notice", "letter", "code",
                     "rules", "property", "products", "services", "business", "territory", "purpose"])
_DETERMINERS = frozenset(["this", "the", "a", "an", "such", "said", "any", "all", "each", "its", "his", "her", "their",
                          "our", "your", "that", "these", "those"])


MAX_DEFINITIONS = 2000  # per document: parties are defined early; a hostile text of definitions stays cheap


def _name_token(tok: str) -> bool:
    core = tok.rstrip(",")
    return bool(core) and (core[0].isupper() or core[0].isdigit()) and not core.endswith((":", ";")) and \
        not any(ch in core for ch in "()[]“”\"") and core[-1] not in "‘’'"


def _wraps(name: str, before: str) -> bool:
    """Whether a name broken over lines is one name wrapped in running text ("between OceanFirst / Financial Corp."):
    introduced by a lower-case word on its first line, the same casing on both sides (legal suffixes aside), not a line repeated."""
    first, _, rest = name.rpartition("\n")
    ws = before.split()
    if not ws or re.search(r"\n[^\S\n]*$", before) or not ws[-1].islower():
        return False
    parts = [" ".join(w for w in part.split() if not _SUFFIX.match(w)) for part in (first, rest)]
    caps = [part.upper() == part for part in parts if any(ch.isalpha() for ch in part)]
    return len(set(caps)) <= 1 and " ".join(first.split()) != " ".join(rest.split())


def defined_names(text: str) -> list[tuple[int, int, str]]:
    """Names a document defines a term for — ``Consac, LLC (the “Recipient”)``, ``MusclePharm Corporation, a Nevada
    corporation (the “Company”)``, ``Eric Dean Sprunk (“EMPLOYEE”)`` — as ``(start, end, term)``.

    The name is the run of capitalised words (with ``&``, ``of``, ``de`` … inside, a comma only before a legal
    suffix, line breaks allowed) just before the definition or before an appositive ("a Delaware corporation").
    A run after a determiner ("this Agreement (the “Agreement”)", "the Effective Date") or restating its own term
    is not a name. Only the first :data:`MAX_DEFINITIONS` definitions are read."""
    out: list[tuple[int, int, str]] = []
    for m in itertools.islice(_DEFINITION.finditer(text), MAX_DEFINITIONS):
        term = " ".join(m.group(1).split())
        lo = max(0, m.start() - 240)
        head = text[lo : m.start()]
        app = _APPOSITIVE.search(head)
        if app:
            head = head[: app.start()]
        head = head.rstrip(" \t\n,")
        toks = list(re.finditer(r"\S+", head))
        taken: list[re.Match[str]] = []
        for t in reversed(toks):
            w = t.group()
            if len(taken) >= 10:
                break
            if w.endswith(",") and not (taken and _SUFFIX.match(taken[-1].group())):
                break  # a comma inside a name only before its legal suffix ("Consac, LLC")
            if _name_token(w) or (w in _CONNECTORS and taken):
                taken.append(t)
                continue
            if w.lower() in _DETERMINERS and taken:
                taken = []  # "this Non-Disclosure Agreement", "the Effective Date": not a name
            break
        while taken and taken[-1].group() in _CONNECTORS:
            taken.pop()  # a name does not start with "of" or "&"
        if not taken:
            continue
        start, end = lo + taken[-1].start(), lo + taken[0].end()
        before = head[: taken[-1].start()].rstrip(" \t")
        if "\n" in text[start:end] and not _wraps(text[start:end], before):
            # a name wraps over a line only in running text ("between OceanFirst / Financial Corp."); else its last
            # line is the name ("Title: Chief Executive Officer / HOWARD ISAACS (“CONSULTANT”)")
            start = text.rfind("\n", start, end) + 1
            while start < end and text[start].isspace():
                start += 1
            while True:  # a name does not start with "of" or "&" on its last line either
                head_word = text[start:end].split(None, 1)
                if len(head_word) < 2 or head_word[0] not in _CONNECTORS:
                    break
                start = text.index(head_word[1], start)
        name = text[start:end].rstrip(",")
        end = start + len(name)
        words = [w.lower().strip(".,") for w in name.split()]
        if not any(w[:1].isupper() for w in name.split()) or not words or words[-1] in _THINGS or \
                set(words) <= {w.lower() for w in term.split()}:
            continue  # "this Agreement", "Confidential Information (“Confidential Information”)": not a party
        out.append((start, end, term))
    return out


# a byline: "by Glenn Beck; Kevin Balfe and Emily Bestler", "Written by J. K. Rowling & Jack Thorne"
_BY = re.compile(r"(?<![\w-])(?:by|By|BY)[ \t]+(?=[^\W\d_])")
_PARTICLES = frozenset(["de", "van", "von", "der", "den", "le", "la", "du", "da", "di", "del", "della", "bin", "al",
                        "ten", "ter", "y"])
_NOT_PERSON = frozenset(["the", "this", "that", "such", "said", "each", "any", "all", "our", "your", "its", "their",
                         "mail", "email", "phone", "fax", "hand", "courier", "order", "law", "reason", "way"])
# legal suffixes as companies print them (case-sensitive: "Se Ri Pak", "Co Van Nguyen" are people)
_COMPANY_WORD = re.compile(r"^(?:Inc|INC|Incorporated|INCORPORATED|LLC|L\.L\.C|Ltd|LTD|Limited|LIMITED|Corp|CORP|"
                           r"Corporation|CORPORATION|Company|COMPANY|Co|CO|PLC|plc|LLP|LP|L\.P|GmbH|AG|S\.A|N\.V|B\.V|"
                           r"Holdings|HOLDINGS|Group|GROUP|Services|SERVICES)\.?,?$")
_LIST_SEP = re.compile(r"(?:[ \t]*(?:[,;&/]|\band\b|\bwith\b)[ \t]*)+")
_NAME_TOKEN = re.compile(r"[^\s,;&/():]+")
MAX_BYLINES = 500  # per document
MAX_BYLINE_NAMES = 12  # per byline


def byline_names(text: str) -> list[tuple[int, int]]:
    """The people a byline names — ``by Glenn Beck; Kevin Balfe and Emily Bestler`` → three ``(start, end)`` spans.

    A name is two to five capitalised words or initials on the byline's line (``de``, ``van`` … inside), names are
    separated by ``,`` ``;`` ``&`` ``/`` ``and`` ``with``; the list ends at a bracket, a colon, a sentence's end
    ("by Glenn Beck. It …") or any other word, after :data:`MAX_BYLINE_NAMES` names. A name with a company word
    ("by Acme Widgets Inc.", "by Amazon Digital Services, Inc.") or led by a determiner ("by The Company") is not
    a person. At most :data:`MAX_BYLINES` bylines per text are read."""
    out: list[tuple[int, int]] = []
    for m in itertools.islice(_BY.finditer(text), MAX_BYLINES):
        pos = m.end()
        eol = text.find("\n", pos)
        eol = len(text) if eol < 0 else eol
        for _ in range(MAX_BYLINE_NAMES):
            toks: list[re.Match[str]] = []
            ended = False  # the name's last word closes a sentence ("Beck.")
            for t in _NAME_TOKEN.finditer(text, pos, eol):
                w = t.group()
                if text[toks[-1].end() if toks else pos : t.start()].strip():
                    break  # a separator or a bracket: the name ends here
                if not ((w[0].isalpha() and w[0].isupper()) or (toks and w in _PARTICLES)):
                    break
                toks.append(t)
                if len(toks) > 5:
                    break
                if w.endswith(".") and len(w.rstrip(".")) > 3 and not _COMPANY_WORD.match(w):
                    ended = True  # "Beck." — an initial or abbreviation ("J.", "St.", "Ph.") does not end a name
                    break
            while toks and toks[-1].group() in _PARTICLES:
                toks.pop()
            words = [t.group() for t in toks]
            if not (2 <= len(words) <= 5) or words[0].lower() in _NOT_PERSON or \
                    any(_COMPANY_WORD.match(w) for w in words):
                break
            start, end = toks[0].start(), toks[-1].end()
            if ended:
                end -= 1
            follow = _NAME_TOKEN.search(text, end, eol)
            if follow and text[end : follow.start()].strip() == "," and _COMPANY_WORD.match(follow.group()):
                break  # "Amazon Digital Services, Inc."
            out.append((start, end))
            sep = _LIST_SEP.match(text, end, eol)
            if ended or not sep or sep.end() == end:
                break
            pos = sep.end()
    return out
