"""Decide a file's format from its content first, its name second."""

from __future__ import annotations

import io
import re
import struct
import zipfile

from evidex.errors import EmptyInputError, TypeMismatchError, UnsupportedTypeError
from evidex.parse.encoding import utf16_without_bom
from evidex.parse.office.package import _eocd_entry_count
from evidex.structure.limits import DEFAULT_LIMITS

EXTENSIONS: dict[str, str] = {
    ".txt": "text", ".text": "text", ".log": "text",
    ".md": "markdown", ".markdown": "markdown", ".mdown": "markdown",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".pdf": "pdf",
    ".png": "image", ".jpg": "image", ".jpeg": "image", ".tif": "image", ".tiff": "image",
    ".docx": "docx",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".csv": "csv", ".tsv": "csv",
    ".eml": "eml",
}

_HTML_RE = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S)
_HTML_TAGS_RE = re.compile(rb"<(?:p|div|table|span|h[1-6]|ul|ol|br|a)\b[^>]*>", re.I)
_EML_RE = re.compile(
    rb"^(?:(?:Return-Path|Received|From|To|Subject|Date|Message-ID|MIME-Version|Content-Type|Delivered-To|Reply-To|Cc|X-[\w-]+):[^\n]*\r?\n(?:[ \t][^\n]*\r?\n)*){2,}",
    re.I,
)


def _ext(name: str) -> str:
    i = name.rfind(".")
    return name[i:].lower() if i >= 0 else ""


def sniff_content(data: bytes, max_entries: int = DEFAULT_LIMITS.max_entries) -> str | None:
    """Format name from magic bytes / content, or None if it looks like generic text or is unknown."""
    head = data[:8192]
    if head.startswith(b"%PDF-") or (b"%PDF-" in data[:1024]):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n") or head.startswith(b"\xff\xd8\xff"):
        return "image"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        declared = _eocd_entry_count(data)
        if declared is not None and declared > max_entries:
            # too many members to read the whole central directory here: classify from its first records and
            # let the parser refuse the archive (EntryLimitError) without ever listing it
            return _classify_names(_central_names(data, max_entries))
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = set(z.namelist()[:10_000])
        except (zipfile.BadZipFile, OSError, ValueError):
            return "zip-broken"
        return _classify_names(names)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "ole"  # legacy .doc/.xls
    if _HTML_RE.match(head):
        return "html"
    if _EML_RE.match(head.lstrip(b"\r\n")):
        return "eml"
    return None


def _classify_names(names: set[str]) -> str:
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return "zip"


def _central_names(data: bytes, limit: int) -> set[str]:
    """Names of the first ``limit`` central-directory records, read raw (bounded; no zipfile listing).

    The directory is found from the end record (the zip64 one when present); when it cannot be found this way,
    an empty set (→ "zip") is returned and the parser reports the damage.
    """
    i = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if i < 0 or i + 22 > len(data):
        return set()
    (off,) = struct.unpack_from("<I", data, i + 16)
    if off == 0xFFFFFFFF:
        j = data.rfind(b"PK\x06\x06", max(0, i - 1024), i)
        if j < 0 or j + 56 > len(data):
            return set()
        (off,) = struct.unpack_from("<Q", data, j + 48)
    if not 0 <= off < len(data) or data[off : off + 4] != b"PK\x01\x02":  # e.g. data prepended to the zip
        k = data.find(b"PK\x01\x02")
        if k < 0:
            return set()
        off = k
    names: set[str] = set()
    while len(names) < limit and off + 46 <= len(data) and data[off : off + 4] == b"PK\x01\x02":
        n, m, c = struct.unpack_from("<HHH", data, off + 28)
        names.add(data[off + 46 : off + 46 + n].decode("utf-8", "replace"))
        off += 46 + n + m + c
    return names


def looks_binary(data: bytes) -> bool:
    """Heuristic: NUL bytes or many control characters in the first 8 KiB (UTF-16 with or without BOM excepted)."""
    head = data[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return False
    if b"\x00" in head:
        return utf16_without_bom(head) is None
    ctrl = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return ctrl > max(8, len(head) // 20)


def sniff(data: bytes, name: str, declared: str | None = None) -> str:
    """Return the parser name for ``data``. Raises typed errors for empty, unknown or mismatched input."""
    if declared:
        return declared
    if not data:
        raise EmptyInputError("file is empty", path=name)
    by_ext = EXTENSIONS.get(_ext(name))
    by_content = sniff_content(data)
    if by_content in ("zip", "zip-broken", "ole"):
        if by_ext in ("docx", "xlsx") and by_content == "zip-broken":
            return by_ext  # let the parser report the precise damage
        kind = {"zip": "a ZIP archive", "zip-broken": "a damaged ZIP archive", "ole": "a legacy OLE file (.doc/.xls)"}[by_content]
        raise UnsupportedTypeError(f"content is {kind}", path=name)
    if by_content is not None:
        if by_ext in ("pdf", "image", "docx", "xlsx") and by_ext != by_content:
            raise TypeMismatchError(f"named as {by_ext} but the content is {by_content}", path=name)
        if by_ext == "markdown" and by_content == "html":
            return "markdown"  # Markdown may start with inline HTML
        return by_content
    # no magic: text family or garbage
    if by_ext in ("pdf", "image", "docx", "xlsx"):
        raise TypeMismatchError(f"named as {by_ext} but the content is not a {by_ext} file", path=name)
    if looks_binary(data):
        raise UnsupportedTypeError("content is binary and of no supported format", path=name)
    if by_ext is not None:
        return by_ext
    utf16 = utf16_without_bom(data) if b"\x00" in data[:8192] else None
    if utf16 is not None:  # look at the content as text (an HTML page or a message saved as UTF-16)
        data = data[:16384].decode(utf16, errors="replace").encode("utf-8")
        by_content = sniff_content(data)
        if by_content in ("html", "eml"):
            return by_content
    if _HTML_TAGS_RE.search(data[:8192]):
        return "html"
    return "text"
