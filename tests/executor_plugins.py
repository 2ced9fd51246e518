"""Plugins for the executor and cache tests, importable by worker processes (pool workers and Ray workers get
the tests directory on their path): a backend that logs every call to a file (calls made in any process are
counted) and can kill the process it runs in, as the OOM killer would."""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from evidex.backends.base import Capabilities, Options, Request, Response, approx_tokens


class CountingOptions(Options):
    log: str  # one line appended per request (from whichever process answers it)
    kill_once: str = ""  # a marker file: the first call creates it and SIGKILLs its own process
    kill_on: str = ""  # SIGKILL the process on every request whose prompt contains this text
    down: bool = False  # every request fails as if the server were unreachable


class CountingBackend:
    name: ClassVar[str] = "counting-plugin"
    Options: ClassVar[type[CountingOptions]] = CountingOptions

    def __init__(self, options: CountingOptions) -> None:
        self.o = options
        self.capabilities = Capabilities(json_schema=True, small_model=False)

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        out = []
        if self.o.down:
            from evidex.errors import BackendUnavailableError

            raise BackendUnavailableError("counting-plugin is down (on purpose)")
        for r in requests:
            prompt = "".join(m.content for m in r.messages)
            if self.o.kill_on and self.o.kill_on in prompt:
                os.kill(os.getpid(), signal.SIGKILL)
            if self.o.kill_once and not os.path.exists(self.o.kill_once):
                Path(self.o.kill_once).write_text(str(os.getpid()), encoding="utf-8")
                os.kill(os.getpid(), signal.SIGKILL)
            with open(self.o.log, "a", encoding="utf-8") as f:
                f.write(f"{os.getpid()}\n")
            m = re.search(r"INV-\d+", prompt)
            t = re.search(r"Total: ([\d.]+ EUR)", prompt)
            text = json.dumps({"invoice_number": m.group(0) if m else None, "total": t.group(1) if t else None})
            out.append(Response(text, tokens_in=approx_tokens(prompt), tokens_out=approx_tokens(text), seconds=0.01,
                                model="counting"))
        return out

    def count_tokens(self, text: str) -> int:
        return approx_tokens(text)

    def close(self) -> None:
        pass


def calls(log: Path) -> int:
    return len(log.read_text(encoding="utf-8").splitlines()) if log.exists() else 0
