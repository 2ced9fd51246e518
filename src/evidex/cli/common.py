"""Shared CLI helpers: consoles, error rendering, exit codes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from evidex.errors import EvidexError

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
