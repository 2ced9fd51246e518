"""What runs inside a worker (a pool process, a Ray worker): the pipeline rebuilt from its spec once per process,
then the per-document function over a chunk of paths; results travel back as one pickled blob."""

from __future__ import annotations

import contextlib
import copyreg
import io
import math
import pickle
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from evidex import registry
from evidex.errors import WorkerCrashedError
from evidex.model import Result
from evidex.output.jsonl import dumps_record
from evidex.pipeline import Pipeline
from evidex.pipeline.cache import Cache, CacheConfig
from evidex.pipeline.run import Done, local_map


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to rebuild the pipeline: its spec (JSON, versions included), the cache to share
    and the plugins registered at run time in the parent (``(group, name, "module:attr")``)."""

    spec_json: str
    cache: CacheConfig | None = None
    plugins: tuple[tuple[str, str, str], ...] = ()
    documents: bool = True  # send parsed documents back (else each result's rendered JSONL record)

    @staticmethod
    def of(pipe: Pipeline, documents: bool = True) -> Job:
        cache = pipe.cache.config if pipe.cache is not None else None
        return Job(pipe.spec.to_json(), cache, runtime_plugins(), documents)


def runtime_plugins() -> tuple[tuple[str, str, str], ...]:
    """Plugins registered with ``Registry.register`` in this process, as importable targets."""
    out = []
    for reg in _registries():
        for name, target in reg.overrides().items():
            if not isinstance(target, str):
                mod, qual = getattr(target, "__module__", None), getattr(target, "__qualname__", None)
                if not mod or not qual or mod == "__main__" or "<locals>" in qual:
                    continue  # not importable elsewhere: the worker will report the name as unknown
                target = f"{mod}:{qual}"
            out.append((reg.group, name, target))
    return tuple(out)


def _registries() -> list[registry.Registry[Any]]:
    return [v for v in vars(registry).values() if isinstance(v, registry.Registry)]


_PIPES: dict[Job, Pipeline] = {}


def pipeline_for(job: Job) -> Pipeline:
    """This process's pipeline for ``job``: built (model loaded) on first use, then reused."""
    pipe = _PIPES.get(job)
    if pipe is None:
        for old in list(_PIPES):  # one job at a time per worker: free the previous model
            _PIPES.pop(old).close()
        groups = {r.group: r for r in _registries()}
        for group, name, target in job.plugins:
            if group in groups and name not in groups[group].overrides():
                groups[group].register(name, target)
        cache = Cache.from_config(job.cache) if job.cache is not None else None
        pipe = _PIPES[job] = Pipeline.from_spec(job.spec_json, cache=cache)
    return pipe


def init_worker(job: Job) -> None:
    """A pool initializer: load the pipeline (and its model) before the first document arrives. A failure is
    not raised here (a pool would take it for a dead worker) but by the first chunk, so it reaches the parent
    as the error it is (a ConfigError, a missing plugin)."""
    with contextlib.suppress(Exception):
        pipeline_for(job)


def run_chunk(job: Job, paths: Sequence[str]) -> bytes:
    """The per-document function over ``paths`` in this worker; the :class:`Done` items, pickled."""
    done = local_map(pipeline_for(job), list(paths))
    if job.documents:
        return dumps(list(done))
    return dumps([Done(d.path, None, d.result, d.cache, dumps_record(d.doc, d.result)) for d in done])


def crashed(job_spec_hash: str, path: str, attempts: int) -> Done:
    """The record of a document whose worker died on every attempt."""
    err = WorkerCrashedError(f"the worker process died on this document ({attempts} attempts)", path=path)
    return Done(path, None, Result("", path, error=err.to_dict(), spec=job_spec_hash))


def chunks(paths: Sequence[str], workers: int, chunk_size: int) -> Iterator[list[str]]:
    """Paths in consecutive chunks: ``chunk_size``, or (0) about 8 chunks per worker, at most 32 paths each."""
    size = chunk_size or max(1, min(32, math.ceil(len(paths) / (max(1, workers) * 8))))
    for i in range(0, len(paths), size):
        yield list(paths[i:i + size])


class _Pickler(pickle.Pickler):
    dispatch_table = copyreg.dispatch_table.copy()
    dispatch_table[types.MappingProxyType] = lambda m: (types.MappingProxyType, (dict(m),))


def dumps(obj: Any) -> bytes:
    """Pickle with read-only mappings (results' diagnostics) allowed."""
    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


def loads(blob: bytes) -> list[Done]:
    items: list[Done] = pickle.loads(blob)
    return items
