"""Features of a (field, candidate) pair for the trained candidate scorer ("student").

Every feature comes for free from the structure and the candidate set: the hand-written prior's score and
rank, the candidate's source kind and tags, type compatibility, the overlap of its key/label and left context
with the field's name and description (words, the prior's synonyms, character 3-grams), node kind and depth,
layer, page and box geometry when the parser gave one, position in the document and among candidates of its
kind, length and shape, repetition, and the words around it.

The model is *schema-conditioned*: besides dense features, the tokens of the field (name, description, type)
are crossed with the tokens around the candidate (its label, left words, previous line, its own first words
and shape) and hashed into :data:`HASH_BUCKETS` buckets, so what is learnt about "a field named *total* whose
candidate sits after the word *total*" carries over to a schema the student never saw.

Pure Python (no numpy): :func:`featurize` returns sparse rows ``[(column, value), …]``; deterministic
(crc32 hashing, no ``hash()``), and cheap (one pass per document for shared context, then per pair).

Feature set ``"2"`` adds, after these :data:`N_FEATURES` columns, MiniLM cosines between the field's name and
description and the candidate's label, left words, previous line and text (:mod:`.semantic`), computed when the
:class:`DocFeatures` has an encoder. Feature set ``"3"`` adds, after set 2's columns (left empty), the relational
features of :mod:`.relations` (nearby amounts, peers labelled like the field, the span tagger's probabilities),
computed when the :class:`DocFeatures` asks for them. Feature set ``"4"`` adds, after set 3's columns, the context
features of :mod:`.context` (how many of the field's words lead up to the candidate on its line, how close, and
how much of the field's name its label covers); a set-4 row is a set-3 row plus those.
"""

from __future__ import annotations

import bisect
import functools
import re
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from evidex.extract.candidates import Candidate, words
from evidex.extract.prior import FieldQuery, conflict, overlap, rank, shape, type_score
from evidex.extract.student.context import (
    CONTEXT,
    CONTEXT_FEATURE_SET,
    N_CONTEXT,
    context_context,
    context_rows,
)
from evidex.extract.student.relations import (
    N_RELATIONS,
    RELATIONS,
    RELATIONS_FEATURE_SET,
    context_relations,
    relation_rows,
)
from evidex.extract.student.semantic import (
    N_SEMANTIC,
    SEMANTIC,
    SEMANTIC_FEATURE_SET,
    Encoder,
    context_encoder,
    semantic_rows,
)
from evidex.model import Document, Field

FEATURE_SET_VERSION = "1"
HASH_BUCKETS = 1024

SOURCES = ("kv", "cell", "date", "amount", "ident", "email", "percent", "line", "heading", "paragraph", "address",
           "place", "org", "duration")
TAGS = ("date", "amount", "integer", "ident", "email", "text", "title", "org", "header", "address", "place",
        "percent", "duration")
TYPES = ("string", "date", "money", "decimal", "integer", "duration")
LAYERS = ("body", "metadata", "furniture")
NODE_KINDS = ("key_value", "value", "cell", "heading", "title", "paragraph", "list_item", "line", "text",
              "page_header", "page_footer", "footnote", "caption", "email_header")
ROLES = ("org", "place", "address")  # frozen with feature set 1's columns: a role added later (person) has none

