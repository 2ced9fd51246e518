"""Assemble parse → extract → ground for a batch of files, validated before any model call.

One bad file (or one failing model call, or a bug in a stage) yields a Result with a typed ``error``; the batch
goes on. A backend that keeps failing stops being asked (fail fast); the documents left are marked not processed.
"""

from __future__ import annotations

import os
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidex.backends import Backend, load_backend
from evidex.errors import BackendGaveUpError, DocumentError, EvidexError, ModelOutputError, SchemaError
from evidex.extract import ExtractOptions, Extractor
from evidex.extract.engine import internal_error
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


def is_backend_failure(r: Result) -> bool:
    """The document failed because the backend failed (unavailable, timing out, bad responses, a passed deadline,
    or not asked at all after repeated failures) — not because of the document or of what the model wrote."""
    code = str((r.error or {}).get("code", ""))
    return code.startswith("EVX-B") and code != ModelOutputError.code


def is_not_processed(r: Result) -> bool:
    """The run stopped asking the backend before this document: rerun it once the backend works."""
    return (r.error or {}).get("code") == BackendGaveUpError.code


@dataclass
class RunStats:
    documents: int = 0
    failed: int = 0  # documents with an error, not_processed included
    not_processed: int = 0  # the run gave up on the backend before these (EVX-B008)
    backend_failed: int = 0  # failures caused by the backend (not_processed included)
    usage: Usage = field(default_factory=Usage)

    def add(self, r: Result) -> None:
        self.documents += 1
        self.failed += 0 if r.ok else 1
        self.not_processed += 1 if is_not_processed(r) else 0
        self.backend_failed += 1 if is_backend_failure(r) else 0
        self.usage = self.usage + r.usage

    @property
    def ok(self) -> int:
        return self.documents - self.failed

    @property
    def backend_down(self) -> bool:
        """The backend failed for the whole run: the run gave up on it, or every document failed because of it."""
        return self.not_processed > 0 or (self.documents > 0 and self.backend_failed == self.documents)


DEFAULT_MAX_BACKEND_FAILURES = 3


@dataclass
class Pipeline:
    schema: Schema
    backend: Backend | None
    options: ExtractOptions = field(default_factory=ExtractOptions)
    limits: Limits = field(default_factory=Limits)
    isolate: bool = False
    # fail fast: after this many consecutive documents failing because of the backend, stop asking it and mark the
    # remaining documents not processed (EVX-B008); None or 0 = never give up
    max_backend_failures: int | None = DEFAULT_MAX_BACKEND_FAILURES
    gave_up: bool = field(default=False, init=False)  # the last run stopped asking the backend

    @staticmethod
    def create(
        schema: Schema,
        backend: str | None = "llamacpp",
        backend_options: Mapping[str, Any] | None = None,
        options: ExtractOptions | None = None,
        *,
        limits: Limits | None = None,
        isolate: bool = False,
        timeout_s: float | None = None,
        max_retries: int | None = None,
        max_backend_failures: int | None = DEFAULT_MAX_BACKEND_FAILURES,
    ) -> Pipeline:
        """Build a pipeline. ``timeout_s`` (one model request's wall time) and ``max_retries`` are passed to the
        backend as options of those names; the per-document deadline is ``ExtractOptions.deadline_s``."""
        opts = dict(backend_options or {})
        if timeout_s is not None:
            opts["timeout_s"] = timeout_s
        if max_retries is not None:
            opts["max_retries"] = max_retries
        be = load_backend(backend, opts) if backend else None
        return Pipeline(schema, be, options or ExtractOptions(), limits or Limits(), isolate, max_backend_failures)

    def extractor(self) -> Extractor:
        return Extractor(self.backend, self.options)

    def run(
        self,
        paths: Iterable[str | os.PathLike[str]],
        on_result: Callable[[str, Document | None, Result], None] | None = None,
    ) -> Iterator[tuple[str, Document | None, Result]]:
        """Parse and extract each path; yield ``(path, Document | None, Result)`` — exactly one per path, in order.

        Nothing about one document stops the batch: parse errors, backend failures, unusable model output and
        unexpected exceptions (bugs: ``EVX-I001`` with the traceback in ``diagnostics``) fail that document alone.
        After ``max_backend_failures`` consecutive documents failed because of the backend, the backend is not asked
        again: the remaining documents are yielded unparsed with ``EVX-B008`` (not processed) so a rerun can redo them.
        """
        ex = self.extractor()
        todo = [str(p) for p in paths]
        done: Counter[str] = Counter()
        streak = 0
        self.gave_up = False
        limit = self.max_backend_failures or 0
        parsed_iter = parse_many(todo, limits=self.limits, isolate=self.isolate)
        try:
            for path, parsed in parsed_iter:
                done[path] += 1
                item = self._one(ex, path, parsed)
                res = item[2]
                if self.backend is not None and is_backend_failure(res):
                    streak += 1
                elif res.ok or isinstance(parsed, Document):
                    streak = 0  # the backend answered (or was not needed) for this document
                if on_result is not None:
                    on_result(*item)
                yield item
                if limit and streak >= limit:
                    self.gave_up = True
                    break
        finally:
            stop = getattr(parsed_iter, "close", None)
            if stop is not None:
                stop()  # stops parser workers when the run ends early
        if not self.gave_up:
            return
        reason = (f"not processed: the backend failed for {streak} documents in a row, so the run stopped asking it "
                  f"(max_backend_failures={limit})")
        for path in todo:
            if done[path] > 0:
                done[path] -= 1
                continue
            err = BackendGaveUpError(reason, path=path).to_dict()
            err["processed"] = False
            res = Result("", path, error=err, diagnostics={"processed": False})
            if on_result is not None:
                on_result(path, None, res)
            yield path, None, res

    def _one(self, ex: Extractor, path: str, parsed: Document | DocumentError) -> tuple[str, Document | None, Result]:
        if isinstance(parsed, DocumentError):
            return path, None, Result(doc_id="", source=path, error=parsed.to_dict())
        try:
            res = ex.extract(parsed, self.schema)
        except EvidexError as e:  # never lose the batch to one document
            res = Result(parsed.id, path, error=e.to_dict())
        except Exception as e:  # a bug (in a stage or a plugin): this document fails alone, the traceback is kept
            res = Result(parsed.id, path, error=internal_error(e, path).to_dict(),
                         diagnostics={"traceback": traceback.format_exc()[-20000:]})
        return path, parsed, res

    def extract_document(self, doc: Document) -> Result:
        return self.extractor().extract(doc, self.schema)

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()
