"""The packaged generic student (issue 9 §2): loadable by name, small, scored without LightGBM by the pure-Python
tree reader (same probabilities), and one student trained over several schemas at once (distill.multi)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from evidex.extract import ExtractOptions
from evidex.extract.engine import Extractor
from evidex.extract.proposers import CandidateProposer
from evidex.extract.student.features import DocFeatures, FieldInfo, field_rows
from evidex.extract.student.model import load_student
from evidex.extract.student.scorer import DEFAULT_MODEL, StudentOptions, StudentScorer
from evidex.model import Field, FieldType
from evidex.parse import parse_file
from evidex.pipeline.core import load_schema

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_packaged_default_student_is_small_and_documented() -> None:
    files = {p.name: p.stat().st_size for p in DEFAULT_MODEL.iterdir()}
    assert {"card.json", "calibration.json"} <= set(files) and ("model.txt" in files or "weights.json" in files)
    assert sum(files.values()) < 3_000_000
    card = json.loads((DEFAULT_MODEL / "card.json").read_text())
    assert {d["dataset"] for d in card["training_data"]} >= {"sroie", "nda"}
    assert card["thresholds"] == {}  # one global threshold: a generic student has no per-field ones
    assert 0.0 < card["threshold"] < 1.0
    # it says how it decides and how its confidence was calibrated (docs/benchmarks.md, "List-field extras and
    # out-of-dataset calibration"), and the loaded model follows what it says
    m = load_student(DEFAULT_MODEL, pure_python=True)
    assert card["empty"]["rule"] == m.empty_rule == "prior" and card["empty"]["extras"] == m.extras_rule == "ratio"
    assert card["calibration"].startswith("platt, cross-dataset (every document)")
    assert json.loads((DEFAULT_MODEL / "calibration.json").read_text())["method"] == "platt"
    assert "calibrated out-of-dataset" in card["description"] and "'ratio' rule" in card["description"]


def test_default_student_by_name() -> None:
    a = StudentScorer(StudentOptions(model="default")).model
    b = StudentScorer(StudentOptions()).model
    assert a.path == b.path == DEFAULT_MODEL


def _rows(schema_path: Path, doc_path: Path) -> list[list[tuple[int, float]]]:
    doc = parse_file(doc_path)
    cands = list(CandidateProposer().propose(doc))
    df = DocFeatures(doc, cands)
    rows: list[list[tuple[int, float]]] = []
    for f in load_schema(schema_path).fields:
        if f.type is not FieldType.RECORD and f.type is not FieldType.BOOLEAN:
            rows += field_rows(df, FieldInfo.of(f), cands, 100)[1]
    return rows


def test_pure_python_trees_give_lightgbms_probabilities() -> None:
    pytest.importorskip("lightgbm")
    fast, pure = load_student(DEFAULT_MODEL), load_student(DEFAULT_MODEL, pure_python=True)
    if fast.kind != "lightgbm":
        pytest.skip("the packaged student is not a LightGBM model")
    assert pure._booster is None and fast._booster is not None
    rows = _rows(EXAMPLES / "schemas" / "letter.yaml", EXAMPLES / "letter-termination.txt")
    rows += _rows(EXAMPLES / "schemas" / "invoice.yaml", EXAMPLES / "invoice-acme.html")
    a, b = fast.raw_scores(rows), pure.raw_scores(rows)
    assert len(a) == len(rows) > 50 and len(set(a)) > 10  # varied scores, not a constant
    assert max(abs(x - y) for x, y in zip(a, b, strict=True)) < 1e-9


def test_default_student_on_an_unseen_schema() -> None:
    """The invoice schema is in none of its training sets: values are grounded spans with calibrated,
    varied confidences, the ones under the review threshold flagged."""
    doc = parse_file(EXAMPLES / "invoice-acme.html")
    schema = load_schema(EXAMPLES / "schemas" / "invoice.yaml")
    opts = ExtractOptions(mode="rules", scorer="student", stage_options={"scorer": {"model": "default"}})
    r = Extractor(None, opts).extract(doc, schema)
    assert r.ok and r.diagnostics["scorer"] == "student"
    chosen = [x for x in r.extractions if "[" not in x.path]
    assert chosen and all(0.0 <= x.confidence <= 1.0 for x in chosen)
    for x in chosen:
        assert doc.text[x.evidence[0].start:x.evidence[0].end]
        assert bool(x.review) == (x.confidence < opts.review_threshold)


_SCHEMA_A = "name: a\nfields:\n  total:\n    type: money\n    description: Total amount paid.\n"
_SCHEMA_B = ("name: b\nfields:\n  reference:\n    type: string\n    description: the letter's reference number\n"
             "  sent:\n    type: date\n    description: the date the letter was written\n")


def _gold(root: Path, name: str, schema: str, n: int, seed: int) -> Path:
    rnd = random.Random(seed)
    (root / name).mkdir(parents=True)
    lines = []
    for i in range(n):
        if name == "a":
            items = [round(rnd.uniform(1, 90), 2) for _ in range(rnd.randint(2, 4))]
            total = round(sum(items), 2)
            text = "\n".join([f"SHOP {i}", *(f"ITEM {k}  {v:.2f}" for k, v in enumerate(items)),
                              f"TOTAL  {total:.2f}", f"CASH  {total + 10:.2f}"])
            fields = {"total": f"{total:.2f}"}
        else:
            ref, day = f"AB/{rnd.randint(100, 999)}/{i}", rnd.randint(1, 28)
            text = (f"Acme Ltd\nRef: {ref}\nDate: {day} March 2024\n\nDear Sir,\nWe met on {day + 1} April 2023 "
                    f"about order {rnd.randint(1000, 9999)}.\n")
            fields = {"reference": ref, "sent": f"2024-03-{day:02d}"}
        (root / name / f"{i}.txt").write_text(text + "\n", encoding="utf-8")
        lines.append(json.dumps({"id": f"d{i}", "path": f"{name}/{i}.txt", "fields": fields}))
    (root / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / f"{name}.yaml").write_text(schema, encoding="utf-8")
    return root / f"{name}.jsonl"


def test_one_student_over_two_schemas(tmp_path: Path) -> None:
    pytest.importorskip("lightgbm")
    pytest.importorskip("sklearn")
    from evidex.distill.multi import collect, evaluate_parts, train_parts
    from evidex.eval.datasets import load_jsonl_gold

    ga = load_jsonl_gold(_gold(tmp_path, "a", _SCHEMA_A, 30, 1), schema=load_schema(tmp_path / "a.yaml"))
    gb = load_jsonl_gold(_gold(tmp_path, "b", _SCHEMA_B, 30, 2), schema=load_schema(tmp_path / "b.yaml"))
    pa, pb = collect(ga, name="a", exclude=["d0"]), collect(gb, name="b")
    assert pa.stats.docs == 29 and {g.field for g in pa.groups} == {"total"}  # its own schema only
    assert {g.doc_id for g in pb.groups} == {f"b/d{i}" for i in range(30)}  # ids prefixed: no clash with a's
    card = train_parts([pa, pb], tmp_path / "m", rounds=30)
    assert card["thresholds"] == {} and [d["dataset"] for d in card["training_data"]] == ["a", "b"]
    model = load_student(tmp_path / "m")
    ev = evaluate_parts(model, [collect(gb, name="b-again")])
    assert ev["groups"] == 60 and 0.0 <= ev["ece_10_bins"] <= 1.0 and ev["top1_correct"] > 0.8
    # a document of b's kind it never saw: the letter's date, not the other date in it
    (tmp_path / "new.txt").write_text("Beta plc\nRef: ZZ/1/2\nDate: 9 March 2025\n\nWe met on 2 May 2022.\n")
    sent = Field("sent", FieldType.DATE, description="the date the letter was written")
    rows = field_rows(DocFeatures(d := parse_file(tmp_path / "new.txt"), c := list(CandidateProposer().propose(d))),
                      FieldInfo.of(sent), c, 100)
    probs = model.probabilities(rows[1])
    best = rows[0][max(range(len(probs)), key=lambda i: (probs[i][1], probs[i][0]))][0]  # as score_fields ranks
    assert best.text == "9 March 2025"


def test_compiled_trees_give_the_walked_trees_scores_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pure-Python reader runs each tree as generated Python (nested ifs over the model's numbers): bit for bit
    the sum the array walk gives, also for trees too deep to compile (left walked)."""
    from evidex.extract.student import model as M

    pure = load_student(DEFAULT_MODEL, pure_python=True)
    assert pure._trees is not None
    trees = pure._trees.trees
    rows = _rows(EXAMPLES / "schemas" / "letter.yaml", EXAMPLES / "letter-termination.txt")
    walked = [sum(t.value(dict(r).get) for t in trees) for r in rows]
    assert len(set(walked)) > 10
    assert M.TreeEnsemble(trees).margins(rows) == walked
    assert any(t.source("t") is not None and "if" in (t.source("t") or "") for t in trees)
    monkeypatch.setattr(M, "MAX_TREE_DEPTH", 1)  # every tree deeper than one split stays walked
    shallow = M.TreeEnsemble(trees)
    assert any(t.source("t") is None for t in trees) and shallow.margins(rows) == walked


