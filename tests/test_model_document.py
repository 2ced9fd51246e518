"""Document invariants, JSON round trip, locate(), schema builders."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from evidex.errors import SchemaError
from evidex.model import (
    BBox,
    Document,
    FieldType,
    Layer,
    NodeKind,
    Origin,
    Prov,
    Schema,
    Source,
    Span,
    document_from_dict,
    document_to_dict,
)
from evidex.parse import parse_bytes
from evidex.structure.builder import DocumentBuilder
from oracle import check_document


def _doc_with_anchors() -> Document:
    b = DocumentBuilder(Source("x.pdf", "application/pdf", 1, "00"), "id1")
    sid = b.open(NodeKind.SECTION, level=1)
    b.leaf(NodeKind.HEADING, "Invoice", level=1, prov=Prov(page=1, bbox=BBox(10, 10, 60, 22)), anchor=True)
    b.ensure_break(2)
    p = b.open(NodeKind.PARAGRAPH, prov=Prov(page=1))
    b.text("Total", Prov(page=1, bbox=BBox(10, 40, 40, 50)))
    b.sep(" ")
    b.text("£12.00", Prov(page=1, bbox=BBox(45, 40, 80, 50, Origin.TOP_LEFT)))
    b.close(p)
    b.close(sid)
    b.add_page(1, 595, 842, Span(0, b.pos))
    return b.build()


def test_builder_spans_and_locate() -> None:
    doc = _doc_with_anchors()
    check_document(doc)
    assert doc.text == "Invoice\n\nTotal £12.00"
    para = next(doc.iter_nodes(NodeKind.PARAGRAPH))
    assert doc.node_text(para) == "Total £12.00"
    i = doc.text.index("£12.00")
    anchors = doc.locate(Span(i, i + 6))
    assert [a.prov.bbox for a in anchors] == [BBox(45, 40, 80, 50)]
    both = doc.locate(Span(doc.text.index("Total"), len(doc.text)))
    assert len(both) == 2 and both[0].span.start < both[1].span.start
    assert doc.pages_of(Span(i, i + 6)) == [1]


def test_json_round_trip_is_lossless() -> None:
    doc = _doc_with_anchors()
    d = document_to_dict(doc)
    again = document_from_dict(json.loads(json.dumps(d)))
    assert again == doc
    assert document_to_dict(again) == d


@st.composite
def texty(draw: st.DrawFn) -> str:
    lines = draw(
        st.lists(
            st.one_of(
                st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40),
                st.sampled_from(["", "TERMS AND CONDITIONS", "- item one", "1. first", "Key: value", "a | b | c",
                                 "Total:\t$1,575.00", "=====", "# Heading", "| x | y |", "|---|---|", "> quote", "```"]),
            ),
            min_size=1,
            max_size=25,
        )
    )
    return "\n".join(lines)


@settings(max_examples=150, deadline=None)
@given(texty(), st.sampled_from(["a.txt", "a.md"]))
@example("0|\xa0\n|", "a.txt")  # a table cell holding only a no-break space was kept untrimmed
@example("0\n\n\xa0AA", "a.txt")  # a line starting with a no-break space made an untrimmed heading
def test_text_and_markdown_parse_keep_offsets(text: str, name: str) -> None:
    data = text.encode("utf-8")
    if not text.strip():
        return
    doc = parse_bytes(data, name)
    check_document(doc)
    if name.endswith(".txt"):
        # plain text: the canonical text is the file itself (trimmed), so every node is a real substring
        assert doc.text == text.strip().replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "") or "\r" in text
    for n in doc.nodes:
        if n.kind in (NodeKind.KEY, NodeKind.VALUE, NodeKind.CELL, NodeKind.HEADING):
            assert doc.node_text(n) == doc.node_text(n).strip()
    assert json.loads(json.dumps(document_to_dict(doc)))["text"] == doc.text


def test_layers_survive_round_trip() -> None:
    b = DocumentBuilder(Source("x.html", "text/html", 1, "00"), "id2")
    b.leaf(NodeKind.PARAGRAPH, "visible")
    b.ensure_break(2)
    b.leaf(NodeKind.TEXT, "secret", layer=Layer.HIDDEN, prov=Prov(dom_path="/html/body/div[1]"))
    doc = b.build()
    again = document_from_dict(document_to_dict(doc))
    hidden = list(again.iter_nodes(layer=Layer.HIDDEN))
    assert [again.node_text(n) for n in hidden] == ["secret"]
    assert again.layer_of(hidden[0].span) is Layer.HIDDEN


# ---------------------------------------------------------------------------- schema
def test_schema_from_yaml_with_records_lists_entities_relations_labels() -> None:
    s = Schema.from_yaml(
        """
