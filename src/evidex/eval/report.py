"""Score prediction records against a gold set: :func:`evaluate` → :class:`EvalReport`.

The report holds a per-field table (precision, recall, F1, support), an overall score, the metric's primary
number (e.g. Kleister ``F1(UC)``, CUAD ``aupr``, SWDE ``macro_f1``), the grounding rate, usage summaries
and the error cases behind the numbers. Render it with :meth:`EvalReport.to_rich` or :meth:`EvalReport.to_json`;
gate CI with :func:`check_fail_under`.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from evidex.errors import UsageError
from evidex.eval import metrics as M
from evidex.eval import typed as T
from evidex.eval.calibration import CalibrationStats, reliability
from evidex.eval.datasets.base import GoldDoc, GoldSet
from evidex.eval.predictions import PredDoc, entity_label, match_predictions
from evidex.eval.report_cases import (
    ErrorCase,
    ValueOutcome,
    field_errors,
    field_outcomes,
    span_errors,
    span_outcomes,
)

METRICS = ("auto", "field", "kleister", "sroie", "cuad", "wnut17", "swde", "spans", "anls")
_PRIMARY = {
    "field": "f1", "kleister": "F1(UC)", "sroie": "f1", "cuad": "aupr",
    "wnut17": "f1", "swde": "macro_f1", "spans": "f1", "anls": "anls",
}


@dataclass(frozen=True)
class UsageSummary:
    docs: int
    calls: int
    tokens_in: int
    tokens_out: int
    seconds_total: float
    seconds_mean: float
    seconds_p50: float
    seconds_p95: float

    @property
    def tokens_per_doc(self) -> float:
        return (self.tokens_in + self.tokens_out) / self.docs if self.docs else 0.0


def summarize_usage(usages: Iterable[Mapping[str, Any]]) -> UsageSummary | None:
    us = list(usages)
    if not us:
        return None
    secs = sorted(float(u.get("seconds", 0.0) or 0.0) for u in us)

    def pct(q: float) -> float:  # nearest-rank percentile
        return secs[min(len(secs) - 1, max(0, -(-int(q * len(secs) * 100) // 100) - 1))]

    return UsageSummary(
        docs=len(us),
        calls=sum(int(u.get("calls", 0) or 0) for u in us),
        tokens_in=sum(int(u.get("tokens_in", 0) or 0) for u in us),
        tokens_out=sum(int(u.get("tokens_out", 0) or 0) for u in us),
        seconds_total=sum(secs),
        seconds_mean=statistics.fmean(secs),
        seconds_p50=pct(0.5),
        seconds_p95=pct(0.95),
    )


@dataclass(frozen=True)
class EvalReport:
    dataset: str
    split: str
    metric: str
    primary_name: str
    primary: float
    overall: M.PRF
    per_field: Mapping[str, M.PRF]
    extra: Mapping[str, float]
    grounding: M.GroundingStats
    usage: UsageSummary | None
    n_gold: int
    n_predicted: int  # gold documents with a matching prediction record
    n_failed: int  # matched records that carry an error
    n_unmatched: int  # prediction records that match no gold document
    errors: tuple[ErrorCase, ...] = ()
    notes: tuple[str, ...] = field(default=())
    calibration: CalibrationStats | None = None  # emitted values that carry a confidence vs the metric's verdict

    def worst_errors(self, n: int = 10) -> list[ErrorCase]:
        """Confidently wrong values first (wrong/spurious by confidence), then missed gold values."""
        order = {"wrong": 0, "spurious": 0, "missed": 1}
        return sorted(self.errors, key=lambda e: (order[e.kind], -e.confidence, e.doc_id, e.field))[:n]

    def value(self, name: str) -> float:
        """A named number: ``primary``, ``precision``/``recall``/``f1``, ``grounding``, an ``extra`` key,
        or ``field:<name>`` (that field's F1)."""
        if name == "primary":
            return self.primary
        if name in ("precision", "recall", "f1"):
            return float(getattr(self.overall, name))
        if name in ("grounding", "grounding_rate"):
            return self.grounding.rate
        if name.startswith("field:") and name[6:] in self.per_field:
            return self.per_field[name[6:]].f1
        if name in self.extra:
            return self.extra[name]
        known = ["primary", "precision", "recall", "f1", "grounding", *self.extra, *(f"field:{k}" for k in self.per_field)]
        raise UsageError(f"unknown report value {name!r}", hint=f"use one of: {', '.join(known)}")

    # ------------------------------------------------------------------ rendering
    def to_dict(self, *, errors: int = 20) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "split": self.split,
            "metric": self.metric,
            "primary": {"name": self.primary_name, "value": self.primary},
            "overall": self.overall.to_dict(),
            "per_field": {k: v.to_dict() for k, v in self.per_field.items()},
            "extra": dict(self.extra),
            "grounding": {"rate": self.grounding.rate, "grounded": self.grounding.grounded, "total": self.grounding.total},
            "usage": None if self.usage is None else {**self.usage.__dict__, "tokens_per_doc": self.usage.tokens_per_doc},
            "documents": {
                "gold": self.n_gold,
                "predicted": self.n_predicted,
                "missing": self.n_gold - self.n_predicted,
                "failed": self.n_failed,
                "unmatched_predictions": self.n_unmatched,
            },
            "calibration": None if self.calibration is None else self.calibration.to_dict(),
            "worst_errors": [e.to_dict() for e in self.worst_errors(errors)],
            "notes": list(self.notes),
        }

    def to_json(self, *, errors: int = 20, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(errors=errors), indent=indent, ensure_ascii=False)

    def field_table(self) -> Table:
        t = Table(title=Text(f"{self.dataset} [{self.split}] — {self.metric}"), title_justify="left")
        for col in ("field", "precision", "recall", "F1", "support", "predicted"):
            t.add_column(col, justify="left" if col == "field" else "right")
        for name, s in self.per_field.items():
            t.add_row(Text(name), f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}", f"{s.support:g}", f"{s.predicted:g}")
        o = self.overall
        t.add_row(Text("overall (micro)", style="bold"), f"{o.precision:.3f}", f"{o.recall:.3f}", f"{o.f1:.3f}",
                  f"{o.support:g}", f"{o.predicted:g}", end_section=True)
        return t

    def errors_table(self, n: int = 10) -> Table:
        t = Table(title=f"worst {n} errors", title_justify="left")
        for col in ("doc", "field", "kind", "gold", "predicted", "conf", "evidence"):
            t.add_column(col, overflow="fold", max_width=40 if col in ("gold", "predicted", "evidence") else None)
        for e in self.worst_errors(n):
            cells = (e.doc_id, e.field, e.kind, e.gold or "", e.predicted or "",
                     f"{e.confidence:.2f}" if e.predicted else "", e.evidence)
            t.add_row(*(Text(c) for c in cells))
        return t

    def summary_text(self) -> Text:
        lines = [f"{self.primary_name} = {self.primary:.4f}"]
        lines += [f"{k} = {v:.4f}" for k, v in self.extra.items() if k != self.primary_name]
        lines.append(f"grounding rate = {self.grounding.rate:.3f} ({self.grounding.grounded}/{self.grounding.total})")
        if self.calibration is not None:
            lines.append(self.calibration.summary())
        lines.append(
            f"documents: {self.n_gold} gold, {self.n_predicted} predicted, {self.n_gold - self.n_predicted} missing, "
            f"{self.n_failed} failed, {self.n_unmatched} unmatched predictions"
        )
        if self.usage is not None:
            u = self.usage
            lines.append(
                f"usage: {u.calls} calls, {u.tokens_in} tokens in, {u.tokens_out} out ({u.tokens_per_doc:.0f}/doc), "
                f"{u.seconds_total:.1f} s total, p50 {u.seconds_p50:.2f} s, p95 {u.seconds_p95:.2f} s per doc"
            )
        lines += [f"note: {n}" for n in self.notes]
        return Text("\n".join(lines))

    def to_rich(self, *, errors: int = 10) -> Group:
        parts: list[Any] = [self.field_table(), self.summary_text()]
        if errors and self.errors:
            parts.append(self.errors_table(errors))
        return Group(*parts)


