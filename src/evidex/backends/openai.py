"""Any OpenAI-compatible chat server: vLLM, llama.cpp server, Ollama, OpenAI.

Retries with exponential backoff (and ``Retry-After``) on 429, 5xx, timeouts and refused connections;
everything else becomes a typed :class:`~evidex.errors.BackendError`. The API key is read from an
environment variable, never from the command line.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

from evidex.backends.base import Backend, Capabilities, Options, Request, Response, approx_tokens
from evidex.errors import (
    BackendResponseError,
    BackendTimeoutError,
    BackendUnavailableError,
    MissingDependencyError,
)


class OpenAIOptions(Options):
    base_url: str = os.environ.get("EVIDEX_OPENAI_BASE_URL", "http://127.0.0.1:8080/v1")
    model: str = "local"
    api_key_env: str = "OPENAI_API_KEY"
    timeout_s: float = 120.0
    max_retries: int = 4
    backoff_s: float = 0.5
    # auto: try OpenAI's json_schema, fall back to json_object+schema (llama.cpp, vLLM), then to none
    response_format: Literal["auto", "json_schema", "json_object", "none"] = "auto"
    grammar: bool = False  # the server accepts a GBNF "grammar" field (llama.cpp)
    logprobs: bool = False  # the server returns top_logprobs
    max_context: int = 8192
    max_output: int = 1024


class OpenAIBackend:
    name: ClassVar[str] = "openai"
    Options: ClassVar[type[OpenAIOptions]] = OpenAIOptions

    def __init__(self, options: OpenAIOptions | None = None) -> None:
        try:
            import httpx
        except ImportError as e:  # pragma: no cover - depends on the install
            raise MissingDependencyError("httpx is required", hint="pip install 'evidex[openai]'") from e
        self.o = options or OpenAIOptions()
        self._format = "json_schema" if self.o.response_format == "auto" else self.o.response_format
        self.capabilities = Capabilities(
            json_schema=self.o.response_format != "none",
            grammar=self.o.grammar,
            logprobs=self.o.logprobs,
            max_context=self.o.max_context,
            max_output=self.o.max_output,
        )
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.o.api_key_env, "")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(base_url=self.o.base_url.rstrip("/"), headers=headers,
                                    timeout=httpx.Timeout(self.o.timeout_s, connect=min(10.0, self.o.timeout_s)))

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

    def _one(self, r: Request) -> Response:
        import httpx

        body = self._body(r)
        last: Exception | None = None
        failures = 0
        t0 = time.monotonic()
        while True:
            try:
                resp = self._client.post("/chat/completions", json=body)
            except (httpx.TimeoutException, httpx.TransportError) as e:  # timeout, refused, reset
                resp, last = None, e
            if resp is not None:
                if (resp.status_code >= 400 and self.o.response_format == "auto" and "response_format" in body
                        and "response_format" in resp.text and self._format != "none"):
                    # the server does not know this response format: step down and retry at once
                    self._format = "json_object" if self._format == "json_schema" else "none"
                    body = self._body(r)
                    continue
                if resp.status_code == 429 or resp.status_code >= 500:
                    last = _Status(resp.status_code, resp.headers.get("retry-after"), resp.text[:300])
                elif resp.status_code >= 400:
                    raise BackendResponseError(
                        f"server answered {resp.status_code}: {resp.text[:300]}",
                        hint="check the model name, the request size and the server's supported features",
                    )
                else:
                    try:
                        data = resp.json() if resp.content else {}
                    except ValueError:
                        raise BackendResponseError(f"server sent invalid JSON: {resp.text[:200]}") from None
                    return self._parse(data, time.monotonic() - t0)
            failures += 1
            if failures > self.o.max_retries:
                break
            time.sleep(self._delay(failures, last))
        where = self.o.base_url
        if isinstance(last, httpx.TimeoutException):
            raise BackendTimeoutError(f"no answer from {where} within {self.o.timeout_s:.0f}s after "
                                      f"{failures} attempts", hint="raise the timeout or check the server load")
        if isinstance(last, _Status):
            raise BackendUnavailableError(f"{where} kept answering {last.code} after {failures} attempts: {last.text}")
        raise BackendUnavailableError(f"cannot reach {where} after {failures} attempts: {last}")

    def _delay(self, attempt: int, last: Exception | None) -> float:
        if isinstance(last, _Status) and last.retry_after:
            try:
                return min(30.0, float(last.retry_after))
            except ValueError:
                pass
        return float(min(30.0, self.o.backoff_s * 2.0 ** (attempt - 1)) * (0.75 + 0.5 * random.random()))

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


class _Status(Exception):
    def __init__(self, code: int, retry_after: str | None, text: str) -> None:
        super().__init__(f"HTTP {code}")
        self.code = code
        self.retry_after = retry_after
        self.text = text


_: type[Backend] = OpenAIBackend
