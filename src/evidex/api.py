"""The small public API: ``evidex.parse`` and ``evidex.extract`` (re-exported by :mod:`evidex`).

>>> import evidex
>>> doc = evidex.parse(b"Invoice INV-0042\\nTotal: EUR 1,250.00\\n", name="note.txt")
>>> doc.text.splitlines()[1]
'Total: EUR 1,250.00'
>>> schema = evidex.Schema.from_dict({"fields": {"total": "money"}})
>>> (res,) = evidex.extract([doc], schema, backend=None)
>>> res.values()["total"], doc.text[res.extractions[0].evidence[0].start:res.extractions[0].evidence[0].end]
({'amount': Decimal('1250.00'), 'currency': 'EUR'}, 'EUR 1,250.00')
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from evidex.errors import ConfigError
from evidex.extract import ExtractOptions
from evidex.model import Document, Result, Schema
from evidex.parse import parse_source as parse
from evidex.pipeline import Pipeline, PipelineSpec
from evidex.pipeline.core import as_schema

PathLike = str | os.PathLike[str]


def extract(
    inputs: PathLike | Document | Iterable[PathLike | Document],
    schema: Schema | PathLike | Mapping[str, Any] | None = None,
    *,
    backend: str | None = "llamacpp",
    backend_options: Mapping[str, Any] | None = None,
    options: ExtractOptions | Mapping[str, Any] | None = None,
    spec: PipelineSpec | None = None,
    pipeline: Pipeline | None = None,
) -> list[Result]:
    """Extract ``schema`` from files or parsed Documents; one :class:`~evidex.model.Result` per input, in order.

    A file that fails to parse, or a document the backend fails on, gets a Result with a coded ``error``; the
    others are processed. Give ``pipeline`` (an open :class:`~evidex.pipeline.Pipeline`, e.g. ``with
    evidex.Pipeline.create(schema) as p``) to reuse a loaded model across calls; otherwise a pipeline is built
    from ``spec`` or from ``schema``/``backend``/``options`` and closed before returning. ``backend=None`` runs
    without a model (mode ``rules``).
    """
    items: list[PathLike | Document] = [inputs] if isinstance(inputs, str | os.PathLike | Document) else list(inputs)
    if pipeline is not None:
        return _run(pipeline, items)
    if spec is None:
        if schema is None:
            raise ConfigError("extract() needs a schema (or a spec or a pipeline)")
        opts = options if isinstance(options, ExtractOptions) else ExtractOptions(**dict(options or {}))
        spec = PipelineSpec.create(as_schema(schema), backend, backend_options, opts)
    with Pipeline.from_spec(spec) as pipe:
        return _run(pipe, items)


def _run(pipe: Pipeline, items: list[PathLike | Document]) -> list[Result]:
    out: list[Result | None] = [None] * len(items)
    files = [(i, str(x)) for i, x in enumerate(items) if not isinstance(x, Document)]
    for i, x in enumerate(items):
        if isinstance(x, Document):
            out[i] = pipe.extract_document(x)
    by_path = iter(files)
    for _, _, res in pipe.run([Path(p) for _, p in files]):
        i, _ = next(by_path)
        out[i] = res
    return [r for r in out if r is not None]


__all__ = ["extract", "parse"]
