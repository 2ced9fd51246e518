"""Which elements a reader cannot see (HIDDEN layer) and which are page furniture (FURNITURE layer)."""

from __future__ import annotations

import re
from typing import Any

from evidex.model import Layer, NodeKind

_FURNITURE_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search"})
_HIDE_STYLE = re.compile(
    r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse)"
    r"|opacity\s*:\s*(?:0+(?:\.0*)?|\.0+)\s*(?:!important)?\s*(?:;|$))",
    re.I,
)
_ZERO_FONT = re.compile(
    r"(?:^|;)\s*font-size\s*:\s*(?:0+(?:\.0*)?|\.0+)(?:px|pt|em|rem|%|vw|vh)?\s*(?:!important)?\s*(?:;|$)", re.I
)
ZERO_FONT_REASON = "style font-size:0"
# a font size that does not depend on a zero parent size: absolute units, rem/viewport units, keywords
_OWN_FONT = re.compile(
    r"(?:^|;)\s*font-size\s*:\s*(?:(?:0*[1-9][\d.]*|0*\.0*[1-9]\d*)\s*(?:px|pt|pc|cm|mm|in|q|rem|vw|vh|vmin|vmax)"
    r"|(?:xx?x?-)?(?:small|large)|medium|initial|revert)\s*(?:!important)?\s*(?:;|$)",
    re.I,
)
_BANNER_ROLES = frozenset({"dialog", "alertdialog", "alert", "banner", "region"})
_BANNER_STYLE = re.compile(r"position\s*:\s*(?:fixed|sticky)", re.I)
BANNER_MAX_CHARS = 600  # a cookie/consent-marked element with more text is content (a privacy policy section)
_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
LAYER_RANK = {Layer.BODY: 0, Layer.FURNITURE: 1, Layer.HIDDEN: 2}


def hidden_reason(el: Any, tag: str) -> str | None:
    if tag == "template":
        return "template"
    if tag == "dialog" and el.get("open") is None:
        return "closed dialog"
    if el.get("hidden") is not None:
        return "hidden attribute"
    if tag == "input" and (el.get("type") or "").lower() == "hidden":
        return "hidden input"
    style = el.get("style")
    if style:
        m = _HIDE_STYLE.search(style)
        if m is not None:
            return "style " + re.sub(r"\s+", "", m.group(0).strip("; ")).split("!")[0].rstrip(";")
        if _ZERO_FONT.search(style) is not None and not sets_font_size(el):  # the last font-size wins
            return ZERO_FONT_REASON
    return None


def sets_font_size(el: Any) -> bool:
    """The element sets a non-zero font size of its own (one a zero-size parent does not scale to 0)."""
    style = el.get("style")
    if not style or "font-size" not in style.lower():
        return False
    last = None
    for m in re.finditer(r"(?:^|;)\s*font-size\s*:[^;]*", style, re.I):
        last = m.group(0)
    return last is not None and _OWN_FONT.search(last.strip(";").strip() + ";") is not None


def overridden_below(el: Any, limit: int = 10_000) -> bool:
    """A descendant (among the first ``limit``) sets its own non-zero font size: a ``font-size:0`` container
    is then the inline-block whitespace trick, not a hiding place — only its un-overridden text is hidden."""
    for k, d in enumerate(el.iter()):
        if k > limit:
            return False
        if d is not el and isinstance(d.tag, str) and sets_font_size(d):
            return True
    return False


def _banner_like(el: Any, tag: str) -> bool:
    """A cookie/consent/GDPR-marked element is furniture when it looks like a banner: a dialog/alert/banner
    role, aria-modal, a fixed/sticky position, an aria-label naming cookies — or short text without a
    heading. A long ``<section id="consent">`` of a contract or privacy policy stays in the body."""
    role = (el.get("role") or "").strip().lower()
    if role in _BANNER_ROLES or (el.get("aria-modal") or "").strip().lower() == "true":
        return True
    if _BANNER_STYLE.search(el.get("style") or ""):
        return True
    label = (el.get("aria-label") or "").lower()
    if "cookie" in label or "consent" in label:
        return True
    if tag in ("section", "article"):
        return False
    n = 0
    for k, d in enumerate(el.iter()):  # bounded: a banner is small
        if k > 200:
            return False
        if isinstance(d.tag, str):
            if d.tag.lower().rsplit("}", 1)[-1] in _HEADING_TAGS:
                return False
            n += len((d.text or "").strip()) + (len((d.tail or "").strip()) if d is not el else 0)
            if n > BANNER_MAX_CHARS:
                return False
    return True


_NAV_TOKENS = frozenset({"nav", "navbar", "navheader", "navfooter", "navigation", "breadcrumb", "breadcrumbs",
                         "sidebar", "skiplink", "skipnav", "pagination", "pager"})
_TOKEN_SPLIT = re.compile(r"[^a-z0-9]+")


def _nav_marked(el: Any) -> str | None:
    """Navigation the page marks as such without <nav>: a class/id token (DocBook's ``navheader``/``navfooter``,
    ``site-nav``, ``breadcrumb``, ``sidebar``…) or a table summarised as "Navigation …"."""
    tokens = set(_TOKEN_SPLIT.split(f"{el.get('class') or ''} {el.get('id') or ''}".lower()))
    hit = tokens & _NAV_TOKENS
    if hit:
        return sorted(hit)[0]
    if (el.get("summary") or "").strip().lower().startswith("navigation"):
        return "navigation"
    return None


def furniture_kind(el: Any, tag: str, sectioning: bool) -> tuple[NodeKind, str] | None:
    role = (el.get("role") or "").strip().lower()
    if tag in ("nav", "aside") or role in _FURNITURE_ROLES:
        return NodeKind.SECTION, role or tag
    if tag == "header" and not sectioning:
        return NodeKind.PAGE_HEADER, "header"
    if tag == "footer" and not sectioning:
        return NodeKind.PAGE_FOOTER, "footer"
    if tag not in ("html", "body", "main", "article"):
        nav = _nav_marked(el)
        if nav == "navheader":
            return NodeKind.PAGE_HEADER, nav
        if nav == "navfooter":
            return NodeKind.PAGE_FOOTER, nav
        if nav is not None:
            return NodeKind.SECTION, nav
        marks = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
        if ("cookie" in marks or "consent" in marks or "gdpr" in marks) and _banner_like(el, tag):
            return NodeKind.SECTION, "cookie banner"
    return None

