"""Writers behind one small protocol, registered by name (entry-point group ``evidex.writers``).

A writer is opened on a path, receives ``(document, result)`` pairs as documents finish, and is closed at the
end of the run. ``jsonl`` writes and flushes one line per document as it arrives (a crash loses at most the
document in progress); the table and report writers (``csv``, ``parquet``, ``html``) build their file when
closed. Failed documents (``document`` is ``None``) are always written.
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path
from typing import IO, Any, ClassVar, Protocol, runtime_checkable

from evidex import registry
from evidex.model import Document, Result
from evidex.output.common import Record


@runtime_checkable
class Writer(Protocol):
    name: ClassVar[str]

    def write(self, doc: Document | None, result: Result) -> None: ...

    def close(self) -> None: ...


class JsonlWriter:
    """One JSON object per line (see :mod:`evidex.output.jsonl`), flushed per document; ``append`` extends an
    existing file, ``fsync`` forces each line to disk."""

    name: ClassVar[str] = "jsonl"

    def __init__(self, path: str | os.PathLike[str] | IO[str], *, append: bool = False, fsync: bool = False,
                 **_: Any) -> None:
        self._own = isinstance(path, str | os.PathLike)
        self._fh: IO[str] = (open(path, "a" if append else "w", encoding="utf-8", newline="\n")  # noqa: SIM115
                             if isinstance(path, str | os.PathLike) else path)
        self._fsync = fsync
        self.count = 0

    def write(self, doc: Document | None, result: Result) -> None:
        from evidex.output.jsonl import dumps_record

        self.write_line(dumps_record(doc, result))

    def write_line(self, line: str) -> None:
        """Write a record already rendered by :func:`evidex.output.jsonl.dumps_record` (by a worker process)."""
        self._fh.write(line + "\n")
        self._fh.flush()
        if self._fsync:
            with suppress(OSError, ValueError, AttributeError):  # not a real file (StringIO, pipe)
                os.fsync(self._fh.fileno())
        self.count += 1

    def close(self) -> None:
        if self._own:
            self._fh.close()


class _Collecting:
    """Keeps the records and writes the file when closed."""

    def __init__(self, path: str | os.PathLike[str], **options: Any) -> None:
        self.path = Path(path)
        self.options = options
        self.records: list[Record] = []

    def write(self, doc: Document | None, result: Result) -> None:
        self.records.append((doc, result))

    def close(self) -> None:
        self._flush()

    def _flush(self) -> None:
        raise NotImplementedError


class CsvWriter(_Collecting):
    name: ClassVar[str] = "csv"

    def _flush(self) -> None:
        from evidex.output.tables import write_csv

        write_csv(self.records, self.path)


class ParquetWriter(_Collecting):
    name: ClassVar[str] = "parquet"

    def _flush(self) -> None:
        from evidex.output.tables import write_parquet

        write_parquet(self.records, self.path)


class HtmlWriter(_Collecting):
    name: ClassVar[str] = "html"

    def _flush(self) -> None:
        from evidex.output.html_report import write_html_report

        write_html_report(self.records, self.path, title=str(self.options.get("title") or "evidex report"))


def open_writer(name: str, path: str | os.PathLike[str], **options: Any) -> Writer:
    """Open the registered writer ``name`` on ``path`` (options: ``append``/``fsync`` for jsonl, ``title`` for html)."""
    cls: Any = registry.writers.get(name)
    writer: Writer = cls(path, **options)
    return writer


__all__ = ["CsvWriter", "HtmlWriter", "JsonlWriter", "ParquetWriter", "Writer", "open_writer"]
