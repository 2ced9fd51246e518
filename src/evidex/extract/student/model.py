"""A trained student on disk: a directory, safe to load (no pickle), versioned, with a model card.

Layout of ``MODEL_DIR``::

    card.json         model card: kind, feature-set version, training data, schema hash and fields, metrics,
                      seed, evidex version, decision thresholds
    model.txt         LightGBM's own text model format (kind "lightgbm"), or
    weights.json      logistic-regression weights over the sparse features (kind "logistic")
    calibration.json  the isotonic map raw score → probability that the value is correct (x/y knots)

A card may carry an ``anchor`` (a *prior-anchored* student, :func:`evidex.distill.multi.train_parts` with
``anchor="prior"``): a linear function of a few named dense features, e.g. ``bias + a·logit(prior)``, that the
model was boosted from (LightGBM's ``init_score``). Its trees then hold only a correction, and the raw score is
``sigmoid(anchor(row) + Σ trees(row))``. Cards without an anchor are scored exactly as before.

A card may also say how a field is left empty: ``"empty": {"rule": "prior", "min_prior": 0.2}`` leaves it empty
when the prior would (its best candidate scores under ``min_prior``) and lets the student choose *which*
candidate otherwise (:meth:`StudentModel.answers`); without it, when the best calibrated probability is under the
card's threshold. Its ``"extras"`` (``"prior_count"`` or ``"ratio"``) says how a list field takes its other values
without reading the threshold or the calibration map (:func:`list_extras`); without it (every card before), the
others whose calibrated probability reaches the threshold.

:func:`load_student` reads it; :meth:`StudentModel.probabilities` turns sparse feature rows into calibrated
probabilities. A LightGBM student is scored by LightGBM when it is installed (``evidex[learn]``), otherwise by
:class:`TreeEnsemble`, a pure-Python reader of the same text model (same trees, same decisions: the packaged
default student needs no optional dependency).
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidex.errors import ConfigError, MissingDependencyError
from evidex.extract.prior import EXTRA_RATIO
from evidex.extract.student.context import CONTEXT_FEATURE_SET
from evidex.extract.student.features import DENSE_INDEX, FEATURE_SET_VERSION, N_FEATURES, feature_set_of
from evidex.extract.student.relations import RELATIONS_FEATURE_SET
from evidex.extract.student.semantic import ENCODER_NAME, SEMANTIC_FEATURE_SET, Encoder
from evidex.ground.forms import forms_of

CARD = "card.json"
CALIBRATION = "calibration.json"
LGB_MODEL = "model.txt"
LOGISTIC = "weights.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Calibration:
    """A monotone piecewise-linear map (isotonic regression knots) from raw score to probability."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    def __call__(self, s: float) -> float:
        if not self.x:
            return s
        if s <= self.x[0]:
            return self.y[0]
        if s >= self.x[-1]:
            return self.y[-1]
        i = bisect.bisect_right(self.x, s)
        x0, x1, y0, y1 = self.x[i - 1], self.x[i], self.y[i - 1], self.y[i]
        return y0 if x1 == x0 else y0 + (y1 - y0) * (s - x0) / (x1 - x0)

    def to_dict(self) -> dict[str, Any]:
        return {"method": "isotonic", "x": list(self.x), "y": list(self.y)}

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> Calibration:
        return Calibration(tuple(float(v) for v in d.get("x", ())), tuple(float(v) for v in d.get("y", ())))


TRANSFORMS = ("logit", "identity")
PRIOR_MIN_SCORE = 0.2  # the prior scorer's rule: choice.NONE_PRIOR and ExtractOptions.min_score
PRIOR_EXTRA_RATIO = EXTRA_RATIO  # the prior's list-field rule: the others within 80 % of the best (choice.decide)
EXTRAS = ("threshold", "prior_count", "ratio")


