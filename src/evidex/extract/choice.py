"""Choice engine: candidates from the document, the model picks among the top few by letter.

Values are grounded by construction (a candidate *is* a span of ``Document.text``). The model sees the
selected document context once (a shared prompt prefix, so backends that cache prefixes evaluate it once)
and then one short question per field; with logprobs, one forward pass gives a distribution over options.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field

from evidex.backends import Backend, Message, Request, Response
from evidex.extract import prompts
from evidex.extract.candidates import Candidate
from evidex.extract.prior import EXTRA_RATIO, FieldQuery, rank
from evidex.model import Field

NONE_PRIOR = 0.2  # prior mass of "not stated"; a candidate must beat it


@dataclass(frozen=True)
class Choice:
    field: Field
    candidate: Candidate | None
    score: float  # combined prior + model
    model_prob: float | None
    prior: float
    options: tuple[tuple[Candidate, float], ...]
    extra: tuple[tuple[Candidate, float], ...] = ()  # further accepted values for list fields
    # a scorer that hands the field to the generator (the cascade escalating it) can keep its own best answer
    # here: used when the generator gives no supported value for the field
    held: tuple[Candidate, float] | None = None
    # a value to output instead of a chosen candidate's text, by candidate id: the student's learnt forms
    # ("II-VI Incorporated" → "II-VI Inc."); the evidence stays the candidate's span
    values: Mapping[int, str] = dc_field(default_factory=dict)


def grammar_for(letters: str) -> str:
    return "root ::= " + " | ".join(f'"{ch}"' for ch in letters)


def letter_probs(resp: Response, letters: str) -> dict[str, float] | None:
    """Distribution over allowed letters from the first token's top logprobs (None if unavailable)."""
    if resp.top_logprobs:
        first = resp.top_logprobs[0]
        mass: dict[str, float] = {}
        for tok, lp in first.items():
            t = tok.strip().strip(").").strip().upper()
            if len(t) == 1 and t in letters:
                mass[t] = mass.get(t, 0.0) + math.exp(lp)
        total = sum(mass.values())
        if total > 0:
            return {ch: mass.get(ch, 0.0) / total for ch in letters}
    t = resp.text.strip().strip(").").strip().upper()[:1]
    if t and t in letters:
        return {ch: (0.7 if ch == t else 0.3 / max(1, len(letters) - 1)) for ch in letters}
    return None


def _calibrate(dists: list[Mapping[str, float] | None]) -> list[Mapping[str, float] | None]:
    """Contextual calibration: divide out the model's average preference for each option label.

    Small models favour the first option whatever it says; averaging each label's probability over all the
    questions about one document estimates that bias without extra calls (it needs 3+ questions).
    """
    present = [d for d in dists if d]
    if len(present) < 3:
        return dists
    labels = {k for d in present for k in d}
    mean = {k: sum(d[k] for d in present if k in d) / sum(1 for d in present if k in d) for k in labels}
    out: list[Mapping[str, float] | None] = []
    for d in dists:
        if not d:
            out.append(d)
            continue
        raw = {k: v / max(mean.get(k, 0.0), 1e-6) for k, v in d.items()}
        z = sum(raw.values()) or 1.0
        out.append({k: v / z for k, v in raw.items()})
    return out


NEUTRAL_CUE = "Another line of the text:"


def cue_for(f: Field) -> str:
    return f"{f.name.replace('_', ' ').strip().capitalize()}:"


def _pmi_probs(with_cue: Response, neutral: Response, n: int, temperature: float = 2.0) -> dict[str, float]:
    """Softmax over candidates of log P(candidate | document, field cue) − log P(candidate | document, neutral cue).

    The "none" option gets no model mass: PMI ranks candidates, it cannot say that none fits (the prior's
    threshold does that).
    """
    pmi = [a[0] - b[0] for a, b in zip(with_cue.scores, neutral.scores, strict=True)][:n]
    m = max(pmi)
    ex = [math.exp((x - m) / temperature) for x in pmi]
    z = sum(ex)
    out = {str(i): e / z for i, e in enumerate(ex)}
    out["none"] = 0.0
    return out


