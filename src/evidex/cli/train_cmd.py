"""``evidex train``: train a student (a learned, calibrated candidate scorer) from gold data.

``evidex train sroie --holdout 100 -o students/sroie`` trains on SROIE's train split minus the receipts that
``evidex bench sroie --sample 100`` scores; ``evidex train gold.jsonl --schema s.yaml -o DIR`` trains on your own
gold JSONL (format: :mod:`evidex.eval.datasets.jsonl`). Use the result with ``--student DIR`` on ``extract``/``bench``.

``--tagger auto`` (the default) also trains a CRF span tagger (:mod:`evidex.distill.tagger`) for the fields where
at least 5 % of the gold values are no candidate at all (multi-line names and addresses: no candidate scorer can
be right there) and where cross-fitted taggers at least halve that share (where they find few of the missing
values, their spans mostly distract the student: measured on Kleister-NDA). Its spans become candidates (source
``tagger``) of the student's training documents (cross-fitted) and of every document ``--student DIR`` reads.

``--features 3`` (the default) trains on feature set 3: set 1 plus the relational features of
:mod:`evidex.extract.student.relations` (an amount a few cents from a later one, peers labelled like the field, the
span tagger's probabilities around each candidate); ``--features 1`` writes a student of the previous kind.

The student's confidence is calibrated (``--folds`` cross-fitting by document, :mod:`evidex.distill.train`) to the
probability that the *dataset's metric* counts the emitted value right (:func:`evidex.eval.judge.metric_judge`:
SROIE's exact match, Kleister's tokens, a gold JSONL's typed comparison), the number ``evidex bench`` checks.
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from evidex.cli.common import console, err_console
from evidex.errors import UsageError
from evidex.eval.cli_api import load_gold
from evidex.eval.datasets import DATASETS, load_jsonl_gold
from evidex.model import Schema
from evidex.pipeline.core import load_schema

_DEFAULT_SPLIT = {"kleister-nda": "train", "sroie": "train"}


def train_command(
    gold: Annotated[str, typer.Argument(help="A dataset name (sroie, kleister-nda, …) or a gold .jsonl file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The model directory to write.")],
    schema: Annotated[Path | None, typer.Option("--schema", "-s", help="Schema of a gold JSONL file (default: inferred from its fields).")] = None,
    split: Annotated[str | None, typer.Option(help="Dataset split to train on (default: train).")] = None,
    data_root: Annotated[Path | None, typer.Option(help="Folder holding the datasets (default $EVIDEX_SHARED_DATA or ../shared/data).")] = None,
    sample: Annotated[int | None, typer.Option(help="Train on a seeded sample of N documents of a gold JSONL file or dataset (default: all; drawn with --seed, except SROIE/CUAD/SWDE without --holdout, which sample as their bench does); with --holdout, drawn with --seed from what is left once the dev part is held out.")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N documents.")] = None,
    holdout: Annotated[int, typer.Option(help="Never train on the N documents `evidex bench DATASET --sample N --seed SEED` scores (SROIE's dev part).")] = 0,
    holdout_seed: Annotated[int, typer.Option(help="The bench seed of --holdout.")] = 0,
    kind: Annotated[str, typer.Option(help="Model: lightgbm (gradient-boosted trees) or logistic (logistic regression).")] = "lightgbm",
    seed: Annotated[int, typer.Option(help="Seed: the same seed and data write an identical model directory.")] = 0,
    rounds: Annotated[int, typer.Option(min=1, help="LightGBM boosting rounds.")] = 300,
    folds: Annotated[int, typer.Option(min=2, help="Cross-fitting folds (by document) for the calibration and thresholds; fewer for tiny golds.")] = 5,
    calibration: Annotated[str, typer.Option(help="Calibration map: auto (the lower cross-fitted log loss: Platt on small golds), isotonic or platt.")] = "auto",
    pool: Annotated[int, typer.Option(min=1, help="Candidates scored per field (best by the prior).")] = 100,
    tagger: Annotated[str, typer.Option(help="CRF span tagger for values no candidate proposes: auto (fields where >= 5% of gold values have no candidate and a cross-fitted tagger at least halves that), all, off, or comma-separated field names.")] = "auto",
    tagger_iterations: Annotated[int, typer.Option(min=1, help="L-BFGS iterations of the span tagger.")] = 100,
    features: Annotated[str, typer.Option(help="Student feature set: 3 (set 1 + relational features: nearby amounts, peers labelled like the field, the span tagger's probabilities), 4 (set 3 + how many of the field's words lead up to the candidate) or 1.")] = "3",
) -> None:
    """Train a student from gold: a candidate scorer whose score is a calibrated probability of being right.

    Examples:

      evidex train sroie --holdout 100 -o students/sroie

      evidex train kleister-nda -o students/nda

      evidex train my-gold.jsonl --schema schema.yaml -o students/mine
    """
    from evidex.distill import train
    from evidex.eval.judge import metric_judge
    from evidex.extract.student.context import using_context
    from evidex.extract.student.relations import using_relations

    if calibration not in ("auto", "isotonic", "platt"):
        raise UsageError(f"unknown calibration {calibration!r}", hint="auto, isotonic or platt")
    if features not in ("1", "3", "4"):
        raise UsageError(f"unknown feature set {features!r}", hint="--features 3 (default), 4 or 1")
    t0 = time.monotonic()
    gs, exclude = _gold(gold, schema, split, data_root, sample, limit, holdout, holdout_seed, seed)
    n = len(gs.docs) - len(set(exclude) & {d.id for d in gs.docs})
    with Progress(TextColumn("[bold]train[/] {task.fields[phase]}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console) as bar:
        task = bar.add_task("", total=n, phase="reading gold")
        tag = _tagger(gs, exclude, output, tagger, seed, tagger_iterations, bar, task)
        bar.reset(task, total=n, phase="reading gold")
        with using_relations(features == "3"), using_context(features == "4"):
            report = train(gs, output, kind=kind, seed=seed, pool_size=pool, rounds=rounds, folds=folds,
                           calibration=calibration, exclude=exclude,
                           source=gold, progress=lambda i, doc_id: bar.update(task, completed=i, description=doc_id),
                           proposer=tag.proposer if tag is not None else None, judge=metric_judge(gs))
    if tag is not None and tag.fields:
        from evidex.distill.tagger import write_card_entry

        write_card_entry(output, tag, gs.schema, seed=seed, max_iter=tagger_iterations, folds=2, docs=n)
    _report(report, kind, exclude, output, tag, time.monotonic() - t0)


def _gold(gold: str, schema: Path | None, split: str | None, data_root: Path | None, sample: int | None,
          limit: int | None, holdout: int, holdout_seed: int, seed: int) -> tuple[Any, list[str]]:
    """The gold set to train on and the ids of the documents held out of it."""
    from evidex.cli.eval_cmd import _data_root

    if gold.endswith(".jsonl") or (gold not in DATASETS and Path(gold).is_file()):
        if holdout:
            raise UsageError("--holdout applies to dataset names", hint="split your gold JSONL file instead")
        own = load_jsonl_gold(gold, schema=load_schema(schema) if schema is not None else None)
        return (_seeded_sample(own, [], sample, seed) if sample else own), []
    if schema is not None:
        raise UsageError("--schema applies to gold JSONL files; a dataset brings its own schema")
    root = _data_root(data_root)
    sp = split or _DEFAULT_SPLIT.get(gold)
    sampled = gold in ("sroie", "cuad", "swde")
    gs = load_gold(gold, sp, data_root=root, limit=limit,
                   sample=(0 if holdout else sample if sample is not None else 0) if sampled else None)
    exclude: list[str] = []
    if holdout:
        dev = load_gold(gold, sp, data_root=root, sample=holdout, seed=holdout_seed)
        exclude = [d.id for d in dev.docs]
    # the sample is drawn from what is left once the dev part is held out; a dataset whose loader does not sample
    # (Kleister) gets a seeded sample of its documents
    if sample and (holdout or not sampled):
        gs = _seeded_sample(gs, exclude, sample, seed)
    return gs, exclude


def _seeded_sample(gs: Any, exclude: list[str], n: int, seed: int) -> Any:
    """A seeded sample of ``n`` of ``gs``'s documents, those in ``exclude`` left out."""
    held = set(exclude)
    rest = [d for d in gs.docs if d.id not in held]
    return dataclasses.replace(gs, docs=tuple(random.Random(seed).sample(rest, min(n, len(rest)))))


