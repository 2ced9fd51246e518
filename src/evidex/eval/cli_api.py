"""Plain functions for the ``evidex eval`` / ``evidex bench`` commands (the CLI wraps these; no I/O formatting here).

``dataset`` is a built-in name (``kleister-nda``, ``sroie``, ``cuad``, ``wnut17``, ``swde``) read from
``data_root`` (default: ``$EVIDEX_SHARED_DATA``), or a path to a gold ``.jsonl`` file
(:mod:`evidex.eval.datasets.jsonl`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evidex.errors import UsageError
from evidex.eval.datasets import DATASETS, GoldSet, load_dataset, load_jsonl_gold
from evidex.eval.predictions import read_jsonl
from evidex.eval.report import EvalReport, check_fail_under, evaluate
from evidex.model import Schema


def default_data_root() -> Path:
    env = os.environ.get("EVIDEX_SHARED_DATA")
    if not env:
        raise UsageError(
            "no dataset folder given",
            hint="pass --data-root (the folder holding kleister-nda/, sroie/, …) or set EVIDEX_SHARED_DATA",
        )
    return Path(env)


def load_gold(
    dataset: str,
    split: str | None = None,
    *,
    data_root: Path | str | None = None,
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    cache_dir: Path | None = None,
    options: Mapping[str, Any] | None = None,
    schema: Schema | None = None,
) -> GoldSet:
    """A built-in dataset split or a gold JSONL file; ``options`` go to the adapter (e.g. ``layer``, ``categories``).

    ``schema`` (gold JSONL only): the fields' types and descriptions — without it every field is a string and
    values are compared as text; with it dates, amounts and numbers are compared by meaning.

    ``sample`` (SROIE, CUAD, SWDE): ``None`` keeps the adapter default (SROIE samples 100 receipts), ``<= 0``
    loads every document; the same ``sample``/``seed``/``limit`` must be used for the run and the evaluation.
    """
    if dataset.endswith(".jsonl") or (dataset not in DATASETS and Path(dataset).is_file()):
        return load_jsonl_gold(dataset, schema=schema)
    if schema is not None:
        raise UsageError(f"a schema is only given with a gold .jsonl file; {dataset!r} has its own",
                         hint="drop --schema")
    if dataset not in DATASETS:
        raise UsageError(f"unknown dataset {dataset!r}", hint=f"use one of: {', '.join(DATASETS)}, or a gold .jsonl file")
    kw: dict[str, Any] = dict(options or {})
    if limit is not None:
        kw["limit"] = limit
    if dataset in ("sroie", "cuad", "swde"):
        if sample is not None:  # None: the adapter's default (SROIE: 100 receipts); 0 or less: every document
            kw["sample"] = sample if sample > 0 else None
        kw.setdefault("seed", seed)
    elif sample is not None:
        raise UsageError(f"dataset {dataset!r} does not support sampling", hint="use limit instead")
    if dataset != "cuad" and cache_dir is not None:
        kw["cache_dir"] = cache_dir
    return load_dataset(dataset, data_root if data_root is not None else default_data_root(), split, **kw)


def run_eval(
    pred_path: Path | str,
    dataset: str,
    split: str | None = None,
    *,
    data_root: Path | str | None = None,
    metric: str = "auto",
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    include_ungrounded: bool = False,
    only_predicted: bool = False,
    cache_dir: Path | None = None,
    options: Mapping[str, Any] | None = None,
    schema: Schema | None = None,
) -> EvalReport:
    """Score a predictions JSONL file (as written by evidex) against a dataset split or gold JSONL."""
    gold = load_gold(
        dataset, split, data_root=data_root, limit=limit, sample=sample, seed=seed, cache_dir=cache_dir, options=options,
        schema=schema,
    )
    return evaluate(
        read_jsonl(pred_path), gold, metric, include_ungrounded=include_ungrounded, only_predicted=only_predicted
    )


def prepare_inputs(
    dataset: str,
    split: str | None = None,
    *,
    data_root: Path | str | None = None,
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    cache_dir: Path | None = None,
    options: Mapping[str, Any] | None = None,
    schema: Schema | None = None,
) -> tuple[GoldSet, list[Path]]:
    """For ``bench``: the gold set and the input files to run the pipeline on (materialised in the cache).

    The pipeline itself runs in :func:`evidex.eval.bench.run_bench`.
    """
    gold = load_gold(
        dataset, split, data_root=data_root, limit=limit, sample=sample, seed=seed, cache_dir=cache_dir, options=options,
        schema=schema,
    )
    return gold, gold.paths(cache_dir)


__all__ = ["check_fail_under", "default_data_root", "load_gold", "prepare_inputs", "run_eval"]
