"""``evidex eval`` (score predictions against gold) and ``evidex bench`` (extract + score, end to end)."""

from __future__ import annotations

import json
import os
import statistics
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from evidex import registry
from evidex.cli.common import console, err_console
from evidex.cli.specs import NO_BACKEND, build_spec, names_help
from evidex.errors import UsageError
from evidex.eval.bench import BenchResult
from evidex.eval.cli_api import check_fail_under, prepare_inputs, run_eval
from evidex.eval.report import EvalReport
from evidex.pipeline import PipelineSpec, load_schema


def _data_root(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    env = os.environ.get("EVIDEX_SHARED_DATA")
    if env:
        return Path(env)
    for guess in (Path.cwd().parent / "shared" / "data", Path.cwd() / "shared" / "data"):
        if guess.is_dir():
            return guess
    raise UsageError("no dataset folder found", hint="pass --data-root or set EVIDEX_SHARED_DATA")


def _finish(report: EvalReport, json_out: Path | None, fail_under: float | None, metric: str, errors: int) -> None:
    console.print(report.to_rich(errors=errors))
    if json_out is not None:
        json_out.write_text(report.to_json(errors=max(errors, 20)), encoding="utf-8")
    if fail_under is not None:
        res = check_fail_under(report, fail_under, metric)
        console.print(res.message)
        if not res.passed:
            raise typer.Exit(1)


def eval_command(
    predictions: Annotated[Path, typer.Argument(help="Predictions JSONL written by `evidex extract -o`.")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="kleister-nda, sroie, cuad, wnut17, swde, or a gold .jsonl file.")],
    split: Annotated[str | None, typer.Option(help="Dataset split (e.g. dev-0, train).")] = None,
    schema: Annotated[Path | None, typer.Option("--schema", "-s", help="Schema of a gold .jsonl file (YAML/JSON): its field types make dates, amounts and numbers compare by meaning, and bench extracts with it. Default: every gold field is a string.")] = None,
    data_root: Annotated[Path | None, typer.Option(help="Folder holding the datasets (default $EVIDEX_SHARED_DATA or ../shared/data).")] = None,
    sample: Annotated[int | None, typer.Option(help="Sample size (must match the run).")] = None,
    limit: Annotated[int | None, typer.Option(help="First N documents (must match the run).")] = None,
    seed: Annotated[int, typer.Option(help="Sampling seed (must match the run).")] = 0,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the report as JSON.")] = None,
    fail_under: Annotated[float | None, typer.Option(help="Exit 1 when the metric is below this value (0..1).")] = None,
    metric: Annotated[str, typer.Option(help="Metric for --fail-under: primary, f1, precision, recall, grounding, field:<name>.")] = "primary",
    errors: Annotated[int, typer.Option(help="How many worst errors to list.")] = 10,
) -> None:
    """Score predictions against gold data: per-field table, overall score, grounding rate, worst errors.

    Examples:

      evidex eval preds.jsonl --dataset sroie --sample 100

      evidex eval preds.jsonl --dataset my-gold.jsonl --schema schema.yaml --fail-under 0.8
    """
    root = None if dataset.endswith(".jsonl") else _data_root(data_root)
    report = run_eval(predictions, dataset, split, data_root=root, limit=limit, sample=sample, seed=seed,
                      schema=load_schema(schema) if schema is not None else None)
    _finish(report, json_out, fail_under, metric, errors)


