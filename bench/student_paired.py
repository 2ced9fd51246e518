"""Paired bootstrap of two runs' official F1 on the same dev documents (the noise of a difference, issue #9 §2).

    .venv/bin/python bench/student_paired.py sroie --sample 100 --seed 0 A.jsonl B.jsonl      # A − B
    .venv/bin/python bench/student_paired.py kleister-nda --split dev-0 A.jsonl B.jsonl

A.jsonl and B.jsonl are ``evidex bench … -o`` prediction files (e.g. ``bench/student_loo.py``'s OUT/bench/*.jsonl).
The documents are resampled with replacement (seeded), both runs scored on each resample by
:func:`evidex.eval.report.evaluate` (the dataset's official metric); prints F1(A) − F1(B), its 95 % interval and the
share of resamples where A is below B.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
from pathlib import Path

from evidex.eval.cli_api import load_gold
from evidex.eval.report import evaluate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dataset")
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--split", default=None)
    ap.add_argument("--sample", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--data-root", default=os.environ.get("EVIDEX_SHARED_DATA", "/work/shared/data"))
    a = ap.parse_args()
    kw = {"sample": a.sample, "seed": a.seed} if a.sample else {}
    gold = load_gold(a.dataset, a.split, data_root=Path(a.data_root), **kw)
    runs = [[json.loads(x) for x in Path(p).read_text(encoding="utf-8").splitlines() if x.strip()] for p in (a.a, a.b)]

    def f1(docs: list, preds: list) -> float:
        return float(evaluate(preds, dataclasses.replace(gold, docs=docs)).primary)

    full = [f1(list(gold.docs), r) for r in runs]
    rnd = random.Random(0)
    diffs = []
    for _ in range(a.n):
        docs = [rnd.choice(gold.docs) for _ in gold.docs]
        diffs.append(f1(docs, runs[0]) - f1(docs, runs[1]))
    diffs.sort()
    lo, hi = diffs[int(0.025 * a.n)], diffs[int(0.975 * a.n) - 1]
    below = sum(d < 0 for d in diffs) / a.n
    print(f"{a.dataset}: F1 A {full[0]:.4f}, B {full[1]:.4f}, A − B {full[0] - full[1]:+.4f}, 95% [{lo:+.4f}, {hi:+.4f}], "
          f"P(A < B) {below:.3f} over {a.n} resamples of {len(gold.docs)} docs")


if __name__ == "__main__":
    main()
