"""The OpenAI-compatible backend against a real llama.cpp server on loopback, and its failure handling."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from evidex.backends import Message, Request, load_backend
from evidex.errors import BackendResponseError, BackendTimeoutError, BackendUnavailableError
from evidex.extract import ExtractOptions, Extractor
from evidex.model import Grounding
from evidex.parse import parse_file
from evidex.pipeline import load_schema

pytestmark = [pytest.mark.slow]


def test_real_server_json_generation_negotiates_response_format(llama_server: str) -> None:
    # a real server on a busy machine may take minutes; slowness is not what these tests check
    be = load_backend("openai", {"base_url": llama_server, "max_retries": 1, "timeout_s": 600})
    schema = {"type": "object", "properties": {"number": {"type": ["string", "null"]}}, "required": ["number"]}
    (resp,) = be.generate([Request((Message("user", "Invoice INV-7. JSON with the invoice number."),),
                                   json_schema=schema, max_tokens=30)])
    assert be._format == "json_object"  # llama-cpp-python's server refuses json_schema; stepped down once
    assert resp.tokens_in > 0 and resp.tokens_out > 0
    assert resp.text.lstrip().startswith("{")  # grammar-constrained by the server


def test_real_server_choice_extraction_matches_the_embedded_results(llama_server: str, examples_dir: Path) -> None:
    be = load_backend("openai", {"base_url": llama_server, "logprobs": True, "timeout_s": 600})
    schema = load_schema(examples_dir / "schemas" / "invoice.yaml")
    doc = parse_file(examples_dir / "invoice-brightline.html")
    res = Extractor(be, ExtractOptions(mode="choice", scorer="choice", prior_weight=0.85)).extract(doc, schema)
    assert res.ok, res.error
    got = {x.path: x for x in res.extractions}
    assert got["invoice_number"].value == "BCS-7781"
    assert got["invoice_date"].value == "2024-03-15"
    assert got["total"].value == {"amount": Decimal("1145.00"), "currency": "USD"}
    assert res.usage.calls >= 3 and res.usage.tokens_in > 0


def test_real_server_generate_mode_keeps_only_grounded_values(llama_server: str, examples_dir: Path) -> None:
    be = load_backend("openai", {"base_url": llama_server, "timeout_s": 600})
    schema = load_schema(examples_dir / "schemas" / "invoice.yaml")
    doc = parse_file(examples_dir / "invoice-acme.html")
    res = Extractor(be, ExtractOptions(mode="generate", max_output_tokens=200, max_repairs=1)).extract(doc, schema)
    assert res.ok, res.error
    assert res.usage.calls >= 1 and res.usage.tokens_out > 0
    # whatever the tiny model wrote, nothing unsupported survives, and evidence is exact (oracle checks spans);
    # "all grounded" means nothing over an empty result, so something must have been kept
    assert res.extractions, "generate mode kept no value at all"
    assert all(x.grounding is not Grounding.UNGROUNDED and x.evidence for x in res.extractions)


# ---------------------------------------------------------------------------- failure handling (real sockets)
class _Flaky(BaseHTTPRequestHandler):
    plan: ClassVar[list[tuple[int, dict[str, str], str]]] = []
    seen: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append(body)
        status, headers, text = type(self).plan.pop(0) if type(self).plan else (200, {}, _ok("late"))
        if status == 0:  # hang longer than the client's timeout
            import time

            time.sleep(1.5)
            status, text = 200, _ok("slow")
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(text.encode())

    def log_message(self, *args: object) -> None:
        pass


def _ok(text: str) -> str:
    return json.dumps({"model": "m", "choices": [{"message": {"content": text}, "finish_reason": "stop"}],
                       "usage": {"prompt_tokens": 5, "completion_tokens": 1}})


@pytest.fixture
def flaky() -> Iterator[str]:
    _Flaky.plan, _Flaky.seen = [], []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()


def _req() -> Request:
    return Request((Message("user", "hi"),), max_tokens=5)


def test_retries_429_and_5xx_with_backoff_then_succeeds(flaky: str) -> None:
    _Flaky.plan = [(429, {"Retry-After": "0"}, "{}"), (503, {}, "busy"), (200, {}, _ok("fine"))]
    be = load_backend("openai", {"base_url": flaky, "max_retries": 3, "backoff_s": 0.01})
    (resp,) = be.generate([_req()])
    assert resp.text == "fine" and len(_Flaky.seen) == 3
    assert resp.tokens_in == 5 and resp.tokens_out == 1


def test_gives_up_with_a_typed_error_after_bounded_retries(flaky: str) -> None:
    _Flaky.plan = [(500, {}, "boom")] * 10
    be = load_backend("openai", {"base_url": flaky, "max_retries": 2, "backoff_s": 0.01})
    with pytest.raises(BackendUnavailableError, match="kept answering 500 after 3 attempts"):
        be.generate([_req()])
    assert len(_Flaky.seen) == 3


def test_client_errors_are_not_retried(flaky: str) -> None:
    _Flaky.plan = [(400, {}, '{"error": "bad model"}')]
    be = load_backend("openai", {"base_url": flaky, "max_retries": 3, "backoff_s": 0.01})
    with pytest.raises(BackendResponseError, match="400"):
        be.generate([_req()])
    assert len(_Flaky.seen) == 1


def test_timeouts_are_typed(flaky: str) -> None:
    _Flaky.plan = [(0, {}, ""), (0, {}, "")]
    be = load_backend("openai", {"base_url": flaky, "max_retries": 1, "backoff_s": 0.01, "timeout_s": 0.5})
    with pytest.raises(BackendTimeoutError):
        be.generate([_req()])


def test_server_down_is_a_per_document_error_and_the_batch_goes_on(tmp_path: Path, examples_dir: Path) -> None:
    from evidex.pipeline import Pipeline

    port = __import__("conftest")._free_port()  # nothing listens there
    schema = load_schema(examples_dir / "schemas" / "invoice.yaml")
    pipe = Pipeline.create(schema, "openai", {"base_url": f"http://127.0.0.1:{port}/v1", "max_retries": 1,
                                              "backoff_s": 0.01}, ExtractOptions(mode="generate"))
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    out = list(pipe.run([examples_dir / "invoice-acme.html", empty, examples_dir / "letter-termination.txt"]))
    assert len(out) == 3
    assert [r.error["reason"] if r.error else None for _, _, r in out] == ["MODEL_UNAVAILABLE", "EMPTY_INPUT", "MODEL_UNAVAILABLE"]


def test_api_key_comes_from_the_environment(flaky: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seen_auth: list[str | None] = []
    orig = _Flaky.do_POST

    def capture(self: _Flaky) -> None:
        seen_auth.append(self.headers.get("Authorization"))
        orig(self)

    monkeypatch.setattr(_Flaky, "do_POST", capture)
    monkeypatch.setenv("MY_KEY", "sk-test")
    be = load_backend("openai", {"base_url": flaky, "api_key_env": "MY_KEY"})
    be.generate([_req()])
    assert seen_auth == ["Bearer sk-test"]
