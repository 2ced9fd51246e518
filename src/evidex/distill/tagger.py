"""Train the span tagger (:mod:`evidex.extract.tagger`, a CRF) from gold, next to the student.

1. Every gold document is parsed once; its gold values are aligned to spans of the canonical text with the
   grounding machinery (:func:`evidex.ground.validate.make_extraction`: exact or normalized alignments only — a
   fuzzy one is not a reliable label), and the built-in candidates are checked against every gold value
   (strictly, type-aware, or loosely: :func:`evidex.ground.keys.value_keys` / ``loose_key``) — the *coverage*.
2. The fields to tag are those where at least 5 % of the gold values have no matching candidate *and* the
   cross-fitted taggers' spans (step 4) at least halve that share (``fields="auto"``: the tagger cannot help a
   field every value of which is already a candidate, and where it finds few of the missing values it mostly
   adds wrong candidates — measured on Kleister-NDA's party and term, docs/benchmarks.md "Span tagger"), or
   every choosable field (``"all"``), or the ones named.
3. Token sequences: windows of at most 256 tokens ending at line ends; every window holding a gold span is kept,
   windows without one are sampled (``neg_keep``, seeded). Labels are BIO per field.
4. **Cross-fitting**: the student must learn how far to trust tagger candidates on documents the tagger did not
   see, so the documents are split (seeded) into ``folds`` parts and each part's tagger candidates come from a
   tagger trained on the other parts; the tagger written to the model directory is then trained on all documents.

Deterministic: the same documents, fields and seed give the same model file (crfsuite's L-BFGS is deterministic;
the only randomness is the seeded negative-window sample and fold split). Nothing is pickled.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import random
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidex.distill.data import GoldDocLike, choosable_fields, gold_values, match
from evidex.extract.candidates import Candidate, build_candidates
from evidex.extract.tagger import (
    CARD,
    CARD_KEY,
    TAGGER_FEATURES,
    TAGGER_MODEL,
    SpanTagger,
    Token,
    add_spans,
    token_features,
    tokenize,
    windows,
)
from evidex.ground.validate import make_extraction
from evidex.model import Document, Field, Grounding, Schema
from evidex.parse import parse_file

MIN_MISS = 0.05  # fields="auto": tag a field when at least this share of its gold values has no candidate…
MIN_GAIN = 0.5  # …and the cross-fitted tagger's spans at least halve that share
OUTCOMES = ("strict", "loose", "none")


@dataclass
class Prepared:
    """One parsed gold document: its tokens, gold spans per field and BIO labels."""

    id: str
    doc: Document
    toks: list[Token]
    gold_spans: dict[str, list[tuple[int, int]]]
    golds: dict[str, list[str]]

    def labels(self, fields: Sequence[str]) -> list[str]:
        starts = [t.start for t in self.toks]
        out = ["O"] * len(self.toks)
        for f in fields:
            for s, e in self.gold_spans.get(f, ()):
                i = bisect.bisect_left(starts, s)
                j = i
                while j < len(self.toks) and self.toks[j].end <= e:
                    j += 1
                if i == j or any(out[k] != "O" for k in range(i, j)):
                    continue  # no whole token inside, or overlaps another gold span (the first one wins)
                out[i] = f"B-{f}"
                for k in range(i + 1, j):
                    out[k] = f"I-{f}"
        return out


@dataclass
class Coverage:
    """Per field: gold values, and how many a candidate matches strictly, only loosely, or not at all; and how
    many the grounder aligns to a span (what the tagger can learn from)."""

    per_field: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, f: str, key: str) -> None:
        d = self.per_field.setdefault(f, {"gold": 0, "strict": 0, "loose": 0, "none": 0, "aligned": 0})
        d[key] += 1

    def miss_share(self, f: str) -> float:
        d = self.per_field.get(f)
        return d["none"] / d["gold"] if d and d["gold"] else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {f: {**d, "miss_share": round(self.miss_share(f), 4)} for f, d in sorted(self.per_field.items())}


_EDGE_PUNCT = re.compile(r"^([^\w\s]*).*?([^\w\s]*)$", re.S)


def align(doc: Document, f: Field, gold: str) -> tuple[int, int] | None:
    """The span of ``doc.text`` the grounder aligns ``gold`` to (exact or normalized), first to last evidence,
    widened over the punctuation the gold has at its edges when the text prints it there: the grounder aligns
    "…DARUL EHSAN." to "…DARUL EHSAN", and a tagger trained on that span never learns the closing period."""
    ex = make_extraction(f.name, f, gold, doc.text, engine="gold")
    if ex.grounding not in (Grounding.EXACT, Grounding.NORMALIZED) or not ex.evidence:
        return None
    start, end = min(s.start for s in ex.evidence), max(s.end for s in ex.evidence)
    m = _EDGE_PUNCT.match(gold.strip())
    head, tail = (m.group(1), m.group(2)) if m else ("", "")
    text = doc.text
    if tail and not text[start:end].endswith(tail) and text[end : end + len(tail)] == tail:
        end += len(tail)
    if head and not text[start:end].startswith(head) and text[max(0, start - len(head)) : start] == head:
        start -= len(head)
    return start, end


def golds_of(g: GoldDocLike, fields: Sequence[Field]) -> dict[str, list[str]]:
    return {f.name: gold_values(g, f) for f in fields}


def prepare(docs: Sequence[GoldDocLike], paths: Sequence[Any], schema: Schema, coverage: Coverage,
            candidates: Callable[[Document], Sequence[Candidate]] | None = None,
            progress: Callable[[int, str], None] | None = None) -> list[Prepared]:
    """Parse, tokenize and align every gold document; count the candidates' coverage of its gold values."""
    fields = choosable_fields(schema)
    propose = candidates or (lambda d: build_candidates(d).items)
    out = []
    for n, (g, path) in enumerate(zip(docs, paths, strict=True), 1):
        try:
            doc = parse_file(path)
        except Exception:  # counted by the student's own pass over the same documents
            continue
        cands = list(propose(doc))
        golds = golds_of(g, fields)
        spans: dict[str, list[tuple[int, int]]] = {}
        for f in fields:
            for v in golds[f.name]:
                coverage.add(f.name, "gold")
                coverage.add(f.name, match(f, v, cands))
                sp = align(doc, f, v)
                if sp is not None:
                    coverage.add(f.name, "aligned")
                    spans.setdefault(f.name, []).append(sp)
        out.append(Prepared(g.id, doc, tokenize(doc), spans, golds))
        if progress is not None:
            progress(n, g.id)
    return out


