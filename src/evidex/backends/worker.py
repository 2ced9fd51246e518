"""Run an in-process (native) backend in a watched worker process, so a model crash costs one request.

``WorkerBackend`` builds the real backend inside a child process (the model is loaded once per worker) and
forwards ``generate`` / ``count_tokens`` over a pipe. The parent watches every call:

* the worker dies (segfault, ``abort``, the kernel's OOM killer, ``os._exit``) → :class:`BackendCrashedError`
  for that call; the next call starts a fresh worker;
* the call takes longer than ``min(timeout_s, request.timeout_s)`` → the worker is killed,
  :class:`BackendTimeoutError`, and likewise replaced;
* ``max_retries`` re-runs a call that crashed or timed out on a fresh worker (0 by default: a request that
  crashes the model usually crashes it again, and a batch should rather move on).

Errors the backend raises on purpose (``EvidexError``) cross the pipe unchanged. Workers start from a
``forkserver`` (``spawn`` where unavailable), never by forking the caller.

Testing hook: ``fault=(marker, kind)`` makes the worker inject a real fault (``segfault``, ``abort``,
``kill``, ``hang``, ``oom``, …; see :data:`evidex._proc.FAULTS`) whenever a request's messages contain
``marker``. It exists only for tests and is never set by evidex itself.
"""

from __future__ import annotations

import contextlib
import importlib
import signal
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from evidex._proc import describe_exit, inject_fault, worker_context
from evidex.backends.base import Capabilities, Request, Response
from evidex.errors import BackendCrashedError, BackendError, BackendTimeoutError, EvidexError

__all__ = ["WorkerBackend"]

_START_TIMEOUT_S = 300.0  # loading a model on a busy machine can take a while; a hang is still bounded


