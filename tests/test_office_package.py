"""The one OOXML package reader (parse/office/package.py PartReader) used by the DOCX and XLSX fast paths."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from evidex.parse import parse_bytes
from evidex.parse.office.docx_pkg import open_docx
from evidex.parse.office.package import IrregularPackage, PartReader
from evidex.parse.office.xlsx_reader import read_workbook

docx = pytest.importorskip("docx")
openpyxl = pytest.importorskip("openpyxl")

_CT = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="XML" ContentType="application/xml"/>'
    '<Override PartName="/a/Main.xml" ContentType="text/x-main"/>'
    '<Override PartName="/a/second.xml" ContentType="text/x-main"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{}</Relationships>'
)


def _zip(parts: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return buf.getvalue()


def _package() -> bytes:
    return _zip({
        "[Content_Types].xml": _CT,
        "_rels/.rels": _RELS.format('<Relationship Id="r1" Type="t:main" Target="a/Main.xml"/>'),
        "a/Main.xml": "<main/>",
        "a/_rels/Main.xml.rels": _RELS.format(
            '<Relationship Id="up" Type="t:x" Target="../b/other.xml"/>'
            '<Relationship Id="abs" Type="t:y" Target="/a/second.xml"/>'
            '<Relationship Id="web" Type="t:z" Target="https://example.org/" TargetMode="External"/>'
        ),
        "b/other.xml": "<other/>",
        "a/second.xml": "<second/>",
    })


def test_relationships_resolve_to_absolute_part_names() -> None:
    rd = PartReader(_package())
    rels = rd.rels_of("/a/Main.xml")
    assert rels["up"].target == "/b/other.xml" and not rels["up"].external
    assert rels["abs"].target == "/a/second.xml"
    assert rels["web"].external and rels["web"].target == ""
    assert rd.one("/", "t:main", "text/x-main") == "/a/Main.xml"
    assert rd.xml(rels["up"].target).tag == "other"
    rd.walk()  # every reachable part exists and has a content type


def test_content_types_override_then_default_by_extension() -> None:
    rd = PartReader(_package())
    assert rd.content_type("/A/MAIN.xml") == "text/x-main"  # part names compare case-insensitively
    assert rd.content_type("/b/other.xml") == "application/xml"  # the default for the extension (any case)
    assert rd.parts_of_type("text/x-main") == ["/a/Main.xml", "/a/second.xml"]
    with pytest.raises(IrregularPackage):
        rd.content_type("/b/picture.png")


def test_irregular_packages_raise() -> None:
    rd = PartReader(_package())
    with pytest.raises(IrregularPackage):
        rd.read("/missing.xml")
    broken = _zip({"[Content_Types].xml": _CT, "_rels/.rels": _RELS.format(
        '<Relationship Id="r1" Type="t:main" Target="a/nowhere.xml"/>')})
    with pytest.raises(IrregularPackage):
        PartReader(broken).walk()
    with pytest.raises(IrregularPackage):  # not well-formed
        PartReader(_zip({"[Content_Types].xml": "<Types"}))
    two = _zip({"[Content_Types].xml": _CT, "_rels/.rels": _RELS.format(
        '<Relationship Id="r1" Type="t:main" Target="a/Main.xml"/>'
        '<Relationship Id="r2" Type="t:main" Target="a/second.xml"/>'), "a/Main.xml": "<m/>", "a/second.xml": "<s/>"})
    with pytest.raises(IrregularPackage):
        PartReader(two).one("/", "t:main", None)


def test_docx_and_xlsx_fast_paths_read_through_it() -> None:
    d = docx.Document()
    d.add_paragraph("Body text")
    d.sections[0].header.paragraphs[0].text = "Running head"
    buf = io.BytesIO()
    d.save(buf)
    pkg = open_docx(buf.getvalue())
    assert pkg is not None
    assert [name for name, _root in pkg.related.values()] == ["/word/header1.xml"]

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["Item", "Qty"])
    ws.append(["bolts", 7])
    buf = io.BytesIO()
    wb.save(buf)
    sheets = read_workbook(buf.getvalue(), formulas=False)
    assert sheets is not None
    assert [(s.title, s.cells[(2, 1)][0], s.cells[(2, 2)][0]) for s in sheets] == [("Data", "bolts", 7)]


def test_irregular_docx_falls_back_to_python_docx() -> None:
    d = docx.Document()
    d.add_paragraph("Still parsed")
    buf = io.BytesIO()
    d.save(buf)
    # no core-properties part: the fast path declines, python-docx reads the package (with default properties)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "docProps/core.xml":
                continue
            if info.filename == "_rels/.rels":
                data = re.sub(rb"<Relationship [^>]*docProps/core.xml\"/>", b"", data)
                assert b"core.xml" not in data
            z.writestr(info, data)
    raw = out.getvalue()
    assert open_docx(raw) is None
    assert "Still parsed" in parse_bytes(raw, "x.docx").text
