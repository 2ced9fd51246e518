"""evidex serve against a real uvicorn on loopback: auth, limits, traversal, jobs (concurrent, streamed,
cancelled), corrections → gold, coded errors without tracebacks; the guards' rate/timeout logic in-process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from servekit import INVOICE_SCHEMA, TOKEN, invoice_pdf, running, wait_done

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

MAX_BODY = 300_000
MAX_JSON = 20_000
N_TEXTS = 40
FILLER = "Some filler line of text about invoices and totals.\n" * 800  # ~0.1 s per document


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from evidex.pipeline import PipelineSpec
    from evidex.serve import ServeConfig

    base = tmp_path_factory.mktemp("serve")
    root = base / "root"
    (root / "sub").mkdir(parents=True)
    (root / "invoice.pdf").write_bytes(invoice_pdf())
    (root / "sub" / "note.txt").write_text("Invoice number: INV-7\nTotal due: 12.50 EUR\n", encoding="utf-8")
    for i in range(N_TEXTS):
        (root / f"t{i:03d}.txt").write_text(f"{FILLER}Invoice number: INV-{i}\nTotal due: {i}.00 EUR\n",
                                            encoding="utf-8")
    secret = base / "secret.txt"
    secret.write_text("TOP SECRET outside the root\n", encoding="utf-8")
    (root / "link.txt").symlink_to(secret)
    (root / "dirlink").symlink_to(base)
    spec = PipelineSpec.create(__import__("evidex").model.Schema.from_dict(INVOICE_SCHEMA), backend=None)
    cfg = ServeConfig(data_dir=base / "data", root=root, token=TOKEN, specs={"invoices": spec},
                      max_body_bytes=MAX_BODY, max_json_bytes=MAX_JSON, rate_per_s=1000, burst=1000,
                      max_active_jobs=40, max_inflight=64, workers=2, max_files=N_TEXTS)
    with running(cfg) as s:
        yield s, root


def _no_trace(r: Any) -> None:
    assert "Traceback" not in r.text and 'File "' not in r.text


def _err(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    _no_trace(r)
    body: dict[str, Any] = r.json()["error"]
    assert body["status"] == status and body["code"].startswith("EVX-") and body["message"]
    return body


def test_auth(srv: Any) -> None:
    s, _ = srv
    with s.client(token=None) as c:
        assert c.get("/healthz").json()["status"] == "ok"
        r = c.get("/v1/jobs")
        assert _err(r, 401)["code"] == "EVX-S401" and r.headers["www-authenticate"] == "Bearer"
        _err(c.get("/v1/jobs", headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401)
        assert _err(c.get("/v1/jobs", headers={"Authorization": "Bearer nope"}), 403)["code"] == "EVX-S403"
        _err(c.post("/v1/jobs", json={"paths": ["invoice.pdf"], "pipeline": "invoices"},
                    headers={"Authorization": f"Bearer {TOKEN}x"}), 403)
        doc = c.get("/openapi.json").json()
        assert "/v1/jobs" in doc["paths"] and "/v1/jobs/{job_id}/gold" in doc["paths"]
        assert any(v.get("scheme") == "bearer" for v in doc["components"]["securitySchemes"].values())
        assert "access-control-allow-origin" not in c.get("/healthz", headers={"Origin": "https://evil.example"}).headers
    with s.client() as c:
        assert c.get("/v1/jobs").status_code == 200


def test_size_limits(srv: Any) -> None:
    s, _ = srv
    with s.client() as c:
        big = b"x" * (MAX_BODY + 10)
        r = c.post("/v1/jobs/upload", files={"files": ("big.txt", big)}, data={"pipeline": "invoices"})
        assert _err(r, 413)["code"] == "EVX-S413"
        _err(c.post("/v1/jobs", content=json.dumps({"paths": ["a" * 100] * 300, "pipeline": "invoices"}),
                    headers={"Content-Type": "application/json"}), 413)

        def chunks() -> Any:  # no Content-Length: counted while read
            yield b'--zzz\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n\r\n'
            for _ in range(40):
                yield b"y" * 10_000

        r = c.post("/v1/jobs/upload", content=chunks(),
                   headers={"Content-Type": "multipart/form-data; boundary=zzz"})
        _err(r, 413)
        too_many = [("files", (f"f{i}.txt", b"a")) for i in range(N_TEXTS + 1)]
        _err(c.post("/v1/jobs/upload", files=too_many, data={"pipeline": "invoices"}), 413)


@pytest.mark.parametrize("path,status", [
    ("../secret.txt", 403), ("sub/../../secret.txt", 403), ("/etc/passwd", 403), ("link.txt", 403),
    ("dirlink/secret.txt", 403), ("missing.txt", 404), ("sub", 400), ("a\x00b", 400),
])
def test_traversal(srv: Any, path: str, status: int) -> None:
    s, _ = srv
    with s.client() as c:
        r = c.post("/v1/jobs", json={"paths": [path], "pipeline": "invoices"})
        _err(r, status)
        assert "TOP SECRET" not in r.text
    assert not [j for j in s.app.state.jobs.list() if any("secret" in p for p in j.paths)]


def test_job_stream_review_page_and_gold(srv: Any, tmp_path: Path) -> None:
    from evidex.eval.datasets import load_jsonl_gold

    s, root = srv
    with s.client() as c:
        r = c.post("/v1/jobs", json={"paths": ["invoice.pdf", "sub/note.txt"], "schema": INVOICE_SCHEMA})
        assert r.status_code == 202, r.text
        jid = r.json()["id"]
        with c.stream("GET", f"/v1/jobs/{jid}/results", params={"stream": "true"}) as st:
            recs = [json.loads(line) for line in st.iter_lines() if line.strip()]
        assert [Path(x["source"]).name for x in recs] == ["invoice.pdf", "note.txt"]
        assert recs[0]["values"]["invoice_number"] == "INV-2041" and recs[1]["values"]["invoice_number"] == "INV-7"
        assert wait_done(c, jid)["status"] == "done"
        review = c.get(f"/v1/jobs/{jid}/review").json()
        pdf = review["docs"][0]
        assert pdf["kind"] == "pdf" and pdf["pages"][0]["image"].startswith(f"/v1/jobs/{jid}/docs/0/pages/1.png")
        png = c.get(pdf["pages"][0]["image"])
        assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
        assert c.get(f"/v1/jobs/{jid}/docs/1/pages/1.png").status_code == 404  # text has no page image
        doc_id = recs[1]["doc_id"]
        text = review["docs"][1]["text"]
        a = text.index("12.50 EUR")
        ok = c.post(f"/v1/jobs/{jid}/corrections", json={"doc_id": doc_id, "path": "total", "action": "edit",
                                                         "value": "12.50 EUR", "start": a, "end": a + 9, "by": "bo"})
        assert ok.status_code == 201 and ok.json()["at"]
        _err(c.post(f"/v1/jobs/{jid}/corrections", json={"doc_id": doc_id, "path": "total", "action": "edit",
                                                          "value": "x", "start": 5, "end": 10_000}), 422)
        _err(c.post(f"/v1/jobs/{jid}/corrections", json={"doc_id": "nope", "path": "total", "action": "accept"}), 404)
        gold = c.get(f"/v1/jobs/{jid}/gold")
    path = tmp_path / "gold.jsonl"
    path.write_bytes(gold.content)
    (g,) = [json.loads(x) for x in gold.text.splitlines()]
    assert g["fields"] == {"total": "12.50 EUR"} and g["evidence"]["total"][0]["text"] == "12.50 EUR"
    gs = load_jsonl_gold(path)
    assert gs.docs[0].fields["total"] == ("12.50 EUR",) and gs.paths()[0] == (root / "sub" / "note.txt").resolve()


def test_concurrent_uploads(srv: Any) -> None:
    s, _ = srv
    results: dict[int, Any] = {}

    def one(i: int) -> None:
        with s.client() as c:
            body = f"Invoice number: UP-{i}\nTotal due: {i}.25 USD\n".encode()
            r = c.post("/v1/jobs/upload", files={"files": (f"../../evil{i}.txt", body)},
                       data={"schema": json.dumps(INVOICE_SCHEMA)})
            assert r.status_code == 202, r.text
            jid = r.json()["id"]
            wait_done(c, jid)
            results[i] = c.get(f"/v1/jobs/{jid}/results").json()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == list(range(12))
    for i, res in results.items():
        assert res["job"]["status"] == "done"
        (rec,) = res["records"]
        assert rec["values"]["invoice_number"] == f"UP-{i}"
        src = Path(rec["source"])
        assert src.name == f"000-evil{i}.txt" and src.parent.name == "uploads"  # the name cannot leave the job


def test_cancel(srv: Any) -> None:
    s, _ = srv
    paths = [f"t{i:03d}.txt" for i in range(N_TEXTS)]
    with s.client() as c:
        first = c.post("/v1/jobs", json={"paths": paths, "pipeline": "invoices"}).json()["id"]
        second = c.post("/v1/jobs", json={"paths": paths[:5], "pipeline": "invoices"}).json()["id"]
        with c.stream("GET", f"/v1/jobs/{first}/results", params={"stream": "true"}) as st:
            for line in st.iter_lines():
                if line.strip():
                    break  # the first document is done: the job is running
            assert c.post(f"/v1/jobs/{second}/cancel").status_code == 200  # waiting for the same pipeline
            assert c.post(f"/v1/jobs/{first}/cancel").status_code == 200
        a, b = wait_done(c, first), wait_done(c, second)
    assert a["status"] == "cancelled" and 1 <= a["done"] < N_TEXTS
    assert b["status"] == "cancelled" and b["done"] == 0


def test_coded_errors(srv: Any) -> None:
    s, _ = srv
    with s.client() as c:
        _err(c.get("/v1/jobs/0123456789abcdef0123456789abcdef"), 404)
        _err(c.get("/v1/jobs/../../etc"), 404)
        _err(c.post("/v1/jobs", content=b"{not json", headers={"Content-Type": "application/json"}), 422)
        _err(c.post("/v1/jobs", json={"paths": ["invoice.pdf"]}), 422)  # neither schema nor pipeline
        _err(c.post("/v1/jobs", json={"paths": ["invoice.pdf"], "pipeline": "nope"}), 404)
        r = c.post("/v1/jobs", json={"paths": ["invoice.pdf"], "schema": {"fields": {"x": "no-such-type"}}})
        assert r.status_code in (400, 422) and r.json()["error"]["code"].startswith("EVX-")
        _no_trace(r)
        _err(c.post("/v1/jobs/upload", files={"files": ("a.txt", b"a")}, data={"schema": "[1]"}), 422)
        _err(c.delete("/v1/jobs"), 405)


def _asgi(config: Any, inner: Any) -> Any:
    from evidex.serve.guards import Guards

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=Guards(inner, config)), base_url="http://t")


def test_rate_limit_and_timeout_guards(tmp_path: Path) -> None:
    import asyncio

    from evidex.serve import ServeConfig

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(float(scope["path"].strip("/") or 0))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def go() -> None:
        cfg = ServeConfig(data_dir=tmp_path, rate_per_s=0.001, burst=3, request_timeout_s=0.3, max_inflight=2)
        async with _asgi(cfg, slow) as c:
            codes = [(await c.get("/0")).status_code for _ in range(5)]
            assert codes == [200, 200, 200, 429, 429]
            r = await c.get("/0")
            assert r.json()["error"]["code"] == "EVX-S429" and r.headers["retry-after"] == "1"
        cfg = ServeConfig(data_dir=tmp_path, request_timeout_s=0.3, max_inflight=2)
        async with _asgi(cfg, slow) as c:
            r = await c.get("/5")
            assert r.status_code == 504 and r.json()["error"]["code"] == "EVX-S504"
            codes = sorted(x.status_code for x in await asyncio.gather(*(c.get("/0.2") for _ in range(3))))
            assert codes == [200, 200, 429]  # at most 2 in flight per client

    asyncio.run(go())


def test_too_many_active_jobs(tmp_path: Path) -> None:
    from evidex.serve import ServeConfig

    root = tmp_path / "root"
    root.mkdir()
    for i in range(60):
        (root / f"{i}.txt").write_text(f"Total due: {i}.00 EUR\n", encoding="utf-8")
    cfg = ServeConfig(data_dir=tmp_path / "d", root=root, token=TOKEN, max_active_jobs=1, workers=1)
    with running(cfg) as s, s.client() as c:
        paths = [f"{i}.txt" for i in range(60)]
        first = c.post("/v1/jobs", json={"paths": paths, "schema": INVOICE_SCHEMA})
        assert first.status_code == 202
        r = c.post("/v1/jobs", json={"paths": paths, "schema": INVOICE_SCHEMA})
        assert _err(r, 429)["code"] == "EVX-S429"
        wait_done(c, first.json()["id"])
        assert c.post("/v1/jobs", json={"paths": paths[:1], "schema": INVOICE_SCHEMA}).status_code == 202


def test_cli_starts_and_prints_url_and_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "EVIDEX_API_TOKEN"}
    exe = Path(sys.executable).with_name("evidex")
    p = subprocess.Popen([str(exe), "serve", "--port", "0", "--data-dir", str(tmp_path / "d")], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert p.stdout is not None
        url = token = None
        deadline = time.monotonic() + 30
        while (url is None or token is None) and time.monotonic() < deadline:
            line = p.stdout.readline()
            if "evidex serve: http://" in line:
                url = line.split()[2]
            if "API token (generated" in line:
                token = line.rsplit(" ", 1)[1].strip()
        assert url and token and (tmp_path / "d" / "token").read_text().strip() == token
        assert oct((tmp_path / "d" / "token").stat().st_mode & 0o777) == "0o600"
        for _ in range(100):
            try:
                r = httpx.get(f"{url}/v1/jobs", headers={"Authorization": f"Bearer {token}"})
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        assert r.status_code == 200
        assert httpx.get(f"{url}/openapi.json").json()["info"]["title"] == "evidex"
    finally:
        p.terminate()
        p.wait(20)


def test_process_executor_and_cache(tmp_path: Path) -> None:
    """Jobs run with the CLI's executors and cache: a process pool gives the same records as the module server."""
    from evidex.serve import ServeConfig

    root = tmp_path / "root"
    root.mkdir()
    (root / "invoice.pdf").write_bytes(invoice_pdf())
    (root / "note.txt").write_text("Invoice number: INV-7\nTotal due: 12.50 EUR\n", encoding="utf-8")
    cfg = ServeConfig(data_dir=tmp_path / "d", root=root, token=TOKEN, executor="process",
                      executor_options={"workers": 2}, cache_dir=tmp_path / "cache")
    with running(cfg) as s, s.client() as c:
        values = []
        for _ in range(2):  # the second run reads its parses from the cache
            jid = c.post("/v1/jobs", json={"paths": ["invoice.pdf", "note.txt"], "schema": INVOICE_SCHEMA}).json()["id"]
            assert wait_done(c, jid)["status"] == "done"
            values.append([r["values"] for r in c.get(f"/v1/jobs/{jid}/results").json()["records"]])
            assert c.get(f"/v1/jobs/{jid}/docs/0/pages/1.png").status_code == 200
    assert values[0] == values[1] and values[0][0]["invoice_number"] == "INV-2041"
    assert values[0][1]["total"] == {"amount": "12.50", "currency": "EUR"}
    assert any((tmp_path / "cache").rglob("*"))


