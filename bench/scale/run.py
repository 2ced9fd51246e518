"""Scale benchmark of the executors (issue 10 §7): generated corpora through local, process and ray.

    .venv/bin/python bench/scale/run.py make ~/.cache/evidex/scale          # 10,000 small + 1,000 mixed documents
    .venv/bin/python bench/scale/run.py all ~/.cache/evidex/scale           # every corpus × executor, JSON lines
    .venv/bin/python bench/scale/run.py all ~/.cache/evidex/scale --executors ray-cluster   # Ray already running
    .venv/bin/python bench/scale/run.py one ~/.cache/evidex/scale/mixed1000 --executor process --workers 2

Each run is a fresh Python process (imports, pool or Ray start-up included in ``wall_s``; ``setup_s`` is the
executor's start-up measured separately). Pipeline: rules mode (no model), parsing in-process (the CPU-bound
part), so the executor's cost is what is compared. ``peak_rss_mb`` is the peak summed RSS of the process and all
its descendants (pool workers, the Ray raylet/GCS/workers), sampled every 0.1 s. ``records_sha256`` hashes the
JSONL records in order with ``usage.seconds`` removed: equal hashes = identical output.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

SCHEMA = {"name": "invoice", "fields": {"invoice_number": "str", "invoice_date": "date", "total": "money",
                                        "vendor": "str"}}
VENDORS = ["Acme GmbH", "Globex Ltd", "Initech SARL", "Umbrella BV", "Hooli Inc"]


def _text(i: int, rnd: random.Random) -> str:
    lines = [f"Invoice number: INV-{i:06d}", f"Invoice date: {rnd.randint(1, 28)} March 2024",
             f"Vendor: {rnd.choice(VENDORS)}", f"Total: {rnd.randint(10, 9999)}.{rnd.randint(0, 99):02d} EUR"]
    filler = [f"Item {k}: {rnd.choice(['widget', 'bolt', 'service', 'licence'])} x{rnd.randint(1, 9)}"
              for k in range(rnd.randint(3, 12))]
    return "\n".join(lines[:2] + filler + lines[2:]) + "\n"


def make(root: Path) -> None:
    rnd = random.Random(10)
    small = root / "small10000"
    small.mkdir(parents=True, exist_ok=True)
    small1k = root / "small1000"  # the first 1,000 of them: is memory flat in the number of documents?
    small1k.mkdir(parents=True, exist_ok=True)
    for i in range(10_000):
        t = _text(i, rnd)
        (small / f"d{i:05d}.txt").write_text(t, encoding="utf-8")
        if i < 1000:
            (small1k / f"d{i:05d}.txt").write_text(t, encoding="utf-8")
    mixed = root / "mixed1000"
    mixed.mkdir(parents=True, exist_ok=True)
    for i in range(1000):
        t = _text(i, rnd)
        kind = i % 5
        if kind == 0:
            (mixed / f"m{i:04d}.txt").write_text(t, encoding="utf-8")
        elif kind == 1:
            body = "".join(f"<p>{line}</p>" for line in t.splitlines())
            (mixed / f"m{i:04d}.html").write_text(f"<html><body><h1>Invoice</h1>{body}</body></html>", encoding="utf-8")
        elif kind == 2:
            rows = "\n".join(f"{k},{v.strip()}" for k, v in (line.split(":", 1) for line in t.splitlines()))
            (mixed / f"m{i:04d}.csv").write_text("key,value\n" + rows + "\n", encoding="utf-8")
        elif kind == 3:
            (mixed / f"m{i:04d}.eml").write_text(f"From: billing@example.com\nTo: ap@example.org\n"
                                                 f"Subject: Invoice INV-{i:06d}\n\n{t}", encoding="utf-8")
        else:
            _pdf(mixed / f"m{i:04d}.pdf", t)
    print(f"corpora in {root}: small10000 (10,000 .txt), small1000 (the first 1,000), "
          "mixed1000 (txt, html, csv, eml, pdf × 200)")


def _pdf(path: Path, text: str) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    y = 800
    for line in text.splitlines():
        c.drawString(72, y, line)
        y -= 16
    c.save()


def _tree(pid: int, cpu: dict[int, float]) -> int:
    """Summed RSS (bytes) of ``pid`` and its descendants, from /proc; records each one's CPU seconds in ``cpu``."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    ticks: dict[int, float] = {}
    hz = os.sysconf("SC_CLK_TCK")
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                parts = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(parts[1]), []).append(int(d))
            rss[int(d)] = int(parts[21]) * os.sysconf("SC_PAGE_SIZE")
            ticks[int(d)] = (int(parts[11]) + int(parts[12])) / hz
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        cpu[p] = max(cpu.get(p, 0.0), ticks.get(p, 0.0))
        todo.extend(children.get(p, []))
    return total


