"""Distillation: a teacher labels unlabelled documents, and a student trains on the labels it can trust.

``evidex.distill.distill(docs, schema, out_dir, teacher_backend="openai", teacher_options={…})`` is what
``evidex distill`` runs:

1. the **teacher** — any pipeline (by default ``generate`` mode over any registered backend: an
   OpenAI-compatible server with a big model, or a local GGUF through ``llamacpp``) — extracts every document;
2. only its **trustworthy labels** are kept: a value must be *grounded* (``exact`` or ``normalized`` by default:
   a fuzzy or inferred value is not where the student's candidates are), *validated* (it was read as the field's
   type) and at least ``min_confidence``; every other value is dropped and counted by reason;
3. a field whose teacher value was dropped is *unknown* for that document — its candidates are neither positives
   nor negatives (a dropped label is not evidence that the field is absent); a field the teacher left empty is
   absent (its candidates are negatives), like an empty gold field;
4. the labels become a gold set (the evidence text of each kept value, so the student's candidate that covers
   those words is the positive) and the student is trained on it exactly like ``evidex train``
   (:func:`evidex.distill.train`). The labels are also written as gold JSONL (``teacher_labels.jsonl``), which
   ``evidex train`` reads back, and the card records the teacher and the label counts.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidex.distill.data import choosable_fields
from evidex.distill.train import DEFAULT_POOL, TrainReport, train
from evidex.extract.options import ExtractOptions
from evidex.model import Document, Extraction, Grounding, Result, Schema
from evidex.pipeline import Pipeline, PipelineSpec

DEFAULT_MIN_CONFIDENCE = 0.5
DEFAULT_GROUNDINGS = (Grounding.EXACT, Grounding.NORMALIZED)
LABELS_FILE = "teacher_labels.jsonl"
LOG_FILE = "distill_log.json"


@dataclass(frozen=True)
class TeacherDoc:
    """One teacher-labelled document (a gold document for :func:`evidex.distill.train`)."""

    id: str
    path: Path
    fields: Mapping[str, tuple[str, ...]]
    unknown: frozenset[str] = frozenset()  # fields whose teacher answer was dropped: not used for training


@dataclass(frozen=True)
class TeacherGold:
    """The teacher's labels as a gold set (``GoldSetLike``)."""

    name: str
    split: str
    schema: Schema
    docs: Sequence[TeacherDoc]

    def paths(self) -> list[Path]:
        return [d.path for d in self.docs]


@dataclass
class LabelCounts:
    """What the teacher produced and what was kept, dropped (by reason) or failed."""

    docs: int = 0
    failed_docs: list[str] = field(default_factory=list)
    values: int = 0  # values the teacher gave for the student's fields
    kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)  # reason → count
    absent: int = 0  # (document, field) pairs the teacher left empty: negatives
    unknown: int = 0  # (document, field) pairs with only dropped values: not trained on
    per_field: dict[str, dict[str, int]] = field(default_factory=dict)
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    seconds: float = 0.0

    def count(self, fname: str, key: str) -> None:
        d = self.per_field.setdefault(fname, {})
        d[key] = d.get(key, 0) + 1

    def drop(self, fname: str, reason: str) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1
        self.count(fname, f"dropped:{reason}")

    def to_dict(self) -> dict[str, Any]:
        return {"docs": self.docs, "failed_docs": len(self.failed_docs), "values": self.values, "kept": self.kept,
                "dropped": dict(sorted(self.dropped.items())), "absent": self.absent, "unknown": self.unknown,
                "per_field": {k: dict(sorted(v.items())) for k, v in sorted(self.per_field.items())}}


@dataclass
class DistillReport:
    out_dir: Path
    labels: LabelCounts
    gold: TeacherGold
    train: TrainReport
    tagger: Any = None  # the span tagger's TaggerReport (None: no tagger was asked for)


def drop_reason(x: Extraction, *, min_confidence: float, groundings: Sequence[Grounding]) -> str | None:
    """Why a teacher value is not a training label (``None``: it is one)."""
    if x.grounding not in groundings:
        return f"grounding:{x.grounding.value}"
    if x.value is None:
        return "not_typed"
    if not x.evidence:
        return "no_evidence"
    if x.confidence < min_confidence:
        return "low_confidence"
    if any(n.startswith("the match is part of a longer word") for n in x.notes):
        return "inside_a_word"
    return None


def evidence_text(x: Extraction, text: str) -> str:
    """The words the value was grounded on (what a student's candidate covers)."""
    return " ".join(s.slice(text) for s in x.evidence).strip()


