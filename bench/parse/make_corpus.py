"""Generate the parsing-benchmark corpus and its ground truth.

    python bench/parse/make_corpus.py OUT_DIR [--pages 24]

Writes ``report.pdf`` (multi-page, headings, two-column pages, two ruled tables, running header/footer),
``report.docx``, ``report.xlsx`` (two tables on one sheet), ``report.html`` (with nav/footer boilerplate),
``mail.eml`` (a text body and a PDF attachment) and ``truth.json``. Everything is deterministic (seeded).

Truth per file: ``headings`` [[text, level]], ``tables`` [[row cells]], ``locs`` [{value, page, bbox|cell}] —
bboxes in PDF points, top-left origin, exactly where the generator drew the string. Never commit the output.
"""

from __future__ import annotations

import argparse
import json
import random
from email.message import EmailMessage
from pathlib import Path
from typing import Any

W, H = 612.0, 792.0
WORDS = ["revenue", "margin", "quarter", "supplier", "contract", "invoice", "region", "forecast", "budget", "audit", "schedule", "delivery", "volume", "customer", "service", "network", "capacity", "pricing", "inventory", "compliance", "logistics", "warehouse", "operations", "review", "growth", "demand", "planning", "risk", "policy", "report", "summary", "account", "balance", "payment", "transfer", "settlement"]


def _sentences(rng: random.Random, n: int) -> str:
    out = []
    for _ in range(n):
        ws = [rng.choice(WORDS) for _ in range(rng.randint(8, 16))]
        out.append(" ".join(ws).capitalize() + ".")
    return " ".join(out)


def _table(k: int) -> list[list[str]]:
    head = ["Region", "Units", "Revenue", "Margin"]
    names = ["North", "South", "East", "West", "Central"]
    rows = [head] + [
        [f"{n} {k}", f"{(i + 3) * 117 + k}", f"{(i + 2) * 1234.5 + k * 10:,.1f}", f"{12 + i + k}.{i}%"]
        for i, n in enumerate(names)
    ]
    return rows