def test_service_gold_trains_a_student(srv: Any, tmp_path: Path) -> None:
    """Corrections made through the API → gold JSONL → `evidex train` learns from every corrected value."""
    pytest.importorskip("sklearn")
    from typer.testing import CliRunner

    from evidex.cli.main import app

    s, _ = srv
    files = []
    for i in range(6):
        lines = [(f"Vendor{i} Corporation", 72, 720), (f"Invoice number: INV-{100 + i}", 72, 700),
                 (f"Invoice date: 2024-03-1{i}", 72, 680), (f"Total due: {i + 1},250.00 EUR", 320, 600)]
        files.append(("files", (f"inv{i}.pdf", invoice_pdf(lines))))
    with s.client() as c:
        jid = c.post("/v1/jobs/upload", files=files, data={"schema": json.dumps(INVOICE_SCHEMA)}).json()["id"]
        assert wait_done(c, jid)["status"] == "done"
        review = c.get(f"/v1/jobs/{jid}/review").json()
        n = 0
        for d in review["docs"]:
            rec = d["record"]
            for x in rec["extractions"]:
                if x["path"] == "vendor":  # fixed by selecting the text (here: its offsets)
                    a = d["text"].index("Corporation")
                    body = {"action": "edit", "value": "Corporation", "start": a, "end": a + len("Corporation")}
                else:
                    body = {"action": "accept"}
                r = c.post(f"/v1/jobs/{jid}/corrections", json={"doc_id": rec["doc_id"], "path": x["path"], **body})
                assert r.status_code == 201, r.text
                n += 1
        gold = tmp_path / "gold.jsonl"
        gold.write_bytes(c.get(f"/v1/jobs/{jid}/gold").content)
    assert n == 24 and len(gold.read_text().splitlines()) == 6
    r = CliRunner().invoke(app, ["train", str(gold), "-o", str(tmp_path / "model"), "--kind", "logistic"])
    assert r.exit_code == 0, r.output
    m = re.search(r"gold values: (\d+); matched by a candidate: (\d+)", " ".join(r.output.split()))
    assert m is not None, r.output
    assert int(m.group(1)) == n and int(m.group(2)) >= n - 6  # every accepted value is a candidate the student saw
    assert (tmp_path / "model" / "card.json").is_file()
