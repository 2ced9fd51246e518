"""Built-in proposer: candidate spans from structure (key–values, table cells, headings, lines) and typed
patterns (dates, amounts, identifiers, e-mails, percentages, durations) — see :mod:`evidex.extract.candidates`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from evidex.extract.candidates import Candidate, build_candidates
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


__all__ = ["CandidateProposer"]
