"""Gold → training examples for the student: parse each document, propose candidates, label them per field.

A candidate is labelled correct for a field when its text is the gold value as printed (whitespace aside): a gold
value that copies what the document prints ("RM5.00") is matched by the spans printing exactly that, not by
others with the same amount ("5.00"), so the student learns which form a user copies. Otherwise a candidate is
correct when its value equals a gold value *type-aware*: both sides are
normalised with :func:`evidex.ground.normalize.normalize_value` (dates to ISO, so "2 May 2024" equals a
2024-05-02 candidate; money and numbers by amount; durations to their canonical form) and strings compared
case- and whitespace-insensitively (``_`` read as a space: Kleister writes values that way). When no
candidate matches a gold value that strictly, a looser key (letters and digits only) is tried, so "Acme, Inc."
matches the gold "Acme_Inc.".

Gold values no candidate matches are counted and reported — split into those the grounder can still align
in the text (the proposer missed them, or the prior ranked them outside the scored pool) and those it cannot
(not in the text as parsed: OCR differences, inferred values) — never silently dropped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from evidex.extract.candidates import Candidate
from evidex.extract.proposers import CandidateProposer
from evidex.extract.student.features import FieldInfo, field_rows
from evidex.extract.student.scorer import doc_features
from evidex.ground.forms import FormCounts, apply_forms
from evidex.ground.keys import loose_key, value_key, value_keys
from evidex.ground.normalize import is_null
from evidex.ground.validate import make_extraction
from evidex.model import Document, Field, FieldType, Grounding, Schema
from evidex.parse import parse_file


class ProposerLike(Protocol):
    def propose(self, doc: Document) -> Sequence[Candidate]: ...


class GoldDocLike(Protocol):
    """A gold document (``evidex.eval.datasets.GoldDoc``; distill does not import eval, its sibling layer)."""

    @property
    def id(self) -> str: ...
    @property
    def fields(self) -> Any: ...  # {field name: (values, …)}


@dataclass
class Group:
    """The scored pool of one (document, field) and the label of each candidate."""

    doc_id: str
    field: str
    rows: list[list[tuple[int, float]]]
    labels: list[int]
    texts: list[str]
    n_gold: int
    many: bool


@dataclass
class LabelStats:
    gold_values: int = 0
    matched: int = 0  # some candidate in the scored pool matches
    matched_loose: int = 0  # …only by the loose key
    matched_as_printed: int = 0  # …by candidates printing exactly the gold's text (only those are positive)
    outside_pool: int = 0  # a candidate matches, but the prior ranks it outside the pool
    no_candidate_alignable: int = 0  # no candidate matches; the grounder aligns the value in the text
    no_candidate_unalignable: int = 0  # no candidate matches and the value is not in the text as parsed
    matched_by_form: int = 0  # …of those unmatched, matched once the gold's learnt forms are applied (see forms)
    docs: int = 0
    failed_docs: list[str] = field(default_factory=list)
    per_field: dict[str, dict[str, int]] = field(default_factory=dict)
    examples: list[dict[str, str]] = field(default_factory=list)  # a few unmatched gold values
    forms: dict[str, dict[str, str]] = field(default_factory=dict)  # learnt value forms (evidex.ground.forms)

    def add(self, fname: str, key: str, n: int = 1) -> None:
        setattr(self, key, getattr(self, key) + n)
        d = self.per_field.setdefault(fname, {})
        d[key] = d.get(key, 0) + n

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items()}


_CHOOSABLE = (FieldType.STRING, FieldType.DATE, FieldType.MONEY, FieldType.DECIMAL, FieldType.INTEGER,
              FieldType.DURATION)


def choosable_fields(schema: Schema) -> list[Field]:
    return [f for f in schema.fields if f.type in _CHOOSABLE]


def gold_values(gold: GoldDocLike, f: Field) -> list[str]:
    """The gold document's non-empty values of field ``f``, as text."""
    return [str(v) for v in gold.fields.get(f.name, ()) if not is_null(v) and str(v).strip()]


def match(f: Field, gold: str, candidates: Sequence[Candidate]) -> str:
    """``strict`` when a candidate equals ``gold`` type-aware, ``loose`` when only letters and digits agree, else
    ``none``."""
    gk, gl = value_keys(f, gold), loose_key(gold)
    if any(value_keys(f, c.text) & gk for c in candidates):
        return "strict"
    if gl and any(loose_key(c.text) == gl for c in candidates):
        return "loose"
    return "none"


def _surface(s: str) -> str:
    return " ".join(s.split())


