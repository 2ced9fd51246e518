"""Configuration of ``evidex serve``: where files may come from, limits, auth and the registered pipelines."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from evidex.errors import ConfigError
from evidex.pipeline import PipelineSpec

TOKEN_ENV = "EVIDEX_API_TOKEN"
MIN_TOKEN_CHARS = 16


@dataclass
class ServeConfig:
    """Everything :func:`evidex.serve.create_app` needs. Paths are resolved once, at startup."""

    data_dir: Path  # uploads, job results, corrections, page-image cache, the generated token
    root: Path | None = None  # server-side files may be submitted from inside this directory only (None: uploads only)
    token: str | None = None  # None: read $EVIDEX_API_TOKEN, then ``token_file``, else generate (see resolve_token)
    token_file: Path | None = None
    auth: bool = True
    specs: dict[str, PipelineSpec] = field(default_factory=dict)  # registered pipelines by name
    default_backend: str | None = None  # the backend of jobs submitted with a bare schema (None: rules only)
    workers: int = 2  # jobs running at once (threads; one pipeline per spec, shared)
    executor: str = "local"  # where a job's documents are processed: a registered executor (as extract --executor)
    executor_options: dict[str, object] = field(default_factory=dict)
    cache_dir: Path | None = None  # reuse parses and deterministic model calls (as extract --cache)
    max_body_bytes: int = 64 * 1024 * 1024  # per request (413)
    max_json_bytes: int = 1024 * 1024  # per JSON request body (413)
    max_files: int = 100  # per job
    rate_per_s: float = 20.0  # requests per second per client (token bucket, 429)
    burst: int = 60
    max_inflight: int = 16  # requests in progress per client (429)
    max_active_jobs: int = 8  # queued + running jobs per client (429)
    request_timeout_s: float = 30.0  # until the response starts (504); streams then run until their job ends
    cors_origins: tuple[str, ...] = ()  # CORS is off unless origins are listed
    review_threshold: float | None = None  # the page marks values under this confidence (besides Extraction.review)
    max_jobs_kept: int = 1000  # finished jobs kept in memory (oldest forgotten first)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).expanduser().resolve()
        if self.root is not None:
            root = Path(self.root).expanduser()
            if not root.is_dir():
                raise ConfigError(f"--root {root} is not a directory")
            self.root = root.resolve(strict=True)

    def resolve_token(self) -> tuple[str, bool]:
        """The API token and whether it was generated now (then it is saved to ``token_file`` and shown once).

        Order: the configured token, ``$EVIDEX_API_TOKEN``, the token file (default ``<data_dir>/token``),
        else a new random token written to that file (mode 0600)."""
        if self.token:
            return _checked(self.token, "the configured token"), False
        env = os.environ.get(TOKEN_ENV, "").strip()
        if env:
            return _checked(env, f"${TOKEN_ENV}"), False
        path = self.token_file or (self.data_dir / "token")
        if path.is_file():
            return _checked(path.read_text(encoding="utf-8").strip(), str(path)), False
        token = secrets.token_urlsafe(32)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(token + "\n")
        return token, True


def _checked(token: str, where: str) -> str:
    if len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(f"the API token from {where} is too short (at least {MIN_TOKEN_CHARS} characters)",
                          hint="use a long random value, e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    return token
