"""Calibration (issue 9): the dev ECE that `evidex eval`/`bench` report (cases computed by hand in the comments),
and the cross-fitted calibration of `evidex train` (folds by document, out-of-fold points, Platt/isotonic)."""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from evidex.distill.data import Group
from evidex.distill.train import assign_folds, calibrate, ece, fit_isotonic, fit_platt, folds_for, log_loss
from evidex.eval.calibration import reliability
from evidex.eval.datasets import GoldDoc, GoldSet, GoldSpan
from evidex.eval.datasets.schemas import builtin_schema
from evidex.eval.report import evaluate
from evidex.model.schema import Schema

approx = pytest.approx


# --------------------------------------------------------------------------- ECE and the reliability table
def test_reliability_by_hand() -> None:
    # bin 9: 0.9 ✓, 0.9 ✗ → mean 0.9, accuracy 0.5; bin 2: 0.2 ✗, 0.2 ✗ → mean 0.2, accuracy 0
    # ECE = 2/4 · |0.9 − 0.5| + 2/4 · |0.2 − 0| = 0.2 + 0.1 = 0.3
    s = reliability([(0.9, True), (0.9, False), (0.2, False), (0.2, False)])
    assert s is not None and s.n == 4 and s.ece == approx(0.3)
    assert [(b.lo, b.count, b.mean_confidence, b.accuracy) for b in s.bins] == [(0.2, 2, approx(0.2), 0.0),
                                                                              (0.9, 2, approx(0.9), 0.5)]
    assert s.mean_confidence == approx(0.55) and s.accuracy == approx(0.25)
    # perfectly calibrated: 0.75 confidence, 3 of 4 right
    assert reliability([(0.75, True)] * 3 + [(0.75, False)]).ece == approx(0.0)  # type: ignore[union-attr]
    # confidence 1.0 is in the last bin [0.9, 1.0], 0.0 in the first
    edge = reliability([(1.0, True), (0.0, False)])
    assert edge is not None and [b.lo for b in edge.bins] == [0.0, 0.9] and edge.ece == approx(0.0)
    assert edge.to_dict()["reliability"][1]["bin"] == "[0.9, 1.0]"
    assert reliability([]) is None


def _gold(metric: str = "field") -> GoldSet:
    docs = (
        GoldDoc("a", None, "text a", MappingProxyType({"name": ("Ann Lee",), "city": ("Paris",)})),
        GoldDoc("b", None, "text b", MappingProxyType({"name": ("Bob",), "city": ()})),
        GoldDoc("c", None, "text c", MappingProxyType({"name": ("Cy",), "city": ("Rome",)})),
    )
    schema = Schema.from_dict({"name": "t", "fields": {"name": "string", "city": "string"}})
    return GoldSet("toy", "test", metric, schema, docs)


def _ext(path: str, value: str, conf: float | None, grounding: str = "exact") -> dict[str, Any]:
    e: dict[str, Any] = {"path": path, "value": value, "grounding": grounding,
                         "evidence": [{"start": 0, "end": len(value), "text": value}]}
    if conf is not None:
        e["confidence"] = conf
    return e


def _records(oslo: float = 0.95) -> list[dict[str, Any]]:
    return [
        {"doc_id": "a", "source": "a", "values": {"name": "ann  lee", "city": "Lyon"},
         "extractions": [_ext("name", "ann  lee", 0.9), _ext("city", "Lyon", 0.8),
                         _ext("city", "Nice", 0.3, "ungrounded")]},  # not emitted: not counted
        {"doc_id": "b", "source": "b", "values": {"name": ["Bob"], "city": ["Oslo"]},
         "extractions": [_ext("name", "Bob", 0.99), _ext("city", "Oslo", oslo)]},
        {"doc_id": "c", "source": "c", "values": {"name": "Cy"}, "extractions": [_ext("name", "Cy", None)]},  # no conf
    ]


