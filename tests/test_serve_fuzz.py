"""API fuzz: schemathesis generates requests for every operation of the live OpenAPI document (valid and
invalid bodies, parameters and uploads, with and without the token); no answer may be a 5xx, every error is a
coded JSON error without a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from servekit import INVOICE_SCHEMA, TOKEN, invoice_pdf, running

pytest.importorskip("fastapi")
schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402

EXAMPLES = 30  # per operation and generation mode: keeps the pass well under a minute on 2 cores


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from evidex.model import Schema
    from evidex.pipeline import PipelineSpec
    from evidex.serve import ServeConfig

    base = tmp_path_factory.mktemp("fuzz")
    root = base / "root"
    root.mkdir()
    (root / "invoice.pdf").write_bytes(invoice_pdf())
    (root / "a.txt").write_text("Invoice number: F-1\nTotal due: 3.00 EUR\n", encoding="utf-8")
    spec = PipelineSpec.create(Schema.from_dict(INVOICE_SCHEMA), backend=None)
    cfg = ServeConfig(data_dir=base / "data", root=root, token=TOKEN, specs={"invoices": spec}, rate_per_s=10_000,
                      burst=10_000, max_active_jobs=10_000, max_inflight=64, max_body_bytes=2_000_000)
    with running(cfg) as s:
        with s.client() as c:  # one real job, so job routes are reached with an existing id too
            s.job_id = c.post("/v1/jobs", json={"paths": ["invoice.pdf"], "pipeline": "invoices"}).json()["id"]
        yield s


def _check(case: Any, server: Any) -> None:
    if case.path_parameters and "job_id" in case.path_parameters and hash(str(case.path_parameters)) % 3 == 0:
        case.path_parameters["job_id"] = server.job_id
    who = hash(repr(case.body)[:64] + case.path) % 6  # 0: no token, 1: the generated (bogus) one, else the real one
    hdrs = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    if who == 1 and case.headers and "Authorization" in case.headers:
        hdrs["Authorization"] = case.headers["Authorization"]
    elif who >= 2:
        hdrs["Authorization"] = f"Bearer {TOKEN}"
    case.headers = hdrs
    anonymous = "Authorization" not in hdrs or hdrs["Authorization"] != f"Bearer {TOKEN}"
    r = case.call(base_url=server.url)
    assert r.status_code < 500, (case.method, case.path, r.status_code, r.text[:500])
    assert "Traceback" not in r.text
    if r.status_code >= 400:
        err = r.json()["error"]
        assert err["code"].startswith("EVX-") and err["status"] == r.status_code
    if anonymous and case.path.startswith("/v1/"):
        assert r.status_code in (401, 403, 404, 405, 413, 422), (case.method, case.path, r.status_code)


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_no_server_errors(fuzz_server: Any, mode: str) -> None:
    api = schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json")
    ops = [r.ok() for r in api.get_all_operations()]
    assert len(ops) >= 10
    fuzzed = 0
    for op in ops:
        try:
            strategy = op.as_strategy(generation_mode=schemathesis.GenerationMode(mode))
        except Exception as e:  # an operation without negative space (no parameters to break)
            if mode == "negative":
                continue
            raise e

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=strategy)
        def run(case: Any) -> None:
            _check(case, fuzz_server)

        try:
            run()
        except Unsatisfiable:  # nothing invalid to generate for this operation (e.g. no parameters)
            assert mode == "negative"
            continue
        fuzzed += 1
    assert fuzzed >= (len(ops) if mode == "positive" else 5)


def test_openapi_document(fuzz_server: Any, tmp_path: Path) -> None:
    import httpx

    doc = httpx.get(f"{fuzz_server.url}/openapi.json").json()
    ops = {(p, m) for p, v in doc["paths"].items() for m in v}
    assert {("/v1/jobs", "post"), ("/v1/jobs/upload", "post"), ("/v1/jobs/{job_id}/results", "get"),
            ("/v1/jobs/{job_id}/cancel", "post"), ("/v1/jobs/{job_id}/corrections", "post"),
            ("/v1/jobs/{job_id}/gold", "get")} <= ops
