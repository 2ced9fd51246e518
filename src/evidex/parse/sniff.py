"""Decide a file's format from its content first, its name second.

Names: the built-in parsers' extensions (:data:`EXTENSIONS`) first, then the extensions that registered plugin
parsers declare (``Parser.extensions``; :func:`plugin_for`). Plugins are imported only when a name has an
extension no built-in parser knows, and only plugins (not the built-in parsers) are looked at, so sniffing a
``.pdf`` or a ``.txt`` never imports a parser module. Content still wins for the known binary formats (PDF,
images, DOCX, XLSX): a PDF named ``x.foo`` is parsed as a PDF. A plugin's extension wins over the generic
content guesses (ZIP or OLE containers, HTML-looking or mail-looking text, unknown binary), which is what lets a
plugin read e.g. a ZIP-based format of its own.
"""

from __future__ import annotations

import io
import re
import zipfile

from evidex import registry
from evidex.errors import EmptyInputError, TypeMismatchError, UnsupportedTypeError
from evidex.parse.encoding import utf16_without_bom
from evidex.parse.office.package import central_names, eocd_entry_count
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


_BUILTIN = frozenset(EXTENSIONS.values())
_CONTENT_WINS = ("pdf", "image", "docx", "xlsx")  # known binary formats: their content beats any name


def _ext(name: str) -> str:
    i = name.rfind(".")
    return name[i:].lower() if i >= 0 else ""


def _declared(obj: object) -> tuple[str, ...]:
    exts = getattr(obj, "extensions", ())
    if isinstance(exts, str):
        exts = (exts,)
    if not isinstance(exts, (tuple, list, set, frozenset)):
        return ()
    out = []
    for e in exts:
        if isinstance(e, str) and e.strip(". "):
            e = e.strip().lower()
            out.append(e if e.startswith(".") else "." + e)
    return tuple(out)


def plugin_extensions() -> dict[str, str]:
    """Extension → parser name for the registered parsers that are not built in (imports those plugins)."""
    out: dict[str, str] = {}
    for pname in registry.parsers.names():
        if pname in _BUILTIN:
            continue
        try:
            obj = registry.parsers.get(pname)
        except Exception:  # a plugin that cannot be loaded is no candidate (parsing with it would report why)
            continue
        for e in _declared(obj):
            out.setdefault(e, pname)
    return out


def plugin_for(name: str) -> str | None:
    """The registered plugin parser whose declared extension ends ``name`` (the longest such extension)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    if "." not in base:
        return None
    best: tuple[int, str] | None = None
    for e, pname in plugin_extensions().items():
        if base.endswith(e) and len(base) > len(e) and (best is None or len(e) > best[0]):
            best = (len(e), pname)
    return best[1] if best else None


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
        declared = eocd_entry_count(data)
        if declared is not None and declared > max_entries:
            # too many members to read the whole central directory here: classify from its first records and
            # let the parser refuse the archive (EntryLimitError) without ever listing it
            return _classify_names(central_names(data, max_entries))
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
    if by_ext is None and by_content not in _CONTENT_WINS:
        plugin = plugin_for(name)
        if plugin is not None:
            return plugin
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
