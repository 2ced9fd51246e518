"""A single self-contained HTML file for reviewing results against their evidence.

For each document: a table of fields (value, grounding badge, confidence, quoted evidence) and the whole
canonical text with every evidence span highlighted; clicking a field scrolls to its highlight and flashes it.
Furniture and hidden text are shown, but visibly styled. Documents are hostile: every piece of document
text is escaped, and a Content-Security-Policy allows only this file's own script (by hash) and no network.

Highlights: the text is cut at every evidence and layer boundary into non-overlapping segments. A segment
covered by evidence spans is a ``<mark data-ev="ev-<doc>-<n> …">``; the first segment of span ``n`` carries
``id="ev-<doc>-<n>"`` (or an empty ``<span class="ev-anchor">`` with that id when two spans start together
or the span is empty). The text of all marks listing ``ev-<doc>-<n>`` concatenated is exactly the evidence.
Size is linear in the text plus the number of segments.
"""

from __future__ import annotations

import base64
import hashlib
import html
import itertools
import os
from collections.abc import Iterable
from typing import IO, Any

from evidex.model import Document, Grounding, Layer, Result, Span
from evidex.output.common import Locator, Record, display_value, error_info

__all__ = ["display_text", "write_html_report"]

_CONTROL = {c: 0x2400 + c for c in range(32) if c not in (9, 10)} | {0x7F: 0x2421}
_EVIDENCE_PREVIEW = 500


def display_text(s: str) -> str:
    """How document text is shown: C0 control characters (but tab and newline) as visible symbols."""
    return s.translate(_CONTROL)


def _esc(s: str) -> str:
    return html.escape(display_text(s), quote=True)


_CSS = """
:root{--fg:#1d232a;--muted:#5d6b78;--line:#d8dee4;--bg:#fff;--panel:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg);
 display:flex;flex-direction:column}
header.top{order:-2;padding:12px 20px;border-bottom:1px solid var(--line);background:var(--panel)}
header.top h1{margin:0 0 4px;font-size:20px}
nav.toc{order:-1;padding:8px 20px;border-bottom:1px solid var(--line);max-height:30vh;overflow:auto}
nav.toc ol{margin:4px 0;padding-left:22px}
main{padding:0 20px 40px}
section.doc{border:1px solid var(--line);border-radius:6px;margin:16px 0;padding:10px 14px}
section.doc h2{font-size:16px;margin:2px 0 4px;word-break:break-all}
section.failed{border-color:#cf222e;background:#fff5f5}
.meta{color:var(--muted);font-size:12px;margin-bottom:6px}
.error{border-left:4px solid #cf222e;padding:4px 10px;background:#ffebe9;margin:6px 0}
.error code{font-weight:bold}
.warn{color:#7d4e00;font-size:12px}
table.fields{border-collapse:collapse;width:100%;margin:6px 0 10px}
table.fields th,table.fields td{border:1px solid var(--line);padding:3px 6px;vertical-align:top;text-align:left}
table.fields th{background:var(--panel);font-weight:600}
table.fields td.ev{white-space:pre-wrap;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;max-width:40em}
tr.ungrounded td.val{color:var(--muted);text-decoration:line-through}
tr.flash{animation:flash 1.2s ease-out}
.badge{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;color:#fff;white-space:nowrap}
.badge.review{background:#b45309}tr.review td.val{font-style:italic;color:#92400e}
.g-exact{background:#1a7f37}.g-normalized{background:#1b7c83}.g-fuzzy{background:#bf8700}
.g-inferred{background:#8250df}.g-ungrounded{background:#cf222e}
a.evlink{color:#0969da;text-decoration:none;font-family:ui-monospace,Menlo,Consolas,monospace}
a.evlink:hover{text-decoration:underline}
a.more{font-size:11px;margin-left:4px}
.chips span{display:inline-block;background:var(--panel);border:1px solid var(--line);border-radius:9px;padding:0 7px;margin:2px}
details.text summary{cursor:pointer;color:var(--muted)}
.doctext{white-space:pre-wrap;word-wrap:break-word;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px;
 background:var(--panel);border:1px solid var(--line);padding:10px;max-height:70vh;overflow:auto}
mark{background:#fff3a3;border-bottom:2px solid #d4a72c;padding:0;cursor:pointer}
mark.multi{background:#ffd7a0}
mark.flash,tr.flash td{animation:flash 1.2s ease-out}
@keyframes flash{0%{background:#ff8a00;box-shadow:0 0 0 3px #ff8a00}100%{}}
.l-furniture{opacity:.55;background:repeating-linear-gradient(135deg,transparent 0 6px,#e6e9ed 6px 8px)}
.l-hidden{opacity:.5;outline:1px dashed #cf222e;color:#8c1b24}
.l-metadata{color:#57606a;font-style:italic;border-left:3px solid #8250df;padding-left:2px}
.legend span{margin-right:10px}
"""

