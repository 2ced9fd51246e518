"""SWDE (one site of one vertical): HTML pages in a tar.xz + per-attribute ground-truth files.

Ground truth (UTF-8 with BOM, CRLF): line 1 ``vertical<TAB>site<TAB>attribute``, line 2 counts, then
``pageid<TAB>n<TAB>value1<TAB>value2…`` with ``<NULL>`` for "no value". Only the requested pages are pulled
out of the archive (one sequential pass) into the dataset cache as ``<pageid>.htm``, bytes unchanged.
Gold values are kept raw (many book values start with ``": "``); the SWDE metric normalises them.
"""

from __future__ import annotations

import random
import tarfile
from pathlib import Path
from types import MappingProxyType

from evidex.errors import MalformedError
from evidex.eval.datasets.base import (
    GoldDoc,
    GoldSet,
    dataset_cache,
    freeze_fields,
    require,
    write_if_changed,
)
from evidex.eval.datasets.schemas import builtin_schema
from evidex.model.schema import Schema

MAX_PAGE_BYTES = 20 * 1024 * 1024


def read_groundtruth(path: Path) -> tuple[str, dict[str, list[str]]]:
    """→ (attribute, {page_id: [values]}) ; ``<NULL>`` rows give an empty list."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    if len(lines) < 2:
        raise MalformedError("ground-truth file too short", path=str(path))
    head = lines[0].split("\t")
    if len(head) != 3:
        raise MalformedError("line 1: expected 'vertical<TAB>site<TAB>attribute'", path=str(path))
    out: dict[str, list[str]] = {}
    for n, line in enumerate(lines[2:], 3):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 3:
            raise MalformedError(f"line {n}: expected 'pageid<TAB>n<TAB>values…'", path=str(path))
        out[parts[0]] = [v for v in parts[2:] if v and v != "<NULL>"]
    return head[2], out


def load_swde(
    root: Path | str,
    split: str = "book-booksamillion",
    limit: int | None = None,
    *,
    sample: int | None = None,
    seed: int = 0,
    cache_dir: Path | None = None,
) -> GoldSet:
    """Pages of one SWDE site (``split`` = ``<vertical>-<site>``), first ``limit`` ids or a seeded ``sample``."""
    base = Path(root)
    gt_files = sorted(require(base / "groundtruth", "SWDE groundtruth/").glob(f"{split}-*.txt"))
    if not gt_files:
        raise MalformedError(f"no ground truth for site {split!r}", path=str(base / "groundtruth"))
    gold: dict[str, dict[str, list[str]]] = {}
    for f in gt_files:
        attr, values = read_groundtruth(f)
        gold[attr] = values
    ids = sorted(set().union(*(v.keys() for v in gold.values())))
    if sample is not None and sample < len(ids):
        ids = sorted(random.Random(seed).sample(ids, sample))
    if limit is not None:
        ids = ids[:limit]
    cache = dataset_cache("swde", split, cache_dir)
    missing = {i for i in ids if not (cache / f"{i}.htm").exists()}
    if missing:
        archives = sorted(base.glob(f"{split}-*.tar.xz"))
        if not archives:
            raise MalformedError(f"no page archive {split}-*.tar.xz", path=str(base))
        _extract(archives[0], missing, cache)
        if missing:
            raise MalformedError(f"{len(missing)} pages missing from the archive, e.g. {sorted(missing)[0]}", path=str(archives[0]))
    vertical = split.split("-", 1)[0]
    try:
        schema = builtin_schema(f"swde-{vertical}")
    except KeyError:
        schema = Schema.from_dict({"name": f"swde-{vertical}", "fields": dict.fromkeys(sorted(gold), "string")})
    docs = tuple(
        GoldDoc(
            id=i,
            path=cache / f"{i}.htm",
            fields=freeze_fields({a: v.get(i, []) for a, v in sorted(gold.items())}),
            meta=MappingProxyType({"site": split}),
        )
        for i in ids
    )
    return GoldSet("swde", split, "swde", schema, docs, (f"pages extracted to {cache}",))


def _extract(archive: Path, wanted: set[str], cache: Path) -> None:
    """Copy the wanted ``<id>.htm`` members out of the archive; removes found ids from ``wanted``."""
    with tarfile.open(archive, mode="r:xz") as tar:
        for m in tar:
            if not wanted:
                break
            name = m.name.rsplit("/", 1)[-1]
            stem = name.rsplit(".", 1)[0]
            if not m.isfile() or stem not in wanted:
                continue
            if m.size > MAX_PAGE_BYTES:
                raise MalformedError(f"archive member {m.name} is {m.size} bytes", path=str(archive))
            fh = tar.extractfile(m)
            if fh is None:
                continue
            write_if_changed(cache / f"{stem}.htm", fh.read())
            wanted.discard(stem)
