"""Which elements a reader cannot see (HIDDEN layer) and which are page furniture (FURNITURE layer)."""

from __future__ import annotations

import re
from typing import Any

from evidex.model import Layer, NodeKind

_FURNITURE_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search"})
_HIDE_STYLE = re.compile(
    r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse)"
    r"|font-size\s*:\s*(?:0+(?:\.0*)?|\.0+)(?:px|pt|em|rem|%|vw|vh)?\s*(?:!important)?\s*(?:;|$)"
    r"|opacity\s*:\s*(?:0+(?:\.0*)?|\.0+)\s*(?:!important)?\s*(?:;|$))",
    re.I,
)
LAYER_RANK = {Layer.BODY: 0, Layer.FURNITURE: 1, Layer.HIDDEN: 2}


def hidden_reason(el: Any, tag: str) -> str | None:
    if tag == "template":
        return "template"
    if tag == "dialog" and el.get("open") is None:
        return "closed dialog"
    if el.get("hidden") is not None:
        return "hidden attribute"
    if (el.get("aria-hidden") or "").strip().lower() == "true":
        return "aria-hidden"
    if tag == "input" and (el.get("type") or "").lower() == "hidden":
        return "hidden input"
    style = el.get("style")
    if style:
        m = _HIDE_STYLE.search(style)
        if m is not None:
            return "style " + re.sub(r"\s+", "", m.group(0).strip("; ")).split("!")[0].rstrip(";")
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
        marks = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
        if "cookie" in marks or "consent" in marks or "gdpr" in marks:
            return NodeKind.SECTION, "cookie banner"
    return None

