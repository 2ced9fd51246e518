"""``evidex serve`` — the HTTP service and the review page (needs the ``serve`` extra)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated

import typer

from evidex.cli.common import err_console
from evidex.errors import UsageError

_ROOT_HELP = "Serve files from inside this directory (submitted by relative path; symlinks may not leave it)."


def _specs(items: list[str]) -> dict[str, object]:
    from evidex.cli.specs import load_spec

    out: dict[str, object] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise UsageError(f"--pipeline {item!r}: expected NAME=SPEC.json", hint="e.g. --pipeline invoices=spec.json")
        out[name.strip()] = load_spec(Path(path.strip()))
    return out


def serve_command(
    port: Annotated[int, typer.Option(help="TCP port (0: any free port).")] = 8750,
    host: Annotated[str, typer.Option(help="Interface to listen on (loopback by default).")] = "127.0.0.1",
    root: Annotated[Path | None, typer.Option(help=_ROOT_HELP)] = None,
    data_dir: Annotated[Path, typer.Option(help="Uploads, results, corrections, the page cache, the token.")] = Path(".evidex-serve"),
    pipeline: Annotated[list[str] | None, typer.Option("--pipeline", help="Register a pipeline spec: NAME=SPEC.json (repeatable).")] = None,
    backend: Annotated[str | None, typer.Option(help="Backend of jobs submitted with a bare schema (default: none, rules).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Jobs running at once.")] = 2,
    executor: Annotated[str, typer.Option(help="Where a job's documents are processed (as evidex extract --executor): local, process, ray.")] = "local",
    cache: Annotated[Path | None, typer.Option("--cache", metavar="DIR", envvar="EVIDEX_CACHE_DIR", help="Reuse parses and deterministic model calls from this directory (as evidex extract --cache).")] = None,
    token_file: Annotated[Path | None, typer.Option(help="Read the API token from this file (default: DATA_DIR/token).")] = None,
    no_auth: Annotated[bool, typer.Option("--no-auth", help="Turn bearer-token auth off (loopback experiments only).")] = False,
    cors_origin: Annotated[list[str] | None, typer.Option("--cors-origin", help="Allow this browser origin (CORS is off by default).")] = None,
    max_body_mb: Annotated[float, typer.Option(help="Largest request body (MB; 413 beyond).")] = 64.0,
    rate: Annotated[float, typer.Option(help="Requests per second per client (429 beyond).")] = 20.0,
    max_active_jobs: Annotated[int, typer.Option(help="Queued + running jobs per client (429 beyond).")] = 8,
    max_inflight: Annotated[int, typer.Option(help="Requests in progress per client (429 beyond).")] = 16,
    timeout: Annotated[float, typer.Option(help="Seconds until a response must start (504).")] = 30.0,
    review_threshold: Annotated[float | None, typer.Option(help="Mark values under this confidence on the review page.")] = None,
) -> None:
    """Start the HTTP service: jobs, streamed results, the review page, corrections and gold export.

    Prints its URL and the API token (EVIDEX_API_TOKEN, the token file, or one generated at first start).

    Example:

      evidex serve --port 8750 --root ./docs
    """
    try:
        import uvicorn

        from evidex.serve import ServeConfig, create_app
    except ModuleNotFoundError as e:
        raise UsageError(f"evidex serve needs the serve extra ({e.name} is missing)",
                         hint="pip install 'evidex[serve,formats]'") from None
    specs = _specs(pipeline or [])
    cfg = ServeConfig(data_dir=data_dir, root=root, token_file=token_file, auth=not no_auth,
                      specs=specs, default_backend=backend, workers=workers, executor=executor,  # type: ignore[arg-type]
                      cache_dir=cache,
                      max_body_bytes=int(max_body_mb * 1024 * 1024), rate_per_s=rate, burst=max(1, int(rate * 3)),
                      max_active_jobs=max_active_jobs, max_inflight=max_inflight, request_timeout_s=timeout,
                      cors_origins=tuple(cors_origin or ()), review_threshold=review_threshold)
    token, generated = cfg.resolve_token() if cfg.auth else (None, False)
    if token is not None:
        cfg.token = token
    app = create_app(cfg)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        raise UsageError(f"cannot listen on {host}:{port}: {e.strerror}", hint="pick another --port") from None
    real_port = sock.getsockname()[1]
    url = f"http://{'[' + host + ']' if ':' in host else host}:{real_port}"
    typer.echo(f"evidex serve: {url}  (OpenAPI: {url}/openapi.json)", err=False)
    if token is None:
        typer.echo("auth: OFF (--no-auth)")
    elif generated:
        typer.echo(f"API token (generated, saved to {cfg.token_file or cfg.data_dir / 'token'}; shown once): {token}")
    else:
        typer.echo("API token: from EVIDEX_API_TOKEN or the token file")
    typer.echo(f"review a job: {url}/review/<job id>#token=<token>", err=False)
    err_console.print("[dim]Ctrl-C to stop[/dim]")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=5))
    server.run(sockets=[sock])


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
