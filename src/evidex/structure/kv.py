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
_TIME_KEY = re.compile(r"(?:^|\s)\d{1,2}$")  # the key ends in an hour: "Meeting at 10" of "Meeting at 10:30"
_TIME_VALUE = re.compile(r"\d{2}(?!\d)")


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
    >>> match_kv("ISBN-13: 9781602600638") is not None, match_kv("Doors open at 10:30") is None
    (True, True)
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
    if _TIME_KEY.search(key) and _TIME_VALUE.match(m.group("value")):
        return None  # a time such as "at 10:30" (but "ISBN-13: 978…" is a key)
    if key[-1] in ".,;" or key.endswith((" and", " or", " the")):
        return None
    ks = m.start("key") + (len(m.group("key")) - len(m.group("key").lstrip()))
    ke = ks + len(key)
    return KV(ks, ke, m.start("value"), m.end("value"))
