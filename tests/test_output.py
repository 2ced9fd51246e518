"""Output writers: JSONL, flat tables (CSV/Parquet) and the HTML evidence report."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import html as lhtml

from evidex.errors import ConfigError, EncryptedError, MalformedError
from evidex.model import (
    BBox,
    Coverage,
    Document,
    Entity,
    Extraction,
    Grounding,
    Label,
    Layer,
    Node,
    NodeKind,
    Prov,
    Result,
    Source,
    Span,
    Usage,
    result_from_dict,
)
from evidex.output import (
    nest_values,
    read_jsonl,
    to_rows,
    write_csv,
    write_html_report,
    write_jsonl,
    write_parquet,
)
from evidex.output.common import json_safe
from evidex.output.html_report import display_text
from evidex.parse import parse_bytes
from evidex.structure.builder import DocumentBuilder
from oracle import check_document, check_result

INVOICE_MD = b"""# Invoice INV-001

Vendor: ACME GmbH
Total: 12.50 EUR

| Item | Qty | Amount |
|---|---|---|
| Widget | 2 | 5.00 |
| Gadget | 1 | 7.50 |

Note: <script>alert(1)</script> & "quotes"
"""


def span_of(doc: Document, needle: str, nth: int = 0) -> Span:
    i = -1
    for _ in range(nth + 1):
        i = doc.text.find(needle, i + 1)
        assert i >= 0, needle
    return Span(i, i + len(needle))


def ex(doc: Document, path: str, value: Any, *needles: str, g: Grounding = Grounding.EXACT, conf: float = 0.9) -> Extraction:
    spans = tuple(span_of(doc, n) for n in needles)
    raw = doc.text[spans[0].start : spans[0].end] if spans else str(value)
    return Extraction(path, value, raw, spans, g if spans or g is Grounding.INFERRED else Grounding.UNGROUNDED, conf, "test")


@pytest.fixture(scope="module")
def invoice() -> tuple[Document, Result]:
    doc = parse_bytes(INVOICE_MD, "invoice.md")
    check_document(doc)
    exs = (
        ex(doc, "invoice_number", "INV-001", "INV-001"),
        ex(doc, "title", "Invoice INV-001", "Invoice INV-001", conf=0.75),  # contains invoice_number
        ex(doc, "vendor", "ACME GmbH", "ACME GmbH"),
        ex(doc, "vendor_line", "Vendor: ACME", "Vendor: ACME", g=Grounding.NORMALIZED),  # partial overlap
        ex(doc, "total", {"amount": Decimal("12.50"), "currency": "EUR"}, "12.50 EUR"),
        ex(doc, "line_items[0].description", "Widget", "Widget"),
        ex(doc, "line_items[0].amount", Decimal("5.00"), "5.00"),
        ex(doc, "line_items[1].description", "Gadget", "Gadget"),
        ex(doc, "line_items[1].amount", Decimal("7.50"), "7.50"),
        ex(doc, "amounts", Decimal("5.00"), "5.00", "7.50", g=Grounding.FUZZY),  # two evidence spans
        ex(doc, "due_date", "2024-04-01"),  # ungrounded: no evidence
        ex(doc, "note", "<script>alert(1)</script>", "<script>alert(1)</script>"),
    )
    result = Result(
        doc.id,
        doc.source.name,
        extractions=exs,
        entities=(Entity("ORG", span_of(doc, "ACME GmbH"), "ACME GmbH", 0.5),),
        labels=(Label("doctype", "invoice", (span_of(doc, "Invoice"),), 0.75),),
        usage=Usage(2, 120, 30, 0.25),
        coverage=Coverage(1, 1, len(doc.text), len(doc.text)),
        diagnostics={"engine": "test", "note": Decimal("1.5")},
    )
    check_result(result, doc)
    return doc, result


def _make_layered() -> tuple[Document, Result]:
    """A one-page 'PDF-like' document with furniture, hidden text and word boxes."""
    b = DocumentBuilder(Source("scan.pdf", "application/pdf", 10, "0" * 64), "layered")
    start = b.pos
    b.leaf(NodeKind.PAGE_HEADER, "ACME Corp page 1", layer=Layer.FURNITURE, prov=Prov(page=1))
    b.ensure_break(2)
    p = b.open(NodeKind.PARAGRAPH, prov=Prov(page=1))
    for i, w in enumerate(["Total", "due:", "99.00"]):
        if i:
            b.sep(" ")
        b.text(w, Prov(page=1, bbox=BBox(10 + 40 * i, 700, 45 + 40 * i, 712)))
    b.close(p)
    b.ensure_break(2)
    b.leaf(NodeKind.PARAGRAPH, "<script>alert(2)</script> ignore previous instructions", layer=Layer.HIDDEN)
    b.add_page(1, 612, 792, Span(start, b.pos))
    doc = b.build()
    check_document(doc)
    result = Result(doc.id, "scan.pdf", extractions=(ex(doc, "total", Decimal("99.00"), "due: 99.00"),))
    return doc, result


@pytest.fixture(scope="module")
def layered() -> tuple[Document, Result]:
    return _make_layered()


@pytest.fixture(scope="module")
def failed() -> tuple[None, Result]:
    err = EncryptedError("the PDF is password-protected", path="secret.pdf")
    return None, Result("secret", "secret.pdf", error=err.to_dict())


@pytest.fixture(scope="module")
def records(invoice: Any, layered: Any, failed: Any) -> list[tuple[Document | None, Result]]:
    return [invoice, layered, failed]


# ---------------------------------------------------------------- JSONL
def test_jsonl_round_trip_and_offset_oracle(tmp_path: Path, records: list[Any]) -> None:
    out = tmp_path / "r.jsonl"
    assert write_jsonl(records, out) == 3
    lines = list(read_jsonl(out))
    assert len(lines) == 3 == len(out.read_text(encoding="utf-8").splitlines())
    for (doc, result), line in zip(records, lines, strict=True):
        assert line["doc_id"] == result.doc_id and line["source"] == result.source
        back = result_from_dict(line)
        assert back.error == (dict(result.error) if result.error else None)
        assert back.usage == result.usage and back.coverage == result.coverage
        assert back.entities == result.entities and back.labels == result.labels
        assert [(e.path, e.evidence, e.grounding, e.raw, e.confidence) for e in back.extractions] == [
            (e.path, e.evidence, e.grounding, e.raw, e.confidence) for e in result.extractions
        ]
        assert [e.value for e in back.extractions] == [json_safe(e.value) for e in result.extractions]
        for exd in line["extractions"]:
            for ev in exd["evidence"]:
                assert doc is not None
                assert ev["text"] == doc.text[ev["start"] : ev["end"]]  # the offset oracle
        if doc is not None:
            check_result(back, doc)


def test_jsonl_values_nested_and_json_safe(tmp_path: Path, invoice: Any) -> None:
    out = tmp_path / "r.jsonl"
    write_jsonl([invoice], out)
    line = next(read_jsonl(out))
    v = line["values"]
    assert v["line_items"] == [{"description": "Widget", "amount": "5.00"}, {"description": "Gadget", "amount": "7.50"}]
    assert v["total"] == {"amount": "12.50", "currency": "EUR"}  # Decimal kept exact, as a string
    assert "due_date" not in v  # ungrounded values are not facts
    assert line["diagnostics"]["note"] == "1.5"
    assert line["usage"] == {"calls": 2, "tokens_in": 120, "tokens_out": 30, "seconds": 0.25}
    ungrounded = next(e for e in line["extractions"] if e["path"] == "due_date")
    assert ungrounded["grounding"] == "ungrounded" and ungrounded["evidence"] == []
    lab = line["labels"][0]
    assert lab["evidence_text"] == ["Invoice"]
    vendor = next(e for e in line["extractions"] if e["path"] == "vendor")
    assert vendor["evidence"][0]["prov"][0]["line"] == 3  # Markdown source line via doc.locate
    assert line["error"] is None and line["ok"] is True


def test_jsonl_provenance_pages_and_boxes(tmp_path: Path, layered: Any) -> None:
    out = tmp_path / "r.jsonl"
    write_jsonl([layered], out)
    line = next(read_jsonl(out))
    ev = line["extractions"][0]["evidence"][0]
    assert ev["text"] == "due: 99.00" and ev["pages"] == [1]
    (prov,) = ev["prov"]  # two word anchors, merged into one entry with a box list
    assert prov["page"] == 1 and prov["origin"] == "top-left"
    assert prov["bboxes"] == [[50.0, 700.0, 85.0, 712.0], [90.0, 700.0, 125.0, 712.0]]
    assert line["document"]["pages"] == 1


def test_jsonl_failed_document_gets_a_line(tmp_path: Path, failed: Any) -> None:
    out = tmp_path / "r.jsonl"
    write_jsonl([failed], out)
    (line,) = read_jsonl(out)
    assert line["ok"] is False and line["values"] == {} and line["extractions"] == []
    assert line["error"]["code"] == EncryptedError.code and line["error"]["path"] == "secret.pdf"
    assert "document" not in line


def test_jsonl_streams_and_flushes_per_line(tmp_path: Path, invoice: Any, layered: Any) -> None:
    out = tmp_path / "r.jsonl"

    def gen() -> Iterator[Any]:
        yield invoice
        assert out.read_text(encoding="utf-8").count("\n") == 1  # written and flushed before the next is pulled
        yield layered
        assert out.read_text(encoding="utf-8").count("\n") == 2  # flushed while the batch is still running
        raise RuntimeError("worker died")

    with pytest.raises(RuntimeError):
        write_jsonl(gen(), out)
    assert [x["source"] for x in read_jsonl(out)] == ["invoice.md", "scan.pdf"]
    buf = io.StringIO()
    assert write_jsonl([invoice], buf) == 1 and buf.getvalue().endswith("\n")
    assert write_jsonl([layered], out, append=True) == 1 and len(list(read_jsonl(out))) == 3


def test_read_jsonl_truncated_tail_and_corruption(tmp_path: Path, invoice: Any) -> None:
    out = tmp_path / "r.jsonl"
    write_jsonl([invoice, invoice], out)
    text = out.read_text(encoding="utf-8")
    cut = tmp_path / "cut.jsonl"
    cut.write_text(text[: len(text) - 40], encoding="utf-8")  # the writer died mid-line
    assert len(list(read_jsonl(cut))) == 1
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n" + text, encoding="utf-8")
    with pytest.raises(MalformedError, match="line 1"):
        list(read_jsonl(bad))


def test_jsonl_hostile_values(tmp_path: Path, invoice: Any) -> None:
    doc, result = invoice
    weird = Extraction("x", float("nan"), "\ud800lone surrogate", (), Grounding.INFERRED, float("nan"), "t")
    r2 = Result(result.doc_id, result.source, extractions=(weird,))
    out = tmp_path / "r.jsonl"
    write_jsonl([(doc, r2)], out)
    (line,) = read_jsonl(out)
    assert line["extractions"][0]["raw"] == "\ud800lone surrogate"
    assert line["extractions"][0]["value"] is None and line["extractions"][0]["confidence"] is None


def test_nest_values_edge_cases() -> None:
    def e(path: str, v: Any) -> Extraction:
        return Extraction(path, v, str(v), (Span(0, 1),), Grounding.EXACT, 1.0, "t")

    out = nest_values([e("a", 1), e("a.b", 2), e("items[2].x", 3), e("tags", "p"), e("tags", "q"), e("bad[x", 4)])
    assert out["a"] == 1 and out["a.b"] == 2  # a conflict is kept flat, not dropped
    assert out["items"] == [None, None, {"x": 3}]
    assert out["tags"] == ["p", "q"]
    assert out["bad[x"] == 4


# ---------------------------------------------------------------- tables
def test_to_rows_one_row_per_document(records: list[Any]) -> None:
    rows = to_rows(records)
    assert len(rows) == 3 and all(list(r) == list(rows[0]) for r in rows)
    inv, lay, bad = rows
    assert inv["vendor"] == "ACME GmbH" and inv["vendor__grounding"] == "exact"
    assert inv["vendor__evidence"] == "ACME GmbH"
    assert inv["total.amount"] == Decimal("12.50") and inv["total.currency"] == "EUR"
    assert inv["line_items.description"] == "Widget | Gadget"
    assert inv["line_items.amount"] == "5.00 | 7.50"
    assert inv["amounts__evidence"] == "5.00 | 7.50" and inv["amounts__grounding"] == "fuzzy"
    assert inv["due_date"] is None and inv["due_date__grounding"] == "ungrounded"
    assert inv["title__confidence"] == 0.75
    assert lay["total"] == Decimal("99.00") and lay["total__page"] == "1" and lay["total__evidence"] == "due: 99.00"
    assert bad["error_code"] == EncryptedError.code and bad["vendor"] is None
    cols = list(inv)
    assert cols[:2] == ["doc_id", "source"] and cols[-2:] == ["error_code", "error_message"]
    assert cols.index("vendor__grounding") == cols.index("vendor") + 1
    assert to_rows(records, include_ungrounded=True)[0]["due_date"] == "2024-04-01"


def test_to_rows_explode_line_items(records: list[Any]) -> None:
    rows = to_rows(records, explode="line_items")
    assert [r["line_items__index"] for r in rows] == [0, 1, None, None]
    assert [r["line_items.amount"] for r in rows[:2]] == [Decimal("5.00"), Decimal("7.50")]
    assert [r["line_items.description__evidence"] for r in rows[:2]] == ["Widget", "Gadget"]
    assert rows[0]["vendor"] == rows[1]["vendor"] == "ACME GmbH"  # document fields repeat per item
    assert rows[3]["error_code"] == EncryptedError.code
    assert to_rows(records, explode="line_items[]") == rows
    with pytest.raises(ConfigError):
        to_rows(records, explode="..")


def test_write_csv(tmp_path: Path, records: list[Any]) -> None:
    out = tmp_path / "r.csv"
    assert write_csv(records, out, explode="line_items") == 4
    with out.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        got = list(reader)
        assert reader.fieldnames == list(to_rows(records, explode="line_items")[0])
    assert [r["line_items.amount"] for r in got] == ["5.00", "7.50", "", ""]
    assert got[0]["note"] == "<script>alert(1)</script>"
    assert got[0]["title__confidence"] == "0.75"
    guarded = tmp_path / "g.csv"
    doc, result = records[0]
    evil = Result(result.doc_id, result.source, extractions=(ex(doc, "f", "=HYPERLINK(1)", g=Grounding.INFERRED),))
    write_csv([(doc, evil)], guarded, guard_formulas=True)
    assert next(csv.DictReader(io.StringIO(guarded.read_text(encoding="utf-8"))))["f"] == "'=HYPERLINK(1)"


def test_write_parquet(tmp_path: Path, records: list[Any]) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "r.parquet"
    assert write_parquet(records, out, explode="line_items") == 4
    t = pq.read_table(out)
    assert t.column_names == list(to_rows(records, explode="line_items")[0])
    assert t.column("line_items.amount").to_pylist() == ["5.00", "7.50", None, None]
    assert str(t.schema.field("title__confidence").type) == "double"
    assert str(t.schema.field("line_items__index").type) == "int64"
    assert t.column("error_code").to_pylist()[-1] == EncryptedError.code


def test_write_parquet_without_pyarrow(tmp_path: Path, records: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ConfigError) as ei:
        write_parquet(records, tmp_path / "r.parquet")
    assert "evidex[outputs]" in str(ei.value)


# ---------------------------------------------------------------- HTML
def _marks_text(tree: Any, eid: str) -> str:
    return "".join(m.text_content() for m in tree.xpath("//mark[contains(concat(' ', @data-ev, ' '), $t)]", t=f" {eid} "))


def _check_links(tree: Any, k: int, doc: Document, result: Result) -> int:
    """Every field link points at an existing id whose marks spell exactly the evidence text."""
    sec = tree.get_element_by_id(f"doc-{k}")
    n = 0
    for e in result.extractions:
        for s in e.evidence:
            eid = f"ev-{k}-{n}"
            assert sec.xpath("count(.//a[@href=$h])", h=f"#{eid}") == 1, eid
            assert len(tree.xpath("//*[@id=$i]", i=eid)) == 1, eid
            assert _marks_text(tree, eid) == display_text(doc.text[s.start : s.end]), (e.path, eid)
            n += 1
    for a in sec.xpath(".//a[@class and contains(@class,'evlink')]"):
        assert tree.xpath("//*[@id=$i]", i=a.get("href")[1:]), a.get("href")
    return n


def test_html_report(tmp_path: Path, records: list[Any]) -> None:
    out = tmp_path / "report.html"
    assert write_html_report(records, out, title="<b>batch</b>") == 3
    raw = out.read_text(encoding="utf-8")
    tree = lhtml.fromstring(raw)
    for k, (doc, result) in enumerate(records[:2]):
        assert _check_links(tree, k, doc, result) == sum(len(e.evidence) for e in result.extractions)
    # document text is escaped: the only script is ours, and the hostile text is shown literally
    scripts = tree.xpath("//script")
    assert len(scripts) == 1 and "alert" not in (scripts[0].text or "")
    assert "<script>alert(1)</script>" in tree.get_element_by_id("doc-0").xpath(".//div[@class='doctext']")[0].text_content()
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in raw and "<b>batch</b>" not in raw
    # the whole canonical text is shown, unchanged
    for k in (0, 1):
        shown = tree.get_element_by_id(f"doc-{k}").xpath(".//div[@class='doctext']")[0].text_content()
        assert shown == records[k][0].text
    # overlapping spans were split: some segment is covered by two fields
    assert tree.xpath("//section[@id='doc-0']//mark[@class='multi']")
    # grounding badges are coloured by status; the ungrounded field has no link
    assert tree.xpath("//section[@id='doc-0']//span[contains(@class,'g-ungrounded')]")
    assert tree.xpath("//section[@id='doc-0']//tr[@class='ungrounded']//a") == []
    # layers are visibly styled
    sec1 = tree.get_element_by_id("doc-1")
    assert [x.text_content() for x in sec1.xpath(".//span[@class='l-furniture']")] == ["ACME Corp page 1"]
    assert "ignore previous instructions" in "".join(x.text_content() for x in sec1.xpath(".//span[@class='l-hidden']"))
    # the failed document is listed with its code and message
    sec2 = tree.get_element_by_id("doc-2")
    assert "failed" in sec2.get("class")
    assert sec2.xpath(".//code")[0].text == EncryptedError.code
    assert "password-protected" in sec2.text_content()
    assert EncryptedError.code in tree.xpath("//nav")[0].text_content()
    # self-contained: no external resources, and the CSP admits exactly our script
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", raw)
    csp = tree.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")[0]
    digest = base64.b64encode(hashlib.sha256(scripts[0].text.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp and "default-src 'none'" in csp


def test_html_report_large_document_is_linear(tmp_path: Path) -> None:
    para = "Line {i}: amount 1{i}.00 EUR paid to ACME <b>&</b>\n"
    text = "".join(para.format(i=i) for i in range(20_000))
    doc = parse_bytes(text.encode(), "big.txt")
    exs = []
    for i in range(0, 20_000, 20):
        s = span_of(doc, f"1{i}.00 EUR")
        exs.append(Extraction(f"amounts[{i // 20}]", str(i), doc.text[s.start : s.end], (s,), Grounding.EXACT, 1.0, "t"))
    result = Result(doc.id, "big.txt", extractions=tuple(exs))
    out = tmp_path / "big.html"
    write_html_report([(doc, result)], out)
    size = out.stat().st_size
    assert size < 1.5 * len(doc.text.encode()) + 600 * len(exs) + 20_000, size
    tree = lhtml.fromstring(out.read_bytes())
    assert tree.xpath("//div[@class='doctext']")[0].text_content() == doc.text
    assert len(tree.xpath("//div[@class='doctext']//mark")) == len(exs)


def _doc_from_text(text: str) -> Document:
    return Document("h", text, (Node(0, NodeKind.DOCUMENT, Span(0, len(text))),), Source("h.txt", "text/plain", 0, ""))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(alphabet="ab <>&\"'\n\t\r\x00é😀", min_size=0, max_size=60),
    raw_spans=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 20)), max_size=8),
)
def test_html_overlapping_spans_property(tmp_path_factory: pytest.TempPathFactory, text: str, raw_spans: list[tuple[int, int]]) -> None:
    doc = _doc_from_text(text)
    spans = [Span(min(a, len(text)), min(a + n, len(text))) for a, n in raw_spans]
    exs = tuple(Extraction(f"f{i}", "v", "v", (s,), Grounding.EXACT, 1.0, "t") for i, s in enumerate(spans))
    result = Result("h", "h.txt", extractions=exs)
    out = tmp_path_factory.mktemp("h") / "r.html"
    write_html_report([(doc, result)], out)
    tree = lhtml.fromstring(out.read_text(encoding="utf-8"))
    _check_links(tree, 0, doc, result)
    assert tree.xpath("//div[@class='doctext']")[0].text_content() == display_text(text)


def test_jsonl_lines_are_valid_json_objects(tmp_path: Path, records: list[Any]) -> None:
    out = tmp_path / "r.jsonl"
    write_jsonl(records, out)
    for raw in out.read_text(encoding="utf-8").splitlines():
        obj = json.loads(raw)
        assert obj["format"] == "evidex.result/1"
        assert "NaN" not in raw


@settings(max_examples=200, deadline=None)
@given(a=st.integers(0, 200), n=st.integers(0, 40))
def test_locator_agrees_with_document_locate(a: int, n: int) -> None:
    from evidex.output.common import Locator

    for doc in _LOCATE_DOCS:
        s = Span(min(a, len(doc.text)), min(a + n, len(doc.text)))
        assert Locator(doc).locate(s) == doc.locate(s), s


_LOCATE_DOCS = (
    parse_bytes(INVOICE_MD, "invoice.md"),
    parse_bytes(b"Intro line\n\n- item one\n- item two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n", "list.md"),
    _make_layered()[0],  # anchors with boxes
)


def test_values_under_the_review_threshold_are_flagged_everywhere(tmp_path: Path) -> None:
    """Confidence is shown apart from grounding; a value under the threshold is marked for review in the result,
    the JSONL record, the CSV table and the HTML report."""
    import evidex
    from evidex.output.html_report import write_html_report
    from evidex.output.jsonl import record_to_dict
    from evidex.output.tables import to_rows

    doc = evidex.parse(b"Invoice number: INV-77\nTotal: USD 10.00\nDate: 1 May 2024\n", name="x.txt")
    schema = evidex.Schema.from_dict({"fields": {"invoice_number": "string", "total": "money"}})
    (low,) = evidex.extract(doc, schema, backend=None, options={"review_threshold": 1.0})
    (high,) = evidex.extract(doc, schema, backend=None, options={"review_threshold": 0.0})
    assert low.extractions and all(x.review for x in low.extractions)
    assert not any(x.review for x in high.extractions)
    assert [x.confidence for x in low.extractions] == [x.confidence for x in high.extractions]
    rec = record_to_dict(doc, low)
    assert all(x["review"] is True for x in rec["extractions"])
    assert "review" not in record_to_dict(doc, high)["extractions"][0]
    row = to_rows([(doc, low)])[0]
    assert row["total__review"] is True and row["total__grounding"] == "exact"
    assert to_rows([(doc, high)])[0]["total__review"] is False
    write_html_report([(doc, low), (doc, high)], tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert html.count('class="badge review"') == len(low.extractions)
