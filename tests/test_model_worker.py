"""The embedded model runs in a watched worker: a native crash, an abort, a kill or a hang costs one request
(one document), never the batch; a build that cannot decode is caught by a self-test in a child process.

Everything here uses the real model (Gemma 3 270M via llama-cpp-python) and real signals: the faults are
injected inside the real worker process (``ctypes.string_at(0)`` is a genuine SIGSEGV), or sent to it from
outside with ``os.kill``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from evidex.backends import Message, Request, load_backend
from evidex.backends.llamacpp import LlamaCppBackend, LlamaCppOptions, default_model_path
from evidex.backends.selftest import ensure_model_decodes, selftest_key
from evidex.errors import BackendCrashedError, BackendTimeoutError, ModelSelfTestError
from evidex.extract import ExtractOptions
from evidex.model import Schema
from evidex.pipeline import Pipeline

pytestmark = [pytest.mark.llm, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
MARKER = "ZQX-CRASH-7731"


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EVIDEX_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "selftest"


# ------------------------------------------------------------------------------------------------ self-test
def test_selftest_passes_for_the_embedded_model_and_caches_the_verdict(cache: Path) -> None:
    path = default_model_path()
    verdict = ensure_model_decodes(path)
    assert verdict["ok"] is True and verdict["token"]  # it really decoded a token
    files = list(cache.glob("*.json"))
    assert [f.stem for f in files] == [selftest_key(path)]
    # the cached verdict is used as it is: a doctored verdict file proves no child ran the second time
    doctored = dict(verdict, token="<from cache>")
    files[0].write_text(json.dumps(doctored), encoding="utf-8")
    assert ensure_model_decodes(path)["token"] == "<from cache>"


def test_selftest_key_changes_with_the_model_file(tmp_path: Path) -> None:
    path = default_model_path()
    copy = tmp_path / "copy.gguf"
    shutil.copyfile(path, copy)
    assert selftest_key(str(copy)) != selftest_key(path)
    assert selftest_key(path) == selftest_key(path)


def test_selftest_turns_a_crashing_build_into_a_coded_error(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The child really dies by SIGSEGV (injected by EVIDEX_SELFTEST_FAULT); the caller gets EVX-B005."""
    monkeypatch.setenv("EVIDEX_SELFTEST_FAULT", "segfault")
    with pytest.raises(ModelSelfTestError) as ei:
        ensure_model_decodes(default_model_path())
    e = ei.value
    assert e.code == "EVX-B005" and "SIGSEGV" in e.message
    assert "make rebuild-llama" in e.hint and "--backend none" in e.hint
    # the failing verdict is cached too: without the fault, the cached verdict still says no
    monkeypatch.delenv("EVIDEX_SELFTEST_FAULT")
    with pytest.raises(ModelSelfTestError, match="cached"):
        ensure_model_decodes(default_model_path())
    # ...and a fresh test (cache bypassed) passes
    assert ensure_model_decodes(default_model_path(), use_cache=False)["ok"]


def test_selftest_reports_an_invalid_model_file(cache: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ModelSelfTestError, match="failed to decode"):
        ensure_model_decodes(str(bad))


def test_cli_reports_a_failed_selftest_with_exit_3_and_no_traceback(cache: Path, tmp_path: Path) -> None:
    env = dict(os.environ, EVIDEX_SELFTEST_FAULT="abort", EVIDEX_CACHE_DIR=str(cache.parent))
    p = subprocess.run([str(Path(sys.executable).parent / "evidex"), "extract", str(ROOT / "examples/letter-termination.txt"),
                        "--schema", str(ROOT / "examples/schemas/letter.yaml"), "-q"],
                       capture_output=True, text=True, env=env, timeout=300, check=False)
    assert p.returncode == 3, (p.stdout, p.stderr)
    out = p.stdout + p.stderr
    assert "EVX-B005" in out and "SIGABRT" in out and "make rebuild-llama" in out
    assert "Traceback" not in out


# ------------------------------------------------------------------------------------------------ crash isolation
def _schema() -> Schema:
    return Schema.from_dict({"name": "memo", "fields": {
        "subject": {"type": "string", "description": "what the memo is about"},
    }})


def _docs(tmp_path: Path) -> list[Path]:
    texts = {
        "a.txt": "MEMO\n\nSubject: quarterly stock count\n\nPlease count the stock in aisle 4 by Friday.\n",
        "b.txt": f"MEMO\n\nSubject: fire drill {MARKER}\n\nThe fire drill is on Tuesday at 10:00.\n",
        "c.txt": "MEMO\n\nSubject: parking permits\n\nNew parking permits are available at reception.\n",
    }
    out = []
    for name, text in texts.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        out.append(tmp_path / name)
    return out


