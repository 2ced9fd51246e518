"""Small-gold calibration, measured out of sample (issue 9: ECE <= 0.05 for a 20-document gold).

    .venv/bin/python bench/small_gold_calibration.py collect sroie OUT/sroie.pkl             # label once (no tagger)
    .venv/bin/python bench/small_gold_calibration.py collect kleister-nda OUT/nda.pkl
    .venv/bin/python bench/small_gold_calibration.py collect swde OUT/swde.pkl --sample 400
    .venv/bin/python bench/small_gold_calibration.py run sroie OUT/sroie.pkl --exclude-dev 100 --draws 12 \\
        --folds 5,0 --out OUT/r.jsonl                                                   # 0 = leave one document out
    .venv/bin/python bench/small_gold_calibration.py summary OUT/r.jsonl [more.jsonl …]

``collect`` caches the labelled candidate groups of a training split (evidex.distill.data.build_examples, pool
100, no span tagger). ``run`` draws ``--draws`` seeded ``--n``-document golds from it (SROIE: never one of the
``--exclude-dev`` receipts `evidex bench --sample 100` scores), and for each: cross-fits as `evidex train` does
(``--folds``, judged by the dataset's metric), fits a final model on the N documents, calibrates it by every
method of :data:`METHODS`, takes per-field thresholds on the out-of-fold points, and scores ``--eval-max`` *other*
training documents (not dev): the ECE (10 bins) of the values it would emit (best candidate at or above its
field's threshold, a list field's others too) and their F1. ``summary`` prints per (model, folds, method) the mean
and standard deviation over draws, and the paired difference to ``plain/5/auto`` (the ECE rule that was
`evidex train`'s ``auto`` before; ``auto_ll`` is today's). LightGBM runs on one thread here (two stall on a
shared machine); the numbers are not byte-equal to a two-thread `evidex train`.
"""

from __future__ import annotations

import argparse
import collections
import importlib
import json
import math
import pickle
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from evidex.distill.data import build_examples, choosable_fields
from evidex.distill.multi import _AnchoredScorer, _fit_anchored, fit_anchor
from evidex.eval.cli_api import load_gold
from evidex.eval.judge import metric_judge
from evidex.extract.student.model import Calibration, sigmoid

T = importlib.import_module("evidex.distill.train")  # the module (evidex.distill exports the function `train`)
T.THREADS = 1
importlib.import_module("evidex.distill.multi").THREADS = 1
KX = [1.0 / (1.0 + math.exp(-0.5 * i)) for i in range(-24, 25)]


def _const(ys: list[int]) -> Calibration:
    r = sum(ys) / max(1, len(ys))
    return Calibration((0.0, 1.0), (r, r))


def platt_fit(xs: list[float], ys: list[int], lam: float = 0.0, beta: bool = False) -> tuple[Callable[[float], float], Any]:
    """Logistic fit over logit(s) (beta: log s, −log(1−s)) with an L2 pull of ``lam`` toward the identity map."""
    from scipy.optimize import minimize  # type: ignore[import-untyped]

    x = np.clip(np.asarray(xs, float), 1e-6, 1 - 1e-6)
    y = np.asarray(ys, float)
    if beta:
        X, c = np.stack([np.log(x), -np.log(1 - x), np.ones_like(x)], 1), np.array([1.0, 1.0, 0.0])
    else:
        X, c = np.stack([np.log(x / (1 - x)), np.ones_like(x)], 1), np.array([1.0, 0.0])

    def f(w: Any) -> tuple[float, Any]:
        z = X @ w
        p = 1 / (1 + np.exp(-np.clip(z, -40, 40)))
        return float(np.sum(np.logaddexp(0, z) - y * z) + lam / 2 * np.sum((w - c) ** 2)), X.T @ (p - y) + lam * (w - c)

    w = minimize(f, c.copy(), jac=True, method="L-BFGS-B").x

    def fn(s: float) -> float:
        s = min(1 - 1e-6, max(1e-6, s))
        z = w[0] * math.log(s) - w[1] * math.log(1 - s) + w[2] if beta else w[0] * math.log(s / (1 - s)) + w[1]
        return sigmoid(z)

    return fn, w


def mk_platt(lam: float = 0.0, beta: bool = False) -> Callable[[list[float], list[int]], Calibration]:
    def fit(xs: list[float], ys: list[int]) -> Calibration:
        if len(set(ys)) < 2 or len(xs) < 4:
            return _const(ys)
        fn, _ = platt_fit(xs, ys, lam, beta)
        return Calibration(tuple(KX), tuple(fn(v) for v in KX))
    return fit


