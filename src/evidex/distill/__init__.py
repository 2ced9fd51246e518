"""Learning from labels: gold → training examples → a trained, calibrated candidate scorer ("student").

``evidex.distill.train(gold, out_dir, …)`` is what ``evidex train`` runs; the trained directory is loaded at
extraction time by the ``student`` scorer (:mod:`evidex.extract.student`). ``evidex.distill.distill(docs, schema, out_dir, …)``
is what ``evidex distill`` runs: a teacher labels documents, the student trains on its trustworthy labels.
"""

from evidex.distill.data import Group, LabelStats, build_examples, value_key
from evidex.distill.teach import DistillReport, LabelCounts, distill
from evidex.distill.train import TrainReport, ece, fit_isotonic, train

__all__ = ["DistillReport", "Group", "LabelCounts", "LabelStats", "TrainReport", "build_examples", "distill", "ece", "fit_isotonic", "train", "value_key"]