def test_a_tree_with_a_non_finite_number_stays_walked() -> None:
    """``inf`` / ``nan`` have no Python literal: such a tree is not compiled, and scores as the walk does."""
    from evidex.extract.student import model as M

    tree = M._Tree((3,), (float("inf"),), (0,), (-1,), (-2,), (0.25, -0.5))
    assert tree.source("t") is None
    assert M.TreeEnsemble((tree,)).margins([[(3, 7.0)], []]) == [0.25, 0.25]


def test_default_engine_finds_the_letters_termination_date() -> None:
    """The issue's own example: the demo letter terminates the agreement on 31 July 2024 ("… will terminate on"),
    not on its own date ("Date: 2 May 2024"), under the default student and the prior alike: a label naming only
    the field's type counts half against words naming which date (tests/test_prior_key_words.py)."""
    doc = parse_file(EXAMPLES / "letter-termination.txt")
    schema = load_schema(EXAMPLES / "schemas" / "letter.yaml")
    r = Extractor(None, ExtractOptions(mode="rules")).extract(doc, schema)  # no model: the candidate fields only
    assert r.ok and r.diagnostics["scorer"] == "student"
    assert str(r.values().get("termination_date")) == "2024-07-31", r.values()
    assert str(r.values().get("letter_date")) == "2024-05-02", r.values()
    p = Extractor(None, ExtractOptions(mode="rules", scorer="prior")).extract(doc, schema)
    assert p.diagnostics["scorer"] == "prior"
    assert (str(p.values().get("termination_date")), str(p.values().get("letter_date"))) == ("2024-07-31", "2024-05-02")
