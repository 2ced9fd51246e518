"""Train a student (the learned candidate scorer) from gold: examples → model → calibration → thresholds → card.

Calibration is cross-fitted: the labelled documents are dealt, by a seeded shuffle of their ids, into K folds
(``folds``, 5 by default, fewer for tiny golds); a model trained on the other folds scores each fold, so every
training document gets *out-of-fold* raw scores. The raw score of each (document, field)'s best candidate (and
a list field's next ones) is mapped to the probability that it is correct by a monotone map fitted on all the
out-of-fold points — isotonic regression or Platt scaling (a logistic curve over the logit of the raw score),
``auto`` taking the one whose cross-fitted log loss is lower — and the per-field "none" threshold is the one that
maximises that field's F1 there. The choice is by log loss, a proper scoring rule, not by the ECE it is judged by:
on a 20-document gold the cross-fitted 10-bin ECE of ~80 points is noise enough to pick isotonic regression in
about 40 % of golds, whose steps of 0 or 1 then miss on unseen documents (measured on SROIE and Kleister-NDA
samples, docs/benchmarks.md "Small golds: choosing the map by log loss"); log loss charges a confident miss, so
Platt wins there, and on full-size golds the two are within noise of each other. The final model is trained on every document. The expected calibration error
(ECE, 10 equal-width bins) reported is cross-fitted too: each fold's points are mapped by a map fitted on the
other folds' points, so it is not measured on the points the map was fitted on.

Models: ``lightgbm`` (binary objective, deterministic: ``deterministic=True``, fixed ``num_threads``, seeds)
or ``logistic`` (scikit-learn, weights stored as JSON). Nothing is pickled; the card holds no timestamps, so
two trainings with the same seed and data write identical directories.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import random
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from evidex import __version__
from evidex.distill.data import GoldDocLike, Group, LabelStats, ProposerLike, build_examples, choosable_fields
from evidex.extract.student.features import HASH_BUCKETS, feature_set_of
from evidex.extract.student.model import CALIBRATION, CARD, LGB_MODEL, LOGISTIC, Calibration, sigmoid, sparse
from evidex.extract.student.reliability import ece
from evidex.ground.forms import apply_forms
from evidex.model import Schema

DEFAULT_POOL = 100
DEFAULT_THRESHOLD = 0.5
DEFAULT_FOLDS = 5
THREADS = 2


Judge = Callable[[str, str, str], bool]  # (document id, field, candidate text) -> counted right


class GoldSetLike(Protocol):
    """A loaded gold set (``evidex.eval.datasets.GoldSet``: what ``evidex.eval.cli_api.load_gold`` returns)."""

    @property
    def name(self) -> str: ...
    @property
    def split(self) -> str: ...
    @property
    def schema(self) -> Schema: ...
    @property
    def docs(self) -> Sequence[GoldDocLike]: ...
    def paths(self) -> list[Path]: ...


@dataclass
class TrainReport:
    out_dir: Path
    card: dict[str, Any]
    stats: LabelStats
    ece: float
    metrics: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per phase (not in the card: reproducible)


LOG_LOSS_EPS = 1e-4  # a confidence of exactly 0 or 1 (an isotonic step) costs −log(1e-4) ≈ 9.2 nats when it misses


def log_loss(probs: Sequence[float], correct: Sequence[int], eps: float = LOG_LOSS_EPS) -> float:
    """Mean negative log-likelihood of the outcomes under the confidences (clipped to [eps, 1 − eps])."""
    n = len(probs)
    if n == 0:
        return 0.0
    return -sum(math.log(min(1.0 - eps, max(eps, p if y else 1.0 - p)))
                for p, y in zip(probs, correct, strict=True)) / n


def fit_isotonic(x: Sequence[float], y: Sequence[int]) -> Calibration:
    from sklearn.isotonic import IsotonicRegression  # type: ignore[import-untyped]

    if len(set(y)) < 2 or len(x) < 4:
        rate = sum(y) / max(1, len(y))
        return Calibration((0.0, 1.0), (rate, rate))
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(list(x), list(y))
    return Calibration(tuple(round(float(v), 8) for v in iso.X_thresholds_),
                       tuple(round(float(v), 8) for v in iso.y_thresholds_))


def fit_platt(x: Sequence[float], y: Sequence[int]) -> Calibration:
    """Platt scaling on the logit of the raw score, p = σ(a·logit(s) + b), stored as knots of the same
    piecewise-linear map as isotonic regression's (49 knots, logit −12 … 12 in steps of 0.5). A fitted slope
    ``a <= 0`` (a few misses at the top of a nearly all-right sample) would rank candidates backwards: the map is
    then the constant rate, as isotonic regression's would be, and the raw score orders the candidates."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    rate = sum(y) / max(1, len(y))
    if len(set(y)) < 2 or len(x) < 4:
        return Calibration((0.0, 1.0), (rate, rate))
    eps = 1e-6
    s = np.clip(np.asarray(x, dtype=np.float64), eps, 1 - eps)
    z = np.log(s / (1 - s)).reshape(-1, 1)
    lr = LogisticRegression(C=100.0, solver="lbfgs", max_iter=1000).fit(z, list(y))
    a, b = float(lr.coef_[0][0]), float(lr.intercept_[0])
    if a <= 0.0:
        return Calibration((0.0, 1.0), (round(rate, 8), round(rate, 8)))
    knots = [0.5 * i for i in range(-24, 25)]
    xs = [round(1.0 / (1.0 + math.exp(-t)), 8) for t in knots]
    ys = [round(sigmoid(a * t + b), 8) for t in knots]
    return Calibration(tuple(xs), tuple(ys))


