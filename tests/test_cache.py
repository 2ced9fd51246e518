"""The content-addressed cache (issue 10 §2): a rerun pays for nothing it already paid for, a changed schema
field pays only for that field, pool workers share one cache, concurrent writers never tear an entry, and the
size bound evicts the least recently used entries. Backend calls are counted by a plugin backend that logs
each call to a file (from whichever process makes it)."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evidex import registry
from evidex.backends.base import Message, Request, Response
from evidex.executors import create_executor
from evidex.extract import ExtractOptions
from evidex.model import Schema
from evidex.output.jsonl import record_to_dict
from evidex.pipeline import Cache, Pipeline, RunStats, run_batch
from evidex.pipeline.cache import request_key
from executor_plugins import CountingBackend, calls
from test_executors import mixed_batch

FIELDS = {"invoice_number": "str", "invoice_date": "date", "total": "money"}
CHOICE = ExtractOptions(mode="choice", scorer="choice", context_tokens=0)


@pytest.fixture()
def counting() -> Iterator[None]:
    registry.backends.register("counting-plugin", CountingBackend)
    try:
        yield
    finally:
        registry.backends.unregister("counting-plugin")


def _run(files: list[Path], log: Path, cache: Cache | None, fields: dict[str, str] = FIELDS,
         executor: str = "local", **opts: Any) -> tuple[list[dict[str, Any]], RunStats]:
    schema = Schema.from_dict({"name": "invoice", "fields": fields})
    out: list[dict[str, Any]] = []
    with Pipeline.from_spec(Pipeline.create(schema, "counting-plugin", {"log": str(log)}, options=CHOICE).spec,
                            cache=cache) as pipe, create_executor(executor, opts) as ex:
        stats = run_batch(pipe, files, executor=ex, on_result=lambda p, d, r: out.append(record_to_dict(d, r)))
    for r in out:
        r["usage"]["seconds"] = 0.0
    return out, stats


def test_a_rerun_pays_for_nothing_and_reports_the_savings(tmp_path: Path, counting: None) -> None:
    files = mixed_batch(tmp_path / "in")
    log = tmp_path / "calls.log"
    uncached, _ = _run(files, log, None)
    paid = calls(log)
    assert paid > 0
    first, s1 = _run(files, log, Cache(tmp_path / "cache"))
    assert calls(log) == 2 * paid and first == uncached  # the cache changes no record
    assert (s1.cache.parse_hits, s1.cache.model_hits) == (0, 0)
    assert s1.cache.parse_misses == len(files)
    assert s1.cache.model_misses == paid
    second, s2 = _run(files, log, Cache(tmp_path / "cache"))
    assert calls(log) == 2 * paid  # not one call more
    assert second == uncached
    assert s2.cache.parse_hits == len(files) - 1 and s2.cache.parse_misses == 1  # parse errors are not cached
    assert s2.cache.model_hits == paid and s2.cache.model_misses == 0
    assert s2.cache.tokens_saved == s2.usage.tokens_in + s2.usage.tokens_out > 0
    assert s2.cache.seconds_saved > 0


def test_a_changed_schema_field_pays_only_for_that_field(tmp_path: Path, counting: None) -> None:
    files = mixed_batch(tmp_path / "in")
    cache = tmp_path / "cache"
    log = tmp_path / "calls.log"
    _run(files, log, Cache(cache))
    before = calls(log)
    alone = tmp_path / "alone.log"
    _run(files, alone, None, fields={"due_date": "date"})  # what the new field costs by itself
    assert calls(alone) > 0
    changed, stats = _run(files, log, Cache(cache), fields={**FIELDS, "due_date": "date"})
    assert calls(log) - before == calls(alone)  # the three unchanged fields came from the cache
    # every miss was a question about the new field; every other question asked was answered from the cache
    assert stats.cache.model_misses == calls(alone) and 0 < stats.cache.model_hits <= before
    assert stats.cache.parse_hits == len(files) - 1
    assert changed[0]["values"]["invoice_number"] == "INV-1000"


def test_pool_workers_share_one_cache(tmp_path: Path, counting: None) -> None:
    files = mixed_batch(tmp_path / "in")
    log = tmp_path / "calls.log"
    local, s1 = _run(files, log, Cache(tmp_path / "cache"))
    paid = calls(log)
    pooled, s2 = _run(files, log, Cache(tmp_path / "cache"), executor="process", workers=2, chunk_size=3)
    assert calls(log) == paid and pooled == local
    # the workers' hits are counted in the parent's summary
    assert s2.cache.model_hits == s1.cache.model_misses and s2.cache.parse_hits == len(files) - 1


def _writer(root: str, worker: int, n: int) -> None:
    cache = Cache(root, max_bytes=10**9)
    for i in range(n):
        cache.put("model", f"shared{i % 5:02d}" + "0" * 56, Response(f"shared-{i % 5}", tokens_in=i % 5))
        cache.put("model", f"own{worker:02d}{i:03d}" + "0" * 56, Response(f"w{worker}-{i}"))
        got = cache.get("model", f"shared{(i + 2) % 5:02d}" + "0" * 56)
        assert got is None or got.text == f"shared-{(i + 2) % 5}", got


def test_concurrent_writers_never_tear_an_entry(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("forkserver")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w, 60)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]  # no reader ever saw a torn or wrong entry
    cache = Cache(tmp_path)
    for i in range(5):
        assert cache.get("model", f"shared{i:02d}" + "0" * 56).text == f"shared-{i}"
    for w in range(4):
        assert all(cache.get("model", f"own{w:02d}{i:03d}" + "0" * 56).text == f"w{w}-{i}" for i in range(60))
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".tmp-")]  # no temporary file left


def test_the_size_bound_evicts_the_least_recently_used(tmp_path: Path) -> None:
    cache = Cache(tmp_path, max_bytes=10**9)
    keys = [f"{i:04d}" + "0" * 60 for i in range(40)]
    for i, k in enumerate(keys):
        cache.put("model", k, Response("x" * 2000))
        os.utime(cache._path("model", k), (1_000_000 + i, 1_000_000 + i))  # a clear use order
    os.utime(cache._path("model", keys[0]), (2_000_000, 2_000_000))  # the oldest was just used again
    cache = Cache(tmp_path, max_bytes=40_000)
    assert cache.size() > 40_000
    assert cache.evict() > 0
    assert cache.size() <= 40_000
    assert cache.get("model", keys[0]) is not None and cache.get("model", keys[-1]) is not None
    assert cache.get("model", keys[1]) is None  # least recently used: gone


def test_only_deterministic_requests_are_cached() -> None:
    ident = {"backend": "b", "options": {"model_path": "m.gguf"}}
    r = Request((Message("user", "hi"),), max_tokens=8)
    assert request_key(ident, r) is not None
    assert request_key(ident, Request((Message("user", "hi"),), max_tokens=8, temperature=0.7)) is None
    # everything that decides the answer is in the key; a log tag and a wait bound are not
    assert request_key(ident, r) != request_key(ident, Request((Message("user", "hi"),), max_tokens=9))
    assert request_key(ident, r) != request_key({**ident, "options": {"model_path": "n.gguf"}}, r)
    assert request_key(ident, r) == request_key(ident, Request((Message("user", "hi"),), max_tokens=8, tag="d1",
                                                               timeout_s=3.0))
