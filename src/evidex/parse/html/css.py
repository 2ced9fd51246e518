"""The document's own CSS, applied the way a browser decides what it paints (for hiding only).

Only the properties that can make text invisible are read: ``display``, ``visibility``, ``opacity``,
``content-visibility``, ``font-size``, ``color``, ``background``/``background-color``, ``position``,
``left``/``top``/``right``, ``text-indent``, ``clip``, ``clip-path``, ``overflow``, ``width``, ``height``.
Rules come from ``<style>`` elements (tinycss2), selectors are matched with cssselect → XPath over the lxml
tree, and the cascade follows CSS: ``!important`` first, then inline ``style`` over stylesheets, then
specificity, then source order. ``@media`` blocks apply when they would on a 1280 px wide colour screen in
light mode (``print``, ``speech``, ``prefers-color-scheme: dark`` and unknown features do not apply);
``@supports``/``@layer`` contents apply; other at-rules are ignored. External stylesheets
(``<link rel="stylesheet">``) are **not fetched** (parsing is offline) — see :func:`external_hints` for the
utility classes trusted in their place.

Bounded work: at most :data:`MAX_CSS_CHARS` of stylesheet text, :data:`MAX_RULES` rules with a relevant
declaration, :data:`MAX_SELECTORS` selectors evaluated, selector lists of at most :data:`MAX_PRELUDE_CHARS`
characters, selectors of at most :data:`MAX_COMPOUNDS` compound parts, and :data:`MATCH_BUDGET_S` seconds of matching; the rest
is ignored with a ``CSS:`` warning, so a hostile stylesheet costs a bounded parse time. A selector whose
rightmost part names a class, id or tag absent from the page is skipped without evaluation.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

import cssselect
import tinycss2  # type: ignore[import-untyped]
import tinycss2.color3  # type: ignore[import-untyped]
from lxml import etree

from evidex.parse.html.tree import is_comment, local_name

MAX_CSS_CHARS = 512 * 1024
MAX_RULES = 5_000
MAX_SELECTORS = 3_000
MAX_PRELUDE_CHARS = 4_000  # a rule's selector list
MAX_COMPOUNDS = 8
MATCH_BUDGET_S = 0.25
VIEWPORT_PX = 1280.0
OFFSCREEN_PX = -999.0  # left/top/right ≤ -1000px, text-indent ≤ -999px

RELEVANT = frozenset(
    {
        "display", "visibility", "opacity", "content-visibility", "font-size", "color", "background",
        "background-color", "background-image", "position", "left", "top", "right", "text-indent", "clip",
        "clip-path", "overflow", "overflow-x", "overflow-y", "width", "height", "max-width", "max-height",
    }
)  # fmt: skip
_RELEVANT_WORDS = re.compile(
    r"display|visib|opacity|font-size|color|background|position|left|top|right|indent|clip|overflow|width|height",
    re.I,
)
_HIDDEN_CLASSES = frozenset(
    {"hidden", "d-none", "hide", "is-hidden", "invisible", "sr-only", "visually-hidden", "screen-reader-text"}
)
_SHOWN_VARIANT = re.compile(
    r"^(?:[a-z0-9-]+:)+(?:block|flex|inline|inline-block|grid|table|contents|visible)$"
    r"|^d-[a-z]+-(?:block|flex|inline|inline-block|grid|table)$"
)
_OVERLAY_WORDS = frozenset({"popup", "modal", "dropdown", "tooltip", "popover", "offcanvas"})
_OVERLAY_ROLES = frozenset({"menu", "tooltip", "dialog", "alertdialog"})
_SPLIT = re.compile(r"[-_\s]+")

Prio = tuple[int, int, tuple[int, int, int], int]  # (important, inline, specificity, order)
Color = tuple[float, float, float, float]
WHITE: Color = (1.0, 1.0, 1.0, 1.0)
BLACK: Color = (0.0, 0.0, 0.0, 1.0)


@dataclass(slots=True)
class Styles:
    """Stylesheet declarations matched to elements (relevant properties only)."""

    matched: dict[Any, dict[str, tuple[str, Prio]]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    classes: set[str] = field(default_factory=set)  # class names some rule of the document's CSS names
    external: bool = False  # the page links stylesheets we do not fetch
    rules: int = 0

    def declared(self, el: Any) -> dict[str, str]:
        """The cascaded value of each relevant property set on ``el`` (stylesheets + inline ``style``)."""
        got = self.matched.get(el)
        style = el.get("style")
        if style and _RELEVANT_WORDS.search(style):
            merged = dict(got) if got else {}
            for name, value, important in _declarations(style):
                prio: Prio = (important, 1, (0, 0, 0), 0)
                old = merged.get(name)
                if old is None or prio >= old[1]:
                    merged[name] = (value, prio)
            got = merged
        return {k: v for k, (v, _) in got.items()} if got else {}


def _declarations(css: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    for d in tinycss2.parse_declaration_list(css, skip_comments=True, skip_whitespace=True):
        if d.type == "declaration" and d.lower_name in RELEVANT:
            out.append((d.lower_name, tinycss2.serialize(d.value).strip().lower(), int(d.important)))
    return out


# ---------------------------------------------------------------------------- @media
_FEATURE = re.compile(r"\(\s*([a-z-]+)\s*(?::\s*([^)]*))?\)")


def _length_px(v: str) -> float | None:
    m = re.fullmatch(r"\s*(-?(?:\d+\.?\d*|\.\d+))\s*(px|em|rem|pt|%|vw|vh)?\s*", v)
    if m is None:
        return None
    n = float(m.group(1))
    unit = m.group(2) or ("px" if n == 0 else "")
    scale = {"px": 1.0, "em": 16.0, "rem": 16.0, "pt": 4 / 3, "vw": VIEWPORT_PX / 100, "vh": 8.0}.get(unit)
    return None if scale is None else n * scale


def media_applies(query: str) -> bool:
    """A media query list applies on a 1280 px colour screen in light mode (unknown features do not)."""
    q = query.strip().lower()
    if not q:
        return True
    for part in q.split(","):
        words = _FEATURE.sub(" ", part).split()
        words = [w for w in words if w not in ("and", "only")]
        if any(w == "not" for w in words):
            continue  # "not print" and the like: rare, skipped
        if any(w not in ("all", "screen") for w in words):
            continue
        ok = True
        for name, value in _FEATURE.findall(part):
            v = value.strip()
            if name in ("min-width", "max-width"):
                px = _length_px(v)
                ok = px is not None and (px <= VIEWPORT_PX if name == "min-width" else px >= VIEWPORT_PX)
            elif name == "prefers-color-scheme":
                ok = v == "light"
            elif name in ("orientation",):
                ok = v == "landscape"
            elif name in ("hover", "pointer", "any-hover", "any-pointer"):
                ok = v in ("hover", "fine")
            elif name == "color":
                ok = True
            else:
                ok = False
            if not ok:
                break
        if ok:
            return True
    return False


# ---------------------------------------------------------------------------- stylesheets → matched elements
def _rightmost(tree: Any) -> tuple[set[str], set[str], set[str]]:
    """Classes, ids and tags the rightmost compound selector requires."""
    classes: set[str] = set()
    ids: set[str] = set()
    tags: set[str] = set()
    node = tree
    while node is not None:
        name = type(node).__name__
        if name == "CombinedSelector":
            node = node.subselector
        elif name == "Class":
            classes.add(node.class_name)
            node = node.selector
        elif name == "Hash":
            ids.add(node.id)
            node = node.selector
        elif name == "Element":
            if node.element:
                tags.add(node.element.lower())
            node = None
        elif hasattr(node, "selector"):
            node = node.selector
        else:
            node = None
    return classes, ids, tags


def _compounds(tree: Any) -> int:
    n = 1
    while type(tree).__name__ == "CombinedSelector":
        n += 1
        tree = tree.selector
    return n


class _Collector:
    def __init__(self, styles: Styles) -> None:
        self.styles = styles
        self.rules: list[tuple[str, list[tuple[str, str, int]], int]] = []  # (selector text, decls, order)
        self.dropped = 0

    def walk(self, nodes: list[Any], depth: int = 0) -> None:
        for node in nodes:
            if node.type == "qualified-rule":
                decls = _declarations_tokens(node.content)
                if not decls:
                    continue
                if len(self.rules) >= MAX_RULES:
                    self.dropped += 1
                    continue
                self.rules.append((tinycss2.serialize(node.prelude).strip(), decls, len(self.rules)))
            elif node.type == "at-rule" and node.content is not None and depth < 8:
                kw = node.lower_at_keyword
                if (kw == "media" and media_applies(tinycss2.serialize(node.prelude))) or kw in ("supports", "layer"):
                    inner = tinycss2.parse_rule_list(node.content, skip_comments=True, skip_whitespace=True)
                    self.walk(inner, depth + 1)


def _declarations_tokens(content: list[Any] | None) -> list[tuple[str, str, int]]:
    if not content:
        return []
    out: list[tuple[str, str, int]] = []
    for d in tinycss2.parse_declaration_list(content, skip_comments=True, skip_whitespace=True):
        if d.type == "declaration" and d.lower_name in RELEVANT:
            out.append((d.lower_name, tinycss2.serialize(d.value).strip().lower(), int(d.important)))
    return out


def collect(root: Any) -> Styles:
    """Match the page's ``<style>`` rules to its elements (bounded; see the module docstring)."""
    styles = Styles()
    css: list[str] = []
    size = 0
    truncated = False
    for el in root.iter("style", "link"):
        tag = local_name(el.tag) if isinstance(el.tag, str) else ""
        if tag == "link":
            if "stylesheet" in (el.get("rel") or "").lower() and media_applies(el.get("media") or ""):
                styles.external = True
            continue
        if not media_applies(el.get("media") or "") or (el.get("type") or "text/css").lower() != "text/css":
            continue
        text = el.text or ""
        if size + len(text) > MAX_CSS_CHARS:
            text = text[: MAX_CSS_CHARS - size]
            truncated = True
        size += len(text)
        css.append(text)
        if truncated:
            break
    if truncated:
        styles.warnings.append(f"CSS: stylesheets beyond {MAX_CSS_CHARS // 1024} KB ignored")
    if not css:
        return styles
    col = _Collector(styles)
    col.walk(tinycss2.parse_stylesheet("\n".join(css), skip_comments=True, skip_whitespace=True))
    if col.dropped:
        styles.warnings.append(
            f"CSS: {col.dropped:,} rules beyond the first {MAX_RULES:,} that can hide text ignored"
        )
    styles.rules = len(col.rules)
    if not col.rules:
        return styles
    _match(root, col.rules, styles)
    return styles


