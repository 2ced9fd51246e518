"""Calibration of confidences: expected calibration error (ECE) and a reliability table — one binning for
``evidex eval``/``bench`` (:mod:`evidex.eval.calibration`) and for training (:mod:`evidex.distill.train`).

Each emitted value that carries a confidence is one point ``(confidence, correct)``, ``correct`` as the
dataset's metric decides for that (document, field) value (:func:`evidex.eval.report_cases.field_outcomes`).
With ``B`` equal-width bins over ``[0, 1]`` (a confidence ``c`` falls in bin ``min(B − 1, ⌊c·B⌋)``)::

    ECE = Σ_b (n_b / n) · |mean confidence_b − accuracy_b|

For example the points (0.9, right), (0.9, wrong), (0.2, wrong), (0.2, wrong) give bins 9 (mean 0.9,
accuracy 0.5) and 2 (mean 0.2, accuracy 0): ECE = ½·0.4 + ½·0.2 = 0.3.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

BINS = 10


@dataclass(frozen=True)
class ReliabilityBin:
    lo: float
    hi: float
    count: int
    mean_confidence: float
    accuracy: float

    def to_dict(self) -> dict[str, Any]:
        return {"bin": f"[{self.lo:.1f}, {self.hi:.1f}{']' if self.hi >= 1.0 else ')'}", "count": self.count,
                "mean_confidence": round(self.mean_confidence, 4), "accuracy": round(self.accuracy, 4)}


@dataclass(frozen=True)
class CalibrationStats:
    """ECE over ``n`` points and the reliability table (non-empty bins only, low to high)."""

    n: int
    ece: float
    mean_confidence: float
    accuracy: float
    bins: tuple[ReliabilityBin, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"values": self.n, "ece": round(self.ece, 4), "bins": BINS,
                "mean_confidence": round(self.mean_confidence, 4), "accuracy": round(self.accuracy, 4),
                "reliability": [b.to_dict() for b in self.bins]}

    def summary(self) -> str:
        return (f"calibration: ECE = {self.ece:.4f} over {self.n} values with a confidence ({BINS} bins; mean "
                f"confidence {self.mean_confidence:.3f}, accuracy {self.accuracy:.3f})")


def reliability(points: Iterable[tuple[float, bool]], bins: int = BINS) -> CalibrationStats | None:
    """ECE and reliability table of ``(confidence, correct)`` points; ``None`` when there are none."""
    acc = [[0.0, 0, 0] for _ in range(bins)]  # sum of confidences, correct, count
    for c, ok in points:
        b = acc[min(bins - 1, max(0, int(c * bins)))]
        b[0] += c
        b[1] += int(ok)
        b[2] += 1
    n = sum(int(b[2]) for b in acc)
    if n == 0:
        return None
    table = tuple(ReliabilityBin(i / bins, (i + 1) / bins, int(k), s / k, y / k)
                  for i, (s, y, k) in enumerate(acc) if k)
    ece = sum(b.count * abs(b.mean_confidence - b.accuracy) for b in table) / n
    return CalibrationStats(n, ece, sum(float(b[0]) for b in acc) / n, sum(int(b[1]) for b in acc) / n, table)


def ece(probs: Sequence[float], correct: Sequence[int], bins: int = BINS) -> float:
    """The ECE of :func:`reliability` over ``(probs[i], correct[i])`` (0.0 for no points)."""
    stats = reliability(zip(probs, (bool(y) for y in correct), strict=True), bins)
    return stats.ece if stats is not None else 0.0


__all__ = ["BINS", "CalibrationStats", "ReliabilityBin", "ece", "reliability"]