_DENSE: list[str] = [
    "prior", "prior_rank", "prior_rrank", "prior_gap", "prior_is_top", "type_score",
    "label_name", "label_all", "label_conflict", "has_label", "content_all", "label_ngram", "text_ngram",
    "role_tag", "position", "line_frac", "line_index", "lines_from_end", "kind_index", "kind_frac", "kind_count",
    "chars", "words", "lines", "digit_ratio", "upper_ratio", "alpha_ratio", "has_currency", "has_decimal",
    "repeat", "repeat_text", "amount_rank", "amount_is_max", "amount_frac_of_max", "amount_rank_last",
    "node_depth", "has_node", "page", "page_frac", "box_x", "box_y", "box_w", "box_h", "many", "cand_count",
    "shape_match", "starts_upper", "ends_colon", "prev_line_name", "prev_line_all", "next_line_name",
    *(f"src:{s}" for s in SOURCES), *(f"tag:{t}" for t in TAGS), *(f"type:{t}" for t in TYPES),
    *(f"layer:{x}" for x in LAYERS), *(f"node:{k}" for k in NODE_KINDS), *(f"role:{r}" for r in ROLES),
]
DENSE_INDEX = {n: i for i, n in enumerate(_DENSE)}
N_DENSE = len(_DENSE)
N_FEATURES = N_DENSE + HASH_BUCKETS  # feature set 1
N_FEATURES_SEMANTIC = N_FEATURES + N_SEMANTIC  # feature set 2: set 1 + the semantic columns
RELATIONS_OFFSET = N_FEATURES_SEMANTIC  # feature set 3: set 1 + the relational columns from here
N_FEATURES_RELATIONS = RELATIONS_OFFSET + N_RELATIONS
CONTEXT_OFFSET = N_FEATURES_RELATIONS  # feature set 4: set 3 + the context columns from here
N_FEATURES_CONTEXT = CONTEXT_OFFSET + N_CONTEXT

_CURRENCY = re.compile(r"[$€£¥₹]|\b(?:RM|USD|EUR|GBP|MYR|SGD)\b")
_AMOUNT_NUM = re.compile(r"-?\d[\d,.' ]*")


def feature_names(semantic: bool = False, relations: bool = False, context: bool = False) -> list[str]:
    """Column names of feature set 1, 2 (``semantic``), 3 (``relations``: set 2's columns are then unused) or 4
    (``context``: set 3's and the context columns)."""
    relations = relations or context
    names = [*_DENSE, *(f"hash:{i}" for i in range(HASH_BUCKETS))]
    if semantic or relations:
        names += SEMANTIC if semantic else [f"unused:{n}" for n in SEMANTIC]
    return [*names, *(RELATIONS if relations else ()), *(CONTEXT if context else ())]


def feature_set_of(rows: Sequence[Sequence[tuple[int, float]]]) -> tuple[str, int]:
    """(feature set, number of columns) of feature rows: ``"3"`` when a row has a relational column (every set-3
    row has ``rel:set``), ``"2"`` when one has a semantic column, else ``"1"``."""
    top = max((j for r in rows for j, _ in r), default=-1)
    if top >= CONTEXT_OFFSET:
        return CONTEXT_FEATURE_SET, N_FEATURES_CONTEXT
    if top >= RELATIONS_OFFSET:
        return RELATIONS_FEATURE_SET, N_FEATURES_RELATIONS
    if top >= N_FEATURES:
        return SEMANTIC_FEATURE_SET, N_FEATURES_SEMANTIC
    return FEATURE_SET_VERSION, N_FEATURES


def _grams(s: str) -> set[str]:
    s = " ".join(s.lower().split())
    return {s[i : i + 3] for i in range(max(0, len(s) - 2))}


def _jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


@functools.lru_cache(maxsize=1 << 17)
def _bucket(ft: str, ct: str) -> int:
    return N_DENSE + zlib.crc32(f"{ft}|{ct}".encode()) % HASH_BUCKETS


def _amount(text: str) -> Decimal | None:
    m = _AMOUNT_NUM.search(text)
    if not m:
        return None
    s = m.group().strip().replace(" ", "").replace("'", "")
    if "," in s and "." in s:
        s = s.replace(",", "") if s.rfind(".") > s.rfind(",") else s.replace(".", "").replace(",", ".")
    elif "," in s:
        head, _, tail = s.rpartition(",")
        s = head.replace(",", "") + ("." + tail if len(tail) == 2 else tail)
    try:
        return Decimal(s)
    except Exception:
        return None


@dataclass(frozen=True)
class FieldInfo:
    """What the student reads of a field (computed once per field)."""

    field: Field
    query: FieldQuery
    tokens: tuple[str, ...]  # name tokens, a few description tokens, the type
    name_grams: frozenset[str]

    @staticmethod
    def of(f: Field) -> FieldInfo:
        name = words(f.name.replace("_", " "))
        desc = [w for w in words(f.description) if len(w) > 2][:6]
        toks = tuple(dict.fromkeys([*(f"n:{w}" for w in name), *(f"d:{w}" for w in desc), f"t:{f.type.value}"]))
        return FieldInfo(f, FieldQuery.of(f), toks, frozenset(_grams(f.name.replace("_", " "))))