def _match(root: Any, rules: list[tuple[str, list[tuple[str, str, int]], int]], styles: Styles) -> None:
    classes: set[str] = set()
    ids: set[str] = set()
    tags: set[str] = set()
    for el in root.iter():
        if not isinstance(el.tag, str) or is_comment(el):
            continue
        tags.add(local_name(el.tag))
        c = el.get("class")
        if c:
            classes.update(c.split())
        i = el.get("id")
        if i:
            ids.add(i.strip())
    translator = cssselect.HTMLTranslator()
    evaluated = skipped = 0
    t0 = time.perf_counter()
    for text, decls, order in rules:
        if len(text) > MAX_PRELUDE_CHARS:
            skipped += 1
            continue
        try:
            selectors = cssselect.parse(text)
        except cssselect.SelectorError:
            continue
        for sel in selectors:
            if sel.pseudo_element is not None:
                continue
            rc, ri, rt = _rightmost(sel.parsed_tree)
            styles.classes.update(rc)
            if not rc <= classes or not ri <= ids or not rt <= tags or _compounds(sel.parsed_tree) > MAX_COMPOUNDS:
                continue
            if evaluated >= MAX_SELECTORS or time.perf_counter() - t0 > MATCH_BUDGET_S:
                skipped += 1
                continue
            try:
                xpath = etree.XPath(translator.selector_to_xpath(sel))
                found = xpath(root)
            except (cssselect.SelectorError, etree.XPathError, ValueError, TypeError):
                continue
            evaluated += 1
            spec = sel.specificity()
            if not isinstance(found, list):
                continue
            for el in found:
                mine = styles.matched.setdefault(el, {})
                for name, value, important in decls:
                    prio: Prio = (important, 0, spec, order)
                    old = mine.get(name)
                    if old is None or prio >= old[1]:
                        mine[name] = (value, prio)
    if skipped:
        styles.warnings.append(
            f"CSS: {skipped:,} selectors not evaluated (over {MAX_SELECTORS:,} selectors, "
            f"{MAX_PRELUDE_CHARS:,}-character selector lists or {MATCH_BUDGET_S:g} s of matching)"
        )


