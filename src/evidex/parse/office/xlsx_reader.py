"""Read the common XLSX package directly with lxml — the fast path of :mod:`evidex.parse.office.xlsx`.

openpyxl builds a full object model (workbook, style objects through validating descriptors, one ``Cell``
object per cell) that the XLSX parser only reads a few things from. This module reads exactly those —
sheet names/states, cell values as openpyxl's ``data_only`` load gives them, formula text as its normal
load gives it, number formats, merged ranges, hidden rows/columns, declared tables — from
``workbook.xml``, ``sharedStrings.xml``, ``styles.xml``, the sheet and table parts, streaming, with a parser
that loads no DTD, reads nothing from the network and resolves no entities. The value semantics follow
openpyxl 3.1 (its own helpers are used for number-format classification, date serials and shared-formula
translation), so results are the same.

:func:`read_workbook` returns ``None`` whenever the package is not the common case (chartsheets, missing
parts, cells without references, styles it would have to guess, data-table formulas, huge merges, ...); the
caller then loads the workbook with openpyxl as before, so odd files keep exactly the old behaviour.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PR = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_WORKBOOK_CTS = (  # the order openpyxl looks for the workbook part
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
    f"{_SHEET}.template.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    f"{_SHEET}.sheet.main+xml",
)
_SST_CT = f"{_SHEET}.sharedStrings+xml"
_RT_SHEET = f"{_R}/worksheet"
_RT_TABLE = f"{_R}/table"
_MAX_MERGE_AREA = 100_000
_STATES = ("visible", "hidden", "veryHidden")
_BAD_TITLE = re.compile(r"[\\*?:/\[\]]")


def _t(name: str) -> str:
    return f"{{{NS}}}{name}"


T_ROW, T_C, T_V, T_F, T_IS = _t("row"), _t("c"), _t("v"), _t("f"), _t("is")
T_COL, T_MERGE, T_TPART = _t("col"), _t("mergeCell"), _t("tablePart")


class _Irregular(Exception):
    """Not the common case: let openpyxl read the workbook."""


@dataclass
class SheetData:
    """What the XLSX parser needs from one worksheet (openpyxl semantics)."""

    title: str
    state: str
    cells: dict[tuple[int, int], tuple[Any, str | None]] = field(default_factory=dict)  # value, number format
    count: int = 0  # cells openpyxl would hold (incl. empty styled cells and merged-cell placeholders)
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # min_row, min_col, max_row, max_col
    hidden_rows: set[int] = field(default_factory=set)
    hidden_cols: set[int] = field(default_factory=set)
    tables: list[tuple[str, tuple[int, int, int, int], int]] = field(default_factory=list)  # name, box, headers


def _bool(v: str | None) -> bool:
    """openpyxl's ``Bool`` descriptor applied to an attribute string."""
    if v is None:
        return False
    return v not in ("false", "f", "0") and bool(v)


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text_content(el: Any) -> str:
    """``openpyxl.cell.text.Text.from_tree(el).content``: the last ``t`` plus each run's last ``t``."""
    plain: str | None = None
    runs: list[str] = []
    if any(not k.startswith("{") for k in el.attrib):
        raise _Irregular  # openpyxl would pass it to Text(**attrib)
    for c in el:
        name = _local(c.tag)
        if name == "t":
            plain = c.text
        elif name == "r":
            rt: str | None = None
            for g in c:
                if _local(g.tag) == "t":
                    rt = g.text
            if rt is not None:
                runs.append(rt)
        elif name in ("rPh", "phoneticPr"):
            continue
    return (plain or "") + "".join(runs)


