"""The review page in a real browser (Debian's chromium driven by Playwright) against a real uvicorn.

A PDF's evidence boxes must sit on the words ``doc.locate`` gives for each evidence span (and on ink in the
rendered page); corrections made by clicking words on the page, selecting text and pressing keys end up in the
gold JSONL export that ``evidex eval``/``evidex train`` read; document text never runs as script.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import DEJAVU_FONT, needs_ocr
from servekit import INVOICE_SCHEMA, TOKEN, Server, invoice_pdf, running, wait_done

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (make installs it)", allow_module_level=True)

HOSTILE_HTML = (
    "<html><head><title>x</title></head><body>"
    "<p>Vendor: Evil &lt;img src=x onerror=\"window.__pwned=1\"&gt; Corp</p>"
    "<p>Invoice number: INV-666 &lt;/script&gt;&lt;script&gt;window.__pwned=2&lt;/script&gt;</p>"
    "<div style=\"display:none\">Invoice number: HIDDEN-999</div>"
    "</body></html>"
)


STRICT_REVIEW = 0.75  # the "strict" pipeline flags for review every value its scorer is less sure of than this


def _strict_spec() -> Any:
    """The invoice schema with the default engine (``scorer="auto"``: the packaged student), reviewing more."""
    from evidex.extract import ExtractOptions
    from evidex.model import Schema
    from evidex.pipeline import PipelineSpec

    return PipelineSpec.create(Schema.from_dict(INVOICE_SCHEMA), None, options=ExtractOptions(review_threshold=STRICT_REVIEW))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from evidex.serve import ServeConfig

    base = tmp_path_factory.mktemp("review")
    root = base / "root"
    root.mkdir()
    (root / "invoice.pdf").write_bytes(invoice_pdf())
    (root / "hostile.html").write_text(HOSTILE_HTML, encoding="utf-8")
    cfg = ServeConfig(data_dir=base / "data", root=root, token=TOKEN, rate_per_s=1000, burst=1000,
                      specs={"strict": _strict_spec()})
    with running(cfg) as s:
        yield s, root


@pytest.fixture(scope="module")
def browser() -> Any:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def _job(s: Server, paths: list[str], pipeline: str | None = None) -> str:
    with s.client() as c:
        r = c.post("/v1/jobs", json={"paths": paths, **({"pipeline": pipeline} if pipeline else {"schema": INVOICE_SCHEMA})})
        assert r.status_code == 202, r.text
        jid: str = r.json()["id"]
        assert wait_done(c, jid)["status"] == "done"
    return jid


def _open(browser: Any, s: Server, jid: str) -> Any:
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.set_default_timeout(10000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page._evx_errors = errors
    page.goto(f"{s.url}/review/{jid}#token={TOKEN}")
    page.wait_for_selector("body[data-ready=true]", timeout=15000)
    return page


def _expected_boxes(src: Path) -> dict[str, list[list[float]]]:
    """Per field: the top-left boxes doc.locate gives for its evidence spans (from a fresh parse)."""
    from evidex.model import Span
    from evidex.parse import parse_file
    from evidex.pipeline import Pipeline

    doc = parse_file(src)
    with Pipeline.create(INVOICE_SCHEMA, backend=None) as pipe:
        res = pipe.extract_document(doc)
    h = doc.pages[0].height
    out: dict[str, list[list[float]]] = {}
    for x in res.extractions:
        for sp in x.evidence:
            for a in doc.locate(Span(sp.start, sp.end)):
                if a.prov.bbox is not None:
                    out.setdefault(x.path, []).append(a.prov.bbox.to_top_left(h).to_list())
    return out


def _drawn_boxes(page: Any, width: float, height: float, ink: bool = True) -> dict[str, list[list[float]]]:
    """Per field: the drawn evidence boxes in page units (from their position on the rendered page); with
    ``ink``, each box must cover dark pixels of the page image (a word, not blank paper)."""
    from PIL import Image

    pg = page.locator(".page").bounding_box()
    rows = page.locator("tr.row")
    paths = [rows.nth(i).get_attribute("data-path") for i in range(rows.count())]
    drawn: dict[str, list[list[float]]] = {}
    boxes = page.locator(".box")
    for i in range(boxes.count()):
        b = boxes.nth(i)
        bb = b.bounding_box()
        path = paths[int(b.get_attribute("data-row"))]
        drawn.setdefault(path, []).append([(bb["x"] - pg["x"]) / pg["width"] * width,
                                           (bb["y"] - pg["y"]) / pg["height"] * height,
                                           (bb["x"] + bb["width"] - pg["x"]) / pg["width"] * width,
                                           (bb["y"] + bb["height"] - pg["y"]) / pg["height"] * height])
        if ink:  # the box itself is a translucent blue/orange: near-black pixels are the word's ink
            im = Image.open(io.BytesIO(b.screenshot())).convert("RGB")
            w, h = im.size
            dark = sum(1 for x in range(3, w - 3) for y in range(3, h - 3) if max(im.getpixel((x, y))) < 110)
            assert dark > 15, f"no ink under the {path} box"
    return drawn


def _same_boxes(drawn: dict[str, list[list[float]]], expected: dict[str, list[list[float]]], tol: float) -> None:
    assert set(drawn) == set(expected)
    for path, exp in expected.items():
        got = sorted(drawn[path])
        assert len(got) == len(exp)
        for g, e in zip(got, sorted(exp), strict=True):
            assert all(abs(a - b) < tol for a, b in zip(g, e, strict=True)), (path, g, e)


def test_pdf_boxes_sit_on_the_located_words(server: Any, browser: Any, tmp_path: Path) -> None:
    s, root = server
    jid = _job(s, ["invoice.pdf"])
    page = _open(browser, s, jid)
    page.wait_for_function("() => { const i = document.querySelector('.page img'); return i && i.naturalWidth > 0; }",
                           timeout=15000)
    img = page.locator(".page img")
    nat = img.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert abs(nat[0] / nat[1] - 612 / 792) < 0.01  # the rendered PDF page, not a placeholder
    expected = _expected_boxes(root / "invoice.pdf")
    assert {"invoice_number", "total", "date"} <= set(expected)
    _same_boxes(_drawn_boxes(page, 612, 792), expected, 1.0)
    out = os.environ.get("EVIDEX_REVIEW_SCREENSHOT")
    page.screenshot(path=out or str(tmp_path / "review.png"))
    assert not page._evx_errors
    page.close()


def _select_in_text(page: Any, needle: str) -> None:
    """Select ``needle`` in the text pane with a DOM Range (as a mouse drag would) and release the mouse."""
    page.evaluate(
        """needle => {
          const segs = [...document.querySelectorAll('.doctext .seg')];
          const seg = segs.find(s => s.textContent.includes(needle));
          const node = seg.firstChild, i = node.data.indexOf(needle);
          const r = document.createRange(); r.setStart(node, i); r.setEnd(node, i + needle.length);
          const sel = getSelection(); sel.removeAllRanges(); sel.addRange(r);
        }""", needle)
    page.locator(".doctext").dispatch_event("mouseup")


def _click_word(page: Any, word: str, doc_words: list[tuple[str, list[float]]], shift: bool = False) -> None:
    box = next(b for w, b in doc_words if w == word)
    pg = page.locator(".page").bounding_box()
    for _ in range(50):  # selecting a value scrolls to its evidence (smoothly): click once the page stands still
        page.wait_for_timeout(50)
        again = page.locator(".page").bounding_box()
        if again == pg:
            break
        pg = again
    x = pg["x"] + (box[0] + box[2]) / 2 / 612 * pg["width"]
    y = pg["y"] + (box[1] + box[3]) / 2 / 792 * pg["height"]
    page.keyboard.down("Shift") if shift else None
    page.mouse.click(x, y)
    page.keyboard.up("Shift") if shift else None


def test_corrections_in_the_browser_become_gold(server: Any, browser: Any, tmp_path: Path) -> None:
    from evidex.eval.datasets import load_jsonl_gold
    from evidex.parse import parse_file
    from evidex.pipeline import Pipeline

    s, root = server
    jid = _job(s, ["invoice.pdf"], pipeline="strict")
    doc = parse_file(root / "invoice.pdf")
    with Pipeline.from_spec(_strict_spec()) as pipe:  # what the engine flagged for review, in record order
        flagged = [x.path for x in pipe.extract_document(doc).extractions if x.review]
    assert flagged, "the default scorer is sure of every value: nothing to walk with j"
    h = doc.pages[0].height
    words = [(doc.text[a.span.start:a.span.end], a.prov.bbox.to_top_left(h).to_list())
             for a in doc.anchors if a.prov.bbox is not None]
    page = _open(browser, s, jid)
    page.locator("#reviewer").fill("ann")
    page.locator("#reviewer").dispatch_event("change")
    page.locator("#reviewer").blur()
    # the rows marked uncertain are exactly the engine's review flags; j walks them in order
    marked = page.locator("tr.row.uncertain")
    assert sorted(marked.nth(i).get_attribute("data-path") for i in range(marked.count())) == sorted(flagged)
    for path in flagged:
        page.keyboard.press("j")
        assert page.locator("tr.selected").get_attribute("data-path") == path
        assert page.locator("tr.selected").evaluate("e => e.classList.contains('uncertain')")
    # fix the vendor on the page: select its row, click 'Globex', shift-click 'Ltd' → the words between
    page.locator("tr[data-path=vendor] td.conf").click()
    assert page.locator("tr.selected").get_attribute("data-path") == "vendor"
    _click_word(page, "Globex", words)
    _click_word(page, "Ltd", words, shift=True)
    assert page.locator("#prop-value").input_value() == "Globex Industries Ltd"
    assert page.locator("#prop-field").input_value() == "vendor"
    page.keyboard.press("Enter")
    page.wait_for_selector("tr.d-edit[data-path=vendor]")
    # fix the date by selecting text in the text pane
    _select_in_text(page, "2024-03-15")
    page.locator("#prop-field").select_option("date")
    page.locator("#prop-ok").click()
    page.wait_for_selector("tr.d-edit[data-path=date]")
    # accept the total with the keyboard, mark the invoice number as not in the document with its button
    page.locator("tr[data-path=total] td.conf").click()
    page.keyboard.press("a")
    page.wait_for_selector("tr.d-accept[data-path=total]")
    page.locator("tr[data-path=invoice_number] button[data-act=absent]").click()
    page.wait_for_selector("tr.d-absent[data-path=invoice_number]")
    with page.expect_download() as dl:
        page.locator("#export").click()
    gold_path = tmp_path / "gold.jsonl"
    dl.value.save_as(gold_path)
    assert not page._evx_errors
    page.close()

    lines = [json.loads(x) for x in gold_path.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 1
    g = lines[0]
    assert g["id"] == doc.id and Path(g["path"]) == (root / "invoice.pdf").resolve()
    assert g["fields"] == {"vendor": "Globex Industries Ltd", "date": "2024-03-15", "total": "1,250.00 EUR",
                           "invoice_number": None}
    for field, want in (("vendor", "Globex Industries Ltd"), ("date", "2024-03-15"), ("total", "1,250.00 EUR")):
        (ev,) = g["evidence"][field]
        assert doc.text[ev["start"]:ev["end"]] == ev["text"] == want
    assert {c["by"] for c in g["corrections"]} == {"ann"} and all(c["at"] for c in g["corrections"])
    gs = load_jsonl_gold(gold_path)  # what evidex eval --gold and evidex train read
    (gd,) = gs.docs
    assert gd.fields["vendor"] == ("Globex Industries Ltd",) and gd.fields["invoice_number"] == ()
    assert gs.paths()[0].is_file()


def test_document_text_never_runs(server: Any, browser: Any) -> None:
    s, _ = server
    jid = _job(s, ["hostile.html"])
    with s.client() as c:
        r = c.get(f"/review/{jid}")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "<script>" not in r.text.replace('<script src="/static/review.js"></script>', "")
    page = _open(browser, s, jid)
    text = page.locator(".doctext").inner_text()
    assert '<img src=x onerror="window.__pwned=1">' in text and "<script>window.__pwned=2" in text
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator(".doctext img, .doctext script").count() == 0
    hidden = page.locator(".doctext .l-hidden")
    assert hidden.count() >= 1 and "HIDDEN-999" in hidden.first.inner_text()
    page.close()


def test_standalone_review_page(browser: Any, tmp_path: Path) -> None:
    """evidex report --review writes a directory that opens from disk: same page, boxes, hostile text inert."""
    from typer.testing import CliRunner

    from evidex.cli.main import app

    (tmp_path / "invoice.pdf").write_bytes(invoice_pdf())
    (tmp_path / "hostile.html").write_text(HOSTILE_HTML, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(INVOICE_SCHEMA), encoding="utf-8")
    runner = CliRunner()
    r = runner.invoke(app, ["extract", str(tmp_path / "invoice.pdf"), str(tmp_path / "hostile.html"), "--schema",
                            str(schema), "--backend", "none", "-o", str(out)])
    assert out.is_file(), r.output
    r = runner.invoke(app, ["report", str(out), "--review", str(tmp_path / "review")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "review" / "pages" / "d0-1.png").is_file()
    page = browser.new_page(accept_downloads=True)
    page.goto((tmp_path / "review" / "index.html").as_uri())
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator(".page .box").count() >= 3
    page.locator("tr[data-path=total] button[data-act=accept]").click()
    with page.expect_download() as dl:
        page.locator("#export").click()
    g = json.loads(Path(dl.value.path()).read_text(encoding="utf-8"))
    assert g["fields"] == {"total": "1,250.00 EUR"}
    page.locator("#docsel").select_option("1")
    assert page.evaluate("() => window.__pwned") is None
    assert "window.__pwned=2" in page.locator(".doctext").inner_text()
    page.close()


def test_sheet_evidence_cells(server: Any, browser: Any) -> None:
    s, root = server
    (root / "sheet.csv").write_text("Item,Amount\nWidget,12.50\nInvoice number,INV-9\nTotal due,99.00 EUR\n",
                                    encoding="utf-8")
    jid = _job(s, ["sheet.csv"])
    with s.client() as c:
        rec = c.get(f"/v1/jobs/{jid}/results").json()["records"][0]
    want = {p["sheet_cell"].rsplit("!", 1)[1] for x in rec["extractions"] for ev in x["evidence"]
            for p in ev.get("prov", ()) if "sheet_cell" in p}
    assert want  # the evidence of the CSV's values sits in cells
    page = _open(browser, s, jid)
    got = set()
    cells = page.locator("table.sheet td.ev")
    for i in range(cells.count()):
        td = cells.nth(i)
        got.add(td.get_attribute("title").rsplit("!", 1)[1])
    assert got == want
    page.locator("table.sheet td.cell", has_text="Widget").click()  # a click proposes the cell's text
    assert page.locator("#prop-value").input_value() == "Widget"
    assert not page._evx_errors
    page.close()


@needs_ocr
def test_scan_boxes_sit_on_the_ocr_words(server: Any, browser: Any) -> None:
    """A scanned page (PNG, OCR): the image itself is shown, boxes in pixels where doc.locate puts them."""
    from PIL import Image, ImageDraw, ImageFont

    s, root = server
    im = Image.new("RGB", (1100, 400), "white")
    d = ImageDraw.Draw(im)
    font = ImageFont.truetype(str(DEJAVU_FONT), 40)
    for text, y in (("Invoice number INV-4711", 60), ("Total due: 250.00 EUR", 200)):
        d.text((60, y), text, font=font, fill="black")
    im.save(root / "scan.png")
    jid = _job(s, ["scan.png"])
    page = _open(browser, s, jid)
    page.wait_for_function("() => { const i = document.querySelector('.page img'); return i && i.naturalWidth > 0; }")
    assert page.locator(".page img").evaluate("i => [i.naturalWidth, i.naturalHeight]") == [1100, 400]
    expected = _expected_boxes(root / "scan.png")
    assert expected
    _same_boxes(_drawn_boxes(page, 1100, 400), expected, 2.0)
    assert not page._evx_errors
    page.close()
