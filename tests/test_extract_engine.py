"""Engine logic with the replaying fake backend (unit tests; the real model and server are tested elsewhere)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from evidex.backends.fake import FakeBackend
from evidex.errors import BackendUnavailableError
from evidex.extract import ExtractOptions, Extractor
from evidex.extract.candidates import build_candidates
from evidex.model import Grounding, Schema
from evidex.parse import parse_bytes
from oracle import check_result

INVOICE = b"""ACME TOOLS LTD
Invoice number: INV-7
Invoice date: 14 March 2024
Due date: 13 April 2024

Item | Qty | Amount
Drill | 2 | $258.00
Bits | 5 | $122.50

Total due: $380.50
"""

SCHEMA = Schema.from_yaml("""
fields:
  invoice_number: {type: string, description: the invoice number}
  invoice_date: {type: date, description: date of issue}
  total: {type: money, description: total amount due}
  line_items:
    type: record
    many: true
    fields: {item: string, qty: integer, amount: money}
""")


def doc():
    return parse_bytes(INVOICE, "inv.txt")


def test_rules_mode_grounds_by_construction() -> None:
    d = doc()
    r = Extractor(None).extract(d, SCHEMA)
    check_result(r, d)
    v = {x.path: x for x in r.extractions}
    assert v["invoice_number"].value == "INV-7"
    assert v["invoice_date"].value == "2024-03-14"
    assert v["total"].value == {"amount": Decimal("380.50"), "currency": "USD"}
    assert all(x.grounding is Grounding.EXACT for x in r.extractions)
    assert v["line_items[1].item"].value == "Bits" and v["line_items[1].qty"].value == 5
    assert r.usage.calls == 0


def test_choice_mode_follows_a_confident_model() -> None:
    """The fake model answers with token log-probabilities; a confident choice of option 2 must win."""
    d = doc()
    be = FakeBackend()
    # invoice_date options: [14 March 2024, 13 April 2024] — the model strongly prefers the second (the due date)
    seen: list[str] = []

    def answer(req):  # answers "1" for every field except the date, where it answers "2"
        q = req.messages[-1].content
        seen.append(q)
        return "2" if "date of issue" in q else "1"

    be.push(*[answer] * 3)
    r = Extractor(be, ExtractOptions(mode="choice", scorer="choice", prior_weight=0.2, context_tokens=0)).extract(d, SCHEMA)
    check_result(r, d)
    v = {x.path: x for x in r.extractions}
    assert v["invoice_date"].raw == "13 April 2024"  # the model's pick, not the prior's
    assert v["invoice_number"].raw == "INV-7"
    assert len(seen) == 3 and all("Answer with one number." in q for q in seen)


def test_choice_mode_none_answer_drops_weak_candidates() -> None:
    d = parse_bytes(b"Meeting notes\n\nWe discussed the roadmap for next year.\n", "notes.txt")
    schema = Schema.from_yaml("fields: {owner: {type: string, description: the account owner}}")
    be = FakeBackend().push(lambda req: "0")
    r = Extractor(be, ExtractOptions(mode="choice", scorer="choice", prior_weight=0.2, context_tokens=0)).extract(d, schema)
    assert r.extractions == ()


def test_generate_mode_grounds_and_drops_hallucinations() -> None:
    d = doc()
    out = {"invoice_number": "INV-7", "invoice_date": "2024-03-14", "total": "380.5",
           "line_items": [{"item": "Drill", "qty": "2", "amount": "258.00"}, {"item": "Hammer", "qty": "1", "amount": "9.99"}]}
    be = FakeBackend().push(json.dumps(out))
    r = Extractor(be, ExtractOptions(mode="generate")).extract(d, SCHEMA)
    check_result(r, d)
    v = {x.path: x for x in r.extractions}
    assert v["invoice_number"].grounding is Grounding.EXACT
    assert v["invoice_date"].grounding is Grounding.NORMALIZED  # ISO on "14 March 2024"
    assert d.text[v["invoice_date"].evidence[0].start : v["invoice_date"].evidence[0].end] == "14 March 2024"
    assert v["total"].grounding is Grounding.NORMALIZED
    assert "line_items[1].item" not in v  # "Hammer" is not in the document: dropped
    assert "line_items[1].item" in r.diagnostics["dropped_ungrounded"]


def test_generate_mode_keep_ungrounded_marks_them() -> None:
    d = doc()
    be = FakeBackend().push(json.dumps({"invoice_number": "INV-999", "invoice_date": None, "total": None, "line_items": []}))
    r = Extractor(be, ExtractOptions(mode="generate", keep_ungrounded=True)).extract(d, SCHEMA)
    (x,) = r.extractions
    assert x.grounding is Grounding.UNGROUNDED and x.evidence == () and x.confidence < 0.2  # the one grounding policy discounts unsupported values


def test_a_models_inference_is_flagged_for_review_whatever_its_confidence() -> None:
    """A boolean the model inferred (nothing printed says "true") has no calibrated confidence: it is flagged for
    review and says why, even above the review threshold; printed values of the same answer are not."""
    schema = Schema.from_yaml("fields:\n  invoice_number: {type: string}\n  overdue: {type: boolean, description: "
                              "'is payment overdue?'}\n")
    be = FakeBackend().push(json.dumps({"invoice_number": "INV-7", "overdue": True}))
    r = Extractor(be, ExtractOptions(mode="generate", review_threshold=0.1)).extract(doc(), schema)
    v = {x.path: x for x in r.extractions}
    assert v["overdue"].grounding is Grounding.INFERRED and v["overdue"].confidence > 0.1
    assert v["overdue"].review and any("not a calibrated probability" in n for n in v["overdue"].notes)
    assert v["invoice_number"].grounding is Grounding.EXACT and not v["invoice_number"].review


def test_generate_mode_reasks_with_the_validation_error_then_succeeds() -> None:
    d = doc()
    be = FakeBackend().push("sorry, here it is: {not json", json.dumps({"invoice_number": ["a", {"x": 1}]}),
                            json.dumps({"invoice_number": "INV-7"}))
    r = Extractor(be, ExtractOptions(mode="generate", max_repairs=2)).extract(d, SCHEMA)
    assert [x.raw for x in r.extractions] == ["INV-7"]
    assert len(be.requests) == 3
    assert "not valid" in be.requests[1].messages[-1].content and "invalid JSON" in be.requests[1].messages[-1].content
    assert "expected a plain value" in be.requests[2].messages[-1].content
    assert r.usage.calls == 3


def test_generate_mode_gives_up_after_bounded_repairs() -> None:
    d = doc()
    be = FakeBackend().push("nope", "nope", "nope")
    r = Extractor(be, ExtractOptions(mode="generate", max_repairs=2)).extract(d, SCHEMA)
    assert r.extractions == () and len(be.requests) == 3
    assert r.diagnostics["generate_errors"]


def test_long_document_is_read_in_chunks_with_coverage_and_merge() -> None:
    body = "\n\n".join(f"Clause {i}. The supplier shall deliver goods promptly and in good order." for i in range(120))
    text = f"Agreement number: AG-1\n\n{body}\n\nGoverning law: Delaware\n"
    d = parse_bytes(text.encode(), "long.txt")
    schema = Schema.from_yaml("fields: {agreement_number: string, governing_law: string}")
    be = FakeBackend()
    be.push(lambda req: json.dumps({"agreement_number": "AG-1" if "AG-1" in req.messages[-1].content else None,
                                    "governing_law": "Delaware" if "Delaware" in req.messages[-1].content else None}))
    be.push(*[be.queue[0]] * 20)
    r = Extractor(be, ExtractOptions(mode="generate", chunk_tokens=400)).extract(d, schema)
    check_result(r, d)
    assert r.coverage.chunks_total > 3 and r.coverage.chunks_read == r.coverage.chunks_total
    vals = {x.path: x.value for x in r.extractions}
    assert vals == {"agreement_number": "AG-1", "governing_law": "Delaware"}
    # every chunk prompt is a real slice of the document view
    assert len(be.requests) == r.coverage.chunks_total
    # which parts were read: every clause lies inside a read span, and the record round-trips through JSON
    from evidex.model import result_from_dict, result_to_dict

    for i in range(120):
        at = d.text.index(f"Clause {i}.")
        assert any(sp.contains_pos(at) for sp in r.coverage.spans_read)
    assert r.coverage.chars_read >= 0.95 * len(d.text)
    assert result_from_dict(json.loads(json.dumps(result_to_dict(r)))).coverage == r.coverage


def test_choice_fallback_reads_a_budget_and_says_which_parts() -> None:
    body = "\n\n".join(f"Clause {i}. The supplier shall deliver goods promptly and in good order." for i in range(120))
    d = parse_bytes(f"{body}\n\nThe agreement was signed on the ides of March.\n".encode(), "long.txt")
    schema = Schema.from_yaml("fields: {signing_date: {type: date, description: the date the agreement was signed}}")
    be = FakeBackend().push(json.dumps({"signing_date": "the ides of March"}))
    # no date candidate anywhere: the generative fallback reads only the most relevant chunks
    r = Extractor(be, ExtractOptions(mode="choice", fallback_tokens=300)).extract(d, schema)
    fb = r.diagnostics["fallback"]
    assert fb["fields"] == ["signing_date"] and fb["chars_read"] < fb["chars_total"] / 4
    spans = [tuple(x) for x in fb["spans_read"]]
    at = d.text.index("ides of March")
    assert any(a <= at < b for a, b in spans)  # the relevant part was among those read
    (x,) = r.extractions
    assert x.raw == "the ides of March" and x.grounding is Grounding.EXACT
    assert any("unparsed date" in n for n in x.notes)  # grounded, but not typed: said so


def test_truncated_output_is_reported_not_silent() -> None:
    from evidex.backends.base import Response

    d = doc()
    be = FakeBackend()
    orig = be.generate

    def gen(reqs):
        out = orig(reqs)
        return [Response(text=o.text, finish_reason="length") for o in out]

    be.generate = gen  # type: ignore[method-assign]
    be.push('{"line_items": [{"item": "Drill"}, {"item": "Bi', '{"line_items": [{"item": "Drill"}]}', '{"line_items": []}')
    schema = Schema.from_yaml("fields: {line_items: {type: record, many: true, fields: {item: string}}}")
    r = Extractor(be, ExtractOptions(mode="generate")).extract(d, schema)
    assert r.coverage.truncated_fields == ("line_items",)


def test_backend_failure_is_a_typed_per_document_error() -> None:
    d = doc()
    be = FakeBackend().push(BackendUnavailableError("connection refused"))
    r = Extractor(be, ExtractOptions(mode="generate")).extract(d, SCHEMA)
    assert r.error is not None and r.error["code"] == "EVX-B001" and r.extractions == ()


def test_hidden_text_never_becomes_a_candidate() -> None:
    html = b"""<html><body><p>Total: $10.00</p><div style="display:none">Total: $1.00</div></body></html>"""
    d = parse_bytes(html, "x.html")
    texts = {c.text for c in build_candidates(d).items}
    assert "$10.00" in texts and "$1.00" not in texts
    r = Extractor(None).extract(d, Schema.from_yaml("fields: {total: money}"))
    assert [x.raw for x in r.extractions] == ["$10.00"]


def test_unknown_backend_names_available_ones() -> None:
    from evidex.backends import load_backend
    from evidex.errors import UnknownPluginError

    with pytest.raises(UnknownPluginError, match="did you mean 'openai'"):
        load_backend("opnai")


def test_backend_options_are_validated() -> None:
    from evidex.backends import load_backend
    from evidex.errors import ConfigError

    with pytest.raises(ConfigError, match="base_urll"):
        load_backend("openai", {"base_urll": "http://x"})


def test_default_choice_scorer_is_the_packaged_student_and_asks_no_model() -> None:
    """``scorer="auto"`` is the packaged generic student (measured better than the prior on unseen schemas,
    docs/benchmarks.md): the same values and calibrated confidences as naming it, not the prior's scores, and no
    model calls for candidate fields."""
    d = doc()

    def run(scorer: str):
        be = FakeBackend()  # nothing queued: any call would raise
        r = Extractor(be, ExtractOptions(mode="choice", scorer=scorer)).extract(d, SCHEMA)
        assert r.ok and r.usage.calls == 0
        return r, {x.path: (x.value, x.confidence) for x in r.extractions if "[" not in x.path}

    auto, got = run("auto")
    _, student = run("student")
    prior_r, prior = run("prior")
    assert auto.diagnostics["scorer"] == "student" and prior_r.diagnostics["scorer"] == "prior"
    assert set(got) >= {"invoice_number", "invoice_date", "total"}
    assert got == student
    assert {k: v for k, (v, _) in got.items()} == {k: v for k, (v, _) in prior.items()}  # same answers here
    assert any(got[k][1] != prior[k][1] for k in got)  # with the student's confidences, not the prior's


def test_pmi_scorer_uses_continuation_scores() -> None:
    """PMI: the candidate the field cue favours most (relative to a neutral cue) wins when the model is trusted."""
    from evidex.backends.base import Response

    d = doc()
    be = FakeBackend()
    be.capabilities = type(be.capabilities)(json_schema=True, grammar=True, scoring=True)
    orig = be.generate

    def gen(reqs):
        out = []
        for r in reqs:
            cue = r.messages[-1].content.rstrip().rsplit("\n", 1)[-1]
            n = len(r.continuations)
            if cue.startswith("Invoice date"):  # the cue strongly favours the second option (13 April 2024)
                out.append(Response(text="", scores=tuple((0.0 if i == 1 else -9.0, 4) for i in range(n))))
            else:
                out.append(Response(text="", scores=tuple((-1.0, 4) for _ in range(n))))
        be.requests.extend(reqs)
        return out

    be.generate = gen  # type: ignore[method-assign]
    _ = orig
    r = Extractor(be, ExtractOptions(mode="choice", scorer="pmi", prior_weight=0.1, context_tokens=0)).extract(d, SCHEMA)
    v = {x.path: x for x in r.extractions}
    assert v["invoice_date"].raw == "13 April 2024"
    assert all(req.raw_prompt and req.continuations for req in be.requests)
    assert len(be.requests) % 2 == 0  # a cue request and a neutral request per field


NER_TEXT = b"Maria Gonzalez joined Northwind Traders in 2019. Later, Maria Gonzalez left for Acme Tools.\n"
NER_SCHEMA = Schema.from_yaml("""
entities: {PERSON: a person, ORG: an organisation}
relations: {works_for: {head: PERSON, tail: ORG}}
labels: {doc_type: [news, invoice, contract]}
""")


def test_entities_are_every_exact_mention_and_relations_respect_types() -> None:
    d = parse_bytes(NER_TEXT, "bio.txt")
    be = FakeBackend()
    be.push("2")  # the label question comes first; the fake answers option 2 without logprobs
    be.push(json.dumps({"entities": [{"text": "Maria Gonzalez", "type": "PERSON"},
                                     {"text": "Northwind Traders", "type": "ORG"},
                                     {"text": "Globex", "type": "ORG"},  # hallucinated: no mention, dropped
                                     {"text": "Acme Tools", "type": "CITY"}]}))  # unknown type: dropped
    # ids refer to the entity listing given to the model: [0]=Maria, [1]=Northwind, [2]=Maria (2nd mention)
    be.push(json.dumps({"relations": [{"type": "works_for", "head": 0, "tail": 1},
                                      {"type": "works_for", "head": 1, "tail": 0},  # wrong direction: PERSON→ORG only
                                      {"type": "works_for", "head": 0, "tail": 9}]}))  # out of range
    r = Extractor(be, ExtractOptions(mode="generate")).extract(d, NER_SCHEMA)
    assert [(e.type, e.text) for e in r.entities] == [("PERSON", "Maria Gonzalez"), ("ORG", "Northwind Traders"),
                                                      ("PERSON", "Maria Gonzalez")]
    for e in r.entities:
        assert d.text[e.span.start : e.span.end] == e.text
    assert len(r.relations) == 1
    rel = r.relations[0]
    assert (r.entities[rel.head].text, r.entities[rel.tail].text) == ("Maria Gonzalez", "Northwind Traders")
    assert d.text[rel.evidence[0].start : rel.evidence[0].end].startswith("Maria Gonzalez joined Northwind Traders")
    assert [(lab.name, lab.value) for lab in r.labels] == [("doc_type", "invoice")]


def test_label_uses_next_token_distribution_when_available() -> None:
    from evidex.backends.base import Response

    d = parse_bytes(b"INVOICE\n\nInvoice number: 7\nTotal: $5.00\n", "inv.txt")
    schema = Schema.from_yaml("labels: {doc_type: [letter, invoice, contract]}")
    be = FakeBackend()
    be.capabilities = type(be.capabilities)(json_schema=True, grammar=True, logprobs=True)
    orig = be.generate

    def gen(reqs):
        out = orig(reqs)
        return [Response(text="1", top_logprobs=({"1": -2.0, "2": -0.2, "3": -3.0, "The": -0.1},)) for _ in out]

    be.generate = gen  # type: ignore[method-assign]
    be.push("x")
    r = Extractor(be, ExtractOptions(mode="generate")).extract(d, schema)
    (lab,) = r.labels
    assert lab.value == "invoice" and 0.6 < lab.confidence < 0.9
    assert lab.evidence and d.text[lab.evidence[0].start : lab.evidence[0].end]


def test_cli_schema_errors_exit_2_with_the_offending_path(tmp_path, examples_dir) -> None:
    import subprocess
    import sys
    from pathlib import Path

    bad = tmp_path / "bad.yaml"
    bad.write_text("fields:\n  total: {type: monye}\n")
    exe = str(Path(sys.executable).parent / "evidex")
    r = subprocess.run([exe, "extract", str(examples_dir / "invoice-acme.html"), "--schema", str(bad), "--backend", "none"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "EVX-C001" in r.stderr and "fields.total.type" in r.stderr and "monye" in r.stderr
    r = subprocess.run([exe, "extract", str(examples_dir / "invoice-acme.html"), "--schema", str(tmp_path / "nope.yaml")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "schema file not found" in r.stderr


def test_organisation_names_with_ampersands_and_commas_are_whole_candidates() -> None:
    d = parse_bytes(b"This letter is from Harrington & Cole LLP to Okafor Logistics Ltd and NITROMED, INC. today.\n", "l.txt")
    orgs = {c.text for c in build_candidates(d).items if "org" in c.tags}
    assert {"Harrington & Cole LLP", "Okafor Logistics Ltd", "NITROMED, INC."} <= orgs