class DocFeatures:
    """Per-document context shared by all (field, candidate) pairs: line index, repetition, amounts, nodes.

    ``encoder``: the sentence encoder of the semantic features (feature set 2); ``None`` leaves them out; by
    default the one of an enclosing :func:`~evidex.extract.student.semantic.using_encoder` block (if any).
    ``relations``: compute the relational features (feature set 3); by default, when inside a
    :func:`~evidex.extract.student.relations.using_relations` block. ``context``: compute the context features
    and the relational ones (feature set 4); by default, inside a
    :func:`~evidex.extract.student.context.using_context` block."""

    def __init__(self, doc: Document, candidates: Sequence[Candidate], encoder: Encoder | bool | None = True,
                 relations: bool | None = None, context: bool | None = None) -> None:
        self.doc = doc
        self.context = context_context() if context is None else context
        self.relations = self.context or (context_relations() if relations is None else relations)
        self.encoder: Encoder | None = None
        if encoder is True:
            self.encoder = context_encoder()
        elif encoder is not False and encoder is not None:
            self.encoder = encoder
        self.sem_strings: dict[int, tuple[tuple[str, ...], ...]] = {}
        text = doc.text
        self.n = max(1, len(text))
        self.newlines = [i for i, ch in enumerate(text) if ch == "\n"]
        self.n_lines = len(self.newlines) + 1
        self.norm = {c.id: " ".join(c.text.lower().split()) for c in candidates}
        self.repeat = Counter(self.norm.values())
        self.n_cands = len(candidates)
        by_kind: dict[str, list[int]] = {}
        for c in sorted(candidates, key=lambda c: c.span.start):
            by_kind.setdefault(c.source, []).append(c.id)
        self.kind_pos = {cid: (i, len(ids)) for ids in by_kind.values() for i, cid in enumerate(ids)}
        amounts: dict[int, Decimal] = {}
        for c in candidates:
            if "amount" in c.tags:
                v = _amount(c.text)
                if v is not None:
                    amounts[c.id] = abs(v)
        self.amounts = amounts
        self.amount_items = sorted((c.span.start, c.span.end, amounts[c.id]) for c in candidates if c.id in amounts)
        values = sorted(set(amounts.values()), reverse=True)
        self.amount_rank = {cid: values.index(v) for cid, v in amounts.items()}
        self.amount_frac = {cid: float(v / values[0]) if values and values[0] else 0.0 for cid, v in amounts.items()}
        # the rank among amounts of equal value counted from the end (the last printed total)
        last: dict[Decimal, int] = {}
        self.amount_last: dict[int, int] = {}
        for c in sorted((c for c in candidates if c.id in amounts), key=lambda c: -c.span.start):
            v = amounts[c.id]
            self.amount_last[c.id] = last.get(v, 0)
            last[v] = last.get(v, 0) + 1
        self._depth: dict[int, int] = {}
        self.ctx_tokens: dict[int, list[str]] = {}
        self.pages = len(doc.pages)

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.newlines, offset - 1)

    def line_text(self, index: int) -> str:
        if index < 0 or index >= self.n_lines:
            return ""
        start = self.newlines[index - 1] + 1 if index > 0 else 0
        end = self.newlines[index] if index < len(self.newlines) else len(self.doc.text)
        return self.doc.text[start:end]

    def depth(self, node: int) -> int:
        d = self._depth.get(node)
        if d is None:
            d = len(self.doc.ancestors(node))
            self._depth[node] = d
        return d


def _left_words(text: str, start: int, k: int = 3) -> list[str]:
    line_start = text.rfind("\n", 0, start) + 1
    return words(text[max(line_start, start - 50) : start])[-k:]


