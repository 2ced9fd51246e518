"""Prove, in a child process, that a GGUF model can decode one token with the installed llama.cpp build.

A llama.cpp build can compile kernels the CPU advertises but the process may not use (AMX tiles inside some
VMs, AVX-512 on a machine without it): the first decode then dies with a signal, taking the caller with it.
:func:`ensure_model_decodes` runs that first decode in a throwaway child instead, once per model file and
build, and caches the verdict on disk, so a broken build becomes a coded :class:`ModelSelfTestError` with a
hint — never a segfault of the user's batch.

The cache key covers the model file (path, size, mtime) and the native libraries of ``llama_cpp`` (names,
sizes, mtimes), so a rebuild or another model is tested afresh. Verdict files live in
``$EVIDEX_CACHE_DIR/selftest`` (default ``~/.cache/evidex/selftest``). Time-outs are not cached (a busy
machine is not a broken build).

Run by hand: ``python -m evidex.backends.selftest [MODEL.gguf]``. Testing hook: the environment variable
``EVIDEX_SELFTEST_FAULT`` (a fault name of :data:`evidex._proc.FAULTS`) makes the child misbehave for real;
it exists only for tests.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from evidex._proc import describe_exit
from evidex.errors import MissingDependencyError, ModelSelfTestError

__all__ = ["cache_dir", "ensure_model_decodes", "selftest_key"]

SELFTEST_VERSION = 1
DEFAULT_TIMEOUT_S = 180.0


def cache_dir() -> Path:
    base = os.environ.get("EVIDEX_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "evidex")
    return Path(base) / "selftest"


def _native_libs() -> list[Path]:
    import importlib.util

    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("llama-cpp-python is not installed", hint="pip install 'evidex[llm]'")
    root = Path(next(iter(spec.submodule_search_locations)))
    libs = sorted(p for p in root.rglob("*") if p.is_file() and (p.suffix in (".so", ".dylib", ".dll") or ".so." in p.name))
    return libs


def selftest_key(model_path: str) -> str:
    """Identity of (model file, llama.cpp build, Python): what the verdict depends on."""
    h = hashlib.sha256(f"v{SELFTEST_VERSION} {sys.version_info[:3]} {sys.platform}".encode())
    st = os.stat(model_path)
    h.update(f"model {os.path.realpath(model_path)} {st.st_size} {st.st_mtime_ns}".encode())
    for lib in _native_libs():
        ls = lib.stat()
        h.update(f"lib {lib.name} {ls.st_size} {ls.st_mtime_ns}".encode())
    return h.hexdigest()[:32]


def _hint() -> str:
    return ("this llama-cpp-python build cannot run here; rebuild it portably with `make rebuild-llama` "
            "(or: CMAKE_ARGS='-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF' "
            "pip install --force-reinstall --no-cache-dir --no-binary llama-cpp-python llama-cpp-python), "
            "or run without the model: --backend none")


def ensure_model_decodes(model_path: str, *, timeout_s: float = DEFAULT_TIMEOUT_S, use_cache: bool = True) -> dict[str, Any]:
    """Return the (cached) passing verdict, or raise :class:`ModelSelfTestError`."""
    key = selftest_key(model_path)
    verdict_file = cache_dir() / f"{key}.json"
    if use_cache:
        with contextlib.suppress(OSError, ValueError):
            verdict: dict[str, Any] = json.loads(verdict_file.read_text(encoding="utf-8"))
            if verdict.get("ok"):
                return verdict
            raise ModelSelfTestError(
                f"{verdict.get('detail', 'the model failed its self-test')} (verdict cached in {verdict_file}; "
                "delete it to test again)", hint=_hint())
    t0 = time.monotonic()
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    try:
        proc = subprocess.run([sys.executable, "-m", "evidex.backends.selftest", "--child", model_path],
                              capture_output=True, timeout=timeout_s, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise ModelSelfTestError(f"the model did not decode one token within {timeout_s:.0f}s (not cached)",
                                 hint="the machine may be overloaded; try again, or " + _hint()) from None
    seconds = time.monotonic() - t0
    out = proc.stdout.decode("utf-8", "replace").strip().splitlines()
    result: dict[str, Any] = {}
    with contextlib.suppress(ValueError, IndexError):
        result = json.loads(out[-1])
    if proc.returncode == 0 and result.get("ok"):
        verdict = {"ok": True, "model": model_path, "seconds": round(seconds, 2), "token": result.get("token"),
                   "when": time.strftime("%Y-%m-%dT%H:%M:%S")}
    elif proc.returncode == 3 and result.get("missing"):
        raise MissingDependencyError(str(result.get("error")), hint="pip install 'evidex[llm]'")
    else:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        detail = (f"the model crashed decoding one token with this llama.cpp build ({describe_exit(proc.returncode)})"
                  if proc.returncode < 0 else
                  f"the model failed to decode one token ({describe_exit(proc.returncode)}: "
                  f"{result.get('error') or ' / '.join(tail) or 'no output'})")
        verdict = {"ok": False, "model": model_path, "detail": detail[:600], "when": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if use_cache:
        _write_atomic(verdict_file, verdict)
    if not verdict["ok"]:
        raise ModelSelfTestError(str(verdict["detail"]), hint=_hint())
    return verdict


def _write_atomic(path: Path, data: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, path)


def _child(model_path: str) -> int:
    """Load the model and decode one token greedily; print a JSON verdict line."""
    try:
        import llama_cpp
    except ImportError as e:
        print(json.dumps({"ok": False, "missing": True, "error": f"llama-cpp-python is not installed: {e}"}))
        return 3
    fault = os.environ.get("EVIDEX_SELFTEST_FAULT")  # tests only: make this child die for real
    if fault:
        from evidex._proc import inject_fault

        inject_fault(fault)
    try:
        llm = llama_cpp.Llama(model_path=model_path, n_ctx=64, n_batch=16, n_threads=1, verbose=False)
        toks = llm.tokenize(b"The capital of France is", add_bos=True)
        llm.eval(toks)
        tok = llm.sample(top_k=1, temp=0.0)
        piece = llm.detokenize([tok]).decode("utf-8", "replace")
        llm.close()
    except Exception as e:
        print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"[:400]}))
        return 1
    print(json.dumps({"ok": True, "token": piece}))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "--child":
        return _child(args[1])
    from evidex.backends.llamacpp import default_model_path
    from evidex.errors import EvidexError

    path = args[0] if args else default_model_path()
    try:
        verdict = ensure_model_decodes(path, use_cache=False)
    except EvidexError as e:
        print(e, file=sys.stderr)
        return 1
    print(json.dumps(verdict))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
