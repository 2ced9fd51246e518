"""The one run loop: a pipeline over a batch of files, each result streamed to writers and callbacks.

Used by ``evidex extract``, ``evidex bench`` and the Python API alike, so they cannot drift apart. Where the
documents are processed is an :class:`Executor`'s business (``evidex.executors``: in this process, a process
pool, Ray); the loop, the fail-fast policy, the writers and the counts are the same for all of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, ClassVar, NamedTuple, Protocol, runtime_checkable

from evidex.model import Document, Result
from evidex.output.writers import Writer
from evidex.pipeline.cache import CacheStats
from evidex.pipeline.core import Pipeline, RunStats

OnResult = Callable[[str, Document | None, Result], None]


class Done(NamedTuple):
    """One processed input, as an executor streams it: what :meth:`Pipeline.stream` yields plus the cache hits
    its processing made (None without a cache)."""

    path: str
    doc: Document | None
    result: Result
    cache: CacheStats | None = None
    line: str | None = None  # the JSONL record, rendered where the document was (when documents stay there)


@runtime_checkable
class Executor(Protocol):
    """Maps the per-document function (:meth:`Pipeline.stream`, rebuilt from the pipeline's spec wherever the
    work runs) over a batch; yields exactly one :class:`Done` per path, **in input order**. Closing the iterator
    early stops the work in flight. With ``documents=False`` parsed documents are not sent back: each
    :class:`Done` carries its JSONL record (``line``) instead (much less to transfer and unpickle)."""

    name: ClassVar[str]

    def map(self, pipe: Pipeline, paths: Sequence[str], *, documents: bool = True) -> Iterator[Done]: ...

    def close(self) -> None: ...


def local_map(pipe: Pipeline, paths: Sequence[str]) -> Iterator[Done]:
    """The per-document function in this process (the ``local`` executor, and each worker's share)."""
    cache = pipe.cache
    before = cache.stats.copy() if cache is not None else None
    for path, doc, res in pipe.stream(paths):
        delta = None
        if cache is not None and before is not None:
            now = cache.stats.copy()
            delta, before = now - before, now
        yield Done(path, doc, res, delta)


def run_batch(
    pipe: Pipeline,
    paths: Iterable[str | os.PathLike[str]],
    *,
    writers: Sequence[Writer] = (),
    on_result: OnResult | None = None,
    stats: RunStats | None = None,
    executor: Executor | None = None,
    documents: bool = True,
) -> RunStats:
    """Run ``pipe`` over ``paths``: every result goes to each writer (in input order) and to ``on_result``.

    ``executor`` decides where documents are processed (default: in this process); the records are the same
    whichever runs them. The writers are closed at the end — also when the run is interrupted (Ctrl-C) or a
    writer fails — so a JSONL file keeps every finished document and the table/report writers write what they
    received. Pass ``stats`` to see the counts so far when the run is interrupted. ``documents=False`` (the
    writers only need JSONL records, ``on_result`` does not read the Document) lets an executor keep parsed
    documents in its workers: ``on_result`` then gets ``None`` for them.
    """
    stats = stats if stats is not None else RunStats()
    todo = [str(p) for p in paths]
    done = executor.map(pipe, todo, documents=documents) if executor is not None else local_map(pipe, todo)
    last: list[Any] = [None, None]  # the item _counted yielded last and its rendered record
    try:
        for item in pipe.guard(todo, _counted(done, stats, last)):
            path, doc, res = item
            stats.add(res)
            line = last[1] if item is last[0] else None
            for w in writers:
                if line is not None and hasattr(w, "write_line"):
                    w.write_line(line)
                else:
                    w.write(doc, res)
            if on_result is not None:
                on_result(path, doc, res)
    finally:
        errors: list[BaseException] = []
        for w in writers:
            try:
                w.close()
            except Exception as e:  # close the others anyway; report the first failure
                errors.append(e)
        if errors:
            raise errors[0]
    stats.gave_up = pipe.gave_up
    return stats


def _counted(done: Iterator[Done], stats: RunStats, last: list[Any]) -> Iterator[tuple[str, Document | None, Result]]:
    try:
        for d in done:
            if d.cache is not None:
                stats.cache = stats.cache + d.cache
            item = (d.path, d.doc, d.result)
            last[0], last[1] = item, d.line
            yield item
    finally:
        close = getattr(done, "close", None)
        if close is not None:
            close()


__all__ = ["Done", "Executor", "OnResult", "local_map", "run_batch"]
