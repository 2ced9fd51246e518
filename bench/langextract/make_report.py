"""Collect ``<dataset>.preds.score.json`` files into bench/results/langextract.json and print the Markdown table.

    python3 bench/langextract/make_report.py .bench/lx/sroie.preds.score.json .bench/lx/kleister-nda.preds.score.json \\
        --json bench/results/langextract.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def table(results: list[dict[str, Any]]) -> str:
    lines = []
    for r in results:
        run = r["run"]
        for variant in ("as_returned", "grounded_only"):
            rep = r["reports"][variant]
            pf = rep["per_field"]
            fields = ", ".join(f"{k} {v['f1']:.3f}" for k, v in pf.items())
            lines.append(
                f"| {r['dataset']} [{rep['split']}] | {run['docs']} | {variant} | {fields} | "
                f"{rep['overall']['f1']:.3f} ({rep['primary']['name']} {rep['primary']['value']:.3f}) | "
                f"{rep['grounding']['rate']:.3f} ({rep['grounding']['grounded']}/{rep['grounding']['total']}) | "
                f"{run['llm_calls_per_doc']:.1f} | {run['tokens_in_per_doc']:.0f} / {run['tokens_out_per_doc']:.0f} | "
                f"{run['seconds_per_doc']:.1f} | {run['peak_rss_mib_client']:.0f} / {run['peak_rss_mib_server'] or 0:.0f} | "
                f"{run['failed']} ({run['timeouts']} timeouts) |"
            )
    head = ("| dataset | docs | values | per-field F1 | overall F1 | grounding rate | LLM calls/doc | tokens in/out per doc "
            "| s/doc | peak MiB client/server | failed |\n|---|---|---|---|---|---|---|---|---|---|---|")
    return head + "\n" + "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scores", nargs="+")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    results = [json.loads(Path(p).read_text(encoding="utf-8")) for p in a.scores]
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps({"tool": "langextract", "results": results}, indent=1, ensure_ascii=False) + "\n",
                                encoding="utf-8")
    print(table(results))


if __name__ == "__main__":
    main()
