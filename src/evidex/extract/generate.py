"""Generative engine: the model reads structure-aware chunks and writes JSON; every leaf is then grounded.

Long documents are read chunk by chunk (coverage is recorded); outputs are validated against the schema and
re-asked with the validation error a bounded number of times; results are merged across chunks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from evidex.backends import Backend, Message, Request, Response
from evidex.extract import prompts
from evidex.model import Field, FieldType, Schema, TextView

Ask = Callable[[Sequence[Request]], list[Response]]
"""How the engine calls the model: the backend's ``generate``, or a wrapper that records usage and applies a
deadline."""


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
    errors: list[str] = field(default_factory=list)  # the problems of each attempt that had any
    dropped: dict[str, str] = field(default_factory=dict)  # field → why it failed alone (the others were kept)
    cut: list[str] = field(default_factory=list)  # fields whose value was cut off by the output limit
    failed: str | None = None  # the output stayed unusable (prose, invalid JSON, schema violations)


@dataclass
class GenerateOutcome:
    values: list[RawValue] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    truncated: bool = False
    read: int = 0  # chunks read
    dropped: dict[str, str] = field(default_factory=dict)  # "chunk i: field" → reason
    cut: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # "chunk i: reason" for chunks whose output was unusable


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.M)
_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:')


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


def salvage_json(text: str, max_tries: int = 200) -> tuple[dict[str, Any], str] | None:
    """The complete part of a JSON object cut off by the output limit, and the text that was cut.

    ``{"a": "x", "b": ["y", "unfinish`` gives ``({"a": "x", "b": ["y"]}, ', "unfinish')``: the value being
    written when the limit hit is dropped, every finished one is kept. None when no object can be recovered.
    """
    t = _FENCE.sub("", text.strip())
    s = t.find("{")
    if s < 0:
        return None
    t = t[s:]
    closers: list[str] = []
    cuts: list[tuple[int, str]] = []  # (end of a prefix holding only finished values, the brackets that close it)
    in_str = esc = False
    for i, ch in enumerate(t):
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"':
            in_str = True
        elif ch in "{[":
            closers.append("}" if ch == "{" else "]")
            if len(closers) == 1:  # the top-level object itself: cut before its first member gives {}
                cuts.append((i + 1, "}"))
        elif ch in "}]":
            if not closers:
                break
            closers.pop()
            if not closers:
                break  # the object is complete: nothing was cut inside it
            cuts.append((i + 1, "".join(reversed(closers))))
        elif ch == ",":
            cuts.append((i, "".join(reversed(closers))))
    for end, close in reversed(cuts[-max_tries:]):
        try:
            obj = json.loads(t[:end] + close)
        except ValueError:
            continue
        if isinstance(obj, dict):
            return obj, t[end:]
    return None


_PLAIN = (str, int, float, bool)


def _field_problem(f: Field, v: Any) -> str | None:
    """Why ``v`` cannot be the value of ``f`` (None: it can). Absent and null values are fine."""
    if f.type is FieldType.RECORD:
        items = v if f.many and isinstance(v, list) else [v]
        if not all(isinstance(x, dict) for x in items):
            return f"expected {'a list of objects' if f.many else 'an object'}, got {_kind(v)}"
        return None
    items = v if isinstance(v, list) else [v]
    for x in items:
        if x is None:
            continue
        if not isinstance(x, _PLAIN):
            return f"expected a plain value, got {_kind(x)}"
        if isinstance(x, bool) and f.type in (FieldType.INTEGER, FieldType.DECIMAL, FieldType.MONEY, FieldType.DATE):
            return f"expected a {f.type.value}, got a boolean"
    return None


def _kind(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(v), type(v).__name__)


def check_fields(obj: Any, fields: Sequence[Field]) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """Split a parsed answer into (valid values by field name, field → problem, other problems).

    A field that fails validation fails alone; "other problems" are about the answer as a whole (not an
    object, unknown keys).
    """
    if not isinstance(obj, dict):
        return {}, {}, [f"expected a JSON object, got {_kind(obj)}"]
    by_name = {f.name: f for f in fields}
    other = [f"unknown key {k!r}" for k in obj if k not in by_name]
    good: dict[str, Any] = {}
    bad: dict[str, str] = {}
    for name, f in by_name.items():
        if name not in obj:
            continue
        problem = _field_problem(f, obj[name])
        if problem is None:
            good[name] = obj[name]
        else:
            bad[name] = problem
    return good, bad, other


def validate(obj: Any, fields: Sequence[Field]) -> list[str]:
    """Problems with a parsed object, as short messages naming the path."""
    _, bad, other = check_fields(obj, fields)
    return [*other, *(f"{k}: {v}" for k, v in bad.items())]


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


def _read_answer(resp: Response, fields: Sequence[Field], good: dict[str, Any], bad: dict[str, str],
                 out: ChunkOutcome) -> tuple[Any, list[str], bool]:
    """Parse one answer (salvaging output cut by the limit) and merge its valid fields into ``good``; returns the
    parsed object (None when unreadable), the problems to re-ask about, and whether the answer was usable."""
    obj: Any = None
    problems: list[str] = []
    cut_text = ""
    usable = False
    try:
        obj = parse_json(resp.text)
    except (json.JSONDecodeError, ValueError) as e:
        salvaged = salvage_json(resp.text) if resp.truncated else None
        if salvaged is not None:
            obj, cut_text = salvaged
        else:
            problems.append(f"invalid JSON ({e.msg if isinstance(e, json.JSONDecodeError) else e})")
    if resp.truncated:
        out.truncated = True
    if obj is not None:
        valid, field_problems, other = check_fields(obj, fields)
        for name, value in valid.items():
            good[name] = value
            bad.pop(name, None)
        for name, problem in field_problems.items():
            if name not in good:
                bad[name] = problem
        problems += [*other, *(f"{k}: {v}" for k, v in field_problems.items())]
        usable = isinstance(obj, dict) and bool(valid or not problems)
        names = {f.name for f in fields}
        for name in (m.group(1) for m in _KEY.finditer(cut_text)):
            if name in names and name not in good and name not in out.cut:
                out.cut.append(name)
    return obj, problems, usable


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
    ask: Ask | None = None,
) -> ChunkOutcome:
    """Ask for the fields of one chunk; re-ask with the problems at most ``max_repairs`` times.

    * A field whose value is invalid fails alone (``dropped``); the valid fields are kept, each from the
      latest answer in which it was valid.
    * Output cut off by the output limit is salvaged: the finished values are kept, the one being written is
      reported in ``cut``, and the model is not asked again (it would run into the same limit) — unless
      nothing at all could be recovered, which gets one re-ask to be shorter.
    * When no answer was usable at all (prose, invalid JSON, only invalid fields or unknown keys), the chunk
      ``failed``; the engine fails the document with a coded error rather than returning silently nothing.
    """
    call = ask or backend.generate
    out = ChunkOutcome()
    caps = backend.capabilities
    js = prompts.json_schema_for(schema, fields, max_value_chars=max_value_chars)
    messages: list[Message] = [
        Message("system", prompts.SYSTEM),
        Message("user", prompts.generate_prompt(schema, view.text, fields, fmt)),
    ]
    good: dict[str, Any] = {}
    bad: dict[str, str] = {}
    usable = False  # some answer was a JSON object (all-null and empty answers count: "nothing stated")
    cut_reasks = 0
    for attempt in range(max_repairs + 1):
        req = Request(
            messages=tuple(messages),
            json_schema=js if caps.json_schema else None,
            max_tokens=max_tokens,
            tag=f"generate:chunk{chunk_index}:try{attempt}",
        )
        resp = call([req])[0]
        out.responses.append(resp)
        obj, problems, ok = _read_answer(resp, fields, good, bad, out)
        usable = usable or ok
        if resp.truncated and obj is None and cut_reasks == 0:
            problems.append("the reply was cut off by the output limit; be shorter")
        if problems:
            out.errors.append("; ".join(problems))
        if not problems or attempt == max_repairs:
            break
        if resp.truncated:
            if obj is not None or cut_reasks >= 1:
                break  # asking again would run into the same output limit
            cut_reasks += 1
        messages = [*messages, Message("assistant", resp.text[:2000]), Message("user", prompts.repair_message("; ".join(problems)))]
    if usable:
        out.values = [RawValue(p, f, raw, chunk_index, view) for p, f, raw in flatten(good, fields)]
        out.dropped = dict(bad)
    else:
        out.failed = out.errors[-1] if out.errors else "no usable answer"
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
    ask: Ask | None = None,
) -> GenerateOutcome:
    """Run every chunk (the model is called through ``ask``, default ``backend.generate``).

    A :class:`~evidex.errors.BackendError` propagates: the caller keeps the usage recorded by its ``ask``.
    """
    out = GenerateOutcome()
    for i, v in enumerate(views):
        o = run_chunk(backend, schema, fields, v, i, fmt=fmt, max_repairs=max_repairs, max_tokens=max_tokens,
                      max_value_chars=max_value_chars, ask=ask)
        out.read += 1
        out.values.extend(o.values)
        out.errors.extend(f"chunk {i}: {e}" for e in o.errors)
        out.truncated = out.truncated or o.truncated
        out.dropped.update({f"chunk {i}: {k}": r for k, r in o.dropped.items()})
        out.cut.extend(c for c in o.cut if c not in out.cut)
        if o.failed is not None:
            out.failed.append(f"chunk {i}: {o.failed}")
    return out
