"""Safety limits for untrusted input, in one place."""

from __future__ import annotations

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
