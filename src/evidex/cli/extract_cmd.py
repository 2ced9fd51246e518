"""``evidex extract PATHS --schema S`` — schema-driven extraction with evidence for every value."""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from evidex.cli.common import LIMIT_HELP, console, err_console, expand_paths, limits_from_cli
from evidex.errors import BackendError, BackendGaveUpError, ConfigError, InternalError
from evidex.extract import ExtractOptions
from evidex.model import Document, Grounding, Result
from evidex.output.common import display_value
from evidex.pipeline import Pipeline, RunStats, is_not_processed, load_schema


class BackendName(StrEnum):
    llamacpp = "llamacpp"
    openai = "openai"
    none = "none"


class ModeName(StrEnum):
    auto = "auto"
    choice = "choice"
    generate = "generate"
    rules = "rules"


_STATUS_STYLE = {"exact": "green", "normalized": "cyan", "fuzzy": "yellow", "inferred": "magenta", "ungrounded": "red"}


def _backend_options(backend: BackendName, model: str | None, base_url: str | None, api_key_env: str | None,
                     threads: int | None, ctx: int | None, *, timeout: float | None = None,
                     retries: int | None = None) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    if backend is not BackendName.none:  # both backends take these two options (given only when the user set them)
        if timeout is not None:
            opts["timeout_s"] = timeout
        if retries is not None:
            opts["max_retries"] = retries
    if backend is BackendName.llamacpp:
        if model:
            opts["model_path"] = model
        if threads:
            opts["n_threads"] = threads
        if ctx:
            opts["n_ctx"] = ctx
    elif backend is BackendName.openai:
        if base_url:
            opts["base_url"] = base_url
        if model:
            opts["model"] = model
        if api_key_env:
            opts["api_key_env"] = api_key_env
    return opts


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
        t.add_row(x.path, escape(_short(value, 40)), f"[{_STATUS_STYLE.get(st, 'white')}]{st}[/]", f"{x.confidence:.2f}",
                  escape(_short(quote, 50)), escape(_where(doc, x)))
    for lab in res.labels:
        t.add_row(f"label:{lab.name}", escape(lab.value), "inferred", f"{lab.confidence:.2f}", "", "")
    if res.entities:
        t.add_row("entities", escape(_short(", ".join(f"{e.text} ({e.type})" for e in res.entities), 80)), "exact", "", "", "")
    console.print(t)
    missing = res.diagnostics.get("missing_required")
    if missing:
        console.print(f"  [yellow]missing required: {', '.join(map(str, missing))}[/]")


