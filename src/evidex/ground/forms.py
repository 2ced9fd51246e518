"""Value forms learnt from a gold: how a user's labels write a word the document prints otherwise.

A gold may normalise names its own way — Kleister-NDA writes "II-VI Incorporated" as ``Ii-Vi_Inc.`` and "PJM
Interconnection, L.L.C." as ``Pjm_Interconnection_LLC``. Training pairs each gold value with the printed text of
the candidate it matches, or that it misses by one word; a word the gold rewrites the same way in enough
documents, and more often than it keeps it, becomes a *form* (``"INCORPORATED" → "Inc."``). A student applies its
forms to the values it outputs (the evidence stays the printed text; the value is marked ``normalized``).

Words are compared upper-cased and split at whitespace, commas and underscores (the separators golds vary in).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping

_WORD = re.compile(r"[^\s,_]+")
MIN_DOCS = 2  # a form is seen rewritten in at least this many documents …
MIN_SHARE = 0.6  # … and in at least this share of the matched values printing the word


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def word_pairs(printed: str, gold: str) -> list[tuple[str, str]] | None:
    """``(printed word, gold word)`` at each position where two values of the same length in words differ
    (upper-cased comparison), ``[]`` when they agree word for word, ``None`` when their lengths differ."""
    a, b = words(printed), words(gold)
    if len(a) != len(b):
        return None
    return [(x.upper(), y) for x, y in zip(a, b, strict=True) if x.upper() != y.upper()]


class FormCounts:
    """Evidence for forms, per field: rewrites seen (by document) and words kept as printed."""

    def __init__(self) -> None:
        self.rewrites: dict[str, dict[tuple[str, str], set[str]]] = defaultdict(lambda: defaultdict(set))
        self.kept: dict[str, Counter[str]] = defaultdict(Counter)

    def add(self, field: str, doc_id: str, printed: str, gold: str, *, near: bool = False) -> bool:
        """Count one (printed, gold) pair of a field; a *near* pair (the gold matched no candidate) counts only
        when exactly one word differs. Returns whether it counted."""
        pairs = word_pairs(printed, gold)
        if pairs is None or (near and len(pairs) != 1):
            return False
        changed = {p for p, _ in pairs}
        for w in words(printed):
            if w.upper() not in changed:
                self.kept[field][w.upper()] += 1
        for p, g in pairs:
            self.rewrites[field][(p, g)].add(doc_id)
        return True

    def learn(self, min_docs: int = MIN_DOCS, min_share: float = MIN_SHARE) -> dict[str, dict[str, str]]:
        """``{field: {PRINTED WORD: gold word}}``: per printed word its most frequent rewrite, kept when seen in
        ``min_docs`` documents and in ``min_share`` of the values printing the word."""
        out: dict[str, dict[str, str]] = {}
        for field, rw in self.rewrites.items():
            options: dict[str, list[tuple[int, str]]] = defaultdict(list)  # printed word → (documents, gold word)
            for (p, g), docs in rw.items():
                options[p].append((len(docs), g))
            forms = {}
            for p, opts in sorted(options.items()):
                n, g = min(opts, key=lambda o: (-o[0], o[1]))  # the most documents; ties by the gold word
                if n >= min_docs and n / (sum(k for k, _ in opts) + self.kept[field][p]) >= min_share:
                    forms[p] = g
            if forms:
                out[field] = forms
        return out


def apply_forms(text: str, forms: Mapping[str, str]) -> str | None:
    """``text`` with each word that has a form rewritten (separators kept), or ``None`` when no word has one."""
    if not forms:
        return None
    changed = False

    def sub(m: re.Match[str]) -> str:
        nonlocal changed
        g = forms.get(m.group().upper())
        if g is None:
            return m.group()
        changed = True
        return g

    out = _WORD.sub(sub, text)
    return out if changed else None


def forms_of(card: Mapping[str, object]) -> dict[str, dict[str, str]]:
    """A student card's forms (``{}`` for a card trained before forms, or without any)."""
    raw = card.get("forms")
    if not isinstance(raw, Mapping):
        return {}
    return {str(f): {str(k): str(v) for k, v in m.items()} for f, m in raw.items() if isinstance(m, Mapping)}


__all__ = ["MIN_DOCS", "MIN_SHARE", "FormCounts", "apply_forms", "forms_of", "word_pairs", "words"]
