"""The CRF span tagger (issue 9 §2): it learns values no built-in candidate proposes (names and addresses printed
over several lines), its spans quote the canonical text exactly, it saves and loads in crfsuite's own format,
trains deterministically, and ``--student DIR`` uses it. Generated letters written as real files; seconds."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

pytest.importorskip("pycrfsuite")
pytest.importorskip("lightgbm")
pytest.importorskip("sklearn")

from typer.testing import CliRunner

from evidex.cli.main import app
from evidex.distill.tagger import coverage_of, prepare, tagger_for_training
from evidex.eval.datasets import load_jsonl_gold
from evidex.extract.candidates import build_candidates
from evidex.extract.proposers import TaggerOptions, TaggerProposer
from evidex.extract.tagger import TAGGER_MODEL, SpanTagger, read_card, student_stages
from evidex.model import Schema
from evidex.parse import parse_file

SCHEMA_YAML = """\
name: letter
fields:
  sender:
    type: string
    description: Name of the business that sent the letter.
  address:
    type: string
    description: Postal address of the sender.
  total:
    type: money
    description: Amount due.
"""
_FIRST = ["GOLDEN", "SILVER", "NEW", "GREAT", "ROYAL", "EASTERN", "NORTHERN", "SUNNY", "HAPPY", "LUCKY"]
_SECOND = ["RIVER BAKERY", "HILL FLORIST", "LAKE MOTORS", "STAR HARDWARE", "PALM DINER", "OAK BOOKS", "BAY TAILOR"]
_STREETS = ["JALAN MERANTI", "JALAN BUNGA", "JALAN IPOH", "LORONG MAJU", "JALAN SETIA"]
_TOWNS = ["TAMAN SRI", "TAMAN JAYA", "BANDAR BARU", "TAMAN MELATI"]
_CITIES = ["KUALA LUMPUR", "PETALING JAYA", "SHAH ALAM", "IPOH", "KLANG"]


def _letter(rnd: random.Random) -> tuple[str, dict[str, str]]:
    first, second = rnd.choice(_FIRST), rnd.choice(_SECOND)
    street = f"NO {rnd.randint(1, 99)}, {rnd.choice(_STREETS)},"
    town = f"{rnd.choice(_TOWNS)}, {rnd.randint(40000, 59999)} {rnd.choice(_CITIES)}"
    total = f"{rnd.uniform(5, 500):.2f}"
    lines = [first, second, f"TEL {rnd.randint(10, 99)}-{rnd.randint(1000, 9999)} {rnd.randint(1000, 9999)}",
             street, town, "", f"Dear customer, thank you for your order {rnd.randint(100, 999)}.",
             f"Items delivered: {rnd.randint(1, 9)}", f"AMOUNT DUE: RM {total}", "Kind regards"]
    return "\n".join(lines) + "\n", {"sender": f"{first} {second}", "address": f"{street} {town}", "total": total}


def _write(root: Path, n: int, seed: int) -> Path:
    rnd = random.Random(seed)
    (root / "docs").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        text, fields = _letter(rnd)
        (root / "docs" / f"l{seed}-{i}.txt").write_text(text, encoding="utf-8")
        rows.append(json.dumps({"id": f"l{seed}-{i}", "path": f"docs/l{seed}-{i}.txt", "fields": fields}))
    (root / "gold.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (root / "schema.yaml").write_text(SCHEMA_YAML, encoding="utf-8")
    return root / "gold.jsonl"


def _norm(s: str) -> str:
    return " ".join(s.split())


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("tagger")
    train_gold = _write(root / "train", 30, seed=1)
    test_gold = _write(root / "test", 10, seed=2)
    gs = load_jsonl_gold(train_gold, schema=Schema.from_yaml(SCHEMA_YAML))
    model = root / "model"
    rep = tagger_for_training(gs, [], model, "auto", seed=0, max_iter=60)
    # the built-in candidates never hold the two-line name; the address block and the total they do hold, so
    # "auto" tags only the sender
    assert rep.coverage_before.miss_share("sender") == 1.0
    assert rep.coverage_before.miss_share("address") < 0.05 and rep.coverage_before.miss_share("total") == 0.0
    assert rep.fields == ["sender"]
    assert rep.coverage_after is not None and rep.coverage_after.miss_share("sender") < 0.2
    (model / "card.json").write_text("{}", encoding="utf-8")
    from evidex.distill.tagger import write_card_entry

    write_card_entry(model, rep, gs.schema, seed=0, max_iter=60, folds=2, docs=30)
    return root, model, test_gold


def test_tagger_finds_values_no_other_candidate_covers(setup: tuple[Path, Path, Path]) -> None:
    _, model, test_gold = setup
    gs = load_jsonl_gold(test_gold, schema=Schema.from_yaml(SCHEMA_YAML))
    from evidex.distill.tagger import Coverage

    prepared = prepare(gs.docs, gs.paths(), gs.schema, Coverage())
    proposer = TaggerProposer(TaggerOptions(model=str(model)))
    before = coverage_of(prepared, gs.schema, lambda p: build_candidates(p.doc).items)
    after = coverage_of(prepared, gs.schema, lambda p: proposer.propose(p.doc))
    assert before.miss_share("sender") == 1.0
    assert after.miss_share("sender") <= 0.2, after.to_dict()
    assert after.miss_share("total") == 0.0 and after.miss_share("address") == before.miss_share("address")


def test_tagged_spans_quote_the_text_exactly(setup: tuple[Path, Path, Path]) -> None:
    root, model, _ = setup
    proposer = TaggerProposer(TaggerOptions(model=str(model)))
    seen = 0
    for path in sorted((root / "test" / "docs").glob("*.txt")):
        doc = parse_file(path)
        cands = proposer.propose(doc)
        assert [c.id for c in cands] == list(range(len(cands)))
        for c in cands:
            assert doc.text[c.span.start : c.span.end] == c.text
            if c.source == "tagger":
                seen += 1
                assert c.extra["tagger_field"] == "sender"
                assert f"tagger:{c.extra['tagger_field']}" in c.tags
        for s in proposer.tagger.tag(doc):
            assert doc.text[s.start : s.end] == s.text(doc) and s.text(doc).strip() == s.text(doc)
            assert 0.0 < s.prob <= 1.0
    assert seen >= 8  # a two-line name per letter, nearly all found


def test_save_load_round_trip(setup: tuple[Path, Path, Path], tmp_path: Path) -> None:
    root, model, _ = setup
    card = read_card(model)
    assert card is not None and card["fields"] == {"sender": "string"}
    assert card["coverage_before"]["sender"]["miss_share"] == 1.0
    copy = tmp_path / "copy"
    shutil.copytree(model, copy)
    a, b = SpanTagger.load(model), SpanTagger.load(copy)
    assert (copy / TAGGER_MODEL).read_bytes()[:4] == b"lCRF"  # crfsuite's own format, not a pickle
    for path in sorted((root / "test" / "docs").glob("*.txt"))[:4]:
        doc = parse_file(path)
        assert a.tag(doc) == b.tag(doc) and a.tag(doc)


def test_candidates_carry_the_taggers_probabilities(setup: tuple[Path, Path, Path]) -> None:
    """Every candidate of a tagged document carries the tagger's probability that its tokens (and the lines around
    it) belong to a field, for the student's relational features; texts, spans and tags are as without them."""
    from evidex.extract.tagger import add_spans

    root, model, _ = setup
    tagger = SpanTagger.load(model)
    for path in sorted((root / "test" / "docs").glob("*.txt"))[:5]:
        doc = parse_file(path)
        base = build_candidates(doc).items
        spans, marg = tagger.tag_with_marginals(doc)
        assert spans == tagger.tag(doc) and set(marg.probs) == {"sender"}
        assert len(marg.probs["sender"]) == len(marg.toks) and all(0.0 <= p <= 1.0001 for p in marg.probs["sender"])
        plain, rich = add_spans(doc, base, spans, tagger.fields), add_spans(doc, base, spans, tagger.fields, marg)
        assert [(c.id, c.span, c.text, c.tags) for c in plain] == [(c.id, c.span, c.text, c.tags) for c in rich]
        tagged = [c for c in rich if "tagger:sender" in c.tags]
        assert tagged and all(float(c.extra["tagger_prob:sender"]) > 0 for c in tagged)
        for c in tagged:  # the sender's two lines: likely inside, the telephone line after it not
            vin, _, vafter = (float(x) for x in c.extra["tagger_marg:sender"].split())
            assert vin > 0.5 > vafter, c.extra
        amount = next(c for c in rich if "amount" in c.tags)
        assert float(amount.extra.get("tagger_marg:sender", "0 0 0").split()[0]) < 0.1
        assert all("tagger_marg:sender" not in c.extra for c in plain)


