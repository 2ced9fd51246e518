"""Guards around every request: coded JSON errors, body size (413), per-client rate and concurrency (429),
request timeout (504) and security headers. Plain ASGI middleware so streaming responses pass through."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

from evidex.serve.config import ServeConfig

log = logging.getLogger("evidex.serve")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CODES = {400: "EVX-S400", 401: "EVX-S401", 403: "EVX-S403", 404: "EVX-S404", 405: "EVX-S405", 409: "EVX-S409",
         413: "EVX-S413", 415: "EVX-S415", 422: "EVX-S422", 429: "EVX-S429", 500: "EVX-S500", 504: "EVX-S504"}


def error_body(status: int, message: str, *, code: str | None = None, hint: str | None = None,
               details: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code or CODES.get(status, f"EVX-S{status}"), "status": status, "message": message}
    if hint:
        err["hint"] = hint
    if details is not None:
        err["details"] = details
    return {"error": err}


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


async def send_error(send: Send, status: int, message: str, *, headers: list[tuple[bytes, bytes]] | None = None,
                     hint: str | None = None) -> None:
    data = json.dumps(error_body(status, message, hint=hint)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            *SECURITY_HEADERS, *(headers or [])]})
    await send({"type": "http.response.body", "body": data})


class BodyTooLarge(HTTPException):
    """Raised while the body is read (an HTTPException, so FastAPI's body parsing passes it on as a 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit:,} bytes")
        self.limit = limit


def client_of(scope: Scope) -> str:
    c = scope.get("client")
    return str(c[0]) if c else "?"


class _Bucket:
    __slots__ = ("inflight", "stamp", "tokens")

    def __init__(self, burst: float) -> None:
        self.tokens = burst
        self.stamp = time.monotonic()
        self.inflight = 0


class Guards:
    """One ASGI middleware for all limits (outermost: a refused request costs almost nothing)."""

    def __init__(self, app: ASGIApp, config: ServeConfig, token: str | None = None) -> None:
        self.app = app
        self.c = config
        self._token = token.encode() if token else None
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = client_of(scope)
        refused = self._admit(client)
        if refused is not None:
            await send_error(send, 429, refused, headers=[(b"retry-after", b"1")],
                             hint="slow down: fewer requests per second or at once")
            return
        try:
            denied = self._auth_error(scope)
            if denied is not None:  # before the body is read or validated
                status, msg = denied
                await send_error(send, status, msg,
                                 headers=[(b"www-authenticate", b"Bearer")] if status == 401 else None)
                return
            await self._guarded(scope, receive, send)
        finally:
            with self._lock:
                self._buckets[client].inflight -= 1

    def _auth_error(self, scope: Scope) -> tuple[int, str] | None:
        """The bearer token check for the API (``/v1/…``); the route dependency checks again."""
        if self._token is None or not str(scope.get("path", "")).startswith("/v1/"):
            return None
        value = dict(scope.get("headers") or ()).get(b"authorization", b"")
        scheme, _, cred = value.partition(b" ")
        if scheme.lower() != b"bearer" or not cred.strip():
            return 401, "missing bearer token"
        if not hmac.compare_digest(cred.strip(), self._token):
            return 403, "invalid token"
        return None

    def _admit(self, client: str) -> str | None:
        with self._lock:
            b = self._buckets.get(client)
            if b is None:
                if len(self._buckets) > 10_000:  # forget idle clients
                    for k in [k for k, v in self._buckets.items() if v.inflight == 0][:5000]:
                        del self._buckets[k]
                b = self._buckets[client] = _Bucket(self.c.burst)
            now = time.monotonic()
            b.tokens = min(float(self.c.burst), b.tokens + (now - b.stamp) * self.c.rate_per_s)
            b.stamp = now
            if b.inflight >= self.c.max_inflight:
                return f"too many requests in progress from this client (limit {self.c.max_inflight})"
            if b.tokens < 1:
                return f"rate limit: {self.c.rate_per_s:g} requests per second (burst {self.c.burst})"
            b.tokens -= 1
            b.inflight += 1
            return None

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or ())
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        limit = self.c.max_json_bytes if ctype == b"application/json" else self.c.max_body_bytes
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                n = int(declared)
            except ValueError:
                await send_error(send, 400, "invalid Content-Length")
                return
            if n > limit:
                await send_error(send, 413, f"the request body is larger than {limit:,} bytes",
                                 hint="send fewer or smaller files per request")
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return msg

        started = asyncio.Event()

        async def watched(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                msg = {**msg, "headers": [*msg.get("headers", []), *SECURITY_HEADERS]}
                started.set()
            await send(msg)

        task = asyncio.ensure_future(self.app(scope, counted, watched))
        waiter = asyncio.ensure_future(started.wait())
        await asyncio.wait({task, waiter}, timeout=self.c.request_timeout_s, return_when=asyncio.FIRST_COMPLETED)
        if not started.is_set() and not task.done():
            task.cancel()
            waiter.cancel()
            await send_error(send, 504, f"the request took longer than {self.c.request_timeout_s:g} s",
                             hint="submit a job and poll it instead of waiting")
            return
        waiter.cancel()
        try:
            await task
        except BodyTooLarge as e:
            if not started.is_set():
                await send_error(send, 413, str(e.detail), hint="send fewer or smaller files per request")
        except Exception:
            log.exception("unhandled error")  # the traceback stays in the server log
            if not started.is_set():
                await send_error(send, 500, "internal error")
