"""Generative engine: the model reads structure-aware chunks and writes JSON; every leaf is then grounded.

Long documents are read chunk by chunk (coverage is recorded); outputs are validated against the schema and
re-asked with the validation error a bounded number of times; results are merged across chunks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from evidex.backends import Backend, Message, Request, Response
from evidex.errors import BackendError
from evidex.extract import prompts
from evidex.model import Field, FieldType, Schema, TextView


@dataclass
class RawValue:
    path: str
    field: Field
    raw: str
    chunk: int
    view: TextView


@dataclass
class ChunkOutcome:
    values: list[RawValue] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    truncated: bool = False
    errors: list[str] = field(default_factory=list)


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.M)


def parse_json(text: str) -> Any:
    """Parse model output as JSON, tolerating code fences and text around one object."""
    t = _FENCE.sub("", text.strip())
    try:
        return json.loads(t)
    except json.JSONDecodeError:
        s, e = t.find("{"), t.rfind("}")
        if s >= 0 and e > s:
            return json.loads(t[s : e + 1])
        raise


def validate(obj: Any, fields: Sequence[Field]) -> list[str]:
    """Problems with a parsed object, as short messages naming the path."""
    if not isinstance(obj, dict):
        return [f"expected a JSON object, got {type(obj).__name__}"]
    problems = []
    names = {f.name for f in fields}
    for k in obj:
        if k not in names:
            problems.append(f"unknown key {k!r}")
    for f in fields:
        v = obj.get(f.name)
        if v is None:
            continue
        if f.type is FieldType.RECORD:
            items = v if f.many else [v]
            if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
                problems.append(f"{f.name}: expected {'a list of objects' if f.many else 'an object'}")
            continue
        items = v if isinstance(v, list) else [v]
        if f.many and not isinstance(v, list):
            items = [v]
        for x in items:
            if isinstance(x, dict | list):
                problems.append(f"{f.name}: expected a plain value, got {type(x).__name__}")
                break
    return problems


def flatten(obj: dict[str, Any], fields: Sequence[Field], prefix: str = "") -> list[tuple[str, Field, str]]:
    out: list[tuple[str, Field, str]] = []
    for f in fields:
        v = obj.get(f.name)
        if v is None:
            continue
        if f.type is FieldType.RECORD:
            items = v if isinstance(v, list) else [v]
            for i, item in enumerate(items):
                if isinstance(item, dict):
                    p = f"{prefix}{f.name}[{i}]." if f.many else f"{prefix}{f.name}."
                    out.extend(flatten(item, f.fields, p))
            continue
        for x in v if isinstance(v, list) else [v]:
            if x is None or isinstance(x, dict | list):
                continue
            s = str(x).strip() if not isinstance(x, bool) else ("true" if x else "false")
            if s and s.lower() not in ("null", "none", "n/a"):
                out.append((f"{prefix}{f.name}", f, s))
    return out


def run_chunk(
    backend: Backend,
    schema: Schema,
    fields: Sequence[Field],
    view: TextView,
    chunk_index: int,
    *,
    fmt: int,
    max_repairs: int,
    max_tokens: int,
    max_value_chars: int = prompts.MAX_VALUE_CHARS,
) -> ChunkOutcome:
    out = ChunkOutcome()
    caps = backend.capabilities
    js = prompts.json_schema_for(schema, fields, max_value_chars=max_value_chars)
    messages: list[Message] = [
        Message("system", prompts.SYSTEM),
        Message("user", prompts.generate_prompt(schema, view.text, fields, fmt)),
    ]
    for attempt in range(max_repairs + 1):
        req = Request(
            messages=tuple(messages),
            json_schema=js if caps.json_schema else None,
            max_tokens=max_tokens,
            tag=f"generate:chunk{chunk_index}:try{attempt}",
        )
        resp = backend.generate([req])[0]
        out.responses.append(resp)
        try:
            obj = parse_json(resp.text)
            problems = validate(obj, fields)
        except (json.JSONDecodeError, ValueError) as e:
            obj, problems = None, [f"invalid JSON ({e.msg if isinstance(e, json.JSONDecodeError) else e})"]
        if resp.truncated:
            out.truncated = True
            problems = problems or []
            if obj is None:
                problems.append("the reply was cut off by the output limit; be shorter")
        if not problems and isinstance(obj, dict):
            out.values = [RawValue(p, f, raw, chunk_index, view) for p, f, raw in flatten(obj, fields)]
            return out
        out.errors.append("; ".join(problems))
        messages = [*messages, Message("assistant", resp.text[:2000]), Message("user", prompts.repair_message("; ".join(problems)))]
    return out


def run_generate(
    backend: Backend,
    schema: Schema,
    fields: Sequence[Field],
    views: Sequence[TextView],
    *,
    fmt: int = 0,
    max_repairs: int = 2,
    max_tokens: int = 512,
    max_value_chars: int = prompts.MAX_VALUE_CHARS,
) -> tuple[list[RawValue], list[Response], list[str], bool, int]:
    """Run every chunk; return (values, responses, errors, truncated, chunks_read)."""
    values: list[RawValue] = []
    responses: list[Response] = []
    errors: list[str] = []
    truncated = False
    read = 0
    for i, v in enumerate(views):
        try:
            o = run_chunk(backend, schema, fields, v, i, fmt=fmt, max_repairs=max_repairs, max_tokens=max_tokens,
                          max_value_chars=max_value_chars)
        except BackendError:
            raise
        read += 1
        values.extend(o.values)
        responses.extend(o.responses)
        errors.extend(f"chunk {i}: {e}" for e in o.errors)
        truncated = truncated or o.truncated
    return values, responses, errors, truncated, read