def build_requests(
    fields: Sequence[Field],
    candidates: Sequence[Candidate],
    context: str,
    *,
    backend: Backend | None,
    top_k: int,
    fmt: int,
    scorer: str = "choice",
) -> tuple[list[tuple[Field, list[tuple[Candidate, float]], str]], list[Request]]:
    """Plans (field, ranked options, labels) and the model requests that score them.

    ``scorer="pmi"`` (backends that score continuations, e.g. the embedded base model): two requests per
    field — the candidates' log-probability after the document and the field's cue, and after a neutral
    cue; their difference (pointwise mutual information) says how much the cue favours each candidate.
    ``scorer="choice"``: one multiple-choice question per field answered by its next-token distribution.
    """
    plans = []
    reqs = []
    prefix = prompts.document_block(context, fmt) if context else ""
    for f in fields:
        ranked = rank(FieldQuery.of(f), list(candidates), top_k)
        if not ranked:
            plans.append((f, ranked, ""))
            continue
        if scorer == "pmi":
            plans.append((f, ranked, "pmi"))
            if backend is not None and len(ranked) > 1:
                conts = tuple(" ".join(c.text.split())[:160] for c, _ in ranked)
                doc = (context or "").rstrip() + "\n\n"
                for cue in (cue_for(f), NEUTRAL_CUE):
                    reqs.append(Request((Message("user", f"{doc}{cue} "),), raw_prompt=True, continuations=conts,
                                        tag=f"pmi:{f.name}"))
            continue
        question, letters = prompts.choice_question(f, [c.display() for c, _ in ranked], fmt)
        plans.append((f, ranked, letters))
        if backend is not None:
            caps = backend.capabilities
            reqs.append(
                Request(
                    messages=(Message("system", prompts.SYSTEM), Message("user", prefix + question)),
                    grammar=grammar_for(letters) if caps.grammar else None,
                    json_schema=None,
                    max_tokens=1,
                    logprobs=40 if caps.logprobs else None,
                    tag=f"choice:{f.name}",
                )
            )
    return plans, reqs


def decide(
    plans: Sequence[tuple[Field, list[tuple[Candidate, float]], str]],
    responses: Sequence[Response] | None,
    *,
    prior_weight: float,
    min_score: float,
    calibrate: bool = True,
) -> list[Choice]:
    out: list[Choice] = []
    it = iter(responses or ())
    dists: list[Mapping[str, float] | None] = []
    for _, ranked, letters in plans:
        if not ranked or responses is None:
            dists.append(None)
        elif letters == "pmi":
            dists.append(_pmi_probs(next(it), next(it), len(ranked)) if len(ranked) > 1 else None)
        else:
            dists.append(letter_probs(next(it), letters))
    if calibrate and not any(letters == "pmi" for _, _, letters in plans):
        dists = _calibrate(dists)
    for (f, ranked, letters), probs in zip(plans, dists, strict=True):
        if not ranked:
            out.append(Choice(f, None, 0.0, None, 0.0, ()))
            continue
        priors = [p for _, p in ranked] + [NONE_PRIOR]
        labels = letters if letters != "pmi" else [str(i) for i in range(len(ranked))] + ["none"]
        model: list[float | None]
        if probs is None:
            combined = priors
            model = [None] * len(priors)
        else:
            mp = [probs.get(ch, 0.0) for ch in labels]
            combined = [prior_weight * p + (1 - prior_weight) * m for p, m in zip(priors, mp, strict=True)]
            model = list(mp)
        best = max(range(len(combined)), key=lambda i: (combined[i], -i))
        is_none = best == len(ranked)
        if is_none or combined[best] < min_score:
            out.append(Choice(f, None, combined[best], model[best], priors[best], tuple(ranked)))
            continue
        extra: list[tuple[Candidate, float]] = []
        if f.many:
            for i, (c, _) in enumerate(ranked):
                if i != best and combined[i] >= max(min_score, EXTRA_RATIO * combined[best]):
                    extra.append((c, combined[i]))
        out.append(Choice(f, ranked[best][0], combined[best], model[best], priors[best], tuple(ranked), tuple(extra)))
    return out
