"""``evidex eval`` (score predictions against gold) and ``evidex bench`` (extract + score, end to end)."""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from evidex.cli.common import console, err_console
from evidex.cli.extract_cmd import BackendName, ModeName, _backend_options
from evidex.errors import UsageError
from evidex.eval.cli_api import check_fail_under, prepare_inputs, run_eval
from evidex.eval.report import EvalReport


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

      evidex eval preds.jsonl --dataset my-gold.jsonl --fail-under 0.8
    """
    root = None if dataset.endswith(".jsonl") else _data_root(data_root)
    report = run_eval(predictions, dataset, split, data_root=root, limit=limit, sample=sample, seed=seed)
    _finish(report, json_out, fail_under, metric, errors)


def bench_command(
    dataset: Annotated[str, typer.Argument(help="kleister-nda, sroie, cuad, wnut17, swde, or a gold .jsonl file.")],
    split: Annotated[str | None, typer.Option(help="Dataset split (kleister-nda: dev-0; sroie: train).")] = None,
    sample: Annotated[int | None, typer.Option(help="Sample size (SROIE/CUAD/SWDE); 0 = all.")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N documents.")] = None,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    data_root: Annotated[Path | None, typer.Option(help="Folder holding the datasets.")] = None,
    backend: Annotated[BackendName, typer.Option(help="llamacpp (embedded), openai (any compatible server) or none (rules only).")] = BackendName.llamacpp,
    mode: Annotated[ModeName, typer.Option(help="Engine mode.")] = ModeName.auto,
    model: Annotated[str | None, typer.Option(help="GGUF path (llamacpp) or model name (openai).")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL.")] = None,
    logprobs: Annotated[bool, typer.Option(help="openai backend: the server returns top_logprobs (choice mode).")] = False,
    scorer: Annotated[str, typer.Option(help="choice mode re-ranking: auto/prior, pmi, choice.")] = "auto",
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

      evidex bench sroie --sample 50 --backend openai --base-url http://127.0.0.1:8080/v1 --logprobs
    """
    from evidex.extract import ExtractOptions
    from evidex.output.jsonl import record_to_dict
    from evidex.pipeline import Pipeline

    if not 1 <= format_spread <= 3:
        raise UsageError("--format-spread takes 1, 2 or 3 (the number of equivalent prompt formats)")
    root = None if dataset.endswith(".jsonl") else _data_root(data_root)
    gold, paths = prepare_inputs(dataset, split, data_root=root, limit=limit, sample=sample, seed=seed)
    split_name = split or "default"
    be_name = None if backend is BackendName.none else backend.value
    opts = _backend_options(backend, model, base_url, None, None, None)
    if backend is BackendName.openai and logprobs:
        opts["logprobs"] = True
    eff_mode = "rules" if be_name is None else mode.value
    t_load = time.monotonic()
    pipe = Pipeline.create(gold.schema, be_name, opts, ExtractOptions(mode=eff_mode, scorer=scorer))  # type: ignore[arg-type]
    load_s = time.monotonic() - t_load
    runs: list[dict[str, Any]] = []
    try:
        for fmt in range(format_spread):
            pipe.options = ExtractOptions(mode=eff_mode, prompt_format=fmt, scorer=scorer)  # type: ignore[arg-type]
            pred = output or Path(".bench") / f"{Path(dataset).stem}-{split_name}-{pipe.extractor().mode}.jsonl"
            if format_spread > 1:
                pred = pred.with_name(f"{pred.stem}-fmt{fmt}{pred.suffix}")
            pred.parent.mkdir(parents=True, exist_ok=True)
            t0 = time.monotonic()
            n = 0
            with pred.open("w", encoding="utf-8") as f, err_console.status("") as status:
                for path, doc, res in pipe.run(paths):
                    n += 1
                    status.update(f"[{fmt}] {n}/{len(paths)} {Path(path).name}")
                    f.write(json.dumps(record_to_dict(doc, res), ensure_ascii=False, default=str) + "\n")
            wall = time.monotonic() - t0
            report = run_eval(pred, dataset, split, data_root=root, limit=limit, sample=sample, seed=seed)
            runs.append({"format": fmt, "predictions": str(pred), "report": report, "wall_s": wall, "docs": n})
    finally:
        pipe.close()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    last: EvalReport = runs[-1]["report"]
    console.print(last.to_rich(errors=errors))
    t = Table(title=f"bench {dataset} ({split_name}, {len(paths)} docs, backend {be_name or 'none'}, mode {eff_mode})",
              title_justify="left")
    for col in ("format", "score", "grounding", "s/doc", "LLM calls/doc", "tokens in/doc", "tokens out/doc"):
        t.add_column(col, justify="right")
    for r in runs:
        rep: EvalReport = r["report"]
        u = rep.usage
        t.add_row(str(r["format"]), f"{rep.primary:.4f}", f"{rep.grounding.rate:.3f}", f"{r['wall_s'] / max(1, r['docs']):.2f}",
                  f"{(u.calls / max(1, u.docs)) if u else 0:.1f}", f"{(u.tokens_in / max(1, u.docs)) if u else 0:.0f}",
                  f"{(u.tokens_out / max(1, u.docs)) if u else 0:.0f}")
    console.print(t)
    scores = [r["report"].primary for r in runs]
    if len(scores) > 1:
        console.print(f"format spread of {last.primary_name}: min {min(scores):.4f} · median {statistics.median(scores):.4f} · "
                      f"max {max(scores):.4f}")
    console.print(f"model load {load_s:.1f} s · peak memory {peak_mib:.0f} MiB")
    if json_out is not None:
        payload = {
            "dataset": dataset, "split": split_name, "docs": len(paths), "backend": be_name, "mode": eff_mode, "scorer": scorer,
            "sample": sample, "limit": limit, "seed": seed, "load_s": load_s, "peak_mib": peak_mib,
            "command": " ".join(["evidex", *sys.argv[1:]]),
            "runs": [{"format": r["format"], "predictions": r["predictions"], "wall_s": r["wall_s"], "docs": r["docs"],
                      "report": r["report"].to_dict(errors=20)} for r in runs],
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
