"""Evaluation: metrics, dataset adapters, and reports over evidex prediction JSONL.

Top layer: may import everything below it; nothing in evidex imports it.
"""

from __future__ import annotations

from evidex.eval.datasets import GoldDoc, GoldSet, GoldSpan, load_dataset, load_jsonl_gold
from evidex.eval.report import EvalReport, FailUnder, check_fail_under, evaluate

__all__ = [
    "EvalReport",
    "FailUnder",
    "GoldDoc",
    "GoldSet",
    "GoldSpan",
    "check_fail_under",
    "evaluate",
    "load_dataset",
    "load_jsonl_gold",
]
