"""Built-in proposers: candidate spans from structure (key–values, table cells, headings, lines) and typed
patterns (dates, amounts, identifiers, e-mails, percentages, durations) — see :mod:`evidex.extract.candidates` —
and ``tagger``: the same candidates plus the spans a trained CRF span tagger finds (:mod:`evidex.extract.tagger`;
``--student DIR`` uses it when ``DIR`` holds one)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import ClassVar

from evidex.errors import ConfigError
from evidex.extract.candidates import Candidate, build_candidates
from evidex.extract.student.model import files_digest
from evidex.extract.student.names import resolve_student
from evidex.extract.tagger import CARD, TAGGER_MODEL, SpanTagger, add_spans
from evidex.model import Document
from evidex.registry import Options


class CandidatesOptions(Options):
    include_furniture: bool = True  # running headers/footers may hold values (receipt headers, letterheads)


class CandidateProposer:
    name: ClassVar[str] = "candidates"
    version: ClassVar[str] = "1"
    Options: ClassVar[type[CandidatesOptions]] = CandidatesOptions

    def __init__(self, options: CandidatesOptions | None = None) -> None:
        self.o = options or CandidatesOptions()

    def propose(self, doc: Document) -> Sequence[Candidate]:
        return build_candidates(doc, include_furniture=self.o.include_furniture).items


class TaggerOptions(CandidatesOptions):
    model: str = ""  # a model directory holding a span tagger (written by `evidex train`), or a student's name
    min_prob: float | None = None  # spans under this mean tag probability are dropped (default: the card's)


@functools.lru_cache(maxsize=4)
def _load(path: str, min_prob: float | None) -> SpanTagger:
    t = SpanTagger.load(path)
    if min_prob is not None:
        t.min_prob = min_prob
    return t


class TaggerProposer:
    """The built-in candidates plus a trained span tagger's spans (source ``tagger``, tag ``tagger:FIELD``)."""

    name: ClassVar[str] = "tagger"
    version: ClassVar[str] = "1"
    Options: ClassVar[type[TaggerOptions]] = TaggerOptions

    def __init__(self, options: TaggerOptions | None = None) -> None:
        self.o = options or TaggerOptions()
        path = resolve_student(self.o.model) if self.o.model else None
        if path is None or not path.is_dir():
            raise ConfigError(f"span tagger model directory {self.o.model!r} not found",
                              hint="--stage-option proposer.model=MODEL_DIR (a directory `evidex train` wrote, "
                                   "or a registered student's name)")
        self.tagger = _load(str(path.resolve()), self.o.min_prob)
        self.model_digest = files_digest([path / TAGGER_MODEL, path / CARD])

    def propose(self, doc: Document) -> Sequence[Candidate]:
        base = build_candidates(doc, include_furniture=self.o.include_furniture).items
        spans, marginals = self.tagger.tag_with_marginals(doc)
        return add_spans(doc, base, spans, self.tagger.fields, marginals)


__all__ = ["CandidateProposer", "TaggerProposer"]
