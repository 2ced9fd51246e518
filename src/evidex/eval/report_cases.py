"""Error cases behind a report: which gold values were missed, which predictions were wrong or spurious."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from evidex.eval.datasets.base import GoldDoc
from evidex.eval.metrics import value_text
from evidex.eval.predictions import PredDoc


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
            free = list(range(len(golds)))
            left_preds: list[Any] = []
            for v in preds:
                hit = next(
                    (i for i in free if (match(golds[i], value_text(v), k) if match else gn(golds[i]) == norm(v))), None
                )
                if hit is None:
                    left_preds.append(v)
                else:
                    free.remove(hit)
            left_golds = [golds[i] for i in free]
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
                    preds.append((str(e.get("type", "")), int(e["start"]), int(e["end"]), str(e.get("text", "")),
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