@pytest.mark.parametrize("fault", ["segfault", "abort", "kill"])
def test_a_model_crash_fails_one_document_and_the_batch_goes_on(tmp_path: Path, fault: str) -> None:
    """The worker dies for real (SIGSEGV / SIGABRT / SIGKILL as the OOM killer sends) while answering the
    request of document b; a and c are extracted by the real model, b gets EVX-B006, the worker restarts."""
    be = LlamaCppBackend(LlamaCppOptions(n_ctx=2048, n_threads=2, timeout_s=120), _fault=(MARKER, fault))
    try:
        first_pid = be.worker.pid
        pipe = Pipeline(_schema(), be, ExtractOptions(mode="generate", max_output_tokens=48))
        results = {Path(p).name: r for p, _d, r in pipe.run(_docs(tmp_path))}
        assert set(results) == {"a.txt", "b.txt", "c.txt"}
        bad = results["b.txt"]
        assert bad.error is not None and bad.error["code"] == "EVX-B006", bad.error
        expected_signal = {"segfault": "SIGSEGV", "abort": "SIGABRT", "kill": "SIGKILL"}[fault]
        assert expected_signal in bad.error["message"]
        for name in ("a.txt", "c.txt"):
            assert results[name].ok, results[name].error
            assert results[name].usage.calls >= 1 and results[name].usage.tokens_out >= 1  # the model answered
        assert be.worker.crashes == 1 and be.worker.restarts == 1
        assert be.worker.pid is not None and be.worker.pid != first_pid
    finally:
        be.close()


def test_killing_the_worker_from_outside_mid_request(embedded_backend) -> None:
    """A request in flight when the worker is SIGKILLed from outside fails with EVX-B006; the next succeeds."""
    worker = embedded_backend.worker
    assert worker is not None, "the embedded backend must run in a worker by default"
    pid = worker.pid
    long = Request((Message("user", "Count from 1 to 500, separated by commas."),), max_tokens=600)
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["ok"] = embedded_backend.generate([long])
        except Exception as e:
            box["err"] = e

    t = threading.Thread(target=run)
    t.start()
    time.sleep(1.0)  # the request is being decoded (600 tokens take several seconds on 2 cores)
    assert "ok" not in box, "the request finished before it could be interrupted"
    os.kill(pid, signal.SIGKILL)
    t.join(60)
    assert isinstance(box.get("err"), BackendCrashedError) and "SIGKILL" in str(box["err"])
    (resp,) = embedded_backend.generate([Request((Message("user", "Say hello."),), max_tokens=4)])
    assert resp.tokens_out >= 1 and worker.pid not in (None, pid)


def test_a_hung_model_times_out_and_is_replaced(tmp_path: Path) -> None:
    be = LlamaCppBackend(LlamaCppOptions(n_ctx=1024, n_threads=2, timeout_s=3), _fault=(MARKER, "hang"))
    try:
        t0 = time.monotonic()
        with pytest.raises(BackendTimeoutError):
            be.generate([Request((Message("user", f"hello {MARKER}"),), max_tokens=4)])
        assert time.monotonic() - t0 < 60  # bounded by the timeout (generous margin for a loaded machine)
        (resp,) = be.generate([Request((Message("user", "Say hello."),), max_tokens=4)])
        assert resp.tokens_out >= 1 and be.worker.restarts == 1
    finally:
        be.close()


def test_request_timeout_bounds_one_request(embedded_backend) -> None:
    """Request.timeout_s (what is left of a document's deadline) stops a long decode."""
    long = Request((Message("user", "Count from 1 to 500, separated by commas."),), max_tokens=600, timeout_s=0.5)
    with pytest.raises(BackendTimeoutError):
        embedded_backend.generate([long])
    (resp,) = embedded_backend.generate([Request((Message("user", "Say hello."),), max_tokens=4)])
    assert resp.tokens_out >= 1


def test_in_process_mode_is_still_available() -> None:
    be = load_backend("llamacpp", {"n_ctx": 1024, "n_threads": 2, "isolate": False})
    try:
        assert be.worker is None  # type: ignore[attr-defined]
        (resp,) = be.generate([Request((Message("user", "Say hello."),), max_tokens=4)])
        assert resp.tokens_out >= 1
    finally:
        be.close()
