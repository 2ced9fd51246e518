"""Train a student (the learned candidate scorer) from gold: examples → model → calibration → thresholds → card.

The labelled documents are split, by a seeded shuffle of document ids, into a *fit* part (the model learns
on it) and a held-back *calibration* part (20 %): the model's raw score of each (document, field)'s best
candidate is mapped to the probability that it is correct by isotonic regression fitted there, and the
per-field "none" threshold is the one that maximises that field's F1 there. The expected calibration error
(ECE, 10 equal-width bins) is measured by 2-fold cross-fitting on the calibration part (the map is fitted on
one half and measured on the other), so the reported number is not measured on the data the map was fitted on.

Models: ``lightgbm`` (binary objective, deterministic: ``deterministic=True``, fixed ``num_threads``, seeds)
or ``logistic`` (scikit-learn, weights stored as JSON). Nothing is pickled; the card holds no timestamps, so
two trainings with the same seed and data write identical directories.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from evidex import __version__
from evidex.distill.data import GoldDocLike, Group, LabelStats, ProposerLike, build_examples, choosable_fields
from evidex.extract.student.features import FEATURE_SET_VERSION, HASH_BUCKETS, N_FEATURES
from evidex.extract.student.model import CALIBRATION, CARD, LGB_MODEL, LOGISTIC, Calibration, sparse
from evidex.model import Schema

DEFAULT_POOL = 100
DEFAULT_THRESHOLD = 0.5
THREADS = 2


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


def ece(probs: Sequence[float], correct: Sequence[int], bins: int = 10) -> float:
    """Expected calibration error: Σ_b (n_b / n) · |mean confidence_b − accuracy_b| over equal-width bins."""
    n = len(probs)
    if n == 0:
        return 0.0
    acc = [[0.0, 0.0, 0] for _ in range(bins)]
    for p, y in zip(probs, correct, strict=True):
        b = min(bins - 1, max(0, int(p * bins)))
        acc[b][0] += p
        acc[b][1] += y
        acc[b][2] += 1
    return sum(abs(s - c) for s, c, k in acc if k) / n


def fit_isotonic(x: Sequence[float], y: Sequence[int]) -> Calibration:
    from sklearn.isotonic import IsotonicRegression  # type: ignore[import-untyped]

    if len(set(y)) < 2 or len(x) < 4:
        rate = sum(y) / max(1, len(y))
        return Calibration((0.0, 1.0), (rate, rate))
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(list(x), list(y))
    return Calibration(tuple(round(float(v), 8) for v in iso.X_thresholds_),
                       tuple(round(float(v), 8) for v in iso.y_thresholds_))


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
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

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
        import math
        bias, w = self.model
        return [1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, bias + sum(w[j] * v for j, v in r))))) for r in rows]


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


def write_model(out: Path, kind: str, model: Any, cal: Calibration) -> None:
    """The model file of its kind (the other kind's file removed) and the calibration map, in ``out``."""
    if kind == "lightgbm":
        (out / LGB_MODEL).write_text(model.model_to_string(num_iteration=-1), encoding="utf-8")
        (out / LOGISTIC).unlink(missing_ok=True)
    else:
        (out / LOGISTIC).write_text(json.dumps({"bias": model[0], "weights": model[1]}), encoding="utf-8")
        (out / LGB_MODEL).unlink(missing_ok=True)
    (out / CALIBRATION).write_text(json.dumps(cal.to_dict(), indent=1), encoding="utf-8")


def train(
    gold: GoldSetLike,
    out_dir: str | Path,
    *,
    kind: str = "lightgbm",
    seed: int = 0,
    pool_size: int = DEFAULT_POOL,
    rounds: int = 300,
    calib_fraction: float = 0.2,
    exclude: Sequence[str] = (),
    progress: Callable[[int, str], None] | None = None,
    source: str | None = None,
    skip_groups: Collection[tuple[str, str]] = (),
    proposer: ProposerLike | None = None,
) -> TrainReport:
    """Train a student on ``gold`` (documents whose id is in ``exclude`` are skipped) and write it to ``out_dir``.

    ``skip_groups``: ``(document id, field)`` pairs whose label is unknown (a teacher's dropped answer): their
    candidates are neither positives nor negatives."""
    if kind not in ("lightgbm", "logistic"):
        raise ValueError(f"unknown student kind {kind!r} (lightgbm or logistic)")
    skip = set(exclude)
    keep = [i for i, d in enumerate(gold.docs) if d.id not in skip]
    paths_all = gold.paths()
    docs = [gold.docs[i] for i in keep]
    groups, stats = build_examples(docs, [paths_all[i] for i in keep], gold.schema, pool_size=pool_size,
                                   progress=progress, proposer=proposer)
    if skip_groups:
        unknown = set(skip_groups)
        groups = [g for g in groups if (g.doc_id, g.field) not in unknown]
    ids = sorted({g.doc_id for g in groups})
    rnd = random.Random(seed)
    shuffled = ids[:]
    rnd.shuffle(shuffled)
    n_cal = max(1, round(len(ids) * calib_fraction)) if len(ids) > 1 else 0
    cal_ids = set(shuffled[:n_cal])
    fit_groups = [g for g in groups if g.doc_id not in cal_ids]
    cal_groups = [g for g in groups if g.doc_id in cal_ids]
    rows = [r for g in fit_groups for r in g.rows]
    labels = [y for g in fit_groups for y in g.labels]
    if not rows or len(set(labels)) < 2:
        raise ValueError(f"not enough labelled candidates to train on ({len(rows)} rows, {sum(labels)} correct)")
    model: Any = _fit_lightgbm(rows, labels, seed, rounds) if kind == "lightgbm" else _fit_logistic(rows, labels, seed)
    score = _Scorer(kind, model)
    scored = _top(cal_groups, score)
    xs, ys = _points(scored)
    cal = fit_isotonic(xs, ys)
    # ECE by 2-fold cross-fitting over calibration documents
    half = set(sorted(cal_ids)[::2])
    cross_p: list[float] = []
    cross_y: list[int] = []
    for a, b in ((True, False), (False, True)):
        fx, fy = _points([x for x in scored if (x[0].doc_id in half) == a])
        ex, ey = _points([x for x in scored if (x[0].doc_id in half) == b])
        m = fit_isotonic(fx, fy)
        cross_p += [m(v) for v in ex]
        cross_y += ey
    e = ece(cross_p, cross_y)
    # per-field thresholds on the calibration part
    fields = [f.name for f in choosable_fields(gold.schema)]
    grid = [round(0.05 * i, 2) for i in range(1, 20)]
    thresholds: dict[str, float] = {}
    metrics: dict[str, Any] = {"calibration_docs": len(cal_ids), "fit_docs": len(ids) - len(cal_ids),
                               "fit_rows": len(rows), "fit_positive": sum(labels), "ece_10_bins": round(e, 4),
                               "calibration_points": len(xs), "per_field": {}}
    for fname in fields:
        fs = [x for x in scored if x[0].field == fname]
        if sum(1 for g, s in fs if s) < 5:
            continue
        best_t = max(grid, key=lambda t: (round(_field_f1(fs, cal, t), 6), -abs(t - DEFAULT_THRESHOLD)))
        thresholds[fname] = best_t
        top1 = [g.labels[max(range(len(s)), key=lambda i: s[i])] for g, s in fs if s]
        metrics["per_field"][fname] = {"f1_at_threshold": round(_field_f1(fs, cal, best_t), 4),
                                       "top1_correct": round(sum(top1) / max(1, len(top1)), 4),
                                       "groups": len(fs)}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_model(out, kind, model, cal)
    schema_dict = gold.schema.to_dict()
    card = {
        "format": 1,
        "kind": kind,
        "feature_set": FEATURE_SET_VERSION,
        "features": N_FEATURES,
        "hash_buckets": HASH_BUCKETS,
        "evidex_version": __version__,
        "seed": seed,
        "pool_size": pool_size,
        "rounds": rounds if kind == "lightgbm" else None,
        "threshold": DEFAULT_THRESHOLD,
        "thresholds": thresholds,
        "calibration": "isotonic",
        "training_data": {"source": source or gold.name, "dataset": gold.name, "split": gold.split,
                          "docs": stats.docs, "excluded_docs": len(gold.docs) - len(docs),
                          "doc_ids_hash": _hash_json(ids), "labels": {k: v for k, v in stats.to_dict().items()
                                                                      if k not in ("examples", "failed_docs")},
                          "failed_docs": len(stats.failed_docs)},
        "schema": {"name": schema_dict.get("name"), "hash": _hash_json(schema_dict), "fields": fields},
        "metrics": metrics,
    }
    (out / CARD).write_text(json.dumps(card, indent=2, sort_keys=True), encoding="utf-8")
    return TrainReport(out, card, stats, e, metrics)


__all__ = ["TrainReport", "ece", "fit_isotonic", "train"]