# ---------------------------------------------------------------------------------------------- worker side
def _worker_main(conn: Connection, target: str, options: Any, fault: tuple[str, str] | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    try:
        module, _, cls_name = target.partition(":")
        cls = getattr(importlib.import_module(module), cls_name)
        backend = cls(options)
        conn.send(("ready", backend.capabilities, getattr(backend, "model_name", ""),
                   float(getattr(backend, "load_seconds", 0.0))))
    except EvidexError as e:
        conn.send(("error", e))
        return
    except Exception as e:
        conn.send(("error", BackendError(f"cannot start the model worker: {type(e).__name__}: {e}"[:500])))
        return
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            break
        if msg is None:
            break
        op, arg = msg
        try:
            if op == "generate":
                if fault is not None and any(fault[0] in m.content for r in arg for m in r.messages):
                    inject_fault(fault[1])
                reply: Any = ("ok", backend.generate(arg))
            elif op == "count":
                reply = ("ok", [backend.count_tokens(t) for t in arg])
            else:
                reply = ("error", BackendError(f"unknown worker operation {op!r}"))
        except EvidexError as e:
            reply = ("error", e)
        except MemoryError:
            reply = ("error", BackendCrashedError("the model ran out of memory"))
        except Exception as e:
            reply = ("error", BackendError(f"model failed: {type(e).__name__}: {e}"[:500]))
        try:
            conn.send(reply)
        except (EOFError, OSError, BrokenPipeError):
            break
    with contextlib.suppress(Exception):
        backend.close()


# ---------------------------------------------------------------------------------------------- parent side
class WorkerBackend:
    """A backend whose model lives in a watched child process; same protocol as the wrapped backend.

    ``target`` is ``"module:Class"`` of the in-process implementation and ``options`` the (picklable) object
    its constructor takes. ``name`` is the registered name shown in results.
    """

    def __init__(self, target: str, options: Any, *, name: str, timeout_s: float = 60.0,
                 max_retries: int = 0, fault: tuple[str, str] | None = None) -> None:
        self.name = name
        self._target = target
        self._options = options
        self.timeout_s = timeout_s
        self.max_retries = max(0, max_retries)
        self._fault = fault
        self._ctx = worker_context(["evidex.backends.worker"])
        self._lock = threading.Lock()
        self._proc: BaseProcess | None = None
        self._conn: Connection | None = None
        self._counts: dict[str, int] = {}
        self.restarts = 0  # workers started after the first (crashes, timeouts)
        self.crashes = 0
        self.model_name = ""
        self.load_seconds = 0.0
        self.capabilities = Capabilities()
        self._start()  # fail at construction when the model cannot load at all

    # ------------------------------------------------------------------ protocol
    def generate(self, requests: Sequence[Request]) -> list[Response]:
        if not requests:
            return []
        limits = [r.timeout_s for r in requests if r.timeout_s is not None]
        timeout = min([self.timeout_s * len(requests), *limits])
        result: list[Response] = self._call("generate", list(requests), timeout, retries=self.max_retries)
        return result

    def count_tokens(self, text: str) -> int:
        n = self._counts.get(text)
        if n is None:
            (n,) = self._call("count", [text], self.timeout_s, retries=1)
            if len(self._counts) > 50_000:
                self._counts.clear()
            self._counts[text] = n
        return n

    def close(self) -> None:
        with self._lock:
            self._stop(graceful=True)

    @property
    def pid(self) -> int | None:
        """The worker's process id (None when no worker is running)."""
        return self._proc.pid if self._proc is not None and self._proc.is_alive() else None

    # ------------------------------------------------------------------ internals
    def _start(self) -> None:
        parent, child = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(target=_worker_main, args=(child, self._target, self._options, self._fault),
                                 daemon=True, name=f"evidex-model-{self.name}")
        proc.start()
        child.close()
        self._proc, self._conn = proc, parent
        try:
            msg = self._receive(_START_TIMEOUT_S, what="loading the model")
        except BackendError:
            self._stop(graceful=False)
            raise
        if msg[0] == "error":
            self._stop(graceful=False)
            raise msg[1]
        _, self.capabilities, self.model_name, self.load_seconds = msg

    def _stop(self, graceful: bool) -> None:
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if proc is None:
            return
        if graceful and conn is not None and proc.is_alive():
            with contextlib.suppress(OSError, EOFError, BrokenPipeError):
                conn.send(None)
            proc.join(5.0)
        if proc.is_alive():
            proc.kill()
            proc.join(5.0)
        if conn is not None:
            conn.close()

    def _receive(self, timeout: float, *, what: str) -> Any:
        proc, conn = self._proc, self._conn
        assert proc is not None and conn is not None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self._stop(graceful=False)
                raise BackendTimeoutError(
                    f"the model did not finish {what} within {timeout:.0f}s; its worker was stopped",
                    hint="raise --timeout, or lower the output/context size")
            ready = wait([conn, proc.sentinel], timeout=left)
            if conn in ready:
                try:
                    return conn.recv()
                except (EOFError, OSError):
                    pass  # the worker died while answering: fall through to the crash report
            elif not ready:
                continue
            proc.join(1.0)
            how = describe_exit(proc.exitcode)
            self._stop(graceful=False)
            self.crashes += 1
            raise BackendCrashedError(f"the model worker died while {what} ({how})")

    def _call(self, op: str, arg: Any, timeout: float, *, retries: int) -> Any:
        with self._lock:
            attempt = 0
            while True:
                try:
                    if self._proc is None or not self._proc.is_alive():
                        self._stop(graceful=False)
                        self.restarts += 1
                        self._start()
                    assert self._conn is not None
                    with contextlib.suppress(OSError, EOFError, BrokenPipeError):  # dead: _receive says how
                        self._conn.send((op, arg))
                    what = "answering a request" if op == "generate" else "counting tokens"
                    msg = self._receive(timeout, what=what)
                except (BackendCrashedError, BackendTimeoutError):
                    attempt += 1
                    if attempt > retries:
                        raise
                    continue
                if msg[0] == "error":
                    raise msg[1]
                return msg[1]

    def __del__(self) -> None:  # pragma: no cover - best effort at interpreter exit
        with contextlib.suppress(Exception):
            self._stop(graceful=False)