_JS = """
(function(){
function flash(el){el.classList.remove('flash');void el.offsetWidth;el.classList.add('flash');}
function reveal(el){for(var d=el.parentElement;d;d=d.parentElement){if(d.tagName==='DETAILS'){d.open=true;}}}
function go(id){
 var t=document.getElementById(id);if(!t){return;}
 reveal(t);t.scrollIntoView({block:'center'});
 var ms=document.querySelectorAll('mark[data-ev~="'+id+'"]');
 for(var i=0;i<ms.length;i++){flash(ms[i]);}
}
document.addEventListener('click',function(e){
 var a=e.target.closest?e.target.closest('a.evlink'):null;
 if(a){var id=a.getAttribute('href').slice(1);e.preventDefault();
  if(history.replaceState){history.replaceState(null,'','#'+id);}go(id);return;}
 var m=e.target.closest?e.target.closest('mark[data-ev]'):null;
 if(m){var tok=m.getAttribute('data-ev').split(' ')[0];
  var l=document.querySelector('a.evlink[href="#'+tok+'"]');
  if(l){var tr=l.closest('tr');reveal(tr);tr.scrollIntoView({block:'center'});flash(tr);}}
});
if(location.hash.indexOf('#ev-')===0){go(location.hash.slice(1));}
})();
"""


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(_JS.encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )


# ---------------------------------------------------------------- layers
def _layer_regions(doc: Document) -> list[tuple[int, int, Layer]]:
    """Disjoint, sorted ``(start, end, layer)`` regions whose innermost node is not in the body layer."""
    changes = [
        n
        for n in doc.nodes
        if not n.span.empty
        and n.layer is not (doc.nodes[n.parent].layer if n.parent is not None else Layer.BODY)
    ]
    if not changes:
        return []
    changes.sort(key=lambda n: (n.span.start, -n.span.end, n.id))
    bounds = sorted({p for n in changes for p in (n.span.start, n.span.end)})
    out: list[tuple[int, int, Layer]] = []
    stack: list[Any] = []
    j = 0
    for a, b in itertools.pairwise(bounds):
        stack = [n for n in stack if n.span.end > a]
        while j < len(changes) and changes[j].span.start <= a:
            if changes[j].span.end > a:
                stack.append(changes[j])
            j += 1
        layer = stack[-1].layer if stack else Layer.BODY
        if layer is Layer.BODY:
            continue
        if out and out[-1][1] == a and out[-1][2] is layer:
            out[-1] = (out[-1][0], b, layer)
        else:
            out.append((a, b, layer))
    return out


