"""Prior-anchored students, leave one dataset out, scored on the left-out dataset's *training* part (issue #9 §2).

    .venv/bin/python bench/student_anchor.py --cache .bench/students --out .bench/anchor --configs plain,a100,a100-nox

A quick selection of the anchored student's settings that never reads a dev set: each LOO student (trained on
the other datasets' parts, as ``bench/student_loo.py`` does) decides every (document, field) of the left-out
dataset's own training part (unseen by it), and so does the prior (its top candidate when its score is at least
0.2 — ``choice.NONE_PRIOR`` and the default ``min_score``; a list field also takes the others within 80 % of the
best). F1 over gold values counts a decision right when the candidate's label is 1 (micro over fields, as the
student's threshold is chosen) — a proxy of ``evidex bench``'s official metric, not the same number. The dev sets
are scored afterwards, once, by ``bench/student_loo.py --anchor …`` for the settings chosen here.
Results: OUT/anchor.json.
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evidex.distill.data import Group
from evidex.distill.multi import Part, train_parts
from evidex.extract.student.features import DENSE_INDEX
from evidex.extract.student.model import StudentModel, load_student

MIN_SCORE = 0.2
LOO = {"sroie": ("nda", "swde", "cuad"), "nda": ("sroie", "swde", "cuad"), "swde": ("sroie", "nda", "cuad")}
# name → train_parts keyword arguments
CONFIGS: dict[str, dict[str, Any]] = {
    "plain": {"rounds": 200},
    "plain-nox": {"rounds": 200, "crosses": False},
    "a0": {"anchor": "prior", "rounds": 1, "params": {"learning_rate": 1e-6}},  # the anchor alone
    "a50": {"anchor": "prior", "rounds": 50},
    "a100": {"anchor": "prior", "rounds": 100},
    "a200": {"anchor": "prior", "rounds": 200},
    "a50-nox": {"anchor": "prior", "rounds": 50, "crosses": False},
    "a100-nox": {"anchor": "prior", "rounds": 100, "crosses": False},
    "a200-nox": {"anchor": "prior", "rounds": 200, "crosses": False},
    "a100-nox-tight": {"anchor": "prior", "rounds": 100, "crosses": False,
                       "params": {"num_leaves": 7, "min_data_in_leaf": 300, "lambda_l2": 30.0}},
    "a100-loose": {"anchor": "prior", "rounds": 100,
                   "params": {"num_leaves": 31, "min_data_in_leaf": 20, "feature_fraction": 0.8, "lambda_l2": 1.0}},
}
PRIOR = DENSE_INDEX["prior"]


def _f1(tp: int, fp: int, n_gold: int) -> float:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / n_gold if n_gold else 0.0
    return round(2 * p * r / (p + r), 4) if p + r else 0.0


def prior_f1(groups: list[Group]) -> dict[str, float]:
    tp = fp = n = top = k = 0
    for g in groups:
        n += g.n_gold
        ps = [dict(r).get(PRIOR, 0.0) for r in g.rows]
        if ps:
            k += 1
            top += g.labels[0]
        if not ps or ps[0] < MIN_SCORE:  # rows are in the prior's rank order
            continue
        take = [0] + ([i for i in range(1, len(ps)) if ps[i] >= max(MIN_SCORE, 0.8 * ps[0])] if g.many else [])
        tp += sum(g.labels[i] for i in take)
        fp += sum(1 - g.labels[i] for i in take)
    return {"f1": _f1(tp, fp, n), "top1": round(top / k, 4) if k else 0.0}


def student_f1(model: StudentModel, groups: list[Group]) -> dict[str, float]:
    """F1 as ``score_fields`` decides (``f1``); with no threshold (``f1_t0``: every field answered); with the
    prior's gate (``f1_gate``: a field is left empty when the prior would leave it empty, the student picks the
    value otherwise, list fields' extras by the student's threshold); top-1 accuracy over groups with candidates."""
    n = top = k = 0
    counts = {"f1": [0, 0], "f1_t0": [0, 0], "f1_gate": [0, 0]}
    t = model.default_threshold
    for g in groups:
        n += g.n_gold
        if not g.rows:
            continue
        pr = model.probabilities(g.rows)
        order = sorted(range(len(pr)), key=lambda i: (-pr[i][1], -pr[i][0], i))
        k += 1
        top += g.labels[order[0]]
        gate = dict(g.rows[0]).get(PRIOR, 0.0) >= MIN_SCORE
        for key, answer, thr in (("f1", pr[order[0]][1] >= t, t), ("f1_t0", True, t), ("f1_gate", gate, t)):
            if not answer:
                continue
            take = [order[0]] + ([i for i in order[1:] if pr[i][1] >= thr] if g.many else [])
            counts[key][0] += sum(g.labels[i] for i in take)
            counts[key][1] += sum(1 - g.labels[i] for i in take)
    out = {key: _f1(tp, fp, n) for key, (tp, fp) in counts.items()}
    return {**out, "top1": round(top / k, 4) if k else 0.0}


def run_loo(res_file: str, default_out: str, default_configs: str, configs: dict[str, dict[str, Any]],
            prior: Callable[[list[Group]], dict[str, float]],
            score: Callable[[StudentModel, list[Group]], dict[str, Any]], card_keys: Callable[[dict[str, Any]], dict[str, Any]],
            description: str) -> None:
    """The leave-one-dataset-out driver (command line, parts cache, one student per config and left-out dataset,
    ``OUT/res_file`` rewritten after each): ``prior(groups)`` and ``score(model, groups)`` measure the left-out
    training part, ``card_keys(card)`` picks what of the student's card is reported."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--cache", default=".bench/students", help="student_loo.py's output folder (parts cache)")
    ap.add_argument("--out", default=default_out)
    ap.add_argument("--configs", default=default_configs)
    ap.add_argument("--targets", default="sroie,nda,swde")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--score-only", action="store_true", help="re-score the students already in OUT")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    res_path = out / res_file
    res: dict[str, Any] = json.loads(res_path.read_text()) if res_path.is_file() else {}
    parts: dict[str, Part] = {n: pickle.loads((Path(a.cache) / "parts" / f"{n}.pkl").read_bytes())
                              for n in ("sroie", "nda", "swde", "cuad")}
    for target in a.targets.split(","):
        groups = parts[target].groups
        res.setdefault("prior", {})[target] = prior(groups)
        print(f"[prior] {target}: {res['prior'][target]}", flush=True)
        for name in a.configs.split(","):
            t0 = time.monotonic()
            d = out / f"{name}-loo-{target}"
            if a.score_only:
                card = json.loads((d / "card.json").read_text())
            else:
                card = train_parts([parts[n] for n in LOO[target]], d, seed=a.seed, **configs[name])
            t1 = time.monotonic()
            got = score(load_student(d), groups)
            old = res.get(name, {}).get(target, {})
            res.setdefault(name, {})[target] = {**got, "threshold": card["threshold"], **card_keys(card),
                                                 "train_s": old.get("train_s") if a.score_only else round(t1 - t0, 1)}
            print(f"[{name}] loo-{target}: {got} threshold {card['threshold']} "
                  f"({t1 - t0:.0f} s train, {time.monotonic() - t1:.0f} s score)", flush=True)
            res_path.write_text(json.dumps(res, indent=1))


def main() -> None:
    run_loo("anchor.json", ".bench/anchor", "plain,a0,a100,a100-nox", CONFIGS, prior_f1, student_f1,
            lambda card: {"anchor": card.get("anchor")}, __doc__.split("\n")[0])


if __name__ == "__main__":
    main()
