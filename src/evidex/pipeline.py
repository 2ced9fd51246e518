"""Assemble parse → extract → ground for a batch of files, validated before any model call.

One bad file (or one failing model call) yields a Result with a typed ``error``; the batch goes on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidex.backends import Backend, load_backend
from evidex.errors import DocumentError, EvidexError, SchemaError
from evidex.extract import ExtractOptions, Extractor
from evidex.model import Document, Result, Schema, Usage
from evidex.parse import Limits, parse_many


def load_schema(path: str | os.PathLike[str]) -> Schema:
    """Load a schema from YAML or JSON (JSON Schema when it has 'properties')."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SchemaError(f"schema file not found: {p}", hint="pass --schema path/to/schema.yaml") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SchemaError(f"cannot read schema {p}: {e}") from None
    if p.suffix.lower() == ".json":
        import json

        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise SchemaError(f"{p}: invalid JSON at line {e.lineno}: {e.msg}") from None
        if isinstance(data, dict) and "properties" in data:
            return Schema.from_json_schema(data, name=p.stem)
        return Schema.from_dict(data, name=p.stem)
    try:
        return Schema.from_yaml(text, name=p.stem)
    except SchemaError as e:
        raise SchemaError(f"{p}: {e.message}", hint=e.hint) from None


@dataclass
class RunStats:
    documents: int = 0
    failed: int = 0
    usage: Usage = field(default_factory=Usage)

    def add(self, r: Result) -> None:
        self.documents += 1
        self.failed += 0 if r.ok else 1
        self.usage = self.usage + r.usage


@dataclass
class Pipeline:
    schema: Schema
    backend: Backend | None
    options: ExtractOptions = field(default_factory=ExtractOptions)
    limits: Limits = field(default_factory=Limits)
    isolate: bool = False

    @staticmethod
    def create(
        schema: Schema,
        backend: str | None = "llamacpp",
        backend_options: Mapping[str, Any] | None = None,
        options: ExtractOptions | None = None,
        *,
        limits: Limits | None = None,
        isolate: bool = False,
    ) -> Pipeline:
        be = load_backend(backend, backend_options) if backend else None
        return Pipeline(schema, be, options or ExtractOptions(), limits or Limits(), isolate)

    def extractor(self) -> Extractor:
        return Extractor(self.backend, self.options)

    def run(
        self,
        paths: Iterable[str | os.PathLike[str]],
        on_result: Callable[[str, Document | None, Result], None] | None = None,
    ) -> Iterator[tuple[str, Document | None, Result]]:
        ex = self.extractor()
        for path, parsed in parse_many(paths, limits=self.limits, isolate=self.isolate):
            if isinstance(parsed, DocumentError):
                res = Result(doc_id="", source=path, error=parsed.to_dict())
                item: tuple[str, Document | None, Result] = (path, None, res)
            else:
                try:
                    res = ex.extract(parsed, self.schema)
                except EvidexError as e:  # never lose the batch to one document
                    res = Result(parsed.id, path, error=e.to_dict())
                item = (path, parsed, res)
            if on_result is not None:
                on_result(*item)
            yield item

    def extract_document(self, doc: Document) -> Result:
        return self.extractor().extract(doc, self.schema)

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()
