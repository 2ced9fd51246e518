"""JSON Lines: one self-describing object per document, written and flushed as each document finishes.

Each line is a superset of :func:`evidex.model.result_to_dict`, so ``result_from_dict(line)`` gives back the
:class:`~evidex.model.Result`; on top of it a line carries the nested ``values``, the quoted evidence text and
its provenance (page and boxes, sheet cell, DOM path, MIME part, source line).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from evidex.errors import MalformedError
from evidex.model import Document, Result, Span
from evidex.model.serialize import result_to_dict
from evidex.output.common import Locator, Record, error_info, json_safe, nest_values

__all__ = ["FORMAT", "dumps_record", "read_jsonl", "record_to_dict", "write_jsonl"]

FORMAT = "evidex.result/1"


def record_to_dict(doc: Document | None, result: Result) -> dict[str, Any]:
    """The JSON object written for one document (JSON-safe: ``Decimal`` values become strings)."""
    text = doc.text if doc is not None else None
    loc = Locator(doc)
    base = result_to_dict(result, text)
    for ex, e in zip(base["extractions"], result.extractions, strict=True):
        for ev, span in zip(ex["evidence"], e.evidence, strict=True):
            if text is not None and span.end > len(text):
                ev.pop("text", None)
                ev["error"] = "span beyond the document text"
                continue
            pg = loc.pages(span)
            if pg:
                ev["pages"] = pg
            prov = loc.provenance(span)
            if prov:
                ev["prov"] = prov
    if doc is not None:
        evidence_lists: dict[str, list[tuple[Span, ...]]] = {
            "relations": [x.evidence for x in result.relations],
            "labels": [x.evidence for x in result.labels],
        }
        for key, lists in evidence_lists.items():
            for d, spans in zip(base[key], lists, strict=True):
                if spans:
                    d["evidence_text"] = [loc.quote(s) for s in spans]
    out: dict[str, Any] = {
        "format": FORMAT,
        "doc_id": result.doc_id,
        "source": result.source,
        "ok": result.ok,
        "values": nest_values(result.extractions),
    }
    if doc is not None:
        out["document"] = {
            "name": doc.source.name,
            "media_type": doc.source.media_type,
            "size": doc.source.size,
            "sha256": doc.source.sha256,
            "chars": len(doc.text),
            "pages": len(doc.pages),
            "warnings": list(doc.warnings),
        }
    for k, v in base.items():
        if k not in out:
            out[k] = v
    out["error"] = error_info(result)
    return json_safe(out)  # type: ignore[no-any-return]


def _dumps(obj: dict[str, Any]) -> str:
    try:
        line = json.dumps(obj, ensure_ascii=False, allow_nan=False)
        line.encode("utf-8")  # lone surrogates cannot be written as UTF-8 …
    except UnicodeEncodeError:
        line = json.dumps(obj, ensure_ascii=True, allow_nan=False)  # … but survive as \\udxxx escapes
    return line


def write_jsonl(
    records: Iterable[Record],
    path_or_file: str | os.PathLike[str] | IO[str],
    *,
    append: bool = False,
    fsync: bool = False,
) -> int:
    """Write one line per ``(document, result)`` pair and return the number of lines written.

    Every line is written whole and flushed before the next document is pulled from ``records``, so a
    crash loses at most the document in progress. A failed document (``doc`` is ``None``, ``result.error``
    set) still gets its line. With ``append`` an existing file is extended (resume a batch).
    """
    from evidex.output.writers import JsonlWriter

    w = JsonlWriter(path_or_file, append=append, fsync=fsync)
    try:
        for doc, result in records:
            w.write(doc, result)
    finally:
        w.close()
    return w.count


def dumps_record(doc: Document | None, result: Result) -> str:
    """One JSON line (without the newline) for a document's result."""
    return _dumps(record_to_dict(doc, result))


def read_jsonl(path_or_file: str | os.PathLike[str] | IO[str]) -> Iterator[dict[str, Any]]:
    """Yield the objects of a results file, lazily.

    Blank lines are skipped. A last line cut short by a crash (no final newline, invalid JSON) is skipped;
    invalid JSON anywhere else raises :class:`~evidex.errors.MalformedError` naming the line.
    """
    name = str(path_or_file) if isinstance(path_or_file, str | os.PathLike) else getattr(path_or_file, "name", "<stream>")
    with ExitStack() as stack:
        if isinstance(path_or_file, str | os.PathLike):
            fh: IO[str] = stack.enter_context(open(Path(path_or_file), encoding="utf-8", newline="\n"))
        else:
            fh = path_or_file
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                if not line.endswith("\n"):
                    return  # truncated final line: the document being written when the writer died
                raise MalformedError(f"line {lineno}: invalid JSON ({e.msg})", path=str(name)) from None
            if not isinstance(obj, dict):
                raise MalformedError(f"line {lineno}: expected a JSON object, got {type(obj).__name__}", path=str(name))
            yield obj


def spans_of(obj: dict[str, Any], path: str) -> list[Span]:
    """Evidence spans of the extraction at ``path`` in a line read back with :func:`read_jsonl`."""
    return [Span(ev["start"], ev["end"]) for ex in obj.get("extractions", ()) if ex.get("path") == path for ev in ex.get("evidence", ())]