def extract_command(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories (directories are searched recursively).", show_default=False)],
    schema: Annotated[Path, typer.Option("--schema", "-s", help="Schema file (YAML, or JSON / JSON Schema).")],
    backend: Annotated[BackendName, typer.Option(help="llamacpp: embedded offline model; openai: any OpenAI-compatible server; none: rules only.")] = BackendName.llamacpp,
    model: Annotated[str | None, typer.Option(help="GGUF path (llamacpp) or model name (openai). Default: the embedded Gemma 3 270M.")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1.")] = None,
    api_key_env: Annotated[str | None, typer.Option(help="Environment variable holding the API key (default OPENAI_API_KEY).")] = None,
    mode: Annotated[ModeName, typer.Option(help="choice: model picks among grounded candidates; generate: model writes JSON, then grounded; rules: no model.")] = ModeName.auto,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write JSONL records here (one per document).")] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Also write a flat CSV table.")] = None,
    parquet: Annotated[Path | None, typer.Option("--parquet", help="Also write a Parquet table.")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write a self-contained HTML report with evidence highlighted.")] = None,
    scorer: Annotated[str, typer.Option(help="choice mode: how the model re-ranks candidates: auto/prior (measured best with the embedded 270M), pmi, choice.")] = "auto",
    keep_ungrounded: Annotated[bool, typer.Option(help="Keep values with no support in the text (marked ungrounded).")] = False,
    threads: Annotated[int | None, typer.Option(help="CPU threads for the embedded model.")] = None,
    ctx: Annotated[int | None, typer.Option(help="Context window (tokens) for the embedded model.")] = None,
    isolate: Annotated[bool, typer.Option("--isolate/--in-process", help="Parse each file in a watched worker process (crash, hang and memory safe).")] = True,
    timeout: Annotated[float | None, typer.Option("--timeout", min=0.001, metavar="SECONDS", help="Longest wall time of one model request (default: openai 60, llamacpp 120). A hung server costs about this much per document.", show_default=False)] = None,
    retries: Annotated[int | None, typer.Option("--retries", min=0, metavar="N", help="Re-tries of a failed model request (openai: after 429/5xx/refused connections, default 2; llamacpp: after a crash or timeout, default 0).", show_default=False)] = None,
    deadline: Annotated[float, typer.Option("--deadline", min=0, metavar="SECONDS", help="Wall-time budget per document (0 = none); a document that runs out fails with EVX-B007.")] = 300.0,
    max_backend_failures: Annotated[int, typer.Option("--max-backend-failures", min=0, metavar="N", help="Fail fast: after N documents in a row failed because of the backend, stop asking it; the rest are marked not processed (EVX-B008) and the exit code is 3 (0 = never).")] = 3,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print per-document tables.")] = False,
    limit: Annotated[list[str] | None, typer.Option("--limit", metavar="NAME=VALUE", help=LIMIT_HELP)] = None,
) -> None:
    """Extract schema fields from documents; every value comes with evidence spans and a grounding status.

    Examples:

      evidex extract examples/ --schema examples/schemas/invoice.yaml

      evidex extract scans/ -s schema.yaml -o out.jsonl --csv out.csv --html report.html

      evidex extract docs/ -s schema.yaml --backend openai --base-url http://127.0.0.1:8080/v1 --model local

      evidex extract docs/ -s schema.yaml --backend openai --timeout 30 --retries 1 --deadline 120

    Exit code 3 when the backend failed for the whole run: every document failed because of it, or the run
    stopped asking it after --max-backend-failures documents in a row (the rest are marked not processed).
    """
    sch = load_schema(schema)
    files = expand_paths(paths, recursive=True)
    if not files:
        raise ConfigError("no input files", hint="pass files or a directory")
    if scorer not in ("auto", "prior", "pmi", "choice"):
        raise ConfigError(f"unknown scorer {scorer!r}", hint="use auto, prior, pmi or choice")
    options = ExtractOptions(mode=mode.value, keep_ungrounded=keep_ungrounded, scorer=scorer,  # type: ignore[arg-type]
                             deadline_s=deadline or None)
    be = None if backend is BackendName.none else backend.value
    if be is None and mode not in (ModeName.auto, ModeName.rules):
        raise ConfigError(f"--mode {mode.value} needs a backend", hint="use --backend llamacpp or openai")
    if be is None:
        options = ExtractOptions(mode="rules", keep_ungrounded=keep_ungrounded, deadline_s=deadline or None)
    limits = limits_from_cli(limit)  # before loading a model: a bad --limit is a usage error (exit 2)
    with err_console.status("loading model…" if be == "llamacpp" else "starting…"):
        pipe = Pipeline.create(sch, be, _backend_options(backend, model, base_url, api_key_env, threads, ctx,
                                                         timeout=timeout, retries=retries),
                               options, limits=limits, isolate=isolate, max_backend_failures=max_backend_failures)
    stats = RunStats()
    records: list[tuple[Document | None, Result]] = []
    out_f = output.open("w", encoding="utf-8") if output else None
    try:
        from evidex.output.jsonl import record_to_dict

        with Progress(TextColumn("[bold]extract[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                      TimeElapsedColumn(), console=err_console, transient=True, disable=not err_console.is_terminal) as prog:
            task = prog.add_task("", total=len(files))
            for path, doc, res in pipe.run(files):
                stats.add(res)
                records.append((doc, res))
                if out_f is not None:
                    out_f.write(json.dumps(record_to_dict(doc, res), ensure_ascii=False, default=str) + "\n")
                    out_f.flush()
                if not is_not_processed(res):  # not-processed documents are summed up once, below
                    if res.error is not None:
                        err_console.print(f"[red]✗[/] {escape(path)}: [{res.error.get('code')}] "
                                          f"{escape(str(res.error.get('message')))}")
                        if res.error.get("code") == InternalError.code:
                            err_console.print(f"  [dim]{escape(_last_line(res.diagnostics.get('traceback')))}[/]")
                    if not quiet:
                        print_result(path, doc, res)
                prog.update(task, advance=1, description=escape(os.path.basename(path)))
    finally:
        if out_f is not None:
            out_f.close()
        pipe.close()
    if csv is not None:
        from evidex.output.tables import write_csv

        write_csv(records, csv)
    if parquet is not None:
        from evidex.output.tables import write_parquet

        write_parquet(records, parquet)
    if html is not None:
        from evidex.output.html_report import write_html_report

        write_html_report(records, html, title=f"evidex · {sch.name}")
    _summary(records, stats)
    sys.stdout.flush()
    if pipe.gave_up:
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


def _summary(records: list[tuple[Document | None, Result]], stats: RunStats) -> None:
    t = Table(title="summary", title_justify="left")
    for col in ("documents", "failed", "not processed", "values", "grounded", "LLM calls", "tokens in", "tokens out", "seconds", "s/doc"):
        t.add_column(col, justify="right")
    values = sum(len(r.extractions) for _, r in records)
    grounded = sum(1 for _, r in records for x in r.extractions if x.grounding is not Grounding.UNGROUNDED)
    u = stats.usage
    t.add_row(str(stats.documents), str(stats.failed - stats.not_processed), str(stats.not_processed), str(values), str(grounded), str(u.calls), f"{u.tokens_in:,}",
              f"{u.tokens_out:,}", f"{u.seconds:.1f}", f"{u.seconds / max(1, stats.documents):.2f}")
    console.print(t)


def register(app: typer.Typer) -> None:
    app.command("extract", no_args_is_help=True)(extract_command)
