"""Safety limits for untrusted input, in one place."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from typing import Any

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 256 * MiB  # input file size
    max_text_chars: int = 64 * MiB  # canonical text length
    max_nodes: int = 2_000_000
    max_depth: int = 256  # markup nesting kept as structure (deeper content is flattened, not dropped)
    max_pages: int = 2_000
    max_decompressed: int = 512 * MiB  # total bytes expanded from archives / streams
    max_ratio: float = 200.0  # decompressed/compressed, checked after the first MiB
    max_entries: int = 10_000  # archive members
    max_archive_depth: int = 5  # attachments inside attachments, zips in zips
    max_message_depth: int = 20  # message/rfc822 nesting
    max_header_bytes: int = 64 * 1024  # a single e-mail header
    max_pixels: int = 100_000_000  # per image
    max_sheet_cells: int = 2_000_000
    timeout_s: float = 120.0  # per document, enforced by the worker watchdog
    max_memory: int = 2048 * MiB  # per worker, RLIMIT_AS

    def with_(self, **kw: Any) -> Limits:
        valid = {f.name for f in fields(self)}
        bad = set(kw) - valid
        if bad:
            raise TypeError(f"unknown limits: {sorted(bad)}")
        return replace(self, **kw)


DEFAULT_LIMITS = Limits()

_UNITS = {"k": 1024, "kib": 1024, "m": MiB, "mib": MiB, "g": 1024 * MiB, "gib": 1024 * MiB}


def limit_names() -> list[str]:
    return [f.name for f in fields(Limits)]


def limit_hint(name: str) -> str:
    """What a user can do about a limit: the CLI option and the Python API that raise it."""
    return f"for trusted input, raise it: --limit {name}=N (evidex parse / extract), or Limits({name}=N) in Python"


def parse_limit_options(items: Iterable[str], base: Limits = DEFAULT_LIMITS) -> Limits:
    """``["max_sheet_cells=5000000", "max_bytes=1GiB"]`` → a :class:`Limits`. Raises ``ValueError`` naming the fix."""
    kw: dict[str, Any] = {}
    types = {f.name: f.type for f in fields(Limits)}
    for item in items:
        name, sep, raw = item.partition("=")
        name, raw = name.strip().replace("-", "_"), raw.strip().replace("_", "")
        if not sep or not raw:
            raise ValueError(f"--limit {item!r}: expected name=value, e.g. max_sheet_cells=5000000")
        if name not in types:
            raise ValueError(f"--limit {item!r}: unknown limit {name!r}; known: {', '.join(limit_names())}")
        low = raw.lower()
        unit = next((u for u in sorted(_UNITS, key=len, reverse=True) if low.endswith(u)), "")
        number = raw[: len(raw) - len(unit)] if unit else raw
        try:
            value = float(number) * _UNITS.get(unit, 1)
        except ValueError:
            raise ValueError(f"--limit {item!r}: {raw!r} is not a number") from None
        if value <= 0:
            raise ValueError(f"--limit {item!r}: limits must be positive")
        kw[name] = value if types[name] in (float, "float") else int(value)
    return base.with_(**kw)