def test_training_is_deterministic(setup: tuple[Path, Path, Path], tmp_path: Path) -> None:
    root, model, _ = setup
    gs = load_jsonl_gold(root / "train" / "gold.jsonl", schema=Schema.from_yaml(SCHEMA_YAML))
    rep = tagger_for_training(gs, [], tmp_path / "again", "auto", seed=0, max_iter=60)
    assert (tmp_path / "again" / TAGGER_MODEL).read_bytes() == (model / TAGGER_MODEL).read_bytes()
    assert rep.counts["spans"] == 30


def test_student_stages_pick_the_tagger_up(setup: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, model, _ = setup
    assert student_stages(model, ["x.y=1"]) == ("tagger", ["x.y=1", f"scorer.model={model}",
                                                           f"proposer.model={model}"])
    assert student_stages(tmp_path, None) == (None, [f"scorer.model={tmp_path}"])


def test_cli_train_and_extract_use_the_tagger(setup: tuple[Path, Path, Path], tmp_path: Path) -> None:
    root, _, _ = setup
    runner = CliRunner()
    gold, schema = root / "train" / "gold.jsonl", root / "train" / "schema.yaml"
    fields = [json.loads(x)["fields"] for x in (root / "test" / "gold.jsonl").read_text().splitlines()]
    docs = sorted((root / "test" / "docs").glob("*.txt"), key=lambda p: int(p.stem.split("-")[1]))
    right = {}
    for tagger in ("auto", "off"):
        out = tmp_path / f"student-{tagger}"
        res = runner.invoke(app, ["train", str(gold), "--schema", str(schema), "-o", str(out), "--rounds", "20",
                                  "--tagger", tagger, "--tagger-iterations", "60"])
        assert res.exit_code == 0, res.output
        assert ((out / TAGGER_MODEL).is_file()) == (tagger == "auto")
        if tagger == "auto":
            assert "span tagger (sender)" in res.output
        pred = tmp_path / f"pred-{tagger}.jsonl"
        res = runner.invoke(app, ["extract", *map(str, docs), "--schema", str(schema), "--backend", "none",
                                  "--student", str(out), "-o", str(pred), "--quiet", "--in-process"])
        assert res.exit_code == 0, res.output
        n = 0
        for line, doc_path, gold_fields in zip(pred.read_text().splitlines(), docs, fields, strict=True):
            rec = json.loads(line)
            values = {x["path"]: x for x in rec["extractions"]}
            v = values.get("sender")
            if v and v["value"] and _norm(v["value"]) == gold_fields["sender"]:
                n += 1
                text = doc_path.read_text(encoding="utf-8")
                ev = v["evidence"]  # the value is grounded on the two printed lines, offsets into the file's text
                assert _norm(text[ev[0]["start"] : ev[-1]["end"]]) == gold_fields["sender"], ev
        right[tagger] = n
    assert right["off"] == 0 and right["auto"] >= 8, right


def test_auto_drops_a_field_the_tagger_cannot_find(setup: tuple[Path, Path, Path], tmp_path: Path) -> None:
    root, _, _ = setup
    # a field whose gold value is printed nowhere: every value misses a candidate, and no tagger can find it
    rows = [json.loads(x) for x in (root / "train" / "gold.jsonl").read_text().splitlines()]
    for r in rows:
        r["path"] = str(root / "train" / r["path"])
        r["fields"]["branch"] = "NORTH WING"
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    schema = Schema.from_yaml(SCHEMA_YAML + "  branch:\n    type: string\n    description: Branch.\n")
    gs = load_jsonl_gold(gold, schema=schema)
    rep = tagger_for_training(gs, [], tmp_path / "m", "auto", seed=0, max_iter=60)
    assert rep.coverage_before.miss_share("branch") == 1.0
    assert rep.fields == ["sender"] and rep.dropped == {"branch": 1.0}
    assert (tmp_path / "m" / TAGGER_MODEL).is_file()


def test_train_without_crfsuite_skips_the_default_tagger(setup: tuple[Path, Path, Path], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import evidex.cli.train_cmd as train_cmd

    root, _, _ = setup
    monkeypatch.setattr(train_cmd, "crf_available", lambda: False)
    args = ["train", str(root / "train" / "gold.jsonl"), "--schema", str(root / "train" / "schema.yaml"), "--rounds",
            "5"]
    res = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    assert "no span tagger" in res.output and not (tmp_path / "a" / TAGGER_MODEL).exists()
    res = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "b"), "--tagger", "all"])
    assert res.exit_code != 0 and "python-crfsuite" in str(res.exception)