class _Pkg:
    def __init__(self, data: bytes) -> None:
        self.zf = zipfile.ZipFile(io.BytesIO(data))
        self.names = set(self.zf.namelist())

    def read(self, name: str) -> bytes:
        if name not in self.names:
            raise _Irregular
        return self.zf.read(name)

    def stream(self, name: str) -> Any:
        """A part as a stream (big sheets are never held in memory whole)."""
        if name not in self.names:
            raise _Irregular
        return self.zf.open(name)

    def rels(self, part: str) -> dict[str, tuple[str, str, bool]]:
        """rId → (type, archive path, external) of a part's relationships (openpyxl's path resolution)."""
        base, fname = posixpath.split(part)
        rels_name = posixpath.join(base, "_rels", f"{fname}.rels")
        out: dict[str, tuple[str, str, bool]] = {}
        if rels_name not in self.names:
            return out
        for el in _parse(self.zf.read(rels_name)):
            if el.tag != _PR:
                continue
            rid, typ, target = el.get("Id"), el.get("Type"), el.get("Target")
            if rid is None or typ is None or target is None:
                raise _Irregular
            external = el.get("TargetMode") == "External"
            if not external:
                target = posixpath.normpath(target[1:] if target.startswith("/") else posixpath.join(base, target))
            out[rid] = (typ, target, external)
        return out


def _parser() -> Any:
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _parse(raw: bytes) -> Any:
    from lxml import etree

    try:
        return etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError:
        raise _Irregular from None


def _iter(src: Any, tags: tuple[str, ...]) -> Any:
    from lxml import etree

    return etree.iterparse(
        src, events=("end",), tag=tags,
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
    )


@dataclass
class _Styles:
    formats: list[str | None]  # per cellXfs index: the number format openpyxl reports
    dates: set[int]
    timedeltas: set[int]


def _styles(raw: bytes) -> _Styles:
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format

    root = _parse(raw)
    custom: dict[int, str] = {}
    nf = root.find(_t("numFmts"))
    if nf is not None:
        for n in nf.findall(_t("numFmt")):
            i, code = n.get("numFmtId"), n.get("formatCode")
            if i is None or code is None:
                raise _Irregular
            custom[int(i)] = code
    xfs = root.find(_t("cellXfs"))
    if xfs is None:
        raise _Irregular
    out = _Styles([], set(), set())
    for idx, xf in enumerate(xfs.findall(_t("xf"))):
        fid = int(xf.get("numFmtId", "0"))
        fmt: str | None
        if fid in custom:
            fmt = custom[fid]
            report: str | None = fmt
        elif fid < 164:
            fmt = BUILTIN_FORMATS.get(fid)
            report = BUILTIN_FORMATS.get(fid, "General")
        else:
            raise _Irregular  # openpyxl would index its custom-format list
        out.formats.append(report)
        if is_date_format(fmt):
            out.dates.add(idx)
        if is_timedelta_format(fmt):
            out.timedeltas.add(idx)
    if not out.formats:
        raise _Irregular
    return out


def _shared_strings(pkg: _Pkg, path: str | None) -> list[str]:
    if path is None:
        return []
    out: list[str] = []
    for _, el in _iter(pkg.stream(path), (_t("si"),)):
        out.append(_text_content(el).replace("x005F_", ""))
        el.clear()
    return out


def read_workbook(data: bytes, *, formulas: bool) -> list[SheetData] | None:
    """Every worksheet of the workbook in ``data``, or None to let openpyxl handle it."""
    try:
        return _read(data, formulas)
    except (_Irregular, zipfile.BadZipFile, KeyError, ValueError, IndexError, TypeError, OverflowError,
            OSError, EOFError, NotImplementedError, zlib.error):
        return None
    except Exception as e:  # lxml errors from iterparse
        if type(e).__module__.startswith("lxml"):
            return None
        raise


