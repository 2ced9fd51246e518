"""Any OpenAI-compatible chat server: vLLM, llama.cpp server, Ollama, OpenAI.

Retries with capped exponential backoff (honouring ``Retry-After``) on 429, 5xx and refused or reset
connections; a read timeout is not retried (a hung server would hang again). Every attempt, wait and retry
stays within ``Request.timeout_s`` when it is set (what is left of a per-document deadline). Everything else
becomes a typed :class:`~evidex.errors.BackendError`. The API key is read from an
environment variable, never from the command line.
"""

from __future__ import annotations

import datetime
import email.utils
import json
import os
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from evidex.backends.base import Backend, Capabilities, Options, Request, Response, approx_tokens
from evidex.errors import (
    BackendResponseError,
    BackendTimeoutError,
    BackendUnavailableError,
    ConfigError,
    MissingDependencyError,
)


class OpenAIOptions(Options):
    base_url: str = os.environ.get("EVIDEX_OPENAI_BASE_URL", "http://127.0.0.1:8080/v1")
    model: str = "local"
    api_key_env: str = "OPENAI_API_KEY"
    # one HTTP attempt's wall time; a hung server costs about this much (a read timeout is not retried:
    # a server that did not answer in time would just hang again)
    timeout_s: float = 60.0
    max_retries: int = 2  # re-tries after 429, 5xx, refused or reset connections
    backoff_s: float = 0.5  # first back-off; doubles per attempt, with jitter
    max_backoff_s: float = 20.0  # longest single wait; a longer Retry-After gives up instead of waiting
    # auto: try OpenAI's json_schema, fall back to json_object+schema (llama.cpp, vLLM), then to none
    response_format: Literal["auto", "json_schema", "json_object", "none"] = "auto"
    grammar: bool = False  # the server accepts a GBNF "grammar" field (llama.cpp)
    logprobs: bool = False  # the server returns top_logprobs
    max_context: int = 8192
    max_output: int = 1024
    small_model: bool = False  # the served model is small (mode "auto" then picks the choice plan)