def _pav(xs: list[float], ys: list[int]) -> list[list[float]]:
    """Pool-adjacent-violators blocks [Σy, n, x_min, x_max]."""
    o = np.argsort(xs, kind="mergesort")
    blocks: list[list[float]] = []
    for i in o:
        blocks.append([float(ys[i]), 1.0, float(xs[i]), float(xs[i])])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] >= blocks[-1][0] / blocks[-1][1]:
            s, n, _, hi = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += n
            blocks[-1][3] = hi
    return blocks


def _knots(blocks: list[list[float]], values: list[float]) -> Calibration:
    kx: list[float] = []
    ky: list[float] = []
    for (_, _, lo, hi), v in zip(blocks, values, strict=True):
        for xv in (lo, hi) if hi > lo else (lo,):
            if not kx or xv > kx[-1]:
                kx.append(xv)
                ky.append(v)
    return Calibration(tuple(kx), tuple(float(v) for v in np.maximum.accumulate(ky)))


def mk_iso_min(m: int) -> Callable[[list[float], list[int]], Calibration]:
    """Isotonic regression whose blocks are merged (with the closer neighbour) until each holds >= m points."""
    def fit(xs: list[float], ys: list[int]) -> Calibration:
        if len(set(ys)) < 2 or len(xs) < 4:
            return _const(ys)
        b = _pav(xs, ys)
        while len(b) > 1 and min(bl[1] for bl in b) < m:
            i = min(range(len(b)), key=lambda j: b[j][1])
            mi = b[i][0] / b[i][1]
            j = 1 if i == 0 else i - 1 if i == len(b) - 1 or abs(b[i - 1][0] / b[i - 1][1] - mi) <= abs(
                b[i + 1][0] / b[i + 1][1] - mi) else i + 1
            lo, hi = min(i, j), max(i, j)
            b[lo] = [b[lo][0] + b[hi][0], b[lo][1] + b[hi][1], b[lo][2], b[hi][3]]
            del b[hi]
        return _knots(b, [s / n for s, n, _, _ in b])
    return fit


def mk_iso_shrunk(alpha: float) -> Callable[[list[float], list[int]], Calibration]:
    """Isotonic blocks, each rate shrunk toward Platt's mean over the block: (Σy + α·platt) / (n + α)."""
    def fit(xs: list[float], ys: list[int]) -> Calibration:
        if len(set(ys)) < 2 or len(xs) < 4:
            return _const(ys)
        pf, _ = platt_fit(xs, ys)
        b = _pav(xs, ys)
        xa = np.asarray(xs, float)
        vals = [(s + alpha * float(np.mean([pf(v) for v in xa[(xa >= lo) & (xa <= hi)]]))) / (n + alpha)
                for s, n, lo, hi in b]
        return _knots(b, vals)
    return fit


def _avg(xs: list[float], ys: list[int]) -> Calibration:
    a, b = T.fit_isotonic(xs, ys), T.fit_platt(xs, ys)
    kx = sorted(set(a.x) | set(b.x))
    return Calibration(tuple(kx), tuple((a(v) + b(v)) / 2 for v in kx))


BASE: dict[str, Callable[[list[float], list[int]], Calibration]] = {
    "iso": T.fit_isotonic, "platt": T.fit_platt, "platt_l1": mk_platt(1.0), "platt_l5": mk_platt(5.0),
    "platt_l20": mk_platt(20.0), "beta": mk_platt(0.0, beta=True), "iso_m10": mk_iso_min(10),
    "iso_m20": mk_iso_min(20), "iso_shr10": mk_iso_shrunk(10), "avg": _avg,
    "raw": lambda xs, ys: Calibration((), ())}


def _cross(fitter: Callable[..., Calibration], scored: list, fold_of: dict[str, int], k: int) -> tuple[list, list]:
    probs: list[float] = []
    correct: list[int] = []
    for f in range(k):
        m = fitter(*T._points([x for x in scored if fold_of[x[0].doc_id] != f]))
        ex, ey = T._points([x for x in scored if fold_of[x[0].doc_id] == f])
        probs += [m(v) for v in ex]
        correct += ey
    return probs, correct


