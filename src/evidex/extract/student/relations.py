"""Relational features of (field, candidate) pairs (feature set ``"3"``): what the candidate is *next to*.

Feature set 1 describes a candidate on its own. Two kinds of error of the in-domain students need a view of its
neighbours (docs/benchmarks.md, "Relational features"):

* **Amounts that a nearby amount corrects.** A receipt prints "TOTAL 60.31", "ROUNDING ADJ -0.01", "60.30": the
  value a user copies is the later, rounded one. Per amount candidate: whether another amount of the document
  differs from it by a few cents (≤ :data:`CLOSE`, not equal) *after* it or *before* it, and how many equal
  amounts follow (a total repeated as the cash tendered). Per candidate of the field's pool: how many other pool
  candidates are *labelled like the field* (their key — the words left of them, or the line above a value printed
  alone — shares a word with the field's name) before and after it, and for an amount the signed relative difference to the next such amount after it
  ("TOTAL SALES 33.00" … "TOTAL 35.00").
* **What the span tagger thinks around the candidate.** The tagger's spans are candidates of their own, but a
  span one line too long ("CITY MILK" above "R&C VENTURE SDN BHD") wins over the right line, and the student saw
  only the tag ``tagger:FIELD``. :mod:`evidex.extract.tagger` now writes, on every candidate of a document it
  tagged, the tagger's mean probability that the candidate's tokens belong to the field and the same for the
  line just before and just after it (``extra["tagger_marg:FIELD"]``), and the tagged span's own probability
  (``extra["tagger_prob:FIELD"]``). Features: those four numbers and whether the candidate was tagged for this
  field.

The columns sit after feature set 2's (:data:`OFFSET`), so a set-1 or set-2 model reads exactly the columns it
read before; a set-3 row always carries the constant column ``rel:set`` (so its width is known from any row).
Rows get them only when the :class:`~evidex.extract.student.features.DocFeatures` asks for them: a student whose
card says feature set ``"3"``, or training inside :func:`using_relations`.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from evidex.extract.candidates import BARE, Candidate

if TYPE_CHECKING:
    from evidex.extract.student.features import DocFeatures, FieldInfo

RELATIONS = ("rel:set", "rel:amt_close_after", "rel:amt_close_before", "rel:amt_same_after",
             "rel:peer_is", "rel:peer_count", "rel:peer_after", "rel:peer_before", "rel:peer_next_amt",
             "rel:peer_next_delta",
             "rel:tg_this", "rel:tg_prob", "rel:tg_in", "rel:tg_before", "rel:tg_after")
N_RELATIONS = len(RELATIONS)
RELATIONS_FEATURE_SET = "3"  # feature set 1 + these columns (after set 2's semantic block, which stays empty)
CLOSE = Decimal("0.10")  # "differs by a few cents": rounding to 0.05 / 0.10
MARG = "tagger_marg:"  # Candidate.extra key prefix: "in before after" probabilities of the tagger for a field
PROB = "tagger_prob:"  # Candidate.extra key prefix: the tagged span's mean tag probability for a field

_RELATIONS: contextvars.ContextVar[bool] = contextvars.ContextVar("evidex_student_relations", default=False)


@contextlib.contextmanager
def using_relations(on: bool = True) -> Iterator[None]:
    """Compute the relational features for feature rows built inside the block (training a set-3 student)."""
    token = _RELATIONS.set(on)
    try:
        yield
    finally:
        _RELATIONS.reset(token)


def context_relations() -> bool:
    return _RELATIONS.get()


def _amount_of(df: DocFeatures, c: Candidate) -> Decimal | None:
    v = df.amounts.get(c.id)
    if v is None and BARE in c.extra:
        v = df.amounts.get(int(c.extra[BARE]))
    return v


def _amount_relations(df: DocFeatures, c: Candidate, v: Decimal, put: dict[str, float]) -> None:
    after = before = False
    same_after = 0
    for start, end, u in df.amount_items:
        d = abs(u - v)
        if start >= c.span.end:
            if 0 < d <= CLOSE:
                after = True
            elif d == 0:
                same_after += 1
        elif end <= c.span.start and 0 < d <= CLOSE:
            before = True
    put["rel:amt_close_after"] = float(after)
    put["rel:amt_close_before"] = float(before)
    put["rel:amt_same_after"] = float(min(same_after, 5))


def _tagger_relations(field: str, c: Candidate, put: dict[str, float]) -> None:
    put["rel:tg_this"] = 1.0 if f"tagger:{field}" in c.tags else 0.0
    p = c.extra.get(PROB + field)
    if p is not None:
        put["rel:tg_prob"] = float(p)
    m = c.extra.get(MARG + field)
    if m:
        vin, vbefore, vafter = (float(x) for x in m.split())
        put["rel:tg_in"], put["rel:tg_before"], put["rel:tg_after"] = vin, vbefore, vafter


def relation_rows(df: DocFeatures, fi: FieldInfo, cands: Sequence[Candidate], rows: Sequence[Sequence[tuple[int, float]]],
                  offset: int, label_col: int) -> list[list[tuple[int, float]]]:
    """The relational columns (from ``offset``) of each candidate of one field's pool; ``rows`` are the pool's
    set-1 rows and ``label_col`` the column of ``label_name`` in them."""
    peer = [dict(r).get(label_col, 0.0) > 0 for r in rows]
    spans = [(c.span.start, c.span.end) for c in cands]
    values = [_amount_of(df, c) for c in cands]
    n_peer = sum(peer)
    out: list[list[tuple[int, float]]] = []
    for i, c in enumerate(cands):
        put: dict[str, float] = {"rel:set": 1.0, "rel:peer_is": float(peer[i]), "rel:peer_count": float(min(n_peer, 20))}
        after = [j for j in range(len(cands)) if peer[j] and spans[j][0] >= c.span.end]
        put["rel:peer_after"] = float(min(len(after), 20))
        put["rel:peer_before"] = float(min(sum(1 for j in range(len(cands)) if peer[j] and spans[j][1] <= c.span.start), 20))
        v = values[i]
        if v is not None:
            _amount_relations(df, c, v, put)
            nxt = min((j for j in after if values[j] is not None), key=lambda j: spans[j][0], default=None)
            if nxt is not None:
                u = values[nxt]
                assert u is not None
                put["rel:peer_next_amt"] = 1.0
                top = max(u, v)
                put["rel:peer_next_delta"] = float((u - v) / top) if top else 0.0
        _tagger_relations(fi.field.name, c, put)
        out.append([(offset + k, put[name]) for k, name in enumerate(RELATIONS) if put.get(name)])
    return out


__all__ = ["CLOSE", "MARG", "N_RELATIONS", "PROB", "RELATIONS", "RELATIONS_FEATURE_SET", "context_relations",
           "relation_rows", "using_relations"]