def test_training_reports_every_iteration(setup: tuple[Path, Path, Path], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from evidex.distill.tagger import fit

    root, _, _ = setup
    gs = load_jsonl_gold(root / "train" / "gold.jsonl", schema=Schema.from_yaml(SCHEMA_YAML))
    from evidex.distill.tagger import Coverage

    prepared = prepare(gs.docs[:6], gs.paths()[:6], gs.schema, Coverage())
    seen: list[tuple[int, int]] = []
    fit(prepared, ["sender"], tmp_path / "t.crfsuite", max_iter=7, progress=lambda i, n: seen.append((i, n)))
    assert seen and seen[0] == (1, 7) and all(n == 7 for _, n in seen) and len(seen) <= 7
    assert capsys.readouterr().out == ""  # crfsuite's log is parsed, not printed


def test_a_near_duplicate_tagged_span_tags_the_existing_candidate(tmp_path: Path) -> None:
    from evidex.extract.candidates import Candidate
    from evidex.extract.tagger import TaggedSpan, add_spans
    from evidex.model import Span

    path = tmp_path / "nda.txt"
    path.write_text("This agreement between ACME, INC. and Bob Smith.\n", encoding="utf-8")
    doc = parse_file(path)
    s = doc.text.index("ACME")
    base = [Candidate(0, Span(s, s + len("ACME, INC.")), "ACME, INC.", "org")]
    out = add_spans(doc, base, [TaggedSpan("party", s, s + len("ACME, INC"), 0.9),
                                TaggedSpan("party", doc.text.index("Bob"), doc.text.index("Bob") + 9, 0.8)],
                    {"party": "string"})
    assert len(out) == 2 and out[0].span == base[0].span and "tagger:party" in out[0].tags
    assert out[1].source == "tagger" and out[1].text == "Bob Smith" and out[1].id == 1


def test_training_spans_keep_the_punctuation_the_gold_ends_with(tmp_path: Path) -> None:
    from evidex.distill.tagger import align
    from evidex.model import Field, FieldType

    path = tmp_path / "r.txt"
    path.write_text("SHOP\nNO 3, JALAN PJU 1A/3,\nPETALING JAYA, SELANGOR.\nTEL 03-1234\n", encoding="utf-8")
    doc = parse_file(path)
    f = Field("address", FieldType.STRING)
    span = align(doc, f, "NO 3, JALAN PJU 1A/3, PETALING JAYA, SELANGOR.")
    assert span is not None and doc.text[span[0] : span[1]].endswith("SELANGOR.")  # the closing period as printed
    span = align(doc, f, "NO 3, JALAN PJU 1A/3, PETALING JAYA, SELANGOR")
    assert span is not None and doc.text[span[0] : span[1]].endswith("SELANGOR")  # the gold without it: without