def test_dev_ece_of_emitted_values() -> None:
    r = evaluate(_records(), _gold())
    # emitted with a confidence: a.name 0.9 ✓ (same after normalising), a.city Lyon 0.8 ✗ (gold Paris),
    # b.name 0.99 ✓, b.city Oslo 0.95 ✗ (no gold city); c.name has no confidence; Nice is ungrounded
    # bin 9: 0.9, 0.99, 0.95 → mean 0.946667, accuracy 2/3 → gap 0.28; bin 8: 0.8, accuracy 0 → gap 0.8
    # ECE = (3 · 0.28 + 1 · 0.8) / 4 = 0.41
    c = r.calibration
    assert c is not None and c.n == 4 and c.ece == approx(0.41)
    assert [(b.lo, b.count) for b in c.bins] == [(0.8, 1), (0.9, 3)]
    d = json.loads(r.to_json())["calibration"]
    assert d["ece"] == approx(0.41) and d["values"] == 4 and d["bins"] == 10
    assert d["reliability"][1] == {"bin": "[0.9, 1.0]", "count": 3, "mean_confidence": approx(0.9467, abs=1e-4),
                                   "accuracy": approx(0.6667, abs=1e-4)}
    console = Console(record=True, width=200, color_system=None)
    console.print(r.to_rich())
    assert "calibration: ECE = 0.4100 over 4 values with a confidence (10 bins; mean confidence 0.910, " \
           "accuracy 0.500)" in console.export_text()
    # Oslo's confidence 0.95 → 0.05 changes it: bin 0 (0.05, ✗) gap 0.05; bin 9: 0.9, 0.99 both ✓ → gap 0.055
    # ECE = (0.05 + 2 · 0.055 + 0.8) / 4 = 0.24
    lower = evaluate(_records(oslo=0.05), _gold()).calibration
    assert lower is not None and lower.ece == approx(0.24)


def test_dev_ece_follows_the_dataset_metric() -> None:
    # a duplicate of a matched value is wrong (multiset counting): 'Bob' twice for one gold 'Bob'
    recs = [{"doc_id": "b", "source": "b", "values": {"name": ["Bob", "bob"]},
             "extractions": [_ext("name", "Bob", 0.7), _ext("name", "bob", 0.6)]}]
    c = evaluate(recs, _gold()).calibration
    assert c is not None and sorted((b.lo, b.accuracy) for b in c.bins) == [(0.6, 0.0), (0.7, 1.0)]
    # Kleister: upper-cased key=value tokens, party commas dropped; SROIE: case kept
    meta = MappingProxyType({"expected": "party=A_Inc. jurisdiction=New_York", "keys": ("jurisdiction", "party")})
    doc = GoldDoc("k1", None, "t", MappingProxyType({"jurisdiction": ("New_York",), "party": ("A_Inc.",)}), meta=meta)
    gs = GoldSet("kleister-nda", "dev-0", "kleister", builtin_schema("kleister-nda"), (doc,))
    recs = [{"doc_id": "k1", "source": "k1", "values": {"jurisdiction": "new york", "party": ["A, Inc.", "B"]},
             "extractions": [_ext("jurisdiction", "new york", 0.5), _ext("party", "A, Inc.", 0.5),
                             _ext("party", "B", 0.5)]}]
    k = evaluate(recs, gs).calibration
    assert k is not None and k.n == 3 and k.accuracy == approx(2 / 3) and k.ece == approx(abs(0.5 - 2 / 3))
    sd = GoldDoc("s", None, "t", MappingProxyType({"company": ("ACME",), "total": ("9.00",)}))
    ss = GoldSet("sroie", "test", "sroie", builtin_schema("sroie"), (sd,))
    recs = [{"doc_id": "s", "source": "s", "values": {"company": "Acme", "total": "9.00"},
             "extractions": [_ext("company", "Acme", 0.9), _ext("total", "9.00", 0.9)]}]
    s = evaluate(recs, ss).calibration
    assert s is not None and s.accuracy == 0.5 and s.ece == approx(0.4)
    # entities: exact label and boundaries
    sp = GoldDoc("e", None, "Bob and Paris", spans=(GoldSpan("person", 0, 3, "Bob"), GoldSpan("location", 8, 13, "Paris")))
    es = GoldSet("wnut17", "dev", "wnut17", builtin_schema("wnut17"), (sp,))
    ents = [{"type": "person", "start": 0, "end": 3, "text": "Bob", "confidence": 0.8},
            {"type": "location", "start": 8, "end": 12, "text": "Pari", "confidence": 0.8}]
    e = evaluate([{"doc_id": "e", "source": "", "entities": ents}], es).calibration
    assert e is not None and e.n == 2 and e.ece == approx(0.3)


