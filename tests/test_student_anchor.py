"""Prior-anchored students (issue 9 §2): boosted from an anchor over the prior's score, the anchor written in the
card and added back at inference — the same by LightGBM and by the pure-Python tree reader — and cards without
an anchor scored exactly as before."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest

from evidex.errors import ConfigError
from evidex.extract.student.features import DENSE_INDEX
from evidex.extract.student.model import Anchor, dense, load_student
from evidex.pipeline.core import load_schema

_SCHEMA = ("name: letters\nfields:\n  reference:\n    type: string\n    description: the letter's reference number\n"
           "  sent:\n    type: date\n    description: the date the letter was written\n"
           "  total:\n    type: money\n    description: the amount due\n")


def _gold(root: Path, n: int, seed: int, noise: float = 0.0) -> Path:
    rnd = random.Random(seed)
    (root / "docs").mkdir(parents=True)
    lines = []
    for i in range(n):
        ref, day, due = f"AB/{rnd.randint(100, 999)}/{i}", rnd.randint(1, 28), round(rnd.uniform(10, 900), 2)
        text = (f"Acme Ltd\nRef: {ref}\nDate: {day} March 2024\n\nDear Sir,\nWe met on {day + 1} April 2023 about "
                f"order {rnd.randint(1000, 9999)} of {due / 2:.2f}.\nAmount due: {due:.2f}\nPaid: {due / 3:.2f}\n")
        (root / "docs" / f"{i}.txt").write_text(text, encoding="utf-8")
        lines.append(json.dumps({"id": f"d{i}", "path": f"docs/{i}.txt",
                                 "fields": {"reference": ref, "sent": f"2024-03-{day:02d}",
                                            "total": f"{due / 3 if rnd.random() < noise else due:.2f}"}}))
    (root / "gold.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "schema.yaml").write_text(_SCHEMA, encoding="utf-8")
    return root / "gold.jsonl"


@pytest.fixture(scope="module")
def anchored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[list[tuple[int, float]]]]:
    pytest.importorskip("lightgbm")
    pytest.importorskip("sklearn")
    from evidex.distill.multi import collect, train_parts
    from evidex.eval.datasets import load_jsonl_gold

    root = tmp_path_factory.mktemp("anchored")
    gold = load_jsonl_gold(_gold(root, 40, 3), schema=load_schema(root / "schema.yaml"))
    part = collect(gold, name="letters")
    train_parts([part], root / "m", anchor="prior", rounds=20, params={"min_data_in_leaf": 5})
    return root / "m", [r for g in part.groups for r in g.rows]


def _sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def test_anchored_card_round_trips_and_lightgbm_equals_pure_python(
        anchored: tuple[Path, list[list[tuple[int, float]]]]) -> None:
    path, rows = anchored
    card = json.loads((path / "card.json").read_text())
    anchor = Anchor.from_dict(card["anchor"])
    assert anchor is not None and [t[:2] for t in anchor.terms] == [("prior", "logit"), ("prior_is_top", "identity")]
    assert anchor.terms[0][2] > 0  # a higher prior score is more likely correct
    assert Anchor.from_dict(anchor.to_dict()) == anchor
    fast, pure = load_student(path), load_student(path, pure_python=True)
    assert fast._booster is not None and pure._booster is None and fast.anchor == pure.anchor == anchor
    a, b = fast.raw_scores(rows), pure.raw_scores(rows)
    assert len(rows) > 100 and len(set(a)) > 10
    assert max(abs(x - y) for x, y in zip(a, b, strict=True)) < 1e-9
    # the score is sigmoid(anchor + trees), and the trees alone are not the score
    margins = pure.margins(rows)
    assert max(abs(s - _sig(anchor.value(r) + m)) for s, r, m in zip(b, rows, margins, strict=True)) < 1e-12
    assert max(abs(s - _sig(m)) for s, m in zip(b, margins, strict=True)) > 0.05


def test_the_anchor_in_the_card_is_what_inference_adds(anchored: tuple[Path, list[list[tuple[int, float]]]],
                                                       tmp_path: Path) -> None:
    path, rows = anchored
    shifted = tmp_path / "shifted"
    shifted.mkdir()
    for f in path.iterdir():
        (shifted / f.name).write_bytes(f.read_bytes())
    card = json.loads((path / "card.json").read_text())
    card["anchor"]["bias"] += 1.5
    (shifted / "card.json").write_text(json.dumps(card))
    for pure in (False, True):
        a = load_student(path, pure_python=pure).raw_scores(rows)
        b = load_student(shifted, pure_python=pure).raw_scores(rows)
        shift = [math.log(y / (1 - y)) - math.log(x / (1 - x)) for x, y in zip(a, b, strict=True)
                 if 1e-9 < x < y < 1 - 1e-9]
        assert len(shift) == len(rows) and max(abs(d - 1.5) for d in shift) < 1e-6


def test_the_prior_orders_the_candidates_of_an_anchor_alone() -> None:
    anchor = Anchor((("prior", "logit", 2.0), ("prior_is_top", "identity", 0.5)), bias=-1.0)
    p, top = DENSE_INDEX["prior"], DENSE_INDEX["prior_is_top"]
    rows = [[(p, 0.9), (top, 1.0)], [(p, 0.5)], [(p, 0.2)], []]
    v = anchor.values(rows)
    assert v == sorted(v, reverse=True)
    assert v[1] == pytest.approx(-1.0) and v[0] == pytest.approx(-1.0 + 2 * math.log(9) + 0.5)
    assert v[3] == pytest.approx(-1.0 + 2 * math.log(1e-3 / (1 - 1e-3)))  # an absent prior is clipped, not −∞
    with pytest.raises(ConfigError):
        Anchor((("no_such_feature", "logit", 1.0),))
    with pytest.raises(ConfigError):
        Anchor((("prior", "square", 1.0),))


def test_a_card_without_an_anchor_scores_as_before(anchored: tuple[Path, list[list[tuple[int, float]]]],
                                                  tmp_path: Path) -> None:
    """A card without ``anchor`` (every card before anchored students): the raw score is LightGBM's own
    probability, i.e. the plain sigmoid of the summed trees, by both readers."""
    pytest.importorskip("lightgbm")
    path, rows = anchored
    old = tmp_path / "old"
    old.mkdir()
    for f in path.iterdir():
        (old / f.name).write_bytes(f.read_bytes())
    card = json.loads((path / "card.json").read_text())
    del card["anchor"]
    (old / "card.json").write_text(json.dumps(card))
    pure, fast = load_student(old, pure_python=True), load_student(old)
    assert pure.anchor is None and fast.anchor is None
    assert pure._trees is not None and pure.raw_scores(rows) == pure._trees.predict(rows)
    assert pure.raw_scores(rows) == [1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, v)))) for v in pure.margins(rows)]
    assert fast._booster is not None
    assert fast.raw_scores(rows) == [float(v) for v in fast._booster.predict(dense(rows, fast.n_features), num_threads=1)]
    assert max(abs(x - y) for x, y in zip(fast.raw_scores(rows), pure.raw_scores(rows), strict=True)) < 1e-9


def test_the_prior_rule_leaves_a_field_empty(anchored: tuple[Path, list[list[tuple[int, float]]]],
                                             tmp_path: Path) -> None:
    """A card with ``"empty": {"rule": "prior"}`` answers a field exactly when the prior's best candidate scores
    at least 0.2 — whatever the student's confidence — and the student still picks which candidate."""
    from evidex.extract.choice import NONE_PRIOR
    from evidex.extract.options import ExtractOptions
    from evidex.extract.proposers import CandidateProposer
    from evidex.extract.student.features import FieldInfo, pool
    from evidex.extract.student.model import PRIOR_MIN_SCORE
    from evidex.extract.student.scorer import score_fields
    from evidex.model import Field, FieldType
    from evidex.parse import parse_file

    assert PRIOR_MIN_SCORE == NONE_PRIOR == ExtractOptions().min_score
    path, _ = anchored
    gated = tmp_path / "gated"
    gated.mkdir()
    for f in path.iterdir():
        (gated / f.name).write_bytes(f.read_bytes())
    card = json.loads((path / "card.json").read_text())
    card["empty"] = {"rule": "prior", "min_prior": 0.2}
    card["threshold"] = 1.01  # the learnt threshold would leave every field empty; the prior's rule does not
    (gated / "card.json").write_text(json.dumps(card))
    m = load_student(gated, pure_python=True)
    assert m.empty_rule == "prior" and m.answers("x", 0.0, 0.2) and not m.answers("x", 1.0, 0.19)
    assert load_student(path).empty_rule == "threshold" and not load_student(path).answers("x", 0.0, 1.0)
    (tmp_path / "d.txt").write_text("Acme Ltd\nRef: QQ/555/1\nDate: 9 March 2025\n\nAmount due: 120.50\nPaid: 40.00\n")
    doc = parse_file(tmp_path / "d.txt")
    cands = list(CandidateProposer().propose(doc))
    fields = [Field("sent", FieldType.DATE, description="the date the letter was written"),
              Field("total", FieldType.MONEY, description="the amount due"),
              Field("colour", FieldType.STRING, description="paint shade")]
    got = {c.field.name: c for c in score_fields(m, doc, fields, cands)}
    strict = load_student(path, pure_python=True)
    strict.card = {**strict.card, "threshold": 1.01}  # the same card and threshold, without the prior's rule
    plain = {c.field.name: c for c in score_fields(strict, doc, fields, cands)}
    answered = set()
    for f in fields:
        ranked = pool(FieldInfo.of(f), cands, 100)
        c = got[f.name]
        assert (c.candidate is not None) == bool(ranked and ranked[0][1] >= 0.2)
        if c.candidate is not None:
            answered.add(f.name)
            assert plain[f.name].options[0][0] is c.candidate  # the student's pick, not the prior's rule's
    assert {"sent", "total"} <= answered and all(c.candidate is None for c in plain.values())
    assert got["sent"].candidate is not None and got["sent"].candidate.text == "9 March 2025"
    card["empty"] = {"rule": "coin"}
    (gated / "card.json").write_text(json.dumps(card))
    with pytest.raises(ConfigError):
        load_student(gated)


