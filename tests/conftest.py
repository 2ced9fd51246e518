from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SHARED_DATA = Path(os.environ.get("EVIDEX_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    return EXAMPLES


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared datasets not found at {SHARED_DATA} (set EVIDEX_SHARED_DATA)")
    return SHARED_DATA


# ---------------------------------------------------------------------------- offset oracle on every extraction
@pytest.fixture(autouse=True)
def _offset_oracle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Result any in-process test produces is checked: doc.text[s:e] is the quoted evidence."""
    try:
        from evidex.extract.engine import Extractor
    except ImportError:  # pragma: no cover - extraction not importable in a partial install
        return
    from oracle import check_result

    original = Extractor.extract

    def checked(self: Extractor, doc, schema):  # type: ignore[no-untyped-def]
        result = original(self, doc, schema)
        check_result(result, doc)
        return result

    monkeypatch.setattr(Extractor, "extract", checked)


# ---------------------------------------------------------------------------- real model, loaded once per session
@pytest.fixture(scope="session")
def embedded_backend():  # type: ignore[no-untyped-def]
    """The embedded default (Gemma 3 270M via llama-cpp-python), shared by every test in the session.

    Not skipped when missing: the README's test command installs it, so its absence is a failure.
    """
    from evidex.backends import load_backend

    be = load_backend("llamacpp", {"n_ctx": 4096, "n_threads": 2})
    yield be
    be.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def llama_server():  # type: ignore[no-untyped-def]
    """A real OpenAI-compatible llama.cpp server (llama-cpp-python[server]) on loopback with the same GGUF."""
    import subprocess
    import time
    import urllib.request

    from evidex.backends.llamacpp import default_model_path

    port = _free_port()
    log = open(os.path.join(os.environ.get("TMPDIR", "/tmp"), f"evidex-llama-server-{port}.log"), "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", default_model_path(), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "4096", "--n_threads", "2", "--chat_format", "gemma"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama.cpp server exited with {proc.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(f"{base}/models", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("llama.cpp server did not start within 120 s")
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