# ---------------------------------------------------------------------------- decisions
def parse_color(value: str) -> Color | None:
    try:
        c = tinycss2.color3.parse_color(value)
    except (ValueError, TypeError):
        return None
    if c is None or isinstance(c, str):
        return None
    return (c.red, c.green, c.blue, c.alpha)


def background_of(decl: dict[str, str], el: Any) -> Color | str | None:
    """The element's own painted background: a colour, ``"image"`` (unknown pixels) or None (transparent)."""
    img = decl.get("background-image", "")
    bg = decl.get("background", "")
    if "url(" in img or "gradient" in img or "url(" in bg or "gradient" in bg:
        return "image"
    for v in (decl.get("background-color"), bg):
        if v:
            for tok in (v, *v.split()):
                c = parse_color(tok)
                if c is not None:
                    return c if c[3] > 0 else None
    attr = el.get("bgcolor")
    if attr:
        c = attr_color(attr)
        if c is not None and c[3] > 0:
            return c
    return None


def attr_color(value: str) -> Color | None:
    """A legacy colour attribute (``bgcolor``, ``<font color>``): a colour name or hex with or without ``#``."""
    v = value.strip()
    if re.fullmatch(r"[0-9a-fA-F]{3}|[0-9a-fA-F]{6}", v):
        v = "#" + v
    return parse_color(v)