TWO_PART_KW: dict[str, Any] = {"anchor": "prior", "empty": "prior", "rounds": 20, "params": {"min_data_in_leaf": 5}}


def _two_parts(tmp_path: Path) -> list[Any]:
    """Two collected gold sets of 40 generated documents each (different seeds and label noise)."""
    from evidex.distill.multi import collect
    from evidex.eval.datasets import load_jsonl_gold

    parts = []
    for i, seed in enumerate((5, 6)):
        root = tmp_path / f"g{i}"
        gold = load_jsonl_gold(_gold(root, 40, seed, noise=0.2 + 0.3 * i), schema=load_schema(root / "schema.yaml"))
        parts.append(collect(gold, name=f"p{i}"))
    return parts


def test_cross_dataset_calibration(tmp_path: Path) -> None:
    """``cross_dataset=True``: each part's calibration documents are scored by a model trained without that part,
    so the map differs from the one fitted on the final model's scores; the student is still the final model."""
    pytest.importorskip("lightgbm")
    pytest.importorskip("sklearn")
    from evidex.distill.multi import train_parts

    parts = _two_parts(tmp_path)
    kw = dict(TWO_PART_KW)
    plain = train_parts(parts, tmp_path / "plain", **kw)
    cross = train_parts(parts, tmp_path / "cross", cross_dataset=True, **kw)
    assert plain["calibration"] == "isotonic" and cross["calibration"] == "isotonic, cross-dataset"
    assert (tmp_path / "plain" / "model.txt").read_bytes() == (tmp_path / "cross" / "model.txt").read_bytes()
    assert (tmp_path / "plain" / "calibration.json").read_bytes() != (tmp_path / "cross" / "calibration.json").read_bytes()
    assert load_student(tmp_path / "cross").empty_rule == "prior"


