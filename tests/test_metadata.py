"""A document's own metadata (PDF info dictionary, DOCX core properties, HTML <meta>, e-mail headers) is evidence.

Files are generated here with the real writers (reportlab, python-docx, the stdlib e-mail package); every
metadata value must be a span of the canonical text on the METADATA layer, with provenance naming its origin,
left out of the body views, and offered as a candidate so a ``title / author / date / version`` schema finds it
in rules mode (no model).
"""

from __future__ import annotations

import datetime as dt
import io
from email.message import EmailMessage
from pathlib import Path

import docx
import pytest
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas

from evidex.extract import ExtractOptions
from evidex.extract.candidates import build_candidates
from evidex.model import Document, Layer, NodeKind, Schema, Span
from evidex.parse import parse_file
from evidex.parse.pdf.parser import pdf_date_iso
from evidex.pipeline import Pipeline
from evidex.select.views.render import ALL_LAYERS, markdown_view, plain_view
from oracle import check_document, check_result

SCHEMA = Schema.from_dict(
    {
        "fields": {
            "title": {"type": "string", "description": "the document's title"},
            "author": {"type": "string", "description": "who wrote the document"},
            "date": {"type": "date", "description": "when the document was written"},
            "version": {"type": "string", "description": "the document's version"},
        }
    }
)


def _meta(doc: Document) -> dict[str, tuple[str, Span, str | None, str | None]]:
    """key → (value, value span, prov.part, prov.dom_path) for every METADATA-layer key–value."""
    out = {}
    for kv in doc.iter_nodes(NodeKind.KEY_VALUE, Layer.METADATA):
        key, val = (doc.nodes[c] for c in kv.children)
        assert key.kind is NodeKind.KEY and val.kind is NodeKind.VALUE
        assert doc.text[kv.span.start : kv.span.end] == f"{doc.node_text(key)}: {doc.node_text(val)}"
        out[doc.node_text(key)] = (doc.node_text(val), val.span, kv.prov.part if kv.prov else None,
                                   kv.prov.dom_path if kv.prov else None)
    return out


def _extract(path: Path) -> tuple[Document, dict[str, object], dict[str, Span]]:
    ((_, doc, result),) = list(Pipeline.create(SCHEMA, None, options=ExtractOptions(mode="rules")).run([path]))
    assert doc is not None and result.error is None, result.error
    check_result(result, doc)
    values = result.values()
    evidence = {e.path: e.evidence[0] for e in result.extractions if e.evidence}
    return doc, values, evidence


def _check_layer_views(doc: Document, *texts: str) -> None:
    body, md, everything = plain_view(doc).text, markdown_view(doc).text, plain_view(doc, ALL_LAYERS).text
    for t in texts:
        assert t in doc.text and t in everything
        assert t not in body and t not in md, f"{t!r} leaked into a body view"


# ---------------------------------------------------------------------------------------------- PDF
def _pdf(tmp: Path) -> Path:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=letter)
    c.setTitle("Groundwater Survey of the Upper Basin")
    c.setAuthor("Marta Quispe")
    c.setSubject("Hydrology field report")
    c.setFont("Helvetica-Bold", 22)
    c.drawString(72, 700, "Groundwater Survey")
    c.setFont("Helvetica", 11)
    y = 660
    for line in ("Wells were sampled monthly through the dry season.", "Nitrate stayed below the limit.",
                 "Recharge resumed after the first storms.", "Full tables follow in the annex."):
        c.drawString(72, y, line)
        y -= 16
    c.setFont("Helvetica-Bold", 14)
    c.drawString(72, y - 20, "Methods")
    c.setFont("Helvetica", 11)
    c.drawString(72, y - 40, "Samples were filtered on site and kept cold.")
    c.showPage()
    c.save()
    p = tmp / "survey.pdf"
    p.write_bytes(buf.getvalue())
    return p


