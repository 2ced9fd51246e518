"""Bad input never stops a batch: each case is a typed error naming the file, or a correct bounded parse."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import pytest

from evidex.errors import (
    DocumentError,
    EmptyInputError,
    FileMissingError,
    NotAFileError,
    TooLargeError,
    TypeMismatchError,
    UnsupportedTypeError,
)
from evidex.parse import Limits, parse_file, parse_many
from oracle import check_document


def _write(tmp: Path, name: str, data: bytes) -> Path:
    p = tmp / name
    p.write_bytes(data)
    return p


def test_empty_file(tmp_path: Path) -> None:
    p = _write(tmp_path, "empty.txt", b"")
    with pytest.raises(EmptyInputError) as ei:
        parse_file(p)
    assert str(p) in str(ei.value) and ei.value.code == "EVX-D003"


def test_whitespace_only_file(tmp_path: Path) -> None:
    with pytest.raises(EmptyInputError):
        parse_file(_write(tmp_path, "blank.md", b"  \n\n\t \n"))


def test_binary_garbage_named_txt(tmp_path: Path) -> None:
    garbage = bytes((i * 7919 + 13) % 256 for i in range(20000))
    with pytest.raises(UnsupportedTypeError) as ei:
        parse_file(_write(tmp_path, "garbage.txt", garbage))
    assert "garbage.txt" in str(ei.value)


def test_png_named_pdf_is_a_type_mismatch(tmp_path: Path) -> None:
    with pytest.raises(TypeMismatchError):
        parse_file(_write(tmp_path, "p.pdf", b"\x89PNG\r\n\x1a\n" + b"0" * 99))


def test_text_named_pdf_is_a_type_mismatch(tmp_path: Path) -> None:
    with pytest.raises(TypeMismatchError):
        parse_file(_write(tmp_path, "p.pdf", b"just some words"))


def test_invalid_utf8_is_decoded_with_a_warning(tmp_path: Path) -> None:
    data = "Café total: 12 €\n".encode("cp1252") + b"\xff\xfe\xfa more"
    doc = parse_file(_write(tmp_path, "latin.txt", data))
    check_document(doc)
    assert "Caf" in doc.text and "total" in doc.text
    assert any(w.startswith("ENCODING") for w in doc.warnings)


def test_utf16_with_bom(tmp_path: Path) -> None:
    doc = parse_file(_write(tmp_path, "u16.txt", "Invoice date: 14 March 2024\n".encode("utf-16")))
    assert doc.text == "Invoice date: 14 March 2024"
    assert doc.metadata["encoding"].startswith("utf-16")


def test_50mb_single_line_text_bounded(tmp_path: Path) -> None:
    line = (b"lorem ipsum dolor sit amet " * 2_000_000)[: 50 * 1024 * 1024]
    p = _write(tmp_path, "huge.txt", line)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.monotonic()
    doc = parse_file(p)
    elapsed = time.monotonic() - t0
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert len(doc.text) == len(line.strip())
    assert len(doc.nodes) == 2  # root + one paragraph: no per-character structure
    assert elapsed < 60, elapsed  # generous bound: a hang or quadratic scan would blow through it
    assert grown_mib < 1500, grown_mib  # bounded: a few copies of 50 MB at most


def test_size_limit_checked_before_reading(tmp_path: Path) -> None:
    p = tmp_path / "sparse.txt"
    with p.open("wb") as f:
        f.truncate(3 * 1024 * 1024 * 1024)  # 3 GiB sparse file: must be refused without reading
    t0 = time.monotonic()
    with pytest.raises(TooLargeError):
        parse_file(p)
    assert time.monotonic() - t0 < 2


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(FileMissingError) as ei:
        parse_file(tmp_path / "nope.txt")
    assert "nope.txt" in str(ei.value)
    with pytest.raises(NotAFileError):
        parse_file(tmp_path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    with pytest.raises(NotAFileError):
        parse_file(fifo)


def test_batch_continues_past_every_bad_file(tmp_path: Path) -> None:
    good1 = _write(tmp_path, "a.txt", b"Invoice number: 42\n")
    good2 = _write(tmp_path, "b.md", b"# Title\n\nBody text.\n")
    bad = [
        _write(tmp_path, "empty.txt", b""),
        _write(tmp_path, "garbage.txt", bytes(range(256)) * 40),
        tmp_path / "missing.txt",
        tmp_path,
        _write(tmp_path, "mismatch.pdf", b"hello"),
    ]
    results = dict(parse_many([bad[0], good1, bad[1], bad[2], bad[3], good2, bad[4]]))
    assert not isinstance(results[str(good1)], DocumentError)
    assert not isinstance(results[str(good2)], DocumentError)
    for b in bad:
        assert isinstance(results[str(b)], DocumentError), b
    assert len(results) == 7


def test_limits_reject_unknown_names() -> None:
    with pytest.raises(TypeError):
        Limits().with_(max_bites=3)
