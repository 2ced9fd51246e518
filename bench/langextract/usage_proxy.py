"""A tiny loopback HTTP proxy that counts LLM calls and sums the ``usage`` of OpenAI-compatible responses.

Tool-agnostic: point any client's ``base_url`` at ``http://127.0.0.1:<port>/v1`` instead of the server's.
Standard library only, so it runs under any Python::

    python bench/langextract/usage_proxy.py --upstream http://127.0.0.1:8090 --port 8091 [--log calls.jsonl]

Control endpoints (not forwarded): ``GET /__usage`` → the running totals as JSON
(``calls``, ``tokens_in``, ``tokens_out``, ``http_errors``, ``seconds``), ``POST /__reset`` → zero them.
Requests are forwarded one at a time (the llama.cpp server runs one request at a time anyway), so the
per-call ``seconds`` are server-side latency without queueing inside the proxy.
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

_LOCK = threading.Lock()  # serialises upstream calls and counter updates
_TOTALS: dict[str, Any] = {}
_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection", "host",
        "content-length", "accept-encoding"}


def _reset() -> None:
    _TOTALS.clear()
    _TOTALS.update(calls=0, tokens_in=0, tokens_out=0, http_errors=0, seconds=0.0)


_reset()


class Handler(BaseHTTPRequestHandler):
    upstream: tuple[str, int] = ("127.0.0.1", 8090)
    log_path: str | None = None
    timeout: float = 900.0
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send_json(self, code: int, obj: Any) -> None:
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/__usage":
            with _LOCK:
                self._send_json(200, dict(_TOTALS))
            return
        self._forward("GET", b"")

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if self.path == "/__reset":
            with _LOCK:
                _reset()
            self._send_json(200, {"ok": True})
            return
        self._forward("POST", body)

    def _forward(self, method: str, body: bytes) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        headers["Content-Length"] = str(len(body))
        with _LOCK:
            t0 = time.perf_counter()
            try:
                conn = http.client.HTTPConnection(*self.upstream, timeout=self.timeout)
                conn.request(method, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                status, rheaders = resp.status, resp.getheaders()
                conn.close()
            except OSError as e:
                data = json.dumps({"error": {"message": f"usage_proxy: upstream error: {e}"}}).encode()
                status, rheaders = 502, [("Content-Type", "application/json")]
            dt = time.perf_counter() - t0
            usage: dict[str, Any] = {}
            if method == "POST" and "completions" in self.path:
                _TOTALS["calls"] += 1
                _TOTALS["seconds"] += dt
                if status >= 400:
                    _TOTALS["http_errors"] += 1
                try:
                    usage = json.loads(data).get("usage") or {}
                except (ValueError, AttributeError):
                    usage = {}
                _TOTALS["tokens_in"] += int(usage.get("prompt_tokens") or 0)
                _TOTALS["tokens_out"] += int(usage.get("completion_tokens") or 0)
                if self.log_path:
                    try:
                        req = json.loads(body)
                    except ValueError:
                        req = None
                    try:
                        resp_obj = json.loads(data)
                    except ValueError:
                        resp_obj = data.decode("utf-8", "replace")
                    with open(self.log_path, "a", encoding="utf-8") as f:
                        f.write(json.dumps({"t": time.time(), "seconds": round(dt, 3), "status": status,
                                            "request": req, "response": resp_obj}, ensure_ascii=False) + "\n")
        self.send_response(status)
        for k, v in rheaders:
            if k.lower() not in _HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upstream", default="http://127.0.0.1:8090", help="the real server (scheme://host:port)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8091)
    ap.add_argument("--log", default=None, help="append every request/response pair to this JSONL file")
    a = ap.parse_args()
    u = urlsplit(a.upstream)
    Handler.upstream = (u.hostname or "127.0.0.1", u.port or 80)
    Handler.log_path = a.log
    srv = ThreadingHTTPServer((a.host, a.port), Handler)
    print(f"usage_proxy: http://{a.host}:{a.port} -> {a.upstream}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
