"""``evidex extract PATHS --schema S`` — schema-driven extraction with evidence for every value."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from evidex import registry
from evidex.cli.common import LIMIT_HELP, console, err_console, expand_paths, limits_from_cli
from evidex.cli.specs import NO_BACKEND, build_spec, names_help
from evidex.errors import BackendError, BackendGaveUpError, ConfigError, InternalError, UsageError
from evidex.model import Document, Result
from evidex.output.common import display_value
from evidex.output.rebuild import rebuild
from evidex.output.writers import JsonlWriter, Writer, open_writer
from evidex.pipeline import Cache, Pipeline, PipelineSpec, RunStats, is_not_processed, load_schema, run_batch
from evidex.pipeline.resume import plan_resume

_STATUS_STYLE = {"exact": "green", "normalized": "cyan", "fuzzy": "yellow", "inferred": "magenta", "ungrounded": "red"}


def _short(s: str, n: int = 60) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _where(doc: Document, r: Any) -> str:
    if not r.evidence:
        return ""
    anchors = doc.locate(r.evidence[0])
    if not anchors:
        return ""
    p = anchors[0].prov
    if p.sheet_cell:
        return p.sheet_cell
    if p.page is not None:
        return f"p{p.page}" + (f" [{', '.join(f'{v:.0f}' for v in p.bbox.to_list())}]" if p.bbox else "")
    if p.mime_part:
        return f"part {p.mime_part}"
    if p.dom_path:
        return _short(p.dom_path, 40)
    if p.line is not None:
        return f"line {p.line}"
    return ""


def print_result(path: str, doc: Document | None, res: Result) -> None:
    if res.error is not None:
        console.print(f"[red]✗ {escape(path)}[/] [{res.error.get('code')}] {escape(str(res.error.get('message')))}")
        return
    assert doc is not None
    t = Table(title=f"{escape(path)}", title_justify="left", show_lines=False, expand=False)
    t.add_column("field", style="bold")
    t.add_column("value")
    t.add_column("grounding")
    t.add_column("conf", justify="right")
    t.add_column("evidence")
    t.add_column("where", style="dim")
    for x in res.extractions:
        quote = " … ".join(doc.text[s.start : s.end] for s in x.evidence)
        st = x.grounding.value
        value = display_value(x.value)
        conf = f"[yellow]{x.confidence:.2f} review[/]" if x.review else f"{x.confidence:.2f}"
        t.add_row(x.path, escape(_short(value, 40)), f"[{_STATUS_STYLE.get(st, 'white')}]{st}[/]", conf,
                  escape(_short(quote, 50)), escape(_where(doc, x)))
    for lab in res.labels:
        t.add_row(f"label:{lab.name}", escape(lab.value), "inferred", f"{lab.confidence:.2f}", "", "")
    if res.entities:
        t.add_row("entities", escape(_short(", ".join(f"{e.text} ({e.type})" for e in res.entities), 80)), "exact", "", "", "")
    console.print(t)
    missing = res.diagnostics.get("missing_required")
    if missing:
        console.print(f"  [yellow]missing required: {', '.join(map(str, missing))}[/]")


_BACKENDS = names_help(registry.backends, [NO_BACKEND])
_MODES = names_help(registry.modes, ["auto"])
_SCORERS = names_help(registry.scorers, ["auto"])
_SELECTORS = names_help(registry.selectors)
_EXECUTORS = names_help(registry.executors)


def extract_command(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories (directories are searched recursively).", show_default=False)],
    schema: Annotated[Path | None, typer.Option("--schema", "-s", help="Schema file (YAML, or JSON / JSON Schema). Not needed with --spec.")] = None,
    spec_file: Annotated[Path | None, typer.Option("--spec", help="Run a saved pipeline spec (JSON/YAML, see --save-spec) instead of building one from the options.")] = None,
    save_spec: Annotated[Path | None, typer.Option("--save-spec", help="Write the pipeline spec of this run (JSON) here.")] = None,
    backend: Annotated[str, typer.Option(help=f"Registered backend: {_BACKENDS}. llamacpp: embedded offline model; openai: any OpenAI-compatible server; none: no model.")] = "llamacpp",
    model: Annotated[str | None, typer.Option(help="GGUF path (llamacpp) or model name (openai). Default: the embedded Gemma 3 270M.")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1.")] = None,
    api_key_env: Annotated[str | None, typer.Option(help="Environment variable holding the API key (default OPENAI_API_KEY).")] = None,
    backend_option: Annotated[list[str] | None, typer.Option("--backend-option", metavar="KEY=VALUE", help="Any option of the backend (repeatable), e.g. --backend-option n_batch=256.")] = None,
    mode: Annotated[str, typer.Option(help=f"Plan: {_MODES}. choice: a scorer picks among grounded candidates; generate: the model writes JSON, then grounded; rules: no model.")] = "auto",
    scorer: Annotated[str, typer.Option(help=f"How candidates are ranked: {_SCORERS} (auto = student: the packaged generic student, measured better than the prior, which beat re-ranking with the embedded 270M).")] = "auto",
    selector: Annotated[str, typer.Option(help=f"What text a model reads: {_SELECTORS}.")] = "relevant",
    budget: Annotated[int | None, typer.Option(min=1, metavar="TOKENS", help="generate mode: read at most this many tokens of the most relevant text per document (default: all of it).")] = None,
    stage_option: Annotated[list[str] | None, typer.Option("--stage-option", metavar="ROLE.KEY=VALUE", help="An option of a stage (repeatable), e.g. --stage-option grounder.fuzzy_threshold=0.9.")] = None,
    student: Annotated[Path | None, typer.Option("--student", metavar="MODEL_DIR", help="Rank candidates with a student trained by `evidex train` (= --scorer student --stage-option scorer.model=MODEL_DIR; add --backend none for no model at all).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write JSONL records here (one per document).")] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Also write a flat CSV table.")] = None,
    parquet: Annotated[Path | None, typer.Option("--parquet", help="Also write a Parquet table.")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write a self-contained HTML report with evidence highlighted.")] = None,
    keep_ungrounded: Annotated[bool, typer.Option(help="Keep values with no support in the text (marked ungrounded).")] = False,
    review_threshold: Annotated[float | None, typer.Option(min=0.0, max=1.0, metavar="P", help="Flag values whose confidence is below P for review (default 0.5).")] = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads for the embedded model.")] = None,
    ctx: Annotated[int | None, typer.Option(help="Context window (tokens) of the model.")] = None,
    isolate: Annotated[bool, typer.Option("--isolate/--in-process", help="Parse each file in a watched worker process (crash, hang and memory safe).")] = True,
    timeout: Annotated[float | None, typer.Option("--timeout", min=0.001, metavar="SECONDS", help="Longest wall time of one model request (default: openai 60, llamacpp 120). A hung server costs about this much per document.", show_default=False)] = None,
    retries: Annotated[int | None, typer.Option("--retries", min=0, metavar="N", help="Re-tries of a failed model request (openai: after 429/5xx/refused connections, default 2; llamacpp: after a crash or timeout, default 0).", show_default=False)] = None,
    deadline: Annotated[float, typer.Option("--deadline", min=0, metavar="SECONDS", help="Wall-time budget per document (0 = none); a document that runs out fails with EVX-B007.")] = 300.0,
    max_backend_failures: Annotated[int, typer.Option("--max-backend-failures", min=0, metavar="N", help="Fail fast: after N documents in a row failed because of the backend, stop asking it; the rest are marked not processed (EVX-B008) and the exit code is 3 (0 = never).")] = 3,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print per-document tables.")] = False,
    limit: Annotated[list[str] | None, typer.Option("--limit", metavar="NAME=VALUE", help=LIMIT_HELP)] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Keep the documents already recorded in -o for the same input content and pipeline spec; run the others (and those marked not processed).")] = False,
    executor: Annotated[str, typer.Option("--executor", help=f"Where documents are processed: {_EXECUTORS}. local: this process; process: a pool of --workers processes; ray: Ray tasks (pip install 'evidex[ray]'). Records are the same.")] = "local",
    workers: Annotated[int, typer.Option("--workers", min=0, metavar="N", help="Worker processes (process) or tasks at once (ray); 0 = one per CPU. Each worker loads the model once.")] = 0,
    ray_address: Annotated[str | None, typer.Option("--ray-address", metavar="ADDRESS", help="Run on an existing Ray cluster (e.g. ray://head:10001 or auto); default: start a local Ray.")] = None,
    cache: Annotated[Path | None, typer.Option("--cache", metavar="DIR", envvar="EVIDEX_CACHE_DIR", help="Reuse parses and deterministic model calls from this directory (created; shared safely by workers). Off by default; ~/.cache/evidex/cache is a good place.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not use a cache (overrides --cache and EVIDEX_CACHE_DIR).")] = False,
    cost_per_mtok: Annotated[float, typer.Option("--cost-per-mtok", min=0.0, metavar="USD", help="Price of a million model tokens: the progress line and the summary show the estimated cost (and what the cache saved).")] = 0.0,
) -> None:
    """Extract schema fields from documents; every value comes with evidence spans and a grounding status.

    Examples:

      evidex extract examples/ --schema examples/schemas/invoice.yaml

      evidex extract scans/ -s schema.yaml -o out.jsonl --csv out.csv --html report.html

      evidex extract docs/ -s schema.yaml --backend openai --base-url http://127.0.0.1:8080/v1 --timeout 30

      evidex extract docs/ --spec run.json   (a spec saved with --save-spec)

      evidex extract docs/ -s schema.yaml -o out.jsonl --resume   (after a crash or Ctrl-C: only what is missing)

    Exit code 3 when the backend failed for the whole run: every document failed because of it, or the run
    stopped asking it after --max-backend-failures documents in a row (the rest are marked not processed).
    """
    files = expand_paths(paths, recursive=True)
    if not files:
        raise ConfigError("no input files", hint="pass files or a directory")
    from evidex.extract.tagger import student_stages

    proposer = None
    if student is not None:  # the student's span tagger too, when it has one
        scorer, (proposer, stage_option) = "student", student_stages(student, stage_option)
    spec = _spec(spec_file, schema, backend, backend_option, stage_option, limit, isolate, max_backend_failures,
                 flags={"model": model, "base_url": base_url, "api_key_env": api_key_env, "threads": threads,
                        "ctx": ctx, "timeout": timeout, "retries": retries},
                 engine={"mode": mode, "scorer": scorer, "proposer": proposer, "selector": selector, "budget_tokens": budget,
                         "keep_ungrounded": keep_ungrounded, "deadline_s": deadline or None,
                         "review_threshold": review_threshold})
    ex = _executor(executor, workers, ray_address)
    with err_console.status("loading model…" if spec.backend is not None else "starting…"):
        pipe = Pipeline.from_spec(spec, cache=None if no_cache or cache is None else Cache(cache))
    if save_spec is not None:
        save_spec.write_text(pipe.spec.to_json(indent=2) + "\n", encoding="utf-8")
    _execute(pipe, ex, files, output, {"csv": csv, "parquet": parquet, "html": html}, quiet=quiet, resume=resume,
             price=cost_per_mtok)


def _execute(pipe: Pipeline, ex: Any, files: list[Path], output: Path | None, tables: dict[str, Path | None], *,
             quiet: bool, resume: bool, price: float) -> None:
    """Run the batch; the summary is printed at the end, after fail-fast and after Ctrl-C (exit 130)."""
    todo, note = _resume_plan(pipe, files, output, resume)
    stats = RunStats()
    try:
        with pipe, ex:
            _run(pipe, todo, output, tables, quiet=quiet, append=resume, stats=stats, executor=ex, price=price)
    except KeyboardInterrupt:
        _rebuild_tables(output, tables, pipe.schema.name)
        _summary(stats, price)
        err_console.print(f"[yellow]interrupted[/] after {stats.documents} of {len(todo)} documents{note}; "
                          + (f"every finished document is in {output}. Resume with:\n  {_resume_command()}"
                             if output is not None else "pass -o out.jsonl to keep results and resume"))
        raise typer.Exit(130) from None
    _rebuild_tables(output, tables, pipe.schema.name)
    _finish(stats, pipe.spec.run.max_backend_failures, price)


def _executor(name: str, workers: int, ray_address: str | None) -> Any:
    """The registered executor named by --executor, with the options its flags give."""
    opts: dict[str, Any] = {}
    if workers:
        if name == "local":
            raise UsageError("--workers needs --executor process or ray")
        opts["workers"] = workers
    if ray_address is not None:
        if name != "ray":
            raise UsageError("--ray-address needs --executor ray")
        opts["address"] = ray_address
    return registry.executors.create(name, opts)


def _spec(spec_file: Path | None, schema: Path | None, backend: str, backend_option: list[str] | None,
          stage_option: list[str] | None, limit: list[str] | None, isolate: bool, max_backend_failures: int, *,
          flags: dict[str, Any], engine: dict[str, Any]) -> PipelineSpec:
    """The run's spec: a saved one (``--spec``), or one built from the options (validated before any model loads)."""
    if spec_file is not None:
        return PipelineSpec.from_file(spec_file)
    if schema is None:
        raise UsageError("pass --schema (or --spec)")
    limits = limits_from_cli(limit)  # a bad --limit is a usage error (exit 2)
    return build_spec(load_schema(schema), backend=backend, flags=flags, backend_extra=backend_option or (),
                      engine=engine, stage_extra=stage_option or (), isolate=isolate,
                      max_backend_failures=max_backend_failures, limits=limits)