def _node_features(df: DocFeatures, c: Candidate, put: Callable[[str, float], None]) -> None:
    """Node kind and depth, its parent's kind, page and box geometry (when the parser gave them)."""
    doc = df.doc
    if c.node is None or not 0 <= c.node < len(doc.nodes):
        return
    node = doc.nodes[c.node]
    put("has_node", 1.0)
    put("node_depth", float(df.depth(c.node)))
    if node.kind.value in NODE_KINDS:
        put(f"node:{node.kind.value}", 1.0)
    parent = doc.nodes[node.parent] if node.parent is not None else None
    if parent is not None and parent.kind.value in NODE_KINDS and parent.kind.value != node.kind.value:
        put(f"node:{parent.kind.value}", 1.0)
    prov = node.prov
    if prov is not None and prov.page is not None:
        put("page", float(prov.page))
        put("page_frac", (prov.page - 1) / max(1, df.pages - 1))
        page = doc.pages[prov.page - 1] if 0 < prov.page <= len(doc.pages) else None
        box = prov.bbox
        if page is not None and box is not None and page.width and page.height:
            put("box_x", box.x0 / page.width)
            put("box_y", box.y0 / page.height)
            put("box_w", (box.x1 - box.x0) / page.width)
            put("box_h", (box.y1 - box.y0) / page.height)


def _crosses(df: DocFeatures, fi: FieldInfo, c: Candidate, prev_line: str, out: dict[int, float]) -> None:
    """Schema-conditioned crosses: the field's tokens × the candidate's context tokens, hashed."""
    doc, text = df.doc, c.text
    ctx_toks = df.ctx_tokens.get(c.id)
    if ctx_toks is None:
        ctx_toks = [f"l:{w}" for w in words(c.label)[:6]]
        ctx_toks += [f"w:{w}" for w in _left_words(doc.text, c.span.start)]
        ctx_toks += [f"p:{w}" for w in words(prev_line)[-4:]]
        ctx_toks += [f"x:{w}" for w in words(text)[:3]]
        ctx_toks += [f"s:{c.source}", f"h:{shape(text[:12])}", *(f"g:{t}" for t in sorted(c.tags))]
        df.ctx_tokens[c.id] = ctx_toks
    for ft in fi.tokens:
        for ct in ctx_toks:
            k = _bucket(ft, ct)
            out[k] = out.get(k, 0.0) + 1.0


def featurize(df: DocFeatures, fi: FieldInfo, c: Candidate, prior_score: float, rank: int,
              top_prior: float) -> list[tuple[int, float]]:
    """Sparse features of one (field, candidate) pair."""
    f, q, doc, text = fi.field, fi.query, df.doc, c.text
    out: dict[int, float] = {}
    ix = DENSE_INDEX

    def put(name: str, v: float) -> None:
        if v:
            out[ix[name]] = float(v)

    put("prior", prior_score)
    put("prior_rank", float(min(rank, 100)))
    put("prior_rrank", 1.0 / (1 + rank))
    put("prior_gap", top_prior - prior_score)
    put("prior_is_top", 1.0 if rank == 0 else 0.0)
    put("type_score", type_score(f, c))
    if c.label:
        put("has_label", 1.0)
        put("label_name", overlap(q.name_terms, c.label))
        put("label_all", overlap(q.all_terms, c.label))
        put("label_conflict", conflict(q.name_terms, c.label))
        put("label_ngram", _jaccard(set(fi.name_grams), _grams(c.label)))
    put("content_all", overlap(q.all_terms, text))
    put("text_ngram", _jaccard(set(fi.name_grams), _grams(text[:60])))
    if q.role is not None:
        if f"role:{q.role}" in ix:  # roles added after feature set 1 (person) have no one-hot column
            put(f"role:{q.role}", 1.0)
        put("role_tag", 1.0 if q.role in c.tags else 0.0)
    put("position", c.position)
    line = df.line_of(c.span.start)
    put("line_frac", line / max(1, df.n_lines - 1))
    put("line_index", float(min(line, 200)))
    put("lines_from_end", float(min(df.n_lines - 1 - df.line_of(c.span.end), 200)))
    ki, kn = df.kind_pos.get(c.id, (0, 1))
    put("kind_index", float(min(ki, 100)))
    put("kind_frac", ki / max(1, kn - 1))
    put("kind_count", float(min(kn, 500)))
    n_chars = len(text)
    put("chars", float(min(n_chars, 400)))
    put("words", float(min(len(text.split()), 80)))
    put("lines", float(text.count("\n") + 1))
    if n_chars:
        put("digit_ratio", sum(ch.isdigit() for ch in text) / n_chars)
        put("upper_ratio", sum(ch.isupper() for ch in text) / n_chars)
        put("alpha_ratio", sum(ch.isalpha() for ch in text) / n_chars)
        put("starts_upper", 1.0 if text[0].isupper() else 0.0)
    put("has_currency", 1.0 if _CURRENCY.search(text) else 0.0)
    put("has_decimal", 1.0 if re.search(r"\d[.,]\d{2}\b", text) else 0.0)
    norm = df.norm.get(c.id, " ".join(text.lower().split()))
    put("repeat", float(min(df.repeat.get(norm, 1), 20)))
    put("repeat_text", float(min(doc.text.count(text[:80]) if n_chars <= 80 else 1, 20)))
    if c.id in df.amount_rank:
        put("amount_rank", float(min(df.amount_rank[c.id], 50)) + 1.0)
        put("amount_is_max", 1.0 if df.amount_rank[c.id] == 0 else 0.0)
        put("amount_frac_of_max", df.amount_frac[c.id])
        put("amount_rank_last", float(min(df.amount_last.get(c.id, 0), 10)) + 1.0)
    _node_features(df, c, put)
    put("many", 1.0 if f.many else 0.0)
    put("cand_count", float(min(df.n_cands, 2000)))
    put("shape_match", 1.0 if q.shapes and shape(text) in q.shapes else 0.0)
    line_text = df.line_text(line)
    put("ends_colon", 1.0 if line_text[: c.span.start - (df.newlines[line - 1] + 1 if line else 0)].rstrip().endswith(":")
        else 0.0)
    prev_line = df.line_text(line - 1)
    next_line = df.line_text(df.line_of(c.span.end) + 1)
    put("prev_line_name", overlap(q.name_terms, prev_line))
    put("prev_line_all", overlap(q.all_terms, prev_line))
    put("next_line_name", overlap(q.name_terms, next_line))
    if c.source in SOURCES:
        put(f"src:{c.source}", 1.0)
    for t in c.tags:
        if t in TAGS:
            put(f"tag:{t}", 1.0)
    if f.type.value in TYPES:
        put(f"type:{f.type.value}", 1.0)
    if c.layer.value in LAYERS:
        put(f"layer:{c.layer.value}", 1.0)
    _crosses(df, fi, c, prev_line, out)
    return sorted(out.items())


