"""Engine options: the named stages of the plan and the knobs they share (unknown keys are errors)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic import Field as PydanticField

STAGE_ROLES = ("selector", "proposer", "scorer", "generator", "grounder")


class ExtractOptions(BaseModel):
    """What the engine runs, by registry name, and the knobs shared by its stages.

    ``mode`` names a registered plan (``auto``: ``choice`` for a backend that declares ``small_model``, else
    ``generate``; ``rules`` without a backend). ``selector``/``proposer``/``scorer``/``generator``/``grounder``
    name registered stages; ``stage_options`` maps a role to that stage's own options (validated by the stage).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: str = "auto"
    selector: str = "relevant"
    proposer: str = "candidates"
    # How candidates are ranked in the choice plan. auto = "student": the packaged generic student (no model call),
    # measured better than the hand-written "prior" on unseen schemas, which in turn beat re-ranking with the 270M
    # base model (docs/benchmarks.md); the model then only handles fields without candidates, labels and entities.
    # "pmi" (backends that score continuations) and "choice" (multiple-choice by next-token) suit larger models.
    scorer: str = "auto"
    generator: str = "json"
    grounder: str = "evidence"
    stage_options: Mapping[str, Mapping[str, Any]] = PydanticField(default_factory=dict)

    top_k: int = 5  # options shown per field in choice mode
    context_tokens: int = 900  # document context shared by the choice prompts (0 = options only)
    chunk_tokens: int = 1500  # chunk size in generate mode
    fallback_tokens: int = 1500  # choice mode: budget of the generative fallback (the most relevant chunks only)
    # generate mode: token budget of the text read per document (None = the whole document, chunk by chunk)
    budget_tokens: int | None = PydanticField(default=None, ge=1)
    max_repairs: int = 2  # re-asks after invalid output
    max_output_tokens: int = 512
    max_value_chars: int = 200  # generate mode: longest string value (bounds runaway decoding; raise for clauses)
    prior_weight: float = 0.5  # model scorers: weight of the prior vs the model's probability
    # the prior and model scorers leave a field empty under this score; a student (the default, scorer=auto) uses
    # the rule its card names instead (the packaged one: the prior's best under 0.2, its min_prior)
    min_score: float = 0.2
    keep_ungrounded: bool = False  # keep values with no support in the text (marked UNGROUNDED)
    # values whose confidence is below this are flagged ``review`` (for a person to check, not shown as facts)
    review_threshold: float = PydanticField(default=0.5, ge=0.0, le=1.0)
    prompt_format: int = 0  # 0, 1, 2: equivalent prompt formats (FormatSpread)
    # wall-time budget of one document (seconds; None or 0 = none): every model call gets what is left as its
    # timeout, and a document that runs out fails with EVX-B007 (usage and diagnostics so far are kept)
    deadline_s: float | None = PydanticField(default=300.0, ge=0)

    @field_validator("stage_options")
    @classmethod
    def _roles(cls, v: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Mapping[str, Any]]:
        bad = [k for k in v if k not in STAGE_ROLES]
        if bad:
            raise ValueError(f"unknown stage role(s) {', '.join(bad)}; roles: {', '.join(STAGE_ROLES)}")
        return {k: dict(o) for k, o in v.items()}

    def stage(self, role: str) -> tuple[str, Mapping[str, Any]]:
        """``(registered name, options)`` of the stage playing ``role``."""
        return str(getattr(self, role)), self.stage_options.get(role, {})


__all__ = ["STAGE_ROLES", "ExtractOptions"]
