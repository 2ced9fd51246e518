"""Batch runs that survive: resume after kill -9, exactly one record per input, Ctrl-C, outputs rebuilt from JSONL."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evidex.pipeline.resume import file_sha256, plan_resume

SCHEMA = "name: memo\nfields:\n  invoice_number: string\n  total: money\n  invoice_date: date\n"
EVIDEX = [str(Path(sys.executable).parent / "evidex")]


def _inputs(tmp: Path, n: int) -> list[Path]:
    d = tmp / "in"
    d.mkdir(exist_ok=True)
    out = []
    for i in range(n):
        p = d / f"doc{i:03d}.txt"
        p.write_text(f"INVOICE\nInvoice number: INV-{i:04d}\nInvoice date: {1 + i % 28} March 2024\n"
                     f"Total: EUR {100 + i}.00\n" + "Line item text. " * 40 + "\n", encoding="utf-8")
        out.append(p)
    (d / "broken.pdf").write_bytes(b"%PDF-1.7\nnot really")  # fails alone, and gets its one record too
    out.append(d / "broken.pdf")
    return out


def _cmd(tmp: Path, out: Path, *extra: str) -> list[str]:
    schema = tmp / "s.yaml"
    schema.write_text(SCHEMA, encoding="utf-8")
    return [*EVIDEX, "extract", str(tmp / "in"), "-s", str(schema), "--backend", "none", "--in-process", "-q",
            "-o", str(out), *extra]


def _records(out: Path) -> list[dict[str, object]]:
    raw = out.read_text(encoding="utf-8")
    assert raw == "" or raw.endswith("\n"), "a torn line was left in the output"
    return [json.loads(x) for x in raw.splitlines() if x.strip()]


def _check_exactly_once(out: Path, inputs: list[Path]) -> None:
    recs = _records(out)
    by_sha: dict[str, int] = {}
    for r in recs:
        sha = (r.get("document") or {}).get("sha256") or r["diagnostics"].get("input_sha256")  # type: ignore[union-attr]
        by_sha[str(sha)] = by_sha.get(str(sha), 0) + 1
    want = {str(file_sha256(p)): 1 for p in inputs}
    assert by_sha == want, f"{len(recs)} records for {len(inputs)} inputs"


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_kill_9_at_a_random_moment_then_resume_leaves_one_record_per_input(tmp_path: Path, seed: int) -> None:
    inputs = _inputs(tmp_path, 120)
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen(_cmd(tmp_path, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    rnd = random.Random(seed)
    target = rnd.randint(1, 110)  # kill once this many records are on disk (mid-write is fine too)
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= target:
            break
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    before = out.read_text(encoding="utf-8") if out.exists() else ""
    done_before = before.count("\n")
    r = subprocess.run(_cmd(tmp_path, out, "--resume"), capture_output=True, text=True, timeout=300)
    assert r.returncode in (0, 1), r.stderr  # 1: the broken PDF failed (alone)
    assert f"{min(done_before, len(inputs))} document(s) already done" in r.stderr or done_before == 0
    _check_exactly_once(out, inputs)
    again = subprocess.run(_cmd(tmp_path, out, "--resume"), capture_output=True, text=True, timeout=300)
    assert f"{len(inputs)} document(s) already done, 0 to run" in again.stderr
    _check_exactly_once(out, inputs)


def test_plan_resume_keeps_only_records_that_count(tmp_path: Path) -> None:
    a, b, c = (tmp_path / n for n in ("a.txt", "b.txt", "c.txt"))
    for p, body in ((a, "alpha"), (b, "beta"), (c, "gamma")):
        p.write_text(body, encoding="utf-8")
    sha = {p: file_sha256(p) for p in (a, b, c)}
    out = tmp_path / "out.jsonl"
    lines = [
        {"source": str(a), "document": {"sha256": sha[a]}, "spec": "S1", "error": None},  # done
        {"source": str(a), "document": {"sha256": sha[a]}, "spec": "S1", "error": None},  # duplicate: dropped
        {"source": str(b), "document": {"sha256": sha[b]}, "spec": "S0", "error": None},  # other spec: redo
        {"source": str(c), "spec": "S1", "error": {"code": "EVX-B008"}, "diagnostics": {"input_sha256": sha[c]}},
        {"source": "/elsewhere/z.txt", "document": {"sha256": "f" * 64}, "spec": "S1", "error": None},  # not ours
    ]
    out.write_text("".join(json.dumps(x) + "\n" for x in lines) + '{"source": "torn', encoding="utf-8")
    plan = plan_resume(out, [a, b, c], "S1")
    assert plan.done == [str(a)] and plan.todo == [str(b), str(c)]
    assert (plan.kept, plan.dropped, plan.torn) == (2, 3, True)
    kept = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [k["source"] for k in kept] == [str(a), "/elsewhere/z.txt"]
    b.write_text("beta, edited", encoding="utf-8")  # changed content is not done, whatever the path says
    assert plan_resume(out, [a, b], "S1").todo == [str(b)]


def test_ctrl_c_prints_a_summary_and_how_to_resume(tmp_path: Path) -> None:
    _inputs(tmp_path, 400)
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen(_cmd(tmp_path, out, "--csv", str(tmp_path / "o.csv")), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (out.exists() and out.stat().st_size > 4000):
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    if proc.returncode == 0 and "interrupted" not in stderr:
        pytest.skip("the run finished before the interrupt arrived")
    assert proc.returncode == 130, stderr
    assert "interrupted after" in stderr and "--resume" in stderr and "summary" in stdout
    n = len(_records(out))
    rows = (tmp_path / "o.csv").read_text(encoding="utf-8").count("\n")
    assert rows == n + 1  # the CSV was rebuilt from what the JSONL holds


def test_report_rebuilds_tables_and_html_from_the_jsonl(tmp_path: Path) -> None:
    inputs = _inputs(tmp_path, 3)
    out = tmp_path / "out.jsonl"
    r = subprocess.run(_cmd(tmp_path, out), capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stderr  # the broken PDF
    r = subprocess.run([*EVIDEX, "report", str(out), "--csv", str(tmp_path / "r.csv"), "--html",
                        str(tmp_path / "r.html")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    csv_text = (tmp_path / "r.csv").read_text(encoding="utf-8")
    assert csv_text.count("\n") == len(inputs) + 1 and "INV-0002" in csv_text
    assert "EUR 102.00" in csv_text  # evidence quoted: the sources were parsed again
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "INV-0001" in html and "broken.pdf" in html
    os.remove(inputs[0])  # a source that is gone: values stay, quotes from the document cannot
    r = subprocess.run([*EVIDEX, "report", str(out), "--csv", str(tmp_path / "r2.csv")], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and "INV-0000" in (tmp_path / "r2.csv").read_text(encoding="utf-8")
