"""Hidden text found the way a browser decides it: the page's own <style> rules (cascade, specificity,
!important, @media), inline styles, colours against the painted background, off-screen and clipped boxes;
bounded work on hostile stylesheets; real HTML manuals (mdBook) keep overlays off the body."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from evidex.model import Document, Layer, NodeKind, Span
from evidex.parse.base import ParseContext
from evidex.parse.html import css
from evidex.parse.html.parser import HtmlParser
from oracle import check_document

INJECTED = "$9,999.00"


def parse(html: str) -> Document:
    doc = HtmlParser().parse(html.encode(), ParseContext(name="t.html"))
    check_document(doc)
    return doc


def layer_of(doc: Document, text: str) -> Layer:
    start = doc.text.index(text)
    return doc.layer_of(Span(start, start + len(text)))


def body_text(doc: Document) -> str:
    """Text of the body-layer leaves (what extraction reads first)."""
    return "\n".join(
        doc.node_text(n)
        for n in doc.nodes
        if n.layer is Layer.BODY and n.kind in (NodeKind.PARAGRAPH, NodeKind.KEY_VALUE, NodeKind.TEXT, NodeKind.CELL)
    )


def assert_hidden(doc: Document, text: str = INJECTED, reason: str | None = None) -> None:
    assert layer_of(doc, text) is Layer.HIDDEN, doc.text
    assert text not in body_text(doc)
    if reason is not None:
        warn = next(w for w in doc.warnings if w.startswith("HIDDEN_TEXT:"))
        assert reason in warn, warn


PRICE = "<p>Price: <b>$10.00</b></p>"


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        (f"<style>.hide{{display:none}}</style>{PRICE}<p class='hide'>Price: {INJECTED}</p>", "css display:none"),
        (f"<style>p span.v {{ visibility : hidden }}</style><p>Total <span class='v'>{INJECTED}</span></p>",
         "css visibility:hidden"),
        (f"<style>#x{{opacity:0.0}}</style>{PRICE}<div id='x'>{INJECTED}</div>", "css opacity:0"),
        (f"<style>.o{{opacity:0%}}</style>{PRICE}<div class='o'>{INJECTED}</div>", "css opacity:0"),
        (f"<style>.t{{font-size:0}}</style>{PRICE}<p class='t'>{INJECTED}</p>", "font-size:0"),
        (f"<p>Total <span style='color:#fff;background:#fff'>{INJECTED}</span> due</p>", "colour equals"),
        (f"<p>Total <span style='color:rgb(255,255,255)'>{INJECTED}</span> due</p>", "colour equals"),
        (f"<style>.w{{color:white}} .box{{background-color:#FFFFFF}}</style><div class='box'><p class='w'>"
         f"{INJECTED}</p></div>{PRICE}", "colour equals"),
        (f"<body bgcolor='#ffffff'>{PRICE}<font color='ffffff'>{INJECTED}</font></body>", "colour equals"),
        (f"<p>Total <span style='color:transparent'>{INJECTED}</span></p>", "colour equals"),
        (f"<style>.off{{position:absolute;left:-9999px}}</style>{PRICE}<div class='off'>{INJECTED}</div>",
         "off-screen (left)"),
        (f"{PRICE}<div style='position:fixed; top:-2000px'>{INJECTED}</div>", "off-screen (top)"),
        (f"{PRICE}<h2 style='text-indent:-9999px'>{INJECTED}</h2>", "off-screen (text-indent)"),
        (f"{PRICE}<div style='clip-path: inset(50%)'>{INJECTED}</div>", "css clip"),
        (f"{PRICE}<div style='width:0;height:0;overflow:hidden'>{INJECTED}</div>", "zero size"),
        (f"<style>.sr-only{{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;"
         f"clip:rect(0,0,0,0);border:0}}</style>{PRICE}<span class='sr-only'>{INJECTED}</span>", "screen-reader"),
        (f"<style>@media screen and (min-width: 768px) {{ .d {{ display: none }} }}</style>{PRICE}"
         f"<p class='d'>{INJECTED}</p>", "css display:none"),
        (f"<style>.c{{display:none !important}}</style>{PRICE}<p class='c' style='display:block'>{INJECTED}</p>",
         "css display:none"),
        (f"{PRICE}<p hidden>{INJECTED}</p>", "hidden attribute"),
    ],
)
def test_hidden_by_css(html: str, reason: str) -> None:
    doc = parse(html)
    assert_hidden(doc, reason=reason)


@pytest.mark.parametrize(
    "html",
    [
        # the cascade shows it again: specificity, inline style, source order
        "<style>.a{display:none} #b.a{display:block}</style><p class='a' id='b'>$10.00</p>",
        "<style>.a{display:none}</style><p class='a' style='display:block'>$10.00</p>",
        "<style>.a{display:none} .a{display:block}</style><p class='a'>$10.00</p>",
        # media that do not apply on a desktop screen
        "<style>@media print{.p{display:none}} @media (max-width:600px){.p{visibility:hidden}}</style>"
        "<p class='p'>$10.00</p>",
        # white text on a dark background, legacy attributes included
        "<div style='background:#222'><p style='color:#fff'>$10.00</p></div>",
        "<body bgcolor='black' text='white'><p>$10.00</p></body>",
        # a font-size:0 row whose children set their own size (the inline-block whitespace trick)
        "<style>.row{font-size:0}.row span{font-size:14px}</style><div class='row'><span>$10.00</span></div>",
        # a small negative indent, an absolutely positioned badge, a hover-only rule
        "<p style='text-indent:-20px'>$10.00</p><div style='position:absolute;left:-10px'>badge</div>"
        "<style>a:hover span{display:none}</style><a href='#'><span>link</span></a>",
        # aria-hidden only hides from assistive technology: it is painted
        "<p aria-hidden='true'>$10.00</p>",
    ],
)
def test_visible_despite_css(html: str) -> None:
    doc = parse(html)
    assert layer_of(doc, "$10.00") is Layer.BODY
    assert not any(w.startswith("HIDDEN_TEXT:") for w in doc.warnings)


def test_white_text_with_external_stylesheet_is_not_guessed() -> None:
    # the background may come from the unfetched sheet: white text alone proves nothing
    doc = parse("<link rel='stylesheet' href='dark.css'><p style='color:#fff'>$10.00</p>")
    assert layer_of(doc, "$10.00") is Layer.BODY
    # an explicit background on the page still decides
    doc = parse(f"<link rel='stylesheet' href='x.css'>{PRICE}<p style='color:#fff;background:#fff'>{INJECTED}</p>")
    assert_hidden(doc)


def test_hidden_span_leaves_the_key_value_clean() -> None:
    doc = parse(f"<style>.x{{display:none}}</style><p>Total: <span class='x'>{INJECTED}</span>$10.00</p>")
    kv = next(doc.iter_nodes(NodeKind.KEY_VALUE))
    assert doc.node_text(kv) == "Total: $10.00" and kv.layer is Layer.BODY
    assert_hidden(doc)


def test_external_utility_classes_and_overlays() -> None:
    doc = parse(
        "<link rel='stylesheet' href='site.css'>"
        "<div class='hidden'>hidden utility</div><div class='hidden md:block'>shown on desktop</div>"
        "<div class='d-none d-lg-block'>bootstrap desktop</div><ul role='menu'><li>Light</li><li>Dark</li></ul>"
        "<div id='help-popup'><p>Press ? for help</p></div><p>Main text</p>"
    )
    assert layer_of(doc, "hidden utility") is Layer.HIDDEN
    assert layer_of(doc, "shown on desktop") is Layer.BODY and layer_of(doc, "bootstrap desktop") is Layer.BODY
    assert layer_of(doc, "Light") is Layer.FURNITURE and layer_of(doc, "Press ? for help") is Layer.FURNITURE
    assert layer_of(doc, "Main text") is Layer.BODY
    # without any stylesheet a class does nothing: a browser shows all of it
    doc = parse("<div class='hidden'>no sheet</div><div class='modal'>no sheet either</div>")
    assert layer_of(doc, "no sheet") is Layer.BODY and layer_of(doc, "no sheet either") is Layer.BODY
    # a class the page's own CSS defines is decided by the cascade, not by its name
    doc = parse("<link rel='stylesheet' href='a.css'><style>.hidden{color:red}</style><p class='hidden'>own</p>")
    assert layer_of(doc, "own") is Layer.BODY


def test_css_display_overrides_block_and_inline() -> None:
    doc = parse(
        "<style>span.line{display:block} div.chip{display:inline}</style>"
        "<p><span class='line'>Weight: 2 kg</span><span class='line'>Colour: red</span></p>"
        "<div>Tags: <div class='chip'>a</div> <div class='chip'>b</div></div>"
    )
    kvs = {doc.node_text(n) for n in doc.iter_nodes(NodeKind.KEY_VALUE)}
    assert kvs == {"Weight: 2 kg", "Colour: red", "Tags: a b"}


# ---------------------------------------------------------------------------- bounded work
def test_huge_stylesheet_is_bounded() -> None:
    rules = "".join(f".c{i} .d{i} > p:not(.e{i}) {{display:none}}\n" for i in range(60_000))
    html = f"<style>{rules}</style>" + "".join(f"<div class='c{i} d{i}'><p>t{i}</p></div>" for i in range(2_000))
    t = time.perf_counter()
    doc = parse(html)
    assert time.perf_counter() - t < 15
    assert any(w.startswith("CSS:") for w in doc.warnings)
    assert "t1999" in doc.text


def test_pathological_selectors_are_bounded() -> None:
    deep = "<div>" * 200 + "<p class='z'>deep</p>" + "</div>" * 200
    chain = " ".join(["div"] * 40) + " p"  # more compound parts than evaluated
    sels = ",".join(["div div div div div div div p.z"] * 5_000)
    nth = "".join(f"div:nth-child({i}n+{i}) p {{visibility:hidden}}" for i in range(1, 3_000))
    t = time.perf_counter()
    doc = parse(f"<style>{chain}{{display:none}} {sels}{{display:none}} {nth}</style>{deep}")
    assert time.perf_counter() - t < 15
    assert "deep" in doc.text


def test_media_applies() -> None:
    assert css.media_applies("") and css.media_applies("screen") and css.media_applies("all and (min-width: 60em)")
    assert not css.media_applies("print") and not css.media_applies("(max-width: 40em)")
    assert css.media_applies("print, screen and (prefers-color-scheme: light)")
    assert not css.media_applies("(prefers-color-scheme: dark)") and not css.media_applies("(min-resolution: 2dppx)")


# ---------------------------------------------------------------------------- a real HTML manual (mdBook)
MDBOOK = Path("/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/share/doc/rust/html/book")


@pytest.mark.skipif(not MDBOOK.is_dir(), reason=f"no mdBook HTML manual at {MDBOOK} (installed with rustup docs)")
def test_mdbook_overlays_are_not_body() -> None:
    page = MDBOOK / "ch01-01-installation.html"
    doc = HtmlParser().parse(page.read_bytes(), ParseContext(name=page.name, path=str(page)))
    check_document(doc)
    # the keyboard-shortcut help modal and the theme menu are shown only on demand (external CSS hides them)
    assert layer_of(doc, "Keyboard shortcuts") is not Layer.BODY
    assert layer_of(doc, "Press ? to show this help") is not Layer.BODY
    theme = next(n for n in doc.iter_nodes(NodeKind.LIST) if doc.node_text(n).startswith("Auto\nLight"))
    assert theme.layer is not Layer.BODY
    # the chapter itself stays on the body
    heading = next(n for n in doc.iter_nodes(NodeKind.HEADING) if doc.node_text(n) == "Installation")
    assert heading.layer is Layer.BODY
    assert layer_of(doc, "The first step is to install Rust.") is Layer.BODY
