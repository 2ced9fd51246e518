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

After the check, :class:`PartReader` is the one reader of the package's parts for both the DOCX and the XLSX
fast paths: part bytes and streams, ``[Content_Types].xml`` (overrides, then defaults by extension) and
relationships resolved to absolute part names, all XML parsed by one hardened lxml parser (:func:`parse_part`,
:func:`iterparse_part`: no DTD, no network, no entities). Anything out of the common case raises
:class:`IrregularPackage`, on which the callers fall back to python-docx / openpyxl.
"""

from __future__ import annotations

import io
import posixpath
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
from evidex.structure.limits import Limits, MiB, limit_hint

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


def eocd_entry_count(data: bytes) -> int | None:
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
    declared_count = eocd_entry_count(data)
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
            hint=limit_hint("max_sheet_cells"),
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
    try:
        return etree.fromstring(data, xml_parser())
    except etree.XMLSyntaxError as e:
        raise MalformedError(f"malformed XML in {name!r}: {e}") from None


def central_names(data: bytes, limit: int) -> set[str]:
    """Names of the first ``limit`` central-directory records, read raw (bounded; no zipfile listing).

    The directory is found from the end record (the zip64 one when present); when it cannot be found this way,
    an empty set is returned (the parser then reports the damage).
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


# ====================================================================== reading a pre-checked package
_PR = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"


class IrregularPackage(Exception):
    """The package is not the common case: the caller falls back to its library (python-docx / openpyxl)."""


# What reading a pre-checked package may raise when it is irregular; callers fall back on any of these.
FALLBACK_ERRORS: tuple[type[BaseException], ...] = (
    IrregularPackage, zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError, NotImplementedError, zlib.error,
)


def xml_parser(*, remove_blank_text: bool = False) -> Any:
    """A hardened lxml parser: no DTD, nothing from the network, no entities, no huge trees.

    One per call: lxml parsers must not be shared between threads.
    """
    from lxml import etree

    return etree.XMLParser(
        remove_blank_text=remove_blank_text, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )


def parse_part(raw: bytes, *, remove_blank_text: bool = False) -> Any:
    """Parse the bytes of a part; not well-formed → :class:`IrregularPackage`."""
    from lxml import etree

    try:
        return etree.fromstring(raw, xml_parser(remove_blank_text=remove_blank_text))
    except etree.XMLSyntaxError:
        raise IrregularPackage from None


def iterparse_part(src: Any, tags: tuple[str, ...]) -> Any:
    """Stream the ``end`` events of ``tags`` from a part (big sheets are never held in memory whole)."""
    from lxml import etree

    return etree.iterparse(
        src, events=("end",), tag=tags, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )


@dataclass(frozen=True)
class Rel:
    """One relationship of a part."""

    reltype: str
    target: str  # absolute part name ("/word/header1.xml"); "" when external
    external: bool


class PartReader:
    """The parts of a (pre-checked) OOXML package, addressed by absolute part name (``"/xl/workbook.xml"``).

    ``remove_blank_text=True`` drops ignorable whitespace between elements (the tree python-docx builds).
    """

    def __init__(self, data: bytes, *, remove_blank_text: bool = False) -> None:
        self.zf = zipfile.ZipFile(io.BytesIO(data))
        self.names = set(self.zf.namelist())
        self._blank = remove_blank_text
        self._overrides: dict[str, str] = {}
        self._ordered: list[tuple[str, str]] = []  # (part name as written, content type), document order
        self._defaults: dict[str, str] = {}
        self._rels: dict[str, dict[str, Rel]] = {}
        for el in self.xml("/[Content_Types].xml"):
            tag = el.tag
            if tag == f"{_CT}Override":
                pn, c = el.get("PartName"), el.get("ContentType")
                if pn is None or c is None:
                    raise IrregularPackage
                self._overrides[pn.lower()] = c
                self._ordered.append((pn, c))
            elif tag == f"{_CT}Default":
                ext, c = el.get("Extension"), el.get("ContentType")
                if ext is None or c is None:
                    raise IrregularPackage
                self._defaults[ext.lower()] = c

    def has(self, partname: str) -> bool:
        return partname[1:] in self.names

    def read(self, partname: str) -> bytes:
        if not self.has(partname):
            raise IrregularPackage
        return self.zf.read(partname[1:])

    def stream(self, partname: str) -> Any:
        """A part as a binary stream."""
        if not self.has(partname):
            raise IrregularPackage
        return self.zf.open(partname[1:])

    def xml(self, partname: str) -> Any:
        """A part parsed with the hardened parser."""
        return parse_part(self.read(partname), remove_blank_text=self._blank)

    def content_type(self, partname: str) -> str:
        """The part's content type: its override, else the default for its extension."""
        c = self._overrides.get(partname.lower())
        if c is not None:
            return c
        raw_ext = posixpath.splitext(partname)[1]
        ext = raw_ext[1:] if raw_ext.startswith(".") else raw_ext
        c = self._defaults.get(ext.lower())
        if c is None:
            raise IrregularPackage
        return c

    def parts_of_type(self, content_type: str) -> list[str]:
        """Part names declared (by override) with ``content_type``, in document order."""
        return [pn for pn, c in self._ordered if c == content_type]

    def rels_of(self, partname: str) -> dict[str, Rel]:
        """rId → :class:`Rel` of a part's relationships (``"/"`` = the package's own)."""
        if partname in self._rels:
            return self._rels[partname]
        base, fname = posixpath.split(partname)
        member = posixpath.join(base, "_rels", f"{fname}.rels")[1:]
        out: dict[str, Rel] = {}
        if member in self.names:
            for el in parse_part(self.zf.read(member), remove_blank_text=self._blank):
                if el.tag != _PR:
                    continue
                rid, reltype, target = el.get("Id"), el.get("Type"), el.get("Target")
                if rid is None or reltype is None or target is None:
                    raise IrregularPackage
                external = el.get("TargetMode", "Internal") == "External"
                if not external:
                    target = posixpath.normpath(posixpath.join(base, target))
                    if not target.startswith("/"):
                        raise IrregularPackage
                out[rid] = Rel(reltype, "" if external else target, external)
        self._rels[partname] = out
        return out

    def walk(self) -> None:
        """Every part reachable from the package must exist and have a content type."""
        seen: set[str] = set()
        stack = ["/"]
        while stack:
            for rel in self.rels_of(stack.pop()).values():
                if rel.external or rel.target in seen:
                    continue
                seen.add(rel.target)
                if not self.has(rel.target):
                    raise IrregularPackage
                self.content_type(rel.target)
                stack.append(rel.target)

    def one(self, source: str, reltype: str, content_type: str | None) -> str | None:
        """The single internal target of ``reltype`` from ``source`` (None if absent; irregular if ambiguous)."""
        matching = [r for r in self.rels_of(source).values() if r.reltype == reltype]
        if not matching:
            return None
        if len(matching) > 1 or matching[0].external:
            raise IrregularPackage
        target = matching[0].target
        if content_type is not None and self.content_type(target) != content_type:
            raise IrregularPackage
        return target
