"""The registered scorer ``student``: ranks each field's candidates by a trained model's calibrated probability.

``--scorer student --stage-option scorer.model=MODEL_DIR`` (or ``--student MODEL_DIR``); ``model="default"`` (or
empty) is the generic student packaged with evidex (``evidex/extract/student/default``: trained by
``bench/train_default_student.py`` on several datasets' schemas, so it scores fields it never saw). Per field, the
candidates the prior finds type-compatible are scored; the best is chosen unless its calibrated probability
is under the threshold learned on held-out data (then the field is left empty; a card with the prior's empty rule
leaves it empty when the prior would); list fields also take every other candidate above the threshold, or follow
the card's extras rule (:func:`~evidex.extract.student.model.list_extras`). The choice's score *is* the calibrated probability that the value is
correct. Needs no backend: it runs in ``rules`` mode and in ``choice`` mode.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from evidex.errors import ConfigError
from evidex.extract.candidates import BARE, Candidate
from evidex.extract.choice import Choice
from evidex.extract.stages import DocContext
from evidex.extract.student.features import DocFeatures, FieldInfo, field_rows
from evidex.extract.student.model import StudentModel, load_student
from evidex.extract.student.names import DEFAULT_MODEL, DEFAULT_NAME, resolve_student, student_hint
from evidex.ground.forms import apply_forms
from evidex.model import Document, Field, FieldType
from evidex.registry import Options

OPTIONS_SHOWN = 8  # ranked options kept on a Choice (diagnostics)


class StudentOptions(Options):
    model: str = ""  # a model directory written by `evidex train`, or a registered student name ("" = default)


def model_dir(model: str) -> Path:
    """The directory of ``model``: a registered student's name (``""``/``"default"``: the packaged generic
    student) or a path (:func:`~evidex.extract.student.names.resolve_student`)."""
    return resolve_student(model)


@functools.lru_cache(maxsize=1)
def default_student() -> StudentModel:
    """The packaged student, loaded once per process and scored by the pure-Python tree reader: the default
    engine imports no LightGBM (seconds of import time, an optional dependency) and gives the same scores."""
    return load_student(DEFAULT_MODEL, pure_python=True)


def score_fields(model: StudentModel, doc: Document, fields: Sequence[Field],
                 candidates: Sequence[Candidate], infos: dict[str, FieldInfo] | None = None) -> list[Choice]:
    """One :class:`Choice` per field from the student's calibrated probabilities."""
    infos = infos if infos is not None else {}
    bare: dict[str, Candidate] = {}
    if not knows_printed_forms(model.card):  # trained before amounts had bare variants: the candidates it knows,
        bare = {c.extra[BARE]: c for c in candidates if BARE in c.extra}  # and the bare amount out, as then
        candidates = [c for c in candidates if BARE not in c.extra]
    df = doc_features(doc, candidates, model.encoder, model.relational, model.contextual)
    plans = []
    rows: list[list[tuple[int, float]]] = []
    for f in fields:
        fi = infos.get(f.name)
        if fi is None or fi.field != f:
            fi = infos[f.name] = FieldInfo.of(f)
        ranked, frows = field_rows(df, fi, candidates, model.pool_size)
        plans.append((f, ranked, len(rows), len(frows)))
        rows.extend(frows)
    probs = model.probabilities(rows)
    forms = model.forms
    out: list[Choice] = []
    for f, ranked, start, n in plans:
        if not n:
            out.append(Choice(f, None, 0.0, None, 0.0, ()))
            continue
        scored = [(ranked[i][0], probs[start + i][1], probs[start + i][0], ranked[i][1]) for i in range(n)]
        # calibrated probability first; the raw score breaks ties (isotonic maps are flat in places)
        order = sorted(range(n), key=lambda i: (-scored[i][1], -scored[i][2], scored[i][0].span.start))
        options = tuple((scored[i][0], scored[i][1]) for i in order[:OPTIONS_SHOWN])
        best = scored[order[0]]
        if not model.answers(f.name, best[1], ranked[0][1]):
            out.append(Choice(f, None, best[1], best[2], best[3], options))
            continue
        extra: tuple[tuple[Candidate, float], ...] = ()
        if f.many:
            take = model.extras(f.name, order, [x[1] for x in scored], [x[2] for x in scored], [x[3] for x in scored])
            extra = tuple((scored[i][0], scored[i][1]) for i in take)
        if bare and f.as_printed:
            extra = tuple((bare.get(str(c.id), c), p) for c, p in extra)
        chosen = bare.get(str(best[0].id), best[0]) if f.as_printed else best[0]
        values: dict[int, str] = {}
        if f.type is FieldType.STRING and forms.get(f.name):
            for c in (chosen, *(c for c, _ in extra)):
                v = apply_forms(c.text, forms[f.name])
                if v is not None:
                    values[c.id] = v
        out.append(Choice(f, chosen, best[1], best[2], best[3], options, extra, values=values))
    return out


def doc_features(doc: Document, candidates: Sequence[Candidate], encoder: Any = True,
                 relations: bool | None = None, context: bool | None = None) -> DocFeatures:
    """The document's shared features computed without the bare amount variants, so every other candidate's
    features (candidate counts, repetition, ranks among amounts and among its kind) are what they were before
    variants existed; a bare variant reads its full form's amount rank and kind position, and its repetition is how
    often the bare amount is printed on its own."""
    df = DocFeatures(doc, [c for c in candidates if BARE not in c.extra], encoder, relations, context)
    for c in candidates:
        if BARE in c.extra:
            full = int(c.extra[BARE])
            if full in df.amount_rank:
                df.amount_rank[c.id], df.amount_frac[c.id] = df.amount_rank[full], df.amount_frac[full]
            if full in df.amount_last:
                df.amount_last[c.id] = df.amount_last[full]
            if full in df.kind_pos:
                df.kind_pos[c.id] = df.kind_pos[full]
            df.norm[c.id] = " ".join(c.text.lower().split())
    return df


def knows_printed_forms(card: Mapping[str, Any]) -> bool:
    """Whether a student was trained on labels that tell an amount's printed forms apart ("RM5.00" vs "5.00":
    :mod:`evidex.distill.data` counts ``matched_as_printed``), so it may choose between them."""
    td = card.get("training_data")
    parts = td if isinstance(td, list) else [td]
    return any(isinstance(p, dict) and "matched_as_printed" in (p.get("labels") or {}) for p in parts)


class StudentScorer:
    name: ClassVar[str] = "student"
    version: ClassVar[str] = "1"
    requires: ClassVar[frozenset[str]] = frozenset()
    Options: ClassVar[type[StudentOptions]] = StudentOptions

    def __init__(self, options: StudentOptions | None = None) -> None:
        self.o = options or StudentOptions()
        path = model_dir(self.o.model)
        if not path.is_dir():
            raise ConfigError(f"student {self.o.model!r}: no such model directory or registered student",
                              hint=f"{student_hint()}; train one with `evidex train DATASET_OR_GOLD -o MODEL_DIR`")
        self.model = default_student() if path == DEFAULT_MODEL else load_student(path)
        self._infos: dict[str, FieldInfo] = {}

    @property
    def model_digest(self) -> str:
        return self.model.digest

    def choose(self, ctx: DocContext, fields: Sequence[Field], candidates: Sequence[Candidate]) -> list[Choice]:
        return score_fields(self.model, ctx.doc, fields, candidates, self._infos)


__all__ = ["DEFAULT_MODEL", "DEFAULT_NAME", "StudentOptions", "StudentScorer", "default_student", "doc_features",
           "knows_printed_forms", "model_dir", "score_fields"]