# ---------------------------------------------------------------- text with highlights
def _render_text(doc: Document, spans: list[tuple[str, Span, str]], fh: IO[str]) -> None:
    """Write ``doc.text`` with ``spans`` (``(id, span, title)``) highlighted, one segment at a time."""
    text = doc.text
    regions = _layer_regions(doc)
    starts: dict[int, list[int]] = {}
    ends: dict[int, list[int]] = {}
    for i, (_, s, _) in enumerate(spans):
        starts.setdefault(s.start, []).append(i)
        ends.setdefault(s.end, []).append(i)
    bounds = {0, len(text), *starts, *ends}
    for r0, r1, _ in regions:
        bounds.update((r0, r1))
    points = sorted(bounds)
    active: dict[int, None] = {}
    r = 0
    buf: list[str] = []
    nexts: list[int | None] = [*points[1:], None]
    for a, b in zip(points, nexts, strict=True):
        for i in ends.get(a, ()):
            active.pop(i, None)
        opening = starts.get(a, [])
        first: str | None = None
        for i in opening:
            sid, s, _ = spans[i]
            if s.empty or first is not None or b is None:
                buf.append(f'<span class="ev-anchor" id="{sid}"></span>')
            else:
                first = sid
            if not s.empty and b is not None:
                active[i] = None
        if b is None:
            break
        while r < len(regions) and regions[r][1] <= a:
            r += 1
        layer = regions[r][2] if r < len(regions) and regions[r][0] <= a else None
        seg = _esc(text[a:b])
        if active:
            ids = " ".join(spans[i][0] for i in active)
            id_attr = f' id="{first}"' if first is not None else ""
            cls = ' class="multi"' if len(active) > 1 else ""
            titles = html.escape(", ".join(dict.fromkeys(spans[i][2] for i in active)), quote=True)
            seg = f'<mark{id_attr}{cls} data-ev="{ids}" title="{titles}">{seg}</mark>'
        if layer is not None:
            seg = f'<span class="l-{layer.value}" title="{layer.value} text">{seg}</span>'
        buf.append(seg)
        if len(buf) > 512:
            fh.write("".join(buf))
            buf.clear()
    fh.write("".join(buf))


# ---------------------------------------------------------------- one document
_REVIEW = ' <span class="badge review" title="confidence under the review threshold: check it">review</span>'


def _badge(g: Grounding) -> str:
    return f'<span class="badge g-{g.value}">{g.value}</span>'


def _preview(s: str) -> str:
    if len(s) <= _EVIDENCE_PREVIEW:
        return _esc(s)
    return f"{_esc(s[:_EVIDENCE_PREVIEW])}<em> … (+{len(s) - _EVIDENCE_PREVIEW:,} chars, see text)</em>"


def _fields_table(k: int, doc: Document | None, result: Result, spans: list[tuple[str, Span, str]], fh: IO[str]) -> None:
    if not result.extractions:
        fh.write('<p class="meta">No fields extracted.</p>')
        return
    fh.write(
        '<table class="fields"><thead><tr><th>Field</th><th>Value</th><th>Grounding</th>'
        "<th>Confidence</th><th>Evidence</th><th>Page</th></tr></thead><tbody>"
    )
    loc = Locator(doc)
    for e in result.extractions:
        ids: list[str] = []
        quoted: list[str] = []
        pg: set[int] = set()
        bad = 0
        for s in e.evidence:
            if not loc.valid(s):
                bad += 1
                continue
            eid = f"ev-{k}-{len(spans)}"
            spans.append((eid, s, e.path))
            ids.append(eid)
            quoted.append(loc.quote(s) or "")
            pg.update(loc.pages(s))
        path = _esc(e.path)
        field = f'<a class="evlink" href="#{ids[0]}">{path}</a>' if ids else f"<span>{path}</span>"
        more = "".join(f'<a class="evlink more" href="#{i}">[{j + 2}]</a>' for j, i in enumerate(ids[1:]))
        ev = " <b>|</b> ".join(_preview(q) for q in quoted)
        if bad:
            ev += f' <em class="warn">({bad} span(s) outside the document text)</em>'
        row_cls = ' class="ungrounded"' if e.grounding is Grounding.UNGROUNDED else (' class="review"' if e.review else "")
        notes = f'<div class="meta">{_esc("; ".join(e.notes))}</div>' if e.notes else ""
        raw = f'<div class="meta">raw: {_esc(e.raw)}</div>' if e.raw and e.raw != display_value(e.value) else ""
        fh.write(
            f"<tr{row_cls}><td>{field}{more}</td><td class=\"val\">{_esc(display_value(e.value))}{raw}{notes}</td>"
            f"<td>{_badge(e.grounding)}</td><td>{e.confidence:.2f}{_REVIEW if e.review else ''}</td><td class=\"ev\">{ev}</td>"
            f"<td>{','.join(map(str, sorted(pg)))}</td></tr>"
        )
    fh.write("</tbody></table>")