def list_extras(rule: str, order: Sequence[int], calibrated: Sequence[float], raw: Sequence[float],
                prior: Sequence[float], *, threshold: float = 0.5, ratio: float = PRIOR_EXTRA_RATIO,
                min_prior: float = PRIOR_MIN_SCORE) -> list[int]:
    """A list field's values besides its best candidate ``order[0]``: indexes into the candidates, in ``order``
    (the student's ranking). ``threshold``: every other candidate whose ``calibrated`` probability reaches it;
    ``prior_count``: as many as the prior would take (its others scoring at least ``ratio`` × its best and
    ``min_prior``), the student's next ones; ``ratio``: the others whose ``raw`` score is at least ``ratio`` × the
    best's. The last two do not read the calibration map or the learnt threshold."""
    if rule == "threshold":
        return [i for i in order[1:] if calibrated[i] >= threshold]
    if rule == "prior_count":
        top = max(prior, default=0.0)
        k = sum(p >= max(min_prior, ratio * top) for p in prior) - 1
        return list(order[1:1 + max(0, k)])
    if rule == "ratio":
        return [i for i in order[1:] if raw[i] >= ratio * raw[order[0]]]
    raise ConfigError(f"unknown list-field extras rule {rule!r} (one of {', '.join(EXTRAS)})")


def sigmoid(z: float) -> float:
    """The logistic function, its argument clamped to ±40 (no overflow); training and reading share it."""
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))


@dataclass(frozen=True)
class Anchor:
    """The score a prior-anchored student was boosted from, in logit space: ``bias + Σ weight·transform(x)``
    over named dense feature columns (``logit`` clips the value to [eps, 1 − eps] first; a column absent from a
    sparse row is 0)."""

    terms: tuple[tuple[str, str, float], ...]  # (feature name, transform, weight)
    bias: float = 0.0
    eps: float = 1e-3

    def __post_init__(self) -> None:
        for name, transform, _ in self.terms:
            if name not in DENSE_INDEX:
                raise ConfigError(f"student anchor: unknown feature {name!r}")
            if transform not in TRANSFORMS:
                raise ConfigError(f"student anchor: unknown transform {transform!r} (one of {', '.join(TRANSFORMS)})")

    def _term(self, transform: str, v: float) -> float:
        if transform == "logit":
            v = min(1.0 - self.eps, max(self.eps, v))
            return math.log(v / (1.0 - v))
        return v

    def value(self, row: Sequence[tuple[int, float]]) -> float:
        got = dict(row)
        return self.bias + sum(w * self._term(t, got.get(DENSE_INDEX[n], 0.0)) for n, t, w in self.terms)

    def values(self, rows: Sequence[Sequence[tuple[int, float]]]) -> list[float]:
        return [self.value(r) for r in rows]

    def to_dict(self) -> dict[str, Any]:
        return {"bias": self.bias, "eps": self.eps,
                "terms": [{"feature": n, "transform": t, "weight": w} for n, t, w in self.terms]}

    @staticmethod
    def from_dict(d: Mapping[str, Any] | None) -> Anchor | None:
        if not d:
            return None
        terms = tuple((str(t["feature"]), str(t.get("transform", "identity")), float(t["weight"]))
                      for t in d.get("terms", ()))
        return Anchor(terms, float(d.get("bias", 0.0)), float(d.get("eps", 1e-3)))


_ZERO = 1e-35  # LightGBM's kZeroThreshold: |v| below it is "zero" for a Zero-missing-type split


