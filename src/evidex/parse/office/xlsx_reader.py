"""Read the common XLSX package directly with lxml — the fast path of :mod:`evidex.parse.office.xlsx`.

openpyxl builds a full object model (workbook, style objects through validating descriptors, one ``Cell``
object per cell) that the XLSX parser only reads a few things from. This module reads exactly those —
sheet names/states, cell values as openpyxl's ``data_only`` load gives them, formula text as its normal
load gives it, number formats, merged ranges, hidden rows/columns, declared tables — from
``workbook.xml``, ``sharedStrings.xml``, ``styles.xml``, the sheet and table parts, streaming, through the
package reader shared with DOCX (:class:`evidex.parse.office.package.PartReader`: a parser that loads no
DTD, reads nothing from the network and resolves no entities). The value semantics follow
openpyxl 3.1 (its own helpers are used for number-format classification, date serials and shared-formula
translation), so results are the same.

:func:`read_workbook` returns ``None`` whenever the package is not the common case (chartsheets, missing
parts, cells without references, styles it would have to guess, data-table formulas, huge merges, ...); the
caller then loads the workbook with openpyxl as before, so odd files keep exactly the old behaviour.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from evidex.parse.office.package import (
    FALLBACK_ERRORS,
    IrregularPackage,
    PartReader,
    iterparse_part,
    parse_part,
)

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
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
_FALLBACK: tuple[type[BaseException], ...] = (*FALLBACK_ERRORS, IndexError, TypeError, OverflowError)


def _t(name: str) -> str:
    return f"{{{NS}}}{name}"


T_ROW, T_C, T_V, T_F, T_IS = _t("row"), _t("c"), _t("v"), _t("f"), _t("is")
T_COL, T_MERGE, T_TPART = _t("col"), _t("mergeCell"), _t("tablePart")


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
        raise IrregularPackage  # openpyxl would pass it to Text(**attrib)
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


@dataclass
class _Styles:
    formats: list[str | None]  # per cellXfs index: the number format openpyxl reports
    dates: set[int]
    timedeltas: set[int]


def _styles(raw: bytes) -> _Styles:
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format

    root = parse_part(raw)
    custom: dict[int, str] = {}
    nf = root.find(_t("numFmts"))
    if nf is not None:
        for n in nf.findall(_t("numFmt")):
            i, code = n.get("numFmtId"), n.get("formatCode")
            if i is None or code is None:
                raise IrregularPackage
            custom[int(i)] = code
    xfs = root.find(_t("cellXfs"))
    if xfs is None:
        raise IrregularPackage
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
            raise IrregularPackage  # openpyxl would index its custom-format list
        out.formats.append(report)
        if is_date_format(fmt):
            out.dates.add(idx)
        if is_timedelta_format(fmt):
            out.timedeltas.add(idx)
    if not out.formats:
        raise IrregularPackage
    return out


def _shared_strings(pkg: PartReader, part: str | None) -> list[str]:
    if part is None:
        return []
    out: list[str] = []
    for _, el in iterparse_part(pkg.stream(part), (_t("si"),)):
        out.append(_text_content(el).replace("x005F_", ""))
        el.clear()
    return out


def read_workbook(data: bytes, *, formulas: bool) -> list[SheetData] | None:
    """Every worksheet of the workbook in ``data``, or None to let openpyxl handle it."""
    try:
        return _read(data, formulas)
    except _FALLBACK:
        return None
    except Exception as e:  # lxml errors from iterparse
        if type(e).__module__.startswith("lxml"):
            return None
        raise


def _read(data: bytes, formulas: bool) -> list[SheetData]:
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

    pkg = PartReader(data)
    wb_part = next((pn for c in _WORKBOOK_CTS for pn in pkg.parts_of_type(c)), None)
    if wb_part != "/xl/workbook.xml":
        raise IrregularPackage
    sst = next(iter(pkg.parts_of_type(_SST_CT)), None)
    strings = _shared_strings(pkg, sst)
    wb = pkg.xml(wb_part)
    pr = wb.find(_t("workbookPr"))
    epoch = CALENDAR_MAC_1904 if pr is not None and _bool(pr.get("date1904")) else CALENDAR_WINDOWS_1900
    styles = _styles(pkg.read("/xl/styles.xml"))
    rels = pkg.rels_of(wb_part)
    sheets_el = wb.find(_t("sheets"))
    out: list[SheetData] = []
    seen_titles: set[str] = set()
    seen_tables: set[str] = set()
    for sh in sheets_el if sheets_el is not None else ():
        if sh.tag != _t("sheet"):
            continue
        name, rid, state = sh.get("name"), sh.get(f"{{{_R}}}id"), sh.get("state", "visible")
        if not name or not rid or state not in _STATES or _BAD_TITLE.search(name) or name.lower() in seen_titles:
            raise IrregularPackage
        seen_titles.add(name.lower())
        rel = rels[rid]
        target = rel.target
        if rel.reltype != _RT_SHEET or rel.external or not pkg.has(target):
            raise IrregularPackage
        sd = SheetData(title=name, state=state)
        tparts = _sheet(pkg.stream(target), sd, strings, styles, epoch, formulas)
        if tparts:
            srels = pkg.rels_of(target)
            for tid in tparts:
                trel = srels[tid]
                if trel.reltype != _RT_TABLE:
                    raise IrregularPackage
                _table(pkg.xml(trel.target), sd, seen_tables)
        out.append(sd)
    return out


def _table(t: Any, sd: SheetData, seen: set[str]) -> None:
    from openpyxl.utils import range_boundaries

    name = t.get("name") or t.get("displayName")
    ref = t.get("ref")
    if not name or not ref or name.lower() in seen:
        raise IrregularPackage
    seen.add(name.lower())
    hdr = t.get("headerRowCount")
    c0, r0, c1, r1 = range_boundaries(ref)
    if None in (c0, r0, c1, r1):
        raise IrregularPackage
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
    for _, el in iterparse_part(src, (T_ROW, T_COL, T_MERGE, T_TPART)):
        tag = el.tag
        if tag == T_ROW:
            r = el.get("r")
            if r is not None:
                try:
                    row_counter = int(r)
                except ValueError:
                    fr = float(r)
                    if not fr.is_integer():
                        raise IrregularPackage from None
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
                raise IrregularPackage
            col_dims[int(mn)] = (el.get("hidden"), mn, el.get("max"))
        elif tag == T_MERGE:
            ref = el.get("ref")
            if not ref:
                raise IrregularPackage
            c0, r0, c1, r1 = range_boundaries(ref)
            if None in (c0, r0, c1, r1):
                raise IrregularPackage
            sd.merged.append((int(r0), int(c0), int(r1), int(c1)))
        elif tag == T_TPART:
            tid = el.get(f"{{{_R}}}id")
            if not tid:
                raise IrregularPackage
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
            raise IrregularPackage
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
        raise IrregularPackage  # openpyxl parses every child of a row as a cell
    coord = c.get("r")
    if not coord:
        raise IrregularPackage
    t = c.get("t", "n")
    s = c.get("s", 0)
    sid = int(s) if s else 0
    if sid >= len(styles.formats) or sid < 0:
        raise IrregularPackage
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
                raise IrregularPackage
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
            raise IrregularPackage
        sd.formulas[pos] = text
