"""Train one schema-conditioned student on several gold sets at once (each with its own schema).

:func:`collect` labels one gold set's candidates (its schema's fields only: a receipt is never asked for an
NDA's ``party``); :func:`train_parts` fits a single model on the union of several collected parts. Document
ids are prefixed with the part's name (two datasets may share ids). As in :func:`evidex.distill.train`, a
seeded 20 % of each part's documents is held back for the isotonic calibration and the ECE (2-fold
cross-fitted there); the "leave the field empty" threshold is *one* threshold, the one that maximises the
micro F1 over every part's calibration documents — no per-field thresholds, because a generic student is
used on fields it never saw (a threshold learnt for SROIE's ``date`` must not apply to someone's ``date``).

:func:`evaluate_parts` measures a trained student on parts it did not train on: the ECE of its calibrated
confidence of each (document, field)'s best candidate, and its top-1 accuracy.

``anchor="prior"`` trains a *prior-anchored* student: a logistic regression over the hand-written prior's
score (its logit) and whether it is the prior's top candidate gives every row an initial logit (LightGBM's
``init_score``), and the trees, regularised harder (:data:`ANCHORED_PARAMS`), learn only a correction of it.
The anchor is written into the card; :class:`evidex.extract.student.model.StudentModel` adds it back.
``empty="prior"`` writes the prior's "leave it empty" rule into the card instead of the learnt threshold (a field
is left empty when the prior's best candidate scores under 0.2; the student picks which candidate otherwise):
measured on left-out datasets, the threshold learnt on other schemas' calibration documents does not transfer.
``extras="prior_count"`` (or ``"ratio"``) takes a list field's other values by a rule that reads neither that
threshold nor the calibration map, so recalibrating cannot move them (:func:`evidex.extract.student.model.list_extras`).
``cross_dataset="all"`` with ``points="emitted"`` fits the map for unseen schemas: every training document scored by
a model trained without its dataset, on the values the student would emit.
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidex import __version__
from evidex.distill.data import Group, LabelStats, build_examples, choosable_fields
from evidex.distill.train import (
    CALIBRATORS,
    DEFAULT_THRESHOLD,
    GoldSetLike,
    _field_f1,
    _fit_lightgbm,
    _fit_logistic,
    _hash_json,
    _points,
    _Scorer,
    _top,
    ece,
    write_model,
)
from evidex.extract.student.features import (
    DENSE_INDEX,
    HASH_BUCKETS,
    N_DENSE,
    N_FEATURES,
    feature_set_of,
)
from evidex.extract.student.model import (
    CARD,
    EXTRAS,
    PRIOR_EXTRA_RATIO,
    PRIOR_MIN_SCORE,
    Anchor,
    StudentModel,
    list_extras,
    sigmoid,
    sparse,
)
from evidex.extract.student.semantic import (
    ENCODER_NAME,
    SEMANTIC,
    SEMANTIC_FEATURE_SET,
    Encoder,
    using_encoder,
)

GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))
ANCHOR_TERMS = (("prior", "logit"), ("prior_is_top", "identity"))
# the trees of an anchored student: few, shallow, on many rows each, each seeing half of the columns
ANCHORED_PARAMS: dict[str, Any] = {"learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 100,
                                   "feature_fraction": 0.5, "lambda_l2": 10.0}
THREADS = 2


@dataclass
class Part:
    """One gold set's labelled candidate groups (ids prefixed ``name/``) and its schema's field names."""

    name: str
    groups: list[Group]
    stats: LabelStats
    fields: list[str]
    split: str = ""


def collect(gold: GoldSetLike, *, name: str | None = None, exclude: Sequence[str] = (), pool_size: int = 100,
            progress: Callable[[int, str], None] | None = None, encoder: Encoder | None = None) -> Part:
    """Parse and label ``gold``'s documents (those in ``exclude`` skipped) for its own schema; with an
    ``encoder`` the rows carry the semantic features too (feature set 2)."""
    skip = set(exclude)
    paths = gold.paths()
    keep = [i for i, d in enumerate(gold.docs) if d.id not in skip]
    with using_encoder(encoder):
        groups, stats = build_examples([gold.docs[i] for i in keep], [paths[i] for i in keep], gold.schema,
                                       pool_size=pool_size, progress=progress)
    label = name or gold.name
    groups = [dataclasses.replace(g, doc_id=f"{label}/{g.doc_id}") for g in groups]
    return Part(label, groups, stats, [f.name for f in choosable_fields(gold.schema)], gold.split)


def _split(parts: Sequence[Part], seed: int, fraction: float) -> set[str]:
    """The calibration documents: a seeded ``fraction`` of each part's document ids."""
    cal: set[str] = set()
    for p in parts:
        ids = sorted({g.doc_id for g in p.groups})
        random.Random(seed).shuffle(ids)
        n = max(1, round(len(ids) * fraction)) if len(ids) > 1 else 0
        cal.update(ids[:n])
    return cal