class OpenAIBackend:
    name: ClassVar[str] = "openai"
    Options: ClassVar[type[OpenAIOptions]] = OpenAIOptions
    # the command line's generic flags → this backend's options
    cli_flags: ClassVar[dict[str, str]] = {"model": "model", "base_url": "base_url", "api_key_env": "api_key_env",
                                           "timeout": "timeout_s", "retries": "max_retries", "logprobs": "logprobs",
                                           "ctx": "max_context"}

    def __init__(self, options: OpenAIOptions | None = None) -> None:
        try:
            import httpx
        except ImportError as e:  # pragma: no cover - depends on the install
            raise MissingDependencyError("httpx is required", hint="pip install 'evidex[openai]'") from e
        self.o = options or OpenAIOptions()
        if self.o.timeout_s <= 0 or self.o.max_retries < 0 or self.o.backoff_s < 0 or self.o.max_backoff_s < 0:
            raise ConfigError("openai backend: timeout_s must be > 0; max_retries, backoff_s and max_backoff_s >= 0")
        self._format = "json_schema" if self.o.response_format == "auto" else self.o.response_format
        self.capabilities = Capabilities(
            json_schema=self.o.response_format != "none",
            grammar=self.o.grammar,
            logprobs=self.o.logprobs,
            max_context=self.o.max_context,
            max_output=self.o.max_output,
            small_model=self.o.small_model,
        )
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.o.api_key_env, "")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(base_url=self.o.base_url.rstrip("/"), headers=headers,
                                    timeout=_timeout(self.o.timeout_s))

    # ------------------------------------------------------------------ protocol
    def generate(self, requests: Sequence[Request]) -> list[Response]:
        return [self._one(r) for r in requests]

    def count_tokens(self, text: str) -> int:
        return approx_tokens(text)

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------------ internals
    def _body(self, r: Request) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.o.model,
            "messages": [{"role": m.role, "content": m.content} for m in r.messages],
            "temperature": r.temperature,
            "max_tokens": min(r.max_tokens, self.o.max_output),
        }
        if r.seed is not None:
            body["seed"] = r.seed
        if r.stop:
            body["stop"] = list(r.stop)
        if r.grammar and self.o.grammar:
            body["grammar"] = r.grammar
        elif r.json_schema is not None and self._format == "json_schema":
            body["response_format"] = {"type": "json_schema",
                                       "json_schema": {"name": "extraction", "schema": r.json_schema, "strict": True}}
        elif r.json_schema is not None and self._format == "json_object":
            body["response_format"] = {"type": "json_object", "schema": r.json_schema}
        if r.logprobs and self.o.logprobs:
            body["logprobs"] = True
            body["top_logprobs"] = r.logprobs
        return body

    def _post(self, body: Mapping[str, Any], seconds: float) -> _Reply:
        """One HTTP attempt bounded by ``seconds`` of wall time (also while the body trickles in)."""
        import httpx

        until = time.monotonic() + seconds
        with self._client.stream("POST", "/chat/completions", json=body, timeout=_timeout(seconds)) as resp:
            chunks: list[bytes] = []
            for chunk in resp.iter_bytes():
                chunks.append(chunk)
                if time.monotonic() > until:
                    raise httpx.ReadTimeout("the response did not finish in time")
            return _Reply(resp.status_code, resp.headers.get("retry-after"), b"".join(chunks))

    def _one(self, r: Request) -> Response:
        import httpx

        body = self._body(r)
        last: Exception | None = None
        failures = 0
        t0 = time.monotonic()
        # the request's own budget (e.g. what is left of a per-document deadline) bounds all attempts and waits
        until = None if r.timeout_s is None else t0 + max(0.0, r.timeout_s)
        where = self.o.base_url
        while True:
            left = self.o.timeout_s if until is None else min(self.o.timeout_s, until - time.monotonic())
            if left <= 0.0:
                raise BackendTimeoutError(f"no answer from {where}: the request's time budget of {r.timeout_s:.1f}s "
                                          f"ran out after {failures} failed attempts ({last})",
                                          hint="raise --deadline / --timeout or check the server load")
            reply: _Reply | None = None
            try:
                reply = self._post(body, left)
            except (httpx.ConnectTimeout, httpx.PoolTimeout) as e:  # never connected: retried like refused
                last = e
            except httpx.TimeoutException:  # connected, but no (complete) answer in time: not retried
                budget = left if until is None or left < self.o.timeout_s else self.o.timeout_s
                raise BackendTimeoutError(
                    f"no answer from {where} within {budget:.1f}s (attempt {failures + 1})",
                    hint="the server is hung or overloaded; raise --timeout for slow models") from None
            except httpx.TransportError as e:  # refused, reset, broken response
                last = e
            if reply is not None:
                if (reply.status >= 400 and self.o.response_format == "auto" and "response_format" in body
                        and "response_format" in reply.text and self._format != "none"):
                    # the server does not know this response format: step down and retry at once
                    self._format = "json_object" if self._format == "json_schema" else "none"
                    body = self._body(r)
                    continue
                if reply.status == 429 or reply.status >= 500:
                    last = _Status(reply.status, reply.retry_after, reply.text[:300])
                elif reply.status >= 400:
                    raise BackendResponseError(
                        f"server answered {reply.status}: {reply.text[:300]}",
                        hint="check the model name, the request size and the server's supported features",
                    )
                else:
                    try:
                        data = json.loads(reply.content) if reply.content else {}
                    except ValueError:
                        raise BackendResponseError(f"server sent invalid JSON: {reply.text[:200]}") from None
                    if not isinstance(data, Mapping):
                        raise BackendResponseError(f"unexpected response shape: {reply.text[:300]}")
                    return self._parse(data, time.monotonic() - t0)
            failures += 1
            if failures > self.o.max_retries:
                break
            wait = self._delay(failures, last)
            remaining = None if until is None else until - time.monotonic()
            if wait is None or (remaining is not None and wait >= remaining):
                break  # the server asks for more patience than allowed: give up now rather than sleep in vain
            time.sleep(wait)
        if isinstance(last, _Status):
            asked = f" (Retry-After: {last.retry_after})" if last.retry_after else ""
            raise BackendUnavailableError(f"{where} kept answering {last.code}{asked} after {failures} attempts: "
                                          f"{last.text}")
        raise BackendUnavailableError(f"cannot reach {where} after {failures} attempts: {last}")

    def _delay(self, attempt: int, last: Exception | None) -> float | None:
        """Seconds to wait before the next attempt; None when the server's Retry-After exceeds ``max_backoff_s``."""
        if isinstance(last, _Status) and last.retry_after:
            after = _retry_after_seconds(last.retry_after)
            if after is not None:
                return after if after <= self.o.max_backoff_s else None
        return float(min(self.o.max_backoff_s, self.o.backoff_s * 2.0 ** (attempt - 1)) * (0.75 + 0.5 * random.random()))

    def _parse(self, data: Mapping[str, Any], seconds: float) -> Response:
        try:
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError):
            raise BackendResponseError(f"unexpected response shape: {str(data)[:300]}") from None
        usage = data.get("usage") or {}
        top: list[dict[str, float]] = []
        lp = choice.get("logprobs") or {}
        for item in (lp.get("content") or []) if isinstance(lp, Mapping) else []:
            alts = {a["token"]: float(a["logprob"]) for a in item.get("top_logprobs", []) if "token" in a}
            if not alts and "token" in item:
                alts = {item["token"]: float(item.get("logprob", 0.0))}
            top.append(alts)
        return Response(
            text=text,
            tokens_in=int(usage.get("prompt_tokens") or 0),
            tokens_out=int(usage.get("completion_tokens") or approx_tokens(text)),
            seconds=seconds,
            finish_reason=str(choice.get("finish_reason") or "stop"),
            model=str(data.get("model", self.o.model)),
            top_logprobs=tuple(top),
        )


@dataclass(frozen=True)
class _Reply:
    status: int
    retry_after: str | None
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


def _timeout(seconds: float) -> Any:
    import httpx

    return httpx.Timeout(seconds, connect=min(10.0, seconds))


def _retry_after_seconds(value: str) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date (RFC 9110); None when unreadable."""
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, (when - datetime.datetime.now(datetime.UTC)).total_seconds())


class _Status(Exception):
    def __init__(self, code: int, retry_after: str | None, text: str) -> None:
        super().__init__(f"HTTP {code}")
        self.code = code
        self.retry_after = retry_after
        self.text = text


_: type[Backend] = OpenAIBackend
