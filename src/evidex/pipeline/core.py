"""Assemble parse → extract → ground for a batch of files, validated before any model call.

One bad file (or one failing model call, or a bug in a stage) yields a Result with a typed ``error``; the batch
goes on. A backend that keeps failing stops being asked (fail fast); the documents left are marked not processed.
"""

from __future__ import annotations

import dataclasses
import os
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel

from evidex.backends import Backend, load_backend
from evidex.errors import BackendGaveUpError, DocumentError, EvidexError, ModelOutputError, SchemaError
from evidex.extract import ExtractOptions, Extractor
from evidex.extract.engine import internal_error
from evidex.model import Document, Grounding, Result, Schema, Usage
from evidex.parse import Limits, parse_many
from evidex.pipeline.cache import Cache, CachedBackend, CacheStats
from evidex.pipeline.spec import DEFAULT_MAX_BACKEND_FAILURES, BackendSpec, PipelineSpec


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


def as_schema(schema: Schema | str | os.PathLike[str] | Mapping[str, Any]) -> Schema:
    """A :class:`Schema` from a Schema, a YAML/JSON file path, or its dict form (JSON Schema when it has
    ``properties``)."""
    if isinstance(schema, Schema):
        return schema
    if isinstance(schema, Mapping):
        if "properties" in schema:
            return Schema.from_json_schema(dict(schema))
        return Schema.from_dict(dict(schema), name=str(schema.get("name", "schema")))
    return load_schema(schema)


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
    gave_up: bool = False  # the run stopped asking the backend (fail fast)
    values: int = 0  # extractions written
    grounded: int = 0  # … of which with support in the text
    usage: Usage = field(default_factory=Usage)
    cache: CacheStats = field(default_factory=CacheStats)  # parse and model-call cache hits (with a cache)

    def add(self, r: Result) -> None:
        self.documents += 1
        self.values += len(r.extractions)
        self.grounded += sum(1 for x in r.extractions if x.grounding is not Grounding.UNGROUNDED)
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


