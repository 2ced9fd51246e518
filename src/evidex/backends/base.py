"""The backend protocol: one batch method plus declared capabilities and typed options.

A backend never sees documents, schemas or spans — only chat requests — so pipeline logic stays in
:mod:`evidex.extract`. Backends are chosen by registered name (entry points ``evidex.backends``), never by
sniffing model names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from evidex import registry


@dataclass(frozen=True)
class Capabilities:
    json_schema: bool = False  # output constrained to a JSON Schema
    grammar: bool = False  # output constrained by a GBNF grammar
    logprobs: bool = False
    max_context: int = 4096  # tokens
    max_output: int = 1024
    scoring: bool = False  # can score given continuations (Request.continuations)
    # a small model (well under ~4B parameters): better at choosing among grounded candidates than at writing
    # values, so mode "auto" picks the choice plan for it and the generate plan otherwise
    small_model: bool = False


@dataclass(frozen=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(frozen=True)
class Request:
    messages: tuple[Message, ...]
    json_schema: Mapping[str, Any] | None = None
    grammar: str | None = None  # GBNF; used only when the backend declares ``grammar``
    max_tokens: int = 512
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    seed: int | None = 0
    logprobs: int | None = None  # ask for the top-N alternatives of each generated token
    # scoring instead of generation: the log-probability of each continuation after the prompt
    # (backends with ``Capabilities.scoring``); results in ``Response.scores`` as (sum logprob, n tokens)
    continuations: tuple[str, ...] = ()
    raw_prompt: bool = False  # send messages[-1].content as a plain completion prompt (no chat template)
    tag: str = ""  # free text for logs/diagnostics (e.g. "doc1/chunk3")
    # upper bound on this request's wall time (seconds), e.g. what is left of a per-document deadline;
    # backends apply min(own timeout, timeout_s) and raise BackendTimeoutError when it runs out
    timeout_s: float | None = None


@dataclass(frozen=True)
class Response:
    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    seconds: float = 0.0
    finish_reason: str = "stop"  # "stop" | "length"
    model: str = ""
    # per generated token: {token_text: logprob} for the top alternatives (when requested and supported)
    top_logprobs: tuple[Mapping[str, float], ...] = ()
    scores: tuple[tuple[float, int], ...] = ()  # per continuation: (sum of token logprobs, token count)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


class Options(registry.Options):
    """Base for typed backend options: unknown keys are errors at load time."""


@runtime_checkable
class Backend(Protocol):
    name: ClassVar[str]
    capabilities: Capabilities

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        """Run a batch of requests. Raise :class:`evidex.errors.BackendError` subclasses on failure."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def close(self) -> None: ...


def load_backend(name: str, options: Mapping[str, Any] | None = None) -> Backend:
    """Instantiate a registered backend with validated options."""
    backend: Backend = registry.backends.create(name, options)
    return backend


def approx_tokens(text: str) -> int:
    """Cheap token estimate (~4 chars per token for English) for backends without a tokenizer."""
    return max(1, (len(text) + 3) // 4)
