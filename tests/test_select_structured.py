"""The structured selector: structural units under a budget, per-field ledger, exact offsets, used by generate mode."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from evidex import registry
from evidex.backends.fake import FakeBackend
from evidex.extract import ExtractOptions, Extractor
from evidex.model import Schema, Span
from evidex.parse import parse_bytes
from evidex.select.base import Reading
from evidex.select.structured import StructuredSelector

CONTRACT = (
    "# Mutual Nondisclosure Agreement\n\n"
    "This Agreement is made between Acme Robotics Inc., a Delaware corporation, and Blue Harbor LLC.\n\n"
    + "".join(f"## Section {i}\n\nThe Recipient shall protect the information with care number {i}. "
              f"It shall not disclose it to others. Copies are returned on request.\n\n" for i in range(2, 30))
    + "## Term\n\nThis Agreement shall remain in force for a period of three (3) years from the Effective Date.\n\n"
    + "## Governing law\n\nThis Agreement is governed by the laws of the State of New York.\n\n"
    + "| Item | Fee |\n|---|---|\n| Review | USD 1,200.00 |\n| Audit | USD 3,400.00 |\n"
).encode()
SCHEMA = Schema.from_dict({"name": "nda", "fields": {
    "party": {"type": "string", "description": "each party to the agreement"},
    "term": {"type": "duration", "description": "how long the agreement lasts"},
    "jurisdiction": {"type": "string", "description": "the law that governs the agreement"},
    "audit_fee": {"type": "money", "description": "fee of the audit"},
}})


def _select(budget: int) -> tuple[Reading, object]:
    doc = parse_bytes(CONTRACT, "nda.md")
    reading = Reading(doc)
    sel = StructuredSelector().select(reading, [f"{f.name} {f.description}" for f in SCHEMA.fields], budget,
                                      chunk_tokens=400)
    return reading, sel


def test_each_field_gets_its_text_within_a_fifth_of_the_tokens() -> None:
    reading, sel = _select(250)
    total = reading.count(reading.view.text)
    (view,) = sel.views  # type: ignore[attr-defined]
    used = reading.count(view.text)
    assert used <= 250 + 10 and used * 3 < total
    for needle in ("Acme Robotics Inc.", "three (3) years", "State of New York", "USD 3,400.00", "| Item | Fee |"):
        assert needle in view.text, needle  # the table row comes with its header row
    assert "## Term" in view.text and "…" in view.text  # a section anchor; skipped text is marked
    ledger = sel.extra["per_query"]  # type: ignore[attr-defined]
    term_spans = [Span(*x) for x in ledger[next(q for q in ledger if q.startswith("term"))]]
    doc_text = reading.doc.text
    assert any("three (3) years" in doc_text[s.start:s.end] for s in term_spans)


@settings(max_examples=25, deadline=None)
@given(st.integers(20, 600))
def test_every_character_of_the_selection_maps_back_exactly(budget: int) -> None:
    reading, sel = _select(budget)
    text = reading.doc.text
    for view in sel.views:  # type: ignore[attr-defined]
        for seg in view.map.segments:
            if seg.se > seg.ss and not seg.coarse:
                assert view.text[seg.vs:seg.ve] == text[seg.ss:seg.se]
    for s in sel.spans_read:  # type: ignore[attr-defined]
        assert 0 <= s.start <= s.end <= len(text)


def test_generate_mode_reads_only_the_selection_and_records_the_ledger() -> None:
    doc = parse_bytes(CONTRACT, "nda.md")
    answer = json.dumps({"party": "Blue Harbor LLC", "term": "three (3) years", "jurisdiction": "New York",
                         "audit_fee": "USD 3,400.00"})
    be = FakeBackend().push(answer)
    res = Extractor(be, ExtractOptions(mode="generate", selector="structured", budget_tokens=250)).extract(doc, SCHEMA)
    prompt = be.requests[0].messages[-1].content
    assert "Section 17" not in prompt and "three (3) years" in prompt
    assert res.values()["term"] and res.diagnostics["selection"]["selector"] == "structured"
    assert res.coverage.chars_read < res.coverage.chars_total / 2


def test_registered_and_offered_by_the_cli(tmp_path: Path) -> None:
    assert "structured" in registry.selectors.names()
    f = tmp_path / "nda.md"
    f.write_bytes(CONTRACT)
    s = tmp_path / "s.json"
    s.write_text(json.dumps(SCHEMA.to_dict()), encoding="utf-8")
    evidex = str(Path(sys.executable).parent / "evidex")
    r = subprocess.run([evidex, "parse", str(f), "--as", "context", "--schema", str(s), "--budget", "200",
                        "--in-process"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    view, _, mapping = r.stdout.partition("--- map:")
    assert "Acme Robotics Inc." in view and "<-" in mapping
    a, _, b = mapping.splitlines()[1].partition(" <- ")
    vs, ve = map(int, a.split("-"))
    ss, se = map(int, b.split("-"))
    assert view[vs:ve] == parse_bytes(CONTRACT, "nda.md").text[ss:se]


SIGNED = (
    "# Confidentiality Agreement\n\n"
    + "".join(f"{i}. The Receiving Party shall hold the information of the Disclosing Party in confidence and use it "
              f"only for the purpose of clause {i}; the Parties agree that this Agreement binds each Party.\n\n"
              for i in range(1, 40))
    + "This Agreement shall be governed by the laws of the State of Oregon.\n\n"
    "IN WITNESS WHEREOF, the parties have signed this Agreement.\n\n"
    "NORTHWIND TRADERS CORP.\nBy: /s/ Jane Q. Roe\nName: Jane Q. Roe\nTitle: President\n\n"
    "Alder Pike\n/s/ Alder Pike\n(Print Name)\n"
).encode()
PARTY_SCHEMA = Schema.from_dict({"name": "nda", "fields": {
    "party": {"type": "string", "description": "each company or person that is a party to the agreement"},
    "jurisdiction": {"type": "string", "description": "US state or country whose law governs the agreement"},
}})


def test_parties_named_only_in_the_signature_block_are_read() -> None:
    """Party names that only appear in a signature block (By:/Name:/(Print Name) lines, found by their structure)
    are read at a fifth of the tokens, with the governing-law clause (a place named in it)."""
    doc = parse_bytes(SIGNED, "nda.txt")
    reading = Reading(doc)
    budget = reading.count(reading.view.text) // 5
    sel = StructuredSelector().select(reading, [f"{f.name} {f.description}" for f in PARTY_SCHEMA.fields], budget,
                                      chunk_tokens=400)
    (view,) = sel.views
    assert reading.count(view.text) <= budget
    for needle in ("NORTHWIND TRADERS CORP.", "Alder Pike", "State of Oregon"):
        assert needle in view.text, needle
    assert "NORTHWIND TRADERS CORP.\nBy: /s/ Jane Q. Roe" in view.text  # the block is one unit, not cut at "By:"


def test_a_small_budget_still_gives_each_field_its_best_unit() -> None:
    """Fields take turns (the surest first): at 60 tokens the party clause and the governing-law clause are both
    read, although each field's clauses alone could fill the budget."""
    text = ("Preamble of the agreement between the undersigned.\n\n"
            + "".join(f"{i}. Each Party shall protect the information of the other Party and each Party's affiliates "
                      f"shall do the same under clause {i}.\n\n" for i in range(1, 25))
            + "This Agreement is made between Acme Robotics Inc. (the “Company”) and Blue Harbor LLC (“Vendor”).\n\n"
            + "".join(f"{i}. The law of the agreement is the law stated below under clause {i}.\n\n"
                      for i in range(30, 50))
            + "This Agreement is governed by the laws of the State of New York.\n").encode()
    reading = Reading(parse_bytes(text, "nda.txt"))
    sel = StructuredSelector().select(reading, [f"{f.name} {f.description}" for f in PARTY_SCHEMA.fields], 60,
                                      chunk_tokens=400)
    (view,) = sel.views
    assert "Acme Robotics Inc." in view.text and "State of New York" in view.text
    ledger = sel.extra["per_query"]
    assert all(ledger[q] for q in ledger)


