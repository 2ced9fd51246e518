"""Run LangExtract on an evidex benchmark split through an OpenAI-compatible server; write evidex prediction JSONL.

Runs in the LangExtract venv (bench/langextract/setup.sh), never imports evidex. Three steps:

(a) unless ``--inputs`` is given, ``export_inputs.py`` runs under evidex's Python (``--evidex-python``) and
    writes the documents exactly as ``evidex.eval.cli_api.prepare_inputs`` selects them;
(b) ``lx.extract`` per document (OpenAI provider, ``base_url`` = the usage proxy in front of the llama.cpp
    server), mapped to evidex records: extraction_class → field path, extraction_text (or the ``normalized``
    attribute) → value, char_interval → evidence, alignment_status → grounding;
(c) with ``--score``, ``score.py`` runs under evidex's Python (``evidex.eval.cli_api.run_eval``).

Per document the record's ``usage`` holds LLM calls, prompt/completion tokens (summed by usage_proxy.py from
the server's responses), wall seconds, suppressed parse errors and the process's peak RSS so far.

    .bench/venvs/langextract/bin/python bench/langextract/run_langextract.py --dataset sroie --split train \\
        --sample 40 --base-url http://127.0.0.1:8091/v1 --out .bench/lx/sroie.preds.jsonl --score
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import signal
import subprocess
import sys
import time
import traceback
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import langextract as lx  # noqa: E402
from examples import FIELDS, spec  # noqa: E402
from langextract import factory  # noqa: E402

GROUNDING = {"match_exact": "exact", "match_fuzzy": "fuzzy", "match_lesser": "fuzzy", "match_greater": "fuzzy"}


class _ParseErrorCounter(logging.Handler):
    """Counts LangExtract's 'Chunk omitted from results (parse/schema error)' warnings (absl → logging)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if "Chunk omitted from results" in msg:
            self.count += 1
            self.messages.append(msg[:300])


class DocTimeout(Exception):
    pass


def _on_alarm(signum: int, frame: Any) -> None:
    raise DocTimeout()


def _caused_by_timeout(e: BaseException | None) -> bool:
    seen = 0
    while e is not None and seen < 10:
        if isinstance(e, DocTimeout) or isinstance(getattr(e, "original", None), DocTimeout):
            return True
        e, seen = e.__cause__ or e.__context__, seen + 1
    return False


def _http_json(url: str, method: str = "GET") -> dict[str, Any]:
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())  # type: ignore[no-any-return]


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def build_examples(dataset: str) -> tuple[str, list[Any]]:
    prompt, raw = spec(dataset)
    examples = [
        lx.data.ExampleData(
            text=text,
            extractions=[
                lx.data.Extraction(extraction_class=c, extraction_text=t, attributes=dict(a) or None) for c, t, a in exs
            ],
        )
        for _, text, exs in raw
    ]
    return prompt, examples


