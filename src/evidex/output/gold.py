"""Reviewers' corrections → gold JSONL that ``evidex eval`` and ``evidex train`` read directly.

A correction is one decision about one extracted value (or a missing one) of one document::

    {"doc_id": "…", "path": "total", "action": "accept" | "edit" | "absent",
     "value": "1,250.00 EUR", "start": 79, "end": 91, "by": "ann", "at": "2026-12-05T12:00:00+00:00"}

``accept`` keeps the extracted value with its evidence; ``edit`` sets the value (the text selected on the page or
in the text, with its span — or typed, without one); ``absent`` says the document does not contain the field.
The latest correction of a ``(doc_id, path)`` wins. :func:`gold_records` turns a results file's records plus the
corrections into the gold format of :mod:`evidex.eval.datasets.jsonl`: ``id`` (the document id), ``path`` (the
source file), ``fields`` (leaf paths without list indices → a value, a list of values, or ``null`` for "not in the
document"), plus ``evidence`` (field → ``[{start, end, text}]``) and the ``corrections`` themselves (who, when).
Only reviewed fields are written: an unreviewed prediction is not gold.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from typing import Any

from evidex.output.common import column_of, parse_path

__all__ = ["ACTIONS", "check_correction", "gold_records"]

ACTIONS = ("accept", "edit", "absent")
MAX_VALUE_CHARS = 10_000


def check_correction(c: Mapping[str, Any], record: Mapping[str, Any] | None) -> str | None:
    """Why ``c`` cannot be stored against the document ``record`` (``None`` when it is fine)."""
    if c.get("action") not in ACTIONS:
        return f"action must be one of {', '.join(ACTIONS)}"
    path = c.get("path")
    if not isinstance(path, str) or not path or len(path) > 500 or parse_path(path) is None:
        return "path must be a field path such as 'total' or 'line_items[0].amount'"
    if record is None:
        return "no such document"
    value = c.get("value")
    if c["action"] == "edit" and (not isinstance(value, str) or not value.strip() or len(value) > MAX_VALUE_CHARS):
        return f"an edit needs a non-empty string value (at most {MAX_VALUE_CHARS} characters)"
    start, end = c.get("start"), c.get("end")
    if (start is None) != (end is None):
        return "give both start and end, or neither"
    if start is not None:
        chars = (record.get("document") or {}).get("chars")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end) or (
                isinstance(chars, int) and end > chars):
            return "start/end must be character offsets into the document text (start < end)"
    if c["action"] == "accept" and not any(x.get("path") == path for x in record.get("extractions") or ()):
        return f"nothing extracted at {path!r} to accept"
    return None


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _latest(corrections: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    by_doc: dict[str, dict[str, dict[str, Any]]] = {}
    for c in corrections:
        by_doc.setdefault(str(c["doc_id"]), {})[str(c["path"])] = dict(c)
    return by_doc


def _evidence(x: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"start": ev["start"], "end": ev["end"], "text": ev.get("text", "")}
            for ev in x.get("evidence") or () if "start" in ev and "end" in ev]


def _accepted_value(x: Mapping[str, Any]) -> Any:
    raw = x.get("raw")
    if isinstance(raw, str) and raw.strip() and x.get("grounding") != "ungrounded":
        return raw
    v = x.get("value")
    if isinstance(v, Mapping) and set(v) == {"amount", "currency"}:
        return f"{v['amount']} {v['currency']}"
    return v


def gold_records(records: Iterable[Mapping[str, Any]], corrections: Iterable[Mapping[str, Any]],
                 *, texts: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Gold lines for the documents of ``records`` (JSONL results) that have corrections, in record order.

    ``texts`` (doc id → canonical text) lets an edit's evidence carry its text when the correction lacks it."""
    latest = _latest(corrections)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for rec in records:
        doc_id = str(rec.get("doc_id") or "")
        decided = latest.get(doc_id)
        if not decided or doc_id in seen:
            continue
        seen.add(doc_id)
        extracted = {str(x.get("path")): x for x in rec.get("extractions") or ()}
        fields: dict[str, list[Any]] = {}
        evidence: dict[str, list[dict[str, Any]]] = {}
        for path in sorted(decided, key=_order(list(extracted))):
            c = decided[path]
            col = column_of(path)
            vals = fields.setdefault(col, [])
            if c["action"] == "absent":
                continue
            if c["action"] == "accept" and path in extracted:
                vals.append(_accepted_value(extracted[path]))
                evidence.setdefault(col, []).extend(_evidence(extracted[path]))
            elif c["action"] == "edit":
                vals.append(c["value"])
                if c.get("start") is not None:
                    text = c.get("text")
                    if text is None and texts is not None and doc_id in texts:
                        text = texts[doc_id][c["start"]:c["end"]]
                    evidence.setdefault(col, []).append({"start": c["start"], "end": c["end"], "text": text or ""})
        line: dict[str, Any] = {
            "id": doc_id,
            "path": rec.get("source"),
            "fields": {k: (None if not v else v[0] if len(v) == 1 else v) for k, v in fields.items()},
            "evidence": evidence,
            "sha256": (rec.get("document") or {}).get("sha256"),
            "corrections": [decided[p] for p in sorted(decided)],
        }
        out.append(line)
    return out


def _order(paths: list[str]) -> Any:
    rank = {p: i for i, p in enumerate(paths)}
    return lambda p: (rank.get(p, len(rank)), p)