@dataclass(frozen=True)
class _Tree:
    feature: tuple[int, ...]
    threshold: tuple[float, ...]
    decision: tuple[int, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    leaf: tuple[float, ...]

    def value(self, g: Callable[[int, float], float]) -> float:
        """The tree's output for a row read through ``g`` (the row dict's ``get``), walking its arrays."""
        if not self.feature:
            return self.leaf[0]
        node = 0
        while node >= 0:
            v = g(self.feature[node], 0.0)
            dt = self.decision[node]
            if (dt >> 2) & 3 == 1 and -_ZERO < v < _ZERO:  # missing type Zero: the default direction
                node = self.left[node] if dt & 2 else self.right[node]
            else:
                node = self.left[node] if v <= self.threshold[node] else self.right[node]
        return self.leaf[~node]

    def source(self, name: str) -> str | None:
        """This tree as the Python source of ``def name(g): …`` (``g`` is a row's ``dict.get``): the same decisions
        as :meth:`value`, as nested ``if``s over numeric literals only; ``None`` when too deep to nest or a number is not finite."""
        if not all(math.isfinite(v) for v in (*self.threshold, *self.leaf)):
            return None  # inf / nan have no literal: such a tree stays walked
        lines = [f"def {name}(g):"]

        def emit(node: int, depth: int) -> bool:
            pad = "    " * depth
            if node < 0 or not self.feature:
                lines.append(f"{pad}return {float(self.leaf[~node if node < 0 else 0])!r}")
                return True
            if depth > MAX_TREE_DEPTH:
                return False
            x = f"g({int(self.feature[node])}, 0.0)"
            t = float(self.threshold[node])
            dt = int(self.decision[node])
            if (dt >> 2) & 3 == 1:  # missing type Zero: |v| < _ZERO takes the default direction
                zero = f"-{_ZERO!r} < x < {_ZERO!r}"
                cond = f"({zero}) or x <= {t!r}" if dt & 2 else f"not ({zero}) and x <= {t!r}"
                lines.append(f"{pad}x = {x}")
            else:
                cond = f"{x} <= {t!r}"
            lines.append(f"{pad}if {cond}:")
            if not emit(int(self.left[node]), depth + 1):
                return False
            lines.append(f"{pad}else:")
            return emit(int(self.right[node]), depth + 1)

        return "\n".join(lines) + "\n" if emit(0, 1) else None


MAX_TREE_DEPTH = 80  # deeper trees stay interpreted (Python's parser nests blocks only so deep)


def compile_trees(trees: Sequence[_Tree]) -> list[Callable[[Callable[[int, float], float]], float]]:
    """Each tree as a Python function of a row's ``dict.get`` (several times faster than walking its arrays).

    The generated source holds nothing but ``if``/``else``, comparisons, ``return`` and the numbers parsed from the
    model file (``int``/``float`` reprs), so compiling it runs no text of the model file as code."""
    out: list[Callable[[Callable[[int, float], float]], float]] = []
    for i, tree in enumerate(trees):
        src = tree.source(f"tree_{i}")
        if src is None:
            out.append(tree.value)
            continue
        scope: dict[str, Any] = {"__builtins__": {}}
        exec(compile(src, f"<student tree {i}>", "exec"), scope)  # numeric literals only, see above
        out.append(scope[f"tree_{i}"])
    return out


def _ints(block: Mapping[str, str], key: str) -> tuple[int, ...]:
    return tuple(int(v) for v in block.get(key, "").split())


def _floats(block: Mapping[str, str], key: str) -> tuple[float, ...]:
    return tuple(float(v) for v in block.get(key, "").split())


def objective_sigmoid(text: str) -> float:
    """The ``sigmoid:`` parameter of a LightGBM text model's objective line (1.0 when absent)."""
    for line in text.splitlines():
        if line.startswith("objective="):
            for part in line.split()[1:]:
                if part.startswith("sigmoid:"):
                    return float(part.split(":", 1)[1])
            break
        if line.startswith("Tree="):
            break
    return 1.0


@dataclass(frozen=True)
class TreeEnsemble:
    """A LightGBM binary model read from its text format and evaluated in Python (numerical splits only)."""

    trees: tuple[_Tree, ...]
    sigmoid: float = 1.0
    compiled: tuple[Callable[[Callable[[int, float], float]], float], ...] = field(default=(), compare=False, repr=False)

    @staticmethod
    def from_text(text: str) -> TreeEnsemble:
        sigmoid = objective_sigmoid(text)
        trees: list[_Tree] = []
        block: dict[str, str] = {}

        def flush() -> None:
            if not block:
                return
            if int(block.get("num_cat", "0")):
                raise ConfigError("categorical splits are not supported by the pure-Python tree reader",
                                  hint="pip install 'evidex[learn]' (LightGBM)")
            trees.append(_Tree(_ints(block, "split_feature"), _floats(block, "threshold"),
                               _ints(block, "decision_type"), _ints(block, "left_child"), _ints(block, "right_child"),
                               _floats(block, "leaf_value")))
            block.clear()

        in_tree = False
        for line in text.splitlines():
            if line.startswith("Tree="):
                flush()
                in_tree = True
            elif line.startswith("end of trees"):
                break
            elif in_tree and "=" in line:
                k, v = line.split("=", 1)
                block[k] = v
        flush()
        return TreeEnsemble(tuple(trees), sigmoid)

    def margins(self, rows: Sequence[Sequence[tuple[int, float]]]) -> list[float]:
        """The summed tree outputs (LightGBM's ``raw_score``) of each row, in tree order (LightGBM's sum)."""
        if not self.compiled and self.trees:
            object.__setattr__(self, "compiled", tuple(compile_trees(self.trees)))
        fns = self.compiled
        out = []
        for r in rows:
            g = dict(r).get
            out.append(sum(f(g) for f in fns))
        return out

    def predict(self, rows: Sequence[Sequence[tuple[int, float]]]) -> list[float]:
        return [sigmoid(z * self.sigmoid) for z in self.margins(rows)]


def width(rows: Sequence[Sequence[tuple[int, float]]]) -> int:
    """The number of columns of a feature set: set 1's, set 2's when a row has a semantic column, set 3's when a
    row has a relational one."""
    return feature_set_of(rows)[1]


FEATURE_SETS = (FEATURE_SET_VERSION, SEMANTIC_FEATURE_SET, RELATIONS_FEATURE_SET, CONTEXT_FEATURE_SET)


def dense(rows: Sequence[Sequence[tuple[int, float]]], n_features: int | None = None) -> Any:
    """Sparse rows → a float64 numpy matrix of ``n_features`` columns (default: :func:`width`)."""
    import numpy as np

    m = np.zeros((len(rows), n_features or width(rows)), dtype=np.float64)
    for i, r in enumerate(rows):
        for j, v in r:
            m[i, j] = v
    return m


def sparse(rows: Sequence[Sequence[tuple[int, float]]], n_features: int | None = None) -> Any:
    """Sparse rows → a scipy CSR matrix of ``n_features`` columns (default: :func:`width`; training-size data)."""
    import numpy as np
    from scipy.sparse import csr_matrix  # type: ignore[import-untyped]

    indptr = [0]
    cols: list[int] = []
    vals: list[float] = []
    for r in rows:
        for j, v in r:
            cols.append(j)
            vals.append(v)
        indptr.append(len(cols))
    return csr_matrix((np.asarray(vals, dtype=np.float64), np.asarray(cols, dtype=np.int32),
                       np.asarray(indptr, dtype=np.int64)), shape=(len(rows), n_features or width(rows)))


def files_digest(paths: Sequence[Path]) -> str:
    """A short sha256 over the names and bytes of the existing ``paths``: which trained model a part is using
    (pipeline specs record it beside the part's version, so a run resumed with another model is refused)."""
    h = hashlib.sha256()
    for f in paths:
        if f.is_file():
            h.update(f.name.encode("utf-8") + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:12]


@dataclass
class StudentModel:
    path: Path
    card: dict[str, Any]
    calibration: Calibration
    kind: str
    _booster: Any = None
    _weights: tuple[float, list[float]] | None = None
    _trees: TreeEnsemble | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    anchor: Anchor | None = None
    _sig: float = 1.0
    digest: str = ""  # :func:`files_digest` of the card, calibration and model files

    @functools.cached_property
    def forms(self) -> dict[str, dict[str, str]]:
        """The value forms the card records (read once per loaded model, not per document)."""
        return forms_of(self.card)

    @property
    def default_threshold(self) -> float:
        return float(self.card.get("threshold", 0.5))

    @property
    def n_features(self) -> int:
        return int(self.card.get("features", N_FEATURES))

    @property
    def semantic(self) -> bool:
        """Whether the model reads the MiniLM semantic features (feature set 2)."""
        return str(self.card.get("feature_set")) == SEMANTIC_FEATURE_SET

    @property
    def relational(self) -> bool:
        """Whether the model reads the relational features (feature sets 3 and 4)."""
        return str(self.card.get("feature_set")) in (RELATIONS_FEATURE_SET, CONTEXT_FEATURE_SET)

    @property
    def contextual(self) -> bool:
        """Whether the model reads the context features (feature set 4)."""
        return str(self.card.get("feature_set")) == CONTEXT_FEATURE_SET

    @property
    def encoder(self) -> Encoder | None:
        """The sentence encoder of the semantic features (loaded once per process), or ``None``."""
        if not self.semantic:
            return None
        from evidex.embed import load_minilm

        return load_minilm()

    @property
    def pool_size(self) -> int:
        return int(self.card.get("pool_size", 60))

    def threshold(self, field: str) -> float:
        return self.thresholds.get(field, self.default_threshold)

    @property
    def empty_rule(self) -> str:
        """``"prior"`` when a field is left empty as the prior would leave it, else ``"threshold"``."""
        e = self.card.get("empty")
        return str(e.get("rule", "threshold")) if isinstance(e, Mapping) else "threshold"

    def answers(self, field: str, confidence: float, prior_top: float) -> bool:
        """Whether the field gets a value: its best candidate has calibrated ``confidence`` and the prior's best
        candidate scores ``prior_top``."""
        if self.empty_rule == "prior":
            return prior_top >= float(self.card["empty"].get("min_prior", PRIOR_MIN_SCORE))
        return confidence >= self.threshold(field)

    @property
    def extras_rule(self) -> str:
        """How a list field's other values are taken: the card's ``empty.extras`` (``"threshold"`` without it)."""
        e = self.card.get("empty")
        return str(e.get("extras", "threshold")) if isinstance(e, Mapping) else "threshold"

    def extras(self, field: str, order: Sequence[int], calibrated: Sequence[float], raw: Sequence[float],
               prior: Sequence[float]) -> list[int]:
        """A list field's values besides ``order[0]`` by the card's rule (:func:`list_extras`)."""
        e = self.card.get("empty")
        e = e if isinstance(e, Mapping) else {}
        return list_extras(self.extras_rule, order, calibrated, raw, prior, threshold=self.threshold(field),
                           ratio=float(e.get("ratio", PRIOR_EXTRA_RATIO)),
                           min_prior=float(e.get("min_prior", PRIOR_MIN_SCORE)))

    def raw_scores(self, rows: Sequence[Sequence[tuple[int, float]]]) -> list[float]:
        """The model's uncalibrated probability for each sparse row."""
        if not rows:
            return []
        if self.anchor is not None:
            k = self.sigmoid
            return [sigmoid(k * (a + m)) for a, m in zip(self.anchor.values(rows), self.margins(rows), strict=True)]
        if self.kind == "lightgbm":
            if self._booster is None:
                assert self._trees is not None
                return self._trees.predict(rows)
            out = self._booster.predict(dense(rows, self.n_features), num_threads=1)
            return [float(v) for v in out]
        return [sigmoid(z) for z in self.margins(rows)]

    @property
    def sigmoid(self) -> float:
        """LightGBM's ``sigmoid`` parameter (probability = 1 / (1 + exp(−sigmoid · raw score))); 1 otherwise."""
        return self._trees.sigmoid if self._trees is not None else self._sig

    def margins(self, rows: Sequence[Sequence[tuple[int, float]]]) -> list[float]:
        """The model's own raw score of each sparse row, before the sigmoid and without the card's anchor: the
        summed trees (LightGBM's ``raw_score``) or the logistic regression's logit."""
        if self.kind == "lightgbm":
            if self._booster is None:
                assert self._trees is not None
                return self._trees.margins(rows)
            out = self._booster.predict(dense(rows, self.n_features), num_threads=1, raw_score=True)
            return [float(v) for v in out]
        assert self._weights is not None
        bias, w = self._weights
        return [bias + sum(w[j] * v for j, v in r) for r in rows]

    def probabilities(self, rows: Sequence[Sequence[tuple[int, float]]]) -> list[tuple[float, float]]:
        """(raw, calibrated) per row."""
        return [(s, self.calibration(s)) for s in self.raw_scores(rows)]


def load_student(path: str | Path, *, pure_python: bool = False) -> StudentModel:
    """Load a student directory written by :func:`evidex.distill.train` (no pickle: JSON and LightGBM text).

    A LightGBM model is evaluated by LightGBM when it is installed and ``pure_python`` is false, else by
    :class:`TreeEnsemble`."""
    p = Path(path)
    card_path = p / CARD
    if not card_path.is_file():
        raise ConfigError(f"{p} is not a student model directory (no {CARD})",
                          hint="train one with `evidex train DATASET_OR_GOLD -o MODEL_DIR`")
    card = json.loads(card_path.read_text(encoding="utf-8"))
    fs = str(card.get("feature_set"))
    if fs not in FEATURE_SETS:
        raise ConfigError(f"student {p} was trained on feature set {card.get('feature_set')!r}; this evidex computes "
                          f"feature sets {', '.join(repr(x) for x in FEATURE_SETS)}", hint="retrain it with `evidex train`")
    if fs == SEMANTIC_FEATURE_SET:
        from evidex.embed import INSTALL_HINT, available

        if not available():
            raise MissingDependencyError(f"student {p} reads {ENCODER_NAME} sentence embeddings (feature set "
                                         f"{fs}), whose weights are not installed", hint=INSTALL_HINT)
    cal = Calibration.from_dict(json.loads((p / CALIBRATION).read_text(encoding="utf-8")))
    kind = str(card.get("kind", "lightgbm"))
    m = StudentModel(p, card, cal, kind, thresholds={str(k): float(v) for k, v in card.get("thresholds", {}).items()},
                     anchor=Anchor.from_dict(card.get("anchor")),
                     digest=files_digest([card_path, p / CALIBRATION, p / LGB_MODEL, p / LOGISTIC]))
    if m.empty_rule not in ("threshold", "prior"):
        raise ConfigError(f"student {p}: unknown empty rule {m.empty_rule!r} (threshold or prior)")
    if m.extras_rule not in EXTRAS:
        raise ConfigError(f"student {p}: unknown list-field extras rule {m.extras_rule!r} (one of {', '.join(EXTRAS)})")
    if kind == "lightgbm":
        text = (p / LGB_MODEL).read_text(encoding="utf-8")
        try:
            if pure_python:
                raise ImportError("pure_python")
            import lightgbm
        except ImportError:
            m._trees = TreeEnsemble.from_text(text)
        else:
            m._booster = lightgbm.Booster(model_str=text)
            m._sig = objective_sigmoid(text)
    elif kind == "logistic":
        w = json.loads((p / LOGISTIC).read_text(encoding="utf-8"))
        weights = [float(v) for v in w["weights"]]
        if len(weights) != m.n_features:
            raise ConfigError(f"student {p}: {len(weights)} weights for {m.n_features} features")
        m._weights = (float(w["bias"]), weights)
    else:
        raise ConfigError(f"student {p}: unknown model kind {kind!r}")
    return m


__all__ = [
    "CALIBRATION",
    "CARD",
    "EXTRAS",
    "FEATURE_SETS",
    "LGB_MODEL",
    "LOGISTIC",
    "PRIOR_EXTRA_RATIO",
    "PRIOR_MIN_SCORE",
    "Anchor",
    "Calibration",
    "StudentModel",
    "TreeEnsemble",
    "dense",
    "list_extras",
    "load_student",
    "sigmoid",
    "sparse",
    "width",
]