# ------------------------------------------------------------------------------------------------- PDF
def make_pdf(path: Path, pages: int, seed: int = 7, title: str = "Quarterly Operations Report") -> dict[str, Any]:
    from reportlab.pdfgen import canvas

    rng = random.Random(seed)
    c = canvas.Canvas(str(path), pagesize=(W, H))
    headings: list[list[Any]] = []
    tables: list[list[list[str]]] = []
    locs: list[dict[str, Any]] = []

    def text(s: str, x: float, y_top: float, font: str = "Helvetica", size: float = 10.0) -> list[float]:
        """Draw s with its top at y_top (from the page top); return its top-left bbox."""
        c.setFont(font, size)
        base = H - y_top - size * 0.8
        c.drawString(x, base, s)
        return [x, y_top, x + c.stringWidth(s, font, size), y_top + size]

    def para(s: str, x0: float, x1: float, y: float, size: float = 10.0) -> float:
        line = ""
        for w in s.split():
            cand = f"{line} {w}".strip()
            if c.stringWidth(cand, "Helvetica", size) > x1 - x0 and line:
                text(line, x0, y, size=size)
                y += size * 1.4
                line = w
            else:
                line = cand
        if line:
            text(line, x0, y, size=size)
            y += size * 1.4
        return y + size * 0.8

    def table(rows: list[list[str]], x: float, y: float, page: int) -> float:
        colw, rowh = [110.0, 80.0, 100.0, 80.0], 20.0
        c.setLineWidth(0.8)
        for r, row in enumerate(rows):
            cx = x
            for col, cell in enumerate(row):
                font = "Helvetica-Bold" if r == 0 else "Helvetica"
                bb = text(cell, cx + 4, y + r * rowh + 5, font=font, size=9)
                if r > 0 and col == 2:
                    locs.append({"value": cell, "page": page, "bbox": bb})
                cx += colw[col]
        total_w = sum(colw)
        for r in range(len(rows) + 1):
            c.line(x, H - (y + r * rowh), x + total_w, H - (y + r * rowh))
        cx = x
        for wdt in [0.0, *colw]:
            cx += wdt
            c.line(cx, H - y, cx, H - (y + len(rows) * rowh))
        tables.append(rows)
        return y + len(rows) * rowh + 20

    sec = 0
    for p in range(1, pages + 1):
        text("Evidex Benchmark Report - Confidential", 72, 36, size=8)
        text(f"Page {p}", W / 2 - 12, H - 40, size=8)
        y = 72.0
        if p == 1:
            bb = text(title, 72, y, font="Helvetica-Bold", size=22)
            headings.append([title, 0])
            locs.append({"value": title, "page": p, "bbox": bb})
            y += 40
        kind = "twocol" if p % 3 == 2 else "table" if p in (3, max(3, pages - 3)) else "plain"
        if kind == "twocol":
            yl = yr = y
            for i in range(1, 4):
                yl = para(f"L{p}-{i} " + _sentences(rng, 3), 72, 290, yl)
            for i in range(1, 4):
                yr = para(f"R{p}-{i} " + _sentences(rng, 3), 322, 540, yr)
        else:
            sec += 1
            h1 = f"{sec} {rng.choice(WORDS).capitalize()} {rng.choice(WORDS)}"
            bb = text(h1, 72, y, font="Helvetica-Bold", size=16)
            headings.append([h1, 1])
            locs.append({"value": h1, "page": p, "bbox": bb})
            y += 28
            y = para(_sentences(rng, 4), 72, 540, y)
            h2 = f"{sec}.1 {rng.choice(WORDS).capitalize()} {rng.choice(WORDS)}"
            text(h2, 72, y, font="Helvetica-Bold", size=13)
            headings.append([h2, 2])
            y += 22
            if kind == "table":
                y = para(f"Table {len(tables) + 1} lists the regional figures.", 72, 540, y)
                y = table(_table(len(tables) + 1), 72, y, p)
            y = para(_sentences(rng, 5), 72, 540, y)
            if y < 600:
                h2b = f"{sec}.2 {rng.choice(WORDS).capitalize()} {rng.choice(WORDS)}"
                text(h2b, 72, y, font="Helvetica-Bold", size=13)
                headings.append([h2b, 2])
                y += 22
                para(_sentences(rng, 4), 72, 540, y)
        c.showPage()
    c.save()
    return {"headings": headings, "tables": tables, "locs": locs, "pages": pages}


# ------------------------------------------------------------------------------------------------ DOCX
def make_docx(path: Path, seed: int = 11) -> dict[str, Any]:
    import docx

    rng = random.Random(seed)
    d = docx.Document()
    headings: list[list[Any]] = []
    d.add_heading("Supplier Review 2024", level=0)
    headings.append(["Supplier Review 2024", 0])
    tables: list[list[list[str]]] = []
    locs: list[dict[str, Any]] = []
    for s in range(1, 5):
        h1 = f"{s} {rng.choice(WORDS).capitalize()} {rng.choice(WORDS)}"
        d.add_heading(h1, level=1)
        headings.append([h1, 1])
        d.add_paragraph(_sentences(rng, 4))
        h2 = f"{s}.1 {rng.choice(WORDS).capitalize()} {rng.choice(WORDS)}"
        d.add_heading(h2, level=2)
        headings.append([h2, 2])
        for _ in range(3):
            d.add_paragraph(_sentences(rng, 1), style="List Bullet")
        if s in (2, 4):
            rows = _table(s)
            t = d.add_table(rows=len(rows), cols=4)
            t.style = "Table Grid"
            for r, row in enumerate(rows):
                for col, v in enumerate(row):
                    t.cell(r, col).text = v
            tables.append(rows)
            locs.append({"value": rows[3][2]})
        d.add_paragraph(_sentences(rng, 3))
    d.save(str(path))
    return {"headings": headings, "tables": tables, "locs": locs}


