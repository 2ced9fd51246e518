"""Entry point: ``evidex`` (see ``evidex --help``)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from evidex import __version__
from evidex.cli.common import EXIT_CODES, print_error
from evidex.cli.parse_cmd import parse_command
from evidex.errors import EvidexError

app = typer.Typer(
    name="evidex",
    help="Turn documents into tables you can trust: every value points at the exact words, page and box it came from.\n\n"
    + EXIT_CODES.replace("\n", "\n\n"),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"evidex {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """evidex command line."""


app.command("parse", no_args_is_help=True)(parse_command)

_OPTIONAL = ("extract_cmd", "eval_cmd", "report_cmd", "train_cmd", "distill_cmd", "serve_cmd")
for _mod in _OPTIONAL:
    try:
        _m = __import__(f"evidex.cli.{_mod}", fromlist=["register"])
    except ModuleNotFoundError as _e:
        if _e.name != f"evidex.cli.{_mod}":
            raise
        continue
    _m.register(app)


def run() -> None:
    try:
        app()
    except EvidexError as e:
        print_error(e)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
