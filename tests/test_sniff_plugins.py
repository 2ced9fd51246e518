"""Sniffing honours the extensions that registered plugin parsers declare (Parser.extensions)."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from evidex import registry
from evidex.errors import UnsupportedTypeError
from evidex.model import Document, NodeKind
from evidex.parse import ParseContext, parse_bytes, parse_file
from evidex.parse.sniff import plugin_for, sniff


class FooParser:
    name: ClassVar[str] = "foo"
    media_type: ClassVar[str] = "application/x-foo"
    extensions: ClassVar[tuple[str, ...]] = (".foo", "FOOZ", ".foo.gz")

    def parse(self, data: bytes, ctx: ParseContext) -> Document:
        b = ctx.builder(data, self.media_type)
        b.leaf(NodeKind.PARAGRAPH, "foo:" + data[:20].decode("latin-1"))
        return b.build()


class FooGzParser(FooParser):
    name: ClassVar[str] = "foogz"
    extensions: ClassVar[tuple[str, ...]] = (".foo.gz",)


@pytest.fixture
def plugin() -> Iterator[None]:
    registry.parsers.register("foo", FooParser)
    try:
        yield
    finally:
        registry.parsers.unregister("foo")


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("content.txt", "inside")
    return buf.getvalue()


def test_without_the_plugin_a_foo_file_is_text() -> None:
    assert sniff(b"hello", "x.foo") == "text"
    with pytest.raises(UnsupportedTypeError):
        sniff(_zip(), "x.foo")


def test_declared_extension_chooses_the_plugin(plugin: None, tmp_path: Path) -> None:
    assert sniff(b"hello", "x.foo") == "foo"
    assert sniff(b"hello", "DIR/X.FOO") == "foo"  # case-insensitive, path ignored
    assert sniff(b"hello", "x.fooz") == "foo"  # declared without a dot
    p = tmp_path / "report.foo"
    p.write_bytes(b"plain words")
    doc = parse_file(p)
    assert doc.text == "foo:plain words"
    assert doc.source.media_type == "application/x-foo"


def test_plugin_wins_over_generic_content_guesses(plugin: None) -> None:
    assert sniff(_zip(), "x.foo") == "foo"  # a ZIP-based format of the plugin's own
    assert sniff(b"\xd0\xcf\x11\xe0" + b"\x00" * 64, "x.foo") == "foo"  # OLE container
    assert sniff(b"<html><body>hi</body></html>", "x.foo") == "foo"
    assert sniff(bytes(range(256)) * 4, "x.foo") == "foo"  # binary without magic


def test_content_still_wins_for_known_binary_formats(plugin: None) -> None:
    assert sniff(b"%PDF-1.7\n%\xe2\xe3\n", "x.foo") == "pdf"
    assert sniff(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "x.foo") == "image"


def test_builtin_extensions_are_not_taken_over(plugin: None) -> None:
    class TxtPlugin(FooParser):
        extensions: ClassVar[tuple[str, ...]] = (".txt",)

    registry.parsers.register("txtplug", TxtPlugin)
    try:
        assert sniff(b"hello", "a.txt") == "text"
        assert parse_bytes(b"hello", "a.txt").text == "hello"
    finally:
        registry.parsers.unregister("txtplug")


def test_longest_declared_extension_wins(plugin: None) -> None:
    registry.parsers.register("foogz", FooGzParser)
    try:
        assert plugin_for("a.foo.gz") in ("foo", "foogz")  # both declare it; the first registered keeps it
        registry.parsers.unregister("foo")
        assert plugin_for("a.foo.gz") == "foogz"
        assert plugin_for("a.gz") is None
        assert plugin_for(".foo.gz") is None  # the whole name is the extension: no stem
    finally:
        registry.parsers.unregister("foogz")


def test_unloadable_plugin_is_no_candidate_and_builtins_stay_unimported(plugin: None) -> None:
    registry.parsers.register("broken", "evidex_no_such_module:Parser")
    try:
        assert sniff(b"hello", "x.foo") == "foo"
        assert sniff(b"hello", "x.unknown") == "text"
    finally:
        registry.parsers.unregister("broken")


def test_sniffing_never_imports_the_builtin_parsers() -> None:
    code = (
        "import sys\n"
        "from evidex import registry\n"
        "from evidex.parse.sniff import sniff\n"
        "class P:\n"
        "    name = 'foo'; media_type = 'x/foo'; extensions = ('.foo',)\n"
        "registry.parsers.register('foo', P)\n"
        "assert sniff(b'hello', 'x.foo') == 'foo'\n"
        "assert sniff(b'hello', 'x.unknown') == 'text'\n"
        "print(sorted(m for m in sys.modules if m.startswith('evidex.parse.') and m.endswith(('parser', 'docx', 'xlsx', 'eml', 'csv', 'plain', 'markdown'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"
