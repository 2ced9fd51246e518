"""Safe pre-checks for OOXML packages (.docx, .xlsx) before a third-party library touches them.

:func:`check_package` opens the zip itself and, streaming and bounded, enforces :class:`Limits`:

* entry count (read from the end-of-central-directory record *before* the central directory is parsed);
* unsafe member names (absolute paths, ``..`` components, NUL bytes) → :class:`UnsafePathError`;
* overlapping members (many central-directory entries sharing compressed data, the classic
  non-recursive zip bomb) → :class:`DecompressionLimitError`;
* the total *declared* and the total *actually decompressed* size, and the expansion ratio
  (checked after the first MiB) → :class:`DecompressionLimitError`;
* any XML part containing ``<!DOCTYPE`` or ``<!ENTITY`` (billion laughs, XXE) → :class:`XmlForbiddenError`;
* truncated or garbage archives, bad CRCs → :class:`MalformedError`; legacy password-protected Office
  files (an OLE container, not a zip) → :class:`EncryptedError`.

It also counts spreadsheet cells and formulas (``<c``/``<f`` elements in worksheet parts) so a workbook larger than
``Limits.max_sheet_cells`` is refused before openpyxl materialises it, and keeps the bytes of a few small
parts the caller asks for (e.g. ``word/footnotes.xml``), parsed later with :func:`parse_xml`.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from evidex.errors import (
    DecompressionLimitError,
    EmptyInputError,
    EncryptedError,
    EntryLimitError,
    LimitError,
    MalformedError,
    UnsafePathError,
    XmlForbiddenError,
)
from evidex.structure.limits import Limits, MiB

_CHUNK = 256 * 1024
_TAIL = 32  # bytes carried between chunks so patterns split across chunk boundaries are still seen
_FORBIDDEN = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.I)
_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,15}:)?c[\s/>]")
_FORMULA = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,15}:)?f[\s/>]")
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_KEEP_MAX = 64 * MiB  # a kept part is held in memory


@dataclass
class Package:
    """What the pre-check learned: member names, sizes, cell count and the bytes of the kept parts."""

    names: list[str]
    total_uncompressed: int = 0
    cells: int = 0
    formulas: int = 0
    kept: dict[str, bytes] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.names


def _eocd_entry_count(data: bytes) -> int | None:
    """Number of entries from the end-of-central-directory record, or None if it cannot be read."""
    i = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if i < 0 or i + 22 > len(data):
        return None
    (total,) = struct.unpack_from("<H", data, i + 10)
    if total != 0xFFFF:
        return int(total)
    j = data.rfind(b"PK\x06\x06", max(0, i - 1024), i)  # zip64 end record
    if j < 0 or j + 56 > len(data):
        return None
    (total64,) = struct.unpack_from("<Q", data, j + 32)
    return int(total64)


def _unsafe_name(name: str) -> bool:
    if "\x00" in name or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return True
    return any(p == ".." for p in re.split(r"[/\\]", name))


def _is_xml(name: str) -> bool:
    low = name.lower()
    return low.endswith(_XML_SUFFIXES)


def _is_worksheet(name: str) -> bool:
    low = name.lower()
    return low.startswith("xl/worksheets/") and low.endswith(".xml")


def _local_header_end(data: bytes, info: zipfile.ZipInfo) -> int:
    off = info.header_offset
    if off < 0 or off + 30 > len(data) or data[off : off + 4] != b"PK\x03\x04":
        raise MalformedError(f"member {info.filename!r}: bad local header (truncated or corrupt zip)")
    n, m = struct.unpack_from("<HH", data, off + 26)
    return int(off + 30 + n + m)


def check_package(
    data: bytes,
    limits: Limits,
    *,
    kind: str,
    require: Iterable[str] = (),
    keep: Iterable[str] = (),
) -> Package:
    """Validate an OOXML zip in ``data``; raise a typed :class:`DocumentError` or return a :class:`Package`."""
    if not data:
        raise EmptyInputError(f"empty {kind} file")
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise EncryptedError(
            f"this {kind} is an OLE container: a password-protected (encrypted) Office file or a legacy binary format",
            hint="remove the password (or save as .docx/.xlsx) and try again",
        )
    if not data.startswith(b"PK"):
        raise MalformedError(f"not a {kind} file: no zip signature")
    declared_count = _eocd_entry_count(data)
    if declared_count is not None and declared_count > limits.max_entries:
        raise EntryLimitError(f"archive declares {declared_count:,} members (limit {limits.max_entries:,})")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, struct.error, NotImplementedError) as e:
        raise MalformedError(f"damaged or truncated {kind} (zip): {e}") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_entries:
            raise EntryLimitError(f"archive has {len(infos):,} members (limit {limits.max_entries:,})")
        pkg = Package(names=[i.filename for i in infos])
        _check_entries(data, infos, limits)
        keep_set = set(keep)
        missing = [r for r in require if r not in pkg.names]
        if missing:
            raise MalformedError(f"not a valid {kind}: missing part {', '.join(missing)}")
        total = 0
        for info in infos:
            if info.is_dir():
                continue
            total = _scan_member(zf, info, pkg, total, limits, len(data), info.filename in keep_set)
        pkg.total_uncompressed = total
    if pkg.cells > limits.max_sheet_cells:
        raise LimitError(
            f"workbook has {pkg.cells:,} cells (limit {limits.max_sheet_cells:,})",
            hint="raise Limits.max_sheet_cells for trusted input",
        )
    return pkg


def _check_entries(data: bytes, infos: list[zipfile.ZipInfo], limits: Limits) -> None:
    declared = 0
    for info in infos:
        if _unsafe_name(info.filename):
            raise UnsafePathError(f"archive member has an unsafe name: {info.filename!r}")
        if info.flag_bits & 0x1:
            raise EncryptedError(f"archive member {info.filename!r} is encrypted")
        declared += info.file_size
    if declared > limits.max_decompressed:
        raise DecompressionLimitError(
            f"members declare {declared:,} bytes uncompressed (limit {limits.max_decompressed:,})"
        )
    # Overlap check: every member's compressed data must lie after its own local header and end
    # before the next member's local header starts.
    spans = sorted(((i.header_offset, i) for i in infos), key=lambda t: t[0])
    prev_end = 0
    prev_name = ""
    for off, info in spans:
        if off < prev_end:
            raise DecompressionLimitError(
                f"archive members {prev_name!r} and {info.filename!r} overlap (possible zip bomb)"
            )
        start = _local_header_end(data, info)
        prev_end = start + info.compress_size
        prev_name = info.filename
        if prev_end > len(data):
            raise MalformedError(f"member {info.filename!r} extends beyond the end of the file (truncated)")


def _scan_member(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    pkg: Package,
    total: int,
    limits: Limits,
    archive_size: int,
    keep: bool,
) -> int:
    name = info.filename
    xml = _is_xml(name)
    sheet = _is_worksheet(name)
    member = 0
    tail = b""
    buf: list[bytes] = []
    try:
        with zf.open(info) as f:
            while True:
                chunk = f.read(_CHUNK)
                if not chunk:
                    break
                member += len(chunk)
                total += len(chunk)
                if total > limits.max_decompressed:
                    raise DecompressionLimitError(
                        f"archive expands beyond {limits.max_decompressed:,} bytes (at member {name!r})"
                    )
                if total > MiB and total / max(1, archive_size) > limits.max_ratio:
                    raise DecompressionLimitError(
                        f"archive expands more than {limits.max_ratio:g}× its size (at member {name!r})"
                    )
                if member > MiB and member / max(1, info.compress_size) > limits.max_ratio:
                    raise DecompressionLimitError(
                        f"member {name!r} expands more than {limits.max_ratio:g}× (possible zip bomb)"
                    )
                if member > info.file_size + _CHUNK:
                    raise DecompressionLimitError(f"member {name!r} expands beyond its declared size")
                if xml or sheet:
                    window = tail + chunk
                    flat = window.replace(b"\x00", b"") if b"\x00" in window else window
                    if _FORBIDDEN.search(flat):
                        raise XmlForbiddenError(f"XML part {name!r} declares a DTD or entities")
                    if sheet:
                        pkg.cells += sum(1 for m in _CELL.finditer(window) if m.end() > len(tail))
                        pkg.formulas += sum(1 for m in _FORMULA.finditer(window) if m.end() > len(tail))
                    tail = window[-_TAIL:]
                if keep:
                    if member > _KEEP_MAX:
                        raise LimitError(f"part {name!r} is larger than {_KEEP_MAX:,} bytes")
                    buf.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, struct.error) as e:
        raise MalformedError(f"damaged member {name!r}: {e}") from None
    if keep:
        pkg.kept[name] = b"".join(buf)
    return total


def parse_xml(data: bytes, name: str) -> Any:
    """Parse a (pre-checked) XML part with a parser that resolves no entities and reads nothing external."""
    from lxml import etree

    if _FORBIDDEN.search(data.replace(b"\x00", b"")):
        raise XmlForbiddenError(f"XML part {name!r} declares a DTD or entities")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise MalformedError(f"malformed XML in {name!r}: {e}") from None