def _tagger(gs: Any, exclude: list[str], output: Path, which: str, seed: int, iterations: int, bar: Progress,
            task: Any) -> Any:
    """Train the span tagger (``--tagger``) into ``output``; None when it is off."""
    from evidex.distill.tagger import TAGGER_MODEL, tagger_for_training

    fields = tagger_choice(which, gs.schema)
    if fields == "off":
        (output / TAGGER_MODEL).unlink(missing_ok=True)
        return None

    def progress(phase: str, i: int, n: int) -> None:
        bar.update(task, completed=i, total=n, phase=phase, description="")

    try:
        return tagger_for_training(gs, exclude, output, fields, seed=seed, max_iter=iterations, progress=progress)
    except ValueError as e:
        raise UsageError(str(e), hint="--tagger auto|all|off or field names of the schema") from e


def tagger_choice(tagger: str, schema: Schema) -> str | list[str]:
    """``--tagger`` as the API takes it; ``auto`` without python-crfsuite is ``off`` (with a notice)."""
    from evidex.distill.data import choosable_fields

    if tagger in ("off", "auto", "all"):
        if tagger != "off" and not crf_available():
            if tagger == "all":
                raise UsageError("--tagger needs python-crfsuite", hint="pip install 'evidex[learn]', or --tagger off")
            console.print("[yellow]no span tagger: python-crfsuite is not installed[/] (pip install 'evidex[learn]')")
            return "off"
        return tagger
    if not crf_available():
        raise UsageError("--tagger needs python-crfsuite", hint="pip install 'evidex[learn]', or --tagger off")
    names = [f.strip() for f in tagger.split(",") if f.strip()]
    known = [f.name for f in choosable_fields(schema)]
    bad = [n for n in names if n not in known]
    if bad or not names:
        raise UsageError(f"--tagger: {', '.join(bad) or tagger!r} not a field the tagger can learn",
                         hint=f"auto, all, off, or some of: {', '.join(known)}")
    return names


