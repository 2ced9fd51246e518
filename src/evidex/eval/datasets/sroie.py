"""SROIE 2019 task 3 (scanned receipts): entities JSON + OCR boxes per receipt.

The receipt images are not in the developer copy, so the OCR transcripts are joined with ``\\n`` in file order
and written to the dataset cache as ``<id>.txt`` (the box coordinates are kept in ``GoldDoc.meta["boxes"]``).
File order is the annotators' box order, which is mostly but not always top-to-bottom reading order.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from types import MappingProxyType

from evidex.errors import MalformedError
from evidex.eval.datasets.base import (
    GoldDoc,
    GoldSet,
    as_values,
    dataset_cache,
    freeze_fields,
    require,
    write_if_changed,
)
from evidex.eval.datasets.schemas import builtin_schema
from evidex.eval.metrics import SROIE_KEYS

_RULE = "=" * 20


def parse_sroie_file(path: Path) -> tuple[dict[str, str], list[tuple[tuple[int, ...], str]]]:
    """→ (entities, [(8 box coordinates, transcript)])."""
    text = path.read_text(encoding="utf-8")
    head, sep, boxes_part = text.partition("OCR BOXES")
    if not sep:
        raise MalformedError("no 'OCR BOXES' section", path=str(path))
    start, end = head.find("{"), head.rfind("}")
    if start < 0 or end < start:
        raise MalformedError("no entities JSON object", path=str(path))
    try:
        entities = json.loads(head[start : end + 1])
    except json.JSONDecodeError as e:
        raise MalformedError(f"entities JSON: {e.msg}", path=str(path)) from None
    lines: list[tuple[tuple[int, ...], str]] = []
    for n, raw in enumerate(boxes_part.splitlines(), 1):
        if not raw.strip() or raw.startswith(_RULE):
            continue
        parts = raw.split(",", 8)
        try:
            coords = tuple(int(x) for x in parts[:8])
        except ValueError:
            raise MalformedError(f"OCR box line {n}: expected 8 integer coordinates", path=str(path)) from None
        if len(parts) != 9 or len(coords) != 8:
            raise MalformedError(f"OCR box line {n}: expected 8 coordinates and a transcript", path=str(path))
        lines.append((coords, parts[8]))
    return {str(k): str(v) for k, v in entities.items()}, lines


def load_sroie(
    root: Path | str,
    split: str = "train",
    sample: int | None = 100,
    seed: int = 0,
    *,
    limit: int | None = None,
    cache_dir: Path | None = None,
) -> GoldSet:
    """A seeded random sample (``sample=None``: all) of SROIE receipts, in sorted id order."""
    base = require(Path(root) / split, f"SROIE split {split!r}")
    files = sorted(base.glob("*.txt"))
    if sample is not None and sample < len(files):
        files = sorted(random.Random(seed).sample(files, sample))
    if limit is not None:
        files = files[:limit]
    cache = dataset_cache("sroie", split, cache_dir)
    docs: list[GoldDoc] = []
    for f in files:
        entities, lines = parse_sroie_file(f)
        target = cache / f.name
        write_if_changed(target, "\n".join(t for _, t in lines))
        fields = {k: list(as_values(entities.get(k, "").strip() or None)) for k in SROIE_KEYS}
        docs.append(
            GoldDoc(
                id=f.stem,
                path=target,
                fields=freeze_fields(fields),
                meta=MappingProxyType({"boxes": tuple(c for c, _ in lines), "source_file": str(f)}),
            )
        )
    return GoldSet("sroie", split, "sroie", builtin_schema("sroie"), tuple(docs), (f"OCR text written to {cache}",))