def _read(data: bytes, formulas: bool) -> list[SheetData]:
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

    pkg = _Pkg(data)
    ct = _parse(pkg.read("[Content_Types].xml"))
    overrides = [(o.get("PartName"), o.get("ContentType")) for o in ct.iter(f"{_CT}Override")]
    wb_part = next((pn for c in _WORKBOOK_CTS for pn, oc in overrides if oc == c), None)
    if wb_part != "/xl/workbook.xml":
        raise _Irregular
    sst = next((pn for pn, oc in overrides if oc == _SST_CT), None)
    strings = _shared_strings(pkg, sst[1:] if sst else None)
    wb = _parse(pkg.read("xl/workbook.xml"))
    pr = wb.find(_t("workbookPr"))
    epoch = CALENDAR_MAC_1904 if pr is not None and _bool(pr.get("date1904")) else CALENDAR_WINDOWS_1900
    styles = _styles(pkg.read("xl/styles.xml"))
    rels = pkg.rels("xl/workbook.xml")
    sheets_el = wb.find(_t("sheets"))
    out: list[SheetData] = []
    seen_titles: set[str] = set()
    seen_tables: set[str] = set()
    for sh in sheets_el if sheets_el is not None else ():
        if sh.tag != _t("sheet"):
            continue
        name, rid, state = sh.get("name"), sh.get(f"{{{_R}}}id"), sh.get("state", "visible")
        if not name or not rid or state not in _STATES or _BAD_TITLE.search(name) or name.lower() in seen_titles:
            raise _Irregular
        seen_titles.add(name.lower())
        typ, target, external = rels[rid]
        if typ != _RT_SHEET or external or target not in pkg.names:
            raise _Irregular
        sd = SheetData(title=name, state=state)
        tparts = _sheet(pkg.stream(target), sd, strings, styles, epoch, formulas)
        if tparts:
            srels = pkg.rels(target)
            for tid in tparts:
                ttyp, tpath, _ext = srels[tid]
                if ttyp != _RT_TABLE:
                    raise _Irregular
                _table(pkg.read(tpath), sd, seen_tables)
        out.append(sd)
    return out


def _table(raw: bytes, sd: SheetData, seen: set[str]) -> None:
    from openpyxl.utils import range_boundaries

    t = _parse(raw)
    name = t.get("name") or t.get("displayName")
    ref = t.get("ref")
    if not name or not ref or name.lower() in seen:
        raise _Irregular
    seen.add(name.lower())
    hdr = t.get("headerRowCount")
    c0, r0, c1, r1 = range_boundaries(ref)
    if None in (c0, r0, c1, r1):
        raise _Irregular
    sd.tables.append((name, (int(r0), int(c0), int(r1), int(c1)), int(hdr) if hdr is not None else 1))


