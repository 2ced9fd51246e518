"""Evaluation metrics, written to be checked by hand.

Conventions shared by every P/R/F1 here (the GEval convention, used by the Kleister benchmarks):
``precision = tp / (tp + fp)`` and is 1.0 when nothing was predicted; ``recall = tp / (tp + fn)`` and is 1.0
when nothing was expected; ``F1 = 2PR / (P + R)`` and 0.0 when ``P + R = 0``. Micro averages add counts over
documents (and fields) before dividing.

Metrics:

* :func:`field_prf` — (field, normalised value) multisets per document; micro and per field.
* :func:`kleister_scores` — Kleister-NDA / -Charity official protocol (GEval ``MultiLabel-F1``).
* :func:`sroie_scores` — SROIE task 3: exact match after whitespace normalisation.
* :func:`cuad_scores` — CUAD: word-Jaccard ≥ 0.5 matching, AUPR and precision at 80 % / 90 % recall.
* :func:`entity_prf` / :func:`surface_prf` — WNUT-17 entity-level (exact type + span) and surface-form F1.
* :func:`swde_scores` — SWDE page-level F1 per attribute, macro-averaged.
* :func:`anls` — average normalised Levenshtein similarity (τ = 0.5).
* :func:`span_prf` — labelled span P/R/F1, exact or overlap (one-to-one matching).
* :func:`grounding_rate` — share of predicted values backed by quoted evidence.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# --------------------------------------------------------------------------- counts


@dataclass(frozen=True)
class PRF:
    """True/false positive and false negative counts, with the derived scores."""

    tp: float = 0.0
    fp: float = 0.0
    fn: float = 0.0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp > 0 else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn > 0 else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r > 0 else 0.0

    @property
    def support(self) -> float:
        """Number of gold items."""
        return self.tp + self.fn

    @property
    def predicted(self) -> float:
        return self.tp + self.fp

    def __add__(self, other: PRF) -> PRF:
        return PRF(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def to_dict(self) -> dict[str, float]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "support": self.support,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


def prf_from_counts(matched: float, n_gold: float, n_pred: float) -> PRF:
    return PRF(matched, n_pred - matched, n_gold - matched)


@dataclass(frozen=True)
class Scores:
    """A micro-averaged total plus a breakdown (per field / key / entity type / attribute)."""

    micro: PRF
    per_key: Mapping[str, PRF] = field(default_factory=dict)

    @property
    def macro_f1(self) -> float:
        """Unweighted mean of per-key F1 (0.0 when there are no keys)."""
        return sum(s.f1 for s in self.per_key.values()) / len(self.per_key) if self.per_key else 0.0


def _add(acc: dict[str, PRF], key: str, s: PRF) -> None:
    acc[key] = acc.get(key, PRF()) + s


def _multiset_counts(gold: Iterable[str], pred: Iterable[str]) -> PRF:
    g, p = Counter(gold), Counter(pred)
    matched = sum((g & p).values())
    return prf_from_counts(matched, sum(g.values()), sum(p.values()))


# --------------------------------------------------------------------------- normalisation
_WS = re.compile(r"\s+")


def normalize_ws(s: str) -> str:
    """Collapse whitespace runs to one space and strip."""
    return _WS.sub(" ", s).strip()


def value_text(v: Any) -> str:
    """A typed evidex value as a string: money dicts give their amount, booleans ``true``/``false``."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Mapping) and "amount" in v and set(v) <= {"amount", "currency"}:
        return str(v["amount"])
    if isinstance(v, Decimal | int | float):
        return str(v)
    return "" if v is None else str(v)


def normalize_value(v: Any) -> str:
    """Default field-level normaliser: NFKC, case-fold, collapse whitespace."""
    return normalize_ws(unicodedata.normalize("NFKC", value_text(v)).casefold())


# --------------------------------------------------------------------------- field level
FieldValues = Mapping[str, Sequence[Any]]