def _auto(crit: str) -> Callable[..., tuple[Calibration, dict[str, Any]]]:
    """Isotonic or Platt by the cross-fitted ``ece`` (evidex train's auto before), ``ll`` (now) or ``brier``."""
    def fit(scored: list, fold_of: dict[str, int], k: int) -> tuple[Calibration, dict[str, Any]]:
        score = {}
        for m in ("iso", "platt"):
            p, y = _cross(BASE[m], scored, fold_of, k)
            score[m] = (T.ece(p, y) if crit == "ece" else T.log_loss(p, y) if crit == "ll"
                        else sum((a - b) ** 2 for a, b in zip(p, y, strict=True)) / max(1, len(p)))
        best = min(("iso", "platt"), key=lambda m: (round(score[m], 6), m != "iso"))
        return BASE[best](*T._points(scored)), {"chose": best}
    return fit


def _on_points(f: Callable[[list[float], list[int]], Calibration]) -> Callable[..., tuple[Calibration, dict[str, Any]]]:
    return lambda scored, fold_of, k: (f(*T._points(scored)), {})


METHODS: dict[str, Callable[..., tuple[Calibration, dict[str, Any]]]] = {n: _on_points(f) for n, f in BASE.items()}
METHODS.update({"auto": _auto("ece"), "auto_ll": _auto("ll"), "auto_brier": _auto("brier")})


def _gold(dataset: str, sample: int = 0) -> Any:
    root = Path("/work/shared/data")
    if dataset == "swde":
        return load_gold(dataset, None, data_root=root, sample=sample or 400, seed=0)
    return load_gold(dataset, "train", data_root=root, **({"sample": 0} if dataset == "sroie" else {}))


def collect(a: argparse.Namespace) -> None:
    gs = _gold(a.dataset, a.sample)
    t = time.time()
    groups, _ = build_examples(list(gs.docs), gs.paths(), gs.schema, pool_size=100)
    print(f"{a.dataset}: {len(gs.docs)} docs, {len(groups)} groups, {time.time() - t:.1f} s", file=sys.stderr)
    Path(a.out).write_bytes(pickle.dumps({"groups": groups, "sample": a.sample}))


def _fit(model: str, gr: list, seed: int, rounds: int) -> Any:
    rows = [r for g in gr for r in g.rows]
    ys = [y for g in gr for y in g.labels]
    if not rows or len(set(ys)) < 2:
        return None
    if model == "plain":
        return T._Scorer("lightgbm", T._fit_lightgbm(rows, ys, seed, rounds))
    an = fit_anchor(rows, ys)
    if model == "anchored":  # boosted from a logistic fit of the prior's score (distill.multi), 100 rounds
        return _AnchoredScorer(_fit_anchored(rows, ys, an, seed, 100, None), an)
    return lambda rs: [sigmoid(v) for v in an.values(rs)]  # "prior": the anchor alone


def run(a: argparse.Namespace) -> None:
    data = pickle.loads(Path(a.pkl).read_bytes())
    groups = data["groups"]
    gs = _gold(a.dataset, data.get("sample", 0))
    judge = metric_judge(gs)
    fields = [f.name for f in choosable_fields(gs.schema)]
    ids = sorted({g.doc_id for g in groups})
    if a.exclude_dev:
        dev = load_gold(a.dataset, "train", data_root=Path("/work/shared/data"), sample=a.exclude_dev, seed=0)
        held = {d.id for d in dev.docs}
        ids = [d for d in ids if d not in held]
    by_doc: dict[str, list] = collections.defaultdict(list)
    for g in groups:
        by_doc[g.doc_id].append(g)
    methods = [m for m in a.methods.split(",") if m] or list(METHODS)
    with open(a.out, "a", encoding="utf-8") as out:
        for d in range(a.first, a.first + a.draws):
            rnd = random.Random(1000 + d)
            train_ids = rnd.sample(ids, a.n)
            rest = [i for i in ids if i not in set(train_ids)]
            tr = [g for i in sorted(train_ids) for g in by_doc[i]]
            ev = [g for i in rnd.sample(rest, min(a.eval_max, len(rest))) for g in by_doc[i]]
            for model in a.models.split(","):
                final = _fit(model, tr, d, a.rounds)
                if final is None:
                    continue
                top = []  # the maps are monotone: the best by calibrated probability is the best raw score
                for g, s in T._score_all(ev, final):
                    order = sorted(range(len(s)), key=lambda i: -s[i])[: (5 if g.many else 1)]
                    top.append((g, [(s[i], int(judge(g.doc_id, g.field, g.texts[i]))) for i in order]))
                for k in (int(x) for x in a.folds.split(",")):
                    dids = sorted({g.doc_id for g in tr})
                    kk = min(k, len(dids)) if k > 0 else len(dids)
                    fold_of = T.assign_folds(dids, kk, d)
                    scored: list = []
                    for f in range(kk):
                        sc = _fit(model, [g for g in tr if fold_of[g.doc_id] != f], d, a.rounds)
                        if sc is not None:
                            scored += T._score_all([g for g in tr if fold_of[g.doc_id] == f], sc)
                    scored = T.judged(scored, judge)
                    for name in methods:
                        cal, info = METHODS[name](scored, fold_of, kk)
                        thr, _ = T._thresholds(fields, scored, cal)
                        pts, tp, n_gold = [], 0, sum(g.n_gold for g, _ in top)
                        for g, s in top:
                            probs = [cal(v) for v, _ in s]
                            t = thr.get(g.field, T.DEFAULT_THRESHOLD)
                            if not s or probs[0] < t:
                                continue
                            for i in [0] + ([i for i in range(1, len(s)) if probs[i] >= t] if g.many else []):
                                pts.append((probs[i], s[i][1]))
                                tp += s[i][1]
                        p, r = tp / max(1, len(pts)), tp / max(1, n_gold)
                        rec = {"dataset": a.dataset, "n": a.n, "draw": d, "model": model, "folds": k, "cal": name,
                               "ece": round(T.ece([c for c, _ in pts], [y for _, y in pts]), 5),
                               "f1": round(2 * p * r / (p + r) if p + r else 0.0, 5), "values": len(pts),
                               "conf": round(sum(c for c, _ in pts) / max(1, len(pts)), 4),
                               "acc": round(sum(y for _, y in pts) / max(1, len(pts)), 4), **info}
                        out.write(json.dumps(rec) + "\n")
                        out.flush()
                print(f"draw {d} {model} done", file=sys.stderr, flush=True)


