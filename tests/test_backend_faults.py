"""Backend failure policy against a real HTTP server on loopback that each test scripts to misbehave.

The server answers ``POST /v1/chat/completions`` with whatever the test queued: HTTP 500, 429 with
``Retry-After``, a truncated body, prose, truncated or wrongly typed JSON, or it hangs (until teardown). Driven
through the real :class:`OpenAIBackend`, through :class:`Extractor` / :class:`Pipeline`, and through the
``evidex extract`` command. Timing assertions are generous bounds only ("seconds, not minutes").
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from evidex.backends import Message, Request, load_backend
from evidex.errors import (
    BackendResponseError,
    BackendTimeoutError,
    BackendUnavailableError,
    DeadlineExceededError,
)
from evidex.extract import ExtractOptions, Extractor
from evidex.model import Schema
from evidex.parse import parse_bytes
from evidex.pipeline import Pipeline, RunStats

EVIDEX = shutil.which("evidex") or str(Path(sys.executable).parent / "evidex")

SCHEMA_YAML = """
fields:
  invoice_number: {type: string, description: the invoice number}
  total: {type: money, description: the total amount due}
"""
SCHEMA = Schema.from_yaml(SCHEMA_YAML)
INVOICE = "ACME TOOLS LTD\nInvoice number: INV-7\nInvoice date: 14 March 2024\n\nTotal due: $380.50\n"


# ------------------------------------------------------------------------------------------ the scripted server
Action = Callable[["_Handler", dict[str, Any]], None]


@dataclass
class Script:
    plan: deque[Action] = field(default_factory=deque)
    default: Action | None = None
    seen: list[dict[str, Any]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def then(self, *actions: Action) -> Script:
        self.plan.extend(actions)
        return self

    def always(self, action: Action) -> Script:
        self.default = action
        return self

    def next(self, body: dict[str, Any]) -> Action:
        with self.lock:
            self.seen.append(body)
            if self.plan:
                return self.plan.popleft()
        return self.default or content(json.dumps({"invoice_number": None, "total": None}))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    script: Script

    def handle_error(self, request: Any, client_address: Any) -> None:  # the client hung up on a hang: fine
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        self.server.script.next(body)(self, body)

    def send(self, status: int, payload: bytes, headers: dict[str, str] | None = None,
             length: int | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload) if length is None else length))
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()

    def log_message(self, *args: object) -> None:
        pass


def completion(text: str, finish: str = "stop") -> bytes:
    return json.dumps({"model": "scripted", "choices": [{"message": {"content": text}, "finish_reason": finish}],
                       "usage": {"prompt_tokens": 50, "completion_tokens": 10}}).encode()


def content(text: str, finish: str = "stop") -> Action:
    return lambda h, body: h.send(200, completion(text, finish))


def status(code: int, text: str = "server error", headers: dict[str, str] | None = None) -> Action:
    return lambda h, body: h.send(code, text.encode(), headers)


def hang(seconds: float = 30.0) -> Action:
    """Answer nothing for ``seconds`` (or until the test ends), then a valid reply nobody waits for any more."""
    def act(h: _Handler, body: dict[str, Any]) -> None:
        h.server.script.stop.wait(seconds)
        with contextlib.suppress(OSError):
            h.send(200, completion("{}"))
    return act


def cut_body() -> Action:
    """Promise more bytes than are sent, then close: a truncated HTTP response."""
    def act(h: _Handler, body: dict[str, Any]) -> None:
        payload = completion('{"invoice_number": "INV-7"}')
        h.send(200, payload[: len(payload) // 2], length=len(payload))
        h.close_connection = True
    return act


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.script = script
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/v1", script
    finally:
        script.stop.set()  # wakes hanging handlers at once
        srv.shutdown()
        srv.server_close()
        t.join(5)


def backend(url: str, **opts: Any) -> Any:
    return load_backend("openai", {"base_url": url, "backoff_s": 0.01, **opts})


def req(**kw: Any) -> Request:
    return Request((Message("user", "hi"),), max_tokens=20, **kw)


def invoice() -> Any:
    return parse_bytes(INVOICE.encode(), "inv.txt")


# ------------------------------------------------------------------------------------------ the backend itself
def test_defaults_are_seconds_not_minutes() -> None:
    o = load_backend("openai", {}).o  # type: ignore[attr-defined]
    assert o.timeout_s <= 60 and o.max_retries <= 2 and o.max_backoff_s <= 30
    assert 0 < (ExtractOptions().deadline_s or 0) <= 600


def test_500_is_retried_a_bounded_number_of_times(server: tuple[str, Script]) -> None:
    url, script = server
    script.always(status(500, "boom"))
    t0 = time.monotonic()
    with pytest.raises(BackendUnavailableError, match="kept answering 500 after 3 attempts"):
        backend(url, max_retries=2).generate([req()])
    assert len(script.seen) == 3 and time.monotonic() - t0 < 5


def test_429_honours_retry_after_then_succeeds(server: tuple[str, Script]) -> None:
    url, script = server
    script.then(status(429, "slow down", {"Retry-After": "1"}), content("fine"))
    t0 = time.monotonic()
    (resp,) = backend(url).generate([req()])
    waited = time.monotonic() - t0
    assert resp.text == "fine" and len(script.seen) == 2
    assert 0.9 <= waited < 10  # waited what the server asked, not the 10 ms back-off


def test_429_asking_for_more_than_the_budget_gives_up_at_once(server: tuple[str, Script]) -> None:
    url, script = server
    script.always(status(429, "quota", {"Retry-After": "120"}))
    t0 = time.monotonic()
    with pytest.raises(BackendUnavailableError, match=r"429 \(Retry-After: 120\) after 1 attempts"):
        backend(url, max_retries=5).generate([req()])
    assert len(script.seen) == 1 and time.monotonic() - t0 < 5
    # a Retry-After within the cap but beyond the request's own budget: no sleeping in vain either
    script.always(status(429, "quota", {"Retry-After": "5"}))
    t0 = time.monotonic()
    with pytest.raises(BackendUnavailableError):
        backend(url, max_retries=5).generate([req(timeout_s=1.0)])
    assert time.monotonic() - t0 < 3


def test_hung_server_costs_about_the_timeout_and_is_not_retried(server: tuple[str, Script]) -> None:
    url, script = server
    script.always(hang())
    t0 = time.monotonic()
    with pytest.raises(BackendTimeoutError, match="no answer"):
        backend(url, timeout_s=0.5, max_retries=3).generate([req()])
    elapsed = time.monotonic() - t0
    assert len(script.seen) == 1  # a read timeout is not retried: the server would just hang again
    assert 0.4 <= elapsed < 3


def test_request_budget_bounds_the_attempt_below_the_backend_timeout(server: tuple[str, Script]) -> None:
    url, script = server
    script.always(hang())
    t0 = time.monotonic()
    with pytest.raises(BackendTimeoutError):
        backend(url, timeout_s=30).generate([req(timeout_s=0.5)])
    assert time.monotonic() - t0 < 3


def test_truncated_http_body_is_retried(server: tuple[str, Script]) -> None:
    url, script = server
    script.then(cut_body(), content("whole"))
    (resp,) = backend(url).generate([req()])
    assert resp.text == "whole" and len(script.seen) == 2


def test_a_body_that_is_not_json_is_a_typed_error(server: tuple[str, Script]) -> None:
    url, script = server
    script.always(lambda h, body: h.send(200, b"<html>gateway</html>"))
    with pytest.raises(BackendResponseError, match="invalid JSON"):
        backend(url).generate([req()])


# ------------------------------------------------------------------------------------------ model output policy
def generate(url: str, **opts: Any) -> Extractor:
    return Extractor(backend(url), ExtractOptions(mode="generate", **opts))


def test_prose_is_a_coded_failure_after_the_bounded_reask(server: tuple[str, Script]) -> None:
    url, script = server
    script.always(content("I am sorry, I cannot find an invoice number in this document."))
    r = generate(url, max_repairs=2).extract(invoice(), SCHEMA)
    assert not r.ok and r.error is not None and r.error["code"] == "EVX-B004"
    assert len(script.seen) == 3 and r.usage.calls == 3  # asked, then re-asked twice: bounded
    assert r.diagnostics["model_output_failures"] and r.extractions == ()


def test_valid_json_with_nulls_is_ok_with_no_values(server: tuple[str, Script]) -> None:
    url, script = server
    script.always(content(json.dumps({"invoice_number": None, "total": None})))
    r = generate(url).extract(invoice(), SCHEMA)
    assert r.ok and r.extractions == () and len(script.seen) == 1


def test_a_wrongly_typed_field_fails_alone(server: tuple[str, Script]) -> None:
    url, script = server
    script.always(content(json.dumps({"invoice_number": "INV-7", "total": {"amount": 380.5}})))
    r = generate(url, max_repairs=1).extract(invoice(), SCHEMA)
    assert r.ok, r.error
    assert {x.path: x.value for x in r.extractions} == {"invoice_number": "INV-7"}
    assert "expected a plain value" in next(iter(r.diagnostics["dropped_fields"].values()))
    assert len(script.seen) == 2  # one re-ask about the bad field, then the good one is kept


def test_every_field_wrongly_typed_is_a_failure(server: tuple[str, Script]) -> None:
    url, script = server
    script.always(content(json.dumps({"invoice_number": ["INV", {"x": 1}], "total": {"amount": 1}})))
    r = generate(url, max_repairs=1).extract(invoice(), SCHEMA)
    assert r.error is not None and r.error["code"] == "EVX-B004"


def test_output_cut_inside_a_string_is_salvaged_without_blind_reasks(server: tuple[str, Script]) -> None:
    url, script = server
    cut = '{"invoice_number": "INV-7", "total": "380.50 dollars as stated in the document which goes on and on'
    script.always(content(cut, finish="length"))
    r = generate(url, max_repairs=2).extract(invoice(), SCHEMA)
    assert r.ok, r.error
    assert len(script.seen) == 1  # no re-ask: it would run into the same output limit
    assert [x.value for x in r.extractions] == ["INV-7"]
    assert r.diagnostics["cut_by_output_limit"] == ["total"] and "total" in r.coverage.truncated_fields


def test_truncated_prose_gets_one_reask_at_most(server: tuple[str, Script]) -> None:
    url, script = server
    script.always(content("Well, let me think about this invoice very carefully before", finish="length"))
    r = generate(url, max_repairs=5).extract(invoice(), SCHEMA)
    assert r.error is not None and r.error["code"] == "EVX-B004" and len(script.seen) == 2


# ------------------------------------------------------------------------------------------ deadline
def test_document_deadline_bounds_a_hung_server(server: tuple[str, Script]) -> None:
    url, script = server
    script.always(hang())
    t0 = time.monotonic()
    r = Extractor(backend(url, timeout_s=30), ExtractOptions(mode="generate", deadline_s=0.6)).extract(invoice(), SCHEMA)
    elapsed = time.monotonic() - t0
    assert r.error is not None and r.error["code"] == DeadlineExceededError.code
    assert elapsed < 3
    assert r.diagnostics["mode"] == "generate"


def test_deadline_between_calls_keeps_the_usage_so_far(server: tuple[str, Script]) -> None:
    url, script = server

    def slow_prose(h: _Handler, body: dict[str, Any]) -> None:
        time.sleep(0.4)
        h.send(200, completion("no JSON here"))

    script.always(slow_prose)
    r = Extractor(backend(url, timeout_s=5), ExtractOptions(mode="generate", deadline_s=0.6, max_repairs=5)).extract(
        invoice(), SCHEMA)
    assert r.error is not None and r.error["code"] == "EVX-B007"
    assert 1 <= r.usage.calls < 6 and r.usage.tokens_in > 0  # usage of the answered calls is kept


# ------------------------------------------------------------------------------------------ pipeline: fail fast
def write_docs(tmp_path: Path, n: int) -> list[Path]:
    out = []
    for i in range(n):
        p = tmp_path / f"doc{i}.txt"
        p.write_text(INVOICE.replace("INV-7", f"INV-{i}"), encoding="utf-8")
        out.append(p)
    return out


def test_fail_fast_stops_asking_and_marks_the_rest_not_processed(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    script.always(status(500))
    pipe = Pipeline.create(SCHEMA, "openai", {"base_url": url, "backoff_s": 0.01}, ExtractOptions(mode="generate"),
                           max_retries=1, max_backend_failures=2)
    stats = RunStats()
    out = list(pipe.run(write_docs(tmp_path, 5)))
    for _, _, r in out:
        stats.add(r)
    assert [r.error["code"] for _, _, r in out if r.error] == ["EVX-B001"] * 2 + ["EVX-B008"] * 3
    assert len(script.seen) == 4  # 2 documents × 2 attempts; nothing after giving up
    assert pipe.gave_up and stats.not_processed == 3 and stats.backend_down
    rest = [r for _, _, r in out[2:]]
    assert all(r.error and r.error["processed"] is False and r.diagnostics["processed"] is False for r in rest)
    assert [Path(p).name for p, _, _ in out] == [f"doc{i}.txt" for i in range(5)]  # one per path, in order


def test_fail_fast_counts_only_consecutive_backend_failures(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server

    def alternate(h: _Handler, body: dict[str, Any]) -> None:
        prompt = body["messages"][-1]["content"]
        if "INV-0" in prompt or "INV-2" in prompt:
            h.send(500, b"boom")
        else:
            h.send(200, completion(json.dumps({"invoice_number": "INV-1", "total": None})))

    script.always(alternate)
    pipe = Pipeline.create(SCHEMA, "openai", {"base_url": url, "max_retries": 0}, ExtractOptions(mode="generate"),
                           max_backend_failures=2)
    stats = RunStats()
    for _, _, r in pipe.run(write_docs(tmp_path, 4)):
        stats.add(r)
    assert not pipe.gave_up and stats.not_processed == 0 and stats.failed == 2 and not stats.backend_down


def test_an_unexpected_exception_fails_one_document_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import evidex.extract.proposers as engine

    real = engine.build_candidates

    def buggy(doc: Any, **kw: Any) -> Any:
        if "INV-1" in doc.text:
            return 1 / 0
        return real(doc, **kw)

    monkeypatch.setattr(engine, "build_candidates", buggy)
    pipe = Pipeline.create(SCHEMA, None)
    out = list(pipe.run(write_docs(tmp_path, 3)))
    codes = [r.error["code"] if r.error else None for _, _, r in out]
    assert codes == [None, "EVX-I001", None]
    bad = out[1][2]
    assert bad.error is not None and "ZeroDivisionError" in bad.error["message"]
    assert "ZeroDivisionError" in bad.diagnostics["traceback"] and "buggy" in bad.diagnostics["traceback"]
    assert out[0][2].values()["invoice_number"] == "INV-0"


def test_an_exception_escaping_the_extractor_fails_one_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(self: Extractor, doc: Any, schema: Any) -> Any:
        if "INV-0" in doc.text:
            raise KeyError("boom")
        return real(self, doc, schema)

    real = Extractor.extract
    monkeypatch.setattr(Extractor, "extract", explode)
    out = list(Pipeline.create(SCHEMA, None).run(write_docs(tmp_path, 2)))
    assert [r.error["code"] if r.error else None for _, _, r in out] == ["EVX-I001", None]
    assert "KeyError" in out[0][2].diagnostics["traceback"]


# ------------------------------------------------------------------------------------------ the command line
def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EVIDEX, "extract", *args], capture_output=True, text=True, timeout=timeout)


def cli_run(tmp_path: Path, url: str, n: int, *extra: str) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    schema = tmp_path / "schema.yaml"
    schema.write_text(SCHEMA_YAML, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    docs = write_docs(tmp_path, n)
    r = cli(*map(str, docs), "-s", str(schema), "--backend", "openai", "--base-url", url, "--in-process", "-q",
            "-o", str(out), *extra)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] if out.exists() else []
    return r, records


def test_cli_fails_fast_with_exit_3_and_not_processed_records(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    script.always(status(500))
    r, records = cli_run(tmp_path, url, 4, "--retries", "0", "--max-backend-failures", "2")
    assert r.returncode == 3, r.stderr
    assert [x["error"]["code"] for x in records] == ["EVX-B001", "EVX-B001", "EVX-B008", "EVX-B008"]
    assert all(x["ok"] is False for x in records)
    assert [x["error"].get("processed") for x in records] == [None, None, False, False]
    assert len(script.seen) == 2
    said = " ".join(r.stderr.split())  # the console may wrap long lines
    assert "not processed: 2" in said and "stopped asking it" in said


def test_cli_hung_server_costs_about_the_timeout_per_document(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    script.always(hang())
    t0 = time.monotonic()
    r, records = cli_run(tmp_path, url, 3, "--timeout", "0.5", "--max-backend-failures", "2")
    elapsed = time.monotonic() - t0
    assert r.returncode == 3, r.stderr
    assert [x["error"]["code"] for x in records] == ["EVX-B002", "EVX-B002", "EVX-B008"]
    assert len(script.seen) == 2  # one attempt per document: a timeout is not retried
    assert elapsed < 30  # process start-up plus ~0.5 s per document, not minutes


def test_cli_every_document_failing_on_the_backend_exits_3(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    script.always(status(503))
    r, records = cli_run(tmp_path, url, 2, "--retries", "0")  # fewer documents than --max-backend-failures
    assert r.returncode == 3, r.stderr
    assert [x["error"]["code"] for x in records] == ["EVX-B001", "EVX-B001"]
    assert "not processed: 0" in " ".join(r.stderr.split())


def test_cli_unusable_model_output_is_a_counted_failure_exit_1(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    script.then(content("Sure! The invoice number is INV-0."), content("It is INV-0."), content("INV-0"))
    script.always(content(json.dumps({"invoice_number": "INV-1", "total": "$380.50"})))
    r, records = cli_run(tmp_path, url, 2, "--retries", "0")
    assert r.returncode == 1, r.stderr
    assert records[0]["ok"] is False and records[0]["error"]["code"] == "EVX-B004"
    assert records[1]["ok"] is True and records[1]["values"]["invoice_number"] == "INV-1"
    assert "ok: 1 · failed: 1 · not processed: 0" in " ".join(r.stderr.split())


def test_cli_deadline_option(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    script.always(hang())
    r, records = cli_run(tmp_path, url, 1, "--deadline", "0.5", "--timeout", "30")
    assert r.returncode == 3, r.stderr
    assert records[0]["error"]["code"] == "EVX-B007"


def test_cli_rejects_a_bad_timeout(tmp_path: Path) -> None:
    schema = tmp_path / "schema.yaml"
    schema.write_text(SCHEMA_YAML, encoding="utf-8")
    (doc,) = write_docs(tmp_path, 1)
    r = cli(str(doc), "-s", str(schema), "--backend", "none", "--timeout", "0")
    assert r.returncode == 2


# ------------------------------------------------------------------------------------------ candidates (issue 14, part 5)
def test_whitespace_only_cells_do_not_crash_candidates() -> None:
    """A table cell holding only a no-break space used to give ``invalid span [s+1, s)`` from CandidateSet.add."""
    from evidex.extract.candidates import build_candidates

    html = ("<html><body><table><tr><th>Item</th><th>Price</th></tr>"
            "<tr><td>Drill</td><td>\u00a0</td></tr><tr><td> </td><td>$5.00</td></tr></table></body></html>")
    d = parse_bytes(html.encode(), "t.html")
    cands = build_candidates(d)
    assert all(c.text.strip() and d.text[c.span.start : c.span.end] == c.text for c in cands.items)


def test_candidate_set_skips_blank_spans_of_any_length() -> None:
    from evidex.extract.candidates import CandidateSet
    from evidex.model import Span

    d = parse_bytes(b"Total: 5\n \n\t\t\nEnd\n", "x.txt")
    cs = CandidateSet(d)
    for start in range(len(d.text)):
        for end in range(start, min(len(d.text), start + 4) + 1):
            c = cs.add(Span(start, end), "line")
            if c is not None:
                assert c.span.start <= c.span.end and d.text[c.span.start : c.span.end] == c.text == c.text.strip()
