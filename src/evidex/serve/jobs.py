"""Jobs: a batch of files run through one pipeline in a worker thread, so the event loop never blocks.

One :class:`~evidex.pipeline.Pipeline` per spec (by spec hash) is built on first use and reused by every job with
that spec; a pipeline runs one job at a time (backends such as the embedded model are not thread-safe), jobs of
different specs run side by side on ``workers`` threads. A job runs :func:`evidex.pipeline.run_batch` — the loop
the CLI uses, with the same executors and cache — writing ``results.jsonl`` (the CLI's record format) and one review payload per document.
Cancel stops a job before its next document.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidex import registry
from evidex.errors import EvidexError
from evidex.model import Document, Result
from evidex.output.gold import now_iso
from evidex.output.review import doc_payload
from evidex.output.writers import JsonlWriter
from evidex.pipeline import Cache, Pipeline, PipelineSpec, run_batch
from evidex.serve.config import ServeConfig

log = logging.getLogger("evidex.serve")

FINAL = ("done", "failed", "cancelled")


class Cancelled(Exception):
    """Raised from the run loop's callback to stop a cancelled job."""


class TooManyJobs(Exception):
    """The client has too many queued or running jobs."""


@dataclass
class Job:
    id: str
    client: str
    spec: PipelineSpec
    paths: list[str]
    dir: Path
    status: str = "queued"
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)  # per document: path, media type, pages
    corrections: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def summary(self) -> dict[str, Any]:
        ok = sum(1 for r in self.records if r.get("ok"))
        return {
            "id": self.id, "status": self.status, "documents": len(self.paths), "done": len(self.records),
            "ok": ok, "failed": len(self.records) - ok, "spec_hash": self.spec.hash(),
            "created": self.created, "started": self.started, "finished": self.finished, "error": self.error,
            "links": {"self": f"/v1/jobs/{self.id}", "results": f"/v1/jobs/{self.id}/results",
                      "review": f"/review/{self.id}", "gold": f"/v1/jobs/{self.id}/gold"},
        }

    @property
    def final(self) -> bool:
        return self.status in FINAL


class JobManager:
    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.jobs_dir = config.data_dir / "jobs"
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self._pool = ThreadPoolExecutor(max_workers=max(1, config.workers), thread_name_prefix="evidex-job")
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._pipes: dict[str, tuple[Pipeline, threading.Lock]] = {}
        self._lock = threading.Lock()
        self._cache = Cache(config.cache_dir) if config.cache_dir is not None else None
        self._executor = (None if config.executor == "local"
                          else registry.executors.create(config.executor, dict(config.executor_options)))

    # ------------------------------------------------------------------ jobs
    def new_dir(self) -> tuple[str, Path]:
        jid = uuid.uuid4().hex
        d = self.jobs_dir / jid
        d.mkdir(parents=True)
        return jid, d

    def submit(self, jid: str, jdir: Path, client: str, spec: PipelineSpec, paths: list[str]) -> Job:
        with self._lock:
            active = sum(1 for j in self._jobs.values() if j.client == client and not j.final)
            if active >= self.config.max_active_jobs:
                raise TooManyJobs(f"{active} jobs of this client are queued or running "
                                  f"(limit {self.config.max_active_jobs})")
            job = Job(jid, client, spec, paths, jdir)
            self._jobs[jid] = job
            self._forget_old()
        self._pool.submit(self._run, job)
        return job

    def get(self, jid: str) -> Job | None:
        with self._lock:
            return self._jobs.get(jid)

    def list(self, client: str | None = None) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if client is None or j.client == client]

    def cancel(self, job: Job) -> None:
        job.cancel.set()
        with job.lock:
            if job.status == "queued":
                job.status, job.finished = "cancelled", time.time()

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.final]
        for j in finished[: max(0, len(finished) - self.config.max_jobs_kept)]:
            self._jobs.pop(j.id, None)
            shutil.rmtree(j.dir, ignore_errors=True)

    # ------------------------------------------------------------------ running
    def pipeline(self, spec: PipelineSpec) -> tuple[Pipeline, threading.Lock]:
        key = spec.hash()
        with self._lock:
            hit = self._pipes.get(key)
        if hit is not None:
            return hit
        pipe = Pipeline.from_spec(spec, cache=self._cache)  # outside the lock: loading a model can take a while
        with self._lock:
            if key in self._pipes:
                pipe.close()
            else:
                self._pipes[key] = (pipe, threading.Lock())
            return self._pipes[key]

    def _run(self, job: Job) -> None:
        with job.lock:
            if job.status != "queued":
                return
            job.status, job.started = "running", time.time()
        try:
            pipe, plock = self.pipeline(job.spec)
            with plock:
                if job.cancel.is_set():
                    raise Cancelled
                run_batch(pipe, job.paths, writers=[JsonlWriter(job.dir / "results.jsonl")],
                          on_result=lambda _p, doc, res: self._one(job, doc, res), executor=self._executor)
            status, err = "done", None
        except Cancelled:
            status, err = "cancelled", None
        except EvidexError as e:
            status, err = "failed", {"code": e.code, "message": e.message, "hint": e.hint}
        except Exception:  # a bug: logged here with its traceback, never sent to the client
            log.exception("job %s failed", job.id)
            status, err = "failed", {"code": "EVX-S500", "message": "internal error while running the job"}
        with job.lock:
            job.status, job.error, job.finished = status, err, time.time()

    def _one(self, job: Job, doc: Document | None, res: Result) -> None:
        k = len(job.records)
        payload = doc_payload(f"d{k}", doc, res, page_url=f"/v1/jobs/{job.id}/docs/{k}/pages/{{n}}.png")
        (job.dir / f"doc-{k}.json").write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        src: dict[str, Any] = {"path": None, "media_type": None, "sha256": None, "pages": 0}
        if doc is not None:
            src = {"path": doc.source.path, "media_type": doc.source.media_type, "sha256": doc.source.sha256,
                   "pages": len(doc.pages)}
        with job.lock:
            job.sources.append(src)
            job.records.append(payload["record"])
        if job.cancel.is_set():
            raise Cancelled

    def payload(self, job: Job, k: int) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((job.dir / f"doc-{k}.json").read_text(encoding="utf-8"))
        return data

    # ------------------------------------------------------------------ corrections
    def add_correction(self, job: Job, c: dict[str, Any]) -> dict[str, Any]:
        c = {**c, "at": now_iso(), "job": job.id}
        with job.lock:
            job.corrections.append(c)
            with open(job.dir / "corrections.jsonl", "a", encoding="utf-8") as fh:
                fh.write(json.dumps(c, ensure_ascii=False) + "\n")
        return c

    def close(self) -> None:
        for j in self.list():
            j.cancel.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            pipes = list(self._pipes.values())
            self._pipes.clear()
        for pipe, _ in pipes:
            pipe.close()