def pool(fi: FieldInfo, candidates: Sequence[Candidate], limit: int) -> list[tuple[Candidate, float]]:
    """The candidates the student scores for one field: type-compatible ones (prior > 0), best prior first,
    one per distinct text (its first, best-scored occurrence), at most ``limit``."""
    return rank(fi.query, list(candidates), limit)


def field_rows(df: DocFeatures, fi: FieldInfo, candidates: Sequence[Candidate],
               limit: int) -> tuple[list[tuple[Candidate, float]], list[list[tuple[int, float]]]]:
    """The field's candidate pool and the sparse feature row of each of its candidates."""
    ranked = pool(fi, candidates, limit)
    top = ranked[0][1] if ranked else 0.0
    rows = [featurize(df, fi, c, p, i, top) for i, (c, p) in enumerate(ranked)]
    if df.encoder is not None:
        for row, extra in zip(rows, semantic_rows(df, fi.field, [c for c, _ in ranked], N_FEATURES), strict=True):
            row.extend(extra)
    if df.relations:
        rel = relation_rows(df, fi, [c for c, _ in ranked], rows, RELATIONS_OFFSET,
                            DENSE_INDEX["label_name"])
        for row, extra in zip(rows, rel, strict=True):
            row.extend(extra)
    if df.context:
        for row, extra in zip(rows, context_rows(df, fi, [c for c, _ in ranked], CONTEXT_OFFSET), strict=True):
            row.extend(extra)
    return ranked, rows


__all__ = [
    "CONTEXT_OFFSET",
    "FEATURE_SET_VERSION",
    "HASH_BUCKETS",
    "N_FEATURES",
    "N_FEATURES_CONTEXT",
    "N_FEATURES_RELATIONS",
    "N_FEATURES_SEMANTIC",
    "RELATIONS_OFFSET",
    "DocFeatures",
    "FieldInfo",
    "feature_names",
    "feature_set_of",
    "featurize",
    "field_rows",
    "pool",
]