def field_prf(
    pairs: Iterable[tuple[FieldValues, FieldValues]],
    normalize: Callable[[Any], str] = normalize_value,
    keys: Iterable[str] | None = None,
) -> Scores:
    """Field-level P/R/F1 over (field, normalised value) multisets.

    ``pairs`` yields ``(gold, predicted)`` per document, each ``{field: [values]}``. Per document and field,
    ``tp`` = size of the multiset intersection of normalised values; empty strings are dropped. With
    ``keys``, only those fields count (predictions for other fields are ignored).
    """
    allowed = set(keys) if keys is not None else None
    per: dict[str, PRF] = {}
    for gold, pred in pairs:
        names = set(gold) | set(pred)
        if allowed is not None:
            names &= allowed
            for k in allowed:
                per.setdefault(k, PRF())
        for name in sorted(names):
            g = [n for n in (normalize(v) for v in gold.get(name, ())) if n]
            p = [n for n in (normalize(v) for v in pred.get(name, ())) if n]
            _add(per, name, _multiset_counts(g, p))
    return Scores(sum(per.values(), PRF()), dict(sorted(per.items())))


# --------------------------------------------------------------------------- Kleister (GEval MultiLabel-F1)
KLEISTER_NDA_KEYS = ("effective_date", "jurisdiction", "party", "term")


def kleister_token(key: str, value: Any) -> str:
    """``key=value`` in ``expected.tsv`` form: whitespace runs and colons become ``_``.

    Party names follow the labels' convention of dropping commas ("Acme, Inc." is labelled ``Acme_Inc.``;
    see the dataset README: names match 95.8 % when only alphanumerics are compared).
    """
    text = value_text(value).strip()
    if key == "party":
        text = text.replace(",", " ")
    v = _WS.sub("_", text.strip()).replace(":", "_")
    return f"{key}={v}"


def kleister_tokens(values: FieldValues, keys: Iterable[str] | None = None) -> list[str]:
    allowed = set(keys) if keys is not None else None
    out: list[str] = []
    for k in sorted(values):
        if allowed is not None and k not in allowed:
            continue
        out.extend(kleister_token(k, v) for v in values[k] if value_text(v).strip())
    return out


def parse_kleister_line(line: str) -> list[str]:
    """Split an ``expected.tsv`` line into its ``key=value`` tokens (GEval splits on whitespace)."""
    return line.split()


def kleister_scores(pairs: Iterable[tuple[Sequence[str], Sequence[str]]], *, uppercase: bool = True) -> Scores:
    """GEval ``MultiLabel-F1`` as configured by Kleister (``config.txt``).

    Each document gives ``(expected_tokens, predicted_tokens)`` of ``key=value`` strings. Per document, the
    number of matches is the maximum one-to-one matching of equal tokens (= multiset intersection); counts
    are summed over documents (micro). ``uppercase=True`` is the primary "F1(UC)"; ``False`` is the
    true-cased F1. Per-key scores restrict both sides to tokens starting with ``key=``.
    """
    micro = PRF()
    per: dict[str, PRF] = {}

    def key_of(t: str) -> str:
        return t.split("=", 1)[0] if "=" in t else ""

    for exp, got in pairs:
        e = [t.upper() if uppercase else t for t in exp]
        g = [t.upper() if uppercase else t for t in got]
        micro = micro + _multiset_counts(e, g)
        for k in sorted({key_of(t) for t in exp} | {key_of(t) for t in got}):
            ek = [t for t, raw in zip(e, exp, strict=True) if key_of(raw) == k]
            gk = [t for t, raw in zip(g, got, strict=True) if key_of(raw) == k]
            _add(per, k, _multiset_counts(ek, gk))
    return Scores(micro, dict(sorted(per.items())))


# --------------------------------------------------------------------------- SROIE
SROIE_KEYS = ("company", "date", "address", "total")


def sroie_scores(pairs: Iterable[tuple[FieldValues, FieldValues]]) -> Scores:
    """SROIE task 3: per (receipt, field) exact string match after whitespace normalisation (case kept)."""
    return field_prf(pairs, normalize=lambda v: normalize_ws(value_text(v)), keys=SROIE_KEYS)


# --------------------------------------------------------------------------- CUAD
def cuad_jaccard(gold: str, pred: str) -> float:
    """Word-set Jaccard as in CUAD's ``evaluate.py``: drop ``.,;:``, lower-case, ``/`` → space."""
    for tok in (".", ",", ";", ":"):
        gold, pred = gold.replace(tok, ""), pred.replace(tok, "")
    g = set(gold.lower().replace("/", " ").split())
    p = set(pred.lower().replace("/", " ").split())
    union = g | p
    return len(g & p) / len(union) if union else 0.0


def cuad_match(gold: str, pred: str, *, substring_ok: bool = False, threshold: float = 0.5) -> bool:
    return cuad_jaccard(gold, pred) >= threshold or (substring_ok and gold in pred)


CuadKey = tuple[str, str]  # (document id, category)