# ------------------------------------------------------------------------------------------------ XLSX
def make_xlsx(path: Path) -> dict[str, Any]:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Summary"
    ws["A1"] = "Revenue by region"
    t1 = [["Region", "Units", "Revenue", "Margin"]] + [
        [n, str(100 + 17 * i), str(2000 + 311 * i), f"{10 + i}%"] for i, n in enumerate(["North", "South", "East", "West", "Central"])
    ]
    for r, row in enumerate(t1):
        for col, v in enumerate(row):
            ws.cell(row=3 + r, column=1 + col, value=int(v) if v.isdigit() else v)
    t2 = [["Team", "Q1", "Q2", "Q3"]] + [
        [n, str(1051 + 13 * i), str(1207 + 17 * i), str(1301 + 19 * i)] for i, n in enumerate(["Sales", "Support", "Finance", "Legal"])
    ]
    for r, row in enumerate(t2):
        for col, v in enumerate(row):
            ws.cell(row=12 + r, column=6 + col, value=int(v) if v.isdigit() else v)
    ws2 = wb.create_sheet("Notes")
    ws2["A1"] = "Prepared by the finance team"
    wb.save(str(path))
    locs = [{"value": t1[4][2], "cell": "Summary!C7"}, {"value": t2[3][1], "cell": "Summary!G15"}]
    return {"headings": [], "tables": [t1, t2], "locs": locs}


# ------------------------------------------------------------------------------------------------ HTML
def make_html(path: Path, seed: int = 13) -> dict[str, Any]:
    rng = random.Random(seed)
    headings: list[list[Any]] = [["Annual Logistics Overview", 1]]
    body = ['<article><h1>Annual Logistics Overview</h1>']
    tables: list[list[list[str]]] = []
    for s in range(1, 4):
        h2 = f"{s} {rng.choice(WORDS).capitalize()} {rng.choice(WORDS)}"
        h3 = f"{s}.1 {rng.choice(WORDS).capitalize()} {rng.choice(WORDS)}"
        headings += [[h2, 2], [h3, 3]]
        body.append(f"<h2>{h2}</h2><p>{_sentences(rng, 4)}</p><h3>{h3}</h3>")
        body.append("<ul>" + "".join(f"<li>{_sentences(rng, 1)}</li>" for _ in range(3)) + "</ul>")
        if s == 2:
            rows = _table(s)
            tables.append(rows)
            th = "".join(f"<th>{v}</th>" for v in rows[0])
            trs = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in r) + "</tr>" for r in rows[1:])
            body.append(f"<table><caption>Regional figures</caption><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>")
        body.append(f"<p>{_sentences(rng, 3)}</p>")
    body.append("</article>")
    html = (
        "<!DOCTYPE html><html><head><title>Logistics</title></head><body>"
        '<div id="cookie">We use cookies. Accept all cookies.</div>'
        '<header><nav><a href="/">Home</a> <a href="/about">About us</a></nav></header>'
        + "".join(body)
        + "<footer>Copyright footer text 2024</footer></body></html>"
    )
    path.write_text(html, encoding="utf-8")
    return {"headings": headings, "tables": tables, "locs": [{"value": tables[0][3][2]}]}


# ------------------------------------------------------------------------------------------------- EML
def make_eml(path: Path, tmp: Path) -> dict[str, Any]:
    pdf = tmp / "_attachment.pdf"
    truth = make_pdf(pdf, 3, seed=21, title="Invoice Attachment")
    m = EmailMessage()
    m["From"] = "Alice Example <alice@example.com>"
    m["To"] = "bob@example.com"
    m["Subject"] = "Q3 figures attached"
    m["Date"] = "Mon, 04 Nov 2024 10:00:00 +0000"
    m.set_content("Hi Bob,\n\nplease find the Q3 figures attached.\n\nRegards,\nAlice\n")
    m.add_attachment(pdf.read_bytes(), maintype="application", subtype="pdf", filename="figures.pdf")
    path.write_bytes(bytes(m))
    pdf.unlink()
    return truth


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--pages", type=int, default=24)
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    truth = {
        "report.pdf": make_pdf(out / "report.pdf", a.pages),
        "report.docx": make_docx(out / "report.docx"),
        "report.xlsx": make_xlsx(out / "report.xlsx"),
        "report.html": make_html(out / "report.html"),
        "mail.eml": make_eml(out / "mail.eml", out),
    }
    (out / "truth.json").write_text(json.dumps(truth, indent=1), encoding="utf-8")
    print(f"corpus written to {out}: {', '.join(sorted(truth))}")


if __name__ == "__main__":
    main()
