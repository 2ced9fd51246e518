from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SHARED_DATA = Path(os.environ.get("EVIDEX_SHARED_DATA", ROOT.parent / "shared" / "data"))
# The TTF the OCR tests draw their text with (fonts-dejavu-core; `make system-deps` installs it).
DEJAVU_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


# ---------------------------------------------------------------------------- skip report and must-run tests
# Tests on these markers need something heavy that the README's test command installs (the embedded GGUF,
# llama-cpp-python's server, an OCR engine + font, ../shared/data). Locally they may skip; in CI (``CI`` set,
# or EVIDEX_REQUIRE_ALL=1) a skip of any of them fails the run — a capability that silently stopped being
# tested must not look green. Tests using the matching fixtures get the marker automatically.
MUST_RUN_MARKERS = {
    "llm": "needs the embedded GGUF model",
    "server": "needs a real OpenAI-compatible llama.cpp server (llama-cpp-python[server])",
    "ocr": "needs an OCR engine and the DejaVu font (make system-deps)",
    "data": "needs ../shared/data (or EVIDEX_SHARED_DATA)",
}
MUST_RUN_FIXTURES = {"embedded_backend": "llm", "llama_server": "server", "shared_data": "data"}


def require_all() -> bool:
    """True in CI (``CI`` set to anything but 0/false/no) or with ``EVIDEX_REQUIRE_ALL=1``."""
    if os.environ.get("EVIDEX_REQUIRE_ALL", "").strip() == "1":
        return True
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


_must_run: set[str] = set()
_skips: list[tuple[str, str, bool]] = []  # (node id, reason, must run)


def pytest_configure(config: pytest.Config) -> None:
    for name, doc in MUST_RUN_MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {doc} (must run in CI)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        names = getattr(item, "fixturenames", ())
        for fixture, marker in MUST_RUN_FIXTURES.items():
            if fixture in names:
                item.add_marker(marker)
        if any(item.get_closest_marker(m) is not None for m in MUST_RUN_MARKERS):
            _must_run.add(item.nodeid)


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    lr = report.longrepr
    if isinstance(lr, tuple) and len(lr) == 3:
        return str(lr[2]).removeprefix("Skipped: ")
    return str(lr)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skips.append((report.nodeid, _skip_reason(report), report.nodeid in _must_run))


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.skipped:  # a whole module skipped at collection: what it holds is unknown, so it must run
        _skips.append((report.nodeid, _skip_reason(report), True))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if require_all() and any(must for _, _, must in _skips) and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    if not _skips:
        return
    tr = terminalreporter
    tr.section(f"skip report: {len(_skips)} skipped")
    for nodeid, reason, must in sorted(_skips):
        tr.write_line(f"{'MUST-RUN ' if must else ''}SKIPPED {nodeid} — {reason}")
    missed = [n for n, _, must in _skips if must]
    if missed and require_all():
        tr.write_line(
            f"FAILED: {len(missed)} must-run test(s) skipped (markers {', '.join(MUST_RUN_MARKERS)}); CI requires "
            "them — install what the reasons name (make setup, make system-deps, ../shared/data)", red=True, bold=True)
    elif missed:
        tr.write_line(f"{len(missed)} must-run test(s) skipped; this run would fail in CI (CI or EVIDEX_REQUIRE_ALL=1)",
                      yellow=True)


def needs_ocr(fn):  # type: ignore[no-untyped-def]
    """An OCR test: on the must-run ``ocr`` marker, and skipped — with a reason naming what is missing, never
    erroring — when there is no OCR engine or no DejaVu font to draw the test image with."""
    from evidex.parse.image.ocr import ocr_available

    fn = pytest.mark.skipif(not DEJAVU_FONT.is_file(),
                            reason=f"DejaVu font missing at {DEJAVU_FONT} (make system-deps: fonts-dejavu-core)")(fn)
    fn = pytest.mark.skipif(not ocr_available(),
                            reason="no OCR engine (make system-deps: tesseract-ocr; or the [ocr] extra: rapidocr)")(fn)
    return pytest.mark.ocr(fn)


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
