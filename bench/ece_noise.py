"""How much of a dev ECE is noise: a document bootstrap of the ECE and the ECE a perfectly calibrated run would show.

    .venv/bin/python bench/ece_noise.py sroie P.jsonl [P2.jsonl …] --sample 100 --seed 0
    .venv/bin/python bench/ece_noise.py kleister-nda P.jsonl --split dev-0

P.jsonl are ``evidex bench … -o`` prediction files. Every emitted value with a confidence is a point, scored as
``evidex eval`` scores it (:func:`evidex.eval.report.evaluate`: the dataset's metric, 10 equal-width bins); per
document its bins' sums (count, Σ confidence, Σ correct) are kept, so a resample of documents gives the exact
ECE of that resample. Prints per file the ECE, its 95 % bootstrap interval over documents, and the *floor*: the
mean ECE when every point's correctness is drawn as Bernoulli(its confidence) — what a perfectly calibrated
predictor with these confidences and this many values would score (confidences taken as their document-bin
means). With several files: the mean and standard deviation of the ECEs too (e.g. students from different
20-document samples).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import statistics
from pathlib import Path
from types import MappingProxyType

from evidex.eval.cli_api import load_gold
from evidex.eval.report import evaluate

BINS = 10


def doc_bins(gold, preds) -> list[list[tuple[int, float, float]]]:  # type: ignore[no-untyped-def]
    """Per gold document: (bin, count, Σ confidence, Σ correct) of its emitted values."""
    keys = sorted({k for d in gold.docs for k in d.fields})  # every field the whole set scores, for each doc
    out = []
    for d in gold.docs:
        fields = MappingProxyType({k: d.fields.get(k, ()) for k in keys})
        rep = evaluate(preds, dataclasses.replace(gold, docs=(dataclasses.replace(d, fields=fields),)))
        cal = rep.calibration
        out.append([] if cal is None else [(min(BINS - 1, int(b.lo * BINS + 1e-9)), b.count,
                                            b.mean_confidence * b.count, b.accuracy * b.count) for b in cal.bins])
    return out


def ece_of(docs: list[list[tuple[int, float, float]]]) -> float:
    acc = [[0, 0.0, 0.0] for _ in range(BINS)]
    for d in docs:
        for b, k, c, y in d:
            acc[b][0] += k
            acc[b][1] += c
            acc[b][2] += y
    n = sum(a[0] for a in acc)
    return sum(abs(c - y) for k, c, y in acc if k) / n if n else 0.0


def floor(docs: list[list[tuple[int, float, float]]], rnd: random.Random, n: int) -> float:
    out = []
    for _ in range(n):
        sim = [[(b, k, c, float(sum(rnd.random() < c / k for _ in range(k)))) for b, k, c, _ in d] for d in docs]
        out.append(ece_of(sim))
    return statistics.mean(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dataset")
    ap.add_argument("predictions", nargs="+")
    ap.add_argument("--split", default=None)
    ap.add_argument("--sample", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--data-root", default=os.environ.get("EVIDEX_SHARED_DATA", "/work/shared/data"))
    a = ap.parse_args()
    kw = {"sample": a.sample, "seed": a.seed} if a.sample else {}
    gold = load_gold(a.dataset, a.split, data_root=Path(a.data_root), **kw)
    eces = []
    for path in a.predictions:
        preds = [json.loads(x) for x in Path(path).read_text(encoding="utf-8").splitlines() if x.strip()]
        docs = doc_bins(gold, preds)
        e = ece_of(docs)
        eces.append(e)
        rnd = random.Random(0)
        boot = sorted(ece_of([rnd.choice(docs) for _ in docs]) for _ in range(a.n))
        lo, hi = boot[int(0.025 * a.n)], boot[int(0.975 * a.n) - 1]
        n_values = sum(k for d in docs for _, k, _, _ in d)
        print(f"{path}: ECE {e:.4f} over {n_values} values of {len(docs)} docs, bootstrap 95% [{lo:.4f}, {hi:.4f}] "
              f"(sd {statistics.stdev(boot):.4f}); a perfectly calibrated run: {floor(docs, random.Random(1), 200):.4f}")
    if len(eces) > 1:
        print(f"mean ECE {statistics.mean(eces):.4f}, sd {statistics.stdev(eces):.4f}, min {min(eces):.4f}, "
              f"max {max(eces):.4f} over {len(eces)} runs")


if __name__ == "__main__":
    main()