def label_document(doc: Document, gold: GoldDocLike, fields: Sequence[Field], candidates: Sequence[Candidate],
                   pool_size: int, stats: LabelStats, infos: dict[str, FieldInfo], *,
                   forms: FormCounts | None = None,
                   misses: list[tuple[int, str]] | None = None) -> list[Group]:
    """One :class:`Group` per field. With ``forms``, text fields' (printed, gold) pairs are counted for learning
    value forms; ``misses`` collects ``(group index in the result, gold value)`` of the values no candidate
    matched, for :func:`build_examples` to relabel once the forms are known."""
    df = doc_features(doc, candidates)
    groups: list[Group] = []
    for f in fields:
        fi = infos.setdefault(f.name, FieldInfo.of(f))
        golds = gold_values(gold, f)
        ranked, rows = field_rows(df, fi, candidates, pool_size)
        surface = [_surface(c.text) for c, _ in ranked]
        strict = [value_keys(f, c.text) for c, _ in ranked]
        loose = [loose_key(c.text) for c, _ in ranked]
        labels = [0] * len(ranked)
        for g in golds:
            stats.add(f.name, "gold_values")
            gk, gl = value_keys(f, g), loose_key(g)
            # the gold copies some candidates' text as printed ("RM5.00", not the "5.00" beside it): only those
            hit = [i for i, k in enumerate(surface) if k == _surface(g)]
            if hit:
                stats.add(f.name, "matched_as_printed")
            hit = hit or [i for i, k in enumerate(strict) if k & gk]
            if not hit and gl:
                hit = [i for i, k in enumerate(loose) if k == gl]
                if hit:
                    stats.add(f.name, "matched_loose")
            if hit:
                stats.add(f.name, "matched")
                for i in hit:
                    labels[i] = 1
                    if forms is not None and f.type is FieldType.STRING:
                        forms.add(f.name, gold.id, ranked[i][0].text, g)
                continue
            if forms is not None and f.type is FieldType.STRING:
                # the first candidate missing the gold by one word ("II-VI Incorporated" for "Ii-Vi_Inc.")
                any(forms.add(f.name, gold.id, c.text, g, near=True) for c, _ in ranked)
            if misses is not None:
                misses.append((len(groups), g))
            if match(f, g, candidates) != "none":
                stats.add(f.name, "outside_pool")
                continue
            ex = make_extraction(f.name, f, g, doc.text, engine="gold")
            kind = "no_candidate_unalignable" if ex.grounding is Grounding.UNGROUNDED else "no_candidate_alignable"
            stats.add(f.name, kind)
            if len(stats.examples) < 30:
                stats.examples.append({"doc": gold.id, "field": f.name, "gold": g[:80], "why": kind})
        groups.append(Group(gold.id, f.name, rows, labels, [c.text for c, _ in ranked], len(golds), f.many))
    return groups


def build_examples(docs: Sequence[GoldDocLike], paths: Sequence[Any], schema: Schema, *, pool_size: int,
                   progress: Callable[[int, str], None] | None = None,
                   proposer: ProposerLike | None = None) -> tuple[list[Group], LabelStats]:
    """Parse every gold document (from its file in ``paths``: a gold set's ``paths()`` materialises text-only
    documents), propose candidates (the built-in ones unless ``proposer`` is given) and label them."""
    fields = choosable_fields(schema)
    proposer = proposer or CandidateProposer()
    stats = LabelStats()
    infos: dict[str, FieldInfo] = {}
    groups: list[Group] = []
    counts = FormCounts()
    misses: list[tuple[int, str]] = []
    for n, (g, path) in enumerate(zip(docs, paths, strict=True), 1):
        try:
            doc = parse_file(path)
        except Exception as e:  # a document that cannot be parsed is reported, not fatal
            stats.failed_docs.append(f"{g.id}: {type(e).__name__}: {e}"[:200])
            continue
        stats.docs += 1
        mine: list[tuple[int, str]] = []
        base = len(groups)
        groups.extend(label_document(doc, g, fields, list(proposer.propose(doc)), pool_size, stats, infos,
                                     forms=counts, misses=mine))
        misses.extend((base + i, v) for i, v in mine)
        if progress is not None:
            progress(n, g.id)
    stats.forms = counts.learn()
    _relabel_by_form(groups, misses, stats)
    return groups, stats


def _relabel_by_form(groups: list[Group], misses: Sequence[tuple[int, str]], stats: LabelStats) -> None:
    """A gold value no candidate matched is matched by the candidates its field's learnt forms turn into it."""
    for gi, value in misses:
        grp = groups[gi]
        fm = stats.forms.get(grp.field)
        if not fm:
            continue
        key = loose_key(value)
        hit = [i for i, t in enumerate(grp.texts) if key and loose_key(apply_forms(t, fm) or "") == key]
        if hit:
            stats.add(grp.field, "matched_by_form")
            for i in hit:
                grp.labels[i] = 1


__all__ = ["GoldDocLike", "Group", "LabelStats", "ProposerLike", "build_examples", "choosable_fields", "gold_values", "label_document", "loose_key", "match", "value_key", "value_keys"]