@dataclass(frozen=True)
class FailUnder:
    passed: bool
    name: str
    value: float
    threshold: float

    @property
    def message(self) -> str:
        verdict = "ok" if self.passed else "FAILED"
        return f"{verdict}: {self.name} = {self.value:.4f} (fail-under {self.threshold:.4f})"


def check_fail_under(report: EvalReport, threshold: float, metric: str = "primary") -> FailUnder:
    """``--fail-under`` helper: passes when ``report.value(metric) >= threshold`` (threshold in [0, 1])."""
    if not 0.0 <= threshold <= 1.0:
        raise UsageError(f"fail-under threshold {threshold} is outside [0, 1]", hint="scores are fractions: use e.g. 0.85")
    v = report.value(metric)
    return FailUnder(v >= threshold, report.primary_name if metric == "primary" else metric, v, threshold)


# ---------------------------------------------------------------------- evaluation
Pair = tuple[GoldDoc, PredDoc | None]


def _pvals(p: PredDoc | None) -> Mapping[str, list[Any]]:
    return p.values if p is not None and p.error is None else {}


def _entities(p: PredDoc | None) -> list[M.LabeledSpan]:
    if p is None or p.error is not None:
        return []
    out = []
    for e in p.entities:
        try:
            out.append(M.LabeledSpan(entity_label(e), int(e["start"]), int(e["end"])))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def _gold_keys(golds: Sequence[GoldDoc]) -> list[str]:
    return sorted({k for g in golds for k in g.fields})