def coverage_of(prepared: Sequence[Prepared], schema: Schema,
                candidates: Callable[[Prepared], Sequence[Candidate]]) -> Coverage:
    """Coverage of the gold values by ``candidates(p)`` (e.g. built-in candidates plus a tagger's)."""
    cov = Coverage()
    for p in prepared:
        cands = list(candidates(p))
        for f in choosable_fields(schema):
            for v in p.golds.get(f.name, ()):
                cov.add(f.name, "gold")
                cov.add(f.name, match(f, v, cands))
    return cov


def choose_fields(schema: Schema, coverage: Coverage, which: str | Sequence[str], min_miss: float = MIN_MISS
                  ) -> list[str]:
    names = [f.name for f in choosable_fields(schema)]
    if which == "all":
        return names
    if which == "auto":
        return [f for f in names if coverage.miss_share(f) >= min_miss]
    unknown = [f for f in which if f not in names]
    if unknown:
        raise ValueError(f"--tagger-field: {', '.join(unknown)} not a choosable field of the schema ({names})")
    return [f for f in names if f in which]


def _trainer(progress: Callable[[int, int], None] | None, max_iter: int) -> Any:
    """A crfsuite trainer reporting each L-BFGS iteration to ``progress`` (crfsuite only parses its log when
    verbose, so verbose it is, with every log handler silenced)."""
    import pycrfsuite  # type: ignore[import-untyped]

    class _Trainer(pycrfsuite.Trainer):  # type: ignore[misc]
        def on_iteration(self, log: str, info: dict[str, Any]) -> None:
            if progress is not None:
                progress(int(info.get("num", 0)), max_iter)

        def on_start(self, log: str) -> None: ...
        def on_featgen_progress(self, log: str, percent: float) -> None: ...
        def on_featgen_end(self, log: str) -> None: ...
        def on_prepared(self, log: str) -> None: ...
        def on_prepare_error(self, log: str) -> None: ...
        def on_optimization_end(self, log: str) -> None: ...
        def on_end(self, log: str) -> None: ...

    return _Trainer(verbose=progress is not None)