def fit_anchor(rows: Sequence[Sequence[tuple[int, float]]], labels: Sequence[int],
               terms: Sequence[tuple[str, str]] = ANCHOR_TERMS) -> Anchor:
    """The logistic regression of ``labels`` on the transformed anchor ``terms`` of ``rows`` (almost no
    regularisation: a handful of weights on many rows) → an :class:`Anchor`."""
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    one = [Anchor(((n, t, 1.0),)) for n, t in terms]
    cols = [[a.value(r) for a in one] for r in rows]
    lr = LogisticRegression(C=1e4, max_iter=1000, solver="lbfgs").fit(cols, list(labels))
    weights = [round(float(w), 8) for w in lr.coef_.ravel()]
    return Anchor(tuple((n, t, w) for (n, t), w in zip(terms, weights, strict=True)), round(float(lr.intercept_[0]), 8))


def _fit_anchored(rows: list[list[tuple[int, float]]], labels: list[int], anchor: Anchor, seed: int, rounds: int,
                  params: Mapping[str, Any] | None) -> Any:
    """LightGBM boosted from ``anchor``'s logit of each row (``init_score``): its trees are a correction."""
    import lightgbm as lgb

    p = {"objective": "binary", "verbose": -1, "seed": seed, "deterministic": True, "num_threads": THREADS,
         "force_col_wise": True, "feature_fraction_seed": seed, "bagging_seed": seed, "data_random_seed": seed,
         **ANCHORED_PARAMS, **(params or {})}
    ds = lgb.Dataset(sparse(rows), label=labels, init_score=anchor.values(rows), free_raw_data=True)
    return lgb.train(p, ds, num_boost_round=rounds)


class _AnchoredScorer:
    def __init__(self, model: Any, anchor: Anchor) -> None:
        self.model, self.anchor = model, anchor

    def __call__(self, rows: list[list[tuple[int, float]]]) -> list[float]:
        if not rows:
            return []
        m = self.model.predict(sparse(rows), num_threads=THREADS, raw_score=True)
        return [sigmoid(a + float(v)) for a, v in zip(self.anchor.values(rows), m, strict=True)]


def _emitted(g: Group, s: list[float], probs: list[float], t: float, extras: str) -> list[int]:
    """The candidates a student with the prior's empty rule emits for group ``g`` (raw scores ``s``, calibrated
    ``probs``): none when the prior's best is under :data:`PRIOR_MIN_SCORE`, else the best and, for a list field,
    the others by the ``extras`` rule (:func:`list_extras`)."""
    prior = [dict(r).get(DENSE_INDEX["prior"], 0.0) for r in g.rows]
    if not s or prior[0] < PRIOR_MIN_SCORE:  # rows are in the prior's rank order
        return []
    order = sorted(range(len(s)), key=lambda i: (-probs[i], -s[i]))
    return [order[0]] + (list_extras(extras, order, probs, s, prior, threshold=t) if g.many else [])


def _emitted_points(scored: Sequence[tuple[Group, list[float]]], extras: str) -> tuple[list[float], list[int]]:
    """(raw score, label) of every value emitted under the prior's empty rule and an ``extras`` rule that reads
    no calibration (the values whose confidence a calibration map must predict)."""
    xs: list[float] = []
    ys: list[int] = []
    for g, s in scored:
        for i in _emitted(g, s, s, 1.0, extras):
            xs.append(s[i])
            ys.append(g.labels[i])
    return xs, ys


