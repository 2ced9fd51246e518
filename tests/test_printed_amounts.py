"""Amounts printed with a currency: proposed with and without it, labelled by the form the gold copies, output as
the chosen span prints them (so a student learns whether a user keeps "RM5.00" or writes "5.00")."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from types import SimpleNamespace

import evidex
from evidex.distill import train
from evidex.distill.data import LabelStats, label_document
from evidex.eval.datasets import load_jsonl_gold
from evidex.extract import ExtractOptions
from evidex.extract.candidates import BARE, build_candidates
from evidex.extract.prior import FieldQuery, rank
from evidex.ground.normalize import printed_value
from evidex.model import Field, FieldType, Schema
from evidex.parse import parse_bytes

RECEIPT = b"SHOP ONE\nSUBTOTAL 4.00\nTOTAL RM5.00\nCASH $ 8.90\nTAX 12.50 EUR\nPAID RM40.00\n"
PRINTED = Field("total", FieldType.MONEY, "Total amount paid.", as_printed=True)
TYPED = Field("total", FieldType.MONEY, "Total amount paid.")


def test_an_amount_printed_with_its_currency_is_also_proposed_bare() -> None:
    d = parse_bytes(RECEIPT, "r.txt")
    items = build_candidates(d).items
    by_text = {c.text: c for c in items if "amount" in c.tags}
    for full, bare in (("RM5.00", "5.00"), ("$ 8.90", "8.90"), ("12.50 EUR", "12.50"), ("RM40.00", "40.00")):
        b, f = by_text[bare], by_text[full]
        assert b.extra[BARE] == str(f.id) and b.label == f.label and b.source == f.source
        assert d.text[b.span.start : b.span.end] == bare and f.span.start <= b.span.start < b.span.end <= f.span.end
    assert BARE not in by_text["4.00"].extra  # printed bare: no variant
    assert not any(c.text == "RM40" and "amount" in c.tags for c in items)  # "RM40" of "RM40.00" is no amount


def test_the_bare_variant_is_offered_to_printed_fields_only_and_first() -> None:
    items = build_candidates(parse_bytes(RECEIPT, "r.txt")).items
    printed = rank(FieldQuery.of(PRINTED), items, 20)
    texts = [c.text for c, _ in printed]
    assert texts.index("5.00") + 1 == texts.index("RM5.00")  # the bare amount just before its full form
    assert dict((c.text, p) for c, p in printed)["5.00"] == dict((c.text, p) for c, p in printed)["RM5.00"]
    typed = [c for c, _ in rank(FieldQuery.of(TYPED), items, 20)]
    assert "RM5.00" in {c.text for c in typed} and not any(BARE in c.extra for c in typed)


def test_printed_value_keeps_the_currency_printed_with_the_amount() -> None:
    assert printed_value(PRINTED, "RM5.00", 1) == "RM5.00"
    assert printed_value(PRINTED, "RM  8.50", 1) == "RM 8.50"
    assert printed_value(PRINTED, "12.50 EUR", 1) == "12.50 EUR"
    assert printed_value(PRINTED, "5.00.", 1) == "5.00"  # a stray mark at the edge is not the amount
    assert printed_value(PRINTED, "Total: 5.00", 1) == "5.00"
    assert printed_value(TYPED, "RM5.00", {"amount": 5}) == {"amount": 5}  # not as printed: the typed value


def test_the_prior_still_outputs_the_bare_amount_and_typed_fields_keep_the_currency(tmp_path: Path) -> None:
    p = tmp_path / "r.txt"
    p.write_bytes(b"SHOP ONE\nITEM 4.00\nTOTAL RM5.00\n")
    opts = ExtractOptions(mode="rules", scorer="prior")
    for printed, want in ((True, "5.00"), (False, None)):
        schema = Schema.from_yaml(SCHEMA.replace("as_printed: true", f"as_printed: {str(printed).lower()}"))
        res = evidex.extract([p], schema, backend=None, options=opts)[0]
        x = next(x for x in res.extractions if x.path == "total")
        if want is not None:
            assert x.value == want
        else:
            assert x.value["currency"] == "MYR" and str(x.value["amount"]) == "5.00"


def _labels(gold: str, field: Field) -> dict[str, int]:
    d = parse_bytes(RECEIPT, "r.txt")
    items = build_candidates(d).items
    g = SimpleNamespace(id="r", fields={"total": (gold,)})
    groups = label_document(d, g, [field], items, 30, LabelStats(), {})
    return {t: y for t, y in zip(groups[0].texts, groups[0].labels, strict=True) if t.endswith("5.00")}


def test_labels_follow_the_form_the_gold_copies() -> None:
    assert _labels("RM5.00", PRINTED) == {"RM5.00": 1, "5.00": 0}
    assert _labels("5.00", PRINTED) == {"RM5.00": 0, "5.00": 1}
    assert _labels("RM 5", PRINTED) == {"RM5.00": 1, "5.00": 1}  # not printed so: the same amount, either form
    assert _labels("RM5.00", TYPED) == {"RM5.00": 1}  # a typed field never sees the bare variant


SCHEMA = """\
name: till
fields:
  total:
    type: money
    as_printed: true
    description: Total amount paid.
