"""Context features of (field, candidate) pairs (feature set ``"4"``): which of the field's words lead up to it.

Feature set 1 compares the field with the candidate's *label* (a key such as "Date:") and the whole previous
line, by the share of the label's words that are field words. That cannot tell "Date: 2 May 2024" from "the
Agreement will terminate on 31 July 2024" for a field ``termination_date`` ("the date the agreement
terminates"): the label "Date" is entirely a field word, and the words leading up to the second date are no
label at all. The packaged default student reads dense features only (no hashed crosses), so it has no view of
those words. This block adds, per candidate, how many of the field's stemmed words (name; name and description
with the prior's synonyms) occur

* in the words just before it on its line (at most :data:`LEFT_WORDS`, not across a sentence end), and how close
  the nearest one is;
* in its label, as a share of the field's own *name* words (no synonyms) (a label naming the whole field — "Termination date" —
  against one naming part of it — "Date");

so a student learns that a value introduced by more of the field's own words is the better answer on schemas it
never saw. The columns sit after feature set 3's (:data:`~evidex.extract.student.features.CONTEXT_OFFSET`): a
set-4 row is a set-3 row plus these, and carries the constant column ``ctx:set``. Rows get them only when the
:class:`~evidex.extract.student.features.DocFeatures` asks for them: a student whose card says feature set
``"4"``, or training inside :func:`using_context`.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from evidex.extract.candidates import Candidate, words
from evidex.extract.prior import name_words, stop_word, term

if TYPE_CHECKING:
    from evidex.extract.student.features import DocFeatures, FieldInfo

CONTEXT = ("ctx:set", "ctx:left_name", "ctx:left_all", "ctx:left_name_cover", "ctx:left_near_name",
           "ctx:left_near_all", "ctx:label_name_cover", "ctx:label_all_hits")
N_CONTEXT = len(CONTEXT)
CONTEXT_FEATURE_SET = "4"  # feature set 3 + these columns
LEFT_WORDS = 8  # words before the candidate on its line that count as leading up to it
LEFT_CHARS = 80
_SENTENCE_END = re.compile(r"[.;!?]\s|:\s*\n")

_CONTEXT: contextvars.ContextVar[bool] = contextvars.ContextVar("evidex_student_context", default=False)


@contextlib.contextmanager
def using_context(on: bool = True) -> Iterator[None]:
    """Compute the context features (and the relational ones) for feature rows built inside the block (training a
    set-4 student)."""
    token = _CONTEXT.set(on)
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def context_context() -> bool:
    return _CONTEXT.get()


def left_terms(text: str, start: int) -> list[str]:
    """The stemmed content words just before ``start`` on its line and in its sentence, nearest last."""
    line_start = text.rfind("\n", 0, start) + 1
    window = text[max(line_start, start - LEFT_CHARS) : start]
    ends = list(_SENTENCE_END.finditer(window))
    if ends:
        window = window[ends[-1].end() :]
    return [term(w) for w in words(window)[-LEFT_WORDS:] if not stop_word(w)]


def _hits(terms: frozenset[str], ws: Sequence[str]) -> tuple[int, float]:
    """(distinct field words among ``ws``, 1 / (1 + words between the nearest one and the candidate))."""
    hit = {w for w in ws if w in terms}
    near = next((1.0 / (1 + k) for k, w in enumerate(reversed(ws)) if w in terms), 0.0)
    return len(hit), near


def context_rows(df: DocFeatures, fi: FieldInfo, cands: Sequence[Candidate], offset: int) -> list[list[tuple[int, float]]]:
    """The context columns (from ``offset``) of each candidate of one field's pool."""
    q, text = fi.query, df.doc.text
    own = {term(w) for w in name_words(fi.field)}  # no synonyms
    n_name = max(1, len(own))
    out: list[list[tuple[int, float]]] = []
    for c in cands:
        left = left_terms(text, c.span.start)
        name_hits, name_near = _hits(q.name_terms, left)
        all_hits, all_near = _hits(q.all_terms, left)
        label = {term(w) for w in words(c.label) if not stop_word(w)} if c.label else set()
        put = {"ctx:set": 1.0, "ctx:left_name": float(name_hits), "ctx:left_all": float(min(all_hits, 6)),
               "ctx:left_name_cover": len(own.intersection(left)) / n_name, "ctx:left_near_name": name_near,
               "ctx:left_near_all": all_near, "ctx:label_name_cover": len(label & own) / n_name,
               "ctx:label_all_hits": float(min(len(label & q.all_terms), 6))}
        out.append([(offset + k, put[name]) for k, name in enumerate(CONTEXT) if put.get(name)])
    return out


__all__ = ["CONTEXT", "CONTEXT_FEATURE_SET", "LEFT_WORDS", "N_CONTEXT", "context_context", "context_rows",
           "left_terms", "using_context"]
