"""Edit distances in pure Python, fast enough for grounding: Myers' bit-parallel algorithm.

Myers (1999), in Hyyrö's formulation, keeps one DP column as bit vectors, so each text character costs a
dozen big-integer operations whatever the pattern length. :func:`search` finds the substring of a text
closest to a pattern (semi-global alignment); :func:`distance` is plain Levenshtein distance.
"""

from __future__ import annotations


def _peq(pattern: str) -> dict[str, int]:
    peq: dict[str, int] = {}
    for i, c in enumerate(pattern):
        peq[c] = peq.get(c, 0) | (1 << i)
    return peq


def _run(pattern: str, text: str, *, global_: bool) -> tuple[int, list[int]]:
    """Semi-global: (minimal distance, every end position reaching it); global_: (distance, [len(text)])."""
    m = len(pattern)
    if m == 0:
        return (len(text), [len(text)]) if global_ else (0, [0])
    peq = _peq(pattern)
    full = (1 << m) - 1
    high = 1 << (m - 1)
    pv, mv, score = full, 0, m
    best, ends = m, [0]
    for j, c in enumerate(text):
        eq = peq.get(c, 0)
        xv = eq | mv
        xh = ((((eq & pv) + pv) & full) ^ pv) | eq
        ph = mv | (~(xh | pv) & full)
        mh = pv & xh
        if ph & high:
            score += 1
        elif mh & high:
            score -= 1
        ph = ((ph << 1) | 1) & full if global_ else (ph << 1) & full
        mh = (mh << 1) & full
        pv = mh | (~(xv | ph) & full)
        mv = ph & xv
        if not global_ and score <= best:
            if score < best:
                best, ends = score, []
            ends.append(j + 1)
    if global_:
        return score, [len(text)]
    return best, ends


def distance(a: str, b: str) -> int:
    """Levenshtein distance.

    >>> distance("kitten", "sitting")
    3
    """
    if len(a) > len(b):
        a, b = b, a
    if not a:
        return len(b)
    return _run(a, b, global_=True)[0]


def search_all(pattern: str, text: str, *, limit: int = 8) -> tuple[int, list[tuple[int, int]]]:
    """``(distance, [(start, end), …])``: substrings of ``text`` with the fewest edits from ``pattern``
    (up to ``limit`` end positions, and for each up to ``limit`` starts, shortest first)."""
    if not pattern:
        return 0, [(0, 0)]
    d, ends = _run(pattern, text, global_=False)
    out: list[tuple[int, int]] = []
    rpat = pattern[::-1]
    for end in ends[:limit]:
        if end == 0:  # nothing matched better than deleting the whole pattern
            continue
        # the start: the reversed pattern searched in the reversed prefix; its first hit of d is the
        # latest start, i.e. the shortest substring ending here
        rd, rends = _run(rpat, text[:end][::-1], global_=False)
        if rd != d:  # pragma: no cover - cannot happen: the best substring ending here has distance d
            out.append((max(0, end - len(pattern)), end))
            continue
        out.extend((end - r, end) for r in rends[:limit] if r > 0)
    return d, out


def search(pattern: str, text: str) -> tuple[int, int, int]:
    """``(distance, start, end)`` of the substring of ``text`` with the fewest edits from ``pattern``.

    Among equally good substrings the one ending first is taken, then the shortest one ending there.

    >>> search("corporaton", "the acme corporation ltd")
    (1, 9, 20)
    """
    d, spans = search_all(pattern, text, limit=1)
    s, e = spans[0] if spans else (0, 0)
    return d, s, e


def osa_distance(a: str, b: str) -> int:
    """Edit distance counting a swap of adjacent characters as one edit (``reciept`` → ``receipt``).

    Plain dynamic programming: meant for short strings such as labels.
    """
    if not a or not b:
        return len(a) + len(b)
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                v = min(v, prev2[j - 2] + 1)
            cur[j] = v
        prev2, prev = prev, cur
    return prev[-1]


def similarity(a: str, b: str, *, transpositions: bool = False) -> float:
    """``1 - distance / max(len)`` in ``[0, 1]``."""
    n = max(len(a), len(b))
    if n == 0:
        return 1.0
    return 1.0 - (osa_distance(a, b) if transpositions else distance(a, b)) / n


__all__ = ["distance", "osa_distance", "search", "search_all", "similarity"]
