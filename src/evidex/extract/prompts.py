"""Prompt templates. Several semantically equivalent formats exist so benchmarks can measure the spread
of quality across prompt formats (FormatSpread); format 0 is the default."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from evidex.model import Field, FieldType, Schema

# Option labels for choice prompts: digits are single tokens for common tokenizers, and small models answer
# with digits far more readily than with letters. "0" means "none of these".
DIGITS = "123456789"
MAX_VALUE_CHARS = 200  # default longest string value a generative answer may hold

SYSTEM = (
    "You extract facts from business documents. Use only what the document says. "
    "If the document does not state a value, say so."
)


def describe_field(f: Field, fmt: int = 0) -> str:
    kind = {FieldType.MONEY: "amount of money", FieldType.DECIMAL: "number", FieldType.INTEGER: "whole number"}.get(
        f.type, f.type.value
    )
    desc = f" — {f.description}" if f.description else ""
    ex = f" (e.g. {', '.join(f.examples[:2])})" if f.examples else ""
    name = f.name.replace("_", " ")
    if fmt == 1:
        return f"FIELD {name.upper()} [{kind}]{desc}{ex}"
    if fmt == 2:
        return f"<field name=\"{f.name}\" type=\"{kind}\">{f.description}{ex}</field>"
    return f"{name} ({kind}){desc}{ex}"


def document_block(context: str, fmt: int = 0) -> str:
    if fmt == 1:
        return f"DOCUMENT START\n{context}\nDOCUMENT END\n\n"
    if fmt == 2:
        return f"<document>\n{context}\n</document>\n\n"
    return f"Document:\n\"\"\"\n{context}\n\"\"\"\n\n"


def choice_question(f: Field, options: Sequence[str], fmt: int = 0) -> tuple[str, str]:
    """The per-field suffix of a choice prompt and the labels allowed: options ``1…k``, then ``0`` = none."""
    if len(options) > len(DIGITS):
        raise ValueError(f"at most {len(DIGITS)} options")
    letters = DIGITS[: len(options)] + "0"
    lines = [f"{letters[i]}. {o}" for i, o in enumerate(options)]
    lines.append("0. none of these / not stated")
    opts = "\n".join(lines)
    if fmt == 1:
        q = f"QUESTION: which option is the {describe_field(f, 1)}?\nOPTIONS:\n{opts}\nANSWER (one number):"
    elif fmt == 2:
        q = f"<question>Which option is the value of {describe_field(f, 2)}?</question>\n<options>\n{opts}\n</options>\nReply with one number."
    else:
        q = f"Which option is the {describe_field(f, 0)}?\n{opts}\nAnswer with one number."
    return q, letters


def label_question(name: str, labels: Sequence[str], description: str, fmt: int = 0) -> tuple[str, str]:
    letters = DIGITS[: len(labels)]
    opts = "\n".join(f"{letters[i]}. {lab}" for i, lab in enumerate(labels))
    what = description or name.replace("_", " ")
    return f"Which {what} best describes this document?\n{opts}\nAnswer with one number.", letters


def json_schema_for(schema: Schema, fields: Sequence[Field] | None = None, *,
                    max_value_chars: int = MAX_VALUE_CHARS) -> dict[str, Any]:
    """A JSON Schema for generative extraction: every leaf is a string copied from the document (or null)."""

    def leaf(f: Field) -> dict[str, Any]:
        if f.type is FieldType.RECORD:
            obj = {"type": "object", "properties": {g.name: leaf(g) for g in f.fields}}
            return {"type": "array", "items": obj} if f.many else obj
        if f.type is FieldType.BOOLEAN:
            base: dict[str, Any] = {"type": ["boolean", "null"]}
        elif f.type is FieldType.ENUM:
            base = {"enum": [*f.choices, None]}
        else:
            # bounded: grammar-constrained decoders then cannot run away inside one value (tiny models do)
            base = {"type": ["string", "null"], "maxLength": max_value_chars}
        if f.many:
            return {"type": "array", "items": {k: v for k, v in base.items()}}
        return base

    fs = list(fields if fields is not None else schema.fields)
    return {
        "type": "object",
        "properties": {f.name: leaf(f) for f in fs},
        "required": [f.name for f in fs],
        "additionalProperties": False,
    }


def generate_prompt(schema: Schema, context: str, fields: Sequence[Field], fmt: int = 0) -> str:
    spec = "\n".join(f"- {f.name}: {describe_field(f, fmt)}" + (" [list]" if f.many else "") for f in fields)
    rules = (
        "Copy each value exactly as written in the document (same spelling, numbers and dates as printed). "
        "Use null when the document does not state it. Reply with JSON only."
    )
    if fmt == 1:
        return f"{document_block(context, 1)}EXTRACT THESE FIELDS:\n{spec}\nRULES: {rules}"
    if fmt == 2:
        return f"{document_block(context, 2)}<fields>\n{spec}\n</fields>\n<rules>{rules}</rules>"
    return f"{document_block(context, 0)}Extract these fields:\n{spec}\n\n{rules}"


def entities_prompt(context: str, types: Mapping[str, str], fmt: int = 0) -> str:
    spec = "\n".join(f"- {t}: {d}" if d else f"- {t}" for t, d in types.items())
    return (
        f"{document_block(context, fmt)}List every mention of these entity types, copying the exact words:\n{spec}\n"
        'Reply with JSON: {"entities": [{"text": "...", "type": "..."}]}'
    )


def entities_schema(types: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "entities": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"text": {"type": "string"}, "type": {"enum": list(types)}},
                    "required": ["text", "type"],
                },
            }
        },
        "required": ["entities"],
    }


def repair_message(error: str) -> str:
    return f"That reply was not valid: {error}. Reply again with valid JSON only, matching the requested fields."


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def relations_prompt(context: str, entities: Sequence[tuple[int, str, str]], relations: Mapping[str, tuple[str, str, str]],
                     fmt: int = 0) -> str:
    """``entities``: (id, type, text); ``relations``: name → (head type, tail type, description)."""
    ents = "\n".join(f"[{i}] {t}: {x}" for i, t, x in entities)
    rels = "\n".join(f"- {n}: {h} → {t}" + (f" ({d})" if d else "") for n, (h, t, d) in relations.items())
    return (
        f"{document_block(context, fmt)}Entities:\n{ents}\n\nRelation types:\n{rels}\n\n"
        "List the relations the document states between these entities, by entity number. "
        'Reply with JSON: {"relations": [{"type": "...", "head": 0, "tail": 1}]}'
    )


def relations_schema(names: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "relations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"type": {"enum": list(names)}, "head": {"type": "integer"}, "tail": {"type": "integer"}},
                    "required": ["type", "head", "tail"],
                },
            }
        },
        "required": ["relations"],
    }