def _resume_plan(pipe: Pipeline, files: list[Path], output: Path | None, resume: bool) -> tuple[list[Path], str]:
    """The inputs to run: with ``--resume``, those not yet recorded in ``output`` for this spec."""
    if not resume:
        if output is not None and output.exists() and output.stat().st_size > 0:
            err_console.print(f"[yellow]overwriting {escape(str(output))}[/] (use --resume to keep its finished documents)")
        return files, ""
    if output is None:
        raise UsageError("--resume needs -o/--output: the JSONL file of the run to resume")
    plan = plan_resume(output, files, pipe.spec_hash)
    extra = f", {plan.dropped} stale record(s) removed" if plan.dropped else ""
    extra += ", a line cut by a crash dropped" if plan.torn else ""
    err_console.print(f"resume: {len(plan.done)} document(s) already done, {len(plan.todo)} to run{extra}")
    return [Path(p) for p in plan.todo], f" ({len(plan.done)} done before)"


def _resume_command() -> str:
    argv = ["evidex", *sys.argv[1:]]
    return " ".join(argv if "--resume" in argv else [*argv, "--resume"])


def _rebuild_tables(output: Path | None, tables: dict[str, Path | None], name: str) -> None:
    """With a JSONL output, CSV/Parquet/HTML are (re)built from it: they then hold every recorded document,
    resumed ones included (``evidex report`` does the same at any time)."""
    targets = [(k, v) for k, v in tables.items() if v is not None]
    if output is not None and targets and output.exists():
        rebuild(output, targets, title=f"evidex · {name}")


