"""The ``/v1`` API: jobs (submit by path or upload, status, streamed results, cancel), the review data, page
images, corrections and the gold export."""

from __future__ import annotations

import asyncio
import json
import os
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict
from pydantic import Field as PField
from starlette.exceptions import HTTPException

from evidex.errors import EvidexError
from evidex.output.gold import check_correction, gold_records
from evidex.output.review import render_page_png
from evidex.pipeline import PipelineSpec, as_schema
from evidex.serve.config import ServeConfig
from evidex.serve.guards import client_of
from evidex.serve.jobs import Job, JobManager, TooManyJobs

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")


class JobRequest(BaseModel):
    """Files on the server (relative to the configured root) and what to extract: a registered ``pipeline``
    or a ``schema`` (run with the server's default backend)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    paths: list[Annotated[str, PField(min_length=1, max_length=4096)]] = PField(min_length=1, max_length=1000)
    schema_: dict[str, Any] | None = PField(default=None, alias="schema")
    pipeline: str | None = PField(default=None, max_length=200)


class CorrectionRequest(BaseModel):
    """A reviewer's decision on one value: ``accept`` it, ``edit`` it (the value, with its evidence span when it
    was selected in the document), or mark it ``absent`` (not in the document)."""

    model_config = ConfigDict(extra="forbid")

    doc_id: str = PField(min_length=1, max_length=200)
    path: str = PField(min_length=1, max_length=500)
    action: str = PField(pattern="^(accept|edit|absent)$")
    value: str | None = PField(default=None, max_length=10_000)
    start: int | None = PField(default=None, ge=0)
    end: int | None = PField(default=None, ge=0)
    text: str | None = PField(default=None, max_length=10_000)
    by: str | None = PField(default=None, max_length=200)


def safe_name(name: str, i: int) -> str:
    """An upload's file name made safe to store (basename only, plain characters)."""
    base = _SAFE.sub("_", os.path.basename(name.replace("\\", "/"))).lstrip("._")[:120] or "upload"
    return f"{i:03d}-{base}"


def resolve_inside(root: Path, rel: str) -> Path:
    """``rel`` as a file inside ``root``: lexical escapes are refused before the file system is touched, then
    symlinks are resolved and the real path checked again (403 outside, 404 missing)."""
    if "\x00" in rel:
        raise HTTPException(400, "invalid path")
    lexical = Path(os.path.normpath(root / rel))
    if not lexical.is_relative_to(root):
        raise HTTPException(403, f"path outside the served root: {rel[:200]!r}")
    try:
        real = lexical.resolve(strict=True)
    except (OSError, RuntimeError):
        raise HTTPException(404, f"no such file under the served root: {rel[:200]!r}") from None
    if not real.is_relative_to(root):
        raise HTTPException(403, f"path outside the served root (through a link): {rel[:200]!r}")
    if not real.is_file():
        raise HTTPException(400, f"not a file: {rel[:200]!r}")
    return real


