"""List-field extras and out-of-dataset calibration of the prior-anchored generic student, leave one dataset out,
measured on the left-out dataset's *training* part (issue #9 §2: "the embedded default becomes a student").

    .venv/bin/python bench/student_calib.py --cache .bench/students --out .bench/calib --configs base,xd-all-emit

Each LOO student (trained on the other datasets' parts by ``train_parts(anchor="prior", empty="prior",
crosses=False, rounds=100)`` plus the config's calibration keywords) decides every (document, field) of the
left-out dataset's own training part, as ``score_fields`` would: empty when the prior's best scores under 0.2, else
the student's best and, for a list field, the extras by each rule of :func:`evidex.extract.student.model.list_extras`
(the card's rule swapped in memory: the same model and map). Reported per rule: proxy F1 (a decision is right when
the candidate's label is 1, micro over fields, as ``bench/student_anchor.py``) and the ECE (10 bins) of the emitted
values' calibrated confidences against their labels; the prior's own decisions (its score as the confidence) for
comparison. No dev set is read. Results: OUT/calib.json.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from evidex.distill.data import Group
from evidex.extract.student.features import DENSE_INDEX
from evidex.extract.student.model import EXTRAS, PRIOR_EXTRA_RATIO, StudentModel
from evidex.extract.student.reliability import ece

sys.path.insert(0, str(Path(__file__).parent))
from student_anchor import MIN_SCORE, _f1, run_loo

BASE: dict[str, Any] = {"anchor": "prior", "empty": "prior", "crosses": False, "rounds": 100}
# name → train_parts keyword arguments on top of BASE
CONFIGS: dict[str, dict[str, Any]] = {
    "base": {},  # the packaged recipe: held-back calibration documents, top candidates
    "xd": {"cross_dataset": True},  # the calibration tried before (each part's held documents, model without it)
    "xd-all": {"cross_dataset": "all", "extras": "prior_count"},
    "xd-all-emit": {"cross_dataset": "all", "extras": "prior_count", "points": "emitted"},
    "xd-all-emit-platt": {"cross_dataset": "all", "extras": "prior_count", "points": "emitted",
                          "calibration": "platt"},
    "xd-all-ratio-emit": {"cross_dataset": "all", "extras": "ratio", "points": "emitted"},
    "xd-all-ratio-emit-platt": {"cross_dataset": "all", "extras": "ratio", "points": "emitted",
                                "calibration": "platt"},
}
PRIOR = DENSE_INDEX["prior"]


def prior_decisions(groups: list[Group]) -> dict[str, float]:
    """The prior's F1 and the ECE of its emitted values' scores (rules mode: its score is the confidence)."""
    tp = fp = n = 0
    conf: list[float] = []
    ok: list[int] = []
    for g in groups:
        n += g.n_gold
        ps = [dict(r).get(PRIOR, 0.0) for r in g.rows]
        if not ps or ps[0] < MIN_SCORE:  # rows are in the prior's rank order
            continue
        take = [0] + ([i for i in range(1, len(ps)) if ps[i] >= max(MIN_SCORE, PRIOR_EXTRA_RATIO * ps[0])]
                      if g.many else [])
        tp += sum(g.labels[i] for i in take)
        fp += sum(1 - g.labels[i] for i in take)
        conf += [ps[i] for i in take]
        ok += [g.labels[i] for i in take]
    return {"f1": _f1(tp, fp, n), "ece": round(ece(conf, ok), 4), "values": len(conf)}


def student_decisions(model: StudentModel, groups: list[Group], rule: str) -> dict[str, float]:
    """``score_fields``' decisions with the list-field extras ``rule``: F1, ECE of the emitted values, and the F1
    and value count of list fields alone."""
    model.card["empty"]["extras"] = rule
    tp = fp = n = 0
    many = [0, 0, 0]  # tp, fp, gold of list fields
    conf: list[float] = []
    ok: list[int] = []
    for g in groups:
        n += g.n_gold
        if g.many:
            many[2] += g.n_gold
        if not g.rows:
            continue
        pr = model.probabilities(g.rows)
        cal, raw = [p[1] for p in pr], [p[0] for p in pr]
        prior = [dict(r).get(PRIOR, 0.0) for r in g.rows]
        order = sorted(range(len(pr)), key=lambda i: (-cal[i], -raw[i], i))
        if not model.answers(g.field, cal[order[0]], prior[0]):
            continue
        take = [order[0]] + (model.extras(g.field, order, cal, raw, prior) if g.many else [])
        right = sum(g.labels[i] for i in take)
        tp += right
        fp += len(take) - right
        if g.many:
            many[0] += right
            many[1] += len(take) - right
        conf += [cal[i] for i in take]
        ok += [g.labels[i] for i in take]
    return {"f1": _f1(tp, fp, n), "ece": round(ece(conf, ok), 4), "values": len(conf),
            "list_f1": _f1(*many), "mean_conf": round(sum(conf) / len(conf), 4) if conf else 0.0,
            "accuracy": round(sum(ok) / len(ok), 4) if ok else 0.0}


def main() -> None:
    run_loo("calib.json", ".bench/calib", "base,xd-all-emit", {name: {**BASE, **kw} for name, kw in CONFIGS.items()},
            prior_decisions, lambda model, groups: {rule: student_decisions(model, groups, rule) for rule in EXTRAS},
            lambda card: {"calibration": card["calibration"]}, __doc__.split("\n")[0])


if __name__ == "__main__":
    main()
