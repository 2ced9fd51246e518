"""Executors (issue 10 §3–§4): the same records from local, process and ray on a mixed batch; a worker killed
mid-task is retried without duplicates; a document that kills its worker every time fails alone.

Records are compared whole, except ``usage.seconds`` (a timing). One local Ray per test session (2 CPUs)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evidex import registry
from evidex.errors import ConfigError
from evidex.executors import create_executor
from evidex.model import Schema
from evidex.output.jsonl import record_to_dict
from evidex.pipeline import Pipeline, run_batch
from executor_plugins import CountingBackend, calls

SCHEMA = Schema.from_dict({"name": "invoice", "fields": {"invoice_number": "str", "invoice_date": "date",
                                                         "total": "money"}})


@pytest.fixture()
def counting() -> Iterator[None]:
    registry.backends.register("counting-plugin", CountingBackend)
    try:
        yield
    finally:
        registry.backends.unregister("counting-plugin")


@pytest.fixture(scope="session")
def local_ray() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    tests = str(Path(__file__).parent)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")])}})
    try:
        yield ray
    finally:
        ray.shutdown()


def mixed_batch(d: Path, n_text: int = 8) -> list[Path]:
    """Text, HTML, CSV, e-mail and a broken PDF: every record kind (values, no values, a parse error)."""
    d.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n_text):
        p = d / f"inv{i:02d}.txt"
        p.write_text(f"Invoice number: INV-{1000 + i}\nInvoice date: {i + 1} March 2024\nTotal: {i * 7 + 3}.50 EUR\n",
                     encoding="utf-8")
        files.append(p)
    html = d / "page.html"
    html.write_text("<html><body><h1>Invoice</h1><table><tr><th>Invoice number</th><td>INV-2001</td></tr>"
                    "<tr><th>Total</th><td>99.00 EUR</td></tr></table></body></html>", encoding="utf-8")
    csv = d / "rows.csv"
    csv.write_text("invoice number,date,total\nINV-3001,2024-05-01,12.00 EUR\n", encoding="utf-8")
    eml = d / "mail.eml"
    eml.write_text("From: a@example.com\nTo: b@example.com\nSubject: Invoice INV-4001\n\nTotal: 40.00 EUR\n",
                   encoding="utf-8")
    pdf = d / "broken.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF garbage")
    return [*files, html, csv, eml, pdf]


def records(pipe: Pipeline, files: list[Path], executor: str = "local", **opts: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with create_executor(executor, opts) as ex:
        run_batch(pipe, files, executor=ex, on_result=lambda p, d, r: out.append(record_to_dict(d, r)))
    for r in out:
        r["usage"]["seconds"] = 0.0  # the one timing field: everything else must be identical
    return out


def _pipe(log: Path | None, **backend: Any) -> Pipeline:
    if log is None:
        return Pipeline.create(SCHEMA, None, isolate=True)
    return Pipeline.create(SCHEMA, "counting-plugin", {"log": str(log), **backend},
                           options=__import__("evidex").extract.ExtractOptions(mode="generate"), isolate=True)


def test_process_pool_gives_the_records_of_the_local_run(tmp_path: Path, counting: None) -> None:
    files = mixed_batch(tmp_path / "in")
    log = tmp_path / "calls.log"
    with _pipe(log) as pipe:
        local = records(pipe, files)
        n_local = calls(log)
        pooled = records(pipe, files, "process", workers=2, chunk_size=3)
    assert [r["source"] for r in local] == [str(f) for f in files]  # input order
    assert pooled == local
    assert json.dumps(pooled, sort_keys=True) == json.dumps(local, sort_keys=True)
    assert sum(r["ok"] for r in local) == len(files) - 1  # the broken PDF alone fails
    assert local[0]["values"]["invoice_number"] == "INV-1000"
    assert calls(log) == 2 * n_local > 0  # every parsed document asked the model once per run, none twice
    assert len({line for line in log.read_text().splitlines()[n_local:]}) == 2  # from two worker processes


def test_process_worker_killed_mid_task_is_retried_without_duplicates(tmp_path: Path, counting: None) -> None:
    files = mixed_batch(tmp_path / "in")
    log, marker = tmp_path / "calls.log", tmp_path / "killed"
    with _pipe(log, kill_once=str(marker)) as pipe:
        got = records(pipe, files, "process", workers=2, chunk_size=2)
        assert marker.exists()  # a worker really died mid-task
        expected = records(pipe, files)  # the same spec, in this process (the marker is there: no kill)
    assert got == expected  # one record per input, in order, none lost, none twice


def test_a_document_that_kills_its_worker_every_time_fails_alone(tmp_path: Path, counting: None) -> None:
    files = mixed_batch(tmp_path / "in", n_text=5)
    with _pipe(tmp_path / "calls.log", kill_on="INV-1002") as pipe:
        got = records(pipe, files, "process", workers=2, chunk_size=3, max_retries=1)
    assert [r["source"] for r in got] == [str(f) for f in files]
    bad = [r for r in got if r["error"] and r["error"]["code"] == "EVX-D017"]
    assert [r["source"] for r in bad] == [str(files[2])]
    assert got[3]["values"]["invoice_number"] == "INV-1003"  # its chunk-mates were re-run and kept


def test_ray_gives_the_records_of_the_local_run(tmp_path: Path, counting: None, local_ray: Any) -> None:
    files = mixed_batch(tmp_path / "in")
    log = tmp_path / "calls.log"
    with _pipe(log) as pipe:
        local = records(pipe, files)
        on_ray = records(pipe, files, "ray", num_cpus=0.5, chunk_size=3)
    assert on_ray == local
    # rules mode (no model) too: nothing in the pipeline depends on where it runs
    with _pipe(None) as pipe:
        assert records(pipe, files, "ray", num_cpus=0.5) == records(pipe, files)


def test_ray_worker_killed_mid_task_is_retried_without_duplicates(tmp_path: Path, counting: None,
                                                                  local_ray: Any) -> None:
    files = mixed_batch(tmp_path / "in")
    log, marker = tmp_path / "calls.log", tmp_path / "killed"
    with _pipe(log, kill_once=str(marker)) as pipe:
        got = records(pipe, files, "ray", num_cpus=0.5, chunk_size=4)
        assert marker.exists()  # a Ray worker really died mid-task
        expected = records(pipe, files)
    assert got == expected


def test_cli_process_executor_with_a_cache(tmp_path: Path, counting: None) -> None:
    from typer.testing import CliRunner

    from evidex.cli.main import app

    files = mixed_batch(tmp_path / "in", n_text=4)
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps(SCHEMA.to_dict()), encoding="utf-8")
    log = tmp_path / "calls.log"
    common = ["extract", *map(str, files), "-s", str(schema), "--backend", "counting-plugin", "--backend-option",
              f"log={log}", "--mode", "generate", "-q", "--cost-per-mtok", "2"]

    def run(out: str, *extra: str) -> tuple[list[dict[str, Any]], str]:
        r = CliRunner().invoke(app, [*common, "-o", str(tmp_path / out), *extra])
        assert r.exit_code == 1, r.output  # the broken PDF fails
        recs = [json.loads(x) for x in (tmp_path / out).read_text(encoding="utf-8").splitlines()]
        for x in recs:
            x["usage"]["seconds"] = 0.0
        return recs, r.output

    local, _ = run("local.jsonl")
    paid = calls(log)
    pooled, text = run("pool.jsonl", "--executor", "process", "--workers", "2", "--cache", str(tmp_path / "c"))
    assert pooled == local and calls(log) == 2 * paid
    assert "estimated cost: $" in text
    again, text = run("again.jsonl", "--executor", "process", "--workers", "2", "--cache", str(tmp_path / "c"))
    assert again == local and calls(log) == 2 * paid  # everything came from the cache
    assert f"{paid} of {paid} model calls reused" in text and f"{len(files) - 1} of {len(files)} parses" in text
    _, text = run("nocache.jsonl", "--cache", str(tmp_path / "c"), "--no-cache")
    assert calls(log) == 3 * paid and "reused" not in text
    r = CliRunner().invoke(app, [*common, "--ray-address", "auto"])
    assert r.exit_code != 0 and "--ray-address needs --executor ray" in str(r.exception or r.output)
    r = CliRunner().invoke(app, [*common, "--workers", "2"])
    assert r.exit_code != 0 and "--workers needs --executor process or ray" in str(r.exception or r.output)


def test_fail_fast_gives_the_same_records_from_a_pool(tmp_path: Path, counting: None) -> None:
    """The backend is down: after 3 documents in a row failed because of it, the rest are not processed —
    decided on the ordered stream in the parent, so the records do not depend on what was in flight."""
    files = mixed_batch(tmp_path / "in")
    with _pipe(tmp_path / "calls.log", down=True) as pipe:
        local = records(pipe, files)
        assert pipe.gave_up
        pooled = records(pipe, files, "process", workers=2, chunk_size=2)
        assert pipe.gave_up
    assert pooled == local
    codes = [r["error"]["code"] for r in local]
    assert codes[:3] == ["EVX-B001"] * 3 and set(codes[3:]) == {"EVX-B008"}


def test_ctrl_c_with_a_process_pool_then_resume_gives_one_record_per_input(tmp_path: Path) -> None:
    """Ctrl-C at a terminal signals the whole process group (the pool's workers too): the run stops quickly
    with the summary and exit 130, the JSONL holds whole records only, and --resume completes it exactly once."""
    import signal
    import subprocess
    import sys
    import time

    d = tmp_path / "in"
    d.mkdir()
    for i in range(600):
        (d / f"d{i:04d}.txt").write_text(f"Invoice number: INV-{i:05d}\nTotal: {i}.00 EUR\n", encoding="utf-8")
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps(SCHEMA.to_dict()), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    cmd = [str(Path(sys.executable).parent / "evidex"), "extract", str(d), "-s", str(schema), "--backend", "none",
           "-q", "-o", str(out), "--executor", "process", "--workers", "2", "--in-process"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not (out.exists() and out.stat().st_size > 2000):
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    if proc.returncode == 0 and "interrupted" not in stderr:
        pytest.skip("the run finished before the interrupt arrived")
    assert proc.returncode == 130, stderr
    assert "interrupted after" in stderr and "summary" in stdout
    first = [json.loads(x)["source"] for x in out.read_text(encoding="utf-8").splitlines()]
    assert 0 < len(first) < 600 and len(set(first)) == len(first)
    r = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    sources = [json.loads(x)["source"] for x in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(sources) == sorted(str(p) for p in d.iterdir())  # every input exactly once


def test_a_pipeline_that_cannot_be_built_in_the_workers_is_an_error_not_crashed_documents(tmp_path: Path) -> None:
    class LocalOnly(CountingBackend):  # defined in a function: not importable by a worker process
        name = "local-only-plugin"

    registry.backends.register("local-only-plugin", LocalOnly)
    try:
        with Pipeline.create(SCHEMA, "local-only-plugin", {"log": str(tmp_path / "log")}) as pipe, \
                pytest.raises(ConfigError, match="local-only-plugin") as e:
            records(pipe, mixed_batch(tmp_path / "in", n_text=2), "process", workers=2)
        assert "not found" in str(e.value)  # the worker's own error, not crashed documents
    finally:
        registry.backends.unregister("local-only-plugin")
