"""The ``process`` executor: a pool of worker processes on this machine, each with its own pipeline (and model)
rebuilt from the spec once; chunks of documents stream back in input order through a bounded window.

Workers start from a ``forkserver`` (never by forking a parent that holds model handles or threads). A worker
that dies (a native crash, the OOM killer) breaks the pool: it is restarted and the chunks that were in flight
are re-run *one at a time* so the one that kills a worker is found; after ``max_retries`` deaths a chunk is
split into single documents, and a document that kills its worker every time gets a ``WorkerCrashedError``
record. Each input yields exactly one record however often it was retried (results are taken by position).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, ClassVar

from pydantic import Field

from evidex.executors.worker import Job, chunks, crashed, init_worker, loads, run_chunk
from evidex.pipeline import Pipeline
from evidex.pipeline.run import Done
from evidex.registry import Options


class ProcessOptions(Options):
    workers: int = Field(default=0, ge=0)  # 0: one per CPU
    chunk_size: int = Field(default=0, ge=0)  # documents per task; 0: about 8 tasks per worker, at most 32 each
    window: int = Field(default=0, ge=0)  # tasks in flight; 0: 2 per worker (bounds memory)
    max_retries: int = Field(default=2, ge=0)  # re-runs of a chunk whose worker died
    max_tasks_per_child: int | None = Field(default=None, ge=1)  # recycle workers (leaky native libraries)


class ProcessExecutor:
    name: ClassVar[str] = "process"
    Options: ClassVar[type[ProcessOptions]] = ProcessOptions

    def __init__(self, options: ProcessOptions | None = None) -> None:
        self.o = options or ProcessOptions()
        self.workers = self.o.workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None
        self._job: Job | None = None
        self.restarts = 0  # pools rebuilt after a worker died

    # ------------------------------------------------------------------ pool
    def _get_pool(self, job: Job) -> ProcessPoolExecutor:
        if self._pool is None or self._job != job:
            self._shutdown()
            ctx = multiprocessing.get_context("forkserver" if "forkserver" in multiprocessing.get_all_start_methods()
                                              else "spawn")
            kw: dict[str, Any] = {}
            if self.o.max_tasks_per_child:
                kw["max_tasks_per_child"] = self.o.max_tasks_per_child
            self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=init_worker, initargs=(job,),
                                             **kw)
            self._job = job
        return self._pool

    def _restart(self, job: Job) -> ProcessPoolExecutor:
        self.restarts += 1
        self._shutdown()
        return self._get_pool(job)

    def _shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        self._shutdown()

    def __enter__(self) -> ProcessExecutor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ map
    def map(self, pipe: Pipeline, paths: Sequence[str], *, documents: bool = True) -> Iterator[Done]:
        job = Job.of(pipe, documents)
        todo = chunks(paths, self.workers, self.o.chunk_size)
        window = self.o.window or 2 * self.workers
        inflight: deque[tuple[list[str], Future[bytes]]] = deque()
        try:
            while True:
                broken: list[str] | None = None
                while len(inflight) < window:
                    chunk = next(todo, None)
                    if chunk is None:
                        break
                    try:
                        inflight.append((chunk, self._get_pool(job).submit(run_chunk, job, chunk)))
                    except BrokenProcessPool:  # the pool broke before this chunk could even be submitted
                        broken = chunk
                        break
                if not inflight and broken is None:
                    return
                blob = None
                if broken is None:
                    try:
                        blob = inflight[0][1].result()
                    except BrokenProcessPool:
                        broken = []
                if broken is not None:  # a worker died: find the chunk that killed it, one at a time
                    suspects = [c for c, _ in inflight] + ([broken] if broken else [])
                    inflight.clear()
                    self._restart(job)
                    for c in suspects:
                        yield from self._alone(job, pipe.spec_hash, c, 0)
                    continue
                inflight.popleft()
                assert blob is not None
                yield from loads(blob)
        finally:
            for _, f in inflight:
                f.cancel()

    def _alone(self, job: Job, spec_hash: str, chunk: list[str], attempts: int) -> Iterator[Done]:
        """Run ``chunk`` with nothing else in flight (so a death is its own), retrying, then splitting it."""
        while True:
            try:
                blob = self._get_pool(job).submit(run_chunk, job, chunk).result()
            except BrokenProcessPool:
                self._restart(job)
                attempts += 1
                if attempts <= self.o.max_retries:
                    continue
                if len(chunk) == 1:
                    yield crashed(spec_hash, chunk[0], attempts)
                    return
                for p in chunk:
                    yield from self._alone(job, spec_hash, [p], 0)
                return
            yield from loads(blob)
            return


__all__ = ["ProcessExecutor", "ProcessOptions"]
