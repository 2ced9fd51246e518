"""Calibration of emitted confidences in ``evidex eval``/``bench``: see :mod:`evidex.extract.student.reliability`.

Each emitted value that carries a confidence is one point ``(confidence, correct)``, ``correct`` as the
dataset's metric decides for that (document, field) value (:func:`evidex.eval.report_cases.field_outcomes`).
"""

from __future__ import annotations

from evidex.extract.student.reliability import BINS, CalibrationStats, ReliabilityBin, reliability

__all__ = ["BINS", "CalibrationStats", "ReliabilityBin", "reliability"]
