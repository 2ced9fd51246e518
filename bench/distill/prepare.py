"""Teacher documents for the distillation benchmark: N SROIE train receipts, none of them in the dev sample
that ``evidex bench sroie --sample 100 --seed 0`` scores (and no gold is read: only the receipts' text files).

    .venv/bin/python bench/distill/prepare.py --n 30 --out .bench/distill
writes OUT/sroie.yaml (the dataset's schema), OUT/sroie-teacher-N.txt (one receipt path per line: what the
teacher labels) and OUT/sroie-gold-N.jsonl (the same receipts' gold: only for the student-from-gold baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path

import yaml

from evidex.eval.cli_api import load_gold


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--holdout", type=int, default=100, help="the bench sample kept out (--sample N --seed 0)")
    ap.add_argument("--data-root", default=os.environ.get("EVIDEX_SHARED_DATA", "/work/shared/data"))
    ap.add_argument("--out", default=".bench/distill")
    a = ap.parse_args()
    root = Path(a.data_root)
    every = load_gold("sroie", "train", data_root=root, sample=0)
    dev = {d.id for d in load_gold("sroie", "train", data_root=root, sample=a.holdout, seed=0).docs}
    pool = [(p, d) for d, p in zip(every.docs, every.paths(), strict=True) if d.id not in dev]
    chosen = sorted(random.Random(a.seed).sample(pool, a.n), key=lambda x: str(x[0]))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sroie.yaml").write_text(yaml.safe_dump(every.schema.to_dict(), sort_keys=False), encoding="utf-8")
    (out / f"sroie-teacher-{a.n}.txt").write_text("".join(f"{p}\n" for p, _ in chosen), encoding="utf-8")
    gold = [json.dumps({"id": d.id, "path": str(p), "fields": {k: list(v) for k, v in d.fields.items()}})
            for p, d in chosen]
    (out / f"sroie-gold-{a.n}.jsonl").write_text("".join(f"{g}\n" for g in gold), encoding="utf-8")
    print(f"{len(chosen)} teacher receipts (of {len(pool)} outside the {len(dev)}-receipt dev sample) → {out}")


if __name__ == "__main__":
    main()