def build_router(config: ServeConfig, jobs: JobManager) -> APIRouter:
    r = APIRouter()

    def spec_for(schema: dict[str, Any] | None, pipeline: str | None) -> PipelineSpec:
        if (schema is None) == (pipeline is None):
            raise HTTPException(422, "give exactly one of 'schema' and 'pipeline'")
        if pipeline is not None:
            if pipeline not in config.specs:
                raise HTTPException(404, f"no registered pipeline {pipeline!r} "
                                         f"(registered: {', '.join(sorted(config.specs)) or 'none'})")
            return config.specs[pipeline]
        assert schema is not None
        try:
            return PipelineSpec.create(as_schema(schema), backend=config.default_backend)
        except EvidexError:
            raise
        except (TypeError, ValueError, AttributeError, KeyError) as e:
            raise HTTPException(422, f"invalid schema: {str(e)[:300]}") from None

    def job_of(job_id: str) -> Job:
        job = jobs.get(job_id) if _JOB_ID.match(job_id) else None
        if job is None:
            raise HTTPException(404, "no such job")
        return job

    def start(request: Request, spec: PipelineSpec, jid: str, jdir: Path, paths: list[str]) -> Job:
        try:
            return jobs.submit(jid, jdir, client_of(request.scope), spec, paths)
        except TooManyJobs as e:
            raise HTTPException(429, str(e), headers={"Retry-After": "1"}) from None

    @r.post("/jobs", status_code=202, tags=["jobs"], summary="Run files on the server (inside the root)")
    def submit_paths(req: JobRequest, request: Request) -> dict[str, Any]:
        if config.root is None:
            raise HTTPException(403, "this server takes uploads only (started without --root)")
        if len(req.paths) > config.max_files:
            raise HTTPException(413, f"at most {config.max_files} files per job")
        spec = spec_for(req.schema_, req.pipeline)
        paths = [str(resolve_inside(config.root, p)) for p in req.paths]
        jid, jdir = jobs.new_dir()
        return start(request, spec, jid, jdir, paths).summary()

    @r.post("/jobs/upload", status_code=202, tags=["jobs"], summary="Upload files and run them")
    async def submit_upload(request: Request, files: Annotated[list[UploadFile], File()],
                            schema_text: Annotated[str | None, Form(alias="schema", max_length=1_000_000)] = None,
                            pipeline: Annotated[str | None, Form(max_length=200)] = None) -> dict[str, Any]:
        if not files:
            raise HTTPException(422, "no files")
        if len(files) > config.max_files:
            raise HTTPException(413, f"at most {config.max_files} files per job")
        try:
            schema_obj = json.loads(schema_text) if schema_text is not None else None
        except json.JSONDecodeError:
            raise HTTPException(422, "'schema' must be a JSON object") from None
        if schema_obj is not None and not isinstance(schema_obj, dict):
            raise HTTPException(422, "'schema' must be a JSON object")
        spec = spec_for(schema_obj, pipeline)
        jid, jdir = jobs.new_dir()
        up = jdir / "uploads"
        up.mkdir()
        paths = []
        for i, f in enumerate(files):
            target = up / safe_name(f.filename or "upload", i)
            with open(target, "wb") as fh:
                while chunk := await f.read(1 << 20):
                    fh.write(chunk)
            paths.append(str(target))
        return start(request, spec, jid, jdir, paths).summary()

    @r.get("/jobs", tags=["jobs"], summary="Jobs kept by the server, newest last")
    def list_jobs() -> list[dict[str, Any]]:
        return [j.summary() for j in jobs.list()]

    @r.get("/jobs/{job_id}", tags=["jobs"], summary="A job's status")
    def get_job(job_id: str) -> dict[str, Any]:
        return job_of(job_id).summary()

    @r.post("/jobs/{job_id}/cancel", tags=["jobs"], summary="Cancel a job (it stops before its next document)")
    def cancel_job(job_id: str) -> dict[str, Any]:
        job = job_of(job_id)
        jobs.cancel(job)
        return job.summary()

    @r.get("/jobs/{job_id}/results", tags=["jobs"],
           summary="Result records (JSONL format); stream=true streams them as NDJSON until the job ends")
    def results(job_id: str, stream: bool = False) -> Any:
        job = job_of(job_id)
        if not stream:
            return {"job": job.summary(), "records": list(job.records)}

        async def lines() -> AsyncIterator[bytes]:
            i = 0
            while True:
                final = job.final
                recs = job.records
                while i < len(recs):
                    yield (json.dumps(recs[i], ensure_ascii=False) + "\n").encode()
                    i += 1
                if final:
                    return
                await asyncio.sleep(0.05)

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    @r.get("/jobs/{job_id}/review", tags=["review"], summary="What the review page shows for a job")
    def review_data(job_id: str) -> dict[str, Any]:
        job = job_of(job_id)
        n = len(job.records)
        return {"title": f"evidex review · job {job.id[:8]}", "job": job.summary(),
                "docs": [jobs.payload(job, k) for k in range(n)],
                "fields": job.spec.schema.leaf_paths(), "threshold": config.review_threshold,
                "corrections": list(job.corrections)}

    @r.get("/jobs/{job_id}/docs/{k}/pages/{n}.png", tags=["review"], summary="A rendered page (PDF or scan)",
           response_class=Response, responses={200: {"content": {"image/png": {}}}})
    def page_image(job_id: str, k: int, n: int) -> Response:
        job = job_of(job_id)
        if not 0 <= k < len(job.sources):
            raise HTTPException(404, "no such document")
        src = job.sources[k]
        if src["path"] is None or src["media_type"] is None or not 1 <= n <= src["pages"] or not (
                src["media_type"] == "application/pdf" or src["media_type"].startswith("image/")):
            raise HTTPException(404, "no such page image")
        return Response(_page_png(config, src, n), media_type="image/png",
                        headers={"Cache-Control": "private, max-age=3600"})

    @r.post("/jobs/{job_id}/corrections", status_code=201, tags=["review"], summary="Store a correction")
    def add_correction(job_id: str, c: CorrectionRequest, request: Request) -> dict[str, Any]:
        job = job_of(job_id)
        record = next((x for x in job.records if x.get("doc_id") == c.doc_id), None)
        data = c.model_dump(exclude_none=True)
        data.setdefault("by", "api")
        problem = check_correction(data, record)
        if problem is not None:
            raise HTTPException(404 if record is None else 422, problem)
        data["client"] = client_of(request.scope)
        data.pop("text", None)
        if "start" in data:  # the evidence text comes from the document, not from the client
            k = next(i for i, x in enumerate(job.records) if x.get("doc_id") == c.doc_id)
            text = jobs.payload(job, k).get("text") or ""
            data["text"] = text[data["start"]:data["end"]]
        return jobs.add_correction(job, data)

    @r.get("/jobs/{job_id}/corrections", tags=["review"], summary="A job's corrections, oldest first")
    def list_corrections(job_id: str) -> list[dict[str, Any]]:
        return list(job_of(job_id).corrections)

    @r.get("/jobs/{job_id}/gold", tags=["review"], response_class=Response,
           summary="Gold JSONL from the corrections (read by evidex eval --gold and evidex train)",
           responses={200: {"content": {"application/x-ndjson": {}}}})
    def gold(job_id: str) -> Response:
        job = job_of(job_id)
        lines = gold_records(list(job.records), list(job.corrections))
        body = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines)
        return Response(body, media_type="application/x-ndjson",
                        headers={"Content-Disposition": f'attachment; filename="gold-{job.id[:8]}.jsonl"'})

    @r.get("/pipelines", tags=["service"], summary="Registered pipelines (name → spec hash and fields)")
    def pipelines() -> dict[str, Any]:
        return {name: {"spec_hash": s.hash(), "fields": s.schema.leaf_paths()} for name, s in config.specs.items()}

    return r


def _page_png(config: ServeConfig, src: dict[str, Any], n: int) -> bytes:
    """The rendered page, cached by content hash (a changed source is refused: its boxes would not match)."""
    from evidex.pipeline.resume import file_sha256

    cache = config.data_dir / "pages" / f"{src['sha256']}-{n}.png"
    if cache.is_file():
        return cache.read_bytes()
    if file_sha256(src["path"]) != src["sha256"]:
        raise HTTPException(409, "the source file changed since the job ran")
    try:
        png = render_page_png(src["path"], n, media_type=src["media_type"])
    except (OSError, ValueError, IndexError, EOFError, RuntimeError):  # unreadable now: say so, without a stack trace
        raise HTTPException(422, "this page cannot be rendered") from None
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(png)
    tmp.replace(cache)
    return png
