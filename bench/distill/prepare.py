"""Teacher documents for the distillation benchmark — no gold is read for the teacher, only the documents' text.

* SROIE: N train receipts, none of them in the dev sample that ``evidex bench sroie --sample 100 --seed 0`` scores;
* Kleister-NDA: a seeded sample of N train contracts (scored on the separate dev-0 split).

    .venv/bin/python bench/distill/prepare.py --dataset sroie --n 30 --out .bench/distill
writes OUT/NAME.yaml (the dataset's schema), OUT/NAME-teacher-N.txt (one document path per line: what the
teacher labels) and OUT/NAME-gold-N.jsonl (the same documents' gold: only for the student-from-gold baseline).
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
    ap.add_argument("--dataset", choices=["sroie", "kleister-nda"], default="sroie")
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--holdout", type=int, default=100, help="SROIE: the bench sample kept out (--sample N --seed 0)")
    ap.add_argument("--data-root", default=os.environ.get("EVIDEX_SHARED_DATA", "/work/shared/data"))
    ap.add_argument("--out", default=".bench/distill")
    a = ap.parse_args()
    root = Path(a.data_root)
    if a.dataset == "sroie":
        every = load_gold("sroie", "train", data_root=root, sample=0)
        dev = {d.id for d in load_gold("sroie", "train", data_root=root, sample=a.holdout, seed=0).docs}
    else:
        every = load_gold("kleister-nda", "train", data_root=root)
        dev = set()  # dev-0 is its own split
    pool = [(p, d) for d, p in zip(every.docs, every.paths(), strict=True) if d.id not in dev]
    chosen = sorted(random.Random(a.seed).sample(pool, a.n), key=lambda x: str(x[0]))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    name = a.dataset
    (out / f"{name}.yaml").write_text(yaml.safe_dump(every.schema.to_dict(), sort_keys=False), encoding="utf-8")
    (out / f"{name}-teacher-{a.n}.txt").write_text("".join(f"{p}\n" for p, _ in chosen), encoding="utf-8")
    gold = [json.dumps({"id": d.id, "path": str(p), "fields": {k: list(v) for k, v in d.fields.items()}})
            for p, d in chosen]
    (out / f"{name}-gold-{a.n}.jsonl").write_text("".join(f"{g}\n" for g in gold), encoding="utf-8")
    print(f"{len(chosen)} teacher documents (of {len(pool)}; {len(dev)} dev documents kept out) → {out}")


if __name__ == "__main__":
    main()