def to_record(doc: dict[str, Any], annotated: Any, fields: dict[str, bool]) -> tuple[dict[str, Any], dict[str, int]]:
    """LangExtract AnnotatedDocument → evidex prediction record (+ alignment-status counts)."""
    text = doc["text"]
    exts = list(annotated.extractions or [])
    # document order; unaligned extractions keep their output order after the aligned ones
    order = sorted(
        range(len(exts)),
        key=lambda i: (exts[i].char_interval is None or exts[i].char_interval.start_pos is None,
                       exts[i].char_interval.start_pos if exts[i].char_interval and exts[i].char_interval.start_pos is not None else 0, i),
    )
    stats: dict[str, int] = {}
    values: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    counters: dict[str, int] = {}
    for i in order:
        e = exts[i]
        status = e.alignment_status.value if e.alignment_status is not None else "unaligned"
        stats[status] = stats.get(status, 0) + 1
        field = str(e.extraction_class or "").strip()
        if field not in fields:
            stats["unknown_class"] = stats.get("unknown_class", 0) + 1
            continue
        attrs = e.attributes or {}
        norm = attrs.get("normalized")
        value = (norm if isinstance(norm, str) and norm.strip() else None) or str(e.extraction_text or "")
        ci = e.char_interval
        evidence = []
        if ci is not None and ci.start_pos is not None and ci.end_pos is not None:
            evidence.append({"start": ci.start_pos, "end": ci.end_pos, "text": text[ci.start_pos:ci.end_pos]})
        grounding = GROUNDING.get(status, "ungrounded") if evidence else "ungrounded"
        many = fields[field]
        if many:
            k = counters.get(field, 0)
            counters[field] = k + 1
            path = f"{field}[{k}]"
            if value not in values.setdefault(field, []):
                values[field].append(value)
        else:
            path = field
            values.setdefault(field, value)  # scalar field: the first extraction in document order
        records.append({
            "path": path, "value": value, "grounding": grounding, "confidence": 1.0, "evidence": evidence,
            "langextract": {"class": e.extraction_class, "text": e.extraction_text, "attributes": attrs or None,
                            "alignment_status": status},
        })
    rec = {
        "format": "evidex.result/1", "doc_id": doc["id"], "source": doc["path"], "ok": True, "values": values,
        "extractions": records, "error": None,
    }
    return rec, stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True, choices=sorted(FIELDS))
    ap.add_argument("--split", default=None)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--sample", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--inputs", default=None, help="documents JSON from export_inputs.py (default: export it now)")
    ap.add_argument("--evidex-python", default=str(HERE.parents[1] / ".venv" / "bin" / "python"))
    ap.add_argument("--base-url", default="http://127.0.0.1:8091/v1", help="OpenAI-compatible base URL (the usage proxy)")
    ap.add_argument("--usage-url", default=None, help="usage proxy root (default: --base-url without /v1)")
    ap.add_argument("--model-id", default="gemma3-270m")
    ap.add_argument("--max-char-buffer", type=int, default=1000, help="LangExtract chunk size (its default: 1000)")
    ap.add_argument("--max-output-tokens", type=int, default=512)
    ap.add_argument("--batch-length", type=int, default=10)
    ap.add_argument("--max-workers", type=int, default=1, help="the llama.cpp server serves one request at a time")
    ap.add_argument("--extraction-passes", type=int, default=1)
    ap.add_argument("--temperature", type=float, default=0.0)
    ap.add_argument("--doc-timeout", type=int, default=1800, help="seconds per document before it counts as failed")
    ap.add_argument("--server-pid", type=int, default=None, help="read the server's peak RSS (VmHWM) at the end")
    ap.add_argument("--out", required=True)
    ap.add_argument("--stats", default=None, help="run summary JSON (default: <out>.stats.json)")
    ap.add_argument("--score", action="store_true", help="score with evidex (score.py under --evidex-python)")
    a = ap.parse_args()

    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    inputs = Path(a.inputs) if a.inputs else out.with_suffix(".inputs.json")
    if not a.inputs:
        cmd = [a.evidex_python, str(HERE / "export_inputs.py"), "--dataset", a.dataset, "--out", str(inputs), "--seed", str(a.seed)]
        for flag, v in (("--split", a.split), ("--limit", a.limit), ("--sample", a.sample)):
            if v is not None:
                cmd += [flag, str(v)]
        subprocess.run(cmd, check=True)
    data = json.loads(inputs.read_text(encoding="utf-8"))
    docs = data["docs"]
    example_ids = {i for i, _, _ in spec(a.dataset)[1]}
    leaked = example_ids & {d["id"] for d in docs}
    if leaked:
        raise SystemExit(f"few-shot example documents are in the evaluated set: {sorted(leaked)}")

    prompt, examples = build_examples(a.dataset)
    usage_root = a.usage_url or a.base_url.rstrip("/").removesuffix("/v1")
    config = factory.ModelConfig(
        model_id=a.model_id,
        provider="OpenAILanguageModel",
        provider_kwargs={"api_key": "dummy", "base_url": a.base_url, "max_workers": a.max_workers,
                         "temperature": a.temperature, "max_output_tokens": a.max_output_tokens},
    )
    counter = _ParseErrorCounter()
    logging.getLogger().addHandler(counter)  # absl's logger propagates to the root logger: count once
    signal.signal(signal.SIGALRM, _on_alarm)

    per_doc: list[dict[str, Any]] = []
    align_total: dict[str, int] = {}
    t_run = time.perf_counter()
    with out.open("w", encoding="utf-8") as fh:
        for n, doc in enumerate(docs, 1):
            _http_json(usage_root + "/__reset", "POST")
            before = counter.count
            t0 = time.perf_counter()
            err: dict[str, Any] | None = None
            signal.alarm(a.doc_timeout)
            try:
                annotated = lx.extract(
                    doc["text"], prompt_description=prompt, examples=examples, config=config,
                    use_schema_constraints=False, max_char_buffer=a.max_char_buffer, batch_length=a.batch_length,
                    max_workers=a.max_workers, extraction_passes=a.extraction_passes, show_progress=False,
                )
                signal.alarm(0)
                rec, stats = to_record(doc, annotated, FIELDS[a.dataset])
            except DocTimeout:
                err = {"code": "timeout", "message": f"no result within {a.doc_timeout} s"}
            except Exception as e:  # a failed document is recorded, not fatal
                signal.alarm(0)
                if _caused_by_timeout(e):  # LangExtract wraps provider exceptions in InferenceRuntimeError
                    err = {"code": "timeout", "message": f"no result within {a.doc_timeout} s ({type(e).__name__})"}
                else:
                    err = {"code": type(e).__name__, "message": str(e)[:500], "trace": traceback.format_exc()[-1500:]}
            secs = time.perf_counter() - t0
            if err is not None:
                time.sleep(0.5)
                rec, stats = {"format": "evidex.result/1", "doc_id": doc["id"], "source": doc["path"], "ok": False,
                              "values": {}, "extractions": [], "error": err}, {}
            u = _http_json(usage_root + "/__usage")
            usage = {"calls": u["calls"], "tokens_in": u["tokens_in"], "tokens_out": u["tokens_out"],
                     "seconds": round(secs, 3), "llm_seconds": round(u["seconds"], 3), "http_errors": u["http_errors"],
                     "parse_errors_suppressed": counter.count - before, "peak_rss_mib": round(_peak_rss_mib(), 1),
                     "chars": len(doc["text"])}
            rec["usage"] = usage
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            fh.flush()
            for k, v in stats.items():
                align_total[k] = align_total.get(k, 0) + v
            per_doc.append({"id": doc["id"], **usage, "alignment": stats, "error": err["code"] if err else None})
            print(f"[{n}/{len(docs)}] {doc['id']} {secs:.1f}s calls={u['calls']} in={u['tokens_in']} out={u['tokens_out']}"
                  f" parse_err={usage['parse_errors_suppressed']} ext={sum(stats.values())} "
                  f"{'ERROR ' + err['code'] if err else ''}", flush=True)

    server_hwm = None
    if a.server_pid:
        try:
            for line in Path(f"/proc/{a.server_pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    server_hwm = round(int(line.split()[1]) / 1024.0, 1)
        except OSError:
            pass
    summary = {
        "dataset": a.dataset, "split": data["split"], "limit": a.limit, "sample": a.sample, "seed": a.seed,
        "doc_ids": [d["id"] for d in docs],
        "settings": {k: getattr(a, k) for k in ("model_id", "max_char_buffer", "max_output_tokens", "batch_length",
                                                "max_workers", "extraction_passes", "temperature", "doc_timeout")},
        "langextract_version": getattr(lx, "__version__", None),
        "wall_seconds_total": round(time.perf_counter() - t_run, 1),
        "docs": len(docs),
        "failed": sum(1 for d in per_doc if d["error"]),
        "timeouts": sum(1 for d in per_doc if d["error"] == "timeout"),
        "alignment_status_counts": align_total,
        "parse_errors_suppressed": sum(d["parse_errors_suppressed"] for d in per_doc),
        "parse_error_samples": counter.messages[:5],
        "peak_rss_mib_client": round(_peak_rss_mib(), 1),
        "peak_rss_mib_server": server_hwm,
        "per_doc": per_doc,
    }
    stats_path = Path(a.stats) if a.stats else out.with_suffix(".stats.json")
    stats_path.write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {out} and {stats_path}")
    if a.score:
        cmd = [a.evidex_python, str(HERE / "score.py"), "--dataset", a.dataset, "--preds", str(out),
               "--stats", str(stats_path), "--seed", str(a.seed)]
        for flag, v in (("--split", data["split"]), ("--limit", a.limit), ("--sample", a.sample)):
            if v is not None:
                cmd += [flag, str(v)]
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