def label_result(res: Result, doc: Document, schema: Schema, counts: LabelCounts, *, doc_id: str, path: Path,
                 min_confidence: float, groundings: Sequence[Grounding]) -> TeacherDoc:
    """The labels of one teacher result (counted into ``counts``)."""
    names = {f.name for f in choosable_fields(schema)}
    kept: dict[str, list[str]] = {}
    dropped: set[str] = set()
    # what the engine already dropped: values not found in the text, values that failed validation
    gone = [(p, "grounding:ungrounded") for p in res.diagnostics.get("dropped_ungrounded", ())]
    gone += [(p, "invalid") for p in (res.diagnostics.get("dropped_fields") or {})]
    for fname, reason in gone:
        if fname in names:
            counts.values += 1
            counts.count(fname, "values")
            counts.drop(fname, reason)
            dropped.add(fname)
    for x in res.extractions:
        if x.path not in names:  # record rows, booleans, enums: not the student's fields
            continue
        counts.values += 1
        counts.count(x.path, "values")
        why = drop_reason(x, min_confidence=min_confidence, groundings=groundings)
        label = evidence_text(x, doc.text) if why is None else ""
        if why is None and not label:
            why = "no_evidence"
        if why is not None:
            counts.drop(x.path, why)
            dropped.add(x.path)
            continue
        vals = kept.setdefault(x.path, [])
        if label not in vals:
            vals.append(label)
        counts.kept += 1
        counts.count(x.path, "kept")
    unknown = frozenset(dropped - set(kept))
    counts.unknown += len(unknown)
    counts.absent += len(names - set(kept) - unknown)
    return TeacherDoc(doc_id, path, {k: tuple(v) for k, v in kept.items()}, unknown)


def _doc_ids(paths: Sequence[Path]) -> list[str]:
    ids: list[str] = []
    seen: set[str] = set()
    for p in paths:
        base = i = p.stem or p.name
        n = 1
        while i in seen:
            n += 1
            i = f"{base}~{n}"
        seen.add(i)
        ids.append(i)
    return ids


def teacher_spec(schema: Schema, backend: str | None, backend_options: Mapping[str, Any] | None = None,
                 options: ExtractOptions | Mapping[str, Any] | None = None, *, mode: str = "generate") -> PipelineSpec:
    """The teacher's pipeline: ``mode`` (default ``generate``: the model writes every field) over ``backend``."""
    opts = options if isinstance(options, ExtractOptions) else ExtractOptions(**{"mode": mode, **dict(options or {})})
    return PipelineSpec.create(schema, backend, backend_options, opts, max_backend_failures=None)


def label_documents(
    paths: Sequence[Path],
    teacher: Pipeline,
    schema: Schema,
    *,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    groundings: Sequence[Grounding] = DEFAULT_GROUNDINGS,
    progress: Callable[[int, str], None] | None = None,
) -> tuple[TeacherGold, LabelCounts]:
    """Run the teacher over ``paths`` and keep its trustworthy labels."""
    counts = LabelCounts()
    docs: list[TeacherDoc] = []
    ids = _doc_ids(paths)
    t0 = time.monotonic()
    for n, ((path, doc, res), doc_id) in enumerate(zip(teacher.stream(paths), ids, strict=True), 1):
        counts.calls += res.usage.calls
        counts.tokens_in += res.usage.tokens_in
        counts.tokens_out += res.usage.tokens_out
        if doc is None or not res.ok:
            code = (res.error or {}).get("code", "parse") if res.error else "parse"
            counts.failed_docs.append(f"{path}: {code}: {(res.error or {}).get('message', '')}"[:200])
        else:
            counts.docs += 1
            docs.append(label_result(res, doc, schema, counts, doc_id=doc_id, path=Path(path),
                                     min_confidence=min_confidence, groundings=groundings))
        if progress is not None:
            progress(n, doc_id)
    counts.seconds = round(time.monotonic() - t0, 3)
    return TeacherGold(schema.name or "teacher", "teacher", schema, docs), counts


def write_labels(gold: TeacherGold, path: Path) -> None:
    """The teacher's labels as gold JSONL (``evidex train FILE --schema S`` reads it)."""
    with path.open("w", encoding="utf-8") as fh:
        for d in gold.docs:
            fields: dict[str, Any] = {f.name: list(d.fields.get(f.name, ())) if f.many else
                                      (d.fields.get(f.name, (None,))[0])
                                      for f in choosable_fields(gold.schema) if f.name not in d.unknown}
            fh.write(json.dumps({"id": d.id, "path": os.path.abspath(d.path), "fields": fields}) + "\n")