name: invoice
fields:
  invoice_number: {type: string, required: true, description: "The invoice id"}
  invoice_date: date
  total: money
  status: {choices: [paid, unpaid]}
  line_items:
    type: record
    many: true
    fields: {description: string, amount: money, qty: integer}
entities: {PERSON: a person, ORG: an organisation}
relations: {works_for: {head: PERSON, tail: ORG}}
labels: {doc_type: [invoice, receipt, letter]}
"""
    )
    assert s.field("invoice_number").required
    assert s.field("status").type is FieldType.ENUM and s.field("status").choices == ("paid", "unpaid")
    assert s.field("line_items").many and s.field("line_items.amount").type is FieldType.MONEY
    assert s.leaf_paths() == ["invoice_number", "invoice_date", "total", "status", "line_items.description",
                              "line_items.amount", "line_items.qty"]
    assert s.relations[0].head == "PERSON"
    assert s.labels[0].labels == ("invoice", "receipt", "letter")
    assert Schema.from_dict(s.to_dict()) == s


@pytest.mark.parametrize(
    ("yaml_text", "fragment"),
    [
        ("fields: {a: {type: flaot}}", "fields.a.type: unknown type 'flaot'"),
        ("fields: {a: [unclosed", "invalid YAML"),
        ("fields: {a: {type: string, colour: red}}", "fields.a.colour: unknown key"),
        ("fields: {items: {type: record, fields: {x: {type: nope}}}}", "fields.items.fields.x.type"),
        ("fields: {s: enum}", "fields.s: enum field needs 'choices'"),
        ("entities: [A]\nrelations: {r: {head: A, tail: B}}", "relations.r.tail: unknown entity type 'B'"),
        ("- just a list", "schema must be a mapping"),
        ("fieldz: {}", "unknown top-level key 'fieldz'"),
    ],
)
def test_schema_errors_name_the_offending_path(yaml_text: str, fragment: str) -> None:
    with pytest.raises(SchemaError) as ei:
        Schema.from_yaml(yaml_text)
    assert fragment in str(ei.value)
    assert ei.value.code == "EVX-C001"


def test_schema_from_json_schema_and_pydantic_and_circular_refs() -> None:
    class Item(BaseModel):
        description: str
        amount: float

    class Invoice(BaseModel):
        """An invoice."""

        number: str
        paid: bool | None = None
        items: list[Item]

    s = Schema.from_pydantic(Invoice)
    assert s.name == "Invoice"
    assert s.field("number").required and s.field("number").type is FieldType.STRING
    assert s.field("paid").type is FieldType.BOOLEAN and not s.field("paid").required
    assert s.field("items").many and s.field("items.amount").type is FieldType.DECIMAL

    circular = {
        "type": "object",
        "properties": {"node": {"$ref": "#/$defs/Node"}},
        "$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}},
    }
    with pytest.raises(SchemaError, match="circular"):
        Schema.from_json_schema(circular)
    dated = Schema.from_json_schema({"type": "object", "properties": {"d": {"type": "string", "format": "date"}}})
    assert dated.field("d").type is FieldType.DATE


def test_documents_pickle_round_trip() -> None:
    import pickle

    doc = parse_bytes(b"# Title\n\nKey: value\n", "a.md")
    again = pickle.loads(pickle.dumps(doc))
    assert again == doc
    assert dict(again.metadata) == dict(doc.metadata)
    assert again.locate(doc.nodes[-1].span) == doc.locate(doc.nodes[-1].span)
