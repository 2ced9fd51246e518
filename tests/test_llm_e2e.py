"""End to end with the real embedded model (Gemma 3 270M, in process, offline) on the examples."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from evidex.extract import ExtractOptions
from evidex.model import Grounding
from evidex.parse import parse_file
from evidex.pipeline import Pipeline, load_schema

pytestmark = [pytest.mark.llm, pytest.mark.slow]


def test_embedded_model_extracts_the_example_invoices(embedded_backend, examples_dir: Path) -> None:
    schema = load_schema(examples_dir / "schemas" / "invoice.yaml")
    pipe = Pipeline(schema, embedded_backend, ExtractOptions(mode="choice", scorer="pmi", prior_weight=0.85))
    files = [examples_dir / "invoice-acme.html", examples_dir / "invoice-brightline.html"]
    results = {Path(p).name: (d, r) for p, d, r in pipe.run(files)}
    expected = {
        "invoice-acme.html": {"invoice_number": "INV-2024-0042", "invoice_date": "2024-03-14",
                              "total": {"amount": Decimal("692.40"), "currency": "GBP"}},
        "invoice-brightline.html": {"invoice_number": "BCS-7781", "invoice_date": "2024-03-15",
                                    "total": {"amount": Decimal("1145.00"), "currency": "USD"}},
    }
    for name, want in expected.items():
        _doc, res = results[name]
        assert res.ok, res.error
        got = {x.path: x for x in res.extractions}
        for field, value in want.items():
            assert got[field].value == value, (name, field, got[field])
            assert got[field].grounding is Grounding.EXACT
        assert res.usage.calls >= 6 and res.usage.tokens_in > 0  # the model really scored the candidates (PMI)
        # line items come from the table rows, grounded cell by cell
        items = [x for x in res.extractions if x.path.startswith("line_items[")]
        assert len({x.path.split("]")[0] for x in items}) == 3


def test_embedded_model_next_token_scoring_is_a_distribution(embedded_backend) -> None:
    from evidex.backends import Message, Request

    req = Request((Message("user", "Reply with one digit: what is 2 + 2?"),), max_tokens=1, logprobs=20)
    (resp,) = embedded_backend.generate([req])
    assert resp.top_logprobs and len(resp.top_logprobs[0]) >= 10
    total = sum(pow(2.718281828, lp) for lp in resp.top_logprobs[0].values())
    assert 0.2 < total <= 1.0001
    assert resp.tokens_in > 0


def test_embedded_model_json_schema_generation(embedded_backend) -> None:
    from evidex.backends import Message, Request

    schema = {"type": "object", "properties": {"number": {"type": ["string", "null"]}}, "required": ["number"]}
    req = Request((Message("user", "Invoice INV-7. Reply with JSON giving the invoice number."),), json_schema=schema,
                  max_tokens=40)
    (resp,) = embedded_backend.generate([req])
    assert resp.finish_reason == "stop", (resp.finish_reason, resp.text)  # a cut-off answer would prove nothing
    obj = json.loads(resp.text)  # grammar-constrained: parseable once complete
    assert set(obj) == {"number"} and (obj["number"] is None or isinstance(obj["number"], str))
    assert 0 < resp.tokens_out < 40


def test_cli_main_job_runs_offline_and_writes_outputs(examples_dir: Path, tmp_path: Path) -> None:
    """The README's main job: evidex extract on the examples with the embedded default."""
    out = tmp_path / "out.jsonl"
    html = tmp_path / "report.html"
    csv = tmp_path / "out.csv"
    cmd = [str(Path(sys.executable).parent / "evidex"), "extract", str(examples_dir / "invoice-acme.html"),
           str(examples_dir / "invoice-brightline.html"), "--schema", str(examples_dir / "schemas" / "invoice.yaml"),
           "-o", str(out), "--html", str(html), "--csv", str(csv)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr[-2000:]
    assert "summary" in r.stdout and "INV-2024-0042" in r.stdout
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 2
    for rec in records:
        doc = parse_file(rec["source"])
        for x in rec["extractions"]:
            for ev in x["evidence"]:
                assert doc.text[ev["start"] : ev["end"]] == ev["text"]
    assert html.read_text().count("<mark") >= 8
    assert "invoice_number" in csv.read_text().splitlines()[0]


def test_embedded_model_scores_continuations_sensibly(embedded_backend) -> None:
    """PMI with the real model: the field cue raises the right candidate above a distractor."""
    from evidex.backends import Message, Request

    doc = "ACME TOOLS LTD\n12 Harbour Road, Bristol\nInvoice date: 14 March 2024\nTotal due: 692.40\n\n"
    cands = ("ACME TOOLS LTD", "12 Harbour Road, Bristol")
    cue, neutral = (embedded_backend.generate([Request((Message("user", doc + c + " "),), raw_prompt=True,
                                                        continuations=cands)])[0] for c in ("Company name:", "Another line of the text:"))
    pmi = [a[0] - b[0] for a, b in zip(cue.scores, neutral.scores, strict=True)]
    assert all(n > 0 for _, n in cue.scores)
    assert pmi[0] > pmi[1]


_BIO = (b"Maria Gonzalez is the chief financial officer of Northwind Traders Ltd. "
        b"She approved the travel policy on 1 April 2024.\n")
_BIO_SCHEMA = """
entities: {PERSON: a named person, ORG: a company}
relations: {works_for: {head: PERSON, tail: ORG}}
labels: {doc_type: [policy, invoice, biography]}
"""


def _bio_result(backend):  # type: ignore[no-untyped-def]
    from evidex.extract import Extractor
    from evidex.model import Schema
    from evidex.parse import parse_bytes

    doc = parse_bytes(_BIO, "bio.txt")
    res = Extractor(backend, ExtractOptions(mode="generate", max_output_tokens=160)).extract(
        doc, Schema.from_yaml(_BIO_SCHEMA))
    assert res.ok, res.error
    return doc, res


def test_embedded_model_labels_end_to_end(embedded_backend) -> None:
    """The real model through the label path: exactly one label, one of the choices, with evidence."""
    _doc, res = _bio_result(embedded_backend)
    assert res.usage.calls >= 2 and res.usage.tokens_in > 0
    (label,) = res.labels
    assert label.value in ("policy", "invoice", "biography") and 0.0 < label.confidence <= 1.0
    assert label.evidence


@pytest.mark.xfail(strict=True, reason="the embedded 270M model copies the prompt's placeholder "
                   '({"text": "...", "type": "PERSON"}) instead of a mention, so no entity (and no relation) is '
                   "found; strict: remove this mark once it finds them")
def test_embedded_model_entities_and_relations_end_to_end(embedded_backend) -> None:
    """The real model through the entity and relation paths. Both must find something — a loop over an empty
    result used to pass here — and what they find must be exact mentions and correctly typed relations."""
    doc, res = _bio_result(embedded_backend)
    assert res.entities, "no entities found"
    for e in res.entities:
        assert e.type in ("PERSON", "ORG") and doc.text[e.span.start : e.span.end] == e.text
    assert {e.type for e in res.entities} == {"PERSON", "ORG"}, res.entities
    assert res.relations, "no relations found"
    for r in res.relations:
        assert res.entities[r.head].type == "PERSON" and res.entities[r.tail].type == "ORG"