def _sheet(
    src: Any, sd: SheetData, strings: list[str], styles: _Styles, epoch: Any, want_formulas: bool
) -> list[str]:
    from openpyxl.utils.cell import coordinate_to_tuple, range_boundaries
    from openpyxl.utils.datetime import from_excel, from_ISO8601

    positions: dict[tuple[int, int], tuple[Any, int]] = {}
    shared: dict[str, Any] = {}
    tparts: list[str] = []
    col_dims: dict[int, tuple[str | None, str | None, str | None]] = {}
    row_hidden: dict[int, bool] = {}
    row_counter = 0
    for _, el in _iter(src, (T_ROW, T_COL, T_MERGE, T_TPART)):
        tag = el.tag
        if tag == T_ROW:
            r = el.get("r")
            if r is not None:
                try:
                    row_counter = int(r)
                except ValueError:
                    fr = float(r)
                    if not fr.is_integer():
                        raise _Irregular from None
                    row_counter = int(fr)
            else:
                row_counter += 1
            if {k for k in el.attrib if not k.startswith("{")} - {"r", "spans"}:
                row_hidden[row_counter] = _bool(el.get("hidden"))
            for c in el:
                _cell(c, positions, sd, strings, styles, epoch, want_formulas, shared,
                      coordinate_to_tuple, from_excel, from_ISO8601)
            el.clear()
            prev = el.getprevious()
            while prev is not None:
                parent = prev.getparent()
                if parent is None:
                    break
                parent.remove(prev)
                prev = el.getprevious()
        elif tag == T_COL:
            mn = el.get("min")
            if mn is None or not 1 <= int(mn) <= 18278:
                raise _Irregular
            col_dims[int(mn)] = (el.get("hidden"), mn, el.get("max"))
        elif tag == T_MERGE:
            ref = el.get("ref")
            if not ref:
                raise _Irregular
            c0, r0, c1, r1 = range_boundaries(ref)
            if None in (c0, r0, c1, r1):
                raise _Irregular
            sd.merged.append((int(r0), int(c0), int(r1), int(c1)))
        elif tag == T_TPART:
            tid = el.get(f"{{{_R}}}id")
            if not tid:
                raise _Irregular
            tparts.append(tid)
    sd.hidden_rows = {r for r, h in row_hidden.items() if h}
    for hidden, mn, mx in col_dims.values():
        if _bool(hidden) and mn and mx and int(mn) and int(mx):
            sd.hidden_cols.update(range(int(mn), min(int(mx), 16384) + 1))
    # merged ranges: openpyxl replaces covered cells by empty placeholders and creates the top-left cell
    cells = set(positions)
    covered: set[tuple[int, int]] = set()
    for r0, c0, r1, c1 in dict.fromkeys(sd.merged):
        if (r1 - r0 + 1) * (c1 - c0 + 1) > _MAX_MERGE_AREA:
            raise _Irregular
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                cells.add((r, c))
                if (r, c) != (r0, c0):
                    covered.add((r, c))
    sd.merged = list(dict.fromkeys(sd.merged))
    sd.count = len(cells)
    for pos, (v, sid) in positions.items():
        if pos in covered:
            continue
        sd.cells[pos] = (v, styles.formats[sid])
    for pos in covered:
        sd.formulas.pop(pos, None)
    return tparts


def _cell(
    c: Any,
    positions: dict[tuple[int, int], tuple[Any, int]],
    sd: SheetData,
    strings: list[str],
    styles: _Styles,
    epoch: Any,
    want_formulas: bool,
    shared: dict[str, Any],
    coordinate_to_tuple: Any,
    from_excel: Any,
    from_iso: Any,
) -> None:
    if c.tag != T_C:
        raise _Irregular  # openpyxl parses every child of a row as a cell
    coord = c.get("r")
    if not coord:
        raise _Irregular
    t = c.get("t", "n")
    s = c.get("s", 0)
    sid = int(s) if s else 0
    if sid >= len(styles.formats) or sid < 0:
        raise _Irregular
    value: Any = None if t == "inlineStr" else (c.findtext(T_V, None) or None)
    pos = coordinate_to_tuple(coord)
    if value is not None:
        if t == "n":
            value = float(value) if ("." in value or "E" in value or "e" in value) else int(value)
            if sid in styles.dates:
                try:
                    value = from_excel(value, epoch, timedelta=sid in styles.timedeltas)
                except (OverflowError, ValueError):
                    value = "#VALUE!"
        elif t == "s":
            i = int(value)
            if i < 0:
                raise _Irregular
            value = strings[i]
        elif t == "b":
            value = bool(int(value))
        elif t == "d":
            value = from_iso(value)
    elif t == "inlineStr":
        child = c.find(T_IS)
        if child is not None:
            value = _text_content(child)
    positions[pos] = (value, sid)
    if want_formulas:
        f = c.find(T_F)
        if f is None:  # openpyxl's formula load: a text value that starts with "=" reads as a formula too
            if isinstance(value, str) and value.startswith("="):
                sd.formulas[pos] = value
            else:
                sd.formulas.pop(pos, None)
            return
        ftype = f.get("t")
        text = "=" + (f.text or "")
        if ftype == "shared":
            from openpyxl.formula.translate import Translator

            idx = f.get("si")
            if idx in shared:
                text = shared[idx].translate_formula(coord)
            elif text != "=":
                shared[idx] = Translator(text, coord)
        elif ftype == "dataTable":
            raise _Irregular
        sd.formulas[pos] = text
