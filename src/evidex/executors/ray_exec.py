"""The ``ray`` executor: chunks of documents as Ray tasks, on a local Ray (started here when none is running) or
an existing cluster (``address``, e.g. ``ray://head:10001`` or ``auto``). Needs the ``ray`` extra.

Each Ray worker process rebuilds the pipeline from the spec once and keeps it for the following tasks (the
model loads once per worker). Paths travel, not bytes: every node must see the input files (a shared file
system) and run the same evidex. Results stream back in input order through a bounded window of tasks, so
neither the inputs nor the results of a batch are materialized at once. A task whose worker dies (killed, OOM,
a lost node) is retried by Ray (``max_retries``); the results are taken from the one attempt that finished, so
a retried document is recorded once. A chunk that still fails is split into single documents; a document that
kills its worker every time gets a ``WorkerCrashedError`` record.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from pydantic import Field

from evidex.errors import MissingDependencyError
from evidex.executors.worker import Job, chunks, crashed, loads, run_chunk
from evidex.pipeline import Pipeline
from evidex.pipeline.run import Done
from evidex.registry import Options


class RayOptions(Options):
    address: str | None = None  # an existing cluster; None: the running Ray, else a local one started here
    workers: int = Field(default=0, ge=0)  # tasks running at once; 0: the cluster's CPUs / num_cpus
    num_cpus: float = Field(default=1.0, gt=0)  # CPUs reserved per task
    chunk_size: int = Field(default=0, ge=0)  # documents per task; 0: about 8 tasks per worker, at most 32 each
    window: int = Field(default=0, ge=0)  # tasks in flight; 0: 2 per worker
    max_retries: int = Field(default=3, ge=0)  # Ray's re-runs of a task whose worker died


class RayExecutor:
    name: ClassVar[str] = "ray"
    Options: ClassVar[type[RayOptions]] = RayOptions

    def __init__(self, options: RayOptions | None = None) -> None:
        self.o = options or RayOptions()
        self._started = False  # this executor started Ray (and stops it on close)
        self._remote: Any = None

    def _ray(self) -> Any:
        try:
            import ray
        except ImportError as e:
            raise MissingDependencyError(f"the ray executor needs Ray: {e}", hint="pip install 'evidex[ray]'") from e
        if not ray.is_initialized():
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            local = self.o.address is None
            ray.init(address=self.o.address, num_cpus=(self.o.workers or None) if local else None,
                     include_dashboard=False if local else None, log_to_driver=False, ignore_reinit_error=True)
            self._started = True
        if self._remote is None:
            self._remote = ray.remote(num_cpus=self.o.num_cpus, max_retries=self.o.max_retries)(run_chunk)
        return ray

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def map(self, pipe: Pipeline, paths: Sequence[str], *, documents: bool = True) -> Iterator[Done]:
        ray = self._ray()
        from ray import exceptions as rx

        lost = (rx.WorkerCrashedError, rx.NodeDiedError, rx.OutOfMemoryError, rx.ObjectLostError)
        job_ref = ray.put(Job.of(pipe, documents))
        workers = self.o.workers or max(1, int(ray.cluster_resources().get("CPU", 1) / self.o.num_cpus))
        todo = chunks(paths, workers, self.o.chunk_size)
        window = self.o.window or 2 * workers
        inflight: deque[tuple[list[str], Any]] = deque()
        try:
            while True:
                while len(inflight) < window:
                    chunk = next(todo, None)
                    if chunk is None:
                        break
                    inflight.append((chunk, self._remote.remote(job_ref, chunk)))
                if not inflight:
                    return
                chunk, ref = inflight.popleft()
                try:
                    blob = ray.get(ref)
                except lost:  # Ray's retries are spent: split the chunk, one document per task
                    yield from self._singles(ray, lost, job_ref, pipe.spec_hash, chunk)
                    continue
                except rx.RayTaskError as e:  # an error raised by evidex in the worker: the same error here
                    raise e.as_instanceof_cause() from None
                yield from loads(blob)
        finally:
            for _, ref in inflight:
                ray.cancel(ref, force=True)

    def _singles(self, ray: Any, lost: tuple[type[BaseException], ...], job_ref: Any, spec_hash: str,
                 chunk: list[str]) -> Iterator[Done]:
        for p in chunk:
            try:
                yield from loads(ray.get(self._remote.remote(job_ref, [p])))
            except lost:
                yield crashed(spec_hash, p, self.o.max_retries + 1)


__all__ = ["RayExecutor", "RayOptions"]