def one(corpus: Path, executor: str, workers: int, chunk_size: int = 0) -> dict[str, object]:
    peak = [0]
    cpu: dict[int, float] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _tree(os.getpid(), cpu))
            stop.wait(0.1)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t0 = time.perf_counter()
    from evidex.executors import create_executor
    from evidex.output.writers import JsonlWriter
    from evidex.pipeline import Pipeline, PipelineSpec, run_batch

    files = sorted(str(p) for p in corpus.iterdir())
    spec = PipelineSpec.parse({"schema": SCHEMA, "backend": None, "run": {"isolate": False}})
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"evx-scale-{os.getpid()}.jsonl"

    opts: dict[str, object] = {"workers": workers} if executor != "local" else {}
    if chunk_size and executor != "local":
        opts["chunk_size"] = chunk_size
    attached = executor == "ray-cluster"  # a Ray already running (`ray start --head`): connect, do not start one
    if attached:
        executor, opts["address"] = "ray", "auto"
    if executor == "ray":
        import ray

        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        if attached:
            ray.init(address="auto", log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    t_setup = time.perf_counter()
    with Pipeline.from_spec(spec) as pipe, create_executor(executor, opts) as ex:
        t1 = time.perf_counter()
        # as `evidex extract -q -o out.jsonl`: workers send rendered records, not parsed documents
        stats = run_batch(pipe, files, executor=ex, writers=[JsonlWriter(out)], documents=False)
        t2 = time.perf_counter()
    h = hashlib.sha256()
    with out.open(encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            r["usage"].pop("seconds", None)
            h.update(json.dumps(r, sort_keys=True).encode())
    out.unlink()
    if executor == "ray":
        import ray

        ray.shutdown()
    stop.set()
    th.join()
    cpu_s = sum(cpu.values())
    return {"corpus": corpus.name, "executor": "ray-cluster" if attached else executor, "workers": workers if executor != "local" else 1,
            "documents": stats.documents, "failed": stats.failed, "wall_s": round(t2 - t0, 2),
            "setup_s": round(t1 - t_setup + (t_setup - t0 if executor == "ray" else 0), 2),
            "run_s": round(t2 - t1, 2), "docs_per_s": round(stats.documents / (t2 - t1), 1),
            "ms_per_doc": round(1000 * (t2 - t1) / max(1, stats.documents), 2),
            "peak_rss_mb": round(peak[0] / 2**20), "cpu_s": round(cpu_s, 1),
            "cpu_ms_per_doc": round(1000 * cpu_s / max(1, stats.documents), 2), "records_sha256": h.hexdigest()[:16],
            "load": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["make", "one", "all"])
    ap.add_argument("path", type=Path)
    ap.add_argument("--executor", default="local")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk-size", type=int, default=0, help="documents per task (0: the executor's default)")
    ap.add_argument("--executors", default="local,process,ray,ray-cluster",
                    help="for `all`: ray starts a local Ray inside the run; ray-cluster connects to one started "
                         "once beforehand (`ray start --head`), as with --ray-address on a running cluster")
    a = ap.parse_args()
    if a.cmd == "make":
        make(a.path)
    elif a.cmd == "one":
        print(json.dumps(one(a.path, a.executor, a.workers, a.chunk_size)), flush=True)
    else:
        executors = a.executors.split(",")
        if "ray-cluster" in executors:  # one local cluster for all ray-cluster runs, as a long-lived cluster is
            ray_bin = str(Path(sys.executable).with_name("ray"))
            subprocess.run([ray_bin, "start", "--head", f"--num-cpus={a.workers}", "--include-dashboard=false",
                            "--disable-usage-stats"], check=True, capture_output=True)
        try:
            for corpus in ("mixed1000", "small1000", "small10000"):
                for ex in executors:
                    subprocess.run([sys.executable, __file__, "one", str(a.path / corpus), "--executor", ex,
                                    "--workers", str(a.workers)], check=True)
        finally:
            if "ray-cluster" in executors:
                subprocess.run([str(Path(sys.executable).with_name("ray")), "stop"], check=False,
                               capture_output=True)


if __name__ == "__main__":
    main()
