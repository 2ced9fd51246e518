"""A backend that replays queued outputs — for unit tests of engine logic only, never as proof of quality."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import ClassVar

from evidex.backends.base import Backend, Capabilities, Options, Request, Response, approx_tokens
from evidex.errors import BackendUnavailableError


class FakeOptions(Options):
    outputs: tuple[str, ...] = ()
    json_schema: bool = True
    grammar: bool = True
    max_context: int = 8192
    small_model: bool = True  # behaves like the embedded model for mode "auto" (the choice plan)
    scoring: bool = False


class FakeBackend:
    name: ClassVar[str] = "fake"
    Options: ClassVar[type[FakeOptions]] = FakeOptions

    def __init__(self, options: FakeOptions | None = None) -> None:
        opts = options or FakeOptions()
        self.capabilities = Capabilities(json_schema=opts.json_schema, grammar=opts.grammar, max_context=opts.max_context,
                                         small_model=opts.small_model, scoring=opts.scoring)
        self.queue: deque[str | Exception | Callable[[Request], str]] = deque(opts.outputs)
        self.requests: list[Request] = []

    def push(self, *outputs: str | Exception | Callable[[Request], str]) -> FakeBackend:
        self.queue.extend(outputs)
        return self

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        out = []
        for r in requests:
            self.requests.append(r)
            if not self.queue:
                raise BackendUnavailableError("fake backend has no queued output left", hint="push() more outputs")
            item = self.queue.popleft()
            if isinstance(item, Exception):
                raise item
            text = item(r) if callable(item) else item
            prompt = "".join(m.content for m in r.messages)
            out.append(Response(text=text, tokens_in=approx_tokens(prompt), tokens_out=approx_tokens(text), model="fake"))
        return out

    def count_tokens(self, text: str) -> int:
        return approx_tokens(text)

    def close(self) -> None:
        pass


_: type[Backend] = FakeBackend
