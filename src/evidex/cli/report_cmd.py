"""``evidex report RESULTS.jsonl --csv … --parquet … --html …`` — outputs rebuilt from a results file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evidex.cli.common import err_console
from evidex.errors import UsageError
from evidex.output.rebuild import rebuild


def report_command(
    results: Annotated[Path, typer.Argument(help="A results JSONL written by `evidex extract -o` (also of a run still going or interrupted).")],
    csv: Annotated[Path | None, typer.Option("--csv", help="Write a flat CSV table.")] = None,
    parquet: Annotated[Path | None, typer.Option("--parquet", help="Write a Parquet table.")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the self-contained HTML evidence report.")] = None,
    review: Annotated[Path | None, typer.Option("--review", help="Write the review page into this directory (index.html, page images; corrections export gold JSONL).")] = None,
    reparse: Annotated[bool, typer.Option("--reparse/--no-reparse", help="Parse the sources again (when unchanged) to quote evidence in the whole text.")] = True,
    title: Annotated[str, typer.Option(help="Title of the HTML report.")] = "evidex report",
) -> None:
    """Rebuild CSV, Parquet and HTML outputs (and the review page) from a results JSONL file, at any time.

    Example:

      evidex report out.jsonl --csv out.csv --html report.html --review review/
    """
    targets = [(name, path) for name, path in (("csv", csv), ("parquet", parquet), ("html", html)) if path is not None]
    if not targets and review is None:
        raise UsageError("nothing to write", hint="pass --csv, --parquet, --html and/or --review")
    if not results.is_file():
        raise UsageError(f"no such results file: {results}")
    if targets:
        n = rebuild(results, targets, title=title, reparse=reparse)
        err_console.print(f"{n} records → {', '.join(str(p) for _, p in targets)}")
    if review is not None:
        from evidex.output.rebuild import records_from_jsonl
        from evidex.output.review import write_review_site

        n = write_review_site(records_from_jsonl(results, reparse=reparse), review, title=title)
        err_console.print(f"{n} records → {review / 'index.html'} (open it in a browser)")


def register(app: typer.Typer) -> None:
    app.command("report", no_args_is_help=True)(report_command)
