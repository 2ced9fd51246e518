"""Load test of ``evidex serve``: N concurrent small jobs against a real server process on loopback.

Starts ``evidex serve --port 0`` (rules pipeline, no model; per-client limits raised to N: every request comes
from 127.0.0.1), then N client threads each upload one small
document (half one-page PDFs, half text files), wait for their job and read its results. Latency per job is
from the upload request to the last result read. Prints one JSON object (errors, p50/p95/max, throughput).

    .venv/bin/python bench/serve_load.py --jobs 50 --workers 2
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

SCHEMA = {"fields": {"invoice_number": "string", "total": "money", "date": "date", "vendor": "string"}}


def _pdf(i: int) -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.setFont("Helvetica", 12)
    for k, line in enumerate([f"Vendor {i} Ltd", f"Invoice number: INV-{i}", "Invoice date: 2024-03-15",
                              f"Total due: {i},250.00 EUR"]):
        c.drawString(72, 720 - 20 * k, line)
    c.showPage()
    c.save()
    return buf.getvalue()


def _start(data: Path, workers: int, jobs: int) -> tuple[subprocess.Popen[str], str, str]:
    exe = Path(sys.executable).with_name("evidex")
    env = {k: v for k, v in os.environ.items() if k != "EVIDEX_API_TOKEN"}
    p = subprocess.Popen([str(exe), "serve", "--port", "0", "--data-dir", str(data), "--workers", str(workers),
                          "--max-active-jobs", str(jobs), "--max-inflight", str(2 * jobs),
                          "--rate", str(max(20, jobs * 10))],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert p.stdout is not None
    url = token = None
    while url is None or token is None:
        line = p.stdout.readline()
        if not line:
            raise RuntimeError("evidex serve exited")
        if "evidex serve: http://" in line:
            url = line.split()[2]
        if "API token (generated" in line:
            token = line.rsplit(" ", 1)[1].strip()
    for _ in range(200):
        try:
            httpx.get(f"{url}/healthz")
            break
        except httpx.ConnectError:
            time.sleep(0.05)
    return p, url, token


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, url, token = _start(Path(tmp) / "data", args.workers, args.jobs)
        lat: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        go = threading.Event()

        def one(i: int) -> None:
            body, name = (_pdf(i), f"inv{i}.pdf") if i % 2 == 0 else (
                f"Vendor {i} Ltd\nInvoice number: INV-{i}\nTotal due: {i}.50 EUR\n".encode(), f"inv{i}.txt")
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as c:
                go.wait()
                t0 = time.perf_counter()
                try:
                    r = c.post("/v1/jobs/upload", files={"files": (name, body)}, data={"schema": json.dumps(SCHEMA)})
                    r.raise_for_status()
                    jid = r.json()["id"]
                    with c.stream("GET", f"/v1/jobs/{jid}/results", params={"stream": "true"}) as st:
                        recs = [json.loads(x) for x in st.iter_lines() if x.strip()]
                    ok = len(recs) == 1 and recs[0]["ok"] and recs[0]["values"].get("invoice_number") == f"INV-{i}"
                    dt = time.perf_counter() - t0
                    with lock:
                        (lat.append(dt) if ok else errors.append(f"job {i}: wrong result"))
                except Exception as e:  # counted, reported
                    with lock:
                        errors.append(f"job {i}: {type(e).__name__}: {str(e).splitlines()[0][:120]}")

        threads = [threading.Thread(target=one, args=(i,)) for i in range(args.jobs)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        t_all = time.perf_counter()
        go.set()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t_all
        proc.terminate()
        proc.wait(20)
    lat.sort()
    q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else lat * 99
    print(json.dumps({"jobs": args.jobs, "server_workers": args.workers, "completed": len(lat), "errors": errors,
                      "p50_s": round(q[49], 3), "p95_s": round(q[94], 3), "max_s": round(lat[-1], 3),
                      "wall_s": round(wall, 2), "jobs_per_s": round(len(lat) / wall, 1), "cpus": os.cpu_count()}))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
