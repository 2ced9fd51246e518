"""Key–value line detection shared by the text-like parsers ("Invoice date: 14 March 2024")."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A key: 1–6 words starting with a letter, no sentence punctuation; then ":" (or full-width "：") or a tab;
# then a non-empty value. URLs ("http://…") and times ("10:30") are not keys.
_KV = re.compile(
    r"^(?P<key>[^\W\d_][\w\s.'’/&()#%+-]{0,58}?)\s*(?P<sep>[:：]|\t+)[ \t]*(?P<value>\S.*?)\s*$",
)
_NOT_KEY = re.compile(r"^(?:https?|ftp|mailto|file)$", re.I)


@dataclass(frozen=True, slots=True)
class KV:
    key_start: int
    key_end: int
    value_start: int
    value_end: int


def match_kv(line: str) -> KV | None:
    """Offsets (relative to ``line``) of key and value, or None.

    >>> kv = match_kv("Invoice date: 14 March 2024")
    >>> kv is not None and (kv.key_start, kv.key_end, kv.value_start)
    (0, 12, 14)
    """
    if len(line) > 400:
        return None
    m = _KV.match(line)
    if m is None:
        return None
    key = m.group("key").strip()
    if not key or _NOT_KEY.match(key) or len(key.split()) > 6:
        return None
    if m.group("sep").startswith(":") and m.group("value").startswith("//"):
        return None
    if key[-1].isdigit() and m.group("value")[:1].isdigit():
        return None  # a time such as 10:30
    if key[-1] in ".,;" or key.endswith((" and", " or", " the")):
        return None
    ks = m.start("key") + (len(m.group("key")) - len(m.group("key").lstrip()))
    ke = ks + len(key)
    return KV(ks, ke, m.start("value"), m.end("value"))