def fit(prepared: Sequence[Prepared], fields: Sequence[str], model_file: Path, *, seed: int = 0,
        max_iter: int = 100, c1: float = 0.05, c2: float = 0.01, neg_keep: float = 0.2,
        progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Train one CRF on ``prepared`` for ``fields`` and write crfsuite's model file; returns counts."""
    rnd = random.Random(seed)
    tr = _trainer(progress, max_iter)
    kept = tokens = positives = 0
    for p in prepared:
        labels = p.labels(fields)
        feats: list[list[str]] | None = None
        for i, j in windows(p.toks):
            pos = any(lab != "O" for lab in labels[i:j])
            if not pos and rnd.random() >= neg_keep:
                continue
            feats = feats if feats is not None else token_features(p.doc, p.toks)
            tr.append(feats[i:j], labels[i:j])
            kept += 1
            tokens += j - i
            positives += sum(lab.startswith("B-") for lab in labels[i:j])
    if not positives:
        raise ValueError(f"no gold span of {', '.join(fields)} aligned in the training documents")
    tr.set_params({"c1": c1, "c2": c2, "max_iterations": max_iter, "feature.possible_transitions": True})
    tr.train(str(model_file))
    return {"windows": kept, "tokens": tokens, "spans": positives}


def _key(doc: Document) -> str:
    return hashlib.sha256(doc.text.encode()).hexdigest()


class CrossFitProposer:
    """The built-in candidates plus, for each training document, the spans of the fold tagger that did not see it
    (documents are recognised by their canonical text)."""

    name = "tagger-crossfit"
    version = "1"

    def __init__(self, taggers: dict[str, SpanTagger], keep: Any = None) -> None:
        self.taggers = taggers
        self._keep = keep  # the temporary directory of the fold models

    def propose(self, doc: Document) -> Sequence[Candidate]:
        base = build_candidates(doc).items
        t = self.taggers.get(_key(doc))
        if t is None:
            return base
        spans, marginals = t.tag_with_marginals(doc)
        return add_spans(doc, base, spans, t.fields, marginals)


@dataclass
class TaggerReport:
    fields: list[str]
    coverage_before: Coverage
    coverage_after: Coverage | None = None
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    proposer: CrossFitProposer | None = None
    dropped: dict[str, float] = field(default_factory=dict)  # field → its miss share with cross-fitted spans


def _cross_fit(prepared: Sequence[Prepared], schema: Schema, fields: Sequence[str], *, seed: int, folds: int,
               max_iter: int, phase: Callable[[str], Callable[[int, int], None] | None]
               ) -> tuple[CrossFitProposer | None, Coverage | None]:
    """Fold taggers, each trained without the documents it tags, and the coverage their spans give."""
    types = {f.name: f.type.value for f in schema.fields if f.name in fields}
    ids = sorted(p.id for p in prepared)
    random.Random(seed).shuffle(ids)
    fold_of = {d: i % folds for i, d in enumerate(ids)}
    if len(ids) < 2 * folds:
        return None, None
    taggers: dict[str, SpanTagger] = {}
    tmp = tempfile.TemporaryDirectory(prefix="evidex-tagger-")  # the fold models live as long as the proposer
    for k in range(folds):
        path = Path(tmp.name) / f"fold{k}.crfsuite"
        fit([p for p in prepared if fold_of[p.id] != k], fields, path, seed=seed, max_iter=max_iter,
            progress=phase(f"tagger fold {k + 1}/{folds}"))
        t = SpanTagger(path, types)
        for p in prepared:
            if fold_of[p.id] == k:
                taggers[_key(p.doc)] = t
    cross = CrossFitProposer(taggers, tmp)
    return cross, coverage_of(prepared, schema, lambda p: cross.propose(p.doc))


def train_tagger(prepared: Sequence[Prepared], schema: Schema, fields: Sequence[str], out_dir: Path,
                 coverage_before: Coverage, *, seed: int = 0, folds: int = 2, max_iter: int = 100,
                 min_gain: float | None = None,
                 progress: Callable[[str, int, int], None] | None = None) -> TaggerReport:
    """Cross-fitted fold taggers (for the student's training candidates) and the final tagger on all documents
    (written to ``out_dir/tagger.crfsuite``). With ``min_gain``, a field is kept only when the fold taggers'
    spans cut its share of gold values without a candidate by at least that fraction (else the tagger only adds
    wrong candidates there); the others are reported in ``dropped``."""
    import time

    t0 = time.monotonic()

    def phase(name: str) -> Callable[[int, int], None] | None:
        return None if progress is None else (lambda i, n: progress(name, i, n))

    cross, after = _cross_fit(prepared, schema, fields, seed=seed, folds=folds, max_iter=max_iter, phase=phase)
    dropped: dict[str, float] = {}
    if min_gain is not None and after is not None:
        for f in fields:
            b, a = coverage_before.miss_share(f), after.miss_share(f)
            if b <= 0 or (b - a) / b < min_gain:
                dropped[f] = round(a, 4)
        if dropped:
            fields = [f for f in fields if f not in dropped]
            if not fields:
                (out_dir / TAGGER_MODEL).unlink(missing_ok=True)
                return TaggerReport([], coverage_before, after, {}, time.monotonic() - t0, None, dropped)
            cross, after = _cross_fit(prepared, schema, fields, seed=seed, folds=folds, max_iter=max_iter,
                                      phase=phase)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = fit(prepared, fields, out_dir / TAGGER_MODEL, seed=seed, max_iter=max_iter,
                 progress=phase("tagger (all documents)"))
    return TaggerReport(list(fields), coverage_before, after, counts, time.monotonic() - t0, cross, dropped)


def write_card_entry(out_dir: Path, report: TaggerReport, schema: Schema, *, seed: int, max_iter: int,
                     folds: int, docs: int) -> dict[str, Any]:
    """Add the tagger's entry to the student's ``card.json`` (after the student wrote it)."""
    card_path = out_dir / CARD
    card = json.loads(card_path.read_text(encoding="utf-8"))
    entry = {
        "format": 1, "model": TAGGER_MODEL, "kind": "crf (python-crfsuite, L-BFGS)",
        "feature_set": TAGGER_FEATURES, "fields": {f.name: f.type.value for f in schema.fields
                                                   if f.name in report.fields},
        "seed": seed, "max_iterations": max_iter, "cross_fit_folds": folds, "min_prob": 0.0,
        "training_data": {"docs": docs, **report.counts},
        "coverage_before": report.coverage_before.to_dict(),
        "coverage_after_cross_fitted": report.coverage_after.to_dict() if report.coverage_after else None,
    }
    card[CARD_KEY] = entry
    card_path.write_text(json.dumps(card, indent=2, sort_keys=True), encoding="utf-8")
    return entry


def tagger_for_training(gold: Any, exclude: Sequence[str], out_dir: Path, which: str | Sequence[str], *,
                        seed: int = 0, max_iter: int = 100, folds: int = 2,
                        progress: Callable[[str, int, int], None] | None = None) -> TaggerReport:
    """Measure the candidates' coverage of ``gold`` (a ``GoldSetLike``, minus ``exclude``), choose the fields to
    tag and train the tagger (cross-fitted fold taggers and the final one in ``out_dir``). With no field to tag,
    the report has no fields and a tagger file left in ``out_dir`` by an earlier training is removed."""
    skip = set(exclude)
    keep = [i for i, d in enumerate(gold.docs) if d.id not in skip]
    paths = gold.paths()
    before = Coverage()
    prepared = prepare([gold.docs[i] for i in keep], [paths[i] for i in keep], gold.schema, before,
                       progress=None if progress is None else (lambda n, _id: progress("tagger reads gold", n,
                                                                                       len(keep))))
    fields = choose_fields(gold.schema, before, which)
    if not fields:
        (out_dir / TAGGER_MODEL).unlink(missing_ok=True)
        return TaggerReport([], before)
    return train_tagger(prepared, gold.schema, fields, out_dir, before, seed=seed, folds=folds, max_iter=max_iter,
                        min_gain=MIN_GAIN if which == "auto" else None, progress=progress)


__all__ = ["MIN_GAIN", "MIN_MISS", "TAGGER_MODEL", "Coverage", "CrossFitProposer", "Prepared", "TaggerReport", "align", "choose_fields",
           "coverage_of", "fit", "match", "prepare", "tagger_for_training", "train_tagger", "write_card_entry"]
