"""Structure-aware chunking of a document view, with a token budget.

Chunks are cut only at line boundaries of the Markdown view, preferring blank lines (block ends): a table
row is one line, so it is never split; a table split across chunks repeats its header row (copied, so it
still maps to the source). Every chunk is a :class:`TextView` mapped straight to ``Document.text``.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from evidex.model import Document, OffsetMap, Segment, Span, TextView, ViewBuilder
from evidex.select.views import markdown_view

Tokenizer = Callable[[str], int]


def approx_tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


@dataclass(frozen=True)
class Chunk:
    index: int
    view: TextView  # maps to Document.text
    source_span: Span  # hull of the source it covers
    tokens: int


def _lines_with_offsets(text: str) -> list[tuple[int, int]]:
    out = []
    pos = 0
    for line in text.split("\n"):
        out.append((pos, pos + len(line)))
        pos += len(line) + 1
    return out


def chunk_view(view: TextView, max_tokens: int, count: Tokenizer = approx_tokens) -> list[Chunk]:
    """Split a document view into chunks of at most ``max_tokens`` (a single over-long line is split at
    spaces as a last resort, and that is recorded in the chunk's view as a coarse cut, never dropped)."""
    text = view.text
    if not text:
        return []
    lines = _lines_with_offsets(text)
    chunks: list[list[tuple[int, int]]] = []
    cur: list[tuple[int, int]] = []
    cur_tokens = 0
    header: tuple[int, int] | None = None  # current table header line (view offsets)
    in_table = False
    for s, e in lines:
        line = text[s:e]
        is_row = line.startswith("| ")
        if is_row and not in_table:
            header = (s, e)
            in_table = True
        elif not is_row and not line.startswith("|---"):
            in_table = False
            header = None
        t = count(line) + 1
        if cur and cur_tokens + t > max_tokens:
            # prefer to cut at the last blank line in the current chunk if it is not too far back
            cut = len(cur)
            for j in range(len(cur) - 1, max(0, len(cur) - 40), -1):
                if cur[j][0] == cur[j][1]:
                    cut = j + 1
                    break
            if cut < len(cur) and sum(count(text[a:b]) + 1 for a, b in cur[:cut]) < max_tokens // 2:
                cut = len(cur)
            chunks.append(cur[:cut])
            cur = cur[cut:]
            if in_table and header is not None and is_row and (not cur or cur[0] != header):
                cur.insert(0, header)
            cur_tokens = sum(count(text[a:b]) + 1 for a, b in cur)
        if t > max_tokens:
            # one enormous line: split at spaces into pieces that fit
            if cur:
                chunks.append(cur)
                cur, cur_tokens = [], 0
            step = max(16, max_tokens * 4)
            p = s
            while p < e:
                q = min(e, p + step)
                if q < e:
                    sp = text.rfind(" ", p + step // 2, q)
                    q = sp + 1 if sp > p else q
                chunks.append([(p, q)])
                p = q
            continue
        cur.append((s, e))
        cur_tokens += t
    if cur:
        chunks.append(cur)
    out: list[Chunk] = []
    for part in chunks:
        while part and part[-1][0] == part[-1][1]:
            part = part[:-1]
        while part and part[0][0] == part[0][1]:
            part = part[1:]
        if not part:
            continue
        b = ViewBuilder(text)
        for k, (s, e) in enumerate(part):
            if k:
                b.insert("\n")
            b.copy(s, e)
        sub = view.derive(b.build())
        src = [view.to_source(Span(s, e)) for s, e in part if e > s]
        hull = Span(min(x.start for x in src), max(x.end for x in src)) if src else Span(0, 0)
        out.append(Chunk(len(out), sub, hull, count(sub.text)))
    return out


_WORD = re.compile(r"[A-Za-z0-9]+")


def _terms(s: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(s) if len(w) > 1]


def rank_chunks(chunks: Sequence[Chunk], queries: Sequence[str]) -> list[float]:
    """BM25-style relevance of each chunk to the union of query strings (field names, descriptions)."""
    if not chunks:
        return []
    docs = [Counter(_terms(c.view.text)) for c in chunks]
    n = len(docs)
    avg = sum(sum(d.values()) for d in docs) / n or 1.0
    q = Counter(t for s in queries for t in _terms(s.replace("_", " ")))
    df = Counter(t for d in docs for t in set(d))
    scores = []
    for d in docs:
        length = sum(d.values()) or 1
        sc = 0.0
        for term in q:
            f = d.get(term, 0)
            if not f:
                continue
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            sc += idf * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * length / avg))
        scores.append(sc)
    return scores


def select_context(
    doc: Document,
    queries: Sequence[str],
    budget_tokens: int,
    *,
    chunk_tokens: int = 384,
    count: Tokenizer = approx_tokens,
    view: TextView | None = None,
) -> tuple[TextView, list[Chunk], list[Chunk]]:
    """Pick the most relevant chunks (kept in document order) within ``budget_tokens``.

    Returns ``(context_view, selected, all_chunks)``; the context view maps to ``doc.text``. The first
    chunk is always considered (titles and parties usually live there).
    """
    v = view or markdown_view(doc)
    chunks = chunk_view(v, chunk_tokens, count)
    if not chunks:
        return v, [], []
    selected = pack_chunks(chunks, queries, budget_tokens)
    seps = ["\n\n" if c.index == prev.index + 1 else "\n…\n" for prev, c in itertools.pairwise(selected)]
    return concat_views([c.view for c in selected], seps), selected, chunks


def pack_chunks(chunks: Sequence[Chunk], queries: Sequence[str], budget_tokens: int, *,
                first_bonus: float = 0.5) -> list[Chunk]:
    """The most relevant chunks (BM25 against ``queries``; the first chunk gets ``first_bonus``) that fit in
    ``budget_tokens``, in document order; all of them when they fit."""
    if sum(c.tokens for c in chunks) <= budget_tokens:
        return list(chunks)
    scores = rank_chunks(chunks, queries)
    order = sorted(range(len(chunks)), key=lambda i: (-(scores[i] + (first_bonus if i == 0 else 0.0)), i))
    picked: list[int] = []
    used = 0
    for i in order:
        if used + chunks[i].tokens + 2 <= budget_tokens:
            picked.append(i)
            used += chunks[i].tokens + 2
    return [chunks[i] for i in sorted(picked)]


def concat_views(views: Sequence[TextView], seps: Sequence[str]) -> TextView:
    """Concatenate views that map to the same source, with separators (insertions) between them."""

    segs: list[Segment] = []
    texts: list[str] = []
    pos = 0
    for k, v in enumerate(views):
        if k:
            sep = seps[k - 1]
            anchor = v.map.segments[0].ss if v.map.segments else 0
            segs.append(Segment(pos, pos + len(sep), anchor, anchor))
            texts.append(sep)
            pos += len(sep)
        for s in v.map.segments:
            segs.append(Segment(s.vs + pos, s.ve + pos, s.ss, s.se, s.coarse))
        texts.append(v.text)
        pos += len(v.text)
    text = "".join(texts)
    return TextView(text, OffsetMap(tuple(segs), len(text)), views[0].doc_id if views else None)