def same_color(a: Color, b: Color) -> bool:
    """Equal or nearly (each channel within 8/255): text painted in its background's colour."""
    return all(abs(x - y) <= 8 / 255 for x, y in zip(a[:3], b[:3], strict=True))


def _px(decl: dict[str, str], name: str) -> float | None:
    v = decl.get(name)
    return None if v is None else _length_px(v.replace("!important", ""))


def hidden_by(decl: dict[str, str]) -> str | None:
    """Why the declared (cascaded) properties hide the element and its subtree, or None."""
    if not decl:
        return None
    display = decl.get("display", "")
    if display.split(" ")[0] == "none":
        return "css display:none"
    vis = decl.get("visibility", "")
    if vis in ("hidden", "collapse"):
        return f"css visibility:{vis}"
    if decl.get("content-visibility") == "hidden":
        return "css content-visibility:hidden"
    op = decl.get("opacity")
    if op is not None:
        try:
            o = float(op[:-1]) / 100 if op.endswith("%") else float(op)
        except ValueError:
            o = 1.0
        if o <= 0.01:
            return "css opacity:0"
    pos = decl.get("position", "")
    overflow = " ".join(decl.get(k, "") for k in ("overflow", "overflow-x", "overflow-y"))
    clipped = "hidden" in overflow or "clip" in overflow
    w, h = _px(decl, "width"), _px(decl, "height")
    tiny = (w is not None and w <= 1) or (h is not None and h <= 1)
    clip = decl.get("clip", "")
    clip_rect = clip.startswith("rect(") and all(
        (_length_px(x) or 0) <= 1 for x in re.split(r"[\s,]+", clip[5:].rstrip(")").strip()) if x
    )
    cp = decl.get("clip-path", "")
    clip_path = bool(re.match(r"inset\(\s*(?:[5-9]\d|100)(?:\.\d+)?%", cp)) or cp.replace(" ", "") in (
        "circle(0)", "circle(0px)", "polygon(000,000,000)", "polygon(0px0px,0px0px,0px0px)",
    )  # fmt: skip
    if pos in ("absolute", "fixed") and (clip_rect or clip_path or (tiny and clipped)):
        return "screen-reader only (visually hidden)"
    if clip_path:
        return "css clip"
    if tiny and clipped:
        return "css zero size"
    if pos in ("absolute", "fixed"):
        for side in ("left", "top", "right"):
            v = _px(decl, side)
            if v is not None and v <= OFFSCREEN_PX - 1:
                return f"css off-screen ({side})"
    ti = _px(decl, "text-indent")
    if ti is not None and ti <= OFFSCREEN_PX:
        return "css off-screen (text-indent)"
    return None


def zero_font(decl: dict[str, str]) -> bool | None:
    """True: font-size 0; False: a non-zero size of its own; None: inherited (not set or relative)."""
    v = decl.get("font-size")
    if v is None:
        return None
    v = v.replace("!important", "").strip()
    px = _length_px(v)
    if px is not None:
        if px == 0:
            return True
        return False if not v.endswith(("em", "%")) or v.endswith("rem") else None
    return False if re.fullmatch(r"(?:xx?x?-)?(?:small|large)|medium|initial|revert", v) else None


def external_hints(el: Any, styles: Styles) -> tuple[str, str] | None:
    """Without the page's external stylesheets, trust what class names say (only when such sheets exist).

    * a utility class that hides (``hidden``, ``d-none``, ``sr-only``, ``visually-hidden`` …), unless the
      page's own CSS defines it (then the cascade decided) or a responsive variant shows it
      (``hidden md:block``, ``d-none d-lg-block``) → ``("hidden", reason)``;
    * an overlay — class/id words ``popup``, ``modal``, ``dropdown``, ``tooltip``, ``popover``, ``offcanvas``,
      or role ``menu``/``tooltip``/``dialog`` — shown only on demand → ``("furniture", "overlay")``.
    """
    if not styles.external:
        return None
    cls = (el.get("class") or "").split()
    if cls:
        hide = [c for c in cls if c.lower() in _HIDDEN_CLASSES and c not in styles.classes]
        if hide and not any(_SHOWN_VARIANT.match(c.lower()) for c in cls):
            return "hidden", f"class {hide[0]} (external stylesheet)"
    role = (el.get("role") or "").strip().lower()
    if role in _OVERLAY_ROLES:
        return "furniture", "overlay"
    marks = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
    if marks.strip() and any(w in _OVERLAY_WORDS for w in _SPLIT.split(marks)):
        return "furniture", "overlay"
    return None