def distill(
    docs: Iterable[str | os.PathLike[str]],
    schema: Schema,
    out_dir: str | os.PathLike[str],
    *,
    teacher: Pipeline | PipelineSpec | None = None,
    teacher_backend: str | None = "llamacpp",
    teacher_options: Mapping[str, Any] | None = None,
    teacher_mode: str = "generate",
    extract_options: ExtractOptions | Mapping[str, Any] | None = None,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    groundings: Sequence[Grounding | str] = DEFAULT_GROUNDINGS,
    kind: str = "lightgbm",
    seed: int = 0,
    pool_size: int = DEFAULT_POOL,
    rounds: int = 300,
    cache: str | os.PathLike[str] | None = None,
    progress: Callable[[str, int, str], None] | None = None,
    tagger: str | Sequence[str] = "off",
    tagger_iterations: int = 100,
) -> DistillReport:
    """Label ``docs`` with a teacher, keep its grounded, validated, confident labels and train a student on them.

    The teacher is ``teacher`` (an open pipeline, or a spec), else a ``teacher_mode`` pipeline over
    ``teacher_backend`` with ``teacher_options``; with ``cache`` (a directory), the teacher's parses and answers are
    reused from it (a rerun with other label filters or training options asks the teacher nothing). ``progress(phase, n, doc_id)`` is called per document of each
    phase (``label``, then ``train``).

    ``tagger`` (``"auto"``, ``"all"``, field names, or ``"off"``) also trains a CRF span tagger on the teacher's
    kept labels, as ``evidex train --tagger`` does on gold: values the teacher found that no candidate proposes
    (names and addresses over several lines) become candidates the student can learn to choose. Documents with
    a field whose label is unknown (the teacher's value was dropped) are not tagger examples: that field's
    text would be taught as "no value".
    """
    paths = [Path(p) for p in docs]
    if not paths:
        raise ValueError("distill needs documents for the teacher to label")
    allowed = tuple(Grounding(g) for g in groundings)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    own = not isinstance(teacher, Pipeline)
    spec = teacher if isinstance(teacher, PipelineSpec) else None
    if teacher is None:
        spec = teacher_spec(schema, teacher_backend, teacher_options, extract_options, mode=teacher_mode)
    store = None
    if cache is not None and not isinstance(teacher, Pipeline):
        from evidex.pipeline.cache import Cache

        store = Cache(cache)
    pipe = teacher if isinstance(teacher, Pipeline) else Pipeline.from_spec(spec, cache=store)  # type: ignore[arg-type]
    try:
        gold, counts = label_documents(paths, pipe, schema, min_confidence=min_confidence, groundings=allowed,
                                       progress=(lambda n, i: progress("label", n, i)) if progress else None)
        teacher_desc = {"mode": pipe.mode, "backend": pipe.spec.backend.name if pipe.spec.backend else None,
                        "model": _model_name(pipe.spec), "spec_hash": pipe.spec.hash()}
    finally:
        if own:
            pipe.close()
    write_labels(gold, out / LABELS_FILE)
    skip = [(d.id, f) for d in gold.docs for f in d.unknown]
    tag = _tagger(gold, out, tagger, seed, tagger_iterations)
    report = train(gold, out, kind=kind, seed=seed, pool_size=pool_size, rounds=rounds, skip_groups=skip,
                   source="teacher", progress=(lambda n, i: progress("train", n, i)) if progress else None,
                   proposer=tag.proposer if tag is not None else None)
    if tag is not None and tag.fields:
        from evidex.distill.tagger import write_card_entry

        write_card_entry(out, tag, schema, seed=seed, max_iter=tagger_iterations, folds=2,
                         docs=sum(1 for d in gold.docs if not d.unknown))
    card_path = out / "card.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card["training_data"]["teacher"] = {**teacher_desc, "min_confidence": min_confidence,
                                        "groundings": [g.value for g in allowed], "labels": counts.to_dict()}
    card_path.write_text(json.dumps(card, indent=2, sort_keys=True), encoding="utf-8")
    report.card = card
    log = {"teacher": teacher_desc, "labels": counts.to_dict(), "failed_docs": counts.failed_docs[:50],
           "usage": {"calls": counts.calls, "tokens_in": counts.tokens_in, "tokens_out": counts.tokens_out,
                     "seconds": counts.seconds}}
    (out / LOG_FILE).write_text(json.dumps(log, indent=1), encoding="utf-8")
    return DistillReport(out, counts, gold, report, tag)


def _tagger(gold: TeacherGold, out: Path, which: str | Sequence[str], seed: int, iterations: int) -> Any:
    """The span tagger trained on the teacher's labels into ``out`` (None when ``which`` is ``"off"``)."""
    from evidex.distill.tagger import TAGGER_MODEL, tagger_for_training

    if which == "off":
        (out / TAGGER_MODEL).unlink(missing_ok=True)
        return None
    partial = sorted(d.id for d in gold.docs if d.unknown)
    return tagger_for_training(gold, partial, out, which, seed=seed, max_iter=iterations)


def _model_name(spec: PipelineSpec) -> str | None:
    if spec.backend is None:
        return None
    o = dict(spec.backend.options)
    m = o.get("model") or o.get("model_path")
    return None if m is None else os.path.basename(str(m))


__all__ = ["DEFAULT_GROUNDINGS", "DEFAULT_MIN_CONFIDENCE", "DistillReport", "LabelCounts", "TeacherDoc",
           "TeacherGold", "distill", "drop_reason", "evidence_text", "label_documents", "label_result",
           "teacher_spec", "write_labels"]