def cuad_counts(
    gold: Mapping[CuadKey, Sequence[str]], preds: Mapping[CuadKey, Sequence[str]], *, substring_keys: Sequence[str] = ("parties",)
) -> PRF:
    """CUAD counting for one confidence threshold (questions = gold keys; other predicted keys are ignored).

    A gold answer is a TP if any prediction matches it, else a FN; a prediction matching no gold answer is a
    FP (so several predictions matching one answer give one TP and no FP). Questions with no gold answer make
    every prediction a FP. For categories in ``substring_keys`` a prediction containing the gold answer also
    matches (CUAD's rule for Parties).
    """
    tp = fp = fn = 0
    for key, answers in gold.items():
        ps = [p for p in preds.get(key, ()) if p]
        sub = key[1] in substring_keys
        if not answers:
            fp += len(ps)
            continue
        for a in answers:
            if any(cuad_match(a, p, substring_ok=sub) for p in ps):
                tp += 1
            else:
                fn += 1
        fp += sum(1 for p in ps if not any(cuad_match(a, p, substring_ok=sub) for a in answers))
    return PRF(tp, fp, fn)


def cuad_official_thresholds() -> list[float]:
    """``list(np.arange(0.99, 0, -0.01)) + [0.001, 0]`` reproduced bit-for-bit without numpy."""
    step = (0.99 - 0.01) - 0.99
    return [0.99 + i * step for i in range(99)] + [0.001, 0.0]


@dataclass(frozen=True)
class CuadScores:
    aupr: float
    precision_at_80_recall: float
    precision_at_90_recall: float
    curve: tuple[tuple[float, float, float], ...]  # (threshold, precision, recall), decreasing threshold
    at_all: PRF  # counts with every prediction kept, whatever its confidence


def cuad_scores(
    gold: Mapping[CuadKey, Sequence[str]],
    preds: Mapping[CuadKey, Sequence[tuple[str, float]]],
    *,
    thresholds: Sequence[float] | str = "official",
    substring_keys: Sequence[str] = ("parties",),
) -> CuadScores:
    """AUPR and precision at 80 %/90 % recall from confidence-ranked predictions (CUAD ``evaluate.py``).

    For each threshold ``t`` (decreasing) keep predictions with confidence ``> t`` and compute P and R with
    :func:`cuad_counts`. The curve starts at (R=0, P=1). Precisions are made monotone (each becomes the max
    of itself and every precision at a higher recall); AUPR is the trapezoid area under (R, P); precision at
    X % recall is the processed precision of the first point with ``R ≥ X``, else 0. Points where nothing
    is predicted (P undefined, R = 0) are skipped, which is what the official nan handling amounts to.

    ``thresholds="official"`` uses CUAD's grid (0.99 … 0.01, 0.001, 0); ``"exact"`` uses every distinct
    confidence (keep ``≥ c``), which is easier to compute by hand. Duplicate predicted texts for one question
    keep their highest confidence (the official script keeps the last one seen).
    """
    best: dict[CuadKey, dict[str, float]] = {}
    for key, items in preds.items():
        d = best.setdefault(key, {})
        for text, conf in items:
            if text:
                d[text] = max(conf, d.get(text, -math.inf))
    if thresholds == "official":
        ts = cuad_official_thresholds()
    elif thresholds == "exact":
        confs = sorted({c for d in best.values() for c in d.values()}, reverse=True)
        ts = [math.nextafter(c, -math.inf) for c in confs]
    elif isinstance(thresholds, str):
        raise ValueError(f"unknown thresholds {thresholds!r}: use 'official', 'exact' or a list")
    else:
        ts = sorted(thresholds, reverse=True)
    at_all = cuad_counts(gold, {k: list(d) for k, d in best.items()}, substring_keys=substring_keys)
    if at_all.support == 0:  # no gold answers at all: recall undefined, the official script reports 0
        return CuadScores(0.0, 0.0, 0.0, (), at_all)
    points: list[tuple[float, float, float]] = []
    for t in ts:
        kept = {k: [x for x, c in d.items() if c > t] for k, d in best.items()}
        s = cuad_counts(gold, kept, substring_keys=substring_keys)
        if s.tp + s.fp == 0:
            continue
        points.append((t, s.tp / (s.tp + s.fp), s.tp / (s.tp + s.fn)))
    precisions = [1.0] + [p for _, p, _ in points]
    recalls = [0.0] + [r for _, _, r in points]
    for i in range(len(precisions) - 2, -1, -1):  # monotone from the right
        precisions[i] = max(precisions[i], precisions[i + 1])
    aupr = sum((recalls[i + 1] - recalls[i]) * (precisions[i + 1] + precisions[i]) / 2 for i in range(len(recalls) - 1))

    def p_at(x: float) -> float:
        return next((p for p, r in zip(precisions, recalls, strict=True) if r >= x), 0.0)

    return CuadScores(aupr, p_at(0.8), p_at(0.9), tuple(points), at_all)


