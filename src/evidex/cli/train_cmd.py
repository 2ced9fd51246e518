"""``evidex train``: train a student (a learned, calibrated candidate scorer) from gold data.

``evidex train sroie --holdout 100 -o students/sroie`` trains on SROIE's train split minus the receipts that
``evidex bench sroie --sample 100`` scores; ``evidex train gold.jsonl --schema s.yaml -o DIR`` trains on your own
gold JSONL (format: :mod:`evidex.eval.datasets.jsonl`). Use the result with ``--student DIR`` on ``extract``/``bench``.
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from evidex.cli.common import console, err_console
from evidex.errors import UsageError
from evidex.eval.cli_api import load_gold
from evidex.eval.datasets import DATASETS, load_jsonl_gold
from evidex.pipeline.core import load_schema

_DEFAULT_SPLIT = {"kleister-nda": "train", "sroie": "train"}


def train_command(
    gold: Annotated[str, typer.Argument(help="A dataset name (sroie, kleister-nda, …) or a gold .jsonl file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The model directory to write.")],
    schema: Annotated[Path | None, typer.Option("--schema", "-s", help="Schema of a gold JSONL file (default: inferred from its fields).")] = None,
    split: Annotated[str | None, typer.Option(help="Dataset split to train on (default: train).")] = None,
    data_root: Annotated[Path | None, typer.Option(help="Folder holding the datasets (default $EVIDEX_SHARED_DATA or ../shared/data).")] = None,
    sample: Annotated[int | None, typer.Option(help="Train on a seeded sample of N documents (SROIE/CUAD/SWDE; default: all); with --holdout, drawn with --seed from what is left once the dev part is held out.")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N documents.")] = None,
    holdout: Annotated[int, typer.Option(help="Never train on the N documents `evidex bench DATASET --sample N --seed SEED` scores (SROIE's dev part).")] = 0,
    holdout_seed: Annotated[int, typer.Option(help="The bench seed of --holdout.")] = 0,
    kind: Annotated[str, typer.Option(help="Model: lightgbm (gradient-boosted trees) or logistic (logistic regression).")] = "lightgbm",
    seed: Annotated[int, typer.Option(help="Seed: the same seed and data write an identical model directory.")] = 0,
    rounds: Annotated[int, typer.Option(min=1, help="LightGBM boosting rounds.")] = 300,
    pool: Annotated[int, typer.Option(min=1, help="Candidates scored per field (best by the prior).")] = 100,
) -> None:
    """Train a student from gold: a candidate scorer whose score is a calibrated probability of being right.

    Examples:

      evidex train sroie --holdout 100 -o students/sroie

      evidex train kleister-nda -o students/nda

      evidex train my-gold.jsonl --schema schema.yaml -o students/mine
    """
    from evidex.cli.eval_cmd import _data_root
    from evidex.distill import train

    t0 = time.monotonic()
    if gold.endswith(".jsonl") or (gold not in DATASETS and Path(gold).is_file()):
        if holdout:
            raise UsageError("--holdout applies to dataset names", hint="split your gold JSONL file instead")
        gs = load_jsonl_gold(gold, schema=load_schema(schema) if schema is not None else None)
        exclude: list[str] = []
    else:
        if schema is not None:
            raise UsageError("--schema applies to gold JSONL files; a dataset brings its own schema")
        root = _data_root(data_root)
        sp = split or _DEFAULT_SPLIT.get(gold)
        sampled = gold in ("sroie", "cuad", "swde")
        gs = load_gold(gold, sp, data_root=root, limit=limit,
                       sample=(0 if holdout else sample if sample is not None else 0) if sampled else None)
        exclude = []
        if holdout:
            dev = load_gold(gold, sp, data_root=root, sample=holdout, seed=holdout_seed)
            exclude = [d.id for d in dev.docs]
            if sampled and sample:  # the sample is drawn from what is left once the dev part is held out
                held = set(exclude)
                rest = [d for d in gs.docs if d.id not in held]
                gs = dataclasses.replace(gs, docs=tuple(random.Random(seed).sample(rest, min(sample, len(rest)))))
    n = len(gs.docs) - len(set(exclude) & {d.id for d in gs.docs})
    with Progress(TextColumn("[bold]train[/] reading gold"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console) as bar:
        task = bar.add_task("", total=n)
        report = train(gs, output, kind=kind, seed=seed, pool_size=pool, rounds=rounds, exclude=exclude,
                       source=gold, progress=lambda i, doc_id: bar.update(task, completed=i, description=doc_id))
    wall = time.monotonic() - t0
    st = report.stats
    console.print(f"trained a {kind} student on {st.docs} documents ({len(exclude)} held out) → {output}")
    console.print(f"gold values: {st.gold_values}; matched by a candidate: {st.matched} "
                  f"({st.matched_loose} only loosely); unmatched: {st.outside_pool} outside the scored pool, "
                  f"{st.no_candidate_alignable} in the text but no candidate, "
                  f"{st.no_candidate_unalignable} not found in the text")
    if st.failed_docs:
        console.print(f"[yellow]{len(st.failed_docs)} documents could not be parsed[/]: {st.failed_docs[:3]}")
    m = report.metrics
    console.print(f"held-back calibration part: {m['calibration_docs']} documents; expected calibration error "
                  f"(10 bins, cross-fitted) = {report.ece:.4f}")
    for f, d in m["per_field"].items():
        console.print(f"  {f}: top-1 correct {d['top1_correct']:.3f} · F1 at threshold "
                      f"{report.card['thresholds'].get(f, report.card['threshold']):.2f} = {d['f1_at_threshold']:.3f}")
    console.print(f"training time {wall:.1f} s")
    (output / "train_log.json").write_text(json.dumps({"unmatched_examples": st.examples},
                                                      indent=1), encoding="utf-8")


def register(app: typer.Typer) -> None:
    app.command("train", no_args_is_help=True)(train_command)