CALIBRATORS: dict[str, Callable[[Sequence[float], Sequence[int]], Calibration]] = {
    "isotonic": fit_isotonic, "platt": fit_platt}


def _hash_json(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _fit_lightgbm(rows: list[list[tuple[int, float]]], labels: list[int], seed: int, rounds: int) -> Any:
    import lightgbm as lgb

    params = {
        "objective": "binary", "learning_rate": 0.05, "num_leaves": 31, "min_data_in_leaf": 10,
        "feature_fraction": 0.8, "lambda_l2": 1.0, "verbose": -1, "seed": seed, "deterministic": True,
        "num_threads": THREADS, "force_col_wise": True, "feature_fraction_seed": seed, "bagging_seed": seed,
        "data_random_seed": seed,
    }
    ds = lgb.Dataset(sparse(rows), label=labels, free_raw_data=True)
    return lgb.train(params, ds, num_boost_round=rounds)


def _fit_logistic(rows: list[list[tuple[int, float]]], labels: list[int], seed: int) -> tuple[float, list[float]]:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = sparse(rows)
    scale = np.asarray(abs(x).max(axis=0).todense()).ravel()
    scale[scale == 0] = 1.0
    xs = x.multiply(1.0 / scale).tocsr()
    lr = LogisticRegression(C=1.0, max_iter=2000, solver="liblinear", random_state=seed).fit(xs, labels)
    w = (lr.coef_.ravel() / scale).tolist()
    return float(lr.intercept_[0]), [round(float(v), 10) for v in w]


class _Scorer:
    def __init__(self, kind: str, model: Any) -> None:
        self.kind, self.model = kind, model

    def __call__(self, rows: list[list[tuple[int, float]]]) -> list[float]:
        if not rows:
            return []
        if self.kind == "lightgbm":
            return [float(v) for v in self.model.predict(sparse(rows), num_threads=THREADS)]
        bias, w = self.model
        return [sigmoid(bias + sum(w[j] * v for j, v in r)) for r in rows]


def _top(groups: Sequence[Group], scores: Callable[[list[list[tuple[int, float]]]], list[float]]
         ) -> list[tuple[Group, list[float]]]:
    out = []
    for g in groups:
        out.append((g, scores(g.rows)))
    return out


def _points(scored: Sequence[tuple[Group, list[float]]]) -> tuple[list[float], list[int]]:
    """(raw score of the best candidate, is it correct) per group with candidates — what a choice's confidence
    must predict; list fields also contribute their next candidates (they may be taken as extra values)."""
    xs, ys = [], []
    for g, s in scored:
        if not s:
            continue
        order = sorted(range(len(s)), key=lambda i: -s[i])
        for i in order[: (5 if g.many else 1)]:
            xs.append(s[i])
            ys.append(g.labels[i])
    return xs, ys


def _field_f1(scored: Sequence[tuple[Group, list[float]]], cal: Calibration, t: float) -> float:
    tp = fp = n_gold = 0
    for g, s in scored:
        n_gold += g.n_gold
        if not s:
            continue
        probs = [cal(v) for v in s]
        order = sorted(range(len(s)), key=lambda i: (-probs[i], -s[i]))
        take = [order[0]] if probs[order[0]] >= t else []
        if take and g.many:
            take += [i for i in order[1:] if probs[i] >= t]
        for i in take:
            if g.labels[i]:
                tp += 1
            else:
                fp += 1
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / n_gold if n_gold else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def write_model(out: Path, kind: str, model: Any, cal: Calibration, method: str = "isotonic") -> None:
    """The model file of its kind (the other kind's file removed) and the calibration map, in ``out``."""
    if kind == "lightgbm":
        (out / LGB_MODEL).write_text(model.model_to_string(num_iteration=-1), encoding="utf-8")
        (out / LOGISTIC).unlink(missing_ok=True)
    else:
        (out / LOGISTIC).write_text(json.dumps({"bias": model[0], "weights": model[1]}), encoding="utf-8")
        (out / LGB_MODEL).unlink(missing_ok=True)
    (out / CALIBRATION).write_text(json.dumps({**cal.to_dict(), "method": method}, indent=1), encoding="utf-8")


@dataclass
class Calibrated:
    """Out-of-fold scores of every training group and the calibration fitted on them."""

    scored: list[tuple[Group, list[float]]]  # (group, raw out-of-fold score of each candidate)
    folds: int
    fold_of: dict[str, int]  # document id -> fold
    method: str
    cal: Calibration
    ece: float  # cross-fitted over the folds: the map is measured on folds it was not fitted on
    ece_by_method: dict[str, float]
    points: int
    log_loss_by_method: dict[str, float] = field(default_factory=dict)  # cross-fitted too: what auto minimises


def folds_for(n_docs: int, folds: int) -> int:
    """The number of cross-fitting folds: ``folds``, fewer when there are fewer documents (0: none possible)."""
    return min(folds, n_docs) if n_docs >= 2 and folds >= 2 else 0


def assign_folds(ids: Sequence[str], k: int, seed: int) -> dict[str, int]:
    """Document id -> fold in ``range(k)``: a seeded shuffle of the sorted ids dealt round-robin (sizes differ by 1)."""
    shuffled = sorted(ids)
    random.Random(seed).shuffle(shuffled)
    return {d: i % k for i, d in enumerate(shuffled)}


def _score_all(groups: Sequence[Group], score: _Scorer) -> list[tuple[Group, list[float]]]:
    """Every group's candidates scored in one call (the same numbers as one call per group)."""
    flat = score([r for g in groups for r in g.rows])
    out, i = [], 0
    for g in groups:
        out.append((g, flat[i:i + len(g.rows)]))
        i += len(g.rows)
    return out


def _fit(kind: str, groups: Sequence[Group], seed: int, rounds: int) -> Any:
    rows = [r for g in groups for r in g.rows]
    labels = [y for g in groups for y in g.labels]
    if not rows or len(set(labels)) < 2:
        return None
    return _fit_lightgbm(rows, labels, seed, rounds) if kind == "lightgbm" else _fit_logistic(rows, labels, seed)


def out_of_fold(groups: Sequence[Group], kind: str, seed: int, rounds: int, k: int
                ) -> tuple[list[tuple[Group, list[float]]], dict[str, int]]:
    """Cross-fitting: the documents dealt into ``k`` folds; a model trained on the other folds scores each fold's
    groups, so every document gets raw scores from a model that never saw it. A fold whose complement has no
    positive (or no negative) candidate gets no scores."""
    fold_of = assign_folds(sorted({g.doc_id for g in groups}), k, seed)
    scored: list[tuple[Group, list[float]]] = []
    for f in range(k):
        model = _fit(kind, [g for g in groups if fold_of[g.doc_id] != f], seed, rounds)
        if model is not None:
            scored += _score_all([g for g in groups if fold_of[g.doc_id] == f], _Scorer(kind, model))
    order = {id(g): i for i, g in enumerate(groups)}
    scored.sort(key=lambda x: order[id(x[0])])
    return scored, fold_of


def _cross_fitted(method: str, scored: Sequence[tuple[Group, list[float]]], fold_of: dict[str, int], k: int
                  ) -> tuple[list[float], list[int]]:
    """Calibrated confidence of each point of fold f by a map fitted on the points of the other folds."""
    probs: list[float] = []
    correct: list[int] = []
    for f in range(k):
        m = CALIBRATORS[method](*_points([x for x in scored if fold_of[x[0].doc_id] != f]))
        ex, ey = _points([x for x in scored if fold_of[x[0].doc_id] == f])
        probs += [m(v) for v in ex]
        correct += ey
    return probs, correct


def _in_forms(judge: Judge, forms: dict[str, dict[str, str]]) -> Judge:
    def in_forms(doc_id: str, field: str, text: str) -> bool:
        return judge(doc_id, field, apply_forms(text, forms.get(field, {})) or text)

    return in_forms


def judged(scored: Sequence[tuple[Group, list[float]]], judge: Judge) -> list[tuple[Group, list[float]]]:
    """The groups relabelled by ``judge`` where calibration and thresholds read labels: a single field's best
    candidate (by raw score), every candidate of a list field; the other labels are left as they were."""
    out = []
    for g, s in scored:
        idx = range(len(s)) if g.many else [max(range(len(s)), key=lambda i: s[i])] if s else []
        labels = list(g.labels)
        for i in idx:
            labels[i] = int(judge(g.doc_id, g.field, g.texts[i]))
        out.append((dataclasses.replace(g, labels=labels), s))
    return out


def calibrate(groups: Sequence[Group], kind: str, seed: int, rounds: int, folds: int, method: str = "auto",
              judge: Judge | None = None) -> Calibrated:
    """Out-of-fold scores for every group, then the calibration map on all of them.

    ``method``: ``isotonic``, ``platt`` or ``auto`` (the one whose cross-fitted log loss over the folds is lower,
    see the module; isotonic on ties). With fewer than 2 documents nothing is held out: the map is fitted
    in-sample (and ``auto`` is isotonic).
    ``judge(doc_id, field, text)``: whether a candidate counts as right (default: its training label) — the
    event the confidence is the probability of, e.g. that the dataset's metric counts the emitted value right."""
    if method not in ("auto", *CALIBRATORS):
        raise ValueError(f"unknown calibration {method!r} (auto, {', '.join(CALIBRATORS)})")
    ids = sorted({g.doc_id for g in groups})
    k = folds_for(len(ids), folds)
    if k:
        scored, fold_of = out_of_fold(groups, kind, seed, rounds, k)
    else:
        model = _fit(kind, groups, seed, rounds)
        scored, fold_of = (_score_all(groups, _Scorer(kind, model)) if model is not None else []), {}
    if judge is not None:
        scored = judged(scored, judge)
    methods = list(CALIBRATORS) if method == "auto" else [method]
    cross = {m: _cross_fitted(m, scored, fold_of, k) if k else ([], []) for m in methods}
    by_method = {m: round(ece(*cross[m]), 6) for m in methods}
    by_loss = {m: round(log_loss(*cross[m]), 6) for m in methods}
    best = min(methods, key=lambda m: (by_loss[m], methods.index(m)))
    xs, ys = _points(scored)
    return Calibrated(scored, k, fold_of, best, CALIBRATORS[best](xs, ys), by_method[best], by_method, len(xs),
                      by_loss)


def _thresholds(fields: Sequence[str], scored: Sequence[tuple[Group, list[float]]], cal: Calibration
                ) -> tuple[dict[str, float], dict[str, Any]]:
    """Per field, the "none" threshold maximising its F1 on the out-of-fold scores (fields with >= 5 groups)."""
    grid = [round(0.05 * i, 2) for i in range(1, 20)]
    thresholds: dict[str, float] = {}
    per_field: dict[str, Any] = {}
    for fname in fields:
        fs = [x for x in scored if x[0].field == fname]
        if sum(1 for g, s in fs if s) < 5:
            continue
        best_t = max(grid, key=lambda t: (round(_field_f1(fs, cal, t), 6), -abs(t - DEFAULT_THRESHOLD)))
        thresholds[fname] = best_t
        top1 = [g.labels[max(range(len(s)), key=lambda i: s[i])] for g, s in fs if s]
        per_field[fname] = {"f1_at_threshold": round(_field_f1(fs, cal, best_t), 4),
                            "top1_correct": round(sum(top1) / max(1, len(top1)), 4), "groups": len(fs)}
    return thresholds, per_field


def train(
    gold: GoldSetLike,
    out_dir: str | Path,
    *,
    kind: str = "lightgbm",
    seed: int = 0,
    pool_size: int = DEFAULT_POOL,
    rounds: int = 300,
    folds: int = DEFAULT_FOLDS,
    calibration: str = "auto",
    exclude: Sequence[str] = (),
    progress: Callable[[int, str], None] | None = None,
    source: str | None = None,
    skip_groups: Collection[tuple[str, str]] = (),
    proposer: ProposerLike | None = None,
    judge: Judge | None = None,
) -> TrainReport:
    """Train a student on ``gold`` (documents whose id is in ``exclude`` are skipped) and write it to ``out_dir``.

    ``folds``: cross-fitting folds of the calibration (fewer for tiny golds); ``calibration``: ``auto`` (the
    lower cross-fitted log loss), ``isotonic`` or ``platt``; ``judge``: what counts as right for the calibration and the thresholds (see
    :func:`calibrate`; the model learns from the labels). ``skip_groups``: ``(document id, field)`` pairs whose label is unknown (a
    teacher's dropped answer): their candidates are neither positives nor negatives."""
    if kind not in ("lightgbm", "logistic"):
        raise ValueError(f"unknown student kind {kind!r} (lightgbm or logistic)")
    skip = set(exclude)
    keep = [i for i, d in enumerate(gold.docs) if d.id not in skip]
    paths_all = gold.paths()
    docs = [gold.docs[i] for i in keep]
    t0 = time.monotonic()
    groups, stats = build_examples(docs, [paths_all[i] for i in keep], gold.schema, pool_size=pool_size,
                                   progress=progress, proposer=proposer)
    if skip_groups:
        unknown = set(skip_groups)
        groups = [g for g in groups if (g.doc_id, g.field) not in unknown]
    ids = sorted({g.doc_id for g in groups})
    rows = [r for g in groups for r in g.rows]
    labels = [y for g in groups for y in g.labels]
    if not rows or len(set(labels)) < 2:
        raise ValueError(f"not enough labelled candidates to train on ({len(rows)} rows, {sum(labels)} correct)")
    t1 = time.monotonic()
    if judge is not None and stats.forms:
        judge = _in_forms(judge, stats.forms)  # the student outputs its values in the forms: judge those
    c = calibrate(groups, kind, seed, rounds, folds, calibration, judge)
    t2 = time.monotonic()
    model: Any = _fit(kind, groups, seed, rounds)  # the final model: every document
    seconds = {"labelling": t1 - t0, "cross_fitting": t2 - t1, "final_model": time.monotonic() - t2}
    fields = [f.name for f in choosable_fields(gold.schema)]
    thresholds, per_field = _thresholds(fields, c.scored, c.cal)
    metrics: dict[str, Any] = {
        "calibration": {"method": c.method, "folds": c.folds, "ece_10_bins_by_method": c.ece_by_method,
                        "log_loss_by_method": c.log_loss_by_method, "selected_by": "cross-fitted log loss",
                        "target": "labels" if judge is None else "judge"},
        "calibration_docs": len({g.doc_id for g, s in c.scored if s}), "fit_docs": len(ids), "fit_rows": len(rows),
        "fit_positive": sum(labels), "ece_10_bins": round(c.ece, 4), "calibration_points": c.points,
        "per_field": per_field}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_model(out, kind, model, c.cal, c.method)
    schema_dict = gold.schema.to_dict()
    card = {
        "format": 1,
        "kind": kind,
        "feature_set": feature_set_of(rows)[0],  # "1", or "3" when trained inside using_relations()
        "features": feature_set_of(rows)[1],
        "hash_buckets": HASH_BUCKETS,
        "evidex_version": __version__,
        "seed": seed,
        "pool_size": pool_size,
        "rounds": rounds if kind == "lightgbm" else None,
        "threshold": DEFAULT_THRESHOLD,
        "thresholds": thresholds,
        "calibration": c.method,
        "calibration_folds": c.folds,
        "training_data": {"source": source or gold.name, "dataset": gold.name, "split": gold.split,
                          "docs": stats.docs, "excluded_docs": len(gold.docs) - len(docs),
                          "doc_ids_hash": _hash_json(ids), "labels": {k: v for k, v in stats.to_dict().items()
                                                                      if k not in ("examples", "failed_docs", "forms")},
                          "failed_docs": len(stats.failed_docs)},
        "schema": {"name": schema_dict.get("name"), "hash": _hash_json(schema_dict), "fields": fields},
        "metrics": metrics,
        "forms": stats.forms,  # how the gold writes words the documents print otherwise (evidex.ground.forms)
    }
    (out / CARD).write_text(json.dumps(card, indent=2, sort_keys=True), encoding="utf-8")
    return TrainReport(out, card, stats, c.ece, metrics, seconds)


__all__ = ["CALIBRATORS", "Calibrated", "TrainReport", "assign_folds", "calibrate", "ece", "fit_isotonic", "fit_platt",
           "folds_for", "judged", "log_loss", "out_of_fold", "train"]