# --------------------------------------------------------------------------- entities / spans
@dataclass(frozen=True, order=True)
class LabeledSpan:
    label: str
    start: int
    end: int


def bio_to_spans(tags: Sequence[str]) -> list[LabeledSpan]:
    """BIO tags → token spans ``[start, end)`` (conlleval rule: an ``I-X`` not continuing an ``X`` starts one)."""
    out: list[LabeledSpan] = []
    cur: str | None = None
    start = 0
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, label = tag.partition("-")
        begins = prefix == "B" or (prefix == "I" and label != cur)
        if cur is not None and (prefix == "O" or begins):
            out.append(LabeledSpan(cur, start, i))
            cur = None
        if begins:
            cur, start = label, i
    return out


def entity_prf(pairs: Iterable[tuple[Iterable[LabeledSpan], Iterable[LabeledSpan]]]) -> Scores:
    """Entity-level P/R/F1 (WNUT-17, CoNLL): an entity counts only with the exact type and boundaries."""
    return span_prf(pairs, mode="exact")


def surface_prf(pairs: Iterable[tuple[Iterable[tuple[str, str]], Iterable[tuple[str, str]]]]) -> Scores:
    """WNUT-17 "surface form" F1 over the corpus-wide *sets* of unique ``(type, text)`` pairs."""
    gold: set[tuple[str, str]] = set()
    pred: set[tuple[str, str]] = set()
    for g, p in pairs:
        gold.update(g)
        pred.update(p)
    per: dict[str, PRF] = {}
    for label in sorted({t for t, _ in gold | pred}):
        gs = {x for x in gold if x[0] == label}
        ps = {x for x in pred if x[0] == label}
        per[label] = prf_from_counts(len(gs & ps), len(gs), len(ps))
    return Scores(prf_from_counts(len(gold & pred), len(gold), len(pred)), per)


def _max_matching(n_left: int, adj: Sequence[Sequence[int]]) -> int:
    """Size of a maximum bipartite matching (Kuhn's augmenting paths; inputs are per-document small)."""
    match_right: dict[int, int] = {}

    def augment(u: int, seen: set[int]) -> bool:
        for v in adj[u]:
            if v in seen:
                continue
            seen.add(v)
            if v not in match_right or augment(match_right[v], seen):
                match_right[v] = u
                return True
        return False

    return sum(1 for u in range(n_left) if augment(u, set()))


def span_prf(pairs: Iterable[tuple[Iterable[LabeledSpan], Iterable[LabeledSpan]]], *, mode: str = "exact") -> Scores:
    """Labelled span P/R/F1 per label and micro.

    ``mode="exact"``: same label, start and end (multisets). ``mode="overlap"``: same label and at least one
    shared character; each gold span matches at most one prediction and vice versa (maximum matching).
    """
    if mode not in ("exact", "overlap"):
        raise ValueError(f"unknown span mode {mode!r}: use 'exact' or 'overlap'")
    per: dict[str, PRF] = {}
    for g_it, p_it in pairs:
        gold, pred = list(g_it), list(p_it)
        for label in sorted({s.label for s in gold} | {s.label for s in pred}):
            gs = [s for s in gold if s.label == label]
            ps = [s for s in pred if s.label == label]
            if mode == "exact":
                _add(per, label, _multiset_counts([f"{s.start}:{s.end}" for s in gs], [f"{s.start}:{s.end}" for s in ps]))
            else:
                adj = [[j for j, q in enumerate(gs) if p.start < q.end and q.start < p.end] for p in ps]
                _add(per, label, prf_from_counts(_max_matching(len(ps), adj), len(gs), len(ps)))
    return Scores(sum(per.values(), PRF()), dict(sorted(per.items())))