def test_pdf_info_dictionary_is_metadata_with_provenance(tmp_path: Path) -> None:
    doc = parse_file(_pdf(tmp_path))
    check_document(doc)
    meta = _meta(doc)
    value, span, part, _ = meta["Title"]
    assert value == "Groundwater Survey of the Upper Basin" and part == "pdf:/Info/Title"
    assert doc.span_text(span) == value
    assert doc.layer_of(span) is Layer.METADATA
    (anchor,) = doc.locate(span)  # provenance: the info dictionary key (no page: it is printed nowhere)
    assert anchor.prov.part == "pdf:/Info/Title" and anchor.prov.page is None
    assert meta["Author"][0] == "Marta Quispe" and meta["Subject"][0] == "Hydrology field report"
    created = meta["Creation date"]
    assert created[0][:4].isdigit() and created[0][4] == "-"  # shown as ISO 8601, the raw D: string kept
    kv = next(n for n in doc.iter_nodes(NodeKind.KEY_VALUE, Layer.METADATA) if n.attrs.get("key") == "CreationDate")
    assert str(kv.attrs["raw"]).startswith("D:") and pdf_date_iso(str(kv.attrs["raw"])) == created[0]
    _check_layer_views(doc, "Marta Quispe", "Groundwater Survey of the Upper Basin")
    assert plain_view(doc).text.endswith("kept cold.")  # the body view ends where the content does


def test_pdf_title_author_date_in_rules_mode(tmp_path: Path) -> None:
    doc, values, evidence = _extract(_pdf(tmp_path))
    # the first large heading is the printed title and wins over the (longer) info-dictionary title
    assert values["title"] == "Groundwater Survey"
    assert doc.layer_of(evidence["title"]) is Layer.BODY
    assert values["author"] == "Marta Quispe"
    assert doc.layer_of(evidence["author"]) is Layer.METADATA
    assert doc.span_text(evidence["author"]) == "Marta Quispe"
    assert isinstance(values["date"], str) and values["date"][:2] == "20"


@pytest.mark.parametrize(
    ("raw", "iso"),
    [("D:20230105102231+01'00'", "2023-01-05T10:22:31+01:00"), ("D:20230105102231Z", "2023-01-05T10:22:31Z"),
     ("D:2023", "2023-01-01"), ("20231130", "2023-11-30"), ("D:20231399", None), ("yesterday", None)],
)
def test_pdf_dates(raw: str, iso: str | None) -> None:
    assert pdf_date_iso(raw) == iso


# ---------------------------------------------------------------------------------------------- DOCX
def _docx(tmp: Path, *, title_style: bool) -> Path:
    d = docx.Document()
    cp = d.core_properties
    cp.title = "Pump Maintenance Manual"
    cp.author = "Ada Okafor"
    cp.subject = "Centrifugal pumps"
    cp.version = "2.1"
    cp.revision = 7
    cp.created = dt.datetime(2021, 3, 4, 9, 30)
    if title_style:
        d.add_paragraph("Pump Maintenance", style="Title")
        d.add_paragraph("Field edition for station crews", style="Subtitle")
    d.add_paragraph("Check the seals every month and log the pressure readings.")
    d.add_paragraph("Replace the bearings after 5,000 running hours.")
    p = tmp / ("styled.docx" if title_style else "plain.docx")
    d.save(str(p))
    return p


def test_docx_core_properties_and_title_styles(tmp_path: Path) -> None:
    doc = parse_file(_docx(tmp_path, title_style=True))
    check_document(doc)
    meta = _meta(doc)
    assert meta["Title"][0] == "Pump Maintenance Manual" and meta["Title"][2] == "/docProps/core.xml#dc:title"
    assert meta["Author"][0] == "Ada Okafor" and meta["Author"][2] == "/docProps/core.xml#dc:creator"
    assert meta["Version"][0] == "2.1" and meta["Revision"][0] == "7"
    assert meta["Creation date"][0] == "2021-03-04T09:30:00Z"
    titles = [(doc.node_text(n), n.level) for n in doc.iter_nodes(NodeKind.TITLE)]
    assert titles == [("Pump Maintenance", None), ("Field edition for station crews", 2)]
    _check_layer_views(doc, "Ada Okafor", "Pump Maintenance Manual")


