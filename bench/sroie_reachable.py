"""How far exact match can go on the OCR text SROIE ships (issue #9: SROIE dev F1 ≥ 0.93).

    evidex bench sroie --sample 100 --seed 0 --backend none --mode rules --student DIR   # writes PRED (see --pred)
    .venv/bin/python bench/sroie_reachable.py --pred .bench/sroie-train-rules.jsonl

A gold value is *reachable* when its text (whitespace runs as one space) is a substring of the receipt's OCR
transcript (lines joined, whitespace runs as one space): an extractor that quotes the text can output it. The
script prints the official score of the predictions (``evidex.eval.metrics.sroie_scores``: exact match per
(receipt, field)), the same score with the unreachable (receipt, field) pairs left out on both sides (the dataset
README: later leaderboard runs excluded OCR-mismatch cases), and two ceilings of the official score: every
reachable value right and each unreachable one answered with some other text (the best a quoting extractor can
do without knowing which values the annotators retyped), or left empty (an oracle that knows).
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from pathlib import Path

from evidex.eval.cli_api import load_gold
from evidex.eval.metrics import SROIE_KEYS, sroie_scores
from evidex.eval.predictions import match_predictions, read_jsonl


def _ws(s: str) -> str:
    return " ".join(s.split())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pred", required=True, help="evidex result JSONL of `evidex bench sroie` (one line per receipt)")
    ap.add_argument("--data-root", default=os.environ.get("EVIDEX_SHARED_DATA", "/work/shared/data"))
    ap.add_argument("--sample", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    gold = load_gold("sroie", data_root=a.data_root, sample=a.sample, seed=a.seed)
    matched, _ = match_predictions(gold.docs, read_jsonl(a.pred))  # as `evidex eval` pairs them
    pairs, kept, n_missing = [], [], 0
    unreachable: Counter[str] = Counter()
    total = 0
    for d in gold.docs:
        text = _ws(Path(d.path).read_text(encoding="utf-8")) if d.path else ""
        g = {k: tuple(v for v in d.fields.get(k, ()) if str(v).strip()) for k in SROIE_KEYS}
        pd = matched.get(d.id)
        n_missing += pd is None
        p = dict(pd.values) if pd is not None else {}
        pairs.append((g, p))
        g2, p2 = dict(g), dict(p)
        for k, vs in g.items():
            total += len(vs)
            if vs and not all(_ws(str(v)) in text for v in vs):
                unreachable[k] += 1
                g2.pop(k, None)
                p2.pop(k, None)
        kept.append((g2, p2))
    official, excluded = sroie_scores(pairs), sroie_scores(kept)
    n_un = sum(unreachable.values())
    reach = (total - n_un) / total if total else 0.0
    ceiling_answered = reach  # precision = recall = reachable share
    ceiling_oracle = 2 * reach / (1 + reach) if reach else 0.0  # precision 1, recall = reachable share
    print(f"receipts {len(gold.docs)} (predictions missing for {n_missing}); gold values {total}; "
          f"not in the OCR text {n_un} ({', '.join(f'{k} {n}' for k, n in sorted(unreachable.items()))})")
    print(f"official exact-match F1            {official.micro.f1:.4f}  "
          f"(P {official.micro.precision:.4f}, R {official.micro.recall:.4f})")
    for k, s in official.per_key.items():
        print(f"  {k:8s} {s.f1:.4f}")
    print(f"F1 without the {n_un} unreachable pairs {excluded.micro.f1:.4f}  "
          f"(P {excluded.micro.precision:.4f}, R {excluded.micro.recall:.4f})")
    print(f"ceiling of the official F1: every reachable value right, the others answered {ceiling_answered:.4f}; "
          f"left empty (oracle) {ceiling_oracle:.4f}")


if __name__ == "__main__":
    main()
