"""Small helpers shared by the watched worker processes (parse sandbox, model worker). No evidex imports."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from typing import Any

FAULTS = ("segfault", "abort", "exit", "vanish", "kill", "hang", "sleep", "oom", "raise")


def worker_context(preload: list[str]) -> Any:
    """A ``forkserver`` context (``spawn`` where unavailable): workers never inherit the caller's threads,
    locks or open model handles, as a plain fork would."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(preload)
        return ctx
    return multiprocessing.get_context("spawn")


def describe_exit(code: int | None) -> str:
    """How a child process ended, in words: ``killed by SIGSEGV``, ``exited with status 3``."""
    if code is None:
        return "no exit status"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        extra = " (possibly the kernel's out-of-memory killer)" if -code == signal.SIGKILL else ""
        return f"killed by {name}{extra}"
    return f"exited with status {code}"


def inject_fault(fault: str) -> None:
    """Make the current process misbehave on purpose (tests only): a real signal, not a simulated one."""
    if fault == "segfault":
        import ctypes

        ctypes.string_at(0)
    elif fault == "abort":
        os.abort()
    elif fault == "exit":
        os._exit(3)
    elif fault == "vanish":  # gone with a clean status, mid-task: not a crash the file is known to cause
        os._exit(0)
    elif fault == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif fault == "hang":
        while True:  # not interruptible by anything but the watchdog
            pass
    elif fault == "sleep":
        time.sleep(3600)
    elif fault == "oom":  # buffers doubling in size, as a runaway parser's do: few pages touched before the limit
        hog: list[bytearray] = []
        size = 64 * 1024 * 1024
        while True:
            hog.append(bytearray(size))
            size *= 2
    elif fault == "raise":
        raise RuntimeError("injected failure")
    else:
        raise ValueError(f"unknown fault {fault!r}; expected one of {FAULTS}")