def test_no_confidence_no_calibration() -> None:
    recs = [{"doc_id": "a", "source": "a", "values": {"name": "Ann Lee"}}]
    r = evaluate(recs, _gold())
    assert r.calibration is None and json.loads(r.to_json())["calibration"] is None


def test_eval_cli_reports_dev_ece(tmp_path: Path) -> None:
    from evidex.cli.main import app

    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps({"id": d, "text": f"text {d}", "fields": f}) + "\n" for d, f in
                            [("a", {"name": "Ann Lee", "city": "Paris"}), ("b", {"name": "Bob"})]), encoding="utf-8")
    pred = tmp_path / "pred.jsonl"
    pred.write_text("".join(json.dumps(r) + "\n" for r in _records()[:2]), encoding="utf-8")
    out = tmp_path / "report.json"
    res = CliRunner().invoke(app, ["eval", str(pred), "--dataset", str(gold), "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "calibration: ECE = 0.4100 over 4 values" in " ".join(res.output.split())
    assert json.loads(out.read_text())["calibration"]["ece"] == approx(0.41)


# --------------------------------------------------------------------------- cross-fitted calibration (train)
def test_folds_by_document_are_seeded_and_balanced() -> None:
    ids = [f"d{i}" for i in range(23)]
    f = assign_folds(ids, 5, seed=7)
    assert assign_folds(list(reversed(ids)), 5, seed=7) == f  # order of the input does not matter
    sizes = sorted(list(f.values()).count(k) for k in range(5))
    assert sizes == [4, 4, 5, 5, 5]
    assert assign_folds(ids, 5, seed=8) != f
    assert (folds_for(100, 5), folds_for(3, 5), folds_for(1, 5), folds_for(20, 1)) == (5, 3, 0, 0)


def _groups(n_docs: int, seed: int = 0) -> list[Group]:
    """Per document two fields; per field 6 candidates with two features, the first candidate right."""
    import random

    rnd = random.Random(seed)
    out = []
    for d in range(n_docs):
        for fld in ("x", "y"):
            right = rnd.random() < 0.8  # the gold value is among the candidates
            rows, labels = [], []
            for i in range(6):
                good = right and i == 0
                rows.append([(0, rnd.gauss(1.5 if good else 0.0, 1.0)), (1, rnd.random())])
                labels.append(int(good))
            out.append(Group(f"d{d}", fld, rows, labels, [str(i) for i in range(6)], int(right), False))
    return out


def test_every_document_gets_out_of_fold_scores() -> None:
    groups = _groups(40)
    c = calibrate(groups, "logistic", seed=1, rounds=10, folds=5, method="auto")
    assert c.folds == 5 and len(c.scored) == len(groups)  # every group, each scored by a model without its doc
    assert {g.doc_id for g, _ in c.scored} == {g.doc_id for g in groups}
    assert set(c.ece_by_method) == set(c.log_loss_by_method) == {"isotonic", "platt"}
    assert c.log_loss_by_method[c.method] == min(c.log_loss_by_method.values())  # auto: the lower log loss
    assert c.ece == c.ece_by_method[c.method]  # the ECE reported is the chosen map's
    # fold 0's scores are those of a model trained on folds 1-4 only (not the in-sample scores)
    from evidex.distill.train import _fit, _score_all, _Scorer

    fold0 = [g for g in groups if c.fold_of[g.doc_id] == 0]
    rest = [g for g in groups if c.fold_of[g.doc_id] != 0]
    expect = _score_all(fold0, _Scorer("logistic", _fit("logistic", rest, 1, 10)))
    assert [s for g, s in c.scored if c.fold_of[g.doc_id] == 0] == [s for _, s in expect]
    insample = _score_all(fold0, _Scorer("logistic", _fit("logistic", groups, 1, 10)))
    assert [s for _, s in insample] != [s for _, s in expect]
    tiny = calibrate(_groups(3), "logistic", seed=1, rounds=10, folds=5, method="isotonic")
    assert tiny.folds == 3  # fewer folds for a tiny gold


def test_platt_is_monotone_and_calibrated_on_a_logistic_truth() -> None:
    import math
    import random

    rnd = random.Random(0)
    xs, ys = [], []
    for _ in range(4000):  # truth: P(right | s) = σ(2·logit(s) − 0.5)
        s = min(1 - 1e-4, max(1e-4, rnd.random()))
        z = 2 * math.log(s / (1 - s)) - 0.5
        xs.append(s)
        ys.append(int(rnd.random() < 1 / (1 + math.exp(-z))))
    m = fit_platt(xs, ys)
    assert list(m.y) == sorted(m.y)
    for s in (0.1, 0.5, 0.9):
        z = 2 * math.log(s / (1 - s)) - 0.5
        assert m(s) == approx(1 / (1 + math.exp(-z)), abs=0.03)
    assert fit_platt([0.2, 0.4], [1, 1]).y == (1.0, 1.0)  # too few points: the rate
    # the misses score highest (a nearly all-right sample): not a falling map, which would rank backwards
    falling = fit_platt([0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99], [1, 1, 1, 1, 1, 0, 0])
    assert falling.y == (approx(5 / 7), approx(5 / 7))
    assert fit_isotonic([0.2, 0.4], [0, 1]).y == (0.5, 0.5)


def test_log_loss_by_hand() -> None:
    import math

    # −(log 0.8 + log(1 − 0.3)) / 2; a confidence of 1.0 that misses costs −log(1e-4), not infinity
    assert log_loss([0.8, 0.3], [1, 0]) == approx(-(math.log(0.8) + math.log(0.7)) / 2)
    assert log_loss([1.0], [0]) == approx(-math.log(1e-4)) and log_loss([], []) == 0.0


def test_auto_picks_the_map_that_holds_on_unseen_documents_for_small_golds() -> None:
    """Twenty seeded 20-document golds (40 points each): where auto (the lower cross-fitted log loss) and the
    lower cross-fitted ECE pick different maps, auto's map is the better calibrated one on 300 unseen documents
    scored by the final model — and they do differ (isotonic's 0/1 steps look fine on 8 held-out documents)."""
    from evidex.distill.train import _fit, _points, _score_all, _Scorer

    fresh = _groups(300, seed=999)
    differ = []
    for seed in range(20):
        small = _groups(20, seed)
        c = calibrate(small, "logistic", seed=seed, rounds=10, folds=5, method="auto")
        by_ece = min(c.ece_by_method, key=lambda m: (c.ece_by_method[m], m != "isotonic"))
        if by_ece == c.method:
            continue
        xs, ys = _points(_score_all(fresh, _Scorer("logistic", _fit("logistic", small, seed, 10))))
        other = (fit_isotonic if by_ece == "isotonic" else fit_platt)(*_points(c.scored))
        differ.append((ece([c.cal(x) for x in xs], ys), ece([other(x) for x in xs], ys)))
    assert differ, "the two rules never disagreed: the test would not tell them apart"
    assert all(auto < other for auto, other in differ), differ


# --------------------------------------------------------------------------- the calibration target: the metric
def test_metric_judge_counts_as_the_metric_does() -> None:
    from evidex.eval.judge import metric_judge

    sd = GoldDoc("s", None, "t", MappingProxyType({"address": ("1 JALAN IPOH, KUALA LUMPUR.",),
                                                   "date": ("25/12/2018",)}))
    sroie = metric_judge(GoldSet("sroie", "train", "sroie", builtin_schema("sroie"), (sd,)))
    assert sroie("s", "address", "1 JALAN IPOH,  KUALA LUMPUR.")  # whitespace only
    assert not sroie("s", "address", "1 JALAN IPOH, KUALA LUMPUR,")  # the training label's loose key agrees; SROIE not
    assert not sroie("s", "address", "1 jalan ipoh, kuala lumpur.")  # SROIE keeps case
    assert sroie("s", "date", "25/12/2018") and not sroie("s", "date", "2018-12-25")  # dates as printed
    assert not sroie("other", "date", "25/12/2018")
    kd = GoldDoc("k", None, "t", MappingProxyType({"party": ("Acme_Inc.", "Bob_Ltd"), "effective_date": ("2010-05-02",)}))
    kleister = metric_judge(GoldSet("kleister-nda", "train", "kleister", builtin_schema("kleister-nda"), (kd,)))
    assert kleister("k", "party", "ACME, Inc.") and kleister("k", "party", "Bob Ltd") and not kleister("k", "party", "Acme")
    assert kleister("k", "effective_date", "May 2, 2010")  # typed (not as printed): ISO, as the gold
    fd = GoldDoc("f", None, "t", MappingProxyType({"when": ("2024-05-02",), "who": ("Ann Lee",)}))
    schema = Schema.from_dict({"name": "t", "fields": {"when": "date", "who": "string"}})
    field = metric_judge(GoldSet("mine", "gold", "field", schema, (fd,)))
    assert field("f", "when", "2 May 2024") and field("f", "who", "ann  LEE") and not field("f", "who", "Ann")


def test_calibration_follows_the_judge_not_the_labels() -> None:
    groups = _groups(30)
    by_labels = calibrate(groups, "logistic", seed=0, rounds=10, folds=3, method="isotonic")
    nothing_right = calibrate(groups, "logistic", seed=0, rounds=10, folds=3, method="isotonic",
                              judge=lambda d, f, t: False)
    assert by_labels.cal(0.99) > 0.5 and nothing_right.cal(0.99) == 0.0
    # candidate '0' judged right in even documents only: the label of each group's best-scored candidate is
    # the judge's verdict (the other labels are not read and stay)
    half = calibrate(groups, "logistic", seed=0, rounds=10, folds=3, method="isotonic",
                     judge=lambda d, f, t: t == "0" and int(d[1:]) % 2 == 0)
    for (g, s), (g0, _) in zip(half.scored, by_labels.scored, strict=True):
        best = max(range(len(s)), key=lambda i: s[i])
        assert g.labels[best] == int(best == 0 and int(g.doc_id[1:]) % 2 == 0)
        assert [y for i, y in enumerate(g.labels) if i != best] == [y for i, y in enumerate(g0.labels) if i != best]


@pytest.mark.data
def test_train_samples_a_dataset_whose_loader_does_not(shared_data: Path) -> None:
    from evidex.cli.train_cmd import _gold

    a, ex = _gold("kleister-nda", None, None, shared_data, 20, None, 0, 0, 3)
    b, _ = _gold("kleister-nda", None, None, shared_data, 20, None, 0, 0, 3)
    c, _ = _gold("kleister-nda", None, None, shared_data, 20, None, 0, 0, 4)
    full, _ = _gold("kleister-nda", None, None, shared_data, None, None, 0, 0, 3)
    ids = [d.id for d in a.docs]
    assert len(ids) == len(set(ids)) == 20 and ex == [] and ids == [d.id for d in b.docs]
    assert set(ids) <= {d.id for d in full.docs} and ids != [d.id for d in c.docs]
