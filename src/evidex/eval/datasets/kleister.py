"""Kleister-NDA (and the same TSV layout used by Kleister-Charity).

Each line of ``<split>/in.tsv.xz`` is one document: ``filename, keys, text_djvu, text_tesseract,
text_textract, text_best`` with ``\\n \\f \\t \\\\`` escapes; line *i* of ``expected.tsv`` holds its labels as
space-separated ``key=value`` tokens (spaces and colons in values already replaced by ``_``). The PDFs are not
in the developer copy, so the chosen text layer is unescaped and written to the dataset cache as ``<md5>.txt``.
Gold values are kept in the ``expected.tsv`` form (``New_York``): the Kleister metric compares tokens.
"""

from __future__ import annotations

import lzma
import re
from pathlib import Path
from types import MappingProxyType

from evidex.errors import MalformedError, UsageError
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

LAYERS = ("text_djvu", "text_tesseract", "text_textract", "text_best")
_ESC = re.compile(r"\\(.)", re.DOTALL)
_UNESCAPE = {"n": "\n", "f": "\f", "t": "\t", "\\": "\\"}


def unescape(s: str) -> str:
    """Undo the Kleister TSV escapes (``\\n``, ``\\f``, ``\\t``, ``\\\\``); other backslashes are kept."""
    return _ESC.sub(lambda m: _UNESCAPE.get(m.group(1), m.group(0)), s)


def parse_expected(line: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for tok in line.split():
        key, sep, value = tok.partition("=")
        if sep and value:
            out.setdefault(key, []).append(value)
    return out


def _read_inputs(path: Path) -> list[str]:
    opener = lzma.open if path.suffix == ".xz" else open
    with opener(path, "rt", encoding="utf-8", newline="\n") as f:
        return [line.rstrip("\n") for line in f]


def load_kleister(
    root: Path | str,
    split: str = "dev-0",
    limit: int | None = None,
    *,
    name: str = "kleister-nda",
    layer: str = "text_best",
    cache_dir: Path | None = None,
) -> GoldSet:
    if layer not in LAYERS:
        raise UsageError(f"unknown Kleister text layer {layer!r}", hint=f"use one of: {', '.join(LAYERS)}")
    base = require(Path(root) / split, f"{name} split {split!r}")
    inp = base / "in.tsv.xz" if (base / "in.tsv.xz").exists() else base / "in.tsv"
    require(inp, f"{name} {split} inputs")
    lines = _read_inputs(inp)
    expected_path = base / "expected.tsv"
    expected = expected_path.read_text(encoding="utf-8").split("\n") if expected_path.exists() else []
    if expected and expected[-1] == "":
        expected.pop()
    if expected and len(expected) != len(lines):
        raise MalformedError(f"{len(lines)} input lines but {len(expected)} expected lines", path=str(expected_path))
    cache = dataset_cache(name, split, cache_dir)
    col = 2 + LAYERS.index(layer)
    docs: list[GoldDoc] = []
    for i, line in enumerate(lines[:limit] if limit is not None else lines):
        cols = line.split("\t")
        if len(cols) != 6:
            raise MalformedError(f"line {i + 1}: expected 6 TAB-separated columns, got {len(cols)}", path=str(inp))
        filename, keys = cols[0], cols[1].split()
        stem = filename.rsplit(".", 1)[0]
        target = cache / f"{stem}.txt"
        write_if_changed(target, unescape(cols[col]))
        gold_line = expected[i] if expected else ""
        fields: dict[str, list[str]] = {k: [] for k in keys} | parse_expected(gold_line)
        docs.append(
            GoldDoc(
                id=stem,
                path=target,
                fields=freeze_fields(fields),
                meta=MappingProxyType({"filename": filename, "keys": tuple(keys), "expected": gold_line, "layer": layer}),
            )
        )
    return GoldSet(
        name=name,
        split=split,
        metric="kleister",
        schema=builtin_schema("kleister-nda") if name == "kleister-nda" else _charity_schema(),
        docs=tuple(docs),
        notes=(f"text layer {layer} written to {cache}",),
    )


def load_kleister_nda(
    root: Path | str, split: str = "dev-0", limit: int | None = None, *, layer: str = "text_best", cache_dir: Path | None = None
) -> GoldSet:
    """Kleister-NDA ``train`` or ``dev-0`` (``test-A`` is held out)."""
    return load_kleister(root, split, limit, name="kleister-nda", layer=layer, cache_dir=cache_dir)


def _charity_schema() -> Schema:
    return Schema.from_dict(
        {
            "name": "kleister-charity",
            "fields": {
                "address__post_town": "string",
                "address__postcode": "string",
                "address__street_line": "string",
                "charity_name": "string",
                "charity_number": "string",
                "income_annually_in_british_pounds": {"type": "string", "description": "e.g. 255653.00"},
                "report_date": "date",
                "spending_annually_in_british_pounds": {"type": "string", "description": "e.g. 255653.00"},
            },
        }
    )
