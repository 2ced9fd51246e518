"""Small reading slips: UTF-16 without a byte-order mark, `|` inside Markdown table cells, CLI hints."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evidex.errors import UnsupportedTypeError
from evidex.parse import parse_file
from evidex.parse.encoding import utf16_without_bom
from oracle import check_document

TEXT = "Invoice date: 14 March 2024\nTotal: 12,50 € — naïve café\n"


@pytest.mark.parametrize("enc", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_text(tmp_path: Path, enc: str) -> None:
    p = tmp_path / "u16.txt"
    p.write_bytes(TEXT.encode(enc))
    doc = parse_file(p)
    check_document(doc)
    assert doc.text == TEXT.strip()
    assert doc.metadata["encoding"] == enc
    assert any("without a byte-order mark" in w for w in doc.warnings)


def test_utf16_without_bom_unnamed_html_is_sniffed(tmp_path: Path) -> None:
    p = tmp_path / "page"
    p.write_bytes("<!doctype html><html><body><p>Grüße aus Köln</p></body></html>".encode("utf-16-le"))
    doc = parse_file(p)
    assert doc.source.media_type == "text/html"
    assert "Grüße aus Köln" in doc.text


def test_binary_with_nuls_is_still_binary(tmp_path: Path) -> None:
    # NULs on both parities (a struct dump), and NULs on one parity that do not decode to text
    dump = bytes(range(256)) * 40
    assert utf16_without_bom(dump) is None
    ctrl = b"\x01\x00\x02\x00\x03\x00\x04\x00" * 500
    assert utf16_without_bom(ctrl) is None
    p = tmp_path / "dump.txt"
    p.write_bytes(dump)
    with pytest.raises(UnsupportedTypeError):
        parse_file(p)


def test_markdown_view_escapes_pipes_in_cells_and_maps_back(tmp_path: Path) -> None:
    from evidex.model import Span
    from evidex.select.views.render import markdown_view

    p = tmp_path / "t.csv"
    p.write_text('Option,Meaning\n"a|b",either a or b\n"x || y","multi\nline"\n', encoding="utf-8")
    doc = parse_file(p)
    check_document(doc)
    view = markdown_view(doc)
    assert "| a\\|b | either a or b |" in view.text
    assert "x \\|\\| y" in view.text and "multi line" in view.text
    assert "/" not in view.text.replace("|---", "")
    # every pipe of a cell maps back to that very pipe of the canonical text, and each escaped cell maps back whole
    for cell in ("a|b", "x || y"):
        shown = cell.replace("|", "\\|")
        vs = view.text.index(shown)
        src = view.to_source(Span(vs, vs + len(shown)))
        assert doc.text[src.start : src.end] == cell
        for k, ch in enumerate(shown):
            if ch == "|":
                one = view.to_source(Span(vs + k, vs + k + 1))
                assert doc.text[one.start : one.end] == "|"


def _evidex(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("evidex") or str(Path(sys.executable).parent / "evidex")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=120)


def test_limit_hint_is_an_option_the_cli_has(tmp_path: Path) -> None:
    p = tmp_path / "big.csv"
    p.write_text("\n".join(f"{i},{i * 2},{i * 3}" for i in range(400)) + "\n", encoding="utf-8")
    r = _evidex("parse", str(p), "--in-process", "--format", "text", "--limit", "max_sheet_cells=300")
    assert r.returncode == 1
    assert "--limit max_sheet_cells=N" in r.stderr, r.stderr
    # following the hint works
    r = _evidex("parse", str(p), "--in-process", "--format", "text", "--limit", "max_sheet_cells=5000")
    assert r.returncode == 0, r.stderr
    assert "399,798,1197" in r.stdout.replace(" | ", ",")
    # a misspelt limit is a usage error naming the known ones
    r = _evidex("parse", str(p), "--limit", "max_cells=5")
    assert r.returncode == 2 and "max_sheet_cells" in r.stderr


def test_hints_name_only_options_the_cli_has() -> None:
    from evidex import errors

    help_text = _evidex("parse", "--help").stdout + _evidex("extract", "--help").stdout
    for cls in vars(errors).values():
        hint = getattr(cls, "default_hint", "") if isinstance(cls, type) else ""
        for opt in re.findall(r"(?<![\w-])--[a-z][\w-]+\b(?! once available)", hint):
            assert opt in help_text, (cls.__name__, opt)


def test_type_mismatch_hint_names_the_as_option(tmp_path: Path) -> None:
    p = tmp_path / "notes.pdf"
    p.write_text("Meeting notes: nothing decided.\n", encoding="utf-8")
    r = _evidex("parse", str(p), "--in-process", "--format", "text")
    assert r.returncode == 1 and "--as FORMAT" in r.stderr, r.stderr
    r = _evidex("parse", str(p), "--in-process", "--format", "text", "--as", "text")
    assert r.returncode == 0 and "nothing decided" in r.stdout