def bench_command(
    dataset: Annotated[str, typer.Argument(help="kleister-nda, sroie, cuad, wnut17, swde, or a gold .jsonl file.")],
    split: Annotated[str | None, typer.Option(help="Dataset split (kleister-nda: dev-0; sroie: train).")] = None,
    schema: Annotated[Path | None, typer.Option("--schema", "-s", help="Schema of a gold .jsonl file (YAML/JSON): its field types make dates, amounts and numbers compare by meaning, and bench extracts with it. Default: every gold field is a string.")] = None,
    sample: Annotated[int | None, typer.Option(help="Sample size (SROIE/CUAD/SWDE); 0 = all.")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N documents.")] = None,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    data_root: Annotated[Path | None, typer.Option(help="Folder holding the datasets.")] = None,
    backend: Annotated[str, typer.Option(help=f"Registered backend: {names_help(registry.backends, [NO_BACKEND])}.")] = "llamacpp",
    mode: Annotated[str, typer.Option(help=f"Plan: {names_help(registry.modes, ['auto'])}.")] = "auto",
    model: Annotated[str | None, typer.Option(help="GGUF path (llamacpp) or model name (openai).")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL.")] = None,
    logprobs: Annotated[bool, typer.Option(help="openai backend: the server returns top_logprobs (choice mode).")] = False,
    backend_option: Annotated[list[str] | None, typer.Option("--backend-option", metavar="KEY=VALUE", help="Any option of the backend (repeatable).")] = None,
    scorer: Annotated[str, typer.Option(help=f"How candidates are ranked: {names_help(registry.scorers, ['auto'])}.")] = "auto",
    selector: Annotated[str, typer.Option(help=f"What text a model reads: {names_help(registry.selectors)}.")] = "relevant",
    budget: Annotated[int | None, typer.Option(min=1, metavar="TOKENS", help="generate mode: tokens of the most relevant text read per document (default: all).")] = None,
    deadline: Annotated[float, typer.Option("--deadline", min=0, metavar="SECONDS", help="Wall-time budget per document (0 = none).")] = 300.0,
    stage_option: Annotated[list[str] | None, typer.Option("--stage-option", metavar="ROLE.KEY=VALUE", help="An option of a stage (repeatable).")] = None,
    student: Annotated[Path | None, typer.Option("--student", metavar="MODEL_DIR", help="Rank candidates with a student trained by `evidex train` (= --scorer student --stage-option scorer.model=MODEL_DIR).")] = None,
    spec_file: Annotated[Path | None, typer.Option("--spec", help="Run a saved pipeline spec; its schema is replaced by the dataset's.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Predictions JSONL (default .bench/<dataset>-<split>-<mode>.jsonl).")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report (with cost and speed) as JSON.")] = None,
    format_spread: Annotated[int, typer.Option(help="Run N equivalent prompt formats (1-3) and report the spread of the score.")] = 1,
    fail_under: Annotated[float | None, typer.Option(help="Exit 1 when the metric is below this value (0..1).")] = None,
    metric: Annotated[str, typer.Option(help="Metric for --fail-under.")] = "primary",
    errors: Annotated[int, typer.Option(help="How many worst errors to list.")] = 10,
) -> None:
    """Run extraction on a dataset and score it: quality, LLM tokens, seconds per document, peak memory.

    Examples:

      evidex bench sroie --sample 100

      evidex bench kleister-nda --split dev-0

      evidex bench my-gold.jsonl --schema schema.yaml --student students/mine

      evidex bench sroie --sample 50 --backend openai --base-url http://127.0.0.1:8080/v1 --logprobs
    """
    from evidex.eval.bench import run_bench

    if not 1 <= format_spread <= 3:
        raise UsageError("--format-spread takes 1, 2 or 3 (the number of equivalent prompt formats)")
    from evidex.extract.tagger import student_stages

    proposer = None
    if student is not None:  # the student's span tagger too, when it has one
        scorer, (proposer, stage_option) = "student", student_stages(student, stage_option)
    root = None if dataset.endswith(".jsonl") else _data_root(data_root)
    sch = load_schema(schema) if schema is not None else None
    gold, paths = prepare_inputs(dataset, split, data_root=root, limit=limit, sample=sample, seed=seed, schema=sch)
    if spec_file is not None:
        spec = PipelineSpec.from_file(spec_file).model_copy(update={"schema_": gold.schema.to_dict(), "versions": {}})
    else:
        flags = {"model": model, "base_url": base_url, "logprobs": logprobs}
        engine = {"mode": mode, "scorer": scorer, "proposer": proposer, "selector": selector, "budget_tokens": budget,
                  "deadline_s": deadline or None}
        spec = build_spec(gold.schema, backend=backend, flags=flags, backend_extra=backend_option or (), engine=engine,
                          stage_extra=stage_option or ())
    with err_console.status("") as status:
        res = run_bench(spec, dataset, split, data_root=root, limit=limit, sample=sample, seed=seed,
                        formats=format_spread, output=output, paths=paths, schema=sch,
                        progress=lambda fmt, n, name: status.update(f"[{fmt}] {n}/{len(gold.docs)} {name}"))
    _bench_report(res, dataset, split, spec, errors, json_out, fail_under, metric, sample=sample, limit=limit, seed=seed)


def _bench_report(res: BenchResult, dataset: str, split: str | None, spec: PipelineSpec, errors: int,
                  json_out: Path | None, fail_under: float | None, metric: str, **args: Any) -> None:
    last = res.last
    console.print(last.to_rich(errors=errors))
    be_name = spec.backend.name if spec.backend else "none"
    t = Table(title=f"bench {dataset} ({split or 'default'}, {res.docs} docs, backend {be_name}, mode {res.mode})",
              title_justify="left")
    for col in ("format", "score", "grounding", "s/doc", "LLM calls/doc", "tokens in/doc", "tokens out/doc"):
        t.add_column(col, justify="right")
    for r in res.runs:
        u = r.report.usage
        t.add_row(str(r.format), f"{r.report.primary:.4f}", f"{r.report.grounding.rate:.3f}", f"{r.wall_s / max(1, r.docs):.2f}",
                  f"{(u.calls / max(1, u.docs)) if u else 0:.1f}", f"{(u.tokens_in / max(1, u.docs)) if u else 0:.0f}",
                  f"{(u.tokens_out / max(1, u.docs)) if u else 0:.0f}")
    console.print(t)
    scores = [r.report.primary for r in res.runs]
    if len(scores) > 1:
        console.print(f"format spread of {last.primary_name}: min {min(scores):.4f} · median {statistics.median(scores):.4f} · "
                      f"max {max(scores):.4f}")
    console.print(f"model load {res.load_s:.1f} s · peak memory {res.peak_mib:.0f} MiB")
    if json_out is not None:
        payload = {
            "dataset": dataset, "split": split or "default", "docs": res.docs, "backend": spec.backend.name if spec.backend else None,
            "mode": res.mode, "scorer": spec.extract.scorer, **args, "load_s": res.load_s, "peak_mib": res.peak_mib,
            "command": " ".join(["evidex", *sys.argv[1:]]), "spec": res.spec.to_dict(), "spec_hash": res.spec.hash(),
            "runs": [{"format": r.format, "predictions": str(r.predictions), "wall_s": r.wall_s, "docs": r.docs,
                      "report": r.report.to_dict(errors=20)} for r in res.runs],
        }
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
    if fail_under is not None:
        verdict = check_fail_under(last, fail_under, metric)
        console.print(verdict.message)
        if not verdict.passed:
            raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("eval", no_args_is_help=True)(eval_command)
    app.command("bench", no_args_is_help=True)(bench_command)
