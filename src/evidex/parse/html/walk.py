"""The iterative DOM walk: elements → headings/sections, paragraphs, lists, tables, key–values, layers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evidex.model import Layer, NodeKind, Prov
from evidex.parse.html.css import (
    BLACK,
    WHITE,
    Color,
    Styles,
    attr_color,
    background_of,
    collect,
    external_hints,
    hidden_by,
    parse_color,
    same_color,
    zero_font,
)
from evidex.parse.html.layers import (
    LAYER_RANK,
    ZERO_FONT_REASON,
    furniture_kind,
    hidden_reason,
    overridden_below,
    sets_font_size,
)
from evidex.parse.html.segments import BR, PRETEXT, SPACE, TEXT, Emitter, Run, collapse, common_path
from evidex.parse.html.tables import cell_is_inline, is_kv_table, is_layout_table
from evidex.parse.html.tree import (
    BLOCK,
    DROP,
    HEADINGS,
    LISTS,
    PARA,
    PRE,
    SECTIONING,
    VOID_BLOCK,
    is_comment,
    local_name,
)
from evidex.structure.builder import DocumentBuilder
from evidex.structure.kv import match_kv

CAMO_REASON = "text colour equals its background"
_BLOCK_DISPLAY = frozenset({"block", "flex", "grid", "list-item", "table", "flow-root"})
_INLINE_DISPLAY = frozenset({"inline", "inline-block", "inline-flex", "contents"})
_SAFE = frozenset({NodeKind.DOCUMENT, NodeKind.SECTION, NodeKind.QUOTE, NodeKind.PAGE_HEADER, NodeKind.PAGE_FOOTER})


@dataclass(slots=True)
class Ctx:
    """Per-element walk state (inherited by descendants)."""

    layer: Layer
    path: str
    depth: int
    flatten: bool = False  # inside a leaf block (p, h1, td …): nested blocks become spaces
    pre: bool = False
    in_cell: bool = False
    sectioning: bool = False  # inside article/section/main/aside/nav
    lists: int = 0  # enclosing lists
    in_table: bool = False
    dl: _Dl | None = None
    zero_font: bool = False  # inside font-size:0 with overriding descendants: own text is hidden, runs only
    layout: bool = False  # inside a layout table (see tables.py): rows and cells are blocks or lines
    kv_table: bool = False  # inside a th/td key–value table (see tables.py): read like a <dl>
    color: Color | None = None  # the inherited text colour (None: unknown)
    bg: Color | str | None = None  # the background painted under the element ("image": unknown pixels)
    camo: bool = False  # the text colour is transparent or equals the background: own text is hidden


@dataclass(slots=True)
class _Dl:
    groups: list[tuple[list[Run] | None, list[list[Run]]]] = field(default_factory=list)
    layer: Layer = Layer.BODY


@dataclass(slots=True)
class _Exit:
    el: Any
    ctx: Ctx
    finalize: str | None = None  # heading/para/caption/code/cell/dt/dd/dl/block
    nid: int | None = None  # container node opened for this element
    first: int = 0  # first node id that may be opened inside this element
    level: int = 0


@dataclass(slots=True)
class _Tail:
    text: str
    ctx: Ctx


def _span_int(v: str | None) -> int:
    try:
        n = int((v or "1").strip())
    except ValueError:
        return 1
    return min(max(n, 1), 1000)


def _key_like(segs: list[tuple[str, str | None]]) -> bool:
    """A ``<dt>``'s text can be a key: one line, at most 120 characters."""
    return all(p is not None for _, p in segs) and sum(len(t) for t, _ in segs) <= 120


