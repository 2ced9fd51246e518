"""A content-addressed cache of parses and model calls, on disk, bounded in size, safe under concurrent writers.

A rerun over the same inputs — with a changed schema field, another scorer, a resumed batch — pays only for what
changed:

- **parses** are keyed by the input's bytes (SHA-256), its path, the parser chosen for it (name + version), the
  parse limits and the evidex version;
- **model calls** are keyed by the backend's name and model identity (its options, without the ones that only
  govern how a call is made: timeouts, retries, threads) and the *whole* request (messages, JSON schema, grammar,
  max_tokens, temperature, seed, stop, logprobs, continuations). Only deterministic requests (temperature 0) are
  cached; a cached response is returned as it was received, except that its ``seconds`` is 0 (no time spent).

Entries are files named by their key's hash under ``DIR/parse`` and ``DIR/model``, written to a temporary file and
moved into place with :func:`os.replace`, so any number of processes (a process pool, Ray workers on one host)
can share one directory: a reader sees a whole entry or none. When the directory grows past ``max_bytes`` the
least recently used entries (by modification time, refreshed on every hit) are removed down to 80 % of the bound.

Entries are Python pickles of evidex's own data types: the cache directory must be as trusted as the code (it is
the user's own ``~/.cache/evidex/cache`` by default); a corrupt or unreadable entry is a miss, never an error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import pickle
import tempfile
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidex.backends.base import Backend, Request, Response
from evidex.errors import DocumentError
from evidex.model import Document
from evidex.structure.limits import Limits

DEFAULT_CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "evidex" / "cache"
DEFAULT_MAX_BYTES = 2 * 1024**3
CACHE_FORMAT = "evidex.cache/1"
# backend options that change how a call is made, never what it answers
_RUN_ONLY_OPTIONS = frozenset({"timeout_s", "max_retries", "backoff_s", "max_backoff_s", "n_threads", "isolate",
                               "selftest", "api_key_env", "n_batch"})


@dataclass
class CacheStats:
    """Hits and misses of one run (or one worker's share of it); ``tokens_saved``/``seconds_saved``: what the
    cached model calls cost when they were first made."""

    parse_hits: int = 0
    parse_misses: int = 0
    model_hits: int = 0
    model_misses: int = 0
    tokens_saved: int = 0
    seconds_saved: float = 0.0

    def __add__(self, o: CacheStats) -> CacheStats:
        return CacheStats(*(a + b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(o), strict=True)))

    def __sub__(self, o: CacheStats) -> CacheStats:
        return CacheStats(*(a - b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(o), strict=True)))

    def copy(self) -> CacheStats:
        return dataclasses.replace(self)

    @property
    def hits(self) -> int:
        return self.parse_hits + self.model_hits

    @property
    def lookups(self) -> int:
        return self.hits + self.parse_misses + self.model_misses


@dataclass(frozen=True)
class CacheConfig:
    """Where a cache lives and how big it may grow: what a worker process needs to open the same cache."""

    dir: str
    max_bytes: int = DEFAULT_MAX_BYTES


class Cache:
    """One cache directory (see the module docstring). Thread- and process-safe; counts its hits in :attr:`stats`."""

    def __init__(self, dir: str | os.PathLike[str] = DEFAULT_CACHE_DIR, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.config = CacheConfig(str(Path(dir).expanduser()), int(max_bytes))
        self.root = Path(self.config.dir)
        self.stats = CacheStats()
        self._lock = threading.Lock()
        self._written = 0  # bytes written since the last size check

    @staticmethod
    def from_config(config: CacheConfig) -> Cache:
        return Cache(config.dir, config.max_bytes)

    # ------------------------------------------------------------------ keys
    @staticmethod
    def key(kind: str, parts: Mapping[str, Any]) -> str:
        blob = json.dumps({"format": CACHE_FORMAT, "kind": kind, **parts}, sort_keys=True, ensure_ascii=False,
                          default=repr)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / f"{key}.pkl"

    # ------------------------------------------------------------------ get / put
    def get(self, kind: str, key: str) -> Any | None:
        p = self._path(kind, key)
        try:
            with p.open("rb") as f:
                value = pickle.load(f)
        except FileNotFoundError:
            return None
        except Exception:  # torn by a crash (impossible with os.replace, but a disk can lie) or stale: a miss
            return None
        with contextlib.suppress(OSError):
            os.utime(p)  # recently used: evicted last
        return value

    def put(self, kind: str, key: str, value: Any) -> None:
        p = self._path(kind, key)
        try:
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # not picklable (a plugin's exotic type): simply not cached
            return
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".pkl", dir=p.parent)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, p)  # atomic: concurrent readers see the old entry, the new one, or none
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError:
            return  # a full or read-only disk makes the cache useless, not the run
        with self._lock:
            self._written += len(data)
            check = self._written > max(self.config.max_bytes // 20, 1)
            if check:
                self._written = 0
        if check:
            self.evict()

    def size(self) -> int:
        return sum(f.stat().st_size for f in self._entries())

    def _entries(self) -> list[Path]:
        out: list[Path] = []
        for kind in ("parse", "model"):
            base = self.root / kind
            if base.is_dir():
                out.extend(p for p in base.glob("*/*.pkl") if not p.name.startswith(".tmp-"))
        return out

    def evict(self) -> int:
        """Remove least recently used entries until the cache is under 80 % of its bound; the bytes freed."""
        sized = []
        for p in self._entries():
            try:
                st = p.stat()
            except OSError:
                continue
            sized.append((st.st_mtime, st.st_size, p))
        total = sum(s for _, s, _ in sized)
        if total <= self.config.max_bytes:
            return 0
        target, freed = int(self.config.max_bytes * 0.8), 0
        for _, size, p in sorted(sized, key=lambda t: t[0]):
            if total - freed <= target:
                break
            with contextlib.suppress(OSError):
                p.unlink()  # another process may have removed it already
                freed += size
        return freed

    # ------------------------------------------------------------------ counting
    def count(self, **deltas: float) -> None:
        with self._lock:
            for k, v in deltas.items():
                setattr(self.stats, k, getattr(self.stats, k) + v)


# -------------------------------------------------------------------------------------------------- parses
def parse_key(data: bytes, path: str, fmt: str, parser_version: str, limits: Any) -> str:
    from evidex import __version__

    return Cache.key("parse", {
        "sha256": hashlib.sha256(data).hexdigest(), "path": path, "abspath": os.path.abspath(path),
        "parser": f"{fmt}@{parser_version}", "limits": dataclasses.asdict(limits), "evidex": __version__,
    })


def parse_cached(
    paths: Iterable[str | os.PathLike[str]], cache: Cache, *, limits: Limits, isolate: bool = False
) -> Iterator[tuple[str, Document | DocumentError]]:
    """:func:`evidex.parse.parse_many` through the cache: in input order, a file whose entry exists is not parsed
    again; the others are parsed (in a watched worker with ``isolate``) and stored. Parse errors are not cached
    (a crash or a timeout may not happen again)."""
    from evidex import registry
    from evidex.parse import parse_many, read_input
    from evidex.parse.sniff import sniff

    feed: deque[str] = deque()

    def misses() -> Iterator[str]:
        while feed:  # pulled exactly once per miss: each miss is queued just before its result is asked for
            yield feed.popleft()

    parser: Iterator[tuple[str, Document | DocumentError]] | None = None
    try:
        for p in paths:
            path = str(p)
            key = None
            try:
                data = read_input(path, limits)
                fmt = sniff(data, path, None)
                key = parse_key(data, path, fmt, registry.parsers.version(fmt) if fmt in registry.parsers else "?",
                                limits)
            except Exception:  # unreadable, unknown type, a plugin that fails to import: the parser reports it
                key = None
            hit = cache.get("parse", key) if key is not None else None
            if isinstance(hit, Document):
                cache.count(parse_hits=1)
                yield path, hit
                continue
            feed.append(path)
            if parser is None:
                parser = parse_many(misses(), limits=limits, isolate=isolate)
            got_path, parsed = next(parser)
            if key is not None:
                cache.count(parse_misses=1)
                if isinstance(parsed, Document):
                    cache.put("parse", key, parsed)
            yield got_path, parsed
    finally:
        if parser is not None:
            close = getattr(parser, "close", None)
            if close is not None:
                close()


# -------------------------------------------------------------------------------------------------- model calls
def model_identity(backend: Backend) -> dict[str, Any]:
    """The backend's name and the options that decide what it answers."""
    opts: dict[str, Any] = {}
    for attr in ("o", "options"):
        o = getattr(backend, attr, None)
        if o is not None and hasattr(o, "model_dump"):
            opts = {k: v for k, v in o.model_dump(mode="json").items() if k not in _RUN_ONLY_OPTIONS}
            break
    # the model the backend actually loaded (e.g. the default GGUF's name), when it says
    return {"backend": backend.name, "options": opts, "model": str(getattr(backend, "model_name", "") or "")}


def request_key(identity: Mapping[str, Any], r: Request) -> str | None:
    """The cache key of a request, or None when its answer is not deterministic (temperature > 0)."""
    if r.temperature != 0:
        return None
    req = dataclasses.asdict(r)
    req.pop("tag", None)  # a log label
    req.pop("timeout_s", None)  # how long we wait, not what is answered
    return Cache.key("model", {"identity": dict(identity), "request": req})


class CachedBackend:
    """A backend in front of another: deterministic requests are answered from the cache when seen before.

    Everything else (capabilities, token counting, options, closing) is the wrapped backend's."""

    def __init__(self, inner: Backend, cache: Cache) -> None:
        self.inner = inner
        self.cache = cache
        self.name: str = inner.name  # the wrapped backend's registered name
        self.capabilities = inner.capabilities
        self._identity = model_identity(inner)

    def __getattr__(self, attr: str) -> Any:  # options (.o/.options) and extras of the wrapped backend
        return getattr(self.inner, attr)

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        keys = [request_key(self._identity, r) for r in requests]
        out: list[Response | None] = []
        for k in keys:
            hit = self.cache.get("model", k) if k is not None else None
            if isinstance(hit, Response):
                self.cache.count(model_hits=1, tokens_saved=hit.tokens_in + hit.tokens_out,
                                 seconds_saved=hit.seconds)
                out.append(dataclasses.replace(hit, seconds=0.0))
            else:
                out.append(None)
        todo = [i for i, r in enumerate(out) if r is None]
        if todo:
            fresh = self.inner.generate([requests[i] for i in todo])
            for i, resp in zip(todo, fresh, strict=True):
                out[i] = resp
                k = keys[i]
                if k is not None:
                    self.cache.count(model_misses=1)
                    self.cache.put("model", k, resp)
        return [r for r in out if r is not None]

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def close(self) -> None:
        self.inner.close()


__all__ = ["DEFAULT_CACHE_DIR", "DEFAULT_MAX_BYTES", "Cache", "CacheConfig", "CacheStats", "CachedBackend",
           "model_identity", "parse_cached", "parse_key", "request_key"]
