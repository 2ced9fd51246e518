"""CUAD v1: clause strings per category from ``master_clauses.csv``, contracts from ``full_contract_txt/``.

Documents are the original ``.txt`` files (read in place). Each clause string is split on ``<omitted>`` into
verbatim fragments (the annotators' marker for elided text; the SQuAD release stores fragments as separate
answers); every fragment is then an exact substring of the contract. No offsets ship with the CSV, so
``GoldDoc.spans`` holds the first occurrence of each fragment in the decoded file text.
Every selected category is a question: an empty gold list means "clause absent" (predictions there are FPs).
"""

from __future__ import annotations

import ast
import csv
import random
import re
import sys
import unicodedata
from pathlib import Path
from types import MappingProxyType

from evidex.errors import MalformedError, UsageError
from evidex.eval.datasets.base import GoldDoc, GoldSet, GoldSpan, freeze_fields, require
from evidex.eval.datasets.schemas import builtin_schema
from evidex.model.schema import Schema

DEFAULT_CATEGORIES = tuple(f.name for f in builtin_schema("cuad").fields)


def category_field(name: str) -> str:
    """``"Non-Compete"`` → ``non_compete``; ``"Rofr/Rofo/Rofn"`` → ``rofr_rofo_rofn``."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _match_key(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", name.lower()) if c.isascii() and c.isalnum())


def _clauses(cell: str, where: str) -> list[str]:
    cell = cell.strip()
    if not cell:
        return []
    try:
        items = ast.literal_eval(cell)
    except (ValueError, SyntaxError):
        raise MalformedError(f"{where}: not a Python list literal", path=where) from None
    if not isinstance(items, list):
        raise MalformedError(f"{where}: expected a list", path=where)
    out: list[str] = []
    for it in items:
        out.extend(frag.strip() for frag in str(it).split("<omitted>") if frag.strip())
    return out


def load_cuad(
    root: Path | str,
    split: str = "all",
    limit: int | None = None,
    *,
    categories: tuple[str, ...] | str = DEFAULT_CATEGORIES,
    sample: int | None = None,
    seed: int = 0,
) -> GoldSet:
    """CUAD contracts with gold clauses for ``categories`` (field names, or ``"all"`` for the 41 categories).

    The developer copy has one split (357 of 510 contracts); ``split`` only names it.
    """
    base = Path(root)
    csv_path = require(base / "master_clauses.csv", "CUAD master_clauses.csv")
    txt_dir = require(base / "full_contract_txt", "CUAD full_contract_txt/")
    by_key = {_match_key(p.stem): p for p in txt_dir.glob("*.txt")}
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with csv_path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    cats = {category_field(h): i for i, h in enumerate(header) if i > 0 and not re.search(r"-\s*Answer$", h)}
    wanted = tuple(cats) if categories == "all" else tuple(categories)
    unknown = [c for c in wanted if c not in cats]
    if unknown:
        raise UsageError(f"unknown CUAD categories: {', '.join(unknown)}", hint=f"known: {', '.join(cats)}")
    if sample is not None and sample < len(body):
        body = [body[i] for i in sorted(random.Random(seed).sample(range(len(body)), sample))]
    if limit is not None:
        body = body[:limit]
    docs: list[GoldDoc] = []
    for r, row in enumerate(body, 2):
        filename = row[0]
        stem = re.sub(r"\.pdf\W*$", "", filename.strip(), flags=re.IGNORECASE)  # one name ends ".PDF'"
        path = by_key.get(_match_key(stem))
        if path is None:
            raise MalformedError(f"row {r}: no contract text for {filename!r}", path=str(txt_dir))
        text = path.read_text(encoding="utf-8")
        fields: dict[str, list[str]] = {}
        spans: list[GoldSpan] = []
        for c in wanted:
            frags = _clauses(row[cats[c]], f"{csv_path.name} row {r} column {header[cats[c]]!r}")
            fields[c] = frags
            for frag in frags:
                at = text.find(frag)
                if at >= 0:
                    spans.append(GoldSpan(c, at, at + len(frag), frag))
        docs.append(
            GoldDoc(
                id=path.stem,
                path=path,
                fields=freeze_fields(fields),
                spans=tuple(sorted(spans, key=lambda s: (s.start, s.end, s.label))),
                meta=MappingProxyType({"filename": filename}),
            )
        )
    schema = builtin_schema("cuad")
    if set(wanted) != {f.name for f in schema.fields}:
        schema = Schema.from_dict(
            {"name": "cuad", "fields": {c: {"type": "string", "many": True, "description": header[cats[c]]} for c in wanted}}
        )
    return GoldSet("cuad", split, "cuad", schema, tuple(docs))