"""


def _till(rnd: random.Random, i: int) -> tuple[str, str]:
    """A receipt whose gold keeps the currency when it is printed attached ("RM12.34") and drops it when it is
    printed apart ("RM 12.34"), like SROIE's annotators mostly do."""
    items = [round(rnd.uniform(1, 40), 2) for _ in range(rnd.randint(2, 4))]
    total = round(sum(items), 2)
    attached = i % 2 == 0
    shown = f"RM{total:.2f}" if attached else f"RM {total:.2f}"
    lines = [f"SHOP {i}", *(f"ITEM {k} RM {v:.2f}" for k, v in enumerate(items)), f"TOTAL {shown}",
             f"CASH RM {total + 10:.2f}", "THANK YOU"]
    return "\n".join(lines) + "\n", shown if attached else f"{total:.2f}"


def _gold(root: Path, n: int, seed: int) -> Path:
    rnd = random.Random(seed)
    (root / "docs").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        text, total = _till(rnd, i)
        (root / "docs" / f"t{i}.txt").write_text(text, encoding="utf-8")
        rows.append(json.dumps({"id": f"t{seed}-{i}", "path": f"docs/t{i}.txt", "fields": {"total": total}}))
    (root / "gold.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root / "gold.jsonl"


def test_a_student_learns_which_form_the_gold_copies(tmp_path: Path) -> None:
    schema = Schema.from_yaml(SCHEMA)
    train(load_jsonl_gold(_gold(tmp_path / "train", 40, seed=1), schema=schema), tmp_path / "model", seed=0,
          rounds=40)
    test = load_jsonl_gold(_gold(tmp_path / "test", 12, seed=2), schema=schema)
    paths = [d.path for d in test.docs if d.path]
    want = [d.fields["total"][0] for d in test.docs]
    student = ExtractOptions(mode="rules", scorer="student", stage_options={"scorer": {"model": str(tmp_path / "model")}})
    got = [next((x.value for x in r.extractions if x.path == "total"), None)
           for r in evidex.extract(paths, schema, backend=None, options=student)]
    assert sum(g == w for g, w in zip(got, want, strict=True)) >= 11, list(zip(got, want, strict=True))
    prior = [next((x.value for x in r.extractions if x.path == "total"), None)
             for r in evidex.extract(paths, schema, backend=None, options=ExtractOptions(mode="rules", scorer="prior"))]
    assert all(isinstance(v, str) and v[0].isdigit() for v in prior)  # the prior's default: the bare amount
    # a student trained before labels told the forms apart (its card counts no matched_as_printed) never saw a
    # bare variant: it chooses among the candidates it knows and outputs the bare amount, as it did then
    old = tmp_path / "old"
    shutil.copytree(tmp_path / "model", old)
    card = json.loads((old / "card.json").read_text())
    assert card["training_data"]["labels"].pop("matched_as_printed") > 0
    (old / "card.json").write_text(json.dumps(card), encoding="utf-8")
    legacy = ExtractOptions(mode="rules", scorer="student", stage_options={"scorer": {"model": str(old)}})
    got = [next((x.value for x in r.extractions if x.path == "total"), None)
           for r in evidex.extract(paths, schema, backend=None, options=legacy)]
    # (it scores candidates it was not trained on: a few fall under its threshold and are left empty — the
    # cross-fitted calibration says so — but none is the currency form)
    assert all(v is None or (isinstance(v, str) and v[0].isdigit()) for v in got), got
    assert sum(v is not None for v in got) >= 6, got
