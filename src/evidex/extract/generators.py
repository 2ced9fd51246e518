"""Built-in generator ``json``: the model writes one JSON object per view, constrained to the schema where the
backend supports it (JSON Schema or GBNF), validated field by field, re-asked a bounded number of times, and
salvaged when the output limit cuts it (see :mod:`evidex.extract.generate`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from evidex.extract.generate import GenerateOutcome, run_generate
from evidex.extract.stages import DocContext
from evidex.model import Field, Schema, TextView
from evidex.registry import Options


class JsonGenerator:
    name: ClassVar[str] = "json"
    version: ClassVar[str] = "1"
    requires: ClassVar[frozenset[str]] = frozenset({"backend"})
    Options: ClassVar[type[Options]] = Options

    def __init__(self, options: object = None) -> None:
        pass

    def generate(self, ctx: DocContext, fields: Sequence[Field], views: Sequence[TextView]) -> GenerateOutcome:
        assert ctx.backend is not None
        o = ctx.options
        sub = Schema(ctx.schema.name, tuple(fields))
        return run_generate(ctx.backend, sub, fields, views, fmt=o.prompt_format, max_repairs=o.max_repairs,
                            max_tokens=o.max_output_tokens, max_value_chars=o.max_value_chars, ask=ctx.ask)


__all__ = ["JsonGenerator"]
