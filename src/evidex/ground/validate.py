"""Assemble one :class:`~evidex.model.Extraction`: normalise the raw value, ground it, score it."""

from __future__ import annotations

from typing import Any

from evidex.ground.align import UNGROUNDED, Alignment, ground, ground_in_view
from evidex.ground.normalize import normalize_value, printed_value
from evidex.model.extraction import Extraction, Grounding
from evidex.model.schema import Field, FieldType
from evidex.model.span import Span
from evidex.model.textview import TextView
from evidex.scan.numbers import normalize_money

# How much each grounding level leaves of the engine's own confidence.
GROUNDING_FACTOR: dict[Grounding, float] = {
    Grounding.EXACT: 1.0,
    Grounding.NORMALIZED: 0.95,
    Grounding.FUZZY: 0.85,  # times the similarity score
    Grounding.INFERRED: 0.7,
    Grounding.UNGROUNDED: 0.2,
}
UNTYPED_FACTOR = 0.5  # the raw text could not be read as the field's type


def combine_confidence(model_confidence: float, status: Grounding, score: float = 1.0, *, typed: bool = True) -> float:
    """The engine's confidence discounted by how well the value is supported.

    >>> combine_confidence(0.9, Grounding.EXACT), combine_confidence(0.9, Grounding.FUZZY, 0.9)
    (0.9, 0.6885)
    """
    c = min(1.0, max(0.0, float(model_confidence))) * GROUNDING_FACTOR[status]
    if status is Grounding.FUZZY:
        c *= min(1.0, max(0.0, score))
    if not typed:
        c *= UNTYPED_FACTOR
    return round(c, 4)


def _text_of(raw: object) -> str:
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, dict) and "amount" in raw:
        cur = raw.get("currency")
        return f"{cur} {raw['amount']}" if cur else str(raw["amount"])
    return str(raw)


def make_extraction(
    path: str,
    field: Field,
    raw: object,
    text: str,
    *,
    engine: str,
    hint: Span | None = None,
    confidence: float = 1.0,
    view: TextView | None = None,
    dayfirst: bool | None = None,
    fuzzy_threshold: float = 0.8,
) -> Extraction:
    """Normalise ``raw`` for ``field``, ground it in ``text`` (the document's canonical text) and score it.

    ``hint`` is supporting evidence from the engine (a span of ``text``, or of ``view.text`` when ``view``
    is given: the value is then aligned in the view and mapped back). Extractive fields must be found in
    the text; booleans, enums and fields marked non-extractive are INFERRED from the hint when their
    words do not appear in it. Values that cannot be typed keep ``value=None`` and say why in ``notes``.
    """
    raw_text = _text_of(raw)
    value, notes = normalize_value(field, raw, dayfirst=dayfirst)
    if value is None and notes == ["empty"]:
        return Extraction(path, None, raw_text, (), Grounding.UNGROUNDED, 0.0, engine, 0.0, ("empty",))
    typed = value is not None
    # align on the typed field only when the value was typed; otherwise as plain text
    ftype = field.type if typed else FieldType.STRING
    src_hint = hint
    if view is not None and hint is not None:
        src_hint = view.to_source(hint)

    def align(s: str, *, region: Span | None = None, fuzzy: bool = True) -> Alignment:
        if view is not None and region is None:
            return ground_in_view(s, view, text, field_type=ftype, hint=hint, typed_value=value,
                                  dayfirst=dayfirst, fuzzy_threshold=fuzzy_threshold, fuzzy=fuzzy)
        return ground(s, text, field_type=ftype, hint=src_hint, typed_value=value, region=region,
                      dayfirst=dayfirst, fuzzy_threshold=fuzzy_threshold, fuzzy=fuzzy)

    inferable = not field.extractive or field.type in (FieldType.BOOLEAN, FieldType.ENUM)
    if not inferable:
        a = align(raw_text)
    elif field.type is FieldType.BOOLEAN:
        a = UNGROUNDED  # "true" is never in the text; the evidence is the hint
    else:  # a label: its words may still be in the evidence
        a = UNGROUNDED
        for s in dict.fromkeys(x for x in (raw_text, value if isinstance(value, str) else None) if x):
            a = align(s, region=src_hint, fuzzy=False)
            if a.grounded:
                break

    status, spans, score = a.status, a.spans, a.score
    if not a.grounded and inferable and src_hint is not None and not src_hint.empty:
        status, spans, score = Grounding.INFERRED, (src_hint,), 0.0
        notes.append("inferred from the engine's evidence span")
    if a.candidates > 1:
        notes.append(f"{a.candidates} matching mentions; chose the one {'at the hint' if hint else 'first in the text'}")
    if status is Grounding.FUZZY:
        notes.append(f"fuzzy match (similarity {score})")
    if a.method == "exact-subword" and status is Grounding.EXACT:
        notes.append("the match is part of a longer word")
    if status is Grounding.UNGROUNDED:
        notes.append("not found in the text")
    if field.type is FieldType.MONEY and isinstance(value, dict) and value.get("currency") is None and spans:
        ev = normalize_money(spans[0].slice(text))
        if ev is not None and ev["currency"] and ev["amount"] == value["amount"]:
            value = {"amount": value["amount"], "currency": ev["currency"]}
            notes.append(f"currency {ev['currency']} taken from the evidence")
    if field.as_printed and spans and status is not Grounding.INFERRED:  # as printed, not as the engine rewrote it
        value = printed_value(field, " ".join(s.slice(text) for s in spans), value)
    conf = combine_confidence(confidence, status, score, typed=typed)
    return Extraction(path, value, raw_text, tuple(spans), status, conf, engine, float(score), tuple(notes))


def make_extractions(
    path: str, field: Field, raws: list[Any], text: str, *, engine: str, hints: list[Span | None] | None = None,
    confidence: float = 1.0, view: TextView | None = None,
) -> list[Extraction]:
    """One extraction per raw value of a ``many`` field (``path[i]``)."""
    hs = hints or [None] * len(raws)
    return [
        make_extraction(f"{path}[{i}]", field, r, text, engine=engine, hint=h, confidence=confidence, view=view)
        for i, (r, h) in enumerate(zip(raws, hs, strict=False))
    ]


__all__ = ["GROUNDING_FACTOR", "combine_confidence", "make_extraction", "make_extractions"]