# --------------------------------------------------------------------------- SWDE
def swde_scores(
    pages: Iterable[tuple[str, Sequence[str], Sequence[str]]],
    normalize: Callable[[str], str] = lambda s: normalize_ws(s).strip(": ").strip(),
) -> Scores:
    """SWDE page-level F1 per attribute, macro-averaged over attributes (``Scores.macro_f1``).

    ``pages`` yields ``(attribute, gold_values, predicted_values)`` per (page, attribute); predicted values
    are in rank order and only the first one counts. A page is *predicted* if it has a predicted value, and
    *correct* if that value equals (after ``normalize``) one of the gold values. P = correct / predicted
    pages, R = correct / pages with a gold value. The default normaliser collapses whitespace and strips
    the ``": "`` label separator that SWDE keeps at the start of many book values (``": 9780316125581"``).
    """
    per: dict[str, PRF] = {}
    for attr, gold, pred in pages:
        g = {normalize(x) for x in gold} - {""}
        p = next((normalize(x) for x in pred if normalize(x)), None)
        correct = 1 if p is not None and p in g else 0
        _add(per, attr, prf_from_counts(correct, 1 if g else 0, 1 if p is not None else 0))
    return Scores(sum(per.values(), PRF()), dict(sorted(per.items())))


# --------------------------------------------------------------------------- ANLS
def levenshtein(a: str, b: str) -> int:
    """Edit distance (the grounding package's bit-parallel implementation)."""
    from evidex.ground.fuzzy import distance

    return distance(a, b)


def anls_score(pred: str, golds: Sequence[str], *, tau: float = 0.5, normalize: bool = True) -> float:
    """Best over gold answers of ``1 - NL`` if ``NL < tau`` else 0, with ``NL = lev / max(len)``.

    With ``normalize`` both sides are whitespace-collapsed and lower-cased (DocVQA practice). No gold
    answers: 1.0 for an empty prediction, else 0.0.
    """
    def n(s: str) -> str:
        return normalize_ws(s).lower() if normalize else s

    p = n(pred)
    if not golds:
        return 1.0 if not p else 0.0
    best = 0.0
    for g in map(n, golds):
        m = max(len(g), len(p))
        nl = levenshtein(g, p) / m if m else 0.0
        best = max(best, 1.0 - nl if nl < tau else 0.0)
    return best


def anls(items: Iterable[tuple[str, Sequence[str]]], *, tau: float = 0.5) -> float:
    """Mean :func:`anls_score` over ``(prediction, gold answers)`` items (0.0 for no items)."""
    scores = [anls_score(p, g, tau=tau) for p, g in items]
    return sum(scores) / len(scores) if scores else 0.0


# --------------------------------------------------------------------------- grounding
GROUNDED_STATUSES = frozenset({"exact", "normalized", "fuzzy"})


def is_grounded(extraction: Mapping[str, Any]) -> bool:
    """Grounding status EXACT/NORMALIZED/FUZZY and at least one non-empty quoted evidence span.

    An evidence item counts when its ``text`` is non-blank, or, when it carries no ``text``, when
    ``end > start``.
    """
    if str(extraction.get("grounding", "")).lower() not in GROUNDED_STATUSES:
        return False
    for ev in extraction.get("evidence") or ():
        if not isinstance(ev, Mapping):
            continue
        if "text" in ev:
            if str(ev["text"]).strip():
                return True
        elif int(ev.get("end", 0)) > int(ev.get("start", 0)):
            return True
    return False


@dataclass(frozen=True)
class GroundingStats:
    grounded: int
    total: int

    @property
    def rate(self) -> float:
        """Share of predicted values that are grounded (1.0 when nothing was predicted)."""
        return self.grounded / self.total if self.total else 1.0


def grounding_rate(extractions: Iterable[Mapping[str, Any]]) -> GroundingStats:
    n = g = 0
    for e in extractions:
        n += 1
        g += is_grounded(e)
    return GroundingStats(g, n)


__all__ = [
    "KLEISTER_NDA_KEYS",
    "PRF",
    "SROIE_KEYS",
    "CuadScores",
    "GroundingStats",
    "LabeledSpan",
    "Scores",
    "anls",
    "anls_score",
    "bio_to_spans",
    "cuad_counts",
    "cuad_jaccard",
    "cuad_match",
    "cuad_official_thresholds",
    "cuad_scores",
    "entity_prf",
    "field_prf",
    "grounding_rate",
    "is_grounded",
    "kleister_scores",
    "kleister_token",
    "kleister_tokens",
    "levenshtein",
    "normalize_value",
    "normalize_ws",
    "span_prf",
    "sroie_scores",
    "surface_prf",
    "swde_scores",
    "value_text",
]