def test_list_extras_rules() -> None:
    """A list field's other values: by the calibrated threshold (cards before the rule), as many as the prior
    would take in the student's order, or by the ratio of raw scores — the last two read no calibration."""
    from evidex.extract.student.model import list_extras

    order = [2, 3, 0, 1]  # the student's ranking of four candidates
    cal, raw, prior = [0.5, 0.1, 0.9, 0.3], [0.6, 0.2, 0.8, 0.7], [0.9, 0.8, 0.75, 0.3]
    assert list_extras("threshold", order, cal, raw, prior, threshold=0.3) == [3, 0]
    assert list_extras("threshold", order, cal, raw, prior, threshold=0.6) == []
    # the prior takes its best and the others ≥ max(0.2, 0.8 × 0.9): 0.8 and 0.75 → two extras, the student's next
    assert list_extras("prior_count", order, cal, raw, prior) == [3, 0]
    assert list_extras("prior_count", order, cal, raw, [0.9, 0.5, 0.1, 0.0]) == []
    assert list_extras("prior_count", order, cal, raw, [0.25, 0.21, 0.19, 0.0]) == [3]  # 0.19 < min_prior
    assert list_extras("prior_count", order, cal, raw, [0.9] * 4) == [3, 0, 1]
    assert list_extras("ratio", order, cal, raw, prior) == [3]  # raw ≥ 0.8 × 0.8
    for c in ([0.0] * 4, [1.0] * 4):  # neither reads the calibrated probabilities
        assert list_extras("prior_count", order, c, raw, prior) == [3, 0]
        assert list_extras("ratio", order, c, raw, prior) == [3]
    with pytest.raises(ConfigError):
        list_extras("coin", order, cal, raw, prior)


