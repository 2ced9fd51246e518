"""Selection recall: how much of the gold is inside the text a selector lets a model read, per token budget.

For each document of a dataset split, every gold value is aligned to the canonical text with evidex's grounding
(exact → normalized → fuzzy; values that cannot be aligned are counted apart). A selector then picks text for the
schema's fields (one query per field: name + description) within a budget; a gold value is *selected* when one of
occurrences can be aligned in the selected text itself (any mention counts, as it would for a model reading it).
Tokens are counted with evidex's approximate
tokenizer (4 characters per token), the same for every selector. No model is called.

    .venv/bin/python bench/selection_recall.py kleister-nda --split dev-0
    .venv/bin/python bench/selection_recall.py sroie --sample 100
    .venv/bin/python bench/selection_recall.py cuad --sample 60 --categories parties,agreement_date,governing_law
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from evidex import registry
from evidex.eval.cli_api import load_gold
from evidex.ground.align import ground
from evidex.model import Span
from evidex.parse import parse_file
from evidex.select.base import Reading


def _aligned(value: str, text: str, ftype: object) -> list[Span]:
    a = ground(value.replace("_", " "), text, field_type=ftype)  # type: ignore[arg-type]
    return list(a.spans) if a.grounded else []


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dataset")
    ap.add_argument("--split")
    ap.add_argument("--sample", type=int)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--categories", help="CUAD: comma-separated fields (e.g. parties,agreement_date)")
    ap.add_argument("--data-root", default="../shared/data")
    ap.add_argument("--selectors", default="relevant:200,relevant:400,structured")
    ap.add_argument("--budgets", default="1/5,1/10,256,512,1024")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    opts = {"categories": tuple(a.categories.split(","))} if a.categories else None
    gold = load_gold(a.dataset, a.split, data_root=a.data_root, sample=a.sample, limit=a.limit, options=opts)
    fields = {f.name: f for f in gold.schema.fields}
    queries = [f"{f.name} {f.description}" for f in gold.schema.fields]
    docs = []
    unaligned = 0
    total_values = 0
    for g in gold.docs:
        if g.path is None:
            continue
        doc = parse_file(g.path)
        spans: list[tuple[str, object]] = []
        for name, values in g.fields.items():
            f = fields.get(name.split(".")[0])
            for v in values:
                total_values += 1
                ftype = f.type if f else None
                if _aligned(v, doc.text, ftype):
                    spans.append((v, ftype))
                else:
                    unaligned += 1
        docs.append((doc, spans))
    rows = []
    for sel_spec in a.selectors.split(","):
        name, _, chunk = sel_spec.partition(":")
        selector = registry.selectors.create(name)
        for budget_spec in a.budgets.split(","):
            used, fracs, hit, n, secs = [], [], 0, 0, 0.0
            for doc, spans in docs:
                reading = Reading(doc)
                total = reading.count(reading.view.text)
                if "/" in budget_spec:
                    num, den = budget_spec.split("/")
                    budget = max(1, total * int(num) // int(den))
                else:
                    budget = int(budget_spec)
                t0 = time.perf_counter()
                sel = selector.select(reading, queries, budget, chunk_tokens=int(chunk or 400))
                secs += time.perf_counter() - t0
                tokens = sum(reading.count(v.text) for v in sel.views if v.text)
                used.append(tokens)
                fracs.append(tokens / max(1, total))
                for value, ftype in spans:
                    n += 1
                    hit += any(_aligned(value, v.text, ftype) for v in sel.views if v.text)
            rows.append({"selector": sel_spec, "budget": budget_spec, "tokens_per_doc": statistics.mean(used),
                         "share_of_doc": statistics.mean(fracs), "recall": hit / max(1, n), "values": n,
                         "ms_per_doc": 1000 * secs / max(1, len(docs))})
    print(f"{a.dataset} {a.split or ''}: {len(docs)} docs, {total_values} gold values, {unaligned} not alignable "
          f"(left out), mean doc tokens {statistics.mean(Reading(d).count(Reading(d).view.text) for d, _ in docs):.0f}")
    print("| selector | budget | tokens/doc | share of doc | selection recall | ms/doc |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['selector']} | {r['budget']} | {r['tokens_per_doc']:.0f} | {r['share_of_doc']:.3f} | "
              f"{r['recall']:.3f} | {r['ms_per_doc']:.1f} |")
    if a.json:
        a.json.write_text(json.dumps({"dataset": a.dataset, "split": a.split, "docs": len(docs),
                                      "values": total_values, "unaligned": unaligned, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
