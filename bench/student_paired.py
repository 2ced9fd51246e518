"""Paired bootstrap of two runs' official F1 on the same dev documents (the noise of a difference, issue #9 §2).

    .venv/bin/python bench/student_paired.py sroie --sample 100 --seed 0 A.jsonl B.jsonl      # A − B
    .venv/bin/python bench/student_paired.py kleister-nda --split dev-0 A.jsonl B.jsonl

A.jsonl and B.jsonl are ``evidex bench … -o`` prediction files (e.g. ``bench/student_loo.py``'s OUT/bench/*.jsonl).
The documents are resampled with replacement (seeded), both runs scored on each resample by
:func:`evidex.eval.report.evaluate` (the dataset's official metric); prints F1(A) − F1(B), its 95 % interval and the
share of resamples where A is below B; the same for the ECE of the emitted values' confidences (``evaluate``'s
calibration: lower is better).
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

    def scores(docs: list, preds: list) -> tuple[float, float]:
        rep = evaluate(preds, dataclasses.replace(gold, docs=docs))
        return float(rep.primary), rep.calibration.ece if rep.calibration is not None else float("nan")

    full = [scores(list(gold.docs), r) for r in runs]
    rnd = random.Random(0)
    diffs: list[list[float]] = [[], []]  # F1, value ECE
    for _ in range(a.n):
        docs = [rnd.choice(gold.docs) for _ in gold.docs]
        sa, sb = scores(docs, runs[0]), scores(docs, runs[1])
        for k in (0, 1):
            diffs[k].append(sa[k] - sb[k])
    for k, what in enumerate(("F1", "value ECE")):
        d = sorted(diffs[k])
        lo, hi = d[int(0.025 * a.n)], d[int(0.975 * a.n) - 1]
        below = sum(x < 0 for x in d) / a.n
        print(f"{a.dataset}: {what} A {full[0][k]:.4f}, B {full[1][k]:.4f}, A − B {full[0][k] - full[1][k]:+.4f}, "
              f"95% [{lo:+.4f}, {hi:+.4f}], P(A < B) {below:.3f} over {a.n} resamples of {len(gold.docs)} docs")


if __name__ == "__main__":
    main()
