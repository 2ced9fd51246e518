"""Parse untrusted files in watched worker processes: one document per worker at a time.

A native crash (segfault, ``abort``), an ``os._exit``, a hang or a memory blow-up in a parser costs only the
file that caused it. The parent gives each task a wall-clock deadline (``Limits.timeout_s``) and kills the
worker when it passes (:class:`ParseTimeoutError`); workers run under ``RLIMIT_AS = Limits.max_memory``
(``MemoryError`` inside the worker becomes :class:`MemoryLimitError`); a worker that dies for any reason
yields :class:`WorkerCrashedError` for its file, is replaced, and the batch continues.

Workers start from a ``forkserver`` (``spawn`` where that is unavailable), never by forking the caller, so
they inherit no threads, locks or open model handles from it.

>>> for path, result in parse_isolated(["a.pdf", "b.eml"], workers=2):  # doctest: +SKIP
...     print(path, "ok" if isinstance(result, Document) else result.reason)

Testing hook: ``_fault`` (a fault name for every file, or a mapping ``{path or file name: fault}``) makes the
worker misbehave on purpose before parsing: ``segfault``, ``abort``, ``exit``, ``vanish`` (exit 0 mid-task),
``kill`` (SIGKILL, as the kernel's OOM killer does), ``hang`` (busy loop), ``sleep``, ``oom`` (allocate until
``MemoryError``) or ``raise``. It exists only for tests and is never set by evidex itself.

A worker that ends mid-task with neither a signal nor an error status (status 0, or none known after
:data:`EXIT_WAIT_S`) has not shown the file to be at fault: the file runs once more on a fresh worker before it
is reported, whatever ``retries`` says (``retries`` counts re-runs after real crashes).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from evidex._proc import FAULTS, describe_exit, inject_fault, worker_context
from evidex.errors import (
    DocumentError,
    EvidexError,
    MalformedError,
    MemoryLimitError,
    MissingDependencyError,
    NestingLimitError,
    ParseTimeoutError,
    UnsupportedTypeError,
    WorkerCrashedError,
)
from evidex.model import Document
from evidex.structure.limits import DEFAULT_LIMITS, Limits

__all__ = ["FAULTS", "parse_bytes_isolated", "parse_isolated"]

EXIT_WAIT_S = 5.0  # how long a worker whose pipe closed gets to report its exit status
MAX_TASKS_PER_WORKER = 200  # recycle workers now and then: native leaks and fragmentation stay bounded




# ---------------------------------------------------------------------------------------------- worker side
@dataclass(frozen=True)
class _Task:
    tid: int
    name: str  # a path, or the display name of in-memory data
    data: bytes | None
    format: str | None
    limits: Limits
    fault: str | None


def _set_memory_limit(max_memory: int) -> None:
    try:
        import resource

        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = max_memory if hard == resource.RLIM_INFINITY else min(max_memory, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ImportError, ValueError, OSError):  # not on this platform, or already lower: keep what we have
        pass


def _run(task: _Task) -> Document | DocumentError:
    from evidex.errors import PluginLoadError
    from evidex.parse import parse_bytes, parse_file

    name = task.name
    try:
        if task.fault:
            inject_fault(task.fault)
        if task.data is None:
            return parse_file(name, format=task.format, limits=task.limits)
        return parse_bytes(task.data, name, format=task.format, limits=task.limits)
    except DocumentError as e:
        return e
    except PluginLoadError as e:
        return MissingDependencyError(e.message, hint=e.hint, path=name)
    except EvidexError as e:  # an unknown --format and the like: still one typed error for this file
        return UnsupportedTypeError(e.message, hint=e.hint, path=name)
    except MemoryError:
        return MemoryLimitError(f"parser exceeded the memory limit of {task.limits.max_memory:,} bytes", path=name)
    except RecursionError:
        return NestingLimitError("structure nested too deeply to parse", path=name)
    except Exception as e:
        return MalformedError(f"parser failed: {type(e).__name__}: {e}"[:500], path=name)


def _worker_main(conn: Connection, max_memory: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    _set_memory_limit(max_memory)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        result = _run(task)
        try:
            conn.send((task.tid, result))
        except (EOFError, OSError, BrokenPipeError):
            return
        except Exception as e:  # pickling failed (before anything was written): report it instead
            err = MalformedError(f"result could not be returned: {type(e).__name__}", path=task.name)
            try:
                conn.send((task.tid, err))
            except Exception:
                return


# ---------------------------------------------------------------------------------------------- parent side
def _context() -> Any:
    return worker_context(["evidex.parse.sandbox"])


_describe_exit = describe_exit


class _Worker:
    def __init__(self, ctx: Any, max_memory: int) -> None:
        parent, child = ctx.Pipe(duplex=True)
        self.conn: Connection = parent
        self.proc: BaseProcess = ctx.Process(target=_worker_main, args=(child, max_memory), daemon=True)
        self.proc.start()
        child.close()
        self.task: _Task | None = None
        self.deadline = 0.0
        self.done = 0

    def submit(self, task: _Task) -> bool:
        try:
            self.conn.send(task)
        except (OSError, EOFError, BrokenPipeError):
            return False
        self.task = task
        self.deadline = time.monotonic() + task.limits.timeout_s
        return True

    def stop(self, graceful: bool = True) -> None:
        if graceful and self.proc.is_alive() and self.task is None:
            with contextlib.suppress(OSError, EOFError, BrokenPipeError):
                self.conn.send(None)
            self.proc.join(0.5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)
        self.conn.close()


def _fault_for(name: str, fault: str | Mapping[str, str] | None) -> str | None:
    if fault is None or isinstance(fault, str):
        return fault
    return fault.get(name) or fault.get(os.path.basename(name))


def _run_tasks(
    tasks: Iterable[_Task], *, limits: Limits, workers: int, retries: int
) -> Iterator[tuple[str, Document | DocumentError]]:
    ctx = _context()
    source = iter(tasks)
    queue: deque[_Task] = deque()
    attempts: dict[int, int] = {}
    unclear: set[int] = set()  # tasks already re-run once after a worker ended without a crash status
    pool: list[_Worker] = []
    exhausted = False

    def next_task() -> _Task | None:
        nonlocal exhausted
        if queue:
            return queue.popleft()
        if exhausted:
            return None
        t = next(source, None)
        if t is None:
            exhausted = True
        return t

    failed_starts = 0

    def replace(w: _Worker) -> None:
        w.task = None
        w.stop(graceful=False)
        pool.remove(w)

    def lost(w: _Worker, t: _Task) -> None:  # the task never reached the worker: requeue it, not a crash
        nonlocal failed_starts
        failed_starts += 1
        if failed_starts > 10:
            raise RuntimeError("parser workers die before accepting work; is the installation broken?")
        queue.appendleft(t)
        replace(w)

    try:
        while True:
            # hand out work: idle workers first, then new workers up to the pool size
            for w in [w for w in pool if w.task is None]:
                t = next_task()
                if t is None:
                    break
                if not w.submit(t):
                    lost(w, t)
            while len(pool) < workers:
                t = next_task()
                if t is None:
                    break
                w = _Worker(ctx, limits.max_memory)
                pool.append(w)
                if not w.submit(t):
                    lost(w, t)
            busy = [w for w in pool if w.task is not None]
            if not busy:
                if exhausted and not queue:
                    return
                continue
            timeout = max(0.0, min(w.deadline for w in busy) - time.monotonic())
            wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout=timeout)
            now = time.monotonic()
            for w in busy:
                task = w.task
                assert task is not None
                result: Document | DocumentError | None = None
                if w.conn.poll():
                    try:
                        _tid, result = w.conn.recv()
                    except (EOFError, OSError):
                        result = None  # the worker died: handled below
                    except Exception as e:  # an unpicklable result on our side
                        result = MalformedError(f"result could not be received: {type(e).__name__}", path=task.name)
                    if result is not None:
                        w.task = None
                        w.done += 1
                        if isinstance(result, MemoryLimitError) or w.done >= MAX_TASKS_PER_WORKER:
                            replace(w)
                        yield task.name, result
                        continue
                if not w.proc.is_alive() or (result is None and w.conn.poll()):
                    w.proc.join(EXIT_WAIT_S)  # its pipe is closed: it is exiting (slowly on a loaded machine)
                    code = w.proc.exitcode
                    how = _describe_exit(code)
                    replace(w)
                    if code in (None, 0) and task.tid not in unclear:  # no signal, no error status: the worker
                        unclear.add(task.tid)  # went away without the file's fault being shown: once more
                        queue.append(task)
                        continue
                    attempts[task.tid] = attempts.get(task.tid, 0) + 1
                    if attempts[task.tid] <= retries:
                        queue.append(task)
                        continue
                    runs = attempts[task.tid] + (task.tid in unclear)
                    tries = f" ({runs} attempts)" if runs > 1 else ""
                    yield task.name, WorkerCrashedError(f"parser worker {how}{tries}", path=task.name)
                elif now >= w.deadline:
                    replace(w)
                    yield task.name, ParseTimeoutError(
                        f"parsing took longer than {task.limits.timeout_s:g} s; the worker was stopped", path=task.name
                    )
    finally:
        for w in pool:
            w.stop(graceful=w.task is None)


def parse_isolated(
    paths: Iterable[str | os.PathLike[str]],
    *,
    format: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    workers: int = 1,
    retries: int = 0,
    _fault: str | Mapping[str, str] | None = None,
) -> Iterator[tuple[str, Document | DocumentError]]:
    """Parse each file in a worker process; yield ``(path, Document | DocumentError)`` as each finishes.

    Exactly one result per path, in completion order (input order with ``workers=1``). ``retries`` re-runs a
    file whose worker *crashed* (not one that timed out or hit the memory limit) on a fresh worker; a worker that
    vanished without a crash status always gets one re-run (see the module).
    """
    if workers < 1:
        raise ValueError("workers must be >= 1")
    tasks = (
        _Task(i, str(p), None, format, limits, _fault_for(str(p), _fault)) for i, p in enumerate(paths)
    )
    yield from _run_tasks(tasks, limits=limits, workers=workers, retries=retries)


def parse_bytes_isolated(
    data: bytes,
    name: str,
    *,
    format: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    _fault: str | None = None,
) -> Document:
    """Parse in-memory bytes (an upload, an attachment) in a fresh worker. Raises :class:`DocumentError`."""
    task = _Task(0, name, data, format, limits, _fault)
    for _name, result in _run_tasks([task], limits=limits, workers=1, retries=0):
        if isinstance(result, DocumentError):
            raise result
        return result
    raise WorkerCrashedError("no result from the parser worker", path=name)  # pragma: no cover