# ---------------------------------------------------------------------------- the walker
class Walker:
    def __init__(self, b: DocumentBuilder, max_depth: int) -> None:
        self.b = b
        self.max_depth = max_depth
        self.buf: list[Run] = []
        self.deferred: list[Run] = []
        self.layers: dict[int, Layer] = {0: Layer.BODY}
        self.kinds: dict[int, NodeKind] = {0: NodeKind.DOCUMENT}
        self.starts: dict[int, int] = {0: 0}
        self.parents: dict[int, int] = {}
        self.hsec: dict[int, int] = {}  # heading-section node id → level
        self.counts: dict[int, int] = {}  # TABLE → rows
        self.grid: dict[int, list[tuple[int, int, int]]] = {}  # TABLE → (col0, col1, rows left)
        self.row_index: dict[int, int] = {}
        self.col_pos: dict[int, int] = {}
        self.hidden_reasons: set[str] = set()
        self.deep = False
        self.last_nid = 0
        self.skip: Any = None  # the <title> already used
        self.styles = Styles()  # the page's own CSS (collected at the start of walk)

    # -- builder helpers
    def open(self, kind: NodeKind, layer: Layer, path: str, level: int | None = None, **attrs: Any) -> int:
        parent = self.b.current
        nid = self.b.open(kind, level=level, layer=layer, prov=Prov(dom_path=path), attrs=attrs or None)
        self.layers[nid], self.kinds[nid], self.starts[nid], self.parents[nid] = layer, kind, self.b.pos, parent
        self.last_nid = nid
        return nid

    def close_to(self, nid: int) -> None:
        while self.b.current != nid:
            self.b.close()
        self.b.close(nid)

    def cur_kind(self) -> NodeKind:
        return self.kinds.get(self.b.current, NodeKind.TEXT)

    def brk(self, ctx: Ctx) -> None:
        self.b.ensure_break(1 if ctx.lists or ctx.in_table or ctx.dl is not None else 2)

    # -- runs
    def add(self, kind: int, text: str, ctx: Ctx, path: str | None = None) -> None:
        layer = ctx.layer
        if ctx.zero_font and kind in (TEXT, PRETEXT) and layer is not Layer.HIDDEN:
            if not text.strip():  # the whitespace the font-size:0 trick removes: still a word break
                kind, text = SPACE, " "
            else:
                layer = Layer.HIDDEN
                self.hidden_reasons.add(ZERO_FONT_REASON)
        elif ctx.camo and kind in (TEXT, PRETEXT) and layer is not Layer.HIDDEN and text.strip():
            layer = Layer.HIDDEN
            self.hidden_reasons.add(CAMO_REASON)
        self.buf.append(Run(kind, text, path if path is not None else ctx.path, layer))

    def take(self, layer: Layer) -> list[Run]:
        """Take the buffer: runs of ``layer`` are returned, more hidden ones are deferred."""
        runs, self.buf = self.buf, []
        keep: list[Run] = []
        gap = True
        for r in runs:
            if LAYER_RANK[r.layer] > LAYER_RANK[layer]:
                if gap and self.deferred and self.deferred[-1].kind != SPACE:
                    self.deferred.append(Run(SPACE, " ", None, r.layer))
                self.deferred.append(r)
                gap = False
            else:
                keep.append(r)
                gap = True
        if self.deferred and self.deferred[-1].kind != SPACE:
            self.deferred.append(Run(SPACE, " ", None, Layer.HIDDEN))
        return keep

    def flush(self, ctx: Ctx, own: bool = False) -> None:
        """Emit the pending inline text as a block; ``own``: it is ``ctx``'s element's own text (a ``<p>``)."""
        if not self.buf:
            return
        layer = self.layers[self.b.current]
        runs = self.take(layer)
        path = ctx.path if own else common_path([r.path for r in runs if r.path and r.kind == TEXT], ctx.path)
        segs = collapse(runs)
        if segs:
            kind = self.cur_kind()
            direct = kind in (NodeKind.LIST_ITEM, NodeKind.CELL)
            if direct and self.b.pos > self.starts[self.b.current]:
                self.b.ensure_break(1)
            elif not direct:
                self.brk(ctx)
            if kind in (NodeKind.LIST, NodeKind.TABLE, NodeKind.ROW):
                nid = self.open(NodeKind.TEXT, layer, path)
                self.kv_lines(Emitter(self.b, segs), layer, path)
                self.b.close(nid)
            else:
                self.kv_block(segs, layer, path, direct)
        self.emit_deferred()

    def kv_block(self, segs: list[tuple[str, str | None]], layer: Layer, path: str, direct: bool) -> None:
        em = Emitter(self.b, segs)
        lines = em.lines()
        kvs = [match_kv(em.text[s:e]) for s, e in lines]
        if direct or all(kv is not None for kv in kvs):
            self.kv_lines(em, layer, path, lines, kvs)
        else:
            nid = self.open(NodeKind.PARAGRAPH, layer, path)
            self.kv_lines(em, layer, path, lines, kvs)
            self.b.close(nid)

    def kv_lines(
        self,
        em: Emitter,
        layer: Layer,
        path: str,
        lines: list[tuple[int, int]] | None = None,
        kvs: list[Any] | None = None,
    ) -> None:
        lines = lines if lines is not None else em.lines()
        kvs = kvs if kvs is not None else [match_kv(em.text[s:e]) for s, e in lines]
        prev = 0
        for (s, e), kv in zip(lines, kvs, strict=True):
            em.emit(prev, s)  # the newline(s) between lines
            if kv is None:
                em.emit(s, e)
            else:
                nid = self.open(NodeKind.KEY_VALUE, layer, path)
                key_id = self.open(NodeKind.KEY, layer, path)
                em.emit(s + kv.key_start, s + kv.key_end)
                self.b.close(key_id)
                em.emit(s + kv.key_end, s + kv.value_start)
                vid = self.open(NodeKind.VALUE, layer, path)
                em.emit(s + kv.value_start, s + kv.value_end)
                self.b.close(vid)
                em.emit(s + kv.value_end, e)
                self.b.close(nid)
            prev = e

    def emit_deferred(self) -> None:
        if not self.deferred or self.cur_kind() not in _SAFE:
            return
        runs, self.deferred = self.deferred, []
        cur_layer = self.layers[self.b.current]
        i = 0
        while i < len(runs):
            layer = runs[i].layer
            j = i
            while j < len(runs) and (runs[j].layer is layer or runs[j].kind == SPACE):
                j += 1
            if LAYER_RANK[layer] < LAYER_RANK[cur_layer]:
                layer = cur_layer
            segs = collapse(runs[i:j])
            if segs:
                self.b.ensure_break(2)
                nid = self.open(NodeKind.TEXT, layer, next((p for _, p in segs if p), "/html"))
                Emitter(self.b, segs).all()
                self.b.close(nid)
            i = j

    def leaf_block(self, kind: NodeKind, runs: list[Run], ctx: Ctx, level: int | None = None) -> None:
        segs = collapse(runs)
        if not segs:
            return
        layer = self.layers[self.b.current]
        if kind is NodeKind.HEADING and level is not None and self.cur_kind() in _SAFE:
            while self.b.current in self.hsec and self.hsec[self.b.current] >= level:
                self.b.close()
            self.brk(ctx)
            sid = self.open(NodeKind.SECTION, layer, ctx.path, level)
            self.hsec[sid] = level
        else:
            self.brk(ctx)
        nid = self.open(kind, layer, ctx.path, level)
        Emitter(self.b, segs).all()
        self.b.close(nid)

    # -- the walk
    def walk(self, root: Any) -> None:
        self.styles = collect(root)
        for msg in self.styles.warnings:
            self.b.warn(msg)
        # a browser paints black on a white canvas; with unfetched external stylesheets both are unknown
        ctx0 = Ctx(Layer.BODY, "", 0)
        if not self.styles.external:
            ctx0.color, ctx0.bg = BLACK, WHITE
        stack: list[Any] = [(root, ctx0, "/" + local_name(root.tag) if isinstance(root.tag, str) else "/html")]
        while stack:
            item = stack.pop()
            if isinstance(item, _Exit):
                self.exit(item)
            elif isinstance(item, _Tail):
                self.add(PRETEXT if item.ctx.pre else TEXT, item.text, item.ctx)
            else:
                el, pctx, path = item
                ex = self.enter(el, pctx, path)
                if ex is None:
                    continue
                stack.append(ex)
                kids = list(el)
                counts: dict[str, int] = {}
                paths: list[str] = []
                for k in kids:
                    if is_comment(k):
                        t = "comment()"
                    elif isinstance(k.tag, str):
                        t = local_name(k.tag)
                    else:
                        t = ""
                    counts[t] = counts.get(t, 0) + 1
                    if ex.ctx.depth >= self.max_depth:
                        paths.append(ex.ctx.path)
                    elif t in ("html", "head", "body"):
                        paths.append(f"{ex.ctx.path}/{t}")
                    else:
                        paths.append(f"{ex.ctx.path}/{t}[{counts[t]}]")
                for k, p in zip(reversed(kids), reversed(paths), strict=True):
                    if k.tail:
                        stack.append(_Tail(k.tail, ex.ctx))
                    stack.append((k, ex.ctx, p))
                if el.text and not is_comment(el):
                    self.add(PRETEXT if ex.ctx.pre else TEXT, el.text, ex.ctx)

    def enter(self, el: Any, pctx: Ctx, path: str) -> _Exit | None:
        if is_comment(el):
            text = (el.text or "").strip()
            if text:
                self.hidden_reasons.add("HTML comment")
                self.buf.append(Run(SPACE, " ", path, Layer.HIDDEN))
                self.buf.append(Run(TEXT, text, path, Layer.HIDDEN))
                self.buf.append(Run(SPACE, " ", path, Layer.HIDDEN))
            return None
        if not isinstance(el.tag, str):
            return None
        tag = local_name(el.tag)
        if tag in DROP or el is self.skip:
            return None
        depth = pctx.depth + 1
        if depth > self.max_depth:
            self.deep = True
        ctx = Ctx(
            pctx.layer, path, depth, pctx.flatten, pctx.pre, pctx.in_cell,
            pctx.sectioning or tag in SECTIONING, pctx.lists, pctx.in_table, pctx.dl,
            pctx.zero_font and not sets_font_size(el), pctx.layout, pctx.kv_table, pctx.color, pctx.bg,
        )  # fmt: skip
        own_layer = False
        reason = hidden_reason(el, tag)
        decl = self.styles.declared(el)
        display = ""
        if decl:
            reason = reason or hidden_by(decl)
            display = decl.get("display", "").split(" ")[0]
            zf = zero_font(decl)
            if zf is not None and reason is None:
                ctx.zero_font = zf  # text-level: a descendant with its own size shows again
        if decl or tag in ("font", "body") or el.get("bgcolor") is not None:
            self.paint(el, tag, decl, ctx)
        elif pctx.camo:
            ctx.camo = True
        hint = external_hints(el, self.styles) if reason is None and self.styles.external else None
        if hint is not None and hint[0] == "hidden":
            reason = hint[1]
        if reason == ZERO_FONT_REASON and pctx.layer is not Layer.HIDDEN and (pctx.zero_font or overridden_below(el)):
            reason, ctx.zero_font = None, True  # only the text no descendant resizes is hidden (see add)
        furn = furniture_kind(el, tag, pctx.sectioning) if reason is None and pctx.layer is Layer.BODY else None
        if furn is None and hint is not None and reason is None and pctx.layer is Layer.BODY:
            furn = (NodeKind.SECTION, hint[1])
        if reason is not None and pctx.layer is not Layer.HIDDEN:
            ctx.layer, own_layer = Layer.HIDDEN, True
            self.hidden_reasons.add(reason)
        elif furn is not None and pctx.layer is Layer.BODY:
            ctx.layer, own_layer = Layer.FURNITURE, True
        ex = _Exit(el, ctx, first=self.last_nid + 1)
        structured = not pctx.flatten and depth <= self.max_depth
        if tag == "br":
            self.add(BR if not ctx.pre else PRETEXT, "\n", ctx)
            return None
        if not structured:
            if tag in VOID_BLOCK or tag in BLOCK or tag in PARA or tag in HEADINGS or tag in LISTS or tag in (
                "li", "tr", "td", "th", "table", "dl", "dt", "dd", "blockquote", "pre"
            ) or display in _BLOCK_DISPLAY:  # fmt: skip
                # a block in a <dt>/<dd>, or one the page's CSS makes a block: a new line
                if (ctx.dl is not None or display in _BLOCK_DISPLAY) and not ctx.in_cell and not ctx.pre:
                    self.add(BR, "\n", ctx)
                    ex.finalize = "br"
                else:
                    self.add(SPACE, " ", ctx)
                    ex.finalize = "space"
            if tag in PRE and not ctx.in_cell:
                ctx.pre = True
            return ex
        kind = self.cur_kind()
        if tag in VOID_BLOCK:
            self.flush(ctx)
            return None
        if tag in HEADINGS or tag in PARA or tag in PRE or (tag in ("dt", "dd") and ctx.dl is not None):
            self.flush(ctx)
            ctx.flatten = True
            ctx.pre = tag in PRE
            ex.finalize, ex.level = tag, HEADINGS.get(tag, 0)
            return ex
        if tag in ("th", "td") and ctx.kv_table and ctx.dl is not None:
            self.flush(ctx)
            ctx.flatten = ctx.in_cell = True
            ex.finalize = "dt" if tag == "th" else "dd"
            return ex
        if tag in ("td", "th") and kind is NodeKind.ROW:
            self.flush(ctx)
            row = self.b.current
            if self.b.pos > self.starts[row]:
                self.b.sep(" | ")
            table = self.parents[row]
            r, c = self.row_index[row], self.col_pos[row]
            spans = self.grid[table]
            moved = True
            while moved:
                moved = False
                for c0, c1, left in spans:
                    if left > 0 and c0 <= c < c1:
                        c, moved = c1, True
            rs, cs = _span_int(el.get("rowspan")), _span_int(el.get("colspan"))
            self.col_pos[row] = c + cs
            if rs > 1:
                spans.append((c, c + cs, rs))
            ex.nid = self.open(
                NodeKind.CELL, ctx.layer, path, row=r, col=c, header=tag == "th", rowspan=rs, colspan=cs
            )
            ctx.flatten = ctx.in_cell = True
            ex.finalize = "cell"
            return ex
        if tag == "tr" and kind is NodeKind.TABLE:
            self.flush(ctx)
            table = self.b.current
            n = self.counts.get(table, 0)
            if n:  # every row counts down the rowspans above it, rows without text too
                self.grid[table] = [(c0, c1, left - 1) for c0, c1, left in self.grid[table] if left > 1]
            if self.b.pos > self.starts[table]:
                self.b.ensure_break(1)
            self.counts[table] = n + 1
            ex.nid = self.open(NodeKind.ROW, ctx.layer, path, row=n)
            self.row_index[ex.nid], self.col_pos[ex.nid] = n, 0
            return ex
        if tag == "table":
            self.flush(ctx)
            self.brk(ctx)
            if is_layout_table(el):
                ctx.layout, ctx.kv_table, ex.finalize = True, False, "block"
                return ex
            if is_kv_table(el):  # <th>key</th><td>value</td> rows: key–values, as in a <dl>
                ctx.dl, ctx.kv_table, ctx.layout = _Dl(layer=self.layers[self.b.current]), True, False
                ex.finalize = "dl"
                return ex
            ex.nid = self.open(NodeKind.TABLE, ctx.layer, path)
            self.grid[ex.nid] = []
            ctx.in_table, ctx.layout, ctx.kv_table = True, False, False
            return ex
        if tag in LISTS:
            self.flush(ctx)
            self.brk(ctx)
            ctx.lists += 1
            ex.nid = self.open(NodeKind.LIST, ctx.layer, path, ctx.lists, ordered=tag == "ol")
            return ex
        if tag == "li" and kind is NodeKind.LIST:
            self.flush(ctx)
            if self.b.pos > self.starts[self.b.current]:
                self.b.ensure_break(1)
            ex.nid = self.open(NodeKind.LIST_ITEM, ctx.layer, path, ctx.lists)
            return ex
        if tag == "dl":
            self.flush(ctx)
            self.brk(ctx)
            ctx.dl = _Dl(layer=self.layers[self.b.current])
            ex.finalize = "dl"
            return ex
        if tag == "blockquote":
            self.flush(ctx)
            self.brk(ctx)
            ex.nid = self.open(NodeKind.QUOTE, ctx.layer, path)
            return ex
        if own_layer and (tag in BLOCK or tag in ("li", "dt", "dd", "tr", "td", "th")):
            self.flush(ctx)
            self.brk(ctx)
            if ctx.layer is Layer.HIDDEN:
                ex.nid = self.open(NodeKind.SECTION, ctx.layer, path, tag=tag, hidden=reason)
            else:
                fk, role = furn or (NodeKind.SECTION, tag)
                ex.nid = self.open(fk, ctx.layer, path, tag=tag, role=role)
            return ex
        if ctx.layout and tag in ("td", "th") and cell_is_inline(el):
            self.add(SPACE, " ", ctx)  # side by side with the row's other inline cells
            ex.finalize = "space"
            return ex
        if display in _INLINE_DISPLAY and tag in BLOCK:
            return ex  # the page's CSS lays this block out inline
        if tag in BLOCK or tag in ("li", "dt", "dd", "tr", "td", "th") or display in _BLOCK_DISPLAY:
            self.flush(ctx)
            ex.finalize = "block"
        return ex

    def paint(self, el: Any, tag: str, decl: dict[str, str], ctx: Ctx) -> None:
        """Text colour and background after ``el``'s own declarations; hide text painted in its background."""
        value = decl.get("color") or (el.get("color") if tag == "font" else el.get("text") if tag == "body" else None)
        if value:
            c = parse_color(value) if decl.get("color") else attr_color(value)
            if c is not None:
                ctx.color = c
        bg = background_of(decl, el)
        if bg is not None:
            ctx.bg = bg
        color = ctx.color
        ctx.camo = color is not None and (
            color[3] <= 0.01 or (isinstance(ctx.bg, tuple) and same_color(color, ctx.bg))
        )

    def exit(self, ex: _Exit) -> None:
        ctx, fin = ex.ctx, ex.finalize
        if ex.nid is None and fin == "block" and local_name(ex.el.tag) in SECTIONING | {"body", "html"}:
            self.flush(ctx)  # headings inside <main>/<article>… do not open sections beyond it
            while self.b.current in self.hsec and self.b.current >= ex.first:
                self.b.close()
        if fin == "space":
            self.add(SPACE, " ", ctx)
        elif fin == "br":
            self.add(BR, "\n", ctx)
        elif fin == "block":
            self.flush(ctx)
        elif fin == "cell":
            layer = self.layers[self.b.current]
            runs = self.take(layer)
            segs = collapse(runs, cell=True)
            if segs:
                self.kv_lines(Emitter(self.b, segs), layer, ctx.path)
        elif fin == "dl" and ctx.dl is not None:
            self.flush(ctx)
            self.emit_dl(ctx.dl, ctx)
        elif fin in ("dt", "dd") and ctx.dl is not None:
            runs = self.take(ctx.dl.layer)
            if fin == "dt":
                ctx.dl.groups.append((runs, []))
            elif ctx.dl.groups:
                ctx.dl.groups[-1][1].append(runs)
            else:
                ctx.dl.groups.append((None, [runs]))
        elif fin is not None:
            layer = self.layers[self.b.current]
            runs = self.take(layer)
            if fin in HEADINGS:
                self.leaf_block(NodeKind.HEADING, runs, ctx, ex.level)
            elif fin in PRE:
                self.leaf_block(NodeKind.CODE, runs, ctx)
            elif fin in ("caption", "figcaption"):
                self.leaf_block(NodeKind.CAPTION, runs, ctx)
            else:
                self.buf = runs
                self.flush(ctx, own=True)
        if ex.nid is not None:
            if fin != "cell":
                self.flush(ctx)
            self.close_to(ex.nid)
            if self.kinds[ex.nid] not in (NodeKind.CELL, NodeKind.ROW, NodeKind.LIST_ITEM):
                self.emit_deferred()
        elif fin is not None:
            self.emit_deferred()

    def emit_dl(self, dl: _Dl, ctx: Ctx) -> None:
        path = ctx.path
        for key, values in dl.groups:
            ksegs = collapse(key) if key else []
            vsegs = [s for s in (collapse(v) for v in values) if s]
            if not ksegs and not vsegs:
                continue
            if ksegs and not _key_like(ksegs):  # a <dt> holding a whole product card is no key: read its lines
                for segs in (ksegs, *vsegs):
                    self.b.ensure_break(1)
                    self.kv_block(segs, dl.layer, path, False)
                continue
            self.b.ensure_break(1)
            nid = self.open(NodeKind.KEY_VALUE, dl.layer, path)
            if ksegs:
                kid = self.open(NodeKind.KEY, dl.layer, path)
                Emitter(self.b, ksegs).all()
                self.b.close(kid)
                if vsegs:
                    self.b.sep(": ")
            for i, vs in enumerate(vsegs):
                if i:
                    self.b.sep("; ")
                vid = self.open(NodeKind.VALUE, dl.layer, path)
                Emitter(self.b, vs).all()
                self.b.close(vid)
            self.b.close(nid)

