"""The FastAPI application: :func:`create_app` wires the guards, auth, error handlers, static review assets and
the job routes (:mod:`evidex.serve.routes`)."""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from evidex import __version__
from evidex.errors import EvidexError
from evidex.output.review import CSP, asset_bytes, review_shell
from evidex.serve.config import ServeConfig
from evidex.serve.guards import Guards, error_body
from evidex.serve.jobs import JobManager

log = logging.getLogger("evidex.serve")

_bearer = HTTPBearer(auto_error=False, description="The API token (EVIDEX_API_TOKEN, or printed at first start).")
_ASSET_TYPES = {"review.js": "text/javascript; charset=utf-8", "review.css": "text/css; charset=utf-8"}


def _auth_dependency(token: str | None) -> Any:
    expected = (token or "").encode()

    def check(creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
        if token is None:
            return
        if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
            raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        if not hmac.compare_digest(creds.credentials.encode(), expected):
            raise HTTPException(403, "invalid token")

    return check


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(error_body(exc.status_code, str(exc.detail)), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))[:300]}
                   for e in exc.errors()[:20]]
        return JSONResponse(error_body(422, "invalid request", details=details), status_code=422)

    @app.exception_handler(EvidexError)
    async def evidex_error(_: Request, exc: EvidexError) -> JSONResponse:
        return JSONResponse(error_body(400, exc.message, code=exc.code, hint=exc.hint), status_code=400)

    @app.exception_handler(Exception)
    async def internal(_: Request, exc: Exception) -> JSONResponse:
        log.error("internal error", exc_info=exc)  # the traceback stays in the server log
        return JSONResponse(error_body(500, "internal error"), status_code=500)


def create_app(config: ServeConfig) -> FastAPI:
    """The service for ``config``. With ``config.auth`` the token is :meth:`ServeConfig.resolve_token`'s."""
    from evidex.serve.routes import build_router

    token = config.resolve_token()[0] if config.auth else None
    config.data_dir.mkdir(parents=True, exist_ok=True)
    jobs = JobManager(config)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        jobs.close()

    app = FastAPI(title="evidex", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Documents in, schema-shaped values out — every value with the exact words, page and "
                              "box it came from. Submit jobs, stream results, review and correct them.")
    app.state.config = config
    app.state.jobs = jobs
    _install_errors(app)

    @app.get("/healthz", tags=["service"], summary="Liveness (no auth)")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/static/{name}", tags=["review"], summary="Review page assets (no auth)", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in _ASSET_TYPES:
            raise HTTPException(404, "no such asset")
        return Response(asset_bytes(name), media_type=_ASSET_TYPES[name])

    @app.get("/review/{job_id}", tags=["review"], response_class=HTMLResponse,
             summary="The review page of a job (its data is read with the token, from #token=… or the session)")
    def review_page(job_id: str) -> HTMLResponse:
        if not job_id.isalnum() or len(job_id) > 64:
            raise HTTPException(404, "no such job")
        page = review_shell(title=f"evidex review · job {job_id[:8]}", base="/static/", api=f"/v1/jobs/{job_id}",
                            csp_meta=False)
        return HTMLResponse(page, headers={"Content-Security-Policy": CSP + "; frame-ancestors 'none'"})

    app.include_router(build_router(config, jobs), prefix="/v1", dependencies=[Depends(_auth_dependency(token))])
    if config.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(Guards, config=config, token=token)
    return app
