"""Would the dataset's metric count a candidate right? — the calibration target of ``evidex train``.

A student's confidence should be the probability that the value it emits is counted correct by the metric
the user measures with (``evidex bench``/``eval``), not that it matches a gold value by the looser rule the
training labels use (letters and digits only, amounts by value: "KUALA LUMPUR," gets the label of the gold
"KUALA LUMPUR." and "8.20" that of "RM8.20", but SROIE's exact-match metric counts both wrong).
:func:`metric_judge` emulates the value the pipeline would emit for a candidate's text (typed by the field,
printed as printed for ``as_printed`` fields) and compares it with the document's gold values as
:func:`evidex.eval.report.evaluate` does for the gold set's metric.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evidex.eval import metrics as M
from evidex.eval import typed as T
from evidex.eval.datasets.base import GoldSet
from evidex.ground.normalize import normalize_value, printed_value
from evidex.model import Field

Judge = Callable[[str, str, str], bool]  # (document id, field, candidate text) -> counted correct


def emitted_text(f: Field | None, text: str) -> str:
    """The text of the value emitted for a candidate ``text`` of field ``f`` (its typed form; as printed for an
    ``as_printed`` field); the text itself when it cannot be typed."""
    if f is None:
        return text
    v, _ = normalize_value(f, text)
    if v is None:
        return text
    return M.value_text(printed_value(f, text, v))


def _same(metric: str, typed: dict[str, Field]) -> Callable[[str, str, str], bool]:
    """(field, gold text, predicted text) -> equal under ``metric`` (as :func:`evaluate` pairs values)."""
    if metric == "kleister":
        return lambda k, g, p: M.kleister_token(k, p)[len(k) + 1:].upper() == g.upper()
    if metric == "sroie":
        return lambda k, g, p: M.normalize_ws(g) == M.normalize_ws(p)
    if metric == "cuad":
        return lambda k, g, p: M.cuad_match(g, p, substring_ok=k == "parties")
    if metric == "swde":
        def swn(s: str) -> str:
            return M.normalize_ws(s).strip(": ").strip()

        return lambda k, g, p: swn(g) == swn(p)

    def field_same(k: str, g: str, p: str) -> bool:
        return T.gold_matches(typed[k], g, p) if k in typed else M.normalize_value(g) == M.normalize_value(p)

    return field_same


def metric_judge(gold: GoldSet, metric: str = "auto") -> Judge:
    """``judge(doc_id, field, text)``: is the value emitted for the candidate ``text`` one of that document's
    gold values of ``field`` under the gold set's metric (``metric="auto"``) or the named one?"""
    m = gold.metric if metric == "auto" else metric
    docs = {d.id: d for d in gold.docs}
    fields = {f.name: f for f in gold.schema.fields}
    keys = sorted({k for d in gold.docs for k in d.fields})
    same = _same(m, T.typed_fields(gold.schema, keys) if m in ("field", "anls") else {})
    cache: dict[tuple[str, str], str] = {}

    def judge(doc_id: str, field: str, text: str) -> bool:
        d = docs.get(doc_id)
        if d is None:
            return False
        key = (field, text)
        if key not in cache:
            cache[key] = emitted_text(fields.get(field), text)
        p = cache[key]
        golds: Any = d.fields.get(field, ())
        return any(same(field, M.value_text(g), p) for g in golds if M.value_text(g).strip())

    return judge


__all__ = ["Judge", "emitted_text", "metric_judge"]
