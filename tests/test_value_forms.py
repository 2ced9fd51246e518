"""Value forms: a student learns how the user's gold writes words the documents print otherwise ("Incorporated" →
"Inc.", "L.L.C." → "LLC") and outputs its values that way, the evidence staying the printed text."""

from __future__ import annotations

import json
import random
from pathlib import Path

import evidex
from evidex.distill import train
from evidex.eval.datasets import load_jsonl_gold
from evidex.extract import ExtractOptions
from evidex.ground.forms import FormCounts, apply_forms, forms_of, word_pairs
from evidex.model import Grounding, Schema

SCHEMA_YAML = """\
name: nda
fields:
  supplier:
    type: string
    description: The company that supplies the goods.
"""
_NAMES = ["Acme Widgets", "Zeta Metals", "Orion Plastics", "Nova Foods", "Kappa Tools", "Delta Paper", "Sigma Glass",
          "Lumen Optics", "Borealis Wood", "Vega Textiles", "Cobalt Chemicals", "Atlas Bearings", "Juniper Seeds",
          "Helix Cables", "Quartz Stone", "Mistral Fans", "Tundra Boots", "Ember Candles"]


def test_word_pairs_and_apply_keep_separators() -> None:
    assert word_pairs("PJM Interconnection, L.L.C.", "Pjm_Interconnection_LLC") == [("L.L.C.", "LLC")]
    assert word_pairs("Acme Inc.", "ACME_INC.") == []
    assert word_pairs("Acme Widgets Inc.", "Acme_Inc.") is None
    forms = {"INCORPORATED": "Inc.", "L.L.C.": "LLC"}
    assert apply_forms("II-VI Incorporated", forms) == "II-VI Inc."
    assert apply_forms("PJM Interconnection, L.L.C.", forms) == "PJM Interconnection, LLC"
    assert apply_forms("Acme Inc.", forms) is None and apply_forms("x", {}) is None


def test_a_form_needs_documents_and_a_majority() -> None:
    c = FormCounts()
    for i in range(3):
        c.add("party", f"d{i}", f"Name{i} Incorporated", f"Name{i}_Inc.", near=True)
    c.add("party", "d9", "Other Incorporated", "Other_Incorporated")  # kept once: 3 of 4 rewrite it
    c.add("party", "d5", "Foo Limited", "Foo_Ltd.", near=True)  # one document: not a form
    c.add("party", "d6", "Two Words Bar", "Another_Thing_Baz", near=True)  # two words differ: not counted
    assert c.learn() == {"party": {"INCORPORATED": "Inc."}}
    for i in range(4):
        c.add("party", f"k{i}", f"Keep{i} Incorporated", f"Keep{i}_Incorporated")  # now 3 of 8: under the share
    assert c.learn() == {}


def _contract(rnd: random.Random, i: int) -> tuple[str, str, str]:
    name = _NAMES[i % len(_NAMES)]
    printed = f"{name} {rnd.choice(['Incorporated', 'L.L.C.'])}"
    gold = printed.replace("Incorporated", "Inc.").replace("L.L.C.", "LLC")
    other = f"{rnd.choice(_NAMES)} Holdings"
    text = (f"SUPPLY AGREEMENT\nThis Supply Agreement is made between {printed} (the “Supplier”) and {other} (the "
            f"“Buyer”).\nThe Supplier shall deliver the goods within {rnd.randint(5, 30)} days.\n")
    return text, gold, printed


def test_a_student_learns_the_golds_forms_and_outputs_them(tmp_path: Path) -> None:
    rnd = random.Random(5)
    (tmp_path / "docs").mkdir()
    lines, incorporated = [], 0
    for i in range(14):
        text, gold, printed = _contract(rnd, i)
        incorporated += printed.endswith("Incorporated")
        (tmp_path / "docs" / f"c{i}.txt").write_text(text, encoding="utf-8")
        lines.append(json.dumps({"id": f"c{i}", "path": f"docs/c{i}.txt", "fields": {"supplier": gold}}))
    (tmp_path / "gold.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    schema = Schema.from_yaml(SCHEMA_YAML)
    report = train(load_jsonl_gold(tmp_path / "gold.jsonl", schema=schema), tmp_path / "model", seed=1, rounds=30)
    card = json.loads((tmp_path / "model" / "card.json").read_text())
    assert forms_of(card) == {"supplier": {"INCORPORATED": "Inc.", "L.L.C.": "LLC"}}
    # "L.L.C." matches "LLC" letter for letter already; "Incorporated" for "Inc." only through the forms: those gold
    # values are labelled now, and counted
    assert 0 < incorporated < 14 and report.stats.matched == 14 - incorporated
    assert report.stats.matched_by_form == incorporated == report.stats.per_field["supplier"]["matched_by_form"]
    # a new contract: the value in the gold's form, the evidence the printed words
    text = ("SUPPLY AGREEMENT\nThis Supply Agreement is made between Polaris\nLamps Incorporated (the “Supplier”) and "
            "Nova Foods Holdings (the “Buyer”).\n")
    path = tmp_path / "new.txt"
    path.write_text(text, encoding="utf-8")
    opts = ExtractOptions(mode="rules", scorer="student", stage_options={"scorer": {"model": str(tmp_path / "model")}})
    (res,) = evidex.extract([path], schema, backend=None, options=opts)
    (x,) = [e for e in res.extractions if e.path == "supplier"]
    assert x.value == "Polaris Lamps Inc." and x.grounding is Grounding.NORMALIZED
    (ev,) = x.evidence
    assert text[ev.start : ev.end] == "Polaris\nLamps Incorporated" == x.raw  # a name wrapped over two lines
    assert any("gold's form" in n for n in x.notes)


def test_calibration_judges_the_value_in_its_form() -> None:
    # what the student outputs is the form, so what counts as right for its calibration is the form judged
    from evidex.distill.train import _in_forms

    seen: list[str] = []

    def judge(doc_id: str, field: str, text: str) -> bool:
        seen.append(text)
        return text == "II-VI Inc."

    j = _in_forms(judge, {"party": {"INCORPORATED": "Inc."}})
    assert j("d", "party", "II-VI Incorporated") and not j("d", "term", "II-VI Incorporated")
    assert seen == ["II-VI Inc.", "II-VI Incorporated"]
