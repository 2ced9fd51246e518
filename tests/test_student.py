"""The trained candidate scorer ("student", issue 9): training from gold, save/load, determinism, calibration,
the Python API and the CLI. Documents are generated receipts written as real files; small and quick."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

pytest.importorskip("lightgbm")
pytest.importorskip("sklearn")

from typer.testing import CliRunner

import evidex
from evidex.cli.main import app
from evidex.distill import ece, train, value_key
from evidex.eval.datasets import load_jsonl_gold
from evidex.extract import ExtractOptions
from evidex.extract.student.model import load_student
from evidex.extract.student.scorer import score_fields
from evidex.model import Field, FieldType, Schema
from evidex.parse import parse_file

SCHEMA_YAML = """\
name: receipt
fields:
  company:
    type: string
    description: Name of the shop that issued the receipt.
  date:
    type: date
    description: Date of the receipt.
  total:
    type: money
    description: Total amount paid.
"""
_SHOPS = ["KEDAI MAJU", "SUN HARDWARE", "GOLDEN BAKERY", "TECK HUAT", "MEGA MART", "LIM BROTHERS", "SRI PETALING",
          "HUP SENG", "AIK CHEONG", "BOON LAY", "CITY FLORIST", "KAH MOTOR", "EVERGREEN", "PASAR RIA", "NEW WAVE"]
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


def _receipt(rnd: random.Random, i: int) -> tuple[str, dict[str, str]]:
    shop = f"{rnd.choice(_SHOPS)} {rnd.choice(['SDN BHD', 'ENTERPRISE', 'TRADING'])}"
    d, m, y = rnd.randint(1, 28), rnd.randint(1, 12), rnd.randint(2015, 2019)
    printed = rnd.choice([f"{d:02d}/{m:02d}/{y}", f"{d} {_MONTHS[m - 1]} {y}", f"{y}-{m:02d}-{d:02d}"])
    items = [round(rnd.uniform(1, 60), 2) for _ in range(rnd.randint(2, 5))]
    sub = round(sum(items), 2)
    tax = round(sub * 0.06, 2)
    total = round(sub + tax, 2)
    cash = float(rnd.choice([50, 100, 200])) if total < 50 else round(total + rnd.choice([0.0, 10.0]), 2)
    lines = [shop, f"NO {rnd.randint(1, 99)}, JALAN {rnd.choice(['MERANTI', 'BUNGA', 'IPOH'])}, "
                   f"{rnd.randint(40000, 59999)} KUALA LUMPUR", f"INVOICE NO: INV{1000 + i}", f"DATE: {printed}", ""]
    lines += [f"ITEM {k + 1} x{rnd.randint(1, 4)}   {v:.2f}" for k, v in enumerate(items)]
    lines += [f"SUBTOTAL   {sub:.2f}", f"GST 6%   {tax:.2f}", f"TOTAL   RM {total:.2f}", f"CASH   {cash:.2f}",
              f"CHANGE   {cash - total:.2f}", "THANK YOU, PLEASE COME AGAIN"]
    # gold dates are written normalized (ISO) for half the receipts: matched type-aware to the printed date
    gold_date = f"{y}-{m:02d}-{d:02d}" if i % 2 else printed
    return "\n".join(lines) + "\n", {"company": shop, "date": gold_date, "total": f"{total:.2f}"}


def _write_gold(root: Path, n: int, seed: int, *, extra_unmatched: bool = False) -> Path:
    rnd = random.Random(seed)
    (root / "docs").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        text, fields = _receipt(rnd, i)
        (root / "docs" / f"r{seed}-{i}.txt").write_text(text, encoding="utf-8")
        if extra_unmatched and i == 0:
            fields["company"] = "A SHOP PRINTED NOWHERE"
        lines.append(json.dumps({"id": f"r{seed}-{i}", "path": f"docs/r{seed}-{i}.txt", "fields": fields}))
    gold = root / "gold.jsonl"
    gold.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "schema.yaml").write_text(SCHEMA_YAML, encoding="utf-8")
    return gold


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("student")
    gold = _write_gold(root / "train", 30, seed=1, extra_unmatched=True)
    gs = load_jsonl_gold(gold, schema=Schema.from_yaml(SCHEMA_YAML))
    report = train(gs, root / "model", seed=3, rounds=40)
    assert report.stats.docs == 30
    return root, root / "model"


def test_value_key_is_type_aware() -> None:
    date = Field("date", FieldType.DATE)
    assert value_key(date, "2 May 2024") == value_key(date, "2024-05-02")
    money = Field("total", FieldType.MONEY)
    assert value_key(money, "RM 1,250.00") == value_key(money, "1250")
    assert value_key(money, "12.50") != value_key(money, "12.05")
    name = Field("company", FieldType.STRING)
    assert value_key(name, "Acme  Trading") == value_key(name, "ACME TRADING")
    assert value_key(name, "Acme Trading") != value_key(name, "Acme Trade")


def test_training_reports_unmatched_gold(trained: tuple[Path, Path]) -> None:
    _, model = trained
    card = json.loads((model / "card.json").read_text())
    labels = card["training_data"]["labels"]
    assert labels["gold_values"] == 90
    # the one company name printed nowhere is counted as unmatched, not dropped
    assert labels["no_candidate_unalignable"] == 1
    assert labels["matched"] == 89
    assert labels["per_field"]["date"]["matched"] == 30  # ISO gold matched printed dates
    assert card["kind"] == "lightgbm" and card["schema"]["fields"] == ["company", "date", "total"]
    assert 0.0 <= card["metrics"]["ece_10_bins"] <= 1.0


def test_student_extracts_unseen_receipts(trained: tuple[Path, Path], tmp_path: Path) -> None:
    _, model = trained
    gold = _write_gold(tmp_path, 12, seed=99)  # documents the student never saw
    gs = load_jsonl_gold(gold)
    opts = ExtractOptions(mode="rules", scorer="student", stage_options={"scorer": {"model": str(model)}})
    results = evidex.extract([d.path for d in gs.docs if d.path], Schema.from_yaml(SCHEMA_YAML), backend=None,
                             options=opts)
    right = total = 0
    for d, res in zip(gs.docs, results, strict=True):
        got = {x.path: x for x in res.extractions}
        for f in ("company", "date", "total"):
            total += 1
            x = got.get(f)
            if x is not None and value_key(Schema.from_yaml(SCHEMA_YAML).field(f), str(x.value if f != "total" else
                                                                                        x.value["amount"])) \
                    == value_key(Schema.from_yaml(SCHEMA_YAML).field(f), d.fields[f][0]):
                right += 1
            if x is not None:
                assert 0.0 <= x.confidence <= 1.0
    assert right / total >= 0.85, f"{right}/{total}"


def test_save_load_round_trip_gives_identical_scores(trained: tuple[Path, Path]) -> None:
    root, model = trained
    schema = Schema.from_yaml(SCHEMA_YAML)
    doc = parse_file(root / "train" / "docs" / "r1-3.txt")
    from evidex.extract.proposers import CandidateProposer

    cands = list(CandidateProposer().propose(doc))
    a = score_fields(load_student(model), doc, schema.fields, cands)
    b = score_fields(load_student(model), doc, schema.fields, cands)
    assert [(c.candidate, c.score, c.options) for c in a] == [(c.candidate, c.score, c.options) for c in b]
    assert any(c.candidate is not None for c in a)


def test_training_is_deterministic_under_a_seed(trained: tuple[Path, Path], tmp_path: Path) -> None:
    root, model = trained
    gs = load_jsonl_gold(root / "train" / "gold.jsonl", schema=Schema.from_yaml(SCHEMA_YAML))
    train(gs, tmp_path / "again", seed=3, rounds=40)
    for name in ("card.json", "model.txt", "calibration.json"):
        assert (tmp_path / "again" / name).read_bytes() == (model / name).read_bytes(), name


def test_logistic_student_round_trip(trained: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = trained
    gs = load_jsonl_gold(root / "train" / "gold.jsonl", schema=Schema.from_yaml(SCHEMA_YAML))
    train(gs, tmp_path / "lr", kind="logistic", seed=0)
    m = load_student(tmp_path / "lr")
    assert m.kind == "logistic" and not (tmp_path / "lr" / "model.txt").exists()
    assert json.loads((tmp_path / "lr" / "card.json").read_text())["kind"] == "logistic"


def test_ece_on_a_constructed_example() -> None:
    # bin [0.9, 1.0): confidence 0.9 twice, 1 of 2 right → |0.9 - 0.5| = 0.4 over 2 of 4 points;
    # bin [0.2, 0.3): confidence 0.2 twice, none right → |0.2 - 0| = 0.2 over 2 of 4 points
    assert ece([0.9, 0.9, 0.2, 0.2], [1, 0, 0, 0]) == pytest.approx(0.5 * 0.4 + 0.5 * 0.2)
    assert ece([0.75] * 4, [1, 1, 1, 0]) == pytest.approx(0.0)
    assert ece([], []) == 0.0


def test_cli_train_and_extract_with_student(trained: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = trained
    runner = CliRunner()
    out = tmp_path / "cli-model"
    res = runner.invoke(app, ["train", str(root / "train" / "gold.jsonl"), "--schema", str(root / "train" / "schema.yaml"),
                              "-o", str(out), "--rounds", "20"])
    assert res.exit_code == 0, res.output
    assert "expected calibration error" in res.output and "not found in the text" in res.output
    pred = tmp_path / "pred.jsonl"
    res = runner.invoke(app, ["extract", str(root / "train" / "docs" / "r1-5.txt"), "--schema",
                              str(root / "train" / "schema.yaml"), "--backend", "none", "--student", str(out),
                              "-o", str(pred), "--quiet", "--in-process"])
    assert res.exit_code == 0, res.output
    rec = json.loads(pred.read_text().splitlines()[0])
    gold = json.loads((root / "train" / "gold.jsonl").read_text().splitlines()[5])["fields"]
    values = {x["path"]: x for x in rec["extractions"]}
    assert values["company"]["value"] == gold["company"]


def test_cli_train_samples_a_gold_jsonl_file(trained: tuple[Path, Path], tmp_path: Path) -> None:
    """--sample N draws N documents of the user's own gold (seeded), as it does for datasets."""
    root, _ = trained
    n_all = len((root / "train" / "gold.jsonl").read_text().splitlines())
    cards = []
    for seed in ("1", "1", "2"):
        out = tmp_path / f"m{len(cards)}"
        res = CliRunner().invoke(app, ["train", str(root / "train" / "gold.jsonl"), "--schema",
                                       str(root / "train" / "schema.yaml"), "-o", str(out), "--rounds", "10",
                                       "--sample", "6", "--seed", seed, "--tagger", "off"])
        assert res.exit_code == 0, res.output
        cards.append(json.loads((out / "card.json").read_text())["training_data"])
    assert n_all > 6 and cards[0]["docs"] == 6
    assert cards[0]["doc_ids_hash"] == cards[1]["doc_ids_hash"] != cards[2]["doc_ids_hash"]


@pytest.mark.data
def test_sroie_sample_student(shared_data: Path, tmp_path: Path) -> None:
    from evidex.eval.cli_api import load_gold

    gs = load_gold("sroie", "train", data_root=shared_data, sample=20, seed=5)
    report = train(gs, tmp_path / "m", seed=0, rounds=30)
    assert report.stats.docs == 20
    assert report.stats.matched >= 60  # of 80 gold values, most are some candidate
    assert load_student(tmp_path / "m").card["training_data"]["docs"] == 20
