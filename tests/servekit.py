"""Test helpers for the service: a real uvicorn on loopback (one per test module), small real documents."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

TOKEN = "test-token-0123456789abcdef"

# An invoice: (text, x, baseline y) in reportlab's bottom-left coordinates on a letter page.
INVOICE_LINES = [
    ("ACME Corporation", 72, 720),
    ("Invoice number: INV-2041", 72, 700),
    ("Invoice date: 2024-03-15", 72, 680),
    ("Bill to: Globex Industries Ltd", 72, 650),
    ("Total due: 1,250.00 EUR", 320, 600),
]
INVOICE_SCHEMA = {"fields": {"invoice_number": "string", "total": "money", "date": "date", "vendor": "string"}}


def invoice_pdf(lines: list[tuple[str, int, int]] | None = None) -> bytes:
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=letter)
    c.setFont("Helvetica", 12)
    for text, x, y in lines or INVOICE_LINES:
        c.drawString(x, y, text)
    c.showPage()
    c.save()
    return buf.getvalue()


@dataclass
class Server:
    url: str
    app: Any

    def client(self, token: str | None = TOKEN, **kw: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kw)


@contextmanager
def running(config: Any) -> Iterator[Server]:
    """``create_app(config)`` served by uvicorn on a free loopback port, in a thread, for the ``with`` block."""
    import uvicorn

    from evidex.serve import create_app

    app = create_app(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    t = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    t.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not t.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield Server(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        t.join(timeout=20)
        sock.close()


def wait_done(c: httpx.Client, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        j: dict[str, Any] = c.get(f"/v1/jobs/{job_id}").json()
        if j["status"] in ("done", "failed", "cancelled"):
            return j
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {j['status']}")
        time.sleep(0.05)
