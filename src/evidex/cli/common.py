"""Shared CLI helpers: consoles, error rendering, exit codes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from evidex.errors import EvidexError, UsageError
from evidex.structure.limits import DEFAULT_LIMITS, Limits, parse_limit_options

# Piped output (CI logs, files) gets a wide fixed width instead of 80 columns, so tables stay readable.
console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, highlight=False)

EXIT_CODES = """Exit codes:
  0  everything succeeded
  1  at least one document failed (the others were processed; see the per-file errors)
  2  usage or configuration error (bad option, bad schema, unknown backend)
  3  backend unavailable or failing for the whole run (every document failed because of it, or the run
     stopped asking it after --max-backend-failures documents in a row; the rest are marked not processed)
  130 interrupted"""


LIMIT_HELP = ("Raise (or lower) a safety limit, as name=value; repeatable. E.g. --limit max_sheet_cells=5000000 "
              "--limit max_bytes=1GiB. Names: see evidex.parse.Limits.")


def limits_from_cli(items: list[str] | None, base: Limits = DEFAULT_LIMITS) -> Limits:
    """``--limit name=value`` options applied over ``base``; a bad option is a usage error (exit 2)."""
    try:
        return parse_limit_options(items or (), base)
    except ValueError as e:
        raise UsageError(str(e), hint="e.g. --limit max_sheet_cells=5000000") from None


def print_error(e: EvidexError) -> None:
    err_console.print(f"[red]✗[/] {escape(str(e))}")


def expand_paths(paths: list[Path], recursive: bool) -> list[Path]:
    """Expand directories (with ``--recursive``) into their files, sorted; keep other paths as given."""
    out: list[Path] = []
    for p in paths:
        if recursive and p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs.sort()
                out.extend(Path(root) / f for f in sorted(files) if not f.startswith("."))
        else:
            out.append(p)
    return out