def summary(a: argparse.Namespace) -> None:
    rows = [json.loads(x) for f in a.files for x in Path(f).read_text(encoding="utf-8").splitlines() if x.strip()]
    by: dict[tuple, dict[int, dict]] = collections.defaultdict(dict)
    for r in rows:
        by[(r["dataset"], r.get("n", 20), r["model"], r["folds"], r["cal"])][r["draw"]] = r
    for ds, n in sorted({k[:2] for k in by}):
        base = by.get((ds, n, "plain", 5, "auto"), {})
        print(f"== {ds}, {n}-document golds")
        print(f"{'model':9} {'folds':>5} {'map':10} {'draws':>5} {'ECE':>6} {'sd':>6} {'F1':>6} {'ΔECE':>7} {'se':>6} {'ΔF1':>7}")
        res = []
        for k in (k for k in by if k[:2] == (ds, n)):
            d = by[k]
            e = [d[i]["ece"] for i in sorted(d)]
            common = [i for i in d if i in base]
            de = [d[i]["ece"] - base[i]["ece"] for i in common]
            df = [d[i]["f1"] - base[i]["f1"] for i in common]
            res.append((statistics.mean(e), k, len(e), statistics.stdev(e) if len(e) > 1 else 0.0,
                        statistics.mean(d[i]["f1"] for i in d), statistics.mean(de) if de else 0.0,
                        statistics.stdev(de) / len(de) ** 0.5 if len(de) > 1 else 0.0, statistics.mean(df) if df else 0.0))
        for m, k, cnt, sd, f1, de, se, df in sorted(res):
            print(f"{k[2]:9} {k[3]:>5} {k[4]:10} {cnt:>5} {m:.4f} {sd:.4f} {f1:.4f} {de:+.4f} {se:.4f} {df:+.4f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("dataset")
    c.add_argument("out")
    c.add_argument("--sample", type=int, default=0)
    r = sub.add_parser("run")
    r.add_argument("dataset")
    r.add_argument("pkl")
    r.add_argument("--out", required=True)
    r.add_argument("--n", type=int, default=20)
    r.add_argument("--draws", type=int, default=12)
    r.add_argument("--first", type=int, default=0)
    r.add_argument("--exclude-dev", type=int, default=0)
    r.add_argument("--eval-max", type=int, default=300)
    r.add_argument("--models", default="plain")
    r.add_argument("--folds", default="5")
    r.add_argument("--methods", default="")
    r.add_argument("--rounds", type=int, default=300)
    s = sub.add_parser("summary")
    s.add_argument("files", nargs="+")
    a = ap.parse_args()
    {"collect": collect, "run": run, "summary": summary}[a.cmd](a)


if __name__ == "__main__":
    main()
