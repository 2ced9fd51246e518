"""Rebuild outputs (CSV, Parquet, HTML report) from a results JSONL file, at any time.

Each record gives back its :class:`~evidex.model.Result`; the Document is parsed again from the record's
source when the file is still there with the same content (SHA-256), so the report can show the evidence in
the whole text and quote it in the tables; otherwise ``document`` is ``None`` and the tables keep values,
grounding, confidence and review flags but no quoted evidence (the JSONL record still holds it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from evidex.errors import DocumentError
from evidex.model import Document
from evidex.model.serialize import result_from_dict
from evidex.output.common import Record
from evidex.output.jsonl import read_jsonl
from evidex.output.writers import open_writer


def records_from_jsonl(path: str | os.PathLike[str], *, reparse: bool = True) -> Iterator[Record]:
    """``(Document | None, Result)`` per line of a results file (documents re-parsed when unchanged)."""
    from evidex.parse import parse_file

    for rec in read_jsonl(path):
        res = result_from_dict(rec)
        doc: Document | None = None
        want = (rec.get("document") or {}).get("sha256")
        src = rec.get("source")
        if reparse and want and src and Path(src).is_file():
            try:
                parsed = parse_file(src)
            except DocumentError:
                parsed = None
            if parsed is not None and parsed.source.sha256 == want:
                doc = parsed
        yield doc, res


def rebuild(jsonl: str | os.PathLike[str], targets: Sequence[tuple[str, str | os.PathLike[str]]], *,
            title: str = "evidex report", reparse: bool = True) -> int:
    """Write each ``(writer name, path)`` from the records of ``jsonl``; return the number of records."""
    writers = [open_writer(name, path, title=title) for name, path in targets]
    n = 0
    try:
        for doc, res in records_from_jsonl(jsonl, reparse=reparse):
            for w in writers:
                w.write(doc, res)
            n += 1
    finally:
        for w in writers:
            w.close()
    return n


__all__ = ["rebuild", "records_from_jsonl"]
