"""Type-aware comparison for the generic ``field`` metric: a gold value written as printed ("12 AUG 2017",
"RM 78.08") or normalised ("2017-08-12", "78.08") equals a prediction of the same date or amount.

Only fields the gold set's schema types as dates, money, numbers or durations are compared this way (a schema
inferred from the gold file types every field as a string: nothing changes). Each value becomes its
:func:`evidex.ground.keys.value_key`; an ambiguous printed gold date (``01/11/2019``) matches a prediction of
either reading.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evidex.eval.metrics import value_text
from evidex.ground.keys import value_key, value_keys
from evidex.model import Field, FieldType, Schema

_TEXT_TYPES = (FieldType.STRING, FieldType.RECORD, FieldType.BOOLEAN, FieldType.ENUM)


def typed_fields(schema: Schema, keys: Sequence[str]) -> dict[str, Field]:
    """The gold keys the schema types as values to compare by meaning (dates, amounts, numbers, durations)."""
    out: dict[str, Field] = {}
    for k in keys:
        try:
            f = schema.field(k)
        except KeyError:
            continue
        if f.type not in _TEXT_TYPES:
            out[k] = f
    return out


def pred_key(f: Field, v: Any) -> str:
    return value_key(f, value_text(v))


def gold_matches(f: Field, gold: str, predicted: str) -> bool:
    """Is the predicted text (a typed value rendered as text) the gold value, compared by the field's type?"""
    return value_key(f, predicted) in value_keys(f, gold)


def retype(gold: Mapping[str, Sequence[Any]], pred: Mapping[str, Sequence[Any]],
           fields: Mapping[str, Field]) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """One document's gold and predicted values with typed fields replaced by their keys (other fields as they
    are). A gold value takes the key of a prediction it matches (so an ambiguous date matches either reading),
    else its own key."""
    g_out: dict[str, list[Any]] = {k: list(v) for k, v in gold.items()}
    p_out: dict[str, list[Any]] = {k: list(v) for k, v in pred.items()}
    for k, f in fields.items():
        pk = [pred_key(f, v) for v in pred.get(k, ()) if value_text(v).strip()]
        free = list(pk)
        gk: list[str] = []
        for raw in gold.get(k, ()):
            text = value_text(raw)
            if not text.strip():
                continue
            keys = value_keys(f, text)
            hit = next((x for x in free if x in keys), None)
            if hit is not None:
                free.remove(hit)
                gk.append(hit)
            else:
                gk.append(value_key(f, text))
        if k in gold:
            g_out[k] = gk
        if k in pred:
            p_out[k] = pk
    return g_out, p_out


__all__ = ["gold_matches", "pred_key", "retype", "typed_fields"]