def test_the_cards_extras_rule_for_list_fields(anchored: tuple[Path, list[list[tuple[int, float]]]],
                                               tmp_path: Path) -> None:
    """A card whose ``empty`` names an ``extras`` rule takes a list field's other values by it, whatever its
    threshold and calibration map; a card without one (every card before the rule) takes them by the threshold."""
    from evidex.extract.proposers import CandidateProposer
    from evidex.extract.student.features import FieldInfo, pool
    from evidex.extract.student.scorer import score_fields
    from evidex.model import Field, FieldType
    from evidex.parse import parse_file

    path, _ = anchored
    card = json.loads((path / "card.json").read_text())

    def variant(name: str, empty: dict[str, object], threshold: float, flat: float | None = None) -> Path:
        d = tmp_path / name
        d.mkdir()
        for f in path.iterdir():
            (d / f.name).write_bytes(f.read_bytes())
        (d / "card.json").write_text(json.dumps({**card, "empty": empty, "threshold": threshold}))
        if flat is not None:
            (d / "calibration.json").write_text(json.dumps({"method": "isotonic", "x": [0.0, 1.0], "y": [flat, flat]}))
        return d

    (tmp_path / "d.txt").write_text("Acme Ltd\nRef: QQ/555/1\nDate: 9 March 2025\n\nAmount due: 120.50\n"
                                    "Paid: 40.00\nBalance: 80.50\nDeposit: 118.00\n")
    doc = parse_file(tmp_path / "d.txt")
    cands = list(CandidateProposer().propose(doc))
    amounts = Field("amounts", FieldType.MONEY, description="the amount due", many=True)
    ranked = pool(FieldInfo.of(amounts), cands, 100)
    top = ranked[0][1]
    k = sum(p >= max(0.2, 0.8 * top) for _, p in ranked) - 1
    assert top >= 0.2 and len(ranked) >= 3 and 1 <= k < len(ranked) - 1

    def extras(d: Path) -> list[str]:
        (c,) = score_fields(load_student(d, pure_python=True), doc, [amounts], cands)
        assert c.candidate is not None
        return [x.text for x, _ in c.extra]

    old = {"rule": "prior", "min_prior": 0.2}
    assert load_student(variant("old", old, 0.5)).extras_rule == "threshold"
    assert extras(variant("none", old, 1.01)) == [] and len(extras(variant("all", old, 0.0))) == len(ranked) - 1
    new = {**old, "extras": "prior_count", "ratio": 0.8}
    got = [extras(variant(f"pc{i}", new, t, flat)) for i, (t, flat) in enumerate(((1.01, None), (0.0, None), (0.5, 0.99)))]
    assert got[0] == got[1] == got[2] and len(got[0]) == k
    with pytest.raises(ConfigError):
        load_student(variant("bad", {**old, "extras": "coin"}, 0.5))


def test_out_of_dataset_calibration_on_emitted_values(tmp_path: Path) -> None:
    """``cross_dataset="all"``: every document of each part scored by a model without that part; ``points=
    "emitted"``: the map is fitted on the values the prior's empty rule and the extras rule emit; the card says
    so and carries the extras rule; the model is the same."""
    pytest.importorskip("lightgbm")
    pytest.importorskip("sklearn")
    from evidex.distill.multi import train_parts

    parts = _two_parts(tmp_path)
    kw = dict(TWO_PART_KW)
    plain = train_parts(parts, tmp_path / "plain", **kw)
    held = train_parts(parts, tmp_path / "held", cross_dataset=True, extras="prior_count", **kw)
    full = train_parts(parts, tmp_path / "all", cross_dataset="all", extras="prior_count", points="emitted", **kw)
    assert plain["empty"] == {"rule": "prior", "min_prior": 0.2}
    assert full["empty"] == held["empty"] == {"rule": "prior", "min_prior": 0.2, "extras": "prior_count", "ratio": 0.8}
    assert full["calibration"] == "isotonic, cross-dataset (every document), emitted values"
    assert (tmp_path / "plain" / "model.txt").read_bytes() == (tmp_path / "all" / "model.txt").read_bytes()
    # every document of both parts is a calibration document; only the fields the prior answers give a point
    n_docs = sum(len({g.doc_id for g in p.groups}) for p in parts)
    answered = sum(1 for p in parts for g in p.groups if g.rows and dict(g.rows[0]).get(DENSE_INDEX["prior"], 0.0) >= 0.2)
    assert full["metrics"]["calibration_docs"] == n_docs > held["metrics"]["calibration_docs"]
    assert full["metrics"]["calibration_points"] == answered
    assert load_student(tmp_path / "all").extras_rule == "prior_count"
    for bad in ({"extras": "prior_count", "empty": "threshold"}, {"points": "emitted"}, {"calibration": "coin"},
                {"cross_dataset": "some"}):
        with pytest.raises(ValueError):
            train_parts(parts, tmp_path / "bad", **{**kw, **bad})
