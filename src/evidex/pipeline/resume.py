"""Resume a batch from its JSON Lines output: exactly one record per input, whatever happened before.

A record is *done* for an input when it was made from the same input content (SHA-256 of the file's bytes) by
the same pipeline spec (its hash) and it is not marked not processed (``EVX-B008``). :func:`plan_resume` reads
the existing file (a line torn by a crash is ignored), decides which inputs are done and which must run, and
rewrites the file atomically without the records that will be redone (not processed, made by another spec, or
duplicates), so appending the new records never leaves two records for one input. Records of files that are
not part of this run are kept untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidex.errors import BackendGaveUpError

_CHUNK = 1 << 20


def file_sha256(path: str | os.PathLike[str]) -> str | None:
    """SHA-256 of a regular file's bytes (None when it cannot be read)."""
    try:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
        return h.hexdigest()
    except OSError:
        return None


def record_sha(rec: dict[str, Any]) -> str | None:
    """The input content hash a record was made from."""
    doc = rec.get("document") or {}
    diag = rec.get("diagnostics") or {}
    sha = doc.get("sha256") or diag.get("input_sha256")
    return str(sha) if sha else None


def _processed(rec: dict[str, Any]) -> bool:
    err = rec.get("error") or {}
    return err.get("code") != BackendGaveUpError.code and err.get("processed", True) is not False


@dataclass
class ResumePlan:
    todo: list[str]  # inputs to run, in input order
    done: list[str] = field(default_factory=list)  # inputs already recorded (skipped)
    kept: int = 0  # records kept in the file
    dropped: int = 0  # records removed because their input runs again (not processed, other spec, duplicate)
    torn: bool = False  # the file ended with a line cut by a crash (ignored)


def _read_lines(path: Path) -> tuple[list[tuple[str, dict[str, Any] | None]], bool]:
    """``(line, parsed or None)`` for each complete line, and whether a torn last line was ignored."""
    out: list[tuple[str, dict[str, Any] | None]] = []
    torn = False
    with open(path, encoding="utf-8", newline="\n") as fh:
        for line in fh:
            if not line.endswith("\n"):
                torn = True  # the document being written when the process died
                break
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                obj = None
            out.append((line, obj if isinstance(obj, dict) else None))
    return out, torn


def plan_resume(output: str | os.PathLike[str], inputs: Sequence[str | os.PathLike[str]], spec_hash: str) -> ResumePlan:
    """Decide what to run and rewrite ``output`` so that appending the new records keeps one record per input."""
    out = Path(output)
    paths = [str(p) for p in inputs]
    if not out.exists():
        return ResumePlan(todo=paths)
    lines, torn = _read_lines(out)
    shas = [file_sha256(p) for p in paths]
    wanted = Counter(s for s in shas if s)
    sources = set(paths)
    available: Counter[str] = Counter()
    keep: list[str] = []
    dropped = 0
    for line, rec in lines:
        if rec is None:
            keep.append(line)  # not ours to judge (a foreign line): leave it
            continue
        sha = record_sha(rec)
        mine = (sha in wanted) if sha else (str(rec.get("source")) in sources)
        if not mine:
            keep.append(line)  # a file that is not part of this run
        elif sha and rec.get("spec") == spec_hash and _processed(rec) and available[sha] < wanted[sha]:
            available[sha] += 1
            keep.append(line)
        else:
            dropped += 1
    plan = ResumePlan(todo=[], kept=len(keep), dropped=dropped, torn=torn)
    for p, sha in zip(paths, shas, strict=True):
        if sha and available[sha] > 0:
            available[sha] -= 1
            plan.done.append(p)
        else:
            plan.todo.append(p)
    if dropped or torn:
        tmp = out.with_name(out.name + ".resume-tmp")
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.writelines(keep)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    return plan


__all__ = ["ResumePlan", "file_sha256", "plan_resume", "record_sha"]