def test_format_spread_runs_every_format_on_the_compressed_prompt(tmp_path: Path) -> None:
    """`bench --format-spread 3 --selector structured --budget N`: each of the three prompt formats reads the
    selected view (prompt tokens far below the document's), and the spread is computed over the three runs."""
    from evidex.eval.bench import run_bench
    from evidex.pipeline.spec import PipelineSpec

    docs = []
    for k in range(2):
        f = tmp_path / f"nda{k}.md"
        f.write_bytes(CONTRACT)
        docs.append({"id": f"nda{k}", "path": f.name, "fields": {"term": "three (3) years"}})
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(d) for d in docs), encoding="utf-8")
    answer = json.dumps({"party": None, "term": "three (3) years", "jurisdiction": None, "audit_fee": None})
    spec = PipelineSpec.parse({"schema": SCHEMA.to_dict(),
                               "backend": {"name": "fake", "options": {"outputs": [answer] * 6}},
                               "extract": {"mode": "generate", "selector": "structured", "budget_tokens": 150}})
    res = run_bench(spec, str(gold), None, formats=3, output=tmp_path / "p.jsonl", schema=SCHEMA)
    full = Reading(parse_bytes(CONTRACT, "nda.md")).count(parse_bytes(CONTRACT, "nda.md").text)
    assert [r.format for r in res.runs] == [0, 1, 2]
    for r in res.runs:
        u = r.report.usage
        assert u is not None and u.calls == 2
        assert u.tokens_in / u.docs < full / 3  # the compressed view, in every format
        assert r.report.primary == 1.0


def _orders_xlsx() -> bytes:
    import io

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Orders"
    ws.append(["Order ID", "Customer", "Ship date", "Amount"])
    for i in range(1, 400):
        ws.append([f"SO-{1000 + i}", f"Customer {i % 37}", f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}", round(10.5 * i, 2)])
    summary = wb.create_sheet("Summary")
    for row in (["Metric", "Value"], ["Grand total", 123456.78], ["Region", "EMEA"]):
        summary.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_sheets_are_read_as_rows_under_their_header_row() -> None:
    """A generated workbook (400 rows + a summary sheet): at ~3 % of its tokens each field gets its row, each row
    comes after its sheet's header row (once per table), and every character maps back to a cell."""
    doc = parse_bytes(_orders_xlsx(), "orders.xlsx")
    reading = Reading(doc)
    total = reading.count(reading.view.text)
    sel = StructuredSelector().select(reading, ["grand_total the total of all orders",
                                                "ship_date ship date of order SO-1200"], 140, chunk_tokens=400)
    (view,) = sel.views
    assert reading.count(view.text) <= 140 < total / 30
    text = view.text
    assert text.count("| Order ID | Customer | Ship date | Amount |") == 1
    assert text.count("| Metric | Value |") == 1
    assert text.index("| Order ID |") < text.index("| SO-1200 |") < text.index("| Metric |") < text.index("| Grand total |")
    for seg in view.map.segments:
        if seg.se > seg.ss and not seg.coarse:
            assert text[seg.vs:seg.ve] == doc.text[seg.ss:seg.se]
    row = text.index("| SO-1200 |")
    src = view.to_source(Span(row + 2, row + 9))
    assert doc.text[src.start:src.end] == "SO-1200"
