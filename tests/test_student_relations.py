"""Feature set 3 of the student: relational features (a nearby amount that differs by cents, peers labelled like
the field, the span tagger's probabilities around a candidate). Set-1 and set-2 students read exactly the
columns they read before and score the same; a set-3 student is trained, recorded in its card and scored."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from evidex.extract.candidates import Candidate
from evidex.extract.proposers import CandidateProposer
from evidex.extract.student.features import (
    N_FEATURES,
    N_FEATURES_RELATIONS,
    N_FEATURES_SEMANTIC,
    RELATIONS_OFFSET,
    DocFeatures,
    FieldInfo,
    feature_names,
    feature_set_of,
    field_rows,
)
from evidex.extract.student.model import load_student, width
from evidex.extract.student.relations import RELATIONS, using_relations
from evidex.extract.student.scorer import default_student, score_fields
from evidex.model import Field, FieldType, Schema, Span
from evidex.parse import parse_file

COL = {name: RELATIONS_OFFSET + i for i, name in enumerate(RELATIONS)}
TOTAL = Field("total", FieldType.MONEY, description="Total amount paid.")
RECEIPT = ("SHOP 7\nITEM 1  12.00\nTOTAL AMT  60.31\nROUNDING ADJ  -0.01\nTOTAL ROUNDED  60.30\nCASH  70.30\n"
           "CHANGE  10.00\n")


def _rows(path: Path, f: Field, relations: bool | None,
          cands: list[Candidate] | None = None) -> tuple[list[str], list[dict[int, float]]]:
    doc = parse_file(path)
    cands = cands if cands is not None else list(CandidateProposer().propose(doc))
    ranked, rows = field_rows(DocFeatures(doc, cands, None, relations), FieldInfo.of(f), cands, 100)
    return [c.text for c, _ in ranked], [dict(r) for r in rows]


def test_amount_relations_see_the_rounded_total(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text(RECEIPT, encoding="utf-8")
    texts, rows = _rows(tmp_path / "r.txt", TOTAL, True)
    by = dict(zip(texts, rows, strict=True))
    # 60.31 is followed by an amount a cent away, 60.30 preceded by one; 70.30 and 12.00 have none
    assert by["60.31"].get(COL["rel:amt_close_after"]) == 1.0 and COL["rel:amt_close_before"] not in by["60.31"]
    assert by["60.30"].get(COL["rel:amt_close_before"]) == 1.0 and COL["rel:amt_close_after"] not in by["60.30"]
    for t in ("70.30", "12.00"):
        assert COL["rel:amt_close_after"] not in by[t] and COL["rel:amt_close_before"] not in by[t]
    # peers labelled like the field ("TOTAL …"): one after 60.31 (the rounded total, a cent lower), none after 60.30
    assert by["60.31"][COL["rel:peer_is"]] == 1.0 and by["60.31"][COL["rel:peer_after"]] >= 1.0
    assert by["60.31"][COL["rel:peer_next_amt"]] == 1.0
    assert by["60.31"][COL["rel:peer_next_delta"]] == pytest.approx((60.30 - 60.31) / 60.31)
    assert COL["rel:peer_after"] not in by["60.30"] and by["60.30"][COL["rel:peer_before"]] >= 1.0
    # every set-3 row carries the marker column; the set-1 columns are those of a set-1 row, set 2's are empty
    plain_texts, plain = _rows(tmp_path / "r.txt", TOTAL, False)
    assert plain_texts == texts and all(r[COL["rel:set"]] == 1.0 for r in rows)
    assert [{k: v for k, v in r.items() if k < N_FEATURES} for r in rows] == plain
    assert not any(N_FEATURES <= k < RELATIONS_OFFSET for r in rows for k in r)
    assert all(max(r) < N_FEATURES_RELATIONS for r in rows) and all(max(r) < N_FEATURES for r in plain)
    assert feature_set_of([list(r.items()) for r in rows]) == ("3", N_FEATURES_RELATIONS)
    assert feature_set_of([list(r.items()) for r in plain]) == ("1", N_FEATURES)
    assert width([[(N_FEATURES, 0.5)]]) == N_FEATURES_SEMANTIC  # a set-2 row, as before
    assert len(feature_names(relations=True)) == N_FEATURES_RELATIONS
    # the default follows the training context
    with using_relations():
        assert _rows(tmp_path / "r.txt", TOTAL, None)[1] == rows
    assert _rows(tmp_path / "r.txt", TOTAL, None)[1] == plain


def test_tagger_relations_read_the_candidates_extra(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("CITY MILK\nR&C VENTURE SDN BHD\nNO 1, JALAN IPOH\nTOTAL 5.00\n", encoding="utf-8")
    doc = parse_file(tmp_path / "r.txt")
    s = doc.text.index("R&C")
    e = doc.text.index("\n", s)
    company = Field("company", FieldType.STRING, description="Name of the shop.")
    cands = [Candidate(0, Span(0, e), doc.text[:e], "tagger", tags=frozenset({"tagger:company"}),
                       extra={"tagger_prob:company": "0.8100", "tagger_marg:company": "0.810 0.000 0.020"}),
             Candidate(1, Span(s, e), doc.text[s:e], "line", extra={"tagger_marg:company": "0.900 0.650 0.020"})]
    texts, rows = _rows(tmp_path / "r.txt", company, True, cands)
    by = dict(zip(texts, rows, strict=True))
    tagged, line = by["CITY MILK\nR&C VENTURE SDN BHD"], by["R&C VENTURE SDN BHD"]
    assert tagged[COL["rel:tg_this"]] == 1.0 and tagged[COL["rel:tg_prob"]] == pytest.approx(0.81)
    assert tagged[COL["rel:tg_in"]] == pytest.approx(0.81) and COL["rel:tg_before"] not in tagged
    assert COL["rel:tg_this"] not in line and COL["rel:tg_prob"] not in line
    assert line[COL["rel:tg_in"]] == pytest.approx(0.9) and line[COL["rel:tg_before"]] == pytest.approx(0.65)
    # another field reads nothing of the company's probabilities
    _, other = _rows(tmp_path / "r.txt", Field("address", FieldType.STRING), True, cands)
    assert not any(COL[n] in r for r in other for n in RELATIONS if n.startswith("rel:tg_"))


def test_set1_student_ignores_relations_and_tagger_extras(tmp_path: Path) -> None:
    """The packaged (set-1) student scores the same whether candidates carry the tagger's probabilities or a
    training block asks for relational features: it never computes them."""
    (tmp_path / "r.txt").write_text(RECEIPT, encoding="utf-8")
    doc = parse_file(tmp_path / "r.txt")
    cands = list(CandidateProposer().propose(doc))
    noisy = [Candidate(c.id, c.span, c.text, c.source, c.label, c.tags, c.node, c.position, c.layer,
                       {**c.extra, "tagger_marg:total": "0.500 0.100 0.900", "tagger_prob:total": "0.7000"})
             for c in cands]
    model = default_student()
    assert model.card["feature_set"] == "1" and not model.relational
    fields = [TOTAL, Field("date", FieldType.DATE)]

    def scores(cs: list[Candidate]) -> list[tuple[str | None, float, tuple[float, ...]]]:
        return [(c.candidate.text if c.candidate else None, c.score, tuple(p for _, p in c.options))
                for c in score_fields(model, doc, fields, cs)]

    plain = scores(cands)
    assert scores(noisy) == plain
    with using_relations():
        assert scores(noisy) == plain


def _gold(root: Path, n: int, seed: int) -> Path:
    """Receipts whose total is the rounded amount printed after a rounding line (cents differ), among others."""
    rnd = random.Random(seed)
    (root / "docs").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        total = round(rnd.uniform(5, 300), 2)
        adj = rnd.choice([-0.02, -0.01, 0.01, 0.02])
        rounded = round(total + adj, 2)
        cash = float(int(rounded // 10 + 1) * 10)
        lines = [f"SHOP {rnd.randint(1, 99)}", f"ITEM 1  {round(total / 2, 2):.2f}",
                 f"{rnd.choice(['TOTAL', 'TOTAL AMT', 'TOTAL SALES'])}  {total:.2f}",
                 f"{rnd.choice(['ROUNDING ADJ', 'ROUNDING', 'ADJ'])}  {adj:+.2f}", f"RM  {rounded:.2f}",
                 f"CASH  {cash:.2f}", f"CHANGE  {cash - rounded:.2f}"]
        (root / "docs" / f"r{seed}-{i}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        rows.append(json.dumps({"id": f"r{seed}-{i}", "path": f"docs/r{seed}-{i}.txt",
                                "fields": {"total": f"{rounded:.2f}"}}))
    (root / "gold.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root / "gold.jsonl"


def test_set3_student_trains_loads_and_scores(tmp_path: Path) -> None:
    pytest.importorskip("lightgbm")
    pytest.importorskip("sklearn")
    from evidex.distill import train
    from evidex.eval.datasets import load_jsonl_gold

    schema = Schema("receipt", (TOTAL,))
    gs = load_jsonl_gold(_gold(tmp_path / "train", 40, 1), schema=schema)
    with using_relations():
        rep = train(gs, tmp_path / "m3", rounds=40, seed=0)
    plain = train(gs, tmp_path / "m1", rounds=40, seed=0)
    assert rep.card["feature_set"] == "3" and rep.card["features"] == N_FEATURES_RELATIONS
    assert plain.card["feature_set"] == "1" and plain.card["features"] == N_FEATURES
    m3, m1 = load_student(tmp_path / "m3"), load_student(tmp_path / "m1")
    py3 = load_student(tmp_path / "m3", pure_python=True)
    assert m3.relational and not m1.relational
    test = load_jsonl_gold(_gold(tmp_path / "test", 10, 2), schema=schema)
    right = 0
    for d, path in zip(test.docs, test.paths(), strict=True):
        doc = parse_file(path)
        cands = list(CandidateProposer().propose(doc))
        ch = score_fields(m3, doc, [TOTAL], cands)[0]
        assert [p for _, p in ch.options] == [p for _, p in score_fields(py3, doc, [TOTAL], cands)[0].options]
        right += ch.candidate is not None and ch.candidate.text.removeprefix("RM").strip() == d.fields["total"][0]
    assert right >= 9, right


def test_cli_train_writes_set_3_by_default_and_set_1_on_request(tmp_path: Path) -> None:
    pytest.importorskip("lightgbm")
    pytest.importorskip("sklearn")
    from typer.testing import CliRunner

    from evidex.cli.main import app

    gold = _gold(tmp_path / "g", 20, 3)
    (tmp_path / "s.yaml").write_text("name: receipt\nfields:\n  total: {type: money, description: Total amount paid.}\n",
                                     encoding="utf-8")
    runner = CliRunner()
    base = ["train", str(gold), "--schema", str(tmp_path / "s.yaml"), "--tagger", "off", "--rounds", "20"]
    for args, want in (([], "3"), (["--features", "1"], "1")):
        out = tmp_path / f"m{want}"
        r = runner.invoke(app, [*base, *args, "-o", str(out)])
        assert r.exit_code == 0, r.output
        assert json.loads((out / "card.json").read_text())["feature_set"] == want
    r = runner.invoke(app, [*base, "--features", "2", "-o", str(tmp_path / "bad")])
    assert r.exit_code != 0 and "unknown feature set" in str(r.exception)


def test_tagger_marginals_around_read_the_lines_before_and_after_not_the_candidates_own() -> None:
    """A mid-line candidate ("60.31" after "TOTAL"): its own tokens, then the line above and the line below."""
    from evidex.extract.tagger import Marginals, Token

    text = "AAA\nTOTAL 60.31\nBBB"
    toks = [Token(0, 3, 0), Token(4, 9, 1), Token(10, 15, 1), Token(16, 19, 2)]
    assert [text[t.start:t.end] for t in toks] == ["AAA", "TOTAL", "60.31", "BBB"]
    m = Marginals(toks, {"total": [0.1, 0.2, 0.9, 0.3]})
    assert m.around(10, 15) == {"total": (0.9, 0.1, 0.3)}
    assert m.around(0, 3) == {"total": (0.1, 0.0, pytest.approx(0.55))}  # first line: nothing before
    assert m.around(4, 15) == {"total": (pytest.approx(0.55), 0.1, 0.3)}
