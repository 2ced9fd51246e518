"""Gold-standard documents and the cache where dataset adapters materialise document files.

Datasets are read in place (``/work/shared/data`` or wherever ``root`` points) and never copied into the
repository. When a dataset ships text rather than files (Kleister TSV text layers, SROIE OCR lines, WNUT-17
tokens, SWDE pages inside a tar.xz), the adapter writes one file per document into a cache directory outside
the repository: ``$EVIDEX_CACHE_DIR/datasets/<name>/<split>/`` (default ``$XDG_CACHE_HOME/evidex`` or
``~/.cache/evidex``). Files are rewritten only when their content changed, so repeated loads are cheap and
the paths are stable (predictions can be matched by ``source`` path or file stem).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from evidex.errors import FileMissingError
from evidex.model.schema import Schema


@dataclass(frozen=True)
class GoldSpan:
    """A labelled character span ``[start, end)`` into :attr:`GoldDoc.text` (entities, clauses, mentions)."""

    label: str
    start: int
    end: int
    text: str = ""


@dataclass(frozen=True)
class GoldDoc:
    """One gold document.

    ``path`` is the file to feed to evidex (may be ``None`` for text-only JSONL gold); ``text`` is the
    document text the gold offsets refer to, when the dataset defines one. ``fields`` maps a field name
    (a schema leaf path without list indices) to its gold values; an empty tuple means "no value expected"
    (it still counts as a question for CUAD). ``spans`` holds offset-based gold (entities, clauses).
    """

    id: str
    path: Path | None = None
    text: str | None = None
    fields: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    spans: tuple[GoldSpan, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class GoldSet:
    """A loaded dataset split: its documents, the schema to extract with, and its official metric name."""

    name: str
    split: str
    metric: str
    schema: Schema
    docs: tuple[GoldDoc, ...]
    notes: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[GoldDoc]:
        return iter(self.docs)

    def __len__(self) -> int:
        return len(self.docs)

    def paths(self, cache_dir: Path | None = None) -> list[Path]:
        """Input files for a run, writing text-only documents into the cache first."""
        out: list[Path] = []
        for d in self.docs:
            if d.path is not None:
                out.append(d.path)
            else:
                assert d.text is not None
                target = dataset_cache(self.name, self.split, cache_dir) / f"{_safe_name(d.id)}.txt"
                write_if_changed(target, d.text)
                out.append(target)
        return out


def _safe_name(s: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in s)[:200] or "doc"


def cache_root(cache_dir: Path | None = None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("EVIDEX_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "evidex"


def dataset_cache(name: str, split: str, cache_dir: Path | None = None) -> Path:
    p = cache_root(cache_dir) / "datasets" / name / split
    p.mkdir(parents=True, exist_ok=True)
    return p


def write_if_changed(path: Path, content: str | bytes) -> None:
    """Write atomically unless the file already holds exactly ``content``."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def require(path: Path, what: str) -> Path:
    if not path.exists():
        raise FileMissingError(
            f"{what} not found",
            path=str(path),
            hint="point root= at the dataset folder (e.g. /work/shared/data/<name>) or set EVIDEX_SHARED_DATA",
        )
    return path


def as_values(v: Any) -> tuple[str, ...]:
    """Gold value(s) → tuple of strings (``None``/empty → no value)."""
    if v is None:
        return ()
    if isinstance(v, list | tuple):
        return tuple(str(x) for x in v if x is not None and str(x) != "")
    s = str(v)
    return (s,) if s != "" else ()


def freeze_fields(fields: Mapping[str, Sequence[str]]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({k: tuple(v) for k, v in fields.items()})
