"""The registered scorer ``cascade``: the student answers; fields it is unsure of go to the teacher.

``--mode choice --scorer cascade --stage-option scorer.model=STUDENT_DIR --stage-option scorer.bar=0.5`` with a
backend (the teacher: e.g. ``--backend openai`` against a server with a bigger model). Per field, the student's
calibrated probability of its best candidate is compared with ``bar``: at or above it, the student's decision
stands (including "no value" when the best is under the student's own threshold); under it, the field is
*escalated*: the choice plan's generative fallback asks the pipeline's backend for it over the selected context
(``fallback_tokens`` of the most relevant text), and that answer is grounded like any generated value.

``bar=0`` never escalates (the student alone); ``bar>1`` escalates every field (the teacher alone, over the
selected context). Without a backend nothing is escalated (``rules`` mode: the student alone). When the teacher
gives no supported value for an escalated field (nothing, or only ungrounded text), the student's own best
candidate stands, with its low probability (so the review threshold flags it). Each document's
``diagnostics["cascade"]`` records the bar, the escalated fields, those where the student's answer was kept
(``kept_student``) and the student's probability per field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from pydantic import Field as PydanticField

from evidex.extract.candidates import Candidate
from evidex.extract.choice import Choice
from evidex.extract.stages import DocContext
from evidex.extract.student.scorer import StudentOptions, StudentScorer
from evidex.model import Field
from evidex.registry import Options


class CascadeOptions(Options):
    model: str = ""  # the student's model directory (evidex train / evidex distill)
    bar: float = PydanticField(default=0.5, ge=0.0)  # fields whose student probability is under this escalate


class CascadeScorer:
    name: ClassVar[str] = "cascade"
    version: ClassVar[str] = "1"
    requires: ClassVar[frozenset[str]] = frozenset()
    Options: ClassVar[type[CascadeOptions]] = CascadeOptions

    def __init__(self, options: CascadeOptions | None = None) -> None:
        self.o = options or CascadeOptions()
        self.student = StudentScorer(StudentOptions(model=self.o.model))

    @property
    def model_digest(self) -> str:
        return self.student.model_digest

    def choose(self, ctx: DocContext, fields: Sequence[Field], candidates: Sequence[Candidate]) -> list[Choice]:
        choices = self.student.choose(ctx, fields, candidates)
        escalate = ctx.backend is not None
        out: list[Choice] = []
        escalated: list[str] = []
        for ch in choices:
            if escalate and ch.score < self.o.bar:
                escalated.append(ch.field.name)
                # no candidate and no options: the choice plan's generative fallback answers the field; the
                # student's own best is held and stands if the teacher gives no supported value
                keep = (ch.candidate, ch.score) if ch.candidate is not None else None
                out.append(Choice(ch.field, None, ch.score, ch.model_prob, ch.prior, (), held=keep))
            else:
                out.append(ch)
        ctx.diagnostics["cascade"] = {"bar": self.o.bar, "fields": len(choices), "escalated": escalated,
                                      "student": {ch.field.name: round(ch.score, 4) for ch in choices}}
        return out


__all__ = ["CascadeOptions", "CascadeScorer"]