def _document(k: int, doc: Document | None, result: Result, fh: IO[str]) -> None:
    err = error_info(result)
    name = doc.source.name if doc is not None else result.source
    fh.write(f'<section class="doc{" failed" if err else ""}" id="doc-{k}"><h2>{_esc(name)}</h2>')
    meta = [f"id {_esc(result.doc_id)}"]
    if doc is not None:
        meta += [_esc(doc.source.media_type), f"{len(doc.text):,} chars"]
        if doc.pages:
            meta.append(f"{len(doc.pages)} page(s)")
    u = result.usage
    if u.calls:
        meta.append(f"{u.calls} call(s), {u.tokens_in:,} → {u.tokens_out:,} tokens, {u.seconds:.2f} s")
    c = result.coverage
    if c.chars_total:
        meta.append(f"read {c.chars_read:,}/{c.chars_total:,} chars")
    if c.truncated_fields:
        meta.append(f"truncated: {_esc(', '.join(c.truncated_fields))}")
    fh.write(f'<div class="meta">{" · ".join(meta)}</div>')
    if err:
        code, reason = _esc(str(err.get("code", "?"))), _esc(str(err.get("reason", "")))
        hint = f"<div>{_esc(str(err['hint']))}</div>" if err.get("hint") else ""
        fh.write(
            f'<div class="error"><code class="code">{code}</code> {reason}: '
            f'<span class="message">{_esc(str(err.get("message", "")))}</span>{hint}</div>'
        )
    if doc is not None and doc.warnings:
        fh.write("".join(f'<div class="warn">⚠ {_esc(w)}</div>' for w in doc.warnings))
    spans: list[tuple[str, Span, str]] = []
    _fields_table(k, doc, result, spans, fh)
    if result.labels:
        chips = "".join(f"<span>{_esc(lb.name)}: <b>{_esc(lb.value)}</b></span>" for lb in result.labels)
        fh.write(f'<div class="chips">Labels: {chips}</div>')
    if result.entities:
        chips = "".join(f"<span>{_esc(en.type)}: {_esc(en.text)}</span>" for en in result.entities[:500])
        extra = f" … +{len(result.entities) - 500}" if len(result.entities) > 500 else ""
        fh.write(f'<div class="chips">Entities: {chips}{extra}</div>')
    if doc is not None:
        fh.write(f'<details class="text" open><summary>Document text ({len(doc.text):,} chars)</summary><div class="doctext">')
        _render_text(doc, spans, fh)
        fh.write("</div></details>")
    fh.write("</section>\n")


# ---------------------------------------------------------------- the report
def write_html_report(records: Iterable[Record], path: str | os.PathLike[str], *, title: str = "evidex report") -> int:
    """Write the report for ``records`` to ``path`` (streaming, one document at a time); return the count."""
    toc: list[str] = []
    counts: dict[str, int] = {g.value: 0 for g in Grounding}
    n_docs = n_failed = 0
    with open(path, "w", encoding="utf-8", errors="replace", newline="\n") as fh:
        fh.write(
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{_csp()}">'
            '<meta name="referrer" content="no-referrer">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body><main>\n"
        )
        for k, (doc, result) in enumerate(records):
            _document(k, doc, result, fh)
            n_docs += 1
            err = error_info(result)
            name = _esc(doc.source.name if doc is not None else result.source)
            if err:
                n_failed += 1
                toc.append(f'<li class="failed"><a href="#doc-{k}">{name}</a> — <code>{_esc(str(err.get("code", "?")))}</code></li>')
            else:
                toc.append(f'<li><a href="#doc-{k}">{name}</a> — {len(result.extractions)} field(s)</li>')
            for e in result.extractions:
                counts[e.grounding.value] += 1
        summary = " · ".join(f"{_badge(Grounding(g))} {n}" for g, n in counts.items())
        fh.write(
            f'</main>\n<header class="top"><h1>{_esc(title)}</h1>'
            f'<div>{n_docs} document(s), {n_failed} failed · {summary}</div>'
            '<div class="legend meta"><span class="l-furniture">furniture text</span>'
            '<span class="l-hidden">hidden text</span><span class="l-metadata">metadata (not printed)</span>'
            '<mark>evidence</mark> '
            "click a field to jump to its evidence</div></header>"
            f'<nav class="toc"><ol>{"".join(toc)}</ol></nav>'
            f"<script>{_JS}</script></body></html>\n"
        )
    return n_docs