def test_docx_title_author_date_version_in_rules_mode(tmp_path: Path) -> None:
    doc, values, evidence = _extract(_docx(tmp_path, title_style=True))
    assert values["title"] == "Pump Maintenance"  # the Title-styled paragraph: printed, so preferred
    assert doc.layer_of(evidence["title"]) is Layer.BODY
    assert values["author"] == "Ada Okafor" and values["version"] == "2.1"
    assert doc.layer_of(evidence["version"]) is Layer.METADATA
    assert values["date"] == "2021-03-04"
    # without a printed title, the core property is the answer — with its span as evidence
    doc, values, evidence = _extract(_docx(tmp_path, title_style=False))
    assert values["title"] == "Pump Maintenance Manual"
    assert doc.layer_of(evidence["title"]) is Layer.METADATA


# ---------------------------------------------------------------------------------------------- HTML
PAGE = """<!doctype html><html><head>
<title>The Salt Road | Riverside Books</title>
<meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="author" content="Ines Varga">
<meta name="description" content="A history of the salt trade.">
<meta property="article:published_time" content="2022-05-06">
</head><body><nav><a href="/">Home</a></nav>
<h1>The Salt Road</h1><p>Salt moved over the mountains long before the railway came.</p>
<h2>Chapter one</h2><p>Caravans left at dawn.</p></body></html>"""


def test_html_meta_elements_are_metadata_with_dom_paths(tmp_path: Path) -> None:
    p = tmp_path / "book.html"
    p.write_text(PAGE, encoding="utf-8")
    doc = parse_file(p)
    check_document(doc)
    meta = _meta(doc)
    assert meta["author"][0] == "Ines Varga" and meta["author"][3] == "/html/head/meta[3]"
    assert meta["description"][0] == "A history of the salt trade."
    assert meta["article:published_time"][0] == "2022-05-06"
    assert "viewport" not in meta  # technical meta elements are not the document's metadata
    _check_layer_views(doc, "Ines Varga")

    doc, values, evidence = _extract(p)
    assert values["title"] == "The Salt Road"  # the <h1>; the <title> (furniture) carries the shop's name
    assert values["author"] == "Ines Varga" and doc.layer_of(evidence["author"]) is Layer.METADATA
    assert values["date"] == "2022-05-06"


# ---------------------------------------------------------------------------------------------- e-mail
def test_email_headers_answer_title_author_date(tmp_path: Path) -> None:
    m = EmailMessage()
    m["From"] = "Grace Okoye <grace@example.org>"
    m["To"] = "crew@example.org"
    m["Subject"] = "Night shift handover notes"
    m["Date"] = "Tue, 14 Mar 2023 18:05:00 +0000"
    m.set_content("Valve 3 was replaced.\nThe backup generator was tested and works.\n")
    p = tmp_path / "handover.eml"
    p.write_bytes(m.as_bytes())
    doc = parse_file(p)
    check_document(doc)
    cands = build_candidates(doc).items
    labels = {c.text: c.label for c in cands if c.source == "kv"}
    assert labels["Grace Okoye <grace@example.org>"] == "From (author)"
    assert labels["Night shift handover notes"] == "Subject (title)"

    doc, values, evidence = _extract(p)
    assert values["title"] == "Night shift handover notes"
    assert values["author"] == "Grace Okoye <grace@example.org>"
    assert values["date"] == "2023-03-14"
    assert doc.layer_of(evidence["title"]) is Layer.BODY  # printed headers stay on the body layer


def test_builder_skips_placeholders_and_repeats() -> None:
    from evidex.model import Prov, Source
    from evidex.structure.builder import DocumentBuilder

    b = DocumentBuilder(Source("x.txt", "text/plain", 1, "0"), "x")
    b.text("Body")
    assert b.add_metadata("Title", "  Real\n title ", Prov(part="t"))
    assert not b.add_metadata("Title", "Real title", Prov(part="t"))
    assert not b.add_metadata("Author", "anonymous", Prov(part="a"))
    assert not b.add_metadata("Author", "   ", Prov(part="a"))
    doc = b.build()
    check_document(doc)
    assert doc.text == "Body\n\nTitle: Real title"
    assert plain_view(doc).text == "Body"
