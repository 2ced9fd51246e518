"""``evidex distill``: a teacher model labels your documents; a student trains on the labels it can trust.

``evidex distill docs/ --schema s.yaml --teacher-backend openai --teacher-base-url http://127.0.0.1:8080/v1
-o students/mine`` runs the teacher (generate mode) over the documents, keeps only grounded, validated values
above ``--min-confidence`` and trains a student on them (like ``evidex train``); use it with ``--student DIR``
on ``extract``/``bench``, alone or as the first stage of a cascade (``--scorer cascade``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from evidex import registry
from evidex.cli.common import console, err_console, expand_paths
from evidex.cli.specs import build_spec, load_spec, names_help
from evidex.cli.train_cmd import tagger_choice
from evidex.errors import UsageError
from evidex.model import Grounding
from evidex.pipeline.core import load_schema

_BACKENDS = names_help(registry.backends)


def _inputs(paths: list[Path] | None, files_from: Path | None) -> list[Path]:
    files = expand_paths(list(paths or []), True) if paths else []
    if files_from is not None:
        base = files_from.parent
        for line in files_from.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                p = Path(line.strip())
                files.append(p if p.is_absolute() else base / p)
    if not files:
        raise UsageError("no documents to label", hint="give files or directories, or --files-from LIST")
    return files


def distill_command(
    paths: Annotated[list[Path] | None, typer.Argument(help="Unlabelled documents: files or directories (searched recursively).", show_default=False)] = None,
    schema: Annotated[Path | None, typer.Option("--schema", "-s", help="Schema file (not needed with --teacher-spec).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="The student model directory to write.")] = None,
    files_from: Annotated[Path | None, typer.Option("--files-from", metavar="LIST", help="Also read document paths from this file (one per line, relative to it).")] = None,
    teacher_backend: Annotated[str, typer.Option(help=f"The teacher's registered backend: {_BACKENDS}.")] = "llamacpp",
    teacher_model: Annotated[str | None, typer.Option(help="Teacher GGUF path (llamacpp) or model name (openai).")] = None,
    teacher_base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL of the teacher's server.")] = None,
    teacher_option: Annotated[list[str] | None, typer.Option("--teacher-option", metavar="KEY=VALUE", help="Any option of the teacher's backend (repeatable).")] = None,
    teacher_mode: Annotated[str, typer.Option(help="The teacher's plan (generate: the model writes every field; choice: it picks among candidates).")] = "generate",
    teacher_spec: Annotated[Path | None, typer.Option("--teacher-spec", help="A saved pipeline spec for the teacher (extract --save-spec).")] = None,
    selector: Annotated[str, typer.Option(help="What text the teacher reads: relevant, structured (with --budget).")] = "relevant",
    budget: Annotated[int | None, typer.Option(min=1, metavar="TOKENS", help="Teacher in generate mode: read at most this many tokens of the most relevant text per document.")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", min=0.001, metavar="SECONDS", help="Longest wall time of one teacher request.")] = None,
    deadline: Annotated[float, typer.Option("--deadline", min=0, metavar="SECONDS", help="Wall-time budget per document for the teacher (0 = none).")] = 600.0,
    min_confidence: Annotated[float, typer.Option(min=0.0, max=1.0, metavar="P", help="Keep teacher values of at least this confidence.")] = 0.5,
    allow: Annotated[list[str] | None, typer.Option("--allow", metavar="GROUNDING", help="Groundings a kept value may have (repeatable; default exact and normalized; fuzzy or inferred values are not where the student's candidates are).")] = None,
    cache: Annotated[Path | None, typer.Option("--cache", metavar="DIR", help="Reuse the teacher's parses and answers from this directory (a rerun with other filters asks the teacher nothing).")] = None,
    kind: Annotated[str, typer.Option(help="Student model: lightgbm or logistic.")] = "lightgbm",
    seed: Annotated[int, typer.Option(help="Seed of the student's training.")] = 0,
    rounds: Annotated[int, typer.Option(min=1, help="LightGBM boosting rounds.")] = 300,
    pool: Annotated[int, typer.Option(min=1, help="Candidates scored per field (best by the prior).")] = 100,
    tagger: Annotated[str, typer.Option(help="CRF span tagger trained on the teacher's labels, as `evidex train --tagger`: auto, all, off, or comma-separated field names.")] = "auto",
    tagger_iterations: Annotated[int, typer.Option(min=1, help="L-BFGS iterations of the span tagger.")] = 100,
) -> None:
    """Distil a student from a teacher: the teacher labels documents, only grounded, validated, confident labels
    are kept, and a student (a calibrated candidate scorer) trains on them.

    Examples:

      evidex distill receipts/ -s receipt.yaml --teacher-backend openai --teacher-base-url http://127.0.0.1:8080/v1 -o students/receipts

      evidex distill docs/ -s s.yaml --teacher-backend llamacpp --teacher-model qwen.gguf -o students/mine
    """
    from evidex.distill import distill

    if output is None:
        raise UsageError("missing --output/-o: the student model directory to write")
    files = _inputs(paths, files_from)
    try:
        groundings = [Grounding(g) for g in (allow or ["exact", "normalized"])]
    except ValueError:
        raise UsageError(f"--allow takes groundings: {', '.join(g.value for g in Grounding)}") from None
    if teacher_spec is not None:
        spec = load_spec(teacher_spec)
        sch = load_schema(schema) if schema is not None else spec.schema
        spec = spec.model_copy(update={"schema_": sch.to_dict()})
    else:
        if schema is None:
            raise UsageError("missing --schema/-s (or --teacher-spec)")
        sch = load_schema(schema)
        spec = build_spec(sch, backend=teacher_backend, backend_extra=teacher_option or [],
                          flags={"model": teacher_model, "base_url": teacher_base_url, "timeout": timeout},
                          engine={"mode": teacher_mode, "selector": selector, "budget_tokens": budget, "deadline_s": deadline or None})
    which = tagger_choice(tagger, sch)  # checked before the teacher runs: a typo must not cost its hours
    t0 = time.monotonic()
    with Progress(TextColumn("[bold]distill[/] {task.fields[phase]}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console) as bar:
        task = bar.add_task("", total=len(files), phase="teacher labels")

        def progress(phase: str, n: int, doc_id: str) -> None:
            if phase == "train" and n == 1:
                bar.reset(task, total=len(files), phase="student trains")
            bar.update(task, completed=n, description=doc_id)

        report = distill(files, sch, output, teacher=spec, min_confidence=min_confidence, groundings=groundings,
                         kind=kind, seed=seed, pool_size=pool, rounds=rounds, cache=cache,
                         progress=progress, tagger=which, tagger_iterations=tagger_iterations)
    _report(report, spec, kind, output)
    console.print(f"total time {time.monotonic() - t0:.1f} s")


def _report(report: Any, spec: Any, kind: str, output: Path) -> None:
    c = report.labels
    console.print(f"teacher ({report.train.card['training_data']['teacher']['mode']} over "
                  f"{spec.backend.name if spec.backend else 'no backend'}) labelled {c.docs} documents "
                  f"({len(c.failed_docs)} failed) in {c.seconds:.1f} s: {c.calls} calls, "
                  f"{c.tokens_in} tokens in, {c.tokens_out} out")
    dropped = ", ".join(f"{k} {v}" for k, v in sorted(c.dropped.items())) or "none"
    console.print(f"values: {c.values}; kept as labels: {c.kept}; dropped: {dropped}; "
                  f"fields left empty (negatives): {c.absent}; fields with only dropped values (not trained on): {c.unknown}")
    st, m = report.train.stats, report.train.metrics
    console.print(f"student ({kind}) trained on {st.docs} documents → {output}; labels matched by a candidate: "
                  f"{st.matched}/{st.gold_values}; calibration ECE {report.train.ece:.4f} (to the teacher's labels; "
                  f"out-of-fold scores of {m['calibration_docs']} documents)")
    tag = report.tagger
    if tag is not None:
        before = tag.coverage_before.to_dict()
        shares = ", ".join(f"{f} {d['miss_share']:.0%}" for f, d in before.items())
        console.print(f"teacher labels no candidate proposes: {shares or 'none'}; span tagger: "
                      + (f"{', '.join(tag.fields)} ({tag.counts.get('spans', 0)} labelled spans)" if tag.fields
                         else "none (no field where it pays)"))


def register(app: typer.Typer) -> None:
    app.command("distill", no_args_is_help=True)(distill_command)