def _micro_f1(scored: Sequence[tuple[Group, list[float]]], cal: Any, t: float, gate: bool = False,
              extras: str = "threshold") -> float:
    """Micro F1 of the decisions over ``scored`` groups: the best candidate by calibrated probability when it
    reaches ``t`` (with ``gate``: when the prior's best reaches :data:`PRIOR_MIN_SCORE`), a list field's others
    reaching ``t`` too (with ``gate``, by the ``extras`` rule)."""
    if not gate:
        return _field_f1(scored, cal, t)
    tp = fp = n_gold = 0
    for g, s in scored:
        n_gold += g.n_gold
        take = _emitted(g, s, [cal(v) for v in s], t, extras)
        tp += sum(g.labels[i] for i in take)
        fp += len(take) - sum(g.labels[i] for i in take)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / n_gold if n_gold else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def train_parts(parts: Sequence[Part], out_dir: str | Path, *, kind: str = "lightgbm", seed: int = 0,
                rounds: int = 300, pool_size: int = 100, calib_fraction: float = 0.2,
                description: str = "", crosses: bool = True, anchor: str = "", empty: str = "threshold",
                params: Mapping[str, Any] | None = None, cross_dataset: bool | str = False,
                extras: str = "threshold", points: str = "top", calibration: str = "isotonic") -> dict[str, Any]:
    """Fit one student on every part's groups, calibrate it on the held-back documents, write it; → its card.

    ``crosses=False`` drops the hashed field×context crosses (dense features only, semantic ones included).
    Parts collected with an encoder train a feature-set-2 student (it reads MiniLM cosines; see the card).
    ``anchor="prior"``: boost from the prior (LightGBM only; ``params`` override :data:`ANCHORED_PARAMS`).
    ``empty="prior"``: fields are left empty by the prior's rule, not by the learnt threshold (see the module).
    ``cross_dataset=True``: the calibration map (and threshold) is fitted on each part's calibration documents as
    scored by a model trained without that part — what an unseen schema looks like — instead of by the final model
    (one more training per part); ``cross_dataset="all"``: every document of each part so scored (all are unseen by
    that model), pooled.
    ``extras`` (with ``empty="prior"``): how a list field takes its other values (:func:`list_extras`; ``threshold``
    reads the calibration map and the learnt threshold, ``prior_count`` and ``ratio`` do not).
    ``points="emitted"`` (with ``empty="prior"`` and such an ``extras`` rule): the calibration map is fitted on the
    values the student would emit (a field the prior answers: its best, a list field's extras) instead of each
    field's best candidate and a list field's next four; ``calibration``: ``isotonic`` or ``platt``."""
    if kind not in ("lightgbm", "logistic"):
        raise ValueError(f"unknown student kind {kind!r} (lightgbm or logistic)")
    if anchor not in ("", "prior") or (anchor and kind != "lightgbm"):
        raise ValueError(f"unknown anchor {anchor!r} for a {kind} student (\"prior\" with lightgbm, or none)")
    if empty not in ("threshold", "prior"):
        raise ValueError(f"unknown empty rule {empty!r} (threshold or prior)")
    gate = empty == "prior"
    if extras not in EXTRAS or (extras != "threshold" and not gate):
        raise ValueError(f"unknown extras rule {extras!r} for empty={empty!r} (one of {', '.join(EXTRAS)}; "
                         "other than threshold only with empty='prior')")
    if points not in ("top", "emitted") or (points == "emitted" and extras == "threshold"):
        raise ValueError(f"unknown calibration points {points!r} with extras={extras!r} (top, or emitted with an "
                         "extras rule that reads no calibration)")
    if calibration not in CALIBRATORS or cross_dataset not in (False, True, "all"):
        raise ValueError(f"unknown calibration {calibration!r} / cross_dataset {cross_dataset!r}")
    fit_cal = CALIBRATORS[calibration]
    if not crosses:
        parts = [dataclasses.replace(p, groups=[dataclasses.replace(g, rows=[[x for x in r if x[0] < N_DENSE or x[0] >= N_FEATURES]
                                                                             for r in g.rows]) for g in p.groups])
                 for p in parts]
    cal_ids = _split(parts, seed, calib_fraction)
    fit = [g for p in parts for g in p.groups if g.doc_id not in cal_ids]
    held = [g for p in parts for g in p.groups if g.doc_id in cal_ids]
    rows = [r for g in fit for r in g.rows]
    labels = [y for g in fit for y in g.labels]
    feature_set, n_features = feature_set_of(rows)
    semantic = feature_set == SEMANTIC_FEATURE_SET
    if not rows or len(set(labels)) < 2:
        raise ValueError(f"not enough labelled candidates to train on ({len(rows)} rows, {sum(labels)} correct)")

    def fit_model(rs: list[list[tuple[int, float]]], ys: list[int]) -> tuple[Any, Anchor | None, Any]:
        a = fit_anchor(rs, ys) if anchor else None
        if a is not None:
            m = _fit_anchored(rs, ys, a, seed, rounds, params)
            return m, a, _AnchoredScorer(m, a)
        m = _fit_lightgbm(rs, ys, seed, rounds) if kind == "lightgbm" else _fit_logistic(rs, ys, seed)
        return m, None, _Scorer(kind, m)

    model, anc, scorer = fit_model(rows, labels)
    xd = bool(cross_dataset) and len(parts) > 1
    if xd:  # each part's calibration documents (or all of them) scored by a model without that part
        scored = []
        for p in parts:
            other = [g for g in fit if not g.doc_id.startswith(f"{p.name}/")]
            _, _, sc = fit_model([r for g in other for r in g.rows], [y for g in other for y in g.labels])
            scored += _top([g for g in (p.groups if cross_dataset == "all" else held)
                            if g.doc_id.startswith(f"{p.name}/")], sc)
    else:
        scored = _top(held, scorer)

    def pts(sc: Sequence[tuple[Group, list[float]]]) -> tuple[list[float], list[int]]:
        return _emitted_points(sc, extras) if points == "emitted" else _points(sc)

    xs, ys = pts(scored)
    cal = fit_cal(xs, ys)
    cal_docs = {g.doc_id for g, _ in scored} if cross_dataset == "all" else cal_ids
    half = set(sorted(cal_docs)[::2])
    cross_p: list[float] = []
    cross_y: list[int] = []
    for a in (True, False):
        m = fit_cal(*pts([x for x in scored if (x[0].doc_id in half) == a]))
        ex, ey = pts([x for x in scored if (x[0].doc_id in half) != a])
        cross_p += [m(v) for v in ex]
        cross_y += ey
    threshold = max(GRID, key=lambda t: (round(_micro_f1(scored, cal, t, gate, extras), 6),
                                         -abs(t - DEFAULT_THRESHOLD)))
    per_part = {}
    for p in parts:
        ps = [x for x in scored if x[0].doc_id.startswith(f"{p.name}/")]
        per_part[p.name] = {"calibration_groups": len(ps),
                            "f1_at_threshold": round(_micro_f1(ps, cal, threshold, gate, extras), 4)}
    metrics = {"calibration_docs": len(cal_docs), "fit_docs": len({g.doc_id for g in fit}),
               "fit_rows": len(rows), "fit_positive": sum(labels), "ece_10_bins": round(ece(cross_p, cross_y), 4),
               "calibration_points": len(xs),
               "f1_at_threshold": round(_micro_f1(scored, cal, threshold, gate, extras), 4), "per_part": per_part}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_model(out, kind, model, cal, calibration)
    card = {
        "format": 1, "kind": kind, "feature_set": feature_set,
        "features": n_features, "semantic": {"encoder": ENCODER_NAME, "features": list(SEMANTIC)} if semantic else None,
        "hash_buckets": HASH_BUCKETS, "evidex_version": __version__, "seed": seed, "pool_size": pool_size,
        "rounds": rounds if kind == "lightgbm" else None, "threshold": threshold, "thresholds": {},
        "calibration": calibration + (", cross-dataset" if xd else "") + (" (every document)" if xd and
                                                                           cross_dataset == "all" else "")
        + (", emitted values" if points == "emitted" else ""),
        "description": description, "crosses": crosses,
        **({"anchor": anc.to_dict(), "params": {**ANCHORED_PARAMS, **(params or {})}} if anc is not None else {}),
        **({"empty": {"rule": "prior", "min_prior": PRIOR_MIN_SCORE,
                      **({"extras": extras, "ratio": PRIOR_EXTRA_RATIO} if extras != "threshold" else {})}}
           if gate else {}),
        "training_data": [{"dataset": p.name, "split": p.split, "docs": p.stats.docs,
                           "doc_ids_hash": _hash_json(sorted({g.doc_id for g in p.groups})), "fields": p.fields,
                           "labels": {k: v for k, v in p.stats.to_dict().items()
                                      if k not in ("examples", "failed_docs", "per_field", "forms")},
                           "failed_docs": len(p.stats.failed_docs)} for p in parts],
        "schema": {"name": "generic", "fields": sorted({f"{p.name}.{f}" for p in parts for f in p.fields})},
        "metrics": metrics,
    }
    (out / CARD).write_text(json.dumps(card, indent=2, sort_keys=True), encoding="utf-8")
    return card


def evaluate_parts(model: StudentModel, parts: Sequence[Part]) -> dict[str, Any]:
    """ECE (10 bins) and top-1 accuracy of ``model``'s calibrated confidence of each group's best candidate,
    over groups with candidates (parts the model did not train on)."""
    probs: list[float] = []
    correct: list[int] = []
    for p in parts:
        for g in p.groups:
            if not g.rows:
                continue
            scores = model.probabilities(g.rows)
            best = max(range(len(scores)), key=lambda i: (scores[i][1], scores[i][0]))
            probs.append(scores[best][1])
            correct.append(g.labels[best])
    n = len(probs)
    return {"groups": n, "ece_10_bins": round(ece(probs, correct), 4),
            "top1_correct": round(sum(correct) / n, 4) if n else 0.0,
            "mean_confidence": round(sum(probs) / n, 4) if n else 0.0}


__all__ = ["ANCHORED_PARAMS", "ANCHOR_TERMS", "Part", "collect", "evaluate_parts", "fit_anchor", "train_parts"]
