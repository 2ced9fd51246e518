"""Step (a), run with evidex's venv: write the benchmark documents (ids, file paths, texts, gold) to one JSON file.

The LangExtract side runs in its own venv and never imports evidex; it reads this file. The document list
comes from :func:`evidex.eval.cli_api.prepare_inputs`, so the ids, texts and sampling are exactly the ones
``evidex bench`` / ``evidex eval`` use with the same ``--split/--limit/--sample/--seed``.

    .venv/bin/python bench/langextract/export_inputs.py --dataset sroie --split train --sample 40 --out inputs.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from evidex.eval.cli_api import prepare_inputs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--split", default=None)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--sample", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    gold, paths = prepare_inputs(a.dataset, a.split, data_root=a.data_root, limit=a.limit, sample=a.sample, seed=a.seed)
    docs = [
        {"id": g.id, "path": str(p), "text": Path(p).read_text(encoding="utf-8"), "gold": {k: list(v) for k, v in g.fields.items()}}
        for g, p in zip(gold.docs, paths, strict=True)
    ]
    out = {
        "dataset": a.dataset, "split": gold.split, "limit": a.limit, "sample": a.sample, "seed": a.seed,
        "metric": gold.metric, "schema": gold.schema.name if hasattr(gold.schema, "name") else None, "docs": docs,
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")
    print(f"{len(docs)} documents of {a.dataset} [{gold.split}] -> {a.out}")


if __name__ == "__main__":
    main()
