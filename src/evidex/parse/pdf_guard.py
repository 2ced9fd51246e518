"""The content-stream bomb guard: bound what pdfium will inflate and parse, on the raw bytes, before loading."""

from __future__ import annotations

import re
import zlib

from evidex.errors import DecompressionLimitError
from evidex.parse.limits import Limits

PAGE_CONTENT_CAP = 64 * 1024 * 1024  # decompressed content-stream bytes per page (and per form XObject)
_OBJ_RE = re.compile(rb"(\d{1,10})\s+\d{1,5}\s+obj\b")
_LEN_RE = re.compile(rb"/Length\s+(\d{1,12})(?!\s+\d+\s+R)")
_FLATE_RE = re.compile(rb"/Filter\s*(?:\[\s*)?/(?:FlateDecode|Fl)\b")  # Flate first: measure its output
_CONTENTS_RE = re.compile(rb"/Contents\s*(\[(?:\s*\d+\s+\d+\s+R)*\s*\]|\d+\s+\d+\s+R)")
_REF_RE = re.compile(rb"(\d+)\s+\d+\s+R")


def _inflated(buf: memoryview, cap: int) -> int:
    """Bytes a zlib stream expands to, counted in 1 MiB steps; stops once past ``cap``. Corrupt → bytes so far."""
    d = zlib.decompressobj()
    n, tail, rest = 0, bytes(buf[: 1 << 20]), buf[1 << 20 :]
    try:
        while True:
            out = d.decompress(tail, 1 << 20)
            n += len(out)
            if n > cap or d.eof:
                return n
            tail = d.unconsumed_tail
            if not tail and rest:
                tail, rest = bytes(rest[: 1 << 20]), rest[1 << 20 :]
            elif not tail and not out:
                return n
    except zlib.error:
        return n


def check_content_streams(data: bytes, limits: Limits) -> None:
    """Bound what pdfium will parse: the decompressed size of each page's content streams (summed over the
    page's /Contents array) and of each form XObject must stay under :data:`PAGE_CONTENT_CAP`, and all of them
    together under ``limits.max_decompressed``. pdfium parses a page's whole content when the page is loaded
    (a 96 MiB stream of text operators took >3 s and >1.3 GB, then aborted the process in get_textpage), so
    this runs on the raw bytes first: stream objects are found by their ``N G obj`` headers (streams are never
    inside object streams), page /Contents references in the file and in its object streams. Only FlateDecode
    and unfiltered streams are measured; other filter chains are left to pdfium. Cost: one inflate of the
    content streams, a few % of a normal parse.
    """
    mv = memoryview(data)
    streams: dict[int, tuple[int, int, bytes]] = {}  # object number → (data start, data end, stream dict)
    for m in _OBJ_RE.finditer(data):
        head = data[m.end() : m.end() + 4096]
        s = head.find(b"stream")
        e = head.find(b"endobj")
        if s < 0 or 0 <= e < s:
            continue
        start = m.end() + s + 6
        start += 2 if data[start : start + 2] == b"\r\n" else 1 if data[start : start + 1] in (b"\n", b"\r") else 0
        lm = _LEN_RE.search(head, 0, s)
        end = start + int(lm.group(1)) if lm else -1
        if end < 0 or end > len(data) or data[end : end + 30].lstrip()[:9] != b"endstream":
            end = data.find(b"endstream", start)
            end = len(data) if end < 0 else end
        streams[int(m.group(1))] = (start, end, head[:s])
    budget = limits.max_decompressed
    sizes: dict[int, int] = {}

    def size(num: int, cap: int) -> int:
        if num not in sizes:
            start, end, d = streams[num]
            flate = _FLATE_RE.search(d)
            sizes[num] = _inflated(mv[start:end], cap) if flate else end - start if b"/Filter" not in d else 0
        return sizes[num]

    def spend(n: int, what: str) -> None:
        nonlocal budget
        if n > PAGE_CONTENT_CAP:
            raise DecompressionLimitError(
                f"{what} expands to more than {PAGE_CONTENT_CAP // (1 << 20)} MiB of content stream "
                f"(evidex.parse.pdf.PAGE_CONTENT_CAP); refused before rendering (possible stream bomb)",
                hint="no real page holds this much drawing code; the file is likely hostile")
        budget -= n
        if budget < 0:
            raise DecompressionLimitError(
                f"content streams expand beyond Limits.max_decompressed={limits.max_decompressed:,} bytes "
                f"(possible stream bomb)", hint="raise Limits.max_decompressed for trusted input")

    sources: list[bytes] = [data]
    for num, (start, end, d) in streams.items():
        if b"/ObjStm" in d and _FLATE_RE.search(d):  # page dictionaries may live in object streams
            try:
                body = zlib.decompressobj().decompress(mv[start:end], PAGE_CONTENT_CAP)
            except zlib.error:
                continue
            sizes[num] = len(body)
            budget -= len(body)
            spend(0, "object streams")
            sources.append(body)
    page = 0
    for src in sources:
        for m in _CONTENTS_RE.finditer(src):
            refs = [int(r) for r in _REF_RE.findall(m.group(1))]
            refs = [r for r in refs if r in streams]
            if not refs:
                continue
            page += 1
            total = 0
            for r in refs:
                total += size(r, min(PAGE_CONTENT_CAP - total, max(budget, 0)) + 1)
                if total > PAGE_CONTENT_CAP:
                    break
            spend(total, f"page content ({len(refs)} stream(s), page object #{page} in file order)")
    for num, (_s, _e, d) in streams.items():
        if b"/Form" in d and num not in sizes:
            spend(size(num, min(PAGE_CONTENT_CAP, max(budget, 0)) + 1), f"form XObject {num}")
