"""Feature set 4 of the student: context features (how many of the field's words lead up to a candidate on its
line, how close the nearest is, how much of the field's name its label covers). A set-4 row is a set-3 row plus
these columns; a set-4 student is trained, recorded in its card, loaded and scored."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidex.extract.proposers import CandidateProposer
from evidex.extract.student.context import CONTEXT, left_terms, using_context
from evidex.extract.student.features import (
    CONTEXT_OFFSET,
    N_FEATURES_CONTEXT,
    N_FEATURES_RELATIONS,
    DocFeatures,
    FieldInfo,
    feature_names,
    feature_set_of,
    field_rows,
)
from evidex.extract.student.relations import using_relations
from evidex.model import Field, FieldType
from evidex.parse import parse_file

COL = {name: CONTEXT_OFFSET + i for i, name in enumerate(CONTEXT)}
TERMINATION = Field("termination_date", FieldType.DATE, description="the date the agreement terminates")
LETTER = ("Ref: HC/2024/1187\nDate: 2 May 2024\n\nDear Sir,\n\nThe supply agreement dated 9 January 2021 may be "
          "ended on notice. Our client gives notice that the Agreement will terminate on 31 July 2024.\n")


def test_left_terms_stop_at_the_line_and_the_sentence() -> None:
    text = "Total due\nWe agree. The agreement will terminate on 31 July"
    at = text.index("31 July")
    # stemmed, stop words out, nearest last; not "agree." of the previous sentence, not the previous line
    assert left_terms(text, at) == ["agree", "will", "termi"]
    assert left_terms(text, text.index("We")) == []
    long = "one two three four five six seven eight nine ten 5 May"
    assert len(left_terms(long, long.index("5 May"))) == 8


def _rows(path: Path, f: Field, **kw: bool | None) -> dict[str, dict[int, float]]:
    doc = parse_file(path)
    cands = list(CandidateProposer().propose(doc))
    ranked, rows = field_rows(DocFeatures(doc, cands, None, **kw), FieldInfo.of(f), cands, 100)
    return {c.text: dict(r) for (c, _), r in zip(ranked, rows, strict=True)}


def test_context_columns_tell_the_termination_date_from_the_letters_date(tmp_path: Path) -> None:
    (tmp_path / "l.txt").write_text(LETTER, encoding="utf-8")
    rows = _rows(tmp_path / "l.txt", TERMINATION, context=True)
    end, dated, letter = rows["31 July 2024"], rows["9 January 2021"], rows["2 May 2024"]
    # "… the Agreement will terminate on": the name's "terminate" right before it, and "agreement" of the description
    assert end[COL["ctx:left_name"]] == 1.0 and end[COL["ctx:left_near_name"]] == 1.0
    assert end[COL["ctx:left_all"]] == 2.0 and end[COL["ctx:left_name_cover"]] == 0.5
    # "Date: 2 May 2024": its label names half the field ("date", not "termination")
    assert letter[COL["ctx:label_name_cover"]] == 0.5 and letter[COL["ctx:label_all_hits"]] == 1.0
    # "agreement dated": field words ("dated" is a synonym of "date"), but none of the name's own words
    assert COL["ctx:left_name_cover"] not in dated and dated[COL["ctx:left_all"]] == 2.0
    assert all(r[COL["ctx:set"]] == 1.0 for r in rows.values())
    # a set-4 row is the set-3 row plus the context columns
    rel = _rows(tmp_path / "l.txt", TERMINATION, relations=True)
    assert {t: {k: v for k, v in r.items() if k < CONTEXT_OFFSET} for t, r in rows.items()} == rel
    assert feature_set_of([list(r.items()) for r in rows.values()]) == ("4", N_FEATURES_CONTEXT)
    assert feature_set_of([list(r.items()) for r in rel.values()]) == ("3", N_FEATURES_RELATIONS)
    assert len(feature_names(context=True)) == N_FEATURES_CONTEXT
    # the default follows the training context
    with using_context():
        assert _rows(tmp_path / "l.txt", TERMINATION) == rows
    with using_relations():
        assert _rows(tmp_path / "l.txt", TERMINATION) == rel


def _lease_gold(root: Path, n: int, seed: int) -> Path:
    """Letters with three dates in random order and years — the letter's, a contract's "dated", the end date — so
    only the words before a date tell which ends the lease."""
    import json
    import random

    rnd = random.Random(seed)
    months = ["January", "March", "May", "July", "September", "November"]
    (root / "docs").mkdir(parents=True)
    gold = []
    for i in range(n):
        d = [f"{rnd.randint(1, 28)} {rnd.choice(months)} {rnd.randint(2015, 2030)}" for _ in range(3)]
        sentences = [f"The lease dated {d[1]} may end on notice.", f"The lease will terminate on {d[2]}."]
        rnd.shuffle(sentences)
        (root / "docs" / f"d{i}.txt").write_text(f"Ref: X/{i}\nDate: {d[0]}\n\n{' '.join(sentences)}\n", encoding="utf-8")
        gold.append(json.dumps({"id": f"d{i}", "path": f"docs/d{i}.txt", "fields": {"termination_date": d[2]}}))
    (root / "gold.jsonl").write_text("\n".join(gold) + "\n", encoding="utf-8")
    return root / "gold.jsonl"


def test_set4_student_trains_loads_and_scores(tmp_path: Path) -> None:
    pytest.importorskip("lightgbm")
    pytest.importorskip("sklearn")
    from typer.testing import CliRunner

    from evidex.cli.main import app
    from evidex.eval.datasets import load_jsonl_gold
    from evidex.extract.student.model import load_student
    from evidex.extract.student.scorer import score_fields
    from evidex.model import Schema

    (tmp_path / "s.yaml").write_text("name: lease\nfields:\n  termination_date: {type: date, description: the date "
                                     "the lease terminates}\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["train", str(_lease_gold(tmp_path / "train", 30, 1)), "--schema",
                                 str(tmp_path / "s.yaml"), "--tagger", "off", "--rounds", "30", "--features", "4",
                                 "-o", str(tmp_path / "m4")])
    assert r.exit_code == 0, r.output
    m4, py4 = load_student(tmp_path / "m4"), load_student(tmp_path / "m4", pure_python=True)
    assert m4.card["feature_set"] == "4" and m4.card["features"] == N_FEATURES_CONTEXT
    assert m4.contextual and m4.relational
    field = Field("termination_date", FieldType.DATE, description="the date the lease terminates")
    test = load_jsonl_gold(_lease_gold(tmp_path / "test", 10, 2), schema=Schema("lease", (field,)))
    right = 0
    for d, path in zip(test.docs, test.paths(), strict=True):
        doc = parse_file(path)
        cands = list(CandidateProposer().propose(doc))
        ch = score_fields(m4, doc, [field], cands)[0]
        assert [p for _, p in ch.options] == [p for _, p in score_fields(py4, doc, [field], cands)[0].options]
        right += ch.candidate is not None and ch.candidate.text == d.fields["termination_date"][0]
    assert right >= 9, right
