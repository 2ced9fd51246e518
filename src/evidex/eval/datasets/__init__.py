"""Dataset adapters: each returns a :class:`GoldSet` (documents, gold values/spans, schema, metric name).

Documents are read from the dataset folder in place; text-only datasets are materialised into the cache
(see :mod:`evidex.eval.datasets.base`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from evidex.errors import UsageError
from evidex.eval.datasets.base import GoldDoc, GoldSet, GoldSpan, cache_root
from evidex.eval.datasets.cuad import load_cuad
from evidex.eval.datasets.jsonl import load_jsonl_gold
from evidex.eval.datasets.kleister import load_kleister, load_kleister_nda
from evidex.eval.datasets.schemas import builtin_schema
from evidex.eval.datasets.sroie import load_sroie
from evidex.eval.datasets.swde import load_swde
from evidex.eval.datasets.wnut17 import load_wnut17

# name → (loader, folder under the shared data root, default split)
DATASETS: dict[str, tuple[Callable[..., GoldSet], str, str]] = {
    "kleister-nda": (load_kleister_nda, "kleister-nda", "dev-0"),
    "sroie": (load_sroie, "sroie", "train"),
    "cuad": (load_cuad, "cuad", "all"),
    "wnut17": (load_wnut17, "wnut17", "dev"),
    "swde": (load_swde, "swde", "book-booksamillion"),
}


def load_dataset(name: str, data_root: Path | str, split: str | None = None, **options: Any) -> GoldSet:
    """Load a built-in dataset from ``data_root/<folder>`` (e.g. ``/work/shared/data``)."""
    if name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r}", hint=f"use one of: {', '.join(DATASETS)}, or a gold .jsonl file")
    loader, folder, default_split = DATASETS[name]
    return loader(Path(data_root) / folder, split or default_split, **options)


__all__ = [
    "DATASETS",
    "GoldDoc",
    "GoldSet",
    "GoldSpan",
    "builtin_schema",
    "cache_root",
    "load_cuad",
    "load_dataset",
    "load_jsonl_gold",
    "load_kleister",
    "load_kleister_nda",
    "load_sroie",
    "load_swde",
    "load_wnut17",
]
