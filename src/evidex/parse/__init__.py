"""Parsing: bytes of any supported format → :class:`~evidex.model.Document`.

>>> from evidex.parse import parse_bytes
>>> doc = parse_bytes(b"Invoice date: 14 March 2024\\n", "note.txt")
>>> doc.text
'Invoice date: 14 March 2024'
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from evidex import registry
from evidex.errors import (
    DocumentError,
    EvidexError,
    FileMissingError,
    MalformedError,
    MissingDependencyError,
    NestingLimitError,
    NotAFileError,
    PluginLoadError,
    TooLargeError,
)
from evidex.model import Document
from evidex.parse.base import ParseContext, Parser
from evidex.parse.sniff import sniff
from evidex.structure.limits import DEFAULT_LIMITS, Limits

__all__ = [
    "Limits", "ParseContext", "Parser", "get_parser", "parse_bytes", "parse_file", "parse_many", "parse_source", "read_input",
]


def get_parser(name: str) -> Parser:
    cls = registry.parsers.get(name)
    return cls() if isinstance(cls, type) else cls  # type: ignore[no-any-return]


def parse_bytes(
    data: bytes,
    name: str,
    *,
    format: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    path: str | None = None,
    depth: int = 0,
) -> Document:
    """Parse in this process. Raises :class:`DocumentError` subclasses naming ``name``."""
    if len(data) > limits.max_bytes:
        raise TooLargeError(f"{len(data):,} bytes exceeds the limit of {limits.max_bytes:,}", path=name)
    if depth > limits.max_archive_depth:
        raise NestingLimitError(f"embedded files nested more than {limits.max_archive_depth} deep", path=name)
    fmt = sniff(data, name, format)
    try:
        parser = get_parser(fmt)
    except PluginLoadError as e:  # e.g. the PDF extra is not installed: this file fails, the batch goes on
        raise MissingDependencyError(f"cannot parse {fmt}: {e.message}", hint=e.hint, path=name) from e

    def child(data2: bytes, name2: str, depth2: int) -> Document:
        return parse_bytes(data2, name2, limits=limits, depth=depth2)

    ctx = ParseContext(name=name, path=path, limits=limits, depth=depth, parse_child=child)
    try:
        doc = parser.parse(data, ctx)
    except EvidexError as e:
        if e.path is None:
            e.path = name
            e.args = (str(e),)
        raise
    except RecursionError:
        raise NestingLimitError("structure nested too deeply to parse", path=name) from None
    except MemoryError:
        from evidex.errors import MemoryLimitError

        raise MemoryLimitError("ran out of memory while parsing", path=name) from None
    except Exception as e:  # a bug or an unexpected library failure: still one typed error per file
        raise MalformedError(f"{fmt} parser failed: {type(e).__name__}: {e}", path=name) from e
    return doc


def read_input(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> bytes:
    """Read a file with checks: exists, is a regular file, not over the size limit (checked before reading)."""
    p = Path(path)
    name = str(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise FileMissingError("no such file", path=name) from None
    except OSError as e:
        raise FileMissingError(f"cannot access: {e.strerror}", path=name) from None
    if stat.S_ISDIR(st.st_mode):
        raise NotAFileError("is a directory", path=name)
    if not stat.S_ISREG(st.st_mode):
        raise NotAFileError("is not a regular file (device, FIFO or socket)", path=name)
    if st.st_size > limits.max_bytes:
        raise TooLargeError(f"{st.st_size:,} bytes exceeds the limit of {limits.max_bytes:,}", path=name)
    try:
        with p.open("rb") as f:
            data = f.read(limits.max_bytes + 1)
    except OSError as e:
        raise FileMissingError(f"cannot read: {e.strerror}", path=name) from None
    if len(data) > limits.max_bytes:
        raise TooLargeError(f"more than {limits.max_bytes:,} bytes", path=name)
    return data


def parse_file(
    path: str | os.PathLike[str], *, format: str | None = None, limits: Limits = DEFAULT_LIMITS
) -> Document:
    data = read_input(path, limits)
    return parse_bytes(data, str(path), format=format, limits=limits, path=str(Path(path).resolve()))


def parse_many(
    paths: Iterable[str | os.PathLike[str]],
    *,
    format: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    isolate: bool = False,
    **kw: Any,
) -> Iterator[tuple[str, Document | DocumentError]]:
    """Parse each path; yield ``(path, Document)`` or ``(path, DocumentError)`` — one bad file never stops the rest.

    With ``isolate=True`` each file is parsed in a watched worker process (crash, hang and memory safety).
    """
    if isolate:
        from evidex.parse.sandbox import parse_isolated

        yield from parse_isolated(paths, format=format, limits=limits, **kw)
        return
    for p in paths:
        try:
            yield str(p), parse_file(p, format=format, limits=limits)
        except DocumentError as e:
            yield str(p), e


def parse_source(source: str | os.PathLike[str] | bytes, *, name: str | None = None, format: str | None = None,
                 limits: Limits | None = None) -> Document:
    """Parse one file (a path) or bytes (``name`` gives its file name) into a :class:`~evidex.model.Document`.

    ``format`` forces a registered parser (``pdf``, ``html``, ``docx``, …) instead of sniffing the content.
    A file that cannot be read raises a :class:`~evidex.errors.DocumentError` naming it and the reason.
    This is ``evidex.parse(...)``: the package is callable.
    """
    lim = limits or DEFAULT_LIMITS
    if isinstance(source, bytes | bytearray):
        return parse_bytes(bytes(source), name or "document", format=format, limits=lim)
    return parse_file(source, format=format, limits=lim)


from evidex._callable import make_callable  # noqa: E402

make_callable(__name__, "evidex.parse:parse_source")
