"""Semantic features of (field, candidate) pairs: MiniLM cosines between the field and the candidate's context.

The field is read as ``"<name words>: <description>"`` and embedded as a sentence with all-MiniLM-L6-v2
(:mod:`evidex.embed`), once per field. Each candidate in the field's pool contributes four short word lists —
its key/label, the words left of it on its line, the previous line, and its own first words — each embedded as
the normalised mean of its *words'* MiniLM vectors (every word encoded alone, digits written as ``0``). Words
repeat across candidates and documents, so after a few documents nearly every word is cached and the cost per
document is a few matrix products: encoding every context string as a sentence measured 1.3–1.8 documents/s
on SROIE receipts, far under the student's 20 documents/s target. Features: the four cosines, their maximum over label/left/previous line, the reciprocal rank of the
candidate among the pool by each of them, and the gap to the pool's best. They sit after feature set 1's
columns (:data:`SEM_OFFSET`), so a feature-set-1 model reads the same columns as before.

A student uses them when its card says so (feature set ``"2"``); while training, :func:`using_encoder` turns
them on for every :class:`~evidex.extract.student.features.DocFeatures` built in its ``with`` block.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from evidex.extract.candidates import Candidate, words
from evidex.model import Field

if TYPE_CHECKING:
    from evidex.extract.student.features import DocFeatures

SEMANTIC = ("sem_label", "sem_left", "sem_prev", "sem_text", "sem_best",
            "sem_label_rr", "sem_left_rr", "sem_prev_rr", "sem_text_rr", "sem_best_rr", "sem_best_gap")
N_SEMANTIC = len(SEMANTIC)
SEMANTIC_FEATURE_SET = "2"  # feature set 1 + these columns
ENCODER_NAME = "all-MiniLM-L6-v2"


class Encoder(Protocol):
    def encode(self, texts: Sequence[str]) -> Any: ...


_ENCODER: contextvars.ContextVar[Encoder | None] = contextvars.ContextVar("evidex_student_encoder", default=None)


@contextlib.contextmanager
def using_encoder(encoder: Encoder | None) -> Iterator[None]:
    """Compute semantic features with ``encoder`` for feature rows built inside the block (training)."""
    token = _ENCODER.set(encoder)
    try:
        yield
    finally:
        _ENCODER.reset(token)


def context_encoder() -> Encoder | None:
    return _ENCODER.get()


def field_text(f: Field) -> str:
    name = " ".join(f.name.replace("_", " ").replace("-", " ").split())
    desc = " ".join(f.description.split())[:200]
    return f"{name}: {desc}" if desc else name


_DIGIT = re.compile(r"\d")


def _words(text: str, k: int, last: bool = False) -> tuple[str, ...]:
    ws = [_DIGIT.sub("0", w)[:24] for w in words(text)]
    return tuple(ws[-k:] if last else ws[:k])


def _strings(df: DocFeatures, c: Candidate) -> tuple[tuple[str, ...], ...]:
    got = df.sem_strings.get(c.id)
    if got is None:
        text = df.doc.text
        line_start = text.rfind("\n", 0, c.span.start) + 1
        left = _words(text[max(line_start, c.span.start - 60) : c.span.start], 6, last=True)
        prev = _words(df.line_text(df.line_of(c.span.start) - 1), 8, last=True)
        got = (_words(c.label, 8), left, prev, _words(c.text[:120], 8))
        df.sem_strings[c.id] = got
    return got


def _rr(values: Sequence[float]) -> list[float]:
    """1 / (1 + rank) of each value among ``values`` (rank 0 = largest; ties share the better rank)."""
    order = sorted(values, reverse=True)
    first: dict[float, int] = {}
    for i, v in enumerate(order):
        first.setdefault(v, i)
    return [1.0 / (1 + first[v]) for v in values]


def semantic_rows(df: DocFeatures, f: Field, ranked: Sequence[Candidate], offset: int) -> list[list[tuple[int, float]]]:
    """The semantic features of each pooled candidate, as sparse (column, value) pairs from ``offset``."""
    enc = df.encoder
    if enc is None or not ranked:
        return [[] for _ in ranked]
    import numpy as np

    strings = [_strings(df, c) for c in ranked]
    vocab = list(dict.fromkeys(w for quad in strings for ws in quad for w in ws))
    index = {w: i for i, w in enumerate(vocab)}
    vecs = enc.encode(vocab) if vocab else np.zeros((0, 1), dtype=np.float32)
    fv = enc.encode([field_text(f)])[0]
    sims: dict[tuple[str, ...], float] = {}
    for ws in dict.fromkeys(ws for quad in strings for ws in quad if ws):
        v = vecs[[index[w] for w in ws]].sum(0)
        sims[ws] = float(v @ fv) / max(float(np.linalg.norm(v)), 1e-12)
    cols = [[sims.get(ws, 0.0) for ws in quad] for quad in strings]
    for row in cols:
        row.append(max(row[0], row[1], row[2]))
    rrs = [_rr([row[k] for row in cols]) for k in range(5)]
    best = max(row[4] for row in cols)
    out = []
    for i, row in enumerate(cols):
        vals = [*row, *(rrs[k][i] for k in range(5)), best - row[4]]
        out.append([(offset + j, v) for j, v in enumerate(vals) if v])
    return out


__all__ = ["ENCODER_NAME", "N_SEMANTIC", "SEMANTIC", "SEMANTIC_FEATURE_SET", "Encoder", "context_encoder",
           "field_text", "semantic_rows", "using_encoder"]