class Pipeline:
    """Parse → extract → ground for batches of files; built from a :class:`PipelineSpec` (or from Python objects,
    which make one). A context manager: leaving the ``with`` block closes the backend it owns.

    The spec is immutable; :meth:`with_options` gives a pipeline with other engine options sharing this one's
    backend (e.g. another prompt format), without rebuilding or reloading the model.
    """

    def __init__(
        self,
        schema: Schema,
        backend: Backend | None,
        options: ExtractOptions | None = None,
        limits: Limits | None = None,
        isolate: bool = False,
        max_backend_failures: int | None = DEFAULT_MAX_BACKEND_FAILURES,
        *,
        spec: PipelineSpec | None = None,
        owns_backend: bool = True,
        cache: Cache | None = None,
    ) -> None:
        self.schema = schema
        self.cache = cache  # parses and (deterministic) model calls are reused from it
        if cache is not None and backend is not None and not isinstance(backend, CachedBackend):
            backend = cast(Backend, CachedBackend(backend, cache))
        self.backend = backend
        self.options = options or ExtractOptions()
        self.limits = limits or Limits()
        self.isolate = isolate
        self.max_backend_failures = max_backend_failures
        self.gave_up = False  # the last run stopped asking the backend
        self._owns_backend = owns_backend
        self._extractor = Extractor(backend, self.options)  # assembles and checks the stages: before any model call
        if spec is None:
            spec = PipelineSpec.create(schema, None, None, self.options, limits=self.limits, isolate=isolate,
                                       max_backend_failures=max_backend_failures)
            if backend is not None:
                spec = spec.model_copy(update={"backend": BackendSpec(name=backend.name,
                                                                      options=_backend_options(backend))})
        self.spec = spec.with_versions(self._extractor.versions())
        self.spec_hash = self.spec.hash()

    @staticmethod
    def from_spec(spec: PipelineSpec | Mapping[str, Any] | str, *, cache: Cache | None = None) -> Pipeline:
        """Build a working pipeline from a spec (an object, its dict form or its JSON); with ``cache``, parses
        and deterministic model calls are reused from it (see :mod:`evidex.pipeline.cache`)."""
        if isinstance(spec, str):
            spec = PipelineSpec.from_json(spec)
        elif not isinstance(spec, PipelineSpec):
            spec = PipelineSpec.parse(spec)
        be = load_backend(spec.backend.name, spec.backend.options) if spec.backend is not None else None
        try:
            return Pipeline(spec.schema, be, spec.extract, spec.limits_obj, spec.run.isolate,
                            spec.run.max_backend_failures, spec=spec, cache=cache)
        except BaseException:
            if be is not None:
                be.close()
            raise

    @staticmethod
    def create(
        schema: Schema | str | os.PathLike[str] | Mapping[str, Any],
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
        """Build a pipeline (``schema``: a Schema, a schema file or its dict form). ``timeout_s`` (one model
        request's wall time) and ``max_retries`` are passed to the backend as options of those names; the
        per-document deadline is ``ExtractOptions.deadline_s``."""
        opts = dict(backend_options or {})
        if timeout_s is not None:
            opts["timeout_s"] = timeout_s
        if max_retries is not None:
            opts["max_retries"] = max_retries
        spec = PipelineSpec.create(as_schema(schema), backend, opts, options, limits=limits, isolate=isolate,
                                   max_backend_failures=max_backend_failures)
        return Pipeline.from_spec(spec)

    def with_options(self, options: ExtractOptions) -> Pipeline:
        """The same pipeline with other engine options, sharing (not owning) this pipeline's backend."""
        spec = self.spec.model_copy(update={"extract": options, "versions": {}})
        return Pipeline(self.schema, self.backend, options, self.limits, self.isolate, self.max_backend_failures,
                        spec=spec, owns_backend=False, cache=self.cache)

    @property
    def mode(self) -> str:
        """The resolved mode (``auto`` decided from the backend's declared capabilities)."""
        return self._extractor.mode

    def extractor(self) -> Extractor:
        return self._extractor

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        todo = [str(p) for p in paths]
        return self.guard(todo, self.stream(todo), on_result)

    def stream(self, paths: Iterable[str | os.PathLike[str]]) -> Iterator[tuple[str, Document | None, Result]]:
        """Parse and extract each path, in order, without the fail-fast policy (see :meth:`guard`): the
        per-document function every executor maps over its share of a batch."""
        ex = self._extractor
        parsed_iter = self._parse(paths)
        try:
            for path, parsed in parsed_iter:
                yield self._one(ex, path, parsed)
        finally:
            stop = getattr(parsed_iter, "close", None)
            if stop is not None:
                stop()  # stops parser workers when the run ends early

    def guard(
        self,
        todo: list[str],
        results: Iterable[tuple[str, Document | None, Result]],
        on_result: Callable[[str, Document | None, Result], None] | None = None,
    ) -> Iterator[tuple[str, Document | None, Result]]:
        """The fail-fast policy over an ordered stream of results for ``todo`` (from :meth:`stream` or an
        executor): after ``max_backend_failures`` documents in a row failed because of the backend, the stream
        is closed and the documents left are yielded as not processed (``EVX-B008``)."""
        done: Counter[str] = Counter()
        streak = 0
        self.gave_up = False
        limit = self.max_backend_failures or 0
        it = iter(results)
        try:
            for item in it:
                path, _doc, res = item
                done[path] += 1
                if self.backend is not None and is_backend_failure(res):
                    streak += 1
                elif res.ok or res.doc_id:
                    streak = 0  # the backend answered (or was not needed) for a parsed document
                if on_result is not None:
                    on_result(*item)
                yield item
                if limit and streak >= limit:
                    self.gave_up = True
                    break
        finally:
            stop = getattr(it, "close", None)
            if stop is not None:
                stop()  # stops workers (parsers, executors) when the run ends early
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
            res = Result("", path, error=err, diagnostics={"processed": False}, spec=self.spec_hash)
            if on_result is not None:
                on_result(path, None, res)
            yield path, None, res

    def _parse(self, paths: Iterable[str | os.PathLike[str]]) -> Iterator[tuple[str, Document | DocumentError]]:
        if self.cache is None:
            return parse_many(paths, limits=self.limits, isolate=self.isolate)
        from evidex.pipeline.cache import parse_cached

        return parse_cached(paths, self.cache, limits=self.limits, isolate=self.isolate)

    def _one(self, ex: Extractor, path: str, parsed: Document | DocumentError) -> tuple[str, Document | None, Result]:
        if isinstance(parsed, DocumentError):
            from evidex.pipeline.resume import file_sha256

            sha = file_sha256(path)  # the input's identity for --resume, also when it could not be parsed
            diag = {"input_sha256": sha} if sha else {}
            return path, None, self._stamp(Result(doc_id="", source=path, error=parsed.to_dict(), diagnostics=diag))
        try:
            res = ex.extract(parsed, self.schema)
        except EvidexError as e:  # never lose the batch to one document
            res = Result(parsed.id, path, error=e.to_dict())
        except Exception as e:  # a bug (in a stage or a plugin): this document fails alone, the traceback is kept
            res = Result(parsed.id, path, error=internal_error(e, path).to_dict(),
                         diagnostics={"traceback": traceback.format_exc()[-20000:]})
        return path, parsed, self._stamp(res)

    def extract_document(self, doc: Document) -> Result:
        """Extract one parsed document (never raises for the document; see :meth:`Extractor.extract`)."""
        return self._stamp(self._extractor.extract(doc, self.schema))

    def close(self) -> None:
        if self.backend is not None and self._owns_backend:
            self.backend.close()

    def _stamp(self, res: Result) -> Result:
        return dataclasses.replace(res, spec=self.spec_hash)


def _backend_options(backend: Backend) -> dict[str, Any]:
    """The options a live backend was made with, when it keeps them as a pydantic model (``.o`` or ``.options``)."""
    for attr in ("o", "options"):
        o = getattr(backend, attr, None)
        if isinstance(o, BaseModel):
            return o.model_dump(mode="json")
    return {}
