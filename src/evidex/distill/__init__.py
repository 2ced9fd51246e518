"""Learning from labels: gold → training examples → a trained, calibrated candidate scorer ("student").

``evidex.distill.train(gold, out_dir, …)`` is what ``evidex train`` runs; the trained directory is loaded at
extraction time by the ``student`` scorer (:mod:`evidex.extract.student`).
"""

from evidex.distill.data import Group, LabelStats, build_examples, value_key
from evidex.distill.train import TrainReport, ece, fit_isotonic, train

__all__ = ["Group", "LabelStats", "TrainReport", "build_examples", "ece", "fit_isotonic", "train", "value_key"]