def crf_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("pycrfsuite") is not None


def _report(report: Any, kind: str, exclude: list[str], output: Path, tag: Any, wall: float) -> None:
    st = report.stats
    console.print(f"trained a {kind} student on {st.docs} documents ({len(exclude)} held out) → {output}")
    console.print(f"gold values: {st.gold_values}; matched by a candidate: {st.matched} "
                  f"({st.matched_loose} only loosely); unmatched: {st.outside_pool} outside the scored pool, "
                  f"{st.no_candidate_alignable} in the text but no candidate, "
                  f"{st.no_candidate_unalignable} not found in the text")
    if tag is not None:
        after = tag.coverage_after.to_dict() if tag.coverage_after is not None else {}
        for f, d in tag.coverage_before.to_dict().items():
            more = (f" → {after[f]['miss_share']:.1%} with the tagger's (cross-fitted) spans" if f in tag.fields
                    else f" → {tag.dropped[f]:.1%} with a cross-fitted tagger: not halved, not tagged"
                    if f in tag.dropped else " (not tagged)")
            console.print(f"  {f}: {d['miss_share']:.1%} of {d['gold']} gold values no candidate{more}")
        if tag.fields:
            console.print(f"span tagger ({', '.join(tag.fields)}): {tag.counts.get('windows', 0)} windows, "
                          f"{tag.counts.get('spans', 0)} gold spans, {tag.seconds:.1f} s")
    if st.failed_docs:
        console.print(f"[yellow]{len(st.failed_docs)} documents could not be parsed[/]: {st.failed_docs[:3]}")
    m = report.metrics
    cal = m.get("calibration", {})
    console.print(f"calibration ({cal.get('method', 'isotonic')}) on out-of-fold scores of {m['calibration_docs']} "
                  f"documents ({cal.get('folds', 0)} folds); expected calibration error (10 bins, cross-fitted) = "
                  f"{report.ece:.4f}")
    for f, d in m["per_field"].items():
        console.print(f"  {f}: top-1 correct {d['top1_correct']:.3f} · F1 at threshold "
                      f"{report.card['thresholds'].get(f, report.card['threshold']):.2f} = {d['f1_at_threshold']:.3f}")
    sec = getattr(report, "seconds", {})
    more = (f" (labelling {sec['labelling']:.1f} s, cross-fitting {cal.get('folds', 0)} folds "
            f"{sec['cross_fitting']:.1f} s, final model {sec['final_model']:.1f} s)") if sec else ""
    console.print(f"training time {wall:.1f} s{more}")
    (output / "train_log.json").write_text(json.dumps({"unmatched_examples": st.examples},
                                                      indent=1), encoding="utf-8")


def register(app: typer.Typer) -> None:
    app.command("train", no_args_is_help=True)(train_command)
