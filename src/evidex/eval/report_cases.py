"""Error cases behind a report: which gold values were missed, which predictions were wrong or spurious."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from evidex.eval.datasets.base import GoldDoc
from evidex.eval.metrics import value_text
from evidex.eval.predictions import PredDoc, entity_label


@dataclass(frozen=True)
class ErrorCase:
    """``kind``: ``missed`` (gold value not predicted), ``spurious`` (prediction matching no gold value) or
    ``wrong`` (a field has both an unmatched gold value and an unmatched prediction: paired for display)."""

    doc_id: str
    field: str
    kind: str
    gold: str | None
    predicted: str | None
    confidence: float = 0.0
    evidence: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _no_prediction(p: PredDoc | None) -> str:
    if p is None:
        return "(no prediction record)"
    if p.error is not None:
        return f"(error: {p.error.get('code') or p.error.get('message') or 'failed'})"
    return ""


def field_errors(
    pairs: Sequence[tuple[GoldDoc, PredDoc | None]],
    keys: Sequence[str],
    norm: Callable[[Any], str],
    *,
    gold_norm: Callable[[str], str] | None = None,
    match: Callable[[str, str, str], bool] | None = None,
    first_only: bool = False,
) -> list[ErrorCase]:
    """Greedy one-to-one pairing per (document, field): predictions in rank order take the first matching
    gold value; leftovers become errors. ``match(gold, predicted_text, field)`` overrides equality of
    normalised values (e.g. CUAD's Jaccard rule)."""
    gn = gold_norm or norm
    out: list[ErrorCase] = []
    for g, p in pairs:
        reason = _no_prediction(p)
        vals = p.values if p is not None and not reason else {}
        for k in keys:
            golds = [x for x in g.fields.get(k, ()) if gn(x)]
            preds = [v for v in vals.get(k, ()) if norm(v)]
            if p is not None and not reason:
                preds = sorted(preds, key=lambda v: -p.value_info(k, v).confidence)
            if first_only:  # page-level (SWDE): only the top prediction counts, against any gold value
                top = preds[0] if preds else None
                if top is not None and any(gn(x) == norm(top) for x in golds):
                    continue
                if top is None and not golds:
                    continue
                info = p.value_info(k, top) if p is not None and top is not None else None
                kind = "missed" if top is None else ("spurious" if not golds else "wrong")
                out.append(ErrorCase(g.id, k, kind, " | ".join(golds) or None, value_text(top) if top is not None else None,
                                     info.confidence if info else 0.0, info.evidence if info else reason))
                continue
            hits, left_golds = _pair_up(golds, preds, k, norm, gn, match)
            left_preds = [v for v, hit in zip(preds, hits, strict=True) if not hit]
            for i in range(max(len(left_golds), len(left_preds))):
                gv = left_golds[i] if i < len(left_golds) else None
                pv = left_preds[i] if i < len(left_preds) else None
                kind = "wrong" if gv is not None and pv is not None else ("missed" if pv is None else "spurious")
                info = p.value_info(k, pv) if p is not None and pv is not None else None
                out.append(
                    ErrorCase(
                        g.id,
                        k,
                        kind,
                        gv,
                        value_text(pv) if pv is not None else None,
                        info.confidence if info else 0.0,
                        info.evidence if info else reason,
                    )
                )
    return out


def _pair_up(golds: Sequence[str], preds: Sequence[Any], k: str, norm: Callable[[Any], str], gn: Callable[[str], str],
             match: Callable[[str, str, str], bool] | None) -> tuple[list[bool], list[str]]:
    """Greedy one-to-one pairing of one (document, field): each prediction, in the order given, takes the first
    free gold value it matches. → (whether each prediction matched, the gold values left)."""
    free = list(range(len(golds)))
    hits: list[bool] = []
    for v in preds:
        hit = next((i for i in free if (match(golds[i], value_text(v), k) if match else gn(golds[i]) == norm(v))), None)
        hits.append(hit is not None)
        if hit is not None:
            free.remove(hit)
    return hits, [golds[i] for i in free]


@dataclass(frozen=True)
class ValueOutcome:
    """One emitted value with a confidence, and whether the metric counts it correct."""

    doc_id: str
    field: str
    value: str
    confidence: float
    correct: bool


def field_outcomes(
    pairs: Sequence[tuple[GoldDoc, PredDoc | None]],
    keys: Sequence[str],
    norm: Callable[[Any], str],
    *,
    gold_norm: Callable[[str], str] | None = None,
    match: Callable[[str, str, str], bool] | None = None,
    first_only: bool = False,
) -> list[ValueOutcome]:
    """Every predicted value that carries a confidence, paired with gold as :func:`field_errors` pairs them
    (per (document, field), highest confidence first, one-to-one: a duplicate of a matched value is wrong);
    ``first_only``: only the top value of a (page, field) counts, right when it equals any gold value."""
    gn = gold_norm or norm
    out: list[ValueOutcome] = []
    for g, p in pairs:
        if p is None or p.error is not None:
            continue
        for k in keys:
            golds = [x for x in g.fields.get(k, ()) if gn(x)]
            preds = sorted((v for v in p.values.get(k, ()) if norm(v)), key=lambda v: -p.value_info(k, v).confidence)
            if first_only:
                preds = preds[:1]
                hits = [any(gn(x) == norm(v) for x in golds) for v in preds]
            else:
                hits, _ = _pair_up(golds, preds, k, norm, gn, match)
            for v, hit in zip(preds, hits, strict=True):
                info = p.value_info(k, v)
                if info.has_confidence:
                    out.append(ValueOutcome(g.id, k, value_text(v), info.confidence, hit))
    return out


def span_outcomes(pairs: Sequence[tuple[GoldDoc, PredDoc | None]]) -> list[ValueOutcome]:
    """Every predicted entity that carries a confidence; right when a gold span has its label, start and end
    (one-to-one, highest confidence first)."""
    out: list[ValueOutcome] = []
    for g, p in pairs:
        if p is None or p.error is not None:
            continue
        free = [(s.label, s.start, s.end) for s in g.spans]
        ents = [e for e in p.entities if isinstance(e.get("confidence"), int | float)]
        for e in sorted(ents, key=lambda e: -float(e["confidence"])):
            try:
                key = (entity_label(e), int(e["start"]), int(e["end"]))
            except (KeyError, TypeError, ValueError):
                continue
            hit = key in free
            if hit:
                free.remove(key)
            out.append(ValueOutcome(g.id, key[0], str(e.get("text", "")), float(e["confidence"]), hit))
    return out


def span_errors(pairs: Sequence[tuple[GoldDoc, PredDoc | None]]) -> list[ErrorCase]:
    """Unmatched gold spans (missed) and predicted entities (spurious); a same-label overlapping leftover
    pair is shown as one ``wrong`` (boundary) error."""
    out: list[ErrorCase] = []
    for g, p in pairs:
        reason = _no_prediction(p)
        preds: list[tuple[str, int, int, str, float]] = []
        if p is not None and not reason:
            for e in p.entities:
                try:
                    preds.append((entity_label(e), int(e["start"]), int(e["end"]), str(e.get("text", "")),
                                  float(e.get("confidence", 1.0))))
                except (KeyError, TypeError, ValueError):
                    continue
        golds = [(s.label, s.start, s.end, s.text) for s in g.spans]
        exact = {(a, b, c) for a, b, c, _ in golds} & {(a, b, c) for a, b, c, _, _ in preds}
        lg = [x for x in golds if x[:3] not in exact]
        lp = [x for x in preds if x[:3] not in exact]
        for gl, gs, ge, gt in lg:
            j = next((i for i, x in enumerate(lp) if x[0] == gl and x[1] < ge and gs < x[2]), None)
            if j is None:
                out.append(ErrorCase(g.id, gl, "missed", gt, None, 0.0, reason))
            else:
                x = lp.pop(j)
                out.append(ErrorCase(g.id, gl, "wrong", gt, x[3], x[4], f"[{x[1]}, {x[2]}) vs gold [{gs}, {ge})"))
        out.extend(ErrorCase(g.id, x[0], "spurious", None, x[3], x[4], f"[{x[1]}, {x[2]})") for x in lp)
    return out
