"""Step (c), run with evidex's venv: score LangExtract predictions with ``evidex.eval.cli_api.run_eval``.

Two scorings of the same predictions file: ``as_returned`` (every LangExtract extraction, aligned or not — what a
LangExtract user receives) and ``grounded_only`` (extractions without a char_interval dropped, the way evidex's
``values`` only hold grounded values). Writes ``<preds>.score.json`` holding both reports and the run stats.

    .venv/bin/python bench/langextract/score.py --dataset sroie --split train --sample 40 --preds p.jsonl --stats p.stats.json
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from evidex.eval.cli_api import run_eval


def _grounded_only(preds: Path) -> Path:
    target = preds.with_suffix(".grounded.jsonl")
    with target.open("w", encoding="utf-8") as out, preds.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rec = json.loads(line)
                rec.pop("values", None)  # rebuilt from extractions, ungrounded ones excluded
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return target


def stats_from_records(preds: Path) -> dict[str, Any]:
    """Run stats rebuilt from the records' ``usage`` (a run stopped before it wrote its .stats.json)."""
    recs = [json.loads(x) for x in preds.read_text(encoding="utf-8").splitlines() if x.strip()]
    align: dict[str, int] = {}
    per = []
    for r in recs:
        for e in r.get("extractions", ()):
            st = e.get("langextract", {}).get("alignment_status", "unaligned")
            align[st] = align.get(st, 0) + 1
        err = (r.get("error") or {}).get("code")
        per.append({"id": r["doc_id"], **r["usage"], "error": err})
    return {
        "doc_ids": [r["doc_id"] for r in recs], "settings": None, "wall_seconds_total": sum(d["seconds"] for d in per),
        "failed": sum(1 for d in per if d["error"]), "timeouts": sum(1 for d in per if d["error"] == "timeout"),
        "parse_errors_suppressed": sum(d["parse_errors_suppressed"] for d in per),
        "peak_rss_mib_client": max((d["peak_rss_mib"] for d in per), default=0.0), "peak_rss_mib_server": None,
        "alignment_status_counts": align, "per_doc": per,
    }


def summarize(stats: dict[str, Any]) -> dict[str, Any]:
    per = stats["per_doc"]
    n = len(per) or 1
    secs = [d["seconds"] for d in per]
    return {
        "docs": len(per),
        "failed": stats["failed"],
        "timeouts": stats["timeouts"],
        "llm_calls_per_doc": sum(d["calls"] for d in per) / n,
        "tokens_in_per_doc": sum(d["tokens_in"] for d in per) / n,
        "tokens_out_per_doc": sum(d["tokens_out"] for d in per) / n,
        "seconds_per_doc": sum(secs) / n,
        "seconds_p50": statistics.median(secs) if secs else 0.0,
        "seconds_max": max(secs) if secs else 0.0,
        "chars_per_doc": sum(d["chars"] for d in per) / n,
        "parse_errors_suppressed": stats["parse_errors_suppressed"],
        "http_errors": sum(d["http_errors"] for d in per),
        "peak_rss_mib_client": stats["peak_rss_mib_client"],
        "peak_rss_mib_server": stats["peak_rss_mib_server"],
        "alignment_status_counts": stats["alignment_status_counts"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--split", default=None)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--sample", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--preds", required=True)
    ap.add_argument("--stats", default=None)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    preds = Path(a.preds)
    kw: dict[str, Any] = {"data_root": a.data_root, "limit": a.limit, "sample": a.sample, "seed": a.seed}
    reports = {}
    for name, path in (("as_returned", preds), ("grounded_only", _grounded_only(preds))):
        r = run_eval(path, a.dataset, a.split, **kw)
        reports[name] = r.to_dict(errors=15)
        print(f"--- {name}")
        print(r.summary_text().plain)
        for k, v in r.per_field.items():
            print(f"  {k:16s} P={v.precision:.3f} R={v.recall:.3f} F1={v.f1:.3f} support={v.support:g}")
        print(f"  overall          P={r.overall.precision:.3f} R={r.overall.recall:.3f} F1={r.overall.f1:.3f}")
    result: dict[str, Any] = {"dataset": a.dataset, "split": a.split, "limit": a.limit, "sample": a.sample,
                              "seed": a.seed, "reports": reports}
    stats = json.loads(Path(a.stats).read_text(encoding="utf-8")) if a.stats else stats_from_records(preds)
    if stats:
        result["run"] = summarize(stats)
        result["doc_ids"] = stats["doc_ids"]
        result["settings"] = stats["settings"]
        result["wall_seconds_total"] = stats["wall_seconds_total"]
    out = Path(a.out) if a.out else preds.with_suffix(".score.json")
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