def evaluate(
    predictions: Iterable[Mapping[str, Any]],
    gold: GoldSet,
    metric: str = "auto",
    *,
    include_ungrounded: bool = False,
    only_predicted: bool = False,
) -> EvalReport:
    """Score prediction records (evidex JSONL output) against ``gold``.

    ``metric="auto"`` uses the gold set's official metric. Gold documents without a prediction count as all
    misses (``only_predicted=True`` drops them instead, for runs on a subset); records carrying an ``error``
    count as empty predictions. Only fields present in the gold set are scored.
    """
    if metric not in METRICS:
        raise UsageError(f"unknown metric {metric!r}", hint=f"use one of: {', '.join(METRICS)}")
    m = gold.metric if metric == "auto" else metric
    matched, unmatched = match_predictions(gold.docs, predictions, include_ungrounded=include_ungrounded)
    golds = [g for g in gold.docs if not only_predicted or g.id in matched]
    pairs: list[Pair] = [(g, matched.get(g.id)) for g in golds]
    keys = _gold_keys(golds)
    extra: dict[str, float] = {}
    errors: list[ErrorCase] = []
    outcomes: list[ValueOutcome] = []
    norm: Callable[[Any], str] = M.normalize_value

    if m == "kleister":
        def toks(g: GoldDoc) -> list[str]:
            line = g.meta.get("expected")
            return M.parse_kleister_line(str(line)) if line is not None else M.kleister_tokens(g.fields)

        def ktoks(g: GoldDoc, p: PredDoc | None) -> list[str]:
            return M.kleister_tokens(_pvals(p), keys=g.meta.get("keys") or keys)

        uc = M.kleister_scores((toks(g), ktoks(g, p)) for g, p in pairs)
        tc = M.kleister_scores(((toks(g), ktoks(g, p)) for g, p in pairs), uppercase=False)
        overall, per = uc.micro, dict(uc.per_key)
        extra = {"F1(UC)": uc.micro.f1, "P(UC)": uc.micro.precision, "R(UC)": uc.micro.recall, "F1": tc.micro.f1}

        def norm(v: Any) -> str:
            return M.kleister_token("k", v)[2:].upper()

        def kmatch(gv: str, pv: str, k: str) -> bool:  # as the metric: the field's own token rules (party commas)
            return M.kleister_token(k, pv)[len(k) + 1:].upper() == gv.upper()

        errors = field_errors(pairs, keys, norm, gold_norm=lambda s: s.upper(), match=kmatch)
        outcomes = field_outcomes(pairs, keys, norm, gold_norm=lambda s: s.upper(), match=kmatch)
    elif m == "sroie":
        sc = M.sroie_scores((g.fields, _pvals(p)) for g, p in pairs)
        overall, per = sc.micro, dict(sc.per_key)

        def norm(v: Any) -> str:
            return M.normalize_ws(M.value_text(v))

        errors = field_errors(pairs, list(M.SROIE_KEYS), norm)
        outcomes = field_outcomes(pairs, list(M.SROIE_KEYS), norm)
    elif m == "cuad":
        gd = {(g.id, k): list(g.fields.get(k, ())) for g, _ in pairs for k in keys}
        pr = {(g.id, k): p.ranked(k) for g, p in pairs if p is not None and p.error is None for k in keys}
        cs = M.cuad_scores(gd, pr)
        overall = cs.at_all
        plain = {k2: [t for t, _ in v] for k2, v in pr.items()}
        per = {k: M.cuad_counts({x: v for x, v in gd.items() if x[1] == k}, plain) for k in keys}
        extra = {"aupr": cs.aupr, "precision_at_80_recall": cs.precision_at_80_recall,
                 "precision_at_90_recall": cs.precision_at_90_recall}

        def cmatch(gv: str, pv: str, k: str) -> bool:
            return M.cuad_match(gv, pv, substring_ok=k == "parties")

        errors = field_errors(pairs, keys, M.value_text, match=cmatch)
        outcomes = field_outcomes(pairs, keys, M.value_text, match=cmatch)
    elif m in ("wnut17", "spans"):
        gsp = [[M.LabeledSpan(s.label, s.start, s.end) for s in g.spans] for g, _ in pairs]
        psp = [_entities(p) for _, p in pairs]
        ex = M.span_prf(zip(gsp, psp, strict=True), mode="exact")
        ov = M.span_prf(zip(gsp, psp, strict=True), mode="overlap")
        overall, per = ex.micro, dict(ex.per_key)
        extra = {"f1": ex.micro.f1, "overlap_f1": ov.micro.f1}
        if m == "wnut17":
            def surf(p: PredDoc | None) -> list[tuple[str, str]]:
                if p is None or p.error is not None:
                    return []
                return [(entity_label(e), str(e.get("text", ""))) for e in p.entities]

            sf = M.surface_prf(([(s.label, s.text) for s in g.spans], surf(p)) for g, p in pairs)
            extra["surface_f1"] = sf.micro.f1
        errors = span_errors(pairs)
        outcomes = span_outcomes(pairs)
    elif m == "swde":
        def swn(s: str) -> str:
            return M.normalize_ws(s).strip(": ").strip()

        rows = [(k, list(g.fields.get(k, ())), [t for t, _ in p.ranked(k)] if p is not None and p.error is None else [])
                for g, p in pairs for k in keys]
        sw = M.swde_scores(rows, normalize=swn)
        overall, per = sw.micro, dict(sw.per_key)
        extra = {"macro_f1": sw.macro_f1}

        def norm(v: Any) -> str:
            return swn(M.value_text(v))

        errors = field_errors(pairs, keys, norm, first_only=True)
        outcomes = field_outcomes(pairs, keys, norm, first_only=True)
    elif m in ("field", "anls"):
        typed = T.typed_fields(gold.schema, keys)  # dates, amounts, numbers: compared by meaning, not by text
        fs = M.field_prf((T.retype(g.fields, _pvals(p), typed) for g, p in pairs), keys=keys)
        overall, per = fs.micro, dict(fs.per_key)
        extra = {"macro_f1": fs.macro_f1}
        items = [(M.value_text(_pvals(p).get(k, [""])[0]), list(g.fields.get(k, ())))
                 for g, p in pairs for k in keys if g.fields.get(k) or _pvals(p).get(k)]
        extra["anls"] = M.anls(items)
        def tmatch(gv: str, pv: str, k: str) -> bool:
            return T.gold_matches(typed[k], gv, pv) if k in typed else norm(gv) == norm(pv)

        errors = field_errors(pairs, keys, norm, match=tmatch if typed else None)
        outcomes = field_outcomes(pairs, keys, norm, match=tmatch if typed else None)
        if any(g.spans for g, _ in pairs):
            gsp = [[M.LabeledSpan(s.label, s.start, s.end) for s in g.spans] for g, _ in pairs]
            psp = [_entities(p) for _, p in pairs]
            extra["span_f1"] = M.span_prf(zip(gsp, psp, strict=True)).micro.f1
            extra["span_overlap_f1"] = M.span_prf(zip(gsp, psp, strict=True), mode="overlap").micro.f1
    else:  # pragma: no cover - guarded by METRICS
        raise UsageError(f"metric {m!r} not implemented")

    primary_name = _PRIMARY[m]
    primary = extra.get(primary_name, overall.f1)
    predicted = [p for _, p in pairs if p is not None]
    return EvalReport(
        dataset=gold.name,
        split=gold.split,
        metric=m,
        primary_name=primary_name,
        primary=primary,
        overall=overall,
        per_field=per,
        extra=extra,
        grounding=M.grounding_rate(e for p in predicted for e in p.extractions),
        usage=summarize_usage(p.usage for p in predicted if p.usage),
        n_gold=len(golds),
        n_predicted=len(predicted),
        n_failed=sum(1 for p in predicted if p.error is not None),
        n_unmatched=len(unmatched),
        errors=tuple(errors),
        notes=gold.notes,
        calibration=reliability((o.confidence, o.correct) for o in outcomes),
    )