def _run(pipe: Pipeline, files: list[Path], output: Path | None, tables: dict[str, Path | None], *, quiet: bool,
         append: bool, stats: RunStats, executor: Any = None, price: float = 0.0) -> RunStats:
    """The library's run loop, with writers for the requested outputs and a progress bar (a log line every
    10 s when stderr is not a terminal)."""
    writers: list[Writer]
    if output is not None:  # tables are rebuilt from the JSONL afterwards
        writers = [JsonlWriter(output, append=append)]
    else:
        writers = [open_writer(k, v, title=f"evidex · {pipe.schema.name}") for k, v in tables.items() if v is not None]
    tty = err_console.is_terminal
    with Progress(TextColumn("[bold]extract[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                  TimeElapsedColumn(), console=err_console, transient=True, disable=not tty) as prog:
        task = prog.add_task("", total=len(files))
        t0 = last = time.monotonic()

        def show(path: str, doc: Document | None, res: Result) -> None:
            nonlocal last
            if not is_not_processed(res):  # not-processed documents are summed up once, at the end
                if res.error is not None:
                    err_console.print(f"[red]✗[/] {escape(path)}: [{res.error.get('code')}] "
                                      f"{escape(str(res.error.get('message')))}")
                    if res.error.get("code") == InternalError.code:
                        err_console.print(f"  [dim]{escape(_last_line(res.diagnostics.get('traceback')))}[/]")
                if not quiet:
                    print_result(path, doc, res)
            now = time.monotonic()
            prog.update(task, advance=1, description=f"{escape(os.path.basename(path))} · {_rates(stats, now - t0, price)}")
            if not tty and now - last >= PROGRESS_EVERY_S:
                last = now
                err_console.print(_progress_line(stats, len(files), now - t0, price))

        # -q with a JSONL output: workers send rendered records back instead of parsed documents
        return run_batch(pipe, files, writers=writers, on_result=show, stats=stats, executor=executor,
                         documents=not (quiet and output is not None))


PROGRESS_EVERY_S = 10.0


def _progress_line(stats: RunStats, total: int, seconds: float, price: float = 0.0) -> str:
    return f"extract: {stats.documents}/{total} documents · {_rates(stats, seconds, price)}"


def _rates(stats: RunStats, seconds: float, price: float) -> str:
    """docs/s, failures, cache hits, model calls, tokens and (with a price) the estimated cost so far."""
    u, c = stats.usage, stats.cache
    out = f"{stats.documents / max(seconds, 1e-9):.2f} docs/s · {stats.failed} failed · "
    if c.lookups:
        out += f"{c.hits} cache hits · "
    out += f"{u.calls} model calls · {u.tokens_in + u.tokens_out:,} tokens"
    return out + (f" · ${_cost(stats, price):.4f}" if price else "")


def _cost(stats: RunStats, price: float) -> float:
    """Estimated cost of the tokens actually paid for (cached answers cost nothing) at ``price`` per million."""
    paid = stats.usage.tokens_in + stats.usage.tokens_out - stats.cache.tokens_saved
    return max(0, paid) * price / 1e6


def _finish(stats: RunStats, max_backend_failures: int | None, price: float = 0.0) -> None:
    _summary(stats, price)
    sys.stdout.flush()
    if stats.gave_up:
        err_console.print(f"[red]✗[/] [{BackendGaveUpError.code}] the backend failed for {max_backend_failures} documents "
                          f"in a row; stopped asking it — {stats.not_processed} documents not processed "
                          f"(marked \"processed\": false). {BackendGaveUpError.default_hint}")
    err_console.print(f"documents: {stats.documents} · ok: {stats.ok} · failed: {stats.failed - stats.not_processed} · "
                      f"not processed: {stats.not_processed}")
    if stats.backend_down:
        raise typer.Exit(BackendError.exit_code)
    if stats.failed:
        raise typer.Exit(1)


def _last_line(tb: object) -> str:
    lines = [x for x in str(tb or "").strip().splitlines() if x.strip()]
    return lines[-1] if lines else ""


def _summary(stats: RunStats, price: float = 0.0) -> None:
    t = Table(title="summary", title_justify="left")
    for col in ("documents", "failed", "not processed", "values", "grounded", "LLM calls", "tokens in", "tokens out", "seconds", "s/doc"):
        t.add_column(col, justify="right")
    u = stats.usage
    t.add_row(str(stats.documents), str(stats.failed - stats.not_processed), str(stats.not_processed), str(stats.values),
              str(stats.grounded), str(u.calls), f"{u.tokens_in:,}", f"{u.tokens_out:,}", f"{u.seconds:.1f}",
              f"{u.seconds / max(1, stats.documents):.2f}")
    console.print(t)
    c = stats.cache
    if c.lookups:
        saved = f" (${c.tokens_saved * price / 1e6:.4f})" if price else ""
        console.print(f"cache: {c.parse_hits} of {c.parse_hits + c.parse_misses} parses and {c.model_hits} of "
                      f"{c.model_hits + c.model_misses} model calls reused · saved {c.tokens_saved:,} tokens{saved}, "
                      f"~{c.seconds_saved:.1f} s of model time")
    if price:
        console.print(f"estimated cost: ${_cost(stats, price):.4f} at ${price:g} per million tokens")


def register(app: typer.Typer) -> None:
    app.command("extract", no_args_is_help=True)(extract_command)
